//! Which process runs a job or holds a table: enough to tell, from another process on the same
//! machine, whether it is still there.
//!
//! Chosen over a heartbeat lease: a lease needs a writer ticking in every running process and a
//! timeout before a dead run is noticed (minutes of "running" after a crash), and a stalled but
//! living process (a long S3 request) would lose its lease. A pid alone is not enough either, as
//! pids are reused: the process's start time (`/proc/<pid>/stat`, clock ticks since boot) and
//! the boot id (`/proc/sys/kernel/random/boot_id`) pin down one process of one boot. Where this
//! cannot be read (another host sharing the pool directory, a system without `/proc`), the
//! process counts as alive: a job is only ever declared interrupted when that is known.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// One process of one boot of one host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessId {
    /// The operating system's process id.
    pub pid: u32,
    /// The host name (`/proc/sys/kernel/hostname`, `/etc/hostname` or `$HOSTNAME`).
    pub host: String,
    /// The kernel's boot id (Linux); none where unknown.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// The process's start time in clock ticks since boot (Linux); none where unknown.
    #[serde(default)]
    pub start_ticks: Option<u64>,
}

/// Whether a recorded process is still running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Still running: this process, or the same pid with the same start time on the same boot.
    Alive,
    /// Gone: no such pid, another process under a reused pid, or the machine rebooted since.
    Gone,
    /// Cannot be told from here (another host, no `/proc`): treated as alive.
    Unknown,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Field 22 of `/proc/<pid>/stat` (starttime); the command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname").or_else(|| read_trimmed("/etc/hostname")).or_else(|| std::env::var("HOSTNAME").ok()).unwrap_or_else(|| "unknown-host".into())
}

impl ProcessId {
    /// This process.
    pub fn current() -> ProcessId {
        static CURRENT: OnceLock<ProcessId> = OnceLock::new();
        CURRENT
            .get_or_init(|| {
                let pid = std::process::id();
                ProcessId { pid, host: host_name(), boot_id: read_trimmed("/proc/sys/kernel/random/boot_id"), start_ticks: start_ticks(pid) }
            })
            .clone()
    }

    /// Whether this process is still running, as far as this process can tell.
    pub fn liveness(&self) -> Liveness {
        let me = ProcessId::current();
        if self == &me {
            return Liveness::Alive;
        }
        if self.host != me.host || !cfg!(target_os = "linux") || me.boot_id.is_none() {
            return Liveness::Unknown;
        }
        if self.boot_id.is_some() && self.boot_id != me.boot_id {
            return Liveness::Gone;
        }
        match (start_ticks(self.pid), self.start_ticks) {
            (None, _) => Liveness::Gone,
            (Some(now), Some(then)) if now != then => Liveness::Gone,
            _ => Liveness::Alive,
        }
    }

    /// "pid 123 on host box", for messages.
    pub fn describe(&self) -> String {
        format!("pid {} on host {}", self.pid, self.host)
    }
}
