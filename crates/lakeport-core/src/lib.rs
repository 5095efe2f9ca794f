//! The operations behind both interfaces (CLI and HTTP API), so neither holds logic of its own:
//! adding a connection (Test Connection first, save only when it passed), testing a saved one,
//! loading namespaces, selecting shares, browsing a bucket.

#![warn(missing_docs)]

pub mod connections;
pub mod extractions;
pub mod runs;
pub mod scheduler;
pub mod webhook;
mod sql;

pub use connections::{connection, connections, pool_tables, set_shares, shares, update_connection, Connection, ConnectionConfig, ConnectionUpdate, PoolTable, UpdateOutcome};
pub use sql::{query, query_with, session};
pub use extractions::{
    create_extraction, edit_extraction, extraction_history, get_extraction, list_extractions, remove_extraction, run_extraction, Extraction, ExtractionDefinition, HistoryEntry,
    RetryPolicy, RunOutcome, Schedule, Webhook,
};

// The facade: the domain types and the few pure helpers the interfaces (the CLI, the server)
// work with, re-exported, so that they depend on core alone — as ripgrep's `grep` crate does for
// its parts. Operations stay functions of this crate.
pub use lakeport_error::ErrorKind;
pub use lakeport_extract::{inferred_columns, DeletedObjects, ExtractError, ExtractReport, ExtractRequest, Item, NoProgress, OnSchemaChange, Progress, Shard, TableReport, TableSettings};
pub use lakeport_formats::{CsvOptions, Encoding, ReadOptions};
pub use lakeport_pool::{
    parse_memory_size, rows_json, same_token_hash, table_name_from, token_hash, validate_identifier, Job, JobStatus, LoadMode, NewToken, Pool,
    PoolDir, PoolError, QueryLimits, QueryResult, TableInfo, TokenScope, Trigger, DEFAULT_QUERY_TIMEOUT,
};
pub use lakeport_source::probe::Verdict;
pub use lakeport_source::{S3Auth, S3Config, Secret, DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_SESSION_SECONDS};
pub use lakeport_zerocopy::{caller_identity, quote_ident, sql_name, trust_policy, CatalogSettings, ZeroCopyAuth, ZeroCopyConfig};
// The rest of the API's answer types (lakeport-server serializes them and derives their schemas).
pub use lakeport_extract::InferredTable;
pub use lakeport_pool::{CatalogKind, DropReport, PoolCatalog, PoolInfo, RestPoolSettings};
pub use lakeport_zerocopy::{SelectedShare, SnapshotInfo};
pub use runs::RunState;

use chrono::{DateTime, Utc};
use lakeport_pool::CATALOG_NAME;
use lakeport_source::{probe, S3Source, SourceError};
use lakeport_zerocopy::{RestCatalog, Share, ZeroCopyError};
use serde::{Deserialize, Serialize};

/// The error of every core operation: a lower crate's error passed through, or core's own.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// From the pool (its files, SQL, connections, jobs).
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// From the S3 source (listing, reading, Test Connection).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// From a zero-copy REST catalog (Iceberg REST calls, credentials).
    #[error(transparent)]
    ZeroCopy(#[from] ZeroCopyError),
    /// Boxed: an extraction error is the largest of these, and every `Result` carries it.
    #[error(transparent)]
    Extract(Box<ExtractError>),
    /// Input that core refuses (the text says what and why); kind [`ErrorKind::Invalid`].
    #[error("{0}")]
    Invalid(String),
    /// A run stopped by a cancel or a signal (the text says which, and what was committed).
    #[error("{0}")]
    Stopped(String),
    /// The operation conflicts with the state of things (e.g. cancelling a run that ended).
    #[error("{0}")]
    Conflict(String),
}

impl From<ExtractError> for CoreError {
    fn from(e: ExtractError) -> Self {
        CoreError::Extract(Box::new(e))
    }
}

impl CoreError {
    /// What kind of failure this is (the wrapped error's own kind); the server maps kinds to
    /// HTTP statuses and the CLI to exit codes, each in one place.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::Pool(e) => e.kind(),
            CoreError::Source(e) => e.kind(),
            CoreError::ZeroCopy(e) => e.kind(),
            CoreError::Extract(e) => e.kind(),
            CoreError::Invalid(_) => ErrorKind::Invalid,
            CoreError::Stopped(_) | CoreError::Conflict(_) => ErrorKind::Conflict,
        }
    }
}

/// The verdicts of Test Connection (the same shape for both connection types).
pub type TestReport = probe::ProbeReport;

/// A connection to add: its settings and its secret (none for an assumed role).
#[derive(Clone, Debug, Deserialize)]
pub struct NewConnection {
    /// Connection name, unique in the pool ignoring ASCII case.
    pub name: String,
    /// The settings (S3 extraction or zero-copy).
    pub config: ConnectionConfig,
    /// Secret access key, bearer token or OAuth2 client secret; blank or whitespace counts as none, surrounding
    /// whitespace is dropped. A [`Secret`] from the moment it is read (JSON or CLI).
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// What [`add_connection`] did.
#[derive(Clone, Debug, Serialize)]
pub struct AddOutcome {
    /// The connection was saved (the test passed or was skipped).
    pub saved: bool,
    /// The Test Connection report; `None` when the test was skipped.
    pub test: Option<TestReport>,
    /// The saved connection; `None` when the test failed and nothing was saved.
    pub connection: Option<Connection>,
}

/// Test Connection for settings that are not saved yet.
///
/// # Errors
///
/// [`CoreError::Invalid`] when an S3 extraction config has no secret; [`CoreError::Source`] or
/// [`CoreError::ZeroCopy`] when the probe itself cannot run (a failed check is a verdict in the report).
pub async fn test_settings(config: &ConnectionConfig, secret: Option<&Secret>) -> Result<TestReport, CoreError> {
    test_with_shares(config, secret, &[]).await
}

/// Test Connection; a zero-copy connection checks the tables of `shares` (none: the first table
/// with data in catalog order).
pub(crate) async fn test_with_shares(config: &ConnectionConfig, secret: Option<&Secret>, shares: &[SelectedShare]) -> Result<TestReport, CoreError> {
    Ok(match config {
        ConnectionConfig::S3Extraction(c) => {
            if c.auth.is_access_key() && secret.is_none() {
                return Err(CoreError::Invalid("the secret access key is required".into()));
            }
            probe::test_connection(c, secret).await?
        }
        ConnectionConfig::ZeroCopy(c) => lakeport_zerocopy::probe::test_connection(c, secret, shares).await?,
    })
}

/// Name → settings → Test Connection → Save. Nothing is saved unless the test passed (or was
/// skipped on purpose); a failed test never leaves a half-made connection.
///
/// # Errors
///
/// [`CoreError::Invalid`] for a zero-copy connection without a secret (unless it assumes a role),
/// a name that is the pool's SQL catalog or clashes in SQL with another connection;
/// [`PoolError::ConnectionExists`] (as [`CoreError::Pool`]) for a name taken ignoring case;
/// the config's own validation errors and the probe's and pool's errors, passed through.
pub async fn add_connection(pool: &Pool, new: NewConnection, skip_test: bool) -> Result<AddOutcome, CoreError> {
    let secret = new.secret.as_ref().and_then(Secret::trimmed);
    match &new.config {
        ConnectionConfig::S3Extraction(c) => {
            c.validate()?;
            // Nothing secret is stored for a role, a profile or the default chain.
            if !c.auth.is_access_key() && secret.is_some() {
                return Err(CoreError::Invalid(format!("the {} method takes no secret; leave the secret out", c.auth.method())));
            }
        }
        ConnectionConfig::ZeroCopy(c) => {
            c.validate()?;
            if !matches!(c.auth, ZeroCopyAuth::AssumeRole { .. }) && secret.is_none() {
                return Err(CoreError::Invalid("this authentication method needs a secret (secret access key, bearer token or OAuth2 client secret)".into()));
            }
        }
    }
    pool.ensure_connection_name_free(&new.name).await?;
    let existing = pool.connections().await?;
    // A zero-copy connection is an SQL catalog named after it (normalised: `My-Lake` → my_lake):
    // it must not shadow the pool's own catalog, nor share its SQL name with another connection.
    let sql = table_name_from(&new.name)?;
    if matches!(new.config, ConnectionConfig::ZeroCopy(_)) && sql == CATALOG_NAME {
        return Err(CoreError::Invalid(format!(
            "a zero-copy connection cannot be named '{}': its tables would be queried as {CATALOG_NAME}.<namespace>.<table>, and '{CATALOG_NAME}' is the pool's own SQL catalog; choose another name",
            new.name
        )));
    }
    if let Some(other) = existing.iter().find(|c| table_name_from(&c.name).is_ok_and(|n| n == sql)) {
        return Err(CoreError::Invalid(format!(
            "connection name '{}' is '{sql}' in SQL, like the existing connection '{}'; choose a name that differs in more than case and punctuation",
            new.name, other.name
        )));
    }
    let test = if skip_test { None } else { Some(test_settings(&new.config, secret.as_ref()).await?) };
    if test.as_ref().is_some_and(|t| !t.passed()) {
        return Ok(AddOutcome { saved: false, test, connection: None });
    }
    let connection = Connection::from_stored(pool.add_connection(&new.name, &new.config, secret.as_ref()).await?)?;
    Ok(AddOutcome { saved: true, test, connection: Some(connection) })
}

/// Test Connection for a saved connection (a zero-copy one checks the tables of its shares).
///
/// # Errors
///
/// [`CoreError::Pool`] when the connection or its secret cannot be read; otherwise as [`test_settings`].
pub async fn test_saved(pool: &Pool, name: &str) -> Result<TestReport, CoreError> {
    let conn = connection(pool, name).await?;
    let shares = if matches!(conn.config, ConnectionConfig::ZeroCopy(_)) { shares(pool, name).await? } else { Vec::new() };
    test_with_shares(&conn.config, pool.connection_secret_opt(name)?.as_ref(), &shares).await
}

/// The REST client of a saved zero-copy connection.
///
/// # Errors
///
/// [`CoreError::Invalid`] for an extraction connection; [`CoreError::Pool`] when the connection or
/// secret cannot be read; [`CoreError::ZeroCopy`] when credentials or the client cannot be built.
pub async fn rest_client(pool: &Pool, name: &str) -> Result<RestCatalog, CoreError> {
    let conn = connection(pool, name).await?;
    let ConnectionConfig::ZeroCopy(config) = &conn.config else {
        return Err(CoreError::Invalid(format!("connection '{name}' is an extraction connection; namespaces and shares belong to zero-copy connections")));
    };
    Ok(RestCatalog::connect(config, pool.connection_secret_opt(name)?.as_ref())?)
}

/// One namespace of a zero-copy catalog, as [`namespaces`] lists it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct NamespaceListing {
    /// Namespace name, as the catalog spells it.
    pub namespace: String,
    /// Table names in the namespace (for a gone namespace: the shared tables).
    pub tables: Vec<String>,
    /// Shared, but no longer in the source catalog (then `tables` lists the shared ones).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    /// Shared tables of this namespace that are no longer in the source catalog.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone_tables: Vec<String>,
}

/// "Authenticate and load namespaces": every namespace (all pages) with its tables, and the shared
/// namespaces and tables that the source no longer has, marked gone.
///
/// # Errors
///
/// As [`rest_client`]; [`CoreError::ZeroCopy`] when a catalog call fails (a namespace dropped
/// between calls is skipped, not an error); [`CoreError::Pool`] when the shares cannot be read.
pub async fn namespaces(pool: &Pool, name: &str) -> Result<Vec<NamespaceListing>, CoreError> {
    let client = rest_client(pool, name).await?;
    let mut out = Vec::new();
    for namespace in client.namespaces().await? {
        let tables = match client.tables(&namespace).await {
            Ok(t) => t,
            // Dropped between the two calls.
            Err(ZeroCopyError::NoSuchNamespace(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        out.push(NamespaceListing { namespace, tables, gone: false, gone_tables: Vec::new() });
    }
    for share in shares(pool, name).await? {
        match out.iter_mut().find(|l| l.namespace == share.share.namespace) {
            Some(listing) => {
                let wanted = share.share.table.clone().into_iter().chain(share.tables.iter().cloned());
                for t in wanted {
                    if !listing.tables.contains(&t) && !listing.gone_tables.contains(&t) {
                        listing.gone_tables.push(t);
                    }
                }
            }
            None => out.push(NamespaceListing { namespace: share.share.namespace.clone(), tables: share.tables.clone(), gone: true, gone_tables: share.tables.clone() }),
        }
    }
    Ok(out)
}

/// A selected share as the source catalog has it now.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ShareStatus {
    /// The share and its tables as stored in the pool.
    #[serde(flatten)]
    pub selected: SelectedShare,
    /// The share's namespace, or its one table, is no longer in the source catalog.
    pub gone: bool,
    /// Tables listed for the share that the source no longer has.
    pub gone_tables: Vec<String>,
    /// Tables of a namespace share created since it was selected (already queryable;
    /// `--refresh` lists them).
    pub new_tables: Vec<String>,
}

/// The selected shares, each checked against the source catalog (one ListTables per namespace).
///
/// # Errors
///
/// As [`rest_client`]; [`CoreError::ZeroCopy`] when ListTables fails other than with
/// `NoSuchNamespace` (that marks the share gone).
pub async fn share_status(pool: &Pool, name: &str) -> Result<Vec<ShareStatus>, CoreError> {
    let client = rest_client(pool, name).await?;
    let mut out = Vec::new();
    for selected in shares(pool, name).await? {
        let (gone, available) = match client.tables(&selected.share.namespace).await {
            Ok(t) => (false, t),
            Err(ZeroCopyError::NoSuchNamespace(_)) => (true, Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let gone = gone || selected.share.table.as_ref().is_some_and(|t| !available.contains(t));
        let gone_tables = selected.tables.iter().filter(|t| !available.contains(t)).cloned().collect();
        let new_tables = if selected.share.table.is_none() { available.iter().filter(|t| !selected.tables.contains(t)).cloned().collect() } else { Vec::new() };
        out.push(ShareStatus { selected, gone, gone_tables, new_tables });
    }
    Ok(out)
}

/// Changes the selected shares: remove (no catalog call: a share that is gone can always be
/// removed), add (`ns` or `ns.table`; each must exist), and with `refresh` re-read the tables of
/// every namespace share. A share the source no longer has stays selected with no tables (shown
/// as gone) until it is removed; it never stops the others from being refreshed. A namespace share
/// takes in the table shares of its namespace; a table share inside a shared namespace is refused.
/// Returns the new selection.
///
/// # Errors
///
/// [`CoreError::Invalid`] for a share to remove that is not selected, a table share covered by a
/// namespace share, or a namespace or table to add that the catalog does not have;
/// [`CoreError::ZeroCopy`] for an unparsable share or a failed catalog call; [`CoreError::Pool`]
/// when the shares cannot be read or saved.
pub async fn update_shares(pool: &Pool, name: &str, add: &[String], remove: &[String], refresh: bool) -> Result<Vec<SelectedShare>, CoreError> {
    let mut shares = self::shares(pool, name).await?;
    for r in remove {
        let share = Share::parse(r)?;
        let before = shares.len();
        shares.retain(|s| s.share != share);
        if shares.len() == before {
            let selected: Vec<String> = shares.iter().map(|s| s.share.to_string()).collect();
            return Err(CoreError::Invalid(format!("'{r}' is not a selected share (selected: {})", if selected.is_empty() { "none".into() } else { selected.join(", ") })));
        }
    }
    if add.is_empty() && !refresh {
        set_shares(pool, name, &shares).await?;
        return Ok(shares);
    }
    let client = rest_client(pool, name).await?;
    let mut namespaces: Option<Vec<String>> = None;
    for a in add {
        let share = Share::parse(a)?;
        if shares.iter().any(|s| s.share == share) {
            continue;
        }
        if let Some(whole) = shares.iter().find(|s| s.share.namespace == share.namespace && s.share.table.is_none()) {
            return Err(CoreError::Invalid(format!("'{share}' is already shared through the namespace share '{}'", whole.share)));
        }
        let available = match client.tables(&share.namespace).await {
            Ok(t) => t,
            Err(ZeroCopyError::NoSuchNamespace(_)) => {
                let all = match &namespaces {
                    Some(n) => n.clone(),
                    None => namespaces.insert(client.namespaces().await?).clone(),
                };
                return Err(CoreError::Invalid(format!("namespace '{}' does not exist in the catalog (it has: {})", share.namespace, all.join(", "))));
            }
            Err(e) => return Err(e.into()),
        };
        let tables = match &share.table {
            Some(t) if available.contains(t) => vec![t.clone()],
            Some(t) => return Err(CoreError::Invalid(format!("table '{t}' does not exist in namespace '{}' (it has: {})", share.namespace, available.join(", ")))),
            None => {
                // The namespace share covers its table shares.
                shares.retain(|s| s.share.namespace != share.namespace);
                available
            }
        };
        shares.push(SelectedShare { share, tables });
    }
    if refresh {
        for s in shares.iter_mut() {
            let available = match client.tables(&s.share.namespace).await {
                Ok(t) => t,
                Err(ZeroCopyError::NoSuchNamespace(_)) => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            s.tables = match &s.share.table {
                Some(t) => available.into_iter().filter(|a| a == t).collect(),
                None => available,
            };
        }
    }
    shares.sort_by(|a, b| a.share.cmp(&b.share));
    set_shares(pool, name, &shares).await?;
    Ok(shares)
}

/// The snapshots of a shared table, named as in SQL: `<connection>.<namespace>.<table>` (parts
/// may be double-quoted: `lake."Marketing-EU"."Campaign-Stats"`). Oldest first; read from the
/// table's Iceberg metadata (the Iceberg spec's `snapshots`).
///
/// # Errors
///
/// [`CoreError::Invalid`] when `name` is not three parts, no zero-copy connection has that SQL
/// name, or the table is not shared; [`CoreError::ZeroCopy`] when loading the table fails.
pub async fn snapshots(pool: &Pool, name: &str) -> Result<Vec<lakeport_zerocopy::SnapshotInfo>, CoreError> {
    let parts = split_sql_name(name);
    let [conn, ns, table] = parts.as_slice() else {
        return Err(CoreError::Invalid(format!("'{name}' is not <connection>.<namespace>.<table> (a zero-copy table, as queries name it)")));
    };
    let connection = connections(pool)
        .await?
        .into_iter()
        .find(|c| matches!(c.config, ConnectionConfig::ZeroCopy(_)) && (c.name == *conn || table_name_from(&c.name).is_ok_and(|n| n == *conn)))
        .ok_or_else(|| CoreError::Invalid(format!("no zero-copy connection is named '{conn}' in SQL (see `lakeport connection list`)")))?;
    let shared = shares(pool, &connection.name).await?.iter().any(|s| s.share.namespace == *ns && (s.share.table.is_none() || s.share.table.as_deref() == Some(table.as_str())));
    if !shared {
        return Err(CoreError::Invalid(format!("{} is not shared (`lakeport connection shares {} --add {ns}.{table}`)", lakeport_zerocopy::sql_name(&[conn, ns, table]), connection.name)));
    }
    let loaded = rest_client(pool, &connection.name).await?.load_table(ns, table).await?;
    Ok(lakeport_zerocopy::snapshots(&loaded.metadata))
}

/// `a."B-c".d` → [a, B-c, d]: bare parts lowercased (as SQL reads them), quoted ones as written.
fn split_sql_name(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut chars = name.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        part.push('"');
                        continue;
                    }
                    break;
                }
                part.push(c);
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != '.') {
                chars.next();
                part.push(c.to_ascii_lowercase());
            }
        }
        parts.push(part);
        match chars.next() {
            Some('.') => continue,
            _ => return parts,
        }
    }
}

/// One entry of a bucket level, as [`browse`] lists it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct BrowseEntry {
    /// Full object key or common prefix (a folder's ends with `/`).
    pub key: String,
    /// Last path segment of `key` (a folder's with a trailing `/`).
    pub name: String,
    /// A common prefix (folder), not an object.
    pub folder: bool,
    /// Object size in bytes; `None` for a folder.
    pub size: Option<u64>,
    /// Object's last-modified time (UTC); `None` for a folder.
    pub modified: Option<DateTime<Utc>>,
}

/// One level of a bucket (folders and files under `prefix`), for picking extraction items.
/// Folders come first, then objects; objects whose key ends in `/` (folder markers) are left out.
///
/// # Errors
///
/// [`CoreError::Invalid`] for a zero-copy connection; [`CoreError::Pool`] when the connection or
/// its secret cannot be read; [`CoreError::Source`] when connecting or listing fails.
pub async fn browse(pool: &Pool, name: &str, prefix: &str) -> Result<Vec<BrowseEntry>, CoreError> {
    let conn = connection(pool, name).await?;
    let ConnectionConfig::S3Extraction(config) = &conn.config else {
        return Err(CoreError::Invalid(format!("connection '{name}' is a zero-copy connection; it has no bucket to browse")));
    };
    let source = S3Source::open(config, pool.connection_secret_opt(name)?.as_ref())?;
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
