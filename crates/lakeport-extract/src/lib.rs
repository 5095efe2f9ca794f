//! Extraction jobs: source → format reader → Arrow batches → pool writer.
//!
//! [`load`] runs one extraction over a saved S3 connection: it resolves the items (files and folders)
//! into tables, skips what a delta load already has (by key + ETag, from the table's ledger),
//! checks that a folder's files share one schema, streams the files concurrently into the table
//! writer and commits each table atomically. Several loads may write one table at once (the
//! pool's writer rebuilds a delta commit that meets another's and retries it), and `shard` splits
//! one extraction's objects across workers ([`Shard`]). The job history (start, finish, interrupted), the run lock and
//! cancelling are lakeport-core's (`lakeport_core::runs`), which calls [`load`].

#![warn(missing_docs)]

mod error;
mod plan;
mod progress;
mod run;
mod settings;
mod shard;

pub use error::ExtractError;
pub use plan::{Item, PlannedTable, SkipReason, SkippedObject};
pub use progress::{NoProgress, Progress, Relay, Steady};
pub use settings::TableSettings;
pub use shard::Shard;
pub use run::{check_connection, inferred_columns, load, load_from, LoadOutcome, TableOutcome, ChangedObject, InferredTable, DeletedObjects, ExtractReport, ExtractRequest, OnSchemaChange, RemovedObject, SchemaChange, SchemaChangeKind, TableReport};
