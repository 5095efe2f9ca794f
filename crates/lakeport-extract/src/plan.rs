//! Items → tables: which objects go into which table.

use lakeport_formats::{FileFormat, FileKind};
use lakeport_pool::table_name_from;
use lakeport_source::{ObjectInfo, S3Source};
use serde::{Deserialize, Serialize};

use crate::ExtractError;

/// What the user picked: one file (one table named after it) or a folder (one table named after
/// the folder, from every file below it). `table` overrides the derived name.
///
/// A folder's `include` globs (none: every file) and `exclude` globs select its files by their
/// key below the prefix (`events/2024/a.csv` under `events/` is matched as `2024/a.csv`), with
/// globset's syntax: `*` stays within one path segment, `**` crosses them (`**/*.csv` is every
/// CSV at any depth, `*.csv` only those directly in the folder). Files passed over are listed in
/// the report with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Item {
    /// One object, loaded into a table of its own.
    File {
        /// The object's S3 key (a leading `/` is ignored).
        key: String,
        /// The table's name; `None`: derived from the file name without its extensions.
        table: Option<String>,
    },
    /// Every data file below a prefix, loaded into one table.
    Folder {
        /// The folder's S3 prefix (`raw`, `/raw` and `raw/` are all `raw/`; empty: the bucket).
        prefix: String,
        /// The table's name; `None`: derived from the folder's name.
        table: Option<String>,
        /// globset patterns a file's key below the prefix must match one of; empty: every file.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        include: Vec<String>,
        /// globset patterns whose matching files are passed over.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        exclude: Vec<String>,
    },
}

impl Item {
    /// The file `key`, loaded into the table named after it.
    pub fn file(key: impl Into<String>) -> Item {
        Item::File { key: key.into(), table: None }
    }
    /// The folder `prefix`, every file of it, loaded into the table named after it.
    pub fn folder(prefix: impl Into<String>) -> Item {
        Item::Folder { prefix: prefix.into(), table: None, include: Vec::new(), exclude: Vec::new() }
    }

    /// Checks the item's globs (an invalid one is an error naming it), without asking S3.
    ///
    /// # Errors
    ///
    /// [`ExtractError::InvalidPattern`] for an include or exclude glob globset rejects.
    pub fn validate(&self) -> Result<(), ExtractError> {
        if let Item::Folder { include, exclude, .. } = self {
            globs(include)?;
            globs(exclude)?;
        }
        Ok(())
    }
    /// The table this item loads into (known without asking S3): the `table` override, else
    /// the file or folder name made a table name (`lakeport_pool::table_name_from`).
    ///
    /// # Errors
    ///
    /// [`ExtractError::Pool`] when the name gives no valid table name.
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

/// Why an object below a folder was passed over rather than loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A zero-byte key ending in `/`: the S3 console and many upload tools make one per folder.
    DirectoryMarker,
    /// A key ending in `/` that holds data: it has no file name, hence no file type.
    FolderKeyWithData,
    /// A name starting with `_`: Hadoop/Spark job markers (`_SUCCESS`, `_committed_…`).
    JobMarker,
    /// A name starting with `.` (`.keep`, `.DS_Store`).
    Hidden,
    /// A key S3 stores but no request through object_store can name (`S3Source::addressable`).
    Unaddressable,
    /// The folder item has include patterns and none matches the key.
    NotIncluded,
    /// One of the folder item's exclude patterns matches the key.
    Excluded,
    /// Not a data file by its extension (`README.md`, `notes.pdf`, no extension).
    NotData,
    /// A `.txt` file in a folder without include patterns: `.txt` is often prose (`README.txt`),
    /// so it is read as CSV only when picked by name or matched by an include pattern.
    PlainText,
}

impl SkipReason {
    fn describe(self) -> &'static str {
        match self {
            SkipReason::DirectoryMarker => "directory marker",
            SkipReason::FolderKeyWithData => "key ends in '/' but holds data: no file name, so no file type",
            SkipReason::JobMarker => "job marker file",
            SkipReason::Hidden => "hidden file",
            SkipReason::Unaddressable => "cannot be read",
            SkipReason::NotIncluded => "matches none of the include patterns",
            SkipReason::Excluded => "matches an exclude pattern",
            SkipReason::NotData => "not a data file: lakeport reads .csv, .tsv, .json, .ndjson, .jsonl and .parquet (optionally .gz/.zst)",
            SkipReason::PlainText => "a .txt file: read as CSV only when picked by name or matched by an include pattern (--pattern '*.txt')",
        }
    }
}

/// One object passed over in a folder, named, with the reason (reported, never silent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkippedObject {
    /// The S3 key exactly as stored.
    pub key: String,
    /// Why it was passed over.
    pub reason: SkipReason,
    /// The reason for people (for `Unaddressable`, what makes the key unreadable).
    pub detail: String,
}

impl SkippedObject {
    fn new(key: String, reason: SkipReason) -> Self {
        SkippedObject { key, reason, detail: reason.describe().to_string() }
    }
}

/// Whether an object listed below a folder is passed over, and why.
fn skip_reason(o: &ObjectInfo) -> Option<SkippedObject> {
    if o.key.ends_with('/') {
        let reason = if o.size == 0 { SkipReason::DirectoryMarker } else { SkipReason::FolderKeyWithData };
        return Some(SkippedObject::new(o.key.clone(), reason));
    }
    let base = o.key.rsplit('/').next().unwrap_or(&o.key);
    if base.starts_with('_') {
        return Some(SkippedObject::new(o.key.clone(), SkipReason::JobMarker));
    }
    if base.starts_with('.') {
        return Some(SkippedObject::new(o.key.clone(), SkipReason::Hidden));
    }
    if let Err(why) = S3Source::addressable(&o.key) {
        return Some(SkippedObject { key: o.key.clone(), reason: SkipReason::Unaddressable, detail: format!("cannot be read: {why}") });
    }
    None
}

/// The globs as one set (globset: `*` does not cross `/`). An invalid glob is an error naming it.
fn globs(patterns: &[String]) -> Result<Option<globset::GlobSet>, ExtractError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut set = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| ExtractError::InvalidPattern { pattern: p.clone(), message: e.kind().to_string() })?;
        set.add(glob);
    }
    set.build().map(Some).map_err(|e| ExtractError::InvalidPattern { pattern: patterns.join(", "), message: e.to_string() })
}

/// One table of the extraction and the objects that feed it.
#[derive(Clone, Debug)]
pub struct PlannedTable {
    /// The table's name.
    pub table: String,
    /// The format all its objects share (CSV, JSON, Parquet).
    pub format: FileFormat,
    /// The objects to load, as listed (key, size in bytes, ETag…), each with its file kind
    /// (format and compression, from the extension).
    pub objects: Vec<(ObjectInfo, FileKind)>,
    /// Objects of a folder passed over: folder markers, job markers, hidden files, unreadable keys.
    pub skipped: Vec<SkippedObject>,
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
                PlannedTable { table: item.table_name()?, format: kind.format, objects: vec![(info, kind)], skipped: Vec::new(), single_file: true }
            }
            Item::Folder { prefix, include, exclude, .. } => {
                let (include, exclude) = (globs(include)?, globs(exclude)?);
                // The folder as listed: `raw`, `/raw` and `raw/` are all `raw/` (S3Source::list).
                let prefix = prefix.trim_start_matches('/');
                let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix.to_string() } else { format!("{prefix}/") };
                let listed = source.list(&prefix).await?;
                let (mut objects, mut skipped) = (Vec::new(), Vec::new());
                for o in listed {
                    if let Some(skip) = skip_reason(&o) {
                        skipped.push(skip);
                        continue;
                    }
                    // Patterns match the key below the prefix.
                    let below = o.key.strip_prefix(prefix.as_str()).unwrap_or(&o.key);
                    if include.as_ref().is_some_and(|set| !set.is_match(below)) {
                        skipped.push(SkippedObject::new(o.key.clone(), SkipReason::NotIncluded));
                        continue;
                    }
                    if exclude.as_ref().is_some_and(|set| set.is_match(below)) {
                        skipped.push(SkippedObject::new(o.key.clone(), SkipReason::Excluded));
                        continue;
                    }
                    // Files that are not data by their name are passed over (and reported), so a
                    // README beside the data does not fail the load; `.txt` needs asking for.
                    let (ext, _) = FileKind::extension(&o.key);
                    if !FileKind::is_data_extension(&ext) {
                        skipped.push(SkippedObject::new(o.key.clone(), SkipReason::NotData));
                        continue;
                    }
                    if ext == "txt" && include.is_none() {
                        skipped.push(SkippedObject::new(o.key.clone(), SkipReason::PlainText));
                        continue;
                    }
                    let kind = FileKind::from_key(&o.key)?;
                    objects.push((o, kind));
                }
                if objects.is_empty() {
                    let passed_over = skipped.iter().map(|s| format!("{} ({})", s.key.escape_debug(), s.detail)).collect::<Vec<_>>();
                    let note = if passed_over.is_empty() { String::new() } else { format!("; passed over: {}", passed_over.join(", ")) };
                    return Err(ExtractError::EmptyFolder { bucket: bucket.clone(), prefix, note });
                }
                let (first, first_kind) = (&objects[0].0, objects[0].1);
                if let Some((other, kind)) = objects.iter().find(|(_, k)| k.format != first_kind.format) {
                    return Err(ExtractError::MixedTypes {
                        folder: format!("s3://{bucket}/{prefix}"),
                        first: first.key.clone(),
                        first_type: format!("{:?}", first_kind.format).to_uppercase(),
                        other: other.key.clone(),
                        other_type: format!("{:?}", kind.format).to_uppercase(),
                    });
                }
                PlannedTable { table: item.table_name()?, format: first_kind.format, objects, skipped, single_file: false }
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
