//! The one place where lakeport commits to an Iceberg table, in two halves with a seam between:
//!
//! 1. [`prepare`] builds the new snapshot from public iceberg pieces — manifest
//!    (`ManifestWriterBuilder`) → manifest list (`ManifestListWriter`) → snapshot with its summary
//!    — and states the commit the way the Iceberg REST spec's `CommitTableRequest` does, as a
//!    [`TableCommit`]: *requirements* on the table as the catalog holds it (`assert-create`, or
//!    `assert-table-uuid` + `assert-ref-snapshot-id` on `main`, plus the schema assertions when the
//!    schema changes) and *updates* (schema changes, `add-snapshot`, `set-snapshot-ref main`).
//!    This half knows no catalog. (iceberg-rust 0.10.1 can only fast-append through its public
//!    API — `TableCommit` cannot be built outside the crate and there is no overwrite action — so a
//!    full-load *replace* and a delta that drops files need this half of our own.)
//! 2. A [`TableCommitter`] publishes a `TableCommit` atomically. [`SqliteCommitter`] is the
//!    embedded catalog's: it applies the updates to the metadata the commit was built on, writes
//!    the new metadata file, and swaps the catalog row with one compare-and-swap
//!    (`UPDATE … WHERE metadata_location = <old>`, or one `INSERT` for a table this commit creates).
//!    An Iceberg REST catalog implementation sends the same requirements and updates to
//!    `updateTable`.
//!
//! Readers therefore see the old table or the new one, never a mix, and a crash at any point
//! before the swap leaves the table as it was (the files written so far are orphans, removed by
//! `vacuum`).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use iceberg::io::FileIO;
use iceberg::spec::{
    DataFile, ManifestFile, ManifestList, ManifestListWriter, ManifestWriterBuilder, Operation, Snapshot, SnapshotReference, SnapshotRetention,
    SnapshotSummaryCollector, Summary, TableMetadata, MAIN_BRANCH,
};
use iceberg::{MetadataLocation, TableIdent, TableRequirement, TableUpdate};
use sqlx::SqlitePool;

use crate::{PoolError, CATALOG_NAME};

/// One commit as the catalog receives it (Iceberg REST spec, `CommitTableRequest`).
#[derive(Clone, Debug)]
pub struct TableCommit {
    /// The table (`<pool>.<table>`).
    pub ident: TableIdent,
    /// The metadata the updates apply to: the table's metadata as this load read it, or, for a
    /// table this commit creates, its new metadata (schema, location, properties; no snapshot).
    pub base: TableMetadata,
    /// Where `base` is stored; `None` when this commit creates the table.
    pub base_location: Option<String>,
    /// What must hold of the table as the catalog holds it at the moment of the swap.
    pub requirements: Vec<TableRequirement>,
    /// What the commit changes, in order.
    pub updates: Vec<TableUpdate>,
}

/// Publishes [`TableCommit`]s to a catalog. The contract every implementation keeps:
///
/// - **Atomic.** After `commit` returns `Ok`, every reader of the catalog sees the new metadata;
///   before, and after any `Err`, it sees the old one. Never a mix, never a half-written table.
/// - **Requirements or nothing.** The requirements are checked against the table as the catalog
///   holds it *at the swap*. If one fails — another writer committed since `base` was read, or
///   created the table this commit creates — nothing is published and the answer is
///   [`PoolError::CommitConflict`] (kind `Conflict`, retryable).
/// - **No retries inside.** The updates were built on `base`; only the caller can rebuild them on
///   the table's new state (a delta load must re-check its objects against the new ledger first).
///   The one caller, [`crate::TableWriter::commit`], does that for delta loads and retries with
///   backoff; a full load fails on a conflict with the table unchanged (the rules are there).
///   So `CommitConflict` must mean exactly "not published, another writer got there first": an
///   answer whose outcome is unknown (a timeout after the request was sent) must be another
///   error, or a retry could publish the load twice.
/// - **Files.** Data files, manifests and the manifest list are written before `commit` is
///   called; the implementation writes the metadata file (or the catalog does). Anything written
///   for a commit that fails stays behind as an orphan for `vacuum`, except what a conflict
///   leaves: then nothing was published, and the implementation deletes its metadata file (the
///   writer deletes the manifests and the ledger file it wrote for the attempt).
/// - **Other errors** (the catalog unreachable, corrupt state) leave the table as it was, too;
///   their kind says whether a retry may help.
/// - **Unknown outcome.** When the commit was sent and no answer says whether it was applied
///   (the connection broke after the request went out, an HTTP 5xx), the answer is
///   [`PoolError::CommitStateUnknown`], never `CommitConflict` or another error: the caller must
///   not delete anything the commit refers to (the Iceberg REST spec's
///   `CommitStateUnknownException`).
#[async_trait::async_trait]
pub trait TableCommitter: Send + Sync {
    /// Publishes `commit`; returns the location of the table's new metadata file.
    async fn commit(&self, file_io: &FileIO, commit: TableCommit) -> Result<String, PoolError>;
}

/// The embedded catalog's committer: iceberg's SQL catalog tables in the pool's SQLite file,
/// written by hand (iceberg-catalog-sql 0.10.1 has no commit of its own), with a
/// compare-and-swap on the catalog row.
pub struct SqliteCommitter {
    db: SqlitePool,
}

impl SqliteCommitter {
    /// The committer of the catalog in `db` (a pool directory's `catalog.db`, with iceberg's
    /// SQL catalog tables).
    pub fn new(db: SqlitePool) -> SqliteCommitter {
        SqliteCommitter { db }
    }
}

#[async_trait::async_trait]
impl TableCommitter for SqliteCommitter {
    async fn commit(&self, file_io: &FileIO, c: TableCommit) -> Result<String, PoolError> {
        let name = c.ident.name().to_string();
        // The compare-and-swap below makes the catalog's table exactly `base` at the swap, so the
        // requirements are checked against `base` (none for a table this commit creates).
        let current = c.base_location.as_ref().map(|_| &c.base);
        for r in &c.requirements {
            r.check(current).map_err(|_| PoolError::CommitConflict(name.clone()))?;
        }
        let location = c.base.location().trim_end_matches('/').to_string();
        let mut builder = c.base.into_builder(c.base_location.clone());
        for u in c.updates {
            builder = u.apply(builder)?;
        }
        let new_meta = builder.build()?.metadata;
        let new_location = match &c.base_location {
            Some(prev) => MetadataLocation::from_str(prev)?.with_next_version().with_new_metadata(&new_meta),
            None => MetadataLocation::new_with_metadata(&location, &new_meta),
        };
        new_meta.write_to(file_io, &new_location).await?;
        let new_location = new_location.to_string();
        let namespace = c.ident.namespace().join(".");
        match &c.base_location {
            Some(prev) => {
                let done = sqlx::query(
                    "UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ?
                     WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?",
                )
                .bind(&new_location)
                .bind(prev)
                .bind(CATALOG_NAME)
                .bind(&namespace)
                .bind(&name)
                .bind(prev)
                .execute(&self.db)
                .await?;
                if done.rows_affected() != 1 {
                    // Not published (the swap found another metadata file): the metadata file
                    // written for it would otherwise stay behind naming manifests the writer
                    // deletes before it retries.
                    let _ = file_io.delete(&new_location).await;
                    return Err(PoolError::CommitConflict(name));
                }
            }
            None => {
                let inserted = sqlx::query(
                    "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, iceberg_type)
                     VALUES (?, ?, ?, ?, 'TABLE')",
                )
                .bind(CATALOG_NAME)
                .bind(&namespace)
                .bind(&name)
                .bind(&new_location)
                .execute(&self.db)
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        // Another writer created the table first: ours was never published.
                        let _ = file_io.delete(&new_location).await;
                        return Err(PoolError::CommitConflict(name));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(new_location)
    }
}

/// What a load hands to [`prepare`].
pub(crate) struct CommitRequest {
    pub ident: TableIdent,
    /// The table's metadata as the load read it, or the new table's metadata (see [`TableCommit::base`]).
    pub base: TableMetadata,
    /// Where `base` is stored; `None` when this commit creates the table.
    pub base_location: Option<String>,
    /// Schema changes of this load (`add-schema` + `set-current-schema`, `set-properties` for
    /// stored column names), already applied in `staged`.
    pub schema_updates: Vec<TableUpdate>,
    /// `base` with `schema_updates` applied: the schema and ids the data files were written with.
    pub staged: TableMetadata,
    pub files: Vec<DataFile>,
    /// Full load: the new snapshot holds only `files`. Delta: it keeps the current files too.
    pub replace: bool,
    /// Delta: current data files the new snapshot drops (the rows of changed or removed
    /// objects). Each must be in the current snapshot, or the commit fails with `LedgerStale`.
    pub drop_files: HashSet<String>,
    pub properties: HashMap<String, String>,
}

/// What [`prepare`] built, besides the commit itself.
pub(crate) struct Prepared {
    pub commit: TableCommit,
    pub snapshot_id: i64,
    pub total_records: u64,
    pub removed_records: u64,
    /// The manifests and the manifest list written for this commit: never referenced by the
    /// table if the commit meets a conflict, so the writer deletes them before it retries.
    pub written: Vec<String>,
}

/// Writes the new snapshot's manifests and manifest list and states the commit (see the module
/// doc). Nothing is visible to readers until a [`TableCommitter`] publishes the result.
///
/// Errors: [`PoolError::LedgerStale`] when a file to drop is no longer in the current snapshot;
/// I/O and iceberg errors writing the manifests.
pub(crate) async fn prepare(file_io: &FileIO, req: CommitRequest) -> Result<Prepared, PoolError> {
    let meta = &req.staged;
    let location = meta.location().trim_end_matches('/').to_string();
    let schema = meta.current_schema().clone();
    let spec = meta.default_partition_spec().as_ref().clone();
    let snapshot_id = unique_snapshot_id(meta);
    let sequence_number = meta.next_sequence_number();
    let parent = meta.current_snapshot_id();
    let commit_id = uuid::Uuid::new_v4();

    // Manifests: the current ones too when appending; only the new one when replacing.
    let mut manifests: Vec<ManifestFile> = Vec::new();
    // Running totals carried from the parent snapshot (only when appending to it).
    let mut previous = HashMap::<&str, u64>::new();
    let mut collector = SnapshotSummaryCollector::default();
    let mut dropped = 0usize;
    let mut removed_records = 0u64;
    let mut written: Vec<String> = Vec::new();
    if let Some(current) = meta.current_snapshot() {
        if !req.replace {
            let bytes = file_io.new_input(current.manifest_list())?.read().await?;
            let current_manifests: Vec<ManifestFile> = ManifestList::parse_with_version(&bytes, meta.format_version())?.consume_entries().into_iter().collect();
            for manifest in current_manifests {
                if req.drop_files.is_empty() {
                    manifests.push(manifest);
                    continue;
                }
                // A manifest holding a file to drop is rewritten: its other live files as
                // existing entries, the dropped ones as deleted entries (Iceberg spec, manifests).
                let loaded = manifest.load_manifest(file_io).await?;
                let hit = loaded.entries().iter().any(|e| e.is_alive() && req.drop_files.contains(e.file_path()));
                if !hit {
                    manifests.push(manifest);
                    continue;
                }
                let path = format!("{location}/metadata/{commit_id}-m{}.avro", manifests.len() + 1);
                written.push(path.clone());
                let mut writer = ManifestWriterBuilder::new(file_io.new_output(&path)?, Some(snapshot_id), schema.clone(), spec.clone()).build_v2_data();
                for e in loaded.entries().iter().filter(|e| e.is_alive()) {
                    let seq = e.sequence_number().unwrap_or(0);
                    if req.drop_files.contains(e.file_path()) {
                        dropped += 1;
                        removed_records += e.record_count();
                        collector.remove_file(e.data_file(), schema.clone(), meta.default_partition_spec().clone());
                        writer.add_delete_file(e.data_file().clone(), seq, e.file_sequence_number)?;
                    } else {
                        writer.add_existing_file(e.data_file().clone(), e.snapshot_id().unwrap_or(snapshot_id), seq, e.file_sequence_number)?;
                    }
                }
                manifests.push(writer.write_manifest_file().await?);
            }
            if dropped != req.drop_files.len() {
                return Err(PoolError::LedgerStale {
                    table: req.ident.name().to_string(),
                    detail: format!(
                        "{} of the data files holding rows of changed or removed objects are no longer in it (another engine rewrote them, e.g. by compaction)",
                        req.drop_files.len() - dropped
                    ),
                });
            }
            for key in TOTALS.iter().map(|(total, _, _)| *total) {
                let v = current.summary().additional_properties.get(key).and_then(|v| v.parse().ok()).unwrap_or(0);
                previous.insert(key, v);
            }
        }
    }
    let mut added_records = 0u64;
    for f in &req.files {
        collector.add_file(f, schema.clone(), meta.default_partition_spec().clone());
        added_records += f.record_count();
    }
    if !req.files.is_empty() {
        let path = format!("{location}/metadata/{commit_id}-m0.avro");
        written.push(path.clone());
        let mut writer = ManifestWriterBuilder::new(file_io.new_output(&path)?, Some(snapshot_id), schema.clone(), spec).build_v2_data();
        for f in req.files {
            writer.add_file(f, sequence_number)?;
        }
        manifests.push(writer.write_manifest_file().await?);
    }
    let list_path = format!("{location}/metadata/snap-{snapshot_id}-0-{commit_id}.avro");
    written.push(list_path.clone());
    let mut list = ManifestListWriter::v2(file_io.new_output(&list_path)?.writer().await?, snapshot_id, parent, sequence_number);
    list.add_manifests(manifests.into_iter())?;
    list.close().await?;

    let mut properties = req.properties;
    properties.extend(collector.build());
    for (total, added, removed) in TOTALS {
        let figure = |k: &str| -> u64 { properties.get(k).and_then(|v| v.parse().ok()).unwrap_or(0) };
        let value = (previous.get(total).copied().unwrap_or(0) + figure(added)).saturating_sub(figure(removed));
        properties.insert(total.to_string(), value.to_string());
    }
    let total_records = (previous.get("total-records").copied().unwrap_or(0) + added_records).saturating_sub(removed_records);
    let operation = if (req.replace && parent.is_some()) || dropped > 0 { Operation::Overwrite } else { Operation::Append };
    let snapshot = Snapshot::builder()
        .with_snapshot_id(snapshot_id)
        .with_parent_snapshot_id(parent)
        .with_sequence_number(sequence_number)
        .with_timestamp_ms(chrono::Utc::now().timestamp_millis())
        .with_manifest_list(list_path)
        .with_summary(Summary { operation, additional_properties: properties })
        .with_schema_id(meta.current_schema_id())
        .build();

    let base = &req.base;
    let requirements = match &req.base_location {
        None => vec![TableRequirement::NotExist],
        Some(_) => {
            let mut r = vec![
                TableRequirement::UuidMatch { uuid: base.uuid() },
                TableRequirement::RefSnapshotIdMatch { r#ref: MAIN_BRANCH.to_string(), snapshot_id: base.current_snapshot_id() },
            ];
            if !req.schema_updates.is_empty() {
                // Schema changes were computed from this schema and these field ids.
                r.push(TableRequirement::CurrentSchemaIdMatch { current_schema_id: base.current_schema_id() });
                r.push(TableRequirement::LastAssignedFieldIdMatch { last_assigned_field_id: base.last_column_id() });
            }
            r
        }
    };
    let mut updates = req.schema_updates;
    updates.push(TableUpdate::AddSnapshot { snapshot });
    updates.push(TableUpdate::SetSnapshotRef {
        ref_name: MAIN_BRANCH.to_string(),
        reference: SnapshotReference::new(snapshot_id, SnapshotRetention::branch(None, None, None)),
    });
    let commit = TableCommit { ident: req.ident, base: req.base, base_location: req.base_location, requirements, updates };
    Ok(Prepared { commit, snapshot_id, total_records, removed_records, written })
}

/// Snapshot-summary totals, the "added" figure each one grows by and the "deleted" one it shrinks by.
const TOTALS: [(&str, &str, &str); 3] = [
    ("total-records", "added-records", "deleted-records"),
    ("total-data-files", "added-data-files", "deleted-data-files"),
    ("total-files-size", "added-files-size", "removed-files-size"),
];

fn unique_snapshot_id(meta: &TableMetadata) -> i64 {
    loop {
        let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
        let id = ((a ^ b) & (i64::MAX as u64)) as i64;
        if id != 0 && meta.snapshot_by_id(id).is_none() {
            return id;
        }
    }
}
