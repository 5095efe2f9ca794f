//! Zero-copy connections: Iceberg tables that stay where they are (S3), made available through an
//! Iceberg REST catalog — AWS Glue's (`https://glue.<region>.amazonaws.com/iceberg`, SigV4 signing
//! name `glue`) or any other — and queried in place. Nothing is copied into the pool.
//!
//! * [`ZeroCopyConfig`]: what a saved zero-copy connection holds (no secrets).
//! * [`Credentials`]: static keys, or STS AssumeRole with an External ID, refreshed before expiry.
//! * [`RestCatalog`]: a small read-only, signed Iceberg REST client (iceberg-catalog-rest 0.10.1
//!   cannot sign requests per call, so this is the one place that does).
//! * [`ZeroCopyCatalog`]: a DataFusion catalog over the selected shares; tables load at query
//!   time, so a new snapshot in the source is seen by the next query.
//! * [`probe`]: Test Connection for this mode.
//! * [`ZeroCopyTable`]: a shared table's provider and scan: decimal filters pushed down, files
//!   planned vs pruned in `EXPLAIN ANALYZE`.
//! * [`PushdownGuard`] (from lakeport-pushdown): passes to the Iceberg scan only the filters that
//!   give the same rows with and without pushdown (the pool's own tables use it too, through
//!   [`PushdownGuardCatalog`]).
#![warn(missing_docs)]

mod catalog;
mod config;
mod credentials;
mod error;
pub mod probe;
mod rest;
mod scan;
mod storage;

pub use catalog::{snapshots, split_table_version, SnapshotInfo, ZeroCopyCatalog};
pub use config::{quote_ident, sql_name, SelectedShare, Share, ZeroCopyAuth, ZeroCopyConfig};
pub use lakeport_aws::CatalogSettings;
pub use credentials::{caller_identity, for_config as credentials_for_config, identity_from_env, trust_policy, Credentials};
pub use error::ZeroCopyError;
// The guard lives in lakeport-pushdown (the pool uses it too); re-exported for this crate's users.
pub use lakeport_pushdown::{is_pushable, PushdownGuard, PushdownGuardCatalog};
pub use rest::{LoadedTable, RestCatalog};
pub use scan::{filter_predicate, ZeroCopyScan, ZeroCopyTable};
pub use storage::file_io;
