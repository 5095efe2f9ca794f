//! Extraction jobs: source → format reader → Arrow batches → pool writer.
//!
//! [`extract`] runs one job over a saved S3 connection: it resolves the items (files and folders)
//! into tables, skips what a delta load already has (by key + ETag, from the table's ledger),
//! checks that a folder's files share one schema, streams the files concurrently into the table
//! writer and commits each table atomically. Every run lands in the pool's job history.

mod error;
mod plan;
mod progress;
mod run;
mod settings;

pub use error::ExtractError;
pub use plan::{Item, PlannedTable, SkipReason, SkippedObject};
pub use progress::{NoProgress, Progress};
pub use settings::TableSettings;
pub use run::{extract, extract_as, extract_from, inferred_columns, ChangedObject, InferredTable, DeletedObjects, ExtractReport, ExtractRequest, OnSchemaChange, RemovedObject, SchemaChange, SchemaChangeKind, TableReport};
