#![allow(dead_code)]
//! Running the `lakeport` binary from tests.

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test: cargo's build of it, or `LAKEPORT_BIN` (a copy taken right after the
/// build, for a target directory other builds share and may overwrite meanwhile).
pub fn binary() -> std::path::PathBuf {
    std::env::var_os("LAKEPORT_BIN").map(Into::into).unwrap_or_else(|| env!("CARGO_BIN_EXE_lakeport").into())
}

/// Runs `lakeport --pool-dir DIR ARGS…` with extra environment variables.
pub fn lakeport(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.arg("--pool-dir").arg(dir).args(args).env_remove("LAKEPORT_SECRET_ACCESS_KEY").env_remove("LAKEPORT_POOL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// stdout and stderr together.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs and expects success; returns stdout and stderr together.
pub fn ok(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let o = lakeport(dir, env, args);
    assert!(o.status.success(), "lakeport {args:?} failed:\n{}", text(&o));
    text(&o)
}

/// Runs and expects success; returns stdout only (for JSON output).
pub fn stdout(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let o = lakeport(dir, env, args);
    assert!(o.status.success(), "lakeport {args:?} failed:\n{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}
