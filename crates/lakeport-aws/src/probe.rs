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
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ProbeReport {
    /// One per permission, in the order checked (extraction: s3:ListBucket, s3:GetObject,
    /// s3:GetBucketAcl; zero-copy: sts:AssumeRole, glue:…, s3:…).
    pub checks: Vec<Check>,
    /// The IAM policy JSON that grants the denied permissions (None when none was denied).
    pub policy_hint: Option<String>,
    /// Who the checks ran as: STS GetCallerIdentity's ARN (`arn:aws:iam::…:user/…`,
    /// `arn:aws:sts::…:assumed-role/…`); never a key or secret. `None` when STS could not tell
    /// (then [`ProbeReport::identity_error`] says why) or the mode does not ask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Why the identity is unknown (STS unreachable, an S3-compatible store without STS…); not a
    /// failed check: the permissions are checked all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_error: Option<String>,
    /// The IAM principal [`ProbeReport::policy_hint`] is to be attached to: the user, or the role
    /// of an assumed-role session (`arn:aws:iam::<account>:role/<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_principal: Option<String>,
}

impl ProbeReport {
    /// True when no check failed (warnings and skipped checks do not fail the test).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.verdict != Verdict::Failed)
    }

    /// The IAM principal to attach a permissions policy to, from a GetCallerIdentity ARN: an
    /// assumed-role session `arn:aws:sts::<account>:assumed-role/<role>/<session>` is the role
    /// `arn:aws:iam::<account>:role/<role>` (role paths are not in the session ARN); any other
    /// ARN is itself.
    pub fn principal_of(identity_arn: &str) -> String {
        let parts: Vec<&str> = identity_arn.splitn(6, ':').collect();
        if let [arn, partition, "sts", _, account, resource] = parts.as_slice() {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                let role = rest.split('/').next().unwrap_or(rest);
                return format!("{arn}:{partition}:iam::{account}:role/{role}");
            }
        }
        identity_arn.to_string()
    }

    /// The permissions the server denied: what the policy hint grants.
    pub fn missing(&self) -> Vec<&'static str> {
        self.checks.iter().filter(|c| c.denied).map(|c| c.permission).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_attach_to_the_role_of_an_assumed_role_session() {
        assert_eq!(ProbeReport::principal_of("arn:aws:sts::123456789012:assumed-role/reader/lakeport-1"), "arn:aws:iam::123456789012:role/reader");
        assert_eq!(ProbeReport::principal_of("arn:aws:iam::123456789012:user/lp"), "arn:aws:iam::123456789012:user/lp");
    }
}

