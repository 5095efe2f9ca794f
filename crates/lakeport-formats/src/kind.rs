use serde::{Deserialize, Serialize};

use crate::FormatError;

/// A file format lakeport reads (serialised in lowercase: `csv`, `json`, `parquet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Delimited text (RFC 4180 CSV, TSV and other delimiters; dialect detected by `sniff`).
    Csv,
    /// Newline-delimited JSON objects, or one JSON array of objects.
    Json,
    /// Apache Parquet, read through ranged GETs ([`crate::open_parquet`]).
    Parquet,
}

/// Whole-file compression of a text object (serialised in lowercase).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Not compressed (unless the first bytes are a gzip or zstd magic number).
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard (RFC 8878).
    Zstd,
}

/// A file's format and compression, as told by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileKind {
    /// The format, from the extension before any compression extension.
    pub format: FileFormat,
    /// The compression, from a `.gz`/`.gzip`/`.zst`/`.zstd` extension.
    pub compression: Compression,
}

impl FileKind {
    /// From the key's extension(s): `.csv`, `.tsv`, `.json`, `.ndjson`, `.jsonl`, `.parquet`, `.pq`,
    /// optionally followed by `.gz`/`.gzip` or `.zst`/`.zstd`. (Compression is also recognised by
    /// its magic bytes when the name does not say so.) `.txt` and `.parq` are read too; case is
    /// ignored.
    ///
    /// # Errors
    /// [`FormatError::Unsupported`] naming the key: any other extension (or none), and a compressed
    /// Parquet name (`.parquet.gz`).
    pub fn from_key(key: &str) -> Result<FileKind, FormatError> {
        let (ext, compression) = Self::extension(key);
        let ext = ext.as_str();
        let format = match ext {
            "csv" | "tsv" | "txt" => FileFormat::Csv,
            "json" | "ndjson" | "jsonl" => FileFormat::Json,
            "parquet" | "pq" | "parq" => FileFormat::Parquet,
            _ => {
                return Err(FormatError::Unsupported {
                    file: key.to_string(),
                    message: format!(
                        "unsupported file type '{}': lakeport reads CSV (.csv, .tsv), JSON (.json, .ndjson, .jsonl) and Parquet (.parquet), optionally .gz/.zst compressed",
                        if ext.is_empty() { "(no extension)" } else { ext }
                    ),
                })
            }
        };
        if format == FileFormat::Parquet && compression != Compression::None {
            return Err(FormatError::Unsupported {
                file: key.to_string(),
                message: "compressed Parquet files are not supported (Parquet compresses its pages itself)".into(),
            });
        }
        Ok(FileKind { format, compression })
    }

    /// The format extension of `key`'s file name, lowercased, after any compression extension
    /// (`a/B.CSV.gz` → `("csv", Gzip)`; `""` when there is none), and that compression.
    pub fn extension(key: &str) -> (String, Compression) {
        let name = key.rsplit('/').next().unwrap_or(key).to_ascii_lowercase();
        let (stem, compression) = if let Some(s) = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".gzip")) {
            (s, Compression::Gzip)
        } else if let Some(s) = name.strip_suffix(".zst").or_else(|| name.strip_suffix(".zstd")) {
            (s, Compression::Zstd)
        } else {
            (name.as_str(), Compression::None)
        };
        (stem.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default(), compression)
    }

    /// Whether `key`'s extension names a format lakeport reads (see [`FileKind::from_key`]).
    pub fn is_data_extension(ext: &str) -> bool {
        matches!(ext, "csv" | "tsv" | "txt" | "json" | "ndjson" | "jsonl" | "parquet" | "pq" | "parq")
    }

    /// The name without directories and format/compression extensions (`a/b/Events.csv.gz` → `Events`).
    pub fn stem(key: &str) -> &str {
        let name = key.trim_end_matches('/').rsplit('/').next().unwrap_or(key);
        let mut stem = name;
        for ext in [".gz", ".gzip", ".zst", ".zstd", ".GZ", ".ZST"] {
            if let Some(s) = stem.strip_suffix(ext) {
                stem = s;
                break;
            }
        }
        match stem.rsplit_once('.') {
            Some((s, _)) if !s.is_empty() => s,
            _ => stem,
        }
    }

    /// The default delimiter byte: tab when `.tsv` appears anywhere in the key (any case), comma
    /// otherwise.
    pub fn default_delimiter(key: &str) -> u8 {
        if key.to_ascii_lowercase().contains(".tsv") {
            b'\t'
        } else {
            b','
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names() {
        let k = FileKind::from_key("a/b/events.csv.gz").unwrap();
        assert_eq!((k.format, k.compression), (FileFormat::Csv, Compression::Gzip));
        assert_eq!(FileKind::from_key("x.JSONL").unwrap().format, FileFormat::Json);
        assert_eq!(FileKind::from_key("x.ndjson.zst").unwrap().compression, Compression::Zstd);
        assert_eq!(FileKind::from_key("p/x.parquet").unwrap().format, FileFormat::Parquet);
        let e = FileKind::from_key("report.xlsx").unwrap_err().to_string();
        assert!(e.contains("report.xlsx") && e.contains("xlsx"), "{e}");
    }

    #[test]
    fn stems() {
        assert_eq!(FileKind::stem("a/b/Events.csv.gz"), "Events");
        assert_eq!(FileKind::stem("orders.parquet"), "orders");
        assert_eq!(FileKind::stem("raw/2024/"), "2024");
        assert_eq!(FileKind::stem(".hidden"), ".hidden");
    }
}
