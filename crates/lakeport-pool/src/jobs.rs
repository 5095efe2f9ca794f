use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }
    pub(crate) fn parse(s: &str) -> JobStatus {
        match s {
            "succeeded" => JobStatus::Succeeded,
            "failed" => JobStatus::Failed,
            _ => JobStatus::Running,
        }
    }
}

/// One run of an extraction, as kept in the pool's job history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub pool: String,
    pub connection: String,
    /// "full" or "delta" for extractions, "drop" for a dropped table.
    pub mode: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: JobStatus,
    pub tables: Vec<String>,
    pub files: u64,
    pub rows: u64,
    pub bytes: u64,
    pub error: Option<String>,
    /// Per-table details (JSON), as reported by the extraction.
    pub details: serde_json::Value,
}
