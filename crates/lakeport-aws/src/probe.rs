//! The verdict types of Test Connection, shared by both connection types (extraction and
//! zero-copy): one [`Check`] per permission, each with a [`Verdict`] and a reason, gathered in a
//! [`ProbeReport`].

use serde::Serialize;

/// The outcome of one check (serialised in snake_case: `passed`, `failed`…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The call succeeded.
    Passed,
    /// The call failed: the permission is missing or the credentials/bucket are wrong.
    Failed,
    /// Not a failure, but worth knowing (e.g. the server does not implement GetBucketAcl).
    Warning,
    /// Could not be checked (e.g. an empty bucket has no object to read).
    Skipped,
}

/// One permission checked by Test Connection (either connection type).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Check {
    /// The IAM action the step needs (`s3:GetObject`, `glue:GetTables`, `sts:AssumeRole`…).
    pub permission: &'static str,
    /// How the check came out.
    pub verdict: Verdict,
    /// One sentence for the user: what was done, or why it failed and what to change.
    pub reason: String,
    /// The server denied the call: the permission itself is missing (not a wrong key or bucket).
    pub denied: bool,
}

/// The result of Test Connection: every check, in the order they ran.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ProbeReport {
    /// One per permission, in the order checked (extraction: s3:ListBucket, s3:GetObject,
    /// s3:GetBucketAcl; zero-copy: sts:AssumeRole, glue:…, s3:…).
    pub checks: Vec<Check>,
    /// The IAM policy JSON that grants the denied permissions (None when none was denied).
    pub policy_hint: Option<String>,
}

impl ProbeReport {
    /// True when no check failed (warnings and skipped checks do not fail the test).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Failed)
    }

    /// The permissions the server denied: what the policy hint grants.
    pub fn missing(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| c.denied).map(|c| c.permission).collect()
    }
}

