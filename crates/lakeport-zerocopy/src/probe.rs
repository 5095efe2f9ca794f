//! Test Connection for zero-copy: each step the mode needs, one by one — STS AssumeRole (when a
//! role is used), GetCatalog (`/v1/config`), list namespaces, list tables, load one table, list
//! the table's S3 location and read one of its data files — with the permission a failure points
//! to and the policy that grants it. A refusal is always a failure, never "0 namespaces".

use std::sync::Arc;

use futures::TryStreamExt;
use lakeport_source::probe::{Check, ProbeReport, Verdict};
use lakeport_source::Secret;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::ObjectStore;

use crate::{file_io, Credentials, RestCatalog, ZeroCopyAuth, ZeroCopyConfig, ZeroCopyError};

struct Steps {
    checks: Vec<Check>,
}

impl Steps {
    fn pass(&mut self, permission: &'static str, reason: String) {
        self.checks.push(Check { permission, verdict: Verdict::Passed, reason, denied: false });
    }
    fn skip(&mut self, permission: &'static str, reason: &str) {
        self.checks.push(Check { permission, verdict: Verdict::Skipped, reason: reason.into(), denied: false });
    }
    fn fail(&mut self, permission: &'static str, e: &ZeroCopyError) {
        let denied = e.missing_permission().is_some();
        self.checks.push(Check { permission, verdict: Verdict::Failed, reason: e.to_string(), denied });
    }
}

pub async fn test_connection(config: &ZeroCopyConfig, secret: Option<&Secret>) -> Result<ProbeReport, ZeroCopyError> {
    config.validate()?;
    let credentials = Credentials::for_config(config, secret)?;
    let bearer = matches!(config.auth, ZeroCopyAuth::Bearer).then(|| secret.cloned()).flatten();
    let mut s = Steps { checks: Vec::new() };
    // The trust policy, not a permissions policy, is the fix for a refused AssumeRole.
    let done = |s: Steps| {
        let missing: Vec<&'static str> = s.checks.iter().filter(|c| c.denied && c.permission != "sts:AssumeRole").map(|c| c.permission).collect();
        ProbeReport { policy_hint: (!missing.is_empty()).then(|| policy_json(&missing)), checks: s.checks }
    };

    if let ZeroCopyAuth::AssumeRole { role_arn, .. } = &config.auth {
        match credentials.get().await {
            Ok(_) => s.pass("sts:AssumeRole", format!("assumed {role_arn}")),
            Err(e) => {
                s.fail("sts:AssumeRole", &e);
                if let Some(last) = s.checks.last_mut() {
                    last.reason.push_str(" — check that the role's trust policy names lakeport's principal and this External ID");
                }
                return Ok(done(s));
            }
        }
    }
    let client = Arc::new(RestCatalog::new(config, credentials.clone(), bearer)?);
    match client.prefix().await {
        Ok(p) => s.pass("glue:GetCatalog", format!("catalog {} (prefix '{p}')", config.catalog_url()?)),
        Err(e) => {
            s.fail("glue:GetCatalog", &e);
            return Ok(done(s));
        }
    }
    let namespaces = match client.namespaces().await {
        Ok(n) => {
            s.pass("glue:GetDatabases", format!("{} namespace(s)", n.len()));
            n
        }
        Err(e) => {
            s.fail("glue:GetDatabases", &e);
            return Ok(done(s));
        }
    };
    // The first namespace that has a table, looking at no more than 20.
    let mut found = None;
    for ns in namespaces.iter().take(20) {
        match client.tables(ns).await {
            Ok(tables) if !tables.is_empty() => {
                found = Some((ns.clone(), tables[0].clone()));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                s.fail("glue:GetTables", &e);
                return Ok(done(s));
            }
        }
    }
    let Some((ns, table)) = found else {
        for perm in ["glue:GetTables", "glue:GetTable", "s3:ListBucket", "s3:GetObject"] {
            s.skip(perm, "no namespace has a table to check with");
        }
        return Ok(done(s));
    };
    s.pass("glue:GetTables", format!("namespace '{ns}' has table '{table}'"));
    let loaded = match client.load_table(&ns, &table).await {
        Ok(t) => {
            s.pass("glue:GetTable", format!("loaded {ns}.{table}"));
            t
        }
        Err(e) => {
            s.fail("glue:GetTable", &e);
            return Ok(done(s));
        }
    };
    let location = loaded.metadata.location().to_string();
    let io = file_io(config, credentials.provider());
    let table = loaded.into_table(io.clone())?;

    // s3:ListBucket on the table's location.
    match list_location(config, &credentials, &location).await {
        Ok(()) => s.pass("s3:ListBucket", format!("listed {location}")),
        Err(e) => s.fail("s3:ListBucket", &e),
    }
    // s3:GetObject: the first bytes of one data file of the current snapshot.
    let first_file = match table.scan().build() {
        Ok(scan) => match scan.plan_files().await {
            Ok(tasks) => tasks.try_collect::<Vec<_>>().await.ok().and_then(|t| t.first().map(|t| t.data_file_path().to_string())),
            Err(e) => {
                s.fail("s3:GetObject", &classify_s3(&location, &e.to_string()));
                return Ok(done(s));
            }
        },
        Err(e) => return Err(e.into()),
    };
    match first_file {
        Some(path) => match io.new_input(&path)?.reader().await {
            Ok(r) => match iceberg::io::FileRead::read(&r, 0..4).await {
                Ok(_) => s.pass("s3:GetObject", format!("read {path}")),
                Err(e) => s.fail("s3:GetObject", &classify_s3(&path, &e.to_string())),
            },
            Err(e) => s.fail("s3:GetObject", &classify_s3(&path, &e.to_string())),
        },
        None => s.skip("s3:GetObject", "the table has no data files yet"),
    }
    Ok(done(s))
}

fn classify_s3(what: &str, message: &str) -> ZeroCopyError {
    if message.contains("AccessDenied") || message.contains("403") {
        let permission = if message.contains("ListBucket") { "s3:ListBucket" } else { "s3:GetObject" };
        ZeroCopyError::Denied { operation: format!("read {what}"), permission, message: first_line(message) }
    } else {
        ZeroCopyError::Request { operation: format!("read {what}"), message: first_line(message) }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(300).collect()
}

async fn list_location(config: &ZeroCopyConfig, credentials: &Credentials, location: &str) -> Result<(), ZeroCopyError> {
    let rest = location.strip_prefix("s3://").or_else(|| location.strip_prefix("s3a://")).unwrap_or(location);
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut b = AmazonS3Builder::new()
        .with_region(&config.region)
        .with_bucket_name(bucket)
        .with_credentials(credentials.provider())
        .with_allow_http(config.allow_http);
    if let Some(e) = &config.s3_endpoint {
        b = b.with_endpoint(e).with_virtual_hosted_style_request(!config.s3_path_style);
    }
    let store = b.build().map_err(|e| ZeroCopyError::InvalidConfig(e.to_string()))?;
    let prefix = Path::from(prefix);
    match store.list(Some(&prefix)).try_next().await {
        Ok(_) => Ok(()),
        Err(object_store::Error::PermissionDenied { source, .. }) => Err(ZeroCopyError::Denied {
            operation: format!("list {location}"),
            permission: "s3:ListBucket",
            message: first_line(&source.to_string()),
        }),
        Err(e) => Err(classify_s3(location, &e.to_string())).map_err(|e| match e {
            ZeroCopyError::Denied { operation, message, .. } => ZeroCopyError::Denied { operation, permission: "s3:ListBucket", message },
            other => other,
        }),
    }
}

/// The permissions policy for what was denied.
pub fn policy_json(missing: &[&'static str]) -> String {
    let glue: Vec<&str> = missing.iter().copied().filter(|p| p.starts_with("glue:")).collect();
    let s3: Vec<&str> = missing.iter().copied().filter(|p| p.starts_with("s3:")).collect();
    let mut statements = Vec::new();
    if !glue.is_empty() {
        statements.push(serde_json::json!({"Effect": "Allow", "Action": glue, "Resource": ["arn:aws:glue:<region>:<account>:catalog", "arn:aws:glue:<region>:<account>:database/*", "arn:aws:glue:<region>:<account>:table/*/*"]}));
    }
    if !s3.is_empty() {
        statements.push(serde_json::json!({"Effect": "Allow", "Action": s3, "Resource": ["arn:aws:s3:::<bucket>", "arn:aws:s3:::<bucket>/*"]}));
    }
    serde_json::to_string_pretty(&serde_json::json!({"Version": "2012-10-17", "Statement": statements})).expect("static JSON")
}
