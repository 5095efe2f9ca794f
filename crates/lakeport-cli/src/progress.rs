use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lakeport_core::Progress;

/// A progress bar on stderr (drawn only on a terminal) plus notes for the user.
pub struct BarProgress {
    bar: ProgressBar,
    notes: bool,
}

impl BarProgress {
    pub fn new(notes: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg:20} [{bar:30}] {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        BarProgress { bar, notes }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for BarProgress {
    fn table_started(&self, table: &str, _files: usize, bytes: u64) {
        self.bar.inc_length(bytes);
        self.bar.set_message(table.to_string());
    }

    fn file_done(&self, _table: &str, _key: &str, _rows: u64, bytes: u64) {
        self.bar.inc(bytes);
    }

    fn note(&self, message: &str) {
        if self.notes {
            if self.bar.is_hidden() {
                eprintln!("note: {message}");
            } else {
                self.bar.println(format!("note: {message}"));
            }
        }
    }
}
