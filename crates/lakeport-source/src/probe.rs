//! Test Connection for extraction mode: checks s3:ListBucket, s3:GetObject and s3:GetBucketAcl one
//! by one, with a verdict and a reason for each, and the policy that grants what is missing.
//! Requests are signed the same way as the extraction's, so a pass here means the extraction's
//! credentials work.

use bytes::Bytes;

use crate::{xml_tag, S3Auth, S3Config, Secret, SignedResponse, SourceError};

const LIST_BUCKET: &str = "s3:ListBucket";
const GET_OBJECT: &str = "s3:GetObject";
const GET_BUCKET_ACL: &str = "s3:GetBucketAcl";

// The verdict types live in the AWS layer (zero-copy's probe uses them too).
pub use lakeport_aws::probe::{Check, ProbeReport, Verdict};

/// Runs the three checks in order: ListBucket (ListObjectsV2 with `max-keys=1`), GetObject (the
/// first byte of the listed object; skipped for an empty bucket or a failed listing), GetBucketAcl.
/// A failed request, denied or not, is a [`Verdict::Failed`] check, not an `Err`.
///
/// # Errors
/// [`SourceError::InvalidConfig`] for settings that fail [`S3Config::validate`] (bad endpoint,
/// plain HTTP not allowed…), before anything is sent.
pub async fn test_connection(config: &S3Config, secret: Option<&Secret>) -> Result<ProbeReport, SourceError> {
    config.validate()?;
    let credentials = config.credentials(secret)?;
    let client = config.signed_with(credentials.clone())?;
    let mut checks = Vec::new();
    // Who the checks run as, before anything else (the same credentials, renewed alike).
    let (identity, identity_error) = match config.sts_url() {
        Ok(url) => match lakeport_aws::caller_identity(credentials, config.region.trim(), &url, config.http_policy()).await {
            Ok(arn) => (Some(arn), None),
            Err(e) => (None, Some(e.to_string())),
        },
        Err(e) => (None, Some(e.to_string())),
    };
    let who = match (&identity, &config.auth) {
        (Some(arn), S3Auth::AccessKey) => format!("the key '{}' ({arn})", config.access_key_id),
        (Some(arn), _) => format!("'{arn}'"),
        (None, S3Auth::AccessKey) => format!("the key '{}'", config.access_key_id),
        (None, S3Auth::AssumeRole { role_arn, .. }) => format!("the role '{role_arn}'"),
        (None, S3Auth::Profile { profile }) => format!("AWS profile '{profile}'"),
        (None, S3Auth::DefaultChain) => "the default credential chain's identity".to_string(),
    };

    // 1. ListBucket: list at most one key; it also gives us an object for the GetObject check.
    let mut list_url = config.bucket_url()?;
    list_url.set_query(Some("list-type=2&max-keys=1"));
    let mut first_key = None;
    match client.send(http::Method::GET, &list_url, &[], Bytes::new()).await {
        Ok(r) if r.status == 200 => {
            first_key = xml_tag(r.text(), "Key").map(xml_unescape);
            checks.push(Check {
                permission: LIST_BUCKET,
                verdict: Verdict::Passed,
                reason: match &first_key {
                    Some(_) => format!("listed bucket '{}'", config.bucket),
                    None => format!("listed bucket '{}' (it is empty)", config.bucket),
                },
                denied: false,
            });
        }
        Ok(r) => checks.push(failed_check(LIST_BUCKET, config, &who, &r)),
        Err(e) => checks.push(Check { permission: LIST_BUCKET, verdict: Verdict::Failed, reason: e.to_string(), denied: false }),
    }

    // 2. GetObject: read the first byte of one object.
    match &first_key {
        Some(key) => {
            let url = config.object_url(key)?;
            match client.send(http::Method::GET, &url, &[("range", "bytes=0-0")], Bytes::new()).await {
                // 416: the object is empty, but reading it was allowed.
                Ok(r) if r.status == 200 || r.status == 206 || r.status == 416 => checks.push(Check {
                    permission: GET_OBJECT,
                    verdict: Verdict::Passed,
                    reason: format!("read object '{key}'"),
                    denied: false,
                }),
                Ok(r) => checks.push(failed_check(GET_OBJECT, config, &who, &r)),
                Err(e) => checks.push(Check { permission: GET_OBJECT, verdict: Verdict::Failed, reason: e.to_string(), denied: false }),
            }
        }
        None => checks.push(Check {
            permission: GET_OBJECT,
            verdict: Verdict::Skipped,
            reason: if checks[0].verdict == Verdict::Passed {
                "the bucket is empty, so there is no object to read".into()
            } else {
                "needs a listed object; listing failed".into()
            },
            denied: false,
        }),
    }

    // 3. GetBucketAcl.
    let mut acl_url = config.bucket_url()?;
    acl_url.set_query(Some("acl"));
    match client.send(http::Method::GET, &acl_url, &[], Bytes::new()).await {
        Ok(r) if r.status == 200 => checks.push(Check {
            permission: GET_BUCKET_ACL,
            verdict: Verdict::Passed,
            reason: "read the bucket ACL".into(),
            denied: false,
        }),
        Ok(r) if r.status == 501 => checks.push(Check {
            permission: GET_BUCKET_ACL,
            verdict: Verdict::Warning,
            reason: "this S3-compatible server does not implement GetBucketAcl (501 Not Implemented); extraction does not need it".into(),
            denied: false,
        }),
        Ok(r) => checks.push(failed_check(GET_BUCKET_ACL, config, &who, &r)),
        Err(e) => checks.push(Check { permission: GET_BUCKET_ACL, verdict: Verdict::Failed, reason: e.to_string(), denied: false }),
    }

    let denied: Vec<&'static str> = checks.iter().filter(|c| c.denied).map(|c| c.permission).collect();
    let policy_hint = (!denied.is_empty()).then(|| policy_json(&config.bucket, &denied));
    let policy_principal = policy_hint.as_ref().and(identity.as_deref()).map(ProbeReport::principal_of);
    Ok(ProbeReport { checks, policy_hint, identity, identity_error, policy_principal })
}

fn failed_check(permission: &'static str, config: &S3Config, who: &str, r: &SignedResponse) -> Check {
    let code = r.error_code().unwrap_or("");
    let denied = r.status == 403 && matches!(code, "AccessDenied" | "");
    let reason = match (r.status, code) {
        (403, "AccessDenied") | (403, "") => format!("access denied: {who} lacks {permission} on bucket '{}'", config.bucket),
        (301, _) | (_, "PermanentRedirect") | (_, "AuthorizationHeaderMalformed") => format!(
            "the bucket is in another region{}; set the connection's region to it",
            r.bucket_region.as_deref().map(|g| format!(" ({g})")).unwrap_or_default()
        ),
        (_, c) => match explain_s3_code(c) {
            Some(hint) => format!("{c}: {hint}"),
            None => format!("HTTP {} {}", r.status, if c.is_empty() { r.text().chars().take(200).collect::<String>() } else { c.to_string() }),
        },
    };
    Check { permission, verdict: Verdict::Failed, reason, denied }
}

/// Plain-language meaning of the S3 error codes a connection test meets.
pub fn explain_s3_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "SignatureDoesNotMatch" => "signature mismatch: the secret access key is wrong",
        "InvalidAccessKeyId" => "the access key ID is unknown to this server/account",
        "AccessDenied" => "access denied by the bucket or IAM policy",
        "NoSuchBucket" => "no such bucket: check the bucket name and region",
        "ExpiredToken" | "TokenRefreshRequired" => "the credentials have expired",
        "InvalidToken" => "the session token is invalid",
        "RequestTimeTooSkewed" => "this machine's clock is too far off the server's",
        "AllAccessDisabled" => "all access to this bucket has been disabled",
        "PermanentRedirect" => "the bucket is in another region; set the connection's region",
        _ => return None,
    })
}

/// The least-privilege policy for the missing permissions, ready to paste into IAM.
pub fn policy_json(bucket: &str, missing: &[&'static str]) -> String {
    let bucket_actions: Vec<&str> = missing.iter().copied().filter(|p| *p == LIST_BUCKET || *p == GET_BUCKET_ACL).collect();
    let mut statements = Vec::new();
    if !bucket_actions.is_empty() {
        statements.push(serde_json::json!({
            "Sid": "LakeportBucketRead",
            "Effect": "Allow",
            "Action": bucket_actions,
            "Resource": format!("arn:aws:s3:::{bucket}"),
        }));
    }
    if missing.contains(&GET_OBJECT) {
        statements.push(serde_json::json!({
            "Sid": "LakeportObjectRead",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }));
    }
    serde_json::to_string_pretty(&serde_json::json!({ "Version": "2012-10-17", "Statement": statements }))
        .expect("static JSON")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_only_the_missing_permissions() {
        let p = policy_json("b", &[GET_BUCKET_ACL]);
        assert!(p.contains("s3:GetBucketAcl") && !p.contains("s3:GetObject") && !p.contains("s3:ListBucket"));
        let p = policy_json("b", &[GET_OBJECT]);
        assert!(p.contains("arn:aws:s3:::b/*"));
    }
}
