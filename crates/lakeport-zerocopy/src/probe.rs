//! Test Connection for zero-copy: each step the mode needs — STS AssumeRole (when a role is used),
//! GetCatalog (`/v1/config`), list namespaces, then for the tables that will be used (each
//! selected share; before any share is selected, the first table with data in catalog order): list
//! tables, load the table, list its S3 location and read one of its data files, with the
//! credentials queries will use (the catalog's vended ones when the connection uses them). Each
//! failure names the permission it points to; the checks go on after a failure, so one run reports
//! all of them, and the policy printed names the real region, account and buckets. A refusal is
//! always a failure, never "0 namespaces"; a read that could not be tried (no data files) is a
//! warning, never a pass.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::TryStreamExt;
use lakeport_aws::probe::{Check, ProbeReport, Verdict};
use lakeport_aws::Secret;
use lakeport_error::ErrorKind;
use object_store::path::Path;
use object_store::ObjectStore;

use crate::{file_io, Credentials, RestCatalog, SelectedShare, ZeroCopyAuth, ZeroCopyConfig, ZeroCopyError};

/// At most this many tables are checked per run (each costs a LoadTable, a LIST and a GET).
const MAX_TABLES: usize = 10;

struct Steps {
    checks: Vec<Check>,
    buckets: BTreeSet<String>,
}

impl Steps {
    fn pass(&mut self, permission: &'static str, reason: String) {
        self.checks.push(Check { permission, verdict: Verdict::Passed, reason, denied: false });
    }
    fn skip(&mut self, permission: &'static str, reason: &str) {
        self.checks.push(Check { permission, verdict: Verdict::Skipped, reason: reason.into(), denied: false });
    }
    fn warn(&mut self, permission: &'static str, reason: String) {
        self.checks.push(Check { permission, verdict: Verdict::Warning, reason, denied: false });
    }
    fn fail(&mut self, permission: &'static str, e: &ZeroCopyError) {
        let denied = e.missing_permission().is_some();
        self.checks.push(Check { permission, verdict: Verdict::Failed, reason: e.to_string(), denied });
    }
}

/// Runs Test Connection. `shares`: the selected shares of a saved connection (their tables are
/// the ones checked); empty for settings not saved yet.
///
/// # Errors
/// [`ZeroCopyError::InvalidConfig`] for settings that are invalid before anything is sent
/// ([`ZeroCopyConfig::validate`]), a missing secret, or (assumed role) lakeport's own AWS identity
/// not set. Every refusal after that is a failed check in the report, not an error.
pub async fn test_connection(config: &ZeroCopyConfig, secret: Option<&Secret>, shares: &[SelectedShare]) -> Result<ProbeReport, ZeroCopyError> {
    config.validate()?;
    let client = Arc::new(RestCatalog::connect(config, secret)?);
    let credentials = client.credentials().clone();
    let mut s = Steps { checks: Vec::new(), buckets: BTreeSet::new() };
    // The trust policy, not a permissions policy, is the fix for a refused AssumeRole.
    let done = |s: Steps| {
        let missing: Vec<&'static str> = s.checks.iter().filter(|c| c.denied && c.permission != "sts:AssumeRole").map(|c| c.permission).collect::<BTreeSet<_>>().into_iter().collect();
        ProbeReport { policy_hint: (!missing.is_empty()).then(|| policy_json(&missing, config, &s.buckets)), checks: s.checks, ..ProbeReport::default() }
    };
    const LATER: [&str; 6] = ["glue:GetCatalog", "glue:GetDatabases", "glue:GetTables", "glue:GetTable", "s3:ListBucket", "s3:GetObject"];

    if let ZeroCopyAuth::AssumeRole { role_arn, .. } = &config.auth {
        match credentials.get().await {
            Ok(_) => s.pass("sts:AssumeRole", format!("assumed {role_arn}")),
            Err(e) => {
                let e = ZeroCopyError::from(e);
                s.fail("sts:AssumeRole", &e);
                // The trust policy is the fix only when STS answered with a refusal, not when it
                // could not be reached (DNS, wrong --sts-endpoint).
                if let (Some(last), true) = (s.checks.last_mut(), e.missing_permission() == Some("sts:AssumeRole")) {
                    last.reason.push_str(" — check that the role's trust policy names lakeport's principal and this External ID");
                }
                LATER.iter().for_each(|p| s.skip(p, "needs the assumed role's credentials"));
                return Ok(done(s));
            }
        }
    }
    match client.prefix().await {
        Ok(p) => match client.data_config().await {
            Ok((_, announced)) => s.pass(
                "glue:GetCatalog",
                format!(
                    "catalog {} (prefix '{p}'){}",
                    config.catalog_url()?,
                    announced.map(|e| format!("; data files are read from S3 endpoint {e}, as the catalog announces (s3.endpoint in /v1/config; --endpoint overrides)")).unwrap_or_default()
                ),
            ),
            Err(e) => {
                s.fail("glue:GetCatalog", &e);
                LATER[1..].iter().for_each(|p| s.skip(p, "needs a usable S3 endpoint for the data files"));
                return Ok(done(s));
            }
        },
        Err(e) => {
            // Every later call goes through the catalog's prefix.
            s.fail("glue:GetCatalog", &e);
            LATER[1..].iter().for_each(|p| s.skip(p, "needs the catalog's configuration (glue:GetCatalog)"));
            return Ok(done(s));
        }
    }
    let namespaces = match client.namespaces().await {
        Ok(n) => {
            s.pass("glue:GetDatabases", format!("{} namespace(s)", n.len()));
            Some(n)
        }
        Err(e) => {
            s.fail("glue:GetDatabases", &e);
            None
        }
    };

    // The tables to check: those of the selected shares, else candidates in catalog order.
    let (candidates, from_shares): (Vec<String>, bool) = if shares.is_empty() {
        match &namespaces {
            Some(n) => (n.iter().take(20).cloned().collect(), false),
            None => {
                LATER[2..].iter().for_each(|p| s.skip(p, "no namespace to check with (glue:GetDatabases failed and no share is selected)"));
                return Ok(done(s));
            }
        }
    } else {
        (shares.iter().map(|sh| sh.share.namespace.clone()).collect::<BTreeSet<_>>().into_iter().collect(), true)
    };
    // Data files are read as queries read them: with the announced S3 endpoint if the
    // connection names none.
    let (data_config, _) = client.data_config().await?;
    let mut checked = 0usize;
    // A data file was found to read (read or refused).
    let mut read_one = false;
    for ns in &candidates {
        if checked >= MAX_TABLES || (!from_shares && read_one) {
            break;
        }
        let tables = match client.tables(ns).await {
            Ok(t) => t,
            Err(e) => {
                s.fail("glue:GetTables", &e);
                if !from_shares {
                    break;
                }
                continue;
            }
        };
        let wanted: Vec<String> = if from_shares {
            let whole = shares.iter().any(|sh| &sh.share.namespace == ns && sh.share.table.is_none());
            let named: Vec<String> = shares.iter().filter(|sh| &sh.share.namespace == ns).filter_map(|sh| sh.share.table.clone()).collect();
            for t in named.iter().filter(|t| !tables.contains(t)) {
                s.fail("glue:GetTables", &ZeroCopyError::NoSuchTable(format!("{ns}.{t} (shared)")));
            }
            if whole { tables.clone() } else { named.into_iter().filter(|t| tables.contains(t)).collect() }
        } else {
            tables.clone()
        };
        if wanted.is_empty() {
            if from_shares {
                s.warn("glue:GetTables", format!("namespace '{ns}' has no tables to check"));
            }
            continue;
        }
        s.pass("glue:GetTables", format!("namespace '{ns}' has {} table(s)", tables.len()));
        for table in wanted {
            if checked >= MAX_TABLES || (!from_shares && read_one) {
                break;
            }
            checked += 1;
            read_one |= check_table(&mut s, &data_config, &client, &credentials, ns, &table).await?;
        }
    }
    if checked == 0 {
        for perm in ["glue:GetTable", "s3:ListBucket", "s3:GetObject"] {
            s.warn(perm, "not checked: no table to check with (select a share and run `lakeport connection test`)".into());
        }
    } else if !read_one {
        s.warn("s3:GetObject", "not checked: none of the tables checked has a data file yet".into());
    }
    Ok(done(s))
}

/// GetTable, ListBucket and GetObject for one table, with the credentials queries will use.
/// Returns whether it had a data file to read (read or refused).
async fn check_table(s: &mut Steps, config: &ZeroCopyConfig, client: &RestCatalog, credentials: &Credentials, ns: &str, table: &str) -> Result<bool, ZeroCopyError> {
    let loaded = match client.load_table(ns, table).await {
        Ok(t) => {
            s.pass("glue:GetTable", format!("loaded {ns}.{table}"));
            t
        }
        Err(e) => {
            s.fail("glue:GetTable", &e);
            return Ok(false);
        }
    };
    // The same choice as the query path (ZeroCopySchema::table).
    let (credentials, whose) = match loaded.vended_credentials() {
        Some(vended) if config.vended_credentials => (Credentials::Static(Arc::new(vended)), " with the catalog's vended credentials"),
        _ => (credentials.clone(), ""),
    };
    let location = loaded.metadata.location().to_string();
    if let Some(bucket) = bucket_of(&location) {
        s.buckets.insert(bucket.to_string());
    }
    let io = file_io(config, credentials.provider());
    let table_ref = loaded.into_table(io.clone())?;
    match list_location(config, &credentials, &location).await {
        Ok(()) => s.pass("s3:ListBucket", format!("listed {location}{whose}")),
        Err(e) => s.fail("s3:ListBucket", &e),
    }
    // s3:GetObject: the first bytes of one data file of the current snapshot.
    let first_file = match table_ref.scan().build()?.plan_files().await {
        Ok(tasks) => tasks.try_collect::<Vec<_>>().await.ok().and_then(|t| t.first().map(|t| t.data_file_path().to_string())),
        Err(e) => {
            // Planning reads the manifest list and manifests: a refusal there is GetObject's.
            s.fail("s3:GetObject", &classify_s3(&location, &e));
            return Ok(true);
        }
    };
    let Some(path) = first_file else {
        return Ok(false);
    };
    let read = match io.new_input(&path)?.reader().await {
        Ok(r) => iceberg::io::FileRead::read(&r, 0..4).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match read {
        Ok(()) => {
            s.pass("s3:GetObject", format!("read {path}{whose}"));
            Ok(true)
        }
        Err(e) => {
            s.fail("s3:GetObject", &classify_s3(&path, &e));
            Ok(true)
        }
    }
}

fn bucket_of(location: &str) -> Option<&str> {
    let rest = location.strip_prefix("s3://").or_else(|| location.strip_prefix("s3a://"))?;
    rest.split('/').next().filter(|b| !b.is_empty())
}

/// A failed read of `what` as a verdict: denied (`s3:GetObject`; a listing's caller names
/// `s3:ListBucket` instead) or another failure, by the object_store error in `e`'s source chain
/// (lakeport's iceberg `Storage` keeps it there), never by its text.
fn classify_s3(what: &str, e: &(dyn std::error::Error + 'static)) -> ZeroCopyError {
    let message = first_line(&e.to_string());
    match ErrorKind::of_object_store_in(e) {
        Some(ErrorKind::Denied) => ZeroCopyError::Denied { operation: format!("read {what}"), permission: "s3:GetObject", message },
        kind => ZeroCopyError::Request { operation: format!("read {what}"), message, kind: kind.unwrap_or(ErrorKind::Unavailable) },
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(300).collect()
}

async fn list_location(config: &ZeroCopyConfig, credentials: &Credentials, location: &str) -> Result<(), ZeroCopyError> {
    let rest = location.strip_prefix("s3://").or_else(|| location.strip_prefix("s3a://")).unwrap_or(location);
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let store = crate::storage::store_for(config, bucket, credentials.provider())?;
    let prefix = Path::from(prefix);
    match store.list(Some(&prefix)).try_next().await {
        Ok(_) => Ok(()),
        Err(object_store::Error::PermissionDenied { source, .. }) => Err(ZeroCopyError::Denied {
            operation: format!("list {location}"),
            permission: "s3:ListBucket",
            message: first_line(&source.to_string()),
        }),
        Err(e) => Err(classify_s3(location, &e)).map_err(|e| match e {
            ZeroCopyError::Denied { operation, message, .. } => ZeroCopyError::Denied { operation, permission: "s3:ListBucket", message },
            other => other,
        }),
    }
}

/// The permissions policy for what was denied, for this connection's region and account (the
/// warehouse, when it is an AWS account id; else from the role ARN) and the buckets of the tables
/// checked (placeholders only for what is unknown).
pub fn policy_json(missing: &[&'static str], config: &ZeroCopyConfig, buckets: &BTreeSet<String>) -> String {
    let region = config.region.trim();
    let account = account_of(config).unwrap_or_else(|| "<account>".into());
    let glue: Vec<&str> = missing.iter().copied().filter(|p| p.starts_with("glue:")).collect();
    let s3: Vec<&str> = missing.iter().copied().filter(|p| p.starts_with("s3:")).collect();
    let mut statements = Vec::new();
    if !glue.is_empty() {
        statements.push(serde_json::json!({"Effect": "Allow", "Action": glue, "Resource": [
            format!("arn:aws:glue:{region}:{account}:catalog"),
            format!("arn:aws:glue:{region}:{account}:database/*"),
            format!("arn:aws:glue:{region}:{account}:table/*/*"),
        ]}));
    }
    if !s3.is_empty() {
        let buckets: Vec<String> = if buckets.is_empty() { vec!["<bucket>".into()] } else { buckets.iter().cloned().collect() };
        let resources: Vec<String> = buckets.iter().flat_map(|b| [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")]).collect();
        statements.push(serde_json::json!({"Effect": "Allow", "Action": s3, "Resource": resources}));
    }
    serde_json::to_string_pretty(&serde_json::json!({"Version": "2012-10-17", "Statement": statements})).expect("static JSON")
}

/// The AWS account id: the warehouse when it is one (Glue), else the role ARN's.
fn account_of(config: &ZeroCopyConfig) -> Option<String> {
    let w = config.warehouse.trim();
    if w.len() == 12 && w.bytes().all(|b| b.is_ascii_digit()) {
        return Some(w.to_string());
    }
    match &config.auth {
        ZeroCopyAuth::AssumeRole { role_arn, .. } => role_arn.split(':').nth(4).filter(|a| !a.is_empty()).map(str::to_string),
        _ => None,
    }
}
