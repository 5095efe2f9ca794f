//! Removing orphan files: data, manifest and metadata files that no snapshot or metadata-log
//! entry of a table references (left by a load that failed or was killed before its commit), and
//! directories of tables whose first load never committed. Only files older than a grace period
//! are touched, so a load in progress is never cut short.
//!
//! Dropping a table uses the same bookkeeping: it deletes exactly the files the table's metadata
//! references, and leaves anything else to vacuum's grace period.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use iceberg::spec::{ManifestList, TableMetadata};
use iceberg::io::FileIO;
use serde::{Deserialize, Serialize};

use crate::writer::local_path;
use crate::{validate_identifier, JobStatus, Pool, PoolError};

/// What [`Pool::drop_table`] did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DropReport {
    /// The dropped table's name.
    pub table: String,
    /// Rows the table held in its current snapshot.
    pub rows: u64,
    /// Files of the table (data, manifests, manifest lists, metadata) deleted.
    pub files_removed: u64,
    /// Their size in bytes.
    pub bytes_removed: u64,
    /// Files left in the table's directory because its metadata does not reference them (a load
    /// writing at the same moment); `lakeport pool vacuum` removes them after its grace period.
    pub files_left: u64,
    /// The job-history entry of the drop.
    pub job_id: String,
}

/// What [`Pool::vacuum`] did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VacuumReport {
    /// Orphan files deleted.
    pub files_removed: u64,
    /// Their size in bytes.
    pub bytes_removed: u64,
    /// Files kept because something references them.
    pub files_kept: u64,
    /// The deleted files' paths (local file system, absolute; `s3://…` for a REST-catalog pool).
    pub removed: Vec<String>,
}

/// Every file the table's metadata references: metadata files (current and logged), manifest
/// lists, manifests, data files and ledger files of every snapshot.
async fn referenced(table: &str, file_io: &FileIO, metadata: &TableMetadata, current_location: &str) -> Result<HashSet<PathBuf>, PoolError> {
    let mut out = HashSet::new();
    out.insert(local_path(current_location));
    for log in metadata.metadata_log() {
        out.insert(local_path(&log.metadata_file));
    }
    out.extend(crate::ledger::Ledger::files_of(metadata, table)?.iter().map(|p| local_path(p)));
    for snapshot in metadata.snapshots() {
        out.insert(local_path(snapshot.manifest_list()));
        let bytes = file_io.new_input(snapshot.manifest_list())?.read().await?;
        for manifest in ManifestList::parse_with_version(&bytes, metadata.format_version())?.entries() {
            out.insert(local_path(&manifest.manifest_path));
            for entry in manifest.load_manifest(file_io).await?.entries() {
                out.insert(local_path(entry.data_file().file_path()));
            }
        }
    }
    Ok(out)
}

fn old_enough(path: &Path, cutoff: SystemTime) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).map(|t| t <= cutoff).unwrap_or(false)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

impl VacuumReport {
    fn remove(&mut self, path: &Path) -> Result<(), PoolError> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        std::fs::remove_file(path).map_err(|e| PoolError::io(format!("remove {}", path.display()), e))?;
        self.files_removed += 1;
        self.bytes_removed += size;
        self.removed.push(path.display().to_string());
        Ok(())
    }
}

/// `path` lies inside `dir` without any `..` on the way.
fn inside(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir) && !path.components().any(|c| matches!(c, Component::ParentDir))
}

impl Pool {
    /// Drops a table: takes it out of the catalog in one step (queries no longer see it), then
    /// deletes the files its metadata references — every snapshot's data files, manifests and
    /// manifest lists, and its metadata files — and nothing else, and only inside the pool
    /// directory's warehouse. Recorded in the job history (mode `drop`, connection empty). A
    /// REST-catalog pool's table is dropped with the catalog's DropTable; its files stay in the
    /// S3 warehouse (counted in `files_left`) for `lakeport pool vacuum`.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`] for a name that is not an identifier; [`PoolError::NoSuchTable`];
    /// [`PoolError::RemoteCatalog`] when the REST catalog does not drop it (the job ends failed
    /// with the catalog's answer; nothing changes);
    /// [`PoolError::Iceberg`] when the table's metadata, manifest lists or manifests cannot be
    /// read (the table is not dropped: nothing changes); [`PoolError::Io`] naming the file when
    /// one cannot be deleted after the drop (the job fails; the table is gone; `lakeport pool
    /// vacuum` removes what is left).
    pub async fn drop_table(&self, table: &str) -> Result<DropReport, PoolError> {
        validate_identifier("table", table)?;
        let t = self.load_table(table).await?;
        let files = referenced(table, t.file_io(), t.metadata(), t.metadata_location_result()?).await?;
        let rows = self.table(table).await?.rows;
        let table_dir = local_path(t.metadata().location());
        let mut job = self.start_job_of("", "drop").await?;
        job.tables = vec![table.to_string()];
        job.rows = rows;
        if let Err(e) = self.drop_from_catalog(t.identifier()).await {
            // The catalog kept the table (a REST catalog that refuses, cannot drop — 501 — or
            // cannot be reached): nothing was deleted; the job ends failed with the answer.
            job.ended_at = Some(chrono::Utc::now());
            job.status = JobStatus::Failed;
            job.error = Some(e.to_string());
            job.details = serde_json::json!({ "action": "drop", "files_left": files.len() });
            self.finish_job(&job).await?;
            return Err(e);
        }
        let mut report = DropReport { table: table.to_string(), rows, job_id: job.id.clone(), ..DropReport::default() };
        let mut failure = None;
        if self.rest()?.is_some() {
            // A REST-catalog pool's files stay in the S3 warehouse; unreferenced now, `lakeport
            // pool vacuum` removes them after its grace period.
            report.files_left = files.len() as u64;
        } else if inside(&table_dir, &self.dir_root().join("warehouse")) {
            for file in files.iter().filter(|f| inside(f, &table_dir)) {
                let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
                match std::fs::remove_file(file) {
                    Ok(()) => {
                        report.files_removed += 1;
                        report.bytes_removed += size;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        if failure.is_none() {
                            let context = format!("table '{table}' is dropped, but {} could not be removed (`lakeport pool vacuum` removes what is left)", file.display());
                            failure = Some((context, e));
                        }
                    }
                }
            }
            report.files_left = files_under(&table_dir).len() as u64;
            // Empty directories go (remove_dir refuses a directory that still holds files).
            for dir in [table_dir.join("data"), table_dir.join("metadata"), table_dir.clone()] {
                let _ = std::fs::remove_dir(dir);
            }
        }
        job.files = report.files_removed;
        job.bytes = report.bytes_removed;
        job.ended_at = Some(chrono::Utc::now());
        job.status = if failure.is_some() { JobStatus::Failed } else { JobStatus::Succeeded };
        job.error = failure.as_ref().map(|(context, e)| format!("{context}: {e}"));
        job.details = serde_json::json!({ "action": "drop", "files_left": report.files_left });
        self.finish_job(&job).await?;
        match failure {
            Some((context, e)) => Err(PoolError::io(context, e)),
            None => Ok(report),
        }
    }

    /// Takes the table out of the pool's catalog: the SQL catalog's row, or the REST catalog's
    /// DropTable (its own error, naming the call and the catalog's answer).
    pub(crate) async fn drop_from_catalog(&self, ident: &iceberg::TableIdent) -> Result<(), PoolError> {
        match self.rest()? {
            Some(rest) => rest.drop_table(ident.name()).await,
            None => Ok(self.catalog()?.drop_table(ident).await?),
        }
    }

    /// Deletes orphan files older than `grace` (by modification time) from the pool's warehouse
    /// directory: files no table's metadata references, and directories of tables whose first
    /// load never committed.
    ///
    /// # Errors
    ///
    /// [`PoolError::Iceberg`] when a table's metadata cannot be read, [`PoolError::Io`] naming a
    /// file that cannot be deleted: vacuum stops there (what it deleted before stays deleted;
    /// nothing of that table is touched).
    pub async fn vacuum(&self, grace: Duration) -> Result<VacuumReport, PoolError> {
        let cutoff = SystemTime::now() - grace;
        if let Some(rest) = self.rest()? {
            return self.vacuum_s3(&rest, cutoff).await;
        }
        let pool_dir = self.dir_root().join("warehouse").join(self.name());
        let mut report = VacuumReport::default();
        let tables: HashSet<String> = self.table_names().await?.into_iter().collect();
        let Ok(entries) = std::fs::read_dir(&pool_dir) else { return Ok(report) };
        for entry in entries.flatten() {
            let table_dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !table_dir.is_dir() {
                continue;
            }
            let keep = if tables.contains(&name) {
                let table = self.load_table(&name).await?;
                referenced(&name, table.file_io(), table.metadata(), table.metadata_location_result()?).await?
            } else {
                HashSet::new() // a table whose first load never committed
            };
            for file in files_under(&table_dir) {
                if keep.contains(&file) {
                    report.files_kept += 1;
                } else if old_enough(&file, cutoff) {
                    report.remove(&file)?;
                }
            }
            if !tables.contains(&name) && files_under(&table_dir).is_empty() {
                let _ = std::fs::remove_dir_all(&table_dir);
            }
        }
        Ok(report)
    }

    /// [`Pool::vacuum`] of a REST-catalog pool: the objects under `<location>/<pool>/` in S3,
    /// by their last-modified time, against the files each table's metadata references.
    async fn vacuum_s3(&self, rest: &crate::rest::RestPool, cutoff: SystemTime) -> Result<VacuumReport, PoolError> {
        use futures::TryStreamExt;
        use object_store::ObjectStoreExt;
        let prefix = format!("{}/", rest.settings().pool_location(self.name()));
        let Some((bucket, key_prefix)) = lakeport_aws::split_s3_path(&prefix) else {
            return Err(PoolError::InvalidPoolSettings(format!("the location {prefix} is not s3://bucket/prefix")));
        };
        let store = rest.io_settings().store(bucket)?;
        let listed: Vec<object_store::ObjectMeta> = store.list(Some(&object_store::path::Path::from(key_prefix))).try_collect().await.map_err(iceberg_io_error)?;
        let tables: HashSet<String> = self.table_names().await?.into_iter().collect();
        let mut keep: HashSet<PathBuf> = HashSet::new();
        for name in &tables {
            let table = self.load_table(name).await?;
            keep.extend(referenced(name, table.file_io(), table.metadata(), table.metadata_location_result()?).await?);
        }
        let mut report = VacuumReport::default();
        for meta in listed {
            let path = format!("s3://{bucket}/{}", meta.location);
            if keep.contains(&local_path(&path)) {
                report.files_kept += 1;
            } else if SystemTime::from(meta.last_modified) <= cutoff {
                match store.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(iceberg_io_error(e)),
                }
                report.files_removed += 1;
                report.bytes_removed += meta.size;
                report.removed.push(path);
            }
        }
        Ok(report)
    }
}

fn iceberg_io_error(e: object_store::Error) -> PoolError {
    PoolError::Iceberg(iceberg::Error::new(iceberg::ErrorKind::Unexpected, format!("warehouse: {e}")).with_source(e))
}
