//! The data pool: named pools of Iceberg tables in a local warehouse with a SQLite catalog
//! (the embedded default; no server), their data connections (stored untyped: see
//! `connections.rs`), secrets, job history and read-only SQL over the pool's tables.
//!
//! Layout of a pool directory (default `./lakeport-data`):
//! ```text
//! catalog.db            SQLite: the Iceberg SQL catalog (iceberg_tables, …) + lakeport's own tables
//! warehouse/<pool>/<table>/{data,metadata}/   Iceberg tables (Parquet data files)
//! secrets/<pool>/<connection>.secret          mode 0600, directory 0700
//! secrets/<pool>/pseudonymisation.key         the pool's HMAC key (32 random bytes), mode 0600
//! ```
//! Each pool is an Iceberg namespace, so any Iceberg reader (pyiceberg's SqlCatalog on the same
//! `catalog.db`, Spark, DuckDB…) sees the tables as `<pool>.<table>`.
//!
//! A pool may instead keep its tables in an Iceberg REST catalog with an S3 warehouse
//! ([`PoolCatalog::Rest`], `rest.rs`): the same loads, ledger, queries and vacuum, committed
//! through the REST catalog's `updateTable`; its own state stays in this directory.

#![warn(missing_docs)]

mod column_names;
mod commit;
pub use commit::{SqliteCommitter, TableCommit, TableCommitter};
mod connections;
mod error;
mod extractions;
mod jobs;
mod decimal_literals;
mod encode;
mod json_rows;
mod ledger;
mod names;
mod pooldir;
mod process;
mod query;
mod rest;
mod secrets;
mod sql_policy;
mod tokens;
mod types;
mod vacuum;
mod writer;

pub use column_names::{is_reserved_column_name, ColumnRename, RENAMES_PROPERTY};
pub use connections::{StoredConnection, S3_EXTRACTION};
pub use error::PoolError;
pub use extractions::{SavedExtraction, PSEUDONYMISATION_KEY_BYTES};
pub use jobs::{Job, JobOrigin, JobStatus, Trigger};
pub use json_rows::rows_json;
pub use ledger::{LoadedObject, Ledger};
pub use names::{table_name_from, validate_identifier};
pub use pooldir::{CatalogKind, JobPage, Pool, PoolDir, PoolInfo, TableHold, TableInfo};
pub use process::{Liveness, ProcessId};
pub use query::QueryResult;
pub use rest::{PoolCatalog, RestPoolSettings};
pub use sql_policy::{format_bytes, parse_memory_size, query_read_only, read_only_sql_options, QueryLimits, DEFAULT_QUERY_MEMORY, DEFAULT_QUERY_TIMEOUT};
pub use tokens::{NewToken, TokenInfo, TokenScope};
pub use tokens::{same_token_hash, token_hash};
pub use types::{promotable, storable_type};
pub use vacuum::{DropReport, VacuumReport};
pub use writer::{CommitSummary, LedgerChange, LoadMode, TableWriter, COMMIT_RETRIES};

/// The Iceberg catalog name lakeport registers its tables under (pyiceberg: `SqlCatalog("lakeport", …)`).
pub const CATALOG_NAME: &str = "lakeport";
