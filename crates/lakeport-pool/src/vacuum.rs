//! Removing orphan files: data, manifest and metadata files that no snapshot or metadata-log
//! entry of a table references (left by a load that failed or was killed before its commit), and
//! directories of tables whose first load never committed. Only files older than a grace period
//! are touched, so a load in progress is never cut short.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use iceberg::spec::{ManifestList, TableMetadata};
use iceberg::io::FileIO;
use serde::{Deserialize, Serialize};

use crate::writer::local_path;
use crate::{Pool, PoolError};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VacuumReport {
    pub files_removed: u64,
    pub bytes_removed: u64,
    /// Files kept because something references them.
    pub files_kept: u64,
    pub removed: Vec<String>,
}

/// Every file the table's metadata references: metadata files (current and logged), manifest
/// lists, manifests, data files and ledger files of every snapshot.
async fn referenced(file_io: &FileIO, metadata: &TableMetadata, current_location: &str) -> Result<HashSet<PathBuf>, PoolError> {
    let mut out = HashSet::new();
    out.insert(local_path(current_location));
    for log in metadata.metadata_log() {
        out.insert(local_path(&log.metadata_file));
    }
    out.extend(crate::ledger::Ledger::files_of(metadata).iter().map(|p| local_path(p)));
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

impl Pool {
    /// Deletes orphan files older than `grace` from the pool's warehouse directory.
    pub async fn vacuum(&self, grace: Duration) -> Result<VacuumReport, PoolError> {
        let cutoff = SystemTime::now() - grace;
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
                referenced(table.file_io(), table.metadata(), table.metadata_location_result()?).await?
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
}
