//! The pool's job history (`lakeport_jobs`): one row per extraction run or table drop, with its
//! status, totals and the process running it. The product spec's "Job history" page reads it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a job is, as stored (`running`, `succeeded`, …; JSON: the same lowercase words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Started and not ended (its process is alive, or not yet found gone).
    Running,
    /// Ended with every table committed.
    Succeeded,
    /// Ended with an error (`Job::error`); tables committed before it keep their new snapshot.
    Failed,
    /// A scheduled run of a saved extraction that did not start because the previous run of the
    /// same extraction was still going (runs of one extraction never overlap).
    Skipped,
    /// Stopped on request (`POST /api/runs/{id}/cancel`): tables committed before the request
    /// keep their new snapshot, the others their old one.
    Cancelled,
    /// Its process ended without finishing it: a signal (SIGTERM, SIGINT) or a crash, found on a
    /// later start (see `lakeport_core::runs`).
    Interrupted,
}

impl JobStatus {
    /// The status as stored and shown: `running`, `succeeded`, `failed`, `skipped`, `cancelled`,
    /// `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Skipped => "skipped",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Interrupted => "interrupted",
        }
    }
    /// The status as stored; `None` for text lakeport did not write.
    pub(crate) fn parse(s: &str) -> Option<JobStatus> {
        Some(match s {
            "running" => JobStatus::Running,
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            "skipped" => JobStatus::Skipped,
            "cancelled" => JobStatus::Cancelled,
            "interrupted" => JobStatus::Interrupted,
            _ => return None,
        })
    }
}

/// One run of an extraction, as kept in the pool's job history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Job {
    /// The job's id (a UUID, or the run id the caller chose).
    pub id: String,
    /// The pool it ran in.
    pub pool: String,
    /// The connection it read from (empty for a drop).
    pub connection: String,
    /// "full" or "delta" for extractions, "drop" for a dropped table.
    pub mode: String,
    /// When it started (UTC).
    pub started_at: DateTime<Utc>,
    /// When it ended (UTC); `None` while running.
    pub ended_at: Option<DateTime<Utc>>,
    /// Where it is.
    pub status: JobStatus,
    /// The tables it writes (or dropped), by name in the pool.
    pub tables: Vec<String>,
    /// Source objects (files) loaded so far, or in all once ended.
    pub files: u64,
    /// Rows written so far, or in all once ended.
    pub rows: u64,
    /// Bytes of the source objects loaded, as stored in S3 (compressed size for `.gz`/`.zst`),
    /// so far or in all once ended.
    pub bytes: u64,
    /// Why it failed, was skipped, cancelled or interrupted; `None` otherwise.
    pub error: Option<String>,
    /// Per-table details (JSON), as reported by the extraction.
    pub details: serde_json::Value,
    /// The saved extraction this job ran, with its definition version and what started it
    /// (none for one-off `lakeport extract` runs and drops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<JobOrigin>,
    /// The process running it (recorded at its start), so that a later start can tell a job
    /// whose process is gone (none for jobs of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<crate::ProcessId>,
    /// What it ran (lakeport-extract's `ExtractRequest` as JSON), for a re-run; none for drops
    /// and jobs of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
}

impl JobStatus {
    /// Whether the job has ended (every status but `running`).
    pub fn is_final(self) -> bool {
        self != JobStatus::Running
    }
}

/// Which saved extraction a job ran: its name, the version of its definition, and the trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobOrigin {
    /// The saved extraction's name.
    pub extraction: String,
    /// The definition version (1 at creation, +1 per edit).
    pub version: i64,
    /// What started the run.
    pub trigger: Trigger,
}

/// What started a run of a saved extraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `lakeport extraction run`, the API's or the console's "Run now".
    Manual,
    /// The scheduler, at a time the extraction's schedule named.
    Schedule,
    /// The scheduler, retrying a failed run after its backoff.
    Retry,
}

impl Trigger {
    /// The trigger as stored and shown: `manual`, `schedule`, `retry`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::Retry => "retry",
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Trigger> {
        match s {
            "manual" => Some(Trigger::Manual),
            "schedule" => Some(Trigger::Schedule),
            "retry" => Some(Trigger::Retry),
            _ => None,
        }
    }
}
