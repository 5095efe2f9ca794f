use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    #[default]
    Utf8,
    /// ISO-8859-1, transcoded to UTF-8 while streaming.
    Latin1,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvOptions {
    pub has_header: bool,
    /// `None`: comma, or tab for `.tsv` files.
    pub delimiter: Option<u8>,
    pub quote: u8,
    /// `None`: quotes are escaped by doubling them (RFC 4180).
    pub escape: Option<u8>,
    pub encoding: Encoding,
    /// Values read as NULL (compared after trimming nothing). The empty string is always NULL.
    pub null_values: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { has_header: true, delimiter: None, quote: b'"', escape: None, encoding: Encoding::Utf8, null_values: Vec::new() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReadOptions {
    pub csv: CsvOptions,
    /// How many records the type inference looks at.
    pub infer_rows: usize,
    /// Rows per Arrow batch.
    pub batch_size: usize,
    /// Columns forced to text (the type fallback; also settable by hand).
    pub text_columns: Vec<String>,
    /// Refuse to decompress more than this many bytes from one object (zip-bomb guard).
    pub max_decompressed_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            csv: CsvOptions::default(),
            infer_rows: 1000,
            batch_size: 8192,
            text_columns: Vec::new(),
            max_decompressed_bytes: 64 << 30,
        }
    }
}
