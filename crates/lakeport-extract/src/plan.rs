//! Items → tables: which objects go into which table.

use lakeport_formats::{FileFormat, FileKind};
use lakeport_pool::table_name_from;
use lakeport_source::{ObjectInfo, S3Source};
use serde::{Deserialize, Serialize};

use crate::ExtractError;

/// What the user picked: one file (one table named after it) or a folder (one table named after
/// the folder, from every file below it). `table` overrides the derived name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Item {
    File { key: String, table: Option<String> },
    Folder { prefix: String, table: Option<String> },
}

impl Item {
    pub fn file(key: impl Into<String>) -> Item {
        Item::File { key: key.into(), table: None }
    }
    pub fn folder(prefix: impl Into<String>) -> Item {
        Item::Folder { prefix: prefix.into(), table: None }
    }
    /// The table this item loads into (known without asking S3).
    pub fn table_name(&self) -> Result<String, ExtractError> {
        Ok(match self {
            Item::File { table: Some(t), .. } | Item::Folder { table: Some(t), .. } => t.clone(),
            Item::File { key, .. } => table_name_from(FileKind::stem(key.trim_start_matches('/')))?,
            Item::Folder { prefix, .. } => table_name_from(FileKind::stem(prefix.trim_matches('/')))?,
        })
    }

    fn describe(&self, bucket: &str) -> String {
        match self {
            Item::File { key, .. } => format!("file s3://{bucket}/{key}"),
            Item::Folder { prefix, .. } => format!("folder s3://{bucket}/{prefix}"),
        }
    }
}

/// One table of the extraction and the objects that feed it.
#[derive(Clone, Debug)]
pub struct PlannedTable {
    pub table: String,
    pub format: FileFormat,
    pub objects: Vec<(ObjectInfo, FileKind)>,
    /// Objects passed over (Hadoop/Spark markers such as `_SUCCESS`, hidden files).
    pub ignored: Vec<String>,
    /// Whether the item was a single file (an empty file is then an error, not a skip).
    pub single_file: bool,
}

pub(crate) async fn plan(source: &S3Source, items: &[Item]) -> Result<Vec<PlannedTable>, ExtractError> {
    if items.is_empty() {
        return Err(ExtractError::NoItems);
    }
    let bucket = source.bucket().to_string();
    let mut tables: Vec<(PlannedTable, String)> = Vec::new();
    for item in items {
        let planned = match item {
            Item::File { key, .. } => {
                let key = key.trim_start_matches('/');
                let kind = FileKind::from_key(key)?;
                let info = source.head(key).await.map_err(|e| {
                    if e.is_not_found() {
                        ExtractError::NoSuchObject { bucket: bucket.clone(), key: key.to_string() }
                    } else {
                        e.into()
                    }
                })?;
                PlannedTable { table: item.table_name()?, format: kind.format, objects: vec![(info, kind)], ignored: Vec::new(), single_file: true }
            }
            Item::Folder { prefix, .. } => {
                let prefix = prefix.trim_matches('/');
                let listed = source.list(prefix).await?;
                let (mut objects, mut ignored) = (Vec::new(), Vec::new());
                for o in listed {
                    let base = o.key.rsplit('/').next().unwrap_or(&o.key);
                    if base.starts_with('_') || base.starts_with('.') {
                        ignored.push(o.key);
                        continue;
                    }
                    let kind = FileKind::from_key(&o.key)?;
                    objects.push((o, kind));
                }
                if objects.is_empty() {
                    return Err(ExtractError::EmptyFolder { bucket: bucket.clone(), prefix: format!("{prefix}/") });
                }
                let (first, first_kind) = (&objects[0].0, objects[0].1);
                if let Some((other, kind)) = objects.iter().find(|(_, k)| k.format != first_kind.format) {
                    return Err(ExtractError::MixedTypes {
                        bucket: bucket.clone(),
                        prefix: format!("{prefix}/"),
                        first: first.key.clone(),
                        first_type: format!("{:?}", first_kind.format).to_uppercase(),
                        other: other.key.clone(),
                        other_type: format!("{:?}", kind.format).to_uppercase(),
                    });
                }
                PlannedTable { table: item.table_name()?, format: first_kind.format, objects, ignored, single_file: false }
            }
        };
        if let Some((_, earlier)) = tables.iter().find(|(t, _)| t.table == planned.table) {
            return Err(ExtractError::TableCollision { table: planned.table, first: earlier.clone(), second: item.describe(&bucket) });
        }
        lakeport_pool::validate_identifier("table", &planned.table)?;
        tables.push((planned, item.describe(&bucket)));
    }
    Ok(tables.into_iter().map(|(t, _)| t).collect())
}
