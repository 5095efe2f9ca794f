use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Receives progress of an extraction (a terminal progress bar, a server's job status…).
/// All methods have empty defaults; they are called from several tasks at once.
pub trait Progress: Send + Sync {
    /// A table is about to load `files` objects of `bytes` bytes in total.
    fn table_started(&self, _table: &str, _files: usize, _bytes: u64) {}
    /// One object has been read completely.
    fn file_done(&self, _table: &str, _key: &str, _rows: u64, _bytes: u64) {}
    /// The table has been committed with `rows` new rows.
    fn table_done(&self, _table: &str, _rows: u64) {}
    /// A delta load found nothing new for the table: no commit; it holds `total_rows` rows.
    fn table_nothing_new(&self, _table: &str, _total_rows: u64) {}
    /// Something worth telling the user (a fallback, a skipped file…).
    fn note(&self, _message: &str) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

/// A progress sink that handles each call and passes it on to the next sink ([`Relay::next`]):
/// the blanket `impl Progress` below does the passing on, once for every relay, so a relay
/// writes only what it does itself. Its `on_*` hooks run first; `on_table_started` and
/// `on_file_done` return the counts to pass on (`None`: pass nothing on), by default the ones
/// they got.
pub trait Relay: Send + Sync {
    /// The sink every call is passed on to.
    fn next(&self) -> &dyn Progress;
    /// Sees [`Progress::table_started`]; returns the `(files, bytes)` to pass on.
    fn on_table_started(&self, _table: &str, files: usize, bytes: u64) -> Option<(usize, u64)> {
        Some((files, bytes))
    }
    /// Sees [`Progress::file_done`]; returns the `(rows, bytes)` to pass on.
    fn on_file_done(&self, _table: &str, _key: &str, rows: u64, bytes: u64) -> Option<(u64, u64)> {
        Some((rows, bytes))
    }
    /// Sees [`Progress::table_done`].
    fn on_table_done(&self, _table: &str, _rows: u64) {}
    /// Sees [`Progress::table_nothing_new`].
    fn on_table_nothing_new(&self, _table: &str, _total_rows: u64) {}
    /// Sees [`Progress::note`].
    fn on_note(&self, _message: &str) {}
}

impl<R: Relay> Progress for R {
    fn table_started(&self, table: &str, files: usize, bytes: u64) {
        if let Some((files, bytes)) = self.on_table_started(table, files, bytes) {
            self.next().table_started(table, files, bytes);
        }
    }
    fn file_done(&self, table: &str, key: &str, rows: u64, bytes: u64) {
        if let Some((rows, bytes)) = self.on_file_done(table, key, rows, bytes) {
            self.next().file_done(table, key, rows, bytes);
        }
    }
    fn table_done(&self, table: &str, rows: u64) {
        self.on_table_done(table, rows);
        self.next().table_done(table, rows);
    }
    fn table_nothing_new(&self, table: &str, total_rows: u64) {
        self.on_table_nothing_new(table, total_rows);
        self.next().table_nothing_new(table, total_rows);
    }
    fn note(&self, message: &str) {
        self.on_note(message);
        self.next().note(message);
    }
}

/// Passes progress on so that totals never move backwards and never count a file twice: when a
/// table is staged again (a later file needed a wider schema), its files are read again, and
/// [`Progress::table_started`] / [`Progress::file_done`] come again for the same files. Per
/// table this keeps the highest totals and the highest done counts seen and forwards only what
/// goes beyond them, so totals only grow, done counts only grow and never pass the totals.
/// [`crate::load`] wraps every progress sink in it.
pub struct Steady {
    inner: Arc<dyn Progress>,
    tables: Mutex<HashMap<String, Counts>>,
}

#[derive(Default)]
struct Counts {
    /// Highest totals announced (and forwarded).
    files_total: u64,
    bytes_total: u64,
    /// Done in the current attempt.
    files: u64,
    rows: u64,
    bytes: u64,
    /// Highest done counts forwarded.
    files_max: u64,
    rows_max: u64,
    bytes_max: u64,
}

impl Steady {
    /// Wraps `inner`, with no table seen yet.
    pub fn new(inner: Arc<dyn Progress>) -> Steady {
        Steady { inner, tables: Mutex::new(HashMap::new()) }
    }
}

impl Relay for Steady {
    fn next(&self) -> &dyn Progress {
        &*self.inner
    }

    fn on_table_started(&self, table: &str, files: usize, bytes: u64) -> Option<(usize, u64)> {
        let (more_files, more_bytes) = {
            let mut tables = self.tables.lock().expect("progress counts");
            let c = tables.entry(table.to_string()).or_default();
            // A new attempt counts from zero; what was forwarded stays forwarded.
            (c.files, c.rows, c.bytes) = (0, 0, 0);
            let grow = ((files as u64).saturating_sub(c.files_total), bytes.saturating_sub(c.bytes_total));
            c.files_total = c.files_total.max(files as u64);
            c.bytes_total = c.bytes_total.max(bytes);
            grow
        };
        Some((more_files as usize, more_bytes))
    }

    fn on_file_done(&self, table: &str, _key: &str, rows: u64, bytes: u64) -> Option<(u64, u64)> {
        let mut tables = self.tables.lock().expect("progress counts");
        let c = tables.entry(table.to_string()).or_default();
        c.files += 1;
        c.rows += rows;
        c.bytes += bytes;
        // Done never passes the announced totals (a file may grow while it is read).
        let files = c.files.min(c.files_total);
        let bytes_now = c.bytes.min(c.bytes_total);
        if files <= c.files_max {
            // A re-read of a file counted before: nothing new to report yet.
            None
        } else {
            let grow = (c.rows.saturating_sub(c.rows_max), bytes_now.saturating_sub(c.bytes_max));
            c.files_max = files;
            c.rows_max = c.rows_max.max(c.rows);
            c.bytes_max = c.bytes_max.max(bytes_now);
            Some(grow)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (files total, bytes total, files done, bytes done) after each call.
    type Seen = (u64, u64, u64, u64);
    #[derive(Default)]
    struct Totals(Mutex<(u64, u64, u64, u64, Vec<Seen>)>);
    impl Progress for Totals {
        fn table_started(&self, _: &str, files: usize, bytes: u64) {
            let mut t = self.0.lock().unwrap();
            t.0 += files as u64;
            t.1 += bytes;
            let s = (t.0, t.1, t.2, t.3);
            t.4.push(s);
        }
        fn file_done(&self, _: &str, _: &str, _: u64, bytes: u64) {
            let mut t = self.0.lock().unwrap();
            t.2 += 1;
            t.3 += bytes;
            let s = (t.0, t.1, t.2, t.3);
            t.4.push(s);
        }
    }

    /// A table staged twice (a later file needs a wider type): its three files are read twice,
    /// yet the totals stay 3 files / 30 bytes, done counts climb to them once and never pass them.
    #[test]
    fn a_restaged_table_neither_doubles_nor_moves_back() {
        let sink = Arc::new(Totals::default());
        let steady = Steady::new(sink.clone());
        steady.table_started("t", 3, 30);
        steady.file_done("t", "a", 1, 10);
        steady.file_done("t", "b", 1, 10);
        steady.table_started("t", 3, 30);
        for k in ["a", "b", "c"] {
            steady.file_done("t", k, 1, 10);
        }
        steady.table_started("u", 1, 5);
        steady.file_done("u", "x", 1, 5);
        let t = sink.0.lock().unwrap();
        assert_eq!((t.0, t.1, t.2, t.3), (4, 35, 4, 35));
        for w in t.4.windows(2) {
            assert!(w[1].0 >= w[0].0 && w[1].1 >= w[0].1 && w[1].2 >= w[0].2 && w[1].3 >= w[0].3, "{:?}", t.4);
        }
        assert!(t.4.iter().all(|s| s.2 <= s.0 && s.3 <= s.1), "{:?}", t.4);
    }
}
