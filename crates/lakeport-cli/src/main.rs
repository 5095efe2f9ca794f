//! `lakeport`: the command line. A thin layer over the library crates: it parses arguments,
//! reads secrets, draws progress and prints results for people (or JSON for scripts).

mod args;
mod commands;
mod output;
mod progress;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKEPORT_LOG").unwrap_or_else(|_| {
        // sqlx warns of every statement over 1 s; in a pool several processes load into at once, a
        // statement waiting its turn for SQLite's write lock (busy timeout 30 s) is expected, not
        // a problem to tell the user about (it stays visible with -v / LAKEPORT_LOG).
        tracing_subscriber::EnvFilter::new(if cli.verbose { "info,lakeport=debug" } else { "warn,sqlx::query=error" })
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                let text = s.to_string();
                if !e.to_string().contains(&text) {
                    eprintln!("  caused by: {text}");
                }
                source = s.source();
            }
            std::process::ExitCode::from(1)
        }
    }
}
