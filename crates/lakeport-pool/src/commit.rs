//! The one place where lakeport commits to an Iceberg table.
//!
//! iceberg-rust 0.10.1 can only fast-append through its public API (`TableCommit` cannot be built
//! outside the crate, and there is no overwrite action), so a full-load *replace* needs its own
//! commit. We use one commit path for both load modes, built from public pieces:
//! manifest (`ManifestWriterBuilder`) → manifest list (`ManifestListWriter`) → snapshot →
//! `TableMetadata::into_builder().add_snapshot().set_ref(main)` → new metadata file → a single
//! compare-and-swap on the catalog row (`UPDATE … WHERE metadata_location = <old>`), or a single
//! `INSERT` for a table created by this load. Readers therefore see the old table or the new one,
//! never a mix, and a crash at any point before the swap leaves the table as it was (the files
//! written so far are orphans, removed by `vacuum`).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use iceberg::spec::{
    DataFile, ManifestFile, ManifestList, ManifestListWriter, ManifestWriterBuilder, Operation, Snapshot,
    SnapshotReference, SnapshotRetention, SnapshotSummaryCollector, Summary, TableMetadata, MAIN_BRANCH,
};
use iceberg::io::FileIO;
use iceberg::{MetadataLocation, TableIdent};
use sqlx::SqlitePool;

use crate::{PoolError, CATALOG_NAME};

pub(crate) struct CommitRequest {
    pub ident: TableIdent,
    /// Metadata the new snapshot builds on: the table's current metadata, possibly with a new
    /// current schema (full load), or the metadata of a table this load creates.
    pub staged: TableMetadata,
    /// The catalog's current metadata location; `None` when this commit creates the table.
    pub previous_location: Option<String>,
    pub files: Vec<DataFile>,
    /// Full load: the new snapshot holds only `files`. Delta: it keeps the current files too.
    pub replace: bool,
    /// Delta: current data files the new snapshot drops (the rows of changed or removed
    /// objects). Each must be in the current snapshot, or the commit fails with `LedgerStale`.
    pub drop_files: HashSet<String>,
    pub properties: HashMap<String, String>,
}

pub(crate) struct Committed {
    pub snapshot_id: i64,
    pub total_records: u64,
    pub removed_records: u64,
    pub metadata_location: String,
}

pub(crate) async fn commit(db: &SqlitePool, file_io: &FileIO, req: CommitRequest) -> Result<Committed, PoolError> {
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
        let mut writer = ManifestWriterBuilder::new(file_io.new_output(&path)?, Some(snapshot_id), schema.clone(), spec).build_v2_data();
        for f in req.files {
            writer.add_file(f, sequence_number)?;
        }
        manifests.push(writer.write_manifest_file().await?);
    }
    let list_path = format!("{location}/metadata/snap-{snapshot_id}-0-{commit_id}.avro");
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

    let new_meta = req
        .staged
        .into_builder(req.previous_location.clone())
        .add_snapshot(snapshot)?
        .set_ref(MAIN_BRANCH, SnapshotReference::new(snapshot_id, SnapshotRetention::branch(None, None, None)))?
        .build()?
        .metadata;
    let new_location = match &req.previous_location {
        Some(prev) => MetadataLocation::from_str(prev)?.with_next_version().with_new_metadata(&new_meta),
        None => MetadataLocation::new_with_metadata(&location, &new_meta),
    };
    new_meta.write_to(file_io, &new_location).await?;
    let new_location = new_location.to_string();

    let namespace = req.ident.namespace().join(".");
    let name = req.ident.name();
    match &req.previous_location {
        Some(prev) => {
            let done = sqlx::query(
                "UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ?
                 WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? AND metadata_location = ?",
            )
            .bind(&new_location)
            .bind(prev)
            .bind(CATALOG_NAME)
            .bind(&namespace)
            .bind(name)
            .bind(prev)
            .execute(db)
            .await?;
            if done.rows_affected() != 1 {
                return Err(PoolError::CommitConflict(name.to_string()));
            }
        }
        None => {
            let inserted = sqlx::query(
                "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, iceberg_type)
                 VALUES (?, ?, ?, ?, 'TABLE')",
            )
            .bind(CATALOG_NAME)
            .bind(&namespace)
            .bind(name)
            .bind(&new_location)
            .execute(db)
            .await;
            match inserted {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(PoolError::CommitConflict(name.to_string())),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Committed { snapshot_id, total_records, removed_records, metadata_location: new_location })
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
