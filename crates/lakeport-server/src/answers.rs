//! The API's answers as types. Every route's success body is one of these or a core type, and the
//! OpenAPI document's schemas are derived from the very types that are serialized (schemars,
//! [`crate::openapi`]), so the document cannot drift from what the API sends.
//!
//! The types here are the API's own shapes: a core type with something added (`has_secret`,
//! `upcoming_runs`, a table's columns and files) or left out for a read-only token. Where a core
//! type is answered as it is, the handler returns it directly.

use chrono::{DateTime, Utc};
use lakeport_core::{CatalogKind, Connection, Extraction, PoolInfo, RunState, SelectedShare, ShareStatus, TableInfo, TestReport, TokenScope};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// `GET /api/health`.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

/// The calling token: its name and scope (`GET /api/whoami`).
#[derive(Serialize, JsonSchema)]
pub struct Whoami {
    /// The token's name (`--token` for the server's start-up token).
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
}

/// A rotated token (`POST /api/token/rotate`): shown in this answer only.
#[derive(Serialize, JsonSchema)]
pub struct RotatedToken {
    /// The token's name (unchanged).
    pub name: String,
    /// Its scope (unchanged).
    pub scope: TokenScope,
    /// The new token; the old one is refused from now on.
    pub token: String,
}

/// What the user's IAM role needs for zero-copy with an assumed role (`POST /api/trust-policy`).
#[derive(Serialize, JsonSchema)]
pub struct TrustPolicy {
    /// The IAM principal (ARN) lakeport runs as (STS GetCallerIdentity).
    pub principal: String,
    /// The External ID the role's trust policy requires.
    pub external_id: String,
    /// The trust policy document (IAM policy JSON).
    pub trust_policy: Value,
}

/// A data pool as the pool list shows it.
#[derive(Serialize, JsonSchema)]
pub struct PoolEntry {
    /// The pool's name.
    pub name: String,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// How many extracted tables it holds; `null` when its catalog could not be asked
    /// (`catalog_error` then says why).
    pub tables: Option<usize>,
    /// Why a REST-catalog pool's tables could not be counted (its catalog unreachable, refusing
    /// the pool's credentials, …); left out when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_error: Option<String>,
    /// How many connections it has; left out for a read-only token (connections are not its business).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// Where its tables live: `embedded` (SQLite catalog, local folder) or `rest` (an Iceberg REST catalog).
    pub kind: CatalogKind,
    /// A REST-catalog pool's catalog URL; left out for an embedded pool and for a read-only token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_url: Option<String>,
    /// Where a REST-catalog pool's files go (`s3://…`); left out as `catalog_url` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl PoolEntry {
    /// `info` as `scope` may see it.
    pub fn new(info: PoolInfo, scope: TokenScope) -> PoolEntry {
        let admin = scope == TokenScope::Admin;
        let connections = admin.then_some(info.connections);
        let (catalog_url, location) = if admin { (info.catalog_url, info.location) } else { (None, None) };
        // The catalog's own words may name its URL, which is an admin's business.
        let catalog_error = info.catalog_error.map(|e| if admin { e } else { "its catalog did not answer (an admin token sees why)".to_string() });
        PoolEntry { name: info.name, created_at: info.created_at, tables: info.tables, catalog_error, connections, kind: info.kind, catalog_url, location }
    }
}

/// A pool just created (`POST /api/pools`).
#[derive(Serialize, JsonSchema)]
pub struct PoolName {
    /// The pool's name.
    pub name: String,
}

/// A connection as the API shows it: its settings and whether a secret is stored — never the secret.
#[derive(Serialize, JsonSchema)]
pub struct ConnectionView {
    /// The saved connection.
    #[serde(flatten)]
    pub connection: Connection,
    /// A secret is stored for it.
    pub has_secret: bool,
}

/// What adding a connection did (`lakeport_core::AddOutcome`, the connection as [`ConnectionView`]).
#[derive(Serialize, JsonSchema)]
pub struct AddAnswer {
    /// The connection was saved (the test passed or was skipped).
    pub saved: bool,
    /// The Test Connection report; null when the test was skipped.
    pub test: Option<TestReport>,
    /// The saved connection; null when the test failed and nothing was saved.
    pub connection: Option<ConnectionView>,
}

/// What changing a connection did (`lakeport_core::UpdateOutcome`, the connection as [`ConnectionView`]).
#[derive(Serialize, JsonSchema)]
pub struct UpdateAnswer {
    /// The new settings were saved (only after Test Connection passed).
    pub saved: bool,
    /// The Test Connection report for the new settings.
    pub test: TestReport,
    /// The settings whose value changes (dotted paths), and `secret` when a new one was given.
    pub changed: Vec<String>,
    /// The connection as saved; null when the test failed (then nothing changed).
    pub connection: Option<ConnectionView>,
}

/// A connection's shares: checked against the source catalog, or as saved when the catalog cannot
/// be reached.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Shares {
    /// Each share with what the source catalog has now.
    Checked(Vec<ShareStatus>),
    /// The saved selection (the source catalog could not be reached).
    Saved(Vec<SelectedShare>),
}

/// A saved extraction with its next three run times (for people choosing a schedule).
#[derive(Serialize, JsonSchema)]
pub struct SavedExtraction {
    /// The saved extraction.
    #[serde(flatten)]
    pub extraction: Extraction,
    /// The next three run times (UTC); left out without a schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upcoming_runs: Option<Vec<DateTime<Utc>>>,
}

impl From<Extraction> for SavedExtraction {
    fn from(extraction: Extraction) -> SavedExtraction {
        let upcoming_runs = extraction.definition.schedule.as_ref().map(|s| s.upcoming(Utc::now(), 3).unwrap_or_default());
        SavedExtraction { extraction, upcoming_runs }
    }
}

/// The next run times of a schedule (`POST /api/schedule-preview`).
#[derive(Serialize, JsonSchema)]
pub struct UpcomingRuns {
    /// The next three run times (UTC).
    pub upcoming_runs: Vec<DateTime<Utc>>,
}

/// A page of the job history (`GET /api/pools/{pool}/jobs/page`).
#[derive(Serialize, JsonSchema)]
pub struct JobsPage {
    /// Jobs, newest first.
    pub jobs: Vec<RunState>,
    /// Older jobs exist.
    pub has_more: bool,
    /// The id to ask for the next page with (`before=`); null on the last page.
    pub next_before: Option<String>,
}

/// A column of a query result.
#[derive(Serialize, JsonSchema)]
pub struct ResultColumn {
    /// The column's name.
    pub name: String,
    /// Its type as Arrow names it (`Int64`, `Utf8`, `Decimal128(38, 2)`, …).
    #[serde(rename = "type")]
    pub data_type: String,
}

/// Rows of a query or preview, at most the server's row cap (`--max-rows`).
#[derive(Serialize, JsonSchema)]
pub struct QueryResult {
    /// The result's columns, in order.
    pub columns: Vec<ResultColumn>,
    /// One object per row, by column name; decimals as exact strings, nulls as null.
    pub rows: Vec<Map<String, Value>>,
    /// How many rows `rows` holds.
    pub row_count: usize,
    /// More rows were cut off at the row cap (the query was stopped there).
    pub truncated: bool,
    /// The row cap; null without one.
    pub max_rows: Option<usize>,
}

/// A column of an extracted table.
#[derive(Serialize, JsonSchema)]
pub struct TableColumn {
    /// The column's name.
    pub name: String,
    /// Its type as Arrow names it.
    #[serde(rename = "type")]
    pub data_type: String,
    /// It may hold nulls.
    pub nullable: bool,
}

/// A source object the table's current snapshot holds rows of.
#[derive(Serialize, JsonSchema)]
pub struct SourceFile {
    /// The S3 key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modified (UTC); null when the recorded time is out of range.
    pub modified: Option<DateTime<Utc>>,
    /// Rows loaded from it.
    pub rows: u64,
}

/// One extracted table for its console page (`GET /api/pools/{pool}/tables/{table}`).
#[derive(Serialize, JsonSchema)]
pub struct TableDetails {
    /// The table as the table list shows it.
    #[serde(flatten)]
    pub table: TableInfo,
    /// Its columns in table order.
    pub columns: Vec<TableColumn>,
    /// The source objects its current snapshot holds rows of; null when its history no longer says.
    pub files: Option<Vec<SourceFile>>,
    /// Why `files` is null.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_note: Option<String>,
}
