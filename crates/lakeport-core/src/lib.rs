//! The operations behind both interfaces (CLI and HTTP API), so neither holds logic of its own:
//! adding a connection (Test Connection first, save only when it passed), testing a saved one,
//! loading namespaces, selecting shares, browsing a bucket.

pub mod extractions;
pub mod scheduler;
pub mod webhook;

pub use extractions::{
    create_extraction, edit_extraction, extraction_history, get_extraction, list_extractions, remove_extraction, run_extraction, Extraction, ExtractionDefinition, HistoryEntry,
    RetryPolicy, RunOutcome, Schedule, Webhook,
};

use chrono::{DateTime, Utc};
use lakeport_extract::ExtractError;
use lakeport_pool::{Connection, ConnectionConfig, Pool, PoolError};
use lakeport_source::{probe, S3Source, Secret, SourceError};
use lakeport_zerocopy::{Credentials, RestCatalog, SelectedShare, Share, ZeroCopyAuth, ZeroCopyError};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    ZeroCopy(#[from] ZeroCopyError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("{0}")]
    Invalid(String),
}

/// The verdicts of Test Connection (the same shape for both connection types).
pub type TestReport = probe::ProbeReport;

/// A connection to add: its settings and its secret (none for an assumed role).
#[derive(Clone, Debug, Deserialize)]
pub struct NewConnection {
    pub name: String,
    pub config: ConnectionConfig,
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AddOutcome {
    pub saved: bool,
    pub test: Option<TestReport>,
    pub connection: Option<Connection>,
}

/// Test Connection for settings that are not saved yet.
pub async fn test_settings(config: &ConnectionConfig, secret: Option<&Secret>) -> Result<TestReport, CoreError> {
    Ok(match config {
        ConnectionConfig::S3Extraction(c) => {
            let secret = secret.ok_or_else(|| CoreError::Invalid("the secret access key is required".into()))?;
            probe::test_connection(c, secret).await?
        }
        ConnectionConfig::ZeroCopy(c) => lakeport_zerocopy::probe::test_connection(c, secret).await?,
    })
}

/// Name → settings → Test Connection → Save. Nothing is saved unless the test passed (or was
/// skipped on purpose); a failed test never leaves a half-made connection.
pub async fn add_connection(pool: &Pool, new: NewConnection, skip_test: bool) -> Result<AddOutcome, CoreError> {
    let secret = new.secret.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(Secret::new);
    match &new.config {
        ConnectionConfig::S3Extraction(c) => c.validate()?,
        ConnectionConfig::ZeroCopy(c) => {
            c.validate()?;
            if !matches!(c.auth, ZeroCopyAuth::AssumeRole { .. }) && secret.is_none() {
                return Err(CoreError::Invalid("this authentication method needs a secret (secret access key or bearer token)".into()));
            }
        }
    }
    if pool.connections().await?.iter().any(|c| c.name.eq_ignore_ascii_case(&new.name)) {
        return Err(PoolError::ConnectionExists { pool: pool.name().to_string(), connection: new.name.clone() }.into());
    }
    let test = if skip_test { None } else { Some(test_settings(&new.config, secret.as_ref()).await?) };
    if test.as_ref().is_some_and(|t| !t.passed()) {
        return Ok(AddOutcome { saved: false, test, connection: None });
    }
    let connection = pool.add_connection(&new.name, new.config, secret.as_ref()).await?;
    Ok(AddOutcome { saved: true, test, connection: Some(connection) })
}

/// Test Connection for a saved connection.
pub async fn test_saved(pool: &Pool, name: &str) -> Result<TestReport, CoreError> {
    let conn = pool.connection(name).await?;
    test_settings(&conn.config, pool.connection_secret_opt(name).as_ref()).await
}

/// The REST client of a saved zero-copy connection.
pub async fn rest_client(pool: &Pool, name: &str) -> Result<RestCatalog, CoreError> {
    let conn = pool.connection(name).await?;
    let ConnectionConfig::ZeroCopy(config) = &conn.config else {
        return Err(CoreError::Invalid(format!("connection '{name}' is an extraction connection; namespaces and shares belong to zero-copy connections")));
    };
    let secret = pool.connection_secret_opt(name);
    let bearer = matches!(config.auth, ZeroCopyAuth::Bearer).then(|| secret.clone()).flatten();
    Ok(RestCatalog::new(config, Credentials::for_config(config, secret.as_ref())?, bearer)?)
}

#[derive(Clone, Debug, Serialize)]
pub struct NamespaceListing {
    pub namespace: String,
    pub tables: Vec<String>,
}

/// "Authenticate and load namespaces": every namespace (all pages) with its tables.
pub async fn namespaces(pool: &Pool, name: &str) -> Result<Vec<NamespaceListing>, CoreError> {
    let client = rest_client(pool, name).await?;
    let mut out = Vec::new();
    for namespace in client.namespaces().await? {
        let tables = client.tables(&namespace).await?;
        out.push(NamespaceListing { namespace, tables });
    }
    Ok(out)
}

/// Changes the selected shares: remove, add (`ns` or `ns.table`), and re-read namespace shares'
/// tables from the catalog. Returns the new selection.
pub async fn update_shares(pool: &Pool, name: &str, add: &[String], remove: &[String]) -> Result<Vec<SelectedShare>, CoreError> {
    let client = rest_client(pool, name).await?;
    let mut shares = pool.shares(name).await?;
    for r in remove {
        let share = Share::parse(r)?;
        let before = shares.len();
        shares.retain(|s| s.share != share);
        if shares.len() == before {
            return Err(CoreError::Invalid(format!("'{r}' is not a selected share")));
        }
    }
    let mut wanted: Vec<Share> = shares.iter().map(|s| s.share.clone()).collect();
    for a in add {
        let share = Share::parse(a)?;
        if !wanted.contains(&share) {
            wanted.push(share);
        }
    }
    let mut resolved = Vec::new();
    for share in wanted {
        let available = client.tables(&share.namespace).await?;
        let tables = match &share.table {
            Some(t) if available.contains(t) => vec![t.clone()],
            Some(t) => return Err(CoreError::Invalid(format!("table '{t}' does not exist in namespace '{}' (it has: {})", share.namespace, available.join(", ")))),
            None => available,
        };
        resolved.push(SelectedShare { share, tables });
    }
    pool.set_shares(name, &resolved).await?;
    Ok(resolved)
}

#[derive(Clone, Debug, Serialize)]
pub struct BrowseEntry {
    pub key: String,
    pub name: String,
    pub folder: bool,
    pub size: Option<u64>,
    pub modified: Option<DateTime<Utc>>,
}

/// One level of a bucket (folders and files under `prefix`), for picking extraction items.
pub async fn browse(pool: &Pool, name: &str, prefix: &str) -> Result<Vec<BrowseEntry>, CoreError> {
    let conn = pool.connection(name).await?;
    let ConnectionConfig::S3Extraction(config) = &conn.config else {
        return Err(CoreError::Invalid(format!("connection '{name}' is a zero-copy connection; it has no bucket to browse")));
    };
    let source = S3Source::connect(config, &pool.connection_secret(name)?)?;
    let listing = source.list_level(prefix).await?;
    let mut out: Vec<BrowseEntry> = listing
        .0
        .into_iter()
        .map(|p| BrowseEntry { name: p.strip_suffix('/').unwrap_or(&p).rsplit('/').next().unwrap_or(&p).to_string() + "/", key: p, folder: true, size: None, modified: None })
        .collect();
    out.extend(listing.1.into_iter().filter(|o| !o.key.ends_with('/')).map(|o| BrowseEntry {
        name: o.key.rsplit('/').next().unwrap_or(&o.key).to_string(),
        size: Some(o.size),
        modified: Some(o.last_modified),
        key: o.key,
        folder: false,
    }));
    Ok(out)
}
