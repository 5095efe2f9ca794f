//! DataFusion's view of a zero-copy connection: catalog `<connection>`, one schema per shared
//! namespace, one table per shared table. A table is loaded from the REST catalog when a query
//! names it, so each query sees the source's current snapshot; `table@<snapshot-id>` or
//! `table@<timestamp>` (quoted: `"events@2024-01-01T00:00:00Z"`) reads an older one.

use lakeport_error::ErrorKind;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::DataFusionError;
use iceberg::spec::TableMetadata;
use iceberg::table::Table;

use crate::{file_io, quote_ident, sql_name, Credentials, RestCatalog, SelectedShare, Share, ZeroCopyError, ZeroCopyTable};

/// The catalog of one connection. `client` is an error when the connection could not be set up
/// (e.g. no identity to assume its role); queries that touch it then say why.
pub struct ZeroCopyCatalog {
    connection: String,
    client: Result<Arc<RestCatalog>, String>,
    schemas: BTreeMap<String, Arc<ZeroCopySchema>>,
}

impl std::fmt::Debug for ZeroCopyCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZeroCopyCatalog").field("schemas", &self.schemas.keys().collect::<Vec<_>>()).finish()
    }
}

impl ZeroCopyCatalog {
    /// `connection`: the SQL catalog name (as queries write it); `shares`: the selected shares.
    /// A namespace share stands for every table of the namespace *now*: a table created in the
    /// source after the share was selected is queryable on the next query.
    pub fn new(client: Result<Arc<RestCatalog>, String>, connection: &str, shares: &[SelectedShare]) -> ZeroCopyCatalog {
        let mut by_ns: BTreeMap<String, ZeroCopySchema> = BTreeMap::new();
        for s in shares {
            let schema = by_ns.entry(s.share.namespace.clone()).or_insert_with(|| ZeroCopySchema::new(client.clone(), connection, &s.share.namespace));
            schema.whole_namespace |= s.share.table.is_none();
            for t in &s.tables {
                if !schema.tables.contains(t) {
                    schema.tables.push(t.clone());
                }
            }
        }
        let schemas = by_ns.into_iter().map(|(ns, schema)| (ns, Arc::new(schema))).collect();
        ZeroCopyCatalog { connection: connection.to_string(), client, schemas }
    }
}

impl CatalogProvider for ZeroCopyCatalog {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema_names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    /// A shared namespace; any other name gets a schema with no shared tables, whose lookups
    /// tell "exists but is not shared" from "does not exist".
    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(match self.schemas.get(name) {
            Some(s) => s.clone() as Arc<dyn SchemaProvider>,
            None => Arc::new(ZeroCopySchema::new(self.client.clone(), &self.connection, name)),
        })
    }
}

pub struct ZeroCopySchema {
    client: Result<Arc<RestCatalog>, String>,
    connection: String,
    namespace: String,
    /// The tables as the shares listed them when selected (or last refreshed).
    tables: Vec<String>,
    /// The whole namespace is shared (not only the listed tables).
    whole_namespace: bool,
}

impl std::fmt::Debug for ZeroCopySchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZeroCopySchema({})", self.namespace)
    }
}

impl ZeroCopySchema {
    fn new(client: Result<Arc<RestCatalog>, String>, connection: &str, namespace: &str) -> ZeroCopySchema {
        ZeroCopySchema { client, connection: connection.to_string(), namespace: namespace.to_string(), tables: Vec::new(), whole_namespace: false }
    }

    fn shared(&self, table: &str) -> bool {
        self.whole_namespace || self.tables.iter().any(|t| t == table)
    }

    fn sql(&self, table: &str) -> String {
        sql_name(&[&self.connection, &self.namespace, table])
    }

    /// Why `table` cannot be read: gone from the source, not shared, or never there.
    async fn missing(&self, client: &RestCatalog, table: &str, load: ZeroCopyError) -> DataFusionError {
        let name = self.sql(table);
        let connection = &self.connection;
        let message = match load {
            ZeroCopyError::NoSuchTable(_) if self.tables.iter().any(|t| t == table) => format!(
                "table {name} was removed from the source catalog; `lakeport connection shares {connection}` shows what is gone, `--remove {}` deselects it",
                Share { namespace: self.namespace.clone(), table: (!self.whole_namespace).then(|| table.to_string()) }
            ),
            ZeroCopyError::NoSuchTable(_) => match client.tables(&self.namespace).await {
                Err(ZeroCopyError::NoSuchNamespace(_)) if self.whole_namespace => {
                    format!("namespace {} was removed from the source catalog; `lakeport connection shares {connection} --remove {}` deselects it", sql_name(&[connection, &self.namespace]), self.namespace)
                }
                Err(ZeroCopyError::NoSuchNamespace(_)) => format!("table {name} does not exist: the source catalog has no namespace {}", quote_ident(&self.namespace)),
                Ok(tables) if tables.is_empty() => format!("table {name} does not exist: namespace {} of the source catalog has no tables", quote_ident(&self.namespace)),
                Ok(tables) => format!("table {name} does not exist in the source catalog (namespace {} has: {})", quote_ident(&self.namespace), tables.join(", ")),
                Err(e) => format!("table {name} does not exist in the source catalog ({e})"),
            },
            other => return to_df(other),
        };
        DataFusionError::Plan(message)
    }
}

/// `events@123` → (`events`, Some(`123`)).
pub fn split_table_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((t, v)) => (t, Some(v)),
        None => (name, None),
    }
}

fn to_df(e: ZeroCopyError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// One snapshot of a table, for `lakeport snapshots` and the API.
#[derive(Clone, Debug, serde::Serialize, schemars::JsonSchema)]
pub struct SnapshotInfo {
    /// The snapshot's id (Iceberg table spec, "Snapshots": `snapshot-id`).
    pub snapshot_id: i64,
    /// The snapshot it was made from (`parent-snapshot-id`); `None` for the first.
    pub parent_id: Option<i64>,
    /// When the snapshot was committed (UTC).
    pub committed_at: DateTime<Utc>,
    /// `append`, `overwrite`, `delete` or `replace`.
    pub operation: String,
    /// Rows the snapshot added and deleted, and the table's rows in it (from its summary; absent
    /// when the writer did not record them).
    pub added_rows: Option<u64>,
    /// Rows the snapshot deleted (summary `deleted-records`).
    pub deleted_rows: Option<u64>,
    /// The table's rows in the snapshot (summary `total-records`).
    pub total_rows: Option<u64>,
    /// The table's current snapshot (what a query without `@…` reads).
    pub current: bool,
}

/// The snapshots of a table, oldest first.
pub fn snapshots(metadata: &TableMetadata) -> Vec<SnapshotInfo> {
    let current = metadata.current_snapshot_id();
    let mut out: Vec<SnapshotInfo> = metadata
        .snapshots()
        .map(|s| {
            let n = |k: &str| s.summary().additional_properties.get(k).and_then(|v| v.parse().ok());
            SnapshotInfo {
                snapshot_id: s.snapshot_id(),
                parent_id: s.parent_snapshot_id(),
                committed_at: DateTime::from_timestamp_millis(s.timestamp_ms()).unwrap_or_default(),
                operation: s.summary().operation.as_str().to_string(),
                added_rows: n("added-records"),
                deleted_rows: n("deleted-records"),
                total_rows: n("total-records"),
                current: Some(s.snapshot_id()) == current,
            }
        })
        .collect();
    out.sort_by_key(|s| (s.committed_at, s.snapshot_id));
    out
}

/// A point in time for time travel: RFC 3339 with a zone (`2024-01-31T12:00:00Z`,
/// `…+02:00`); without a zone (`2024-01-31 12:00:00`, `2024-01-31T12:00:00`) it is UTC; a date
/// alone (`2024-01-31`) is its start, 00:00:00 UTC (as Spark's `TIMESTAMP AS OF DATE`).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
}

/// A snapshot id, or the snapshot current at a timestamp.
fn resolve_version(table: &Table, version: &str) -> Result<i64, ZeroCopyError> {
    let meta = table.metadata();
    let name = table.identifier().to_string();
    if let Ok(id) = version.parse::<i64>() {
        return meta.snapshot_by_id(id).map(|s| s.snapshot_id()).ok_or_else(|| ZeroCopyError::Request {
            operation: format!("time travel on {name}"),
            message: format!("snapshot {id} does not exist (snapshots: {})", meta.snapshots().map(|s| s.snapshot_id().to_string()).collect::<Vec<_>>().join(", ")),
            kind: ErrorKind::NotFound,
        });
    }
    let at: DateTime<Utc> = parse_time(version).ok_or_else(|| ZeroCopyError::Request {
        operation: format!("time travel on {name}"),
        message: format!("'{version}' is neither a snapshot id nor a time (2024-01-31T12:00:00Z; without a zone UTC; a date alone is 00:00 UTC)"),
        kind: ErrorKind::Invalid,
    })?;
    meta.snapshots()
        .filter(|s| s.timestamp_ms() <= at.timestamp_millis())
        .max_by_key(|s| (s.timestamp_ms(), s.sequence_number()))
        .map(|s| s.snapshot_id())
        .ok_or_else(|| ZeroCopyError::Request { operation: format!("time travel on {name}"), message: format!("the table has no snapshot as old as {at}"), kind: ErrorKind::NotFound })
}

/// The table's metadata with its current snapshot read in the table's *current* schema.
///
/// A schema change (add, rename, widen, drop, reorder a column) writes no snapshot, so the current
/// snapshot still names the schema it was written with. iceberg-datafusion 0.10.1 plans with the
/// current schema but scans with the snapshot's, and the two disagree (a panic on a widened column,
/// "column not found" on an added one). Reading the current snapshot in the current schema is what
/// pyiceberg and Spark do: the reader maps data files to it by field id, so new columns read as
/// null and widened ones are cast. iceberg 0.10.1 has no setter for a snapshot's schema id, hence
/// the round trip through the metadata's JSON form (in this one place). Time travel to a snapshot
/// keeps that snapshot's schema.
pub(crate) fn read_with_current_schema(metadata: TableMetadata) -> Result<TableMetadata, ZeroCopyError> {
    let (Some(current), schema_id) = (metadata.current_snapshot(), metadata.current_schema_id()) else {
        return Ok(metadata);
    };
    if current.schema_id() == Some(schema_id) {
        return Ok(metadata);
    }
    let snapshot_id = current.snapshot_id();
    let invalid = |e: serde_json::Error| ZeroCopyError::Request { operation: "read the table metadata".into(), message: e.to_string(), kind: ErrorKind::Invalid };
    let mut json = serde_json::to_value(&metadata).map_err(invalid)?;
    for snapshot in json["snapshots"].as_array_mut().into_iter().flatten() {
        if snapshot["snapshot-id"].as_i64() == Some(snapshot_id) {
            snapshot["schema-id"] = serde_json::json!(schema_id);
        }
    }
    serde_json::from_value(json).map_err(invalid)
}

#[async_trait::async_trait]
impl SchemaProvider for ZeroCopySchema {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        self.tables.clone()
    }

    async fn table(&self, name: &str) -> datafusion::error::Result<Option<Arc<dyn TableProvider>>> {
        let (base, version) = split_table_version(name);
        let client = self.client.as_ref().map_err(|e| DataFusionError::Plan(e.clone()))?;
        if !self.shared(base) {
            // Not shared: say whether it exists at all, so the user knows what to do.
            return Err(match client.load_table(&self.namespace, base).await {
                Ok(_) => DataFusionError::Plan(format!(
                    "table {} exists in the source catalog but is not shared; share it with `lakeport connection shares {} --add {}`",
                    self.sql(base),
                    self.connection,
                    Share { namespace: self.namespace.clone(), table: Some(base.to_string()) }
                )),
                Err(e) => self.missing(client, base, e).await,
            });
        }
        let loaded = match client.load_table(&self.namespace, base).await {
            Ok(loaded) => loaded,
            Err(e) => return Err(self.missing(client, base, e).await),
        };
        let credentials = match loaded.vended_credentials() {
            Some(vended) if client.config().vended_credentials => Credentials::Static(Arc::new(vended)),
            _ => client.credentials().clone(),
        };
        let mut loaded = loaded;
        if version.is_none() {
            loaded.metadata = read_with_current_schema(loaded.metadata).map_err(to_df)?;
        }
        // The connection's S3 endpoint, or the one the catalog announces (RestCatalog::data_config).
        let (data_config, _) = client.data_config().await.map_err(to_df)?;
        let table = loaded.into_table(file_io(&data_config, credentials.provider())).map_err(to_df)?;
        let snapshot_id = match version {
            None => None,
            Some(v) => Some(resolve_version(&table, v).map_err(to_df)?),
        };
        Ok(Some(Arc::new(ZeroCopyTable::try_new(table, snapshot_id)?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.shared(split_table_version(name).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_for_time_travel() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(parse_time("2024-01-31T12:00:00+02:00"), Some(utc("2024-01-31T10:00:00Z")));
        assert_eq!(parse_time("2024-01-31 12:00:00"), Some(utc("2024-01-31T12:00:00Z")));
        assert_eq!(parse_time("2024-01-31T12:00"), Some(utc("2024-01-31T12:00:00Z")));
        assert_eq!(parse_time("2024-01-31"), Some(utc("2024-01-31T00:00:00Z")));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-02-30"), None);
    }
}
