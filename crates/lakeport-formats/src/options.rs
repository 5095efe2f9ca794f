use serde::{Deserialize, Serialize};

/// A text encoding, by its WHATWG Encoding Standard label (`utf-8`, `utf-16le`, `utf-16be`,
/// `shift_jis`, `windows-1252`, `latin1` — which the standard maps to windows-1252 —, `gbk`, …),
/// decoded with `encoding_rs`. Serialized as the label it was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Encoding {
    label: String,
    encoding: &'static encoding_rs::Encoding,
}

impl Encoding {
    /// The encoding a WHATWG label names (case and surrounding spaces ignored; `latin-1` is
    /// accepted too).
    ///
    /// # Errors
    /// A message naming the label, for labels the standard does not know and for `replacement`
    /// (the standard's stand-in for encodings it refuses to decode, such as ISO-2022-KR).
    pub fn from_label(label: &str) -> Result<Encoding, String> {
        // "latin-1" and "utf8" were this type's serialized names before it took WHATWG labels.
        let whatwg = if label.trim().eq_ignore_ascii_case("latin-1") { "latin1" } else { label };
        match encoding_rs::Encoding::for_label(whatwg.trim().as_bytes()) {
            Some(e) if e != encoding_rs::REPLACEMENT => Ok(Encoding { label: label.trim().to_ascii_lowercase(), encoding: e }),
            _ => Err(format!(
                "unknown encoding '{label}': give a WHATWG encoding label, e.g. utf-8, utf-16le, utf-16be, windows-1252 (also latin1), shift_jis, gbk, euc-kr"
            )),
        }
    }

    /// UTF-8, the default (label `utf-8`).
    pub fn utf8() -> Encoding {
        Encoding { label: "utf-8".into(), encoding: encoding_rs::UTF_8 }
    }

    /// The encoding's canonical name (`windows-1252` for the label `latin1`).
    pub fn name(&self) -> &'static str {
        self.encoding.name()
    }

    pub(crate) fn get(&self) -> &'static encoding_rs::Encoding {
        self.encoding
    }
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding::utf8()
    }
}

impl TryFrom<String> for Encoding {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Encoding::from_label(&s)
    }
}

impl From<Encoding> for String {
    fn from(e: Encoding) -> String {
        e.label
    }
}

/// The CSV dialect; every `None` is detected from the file. Delimiter, quote and escape are
/// single bytes (ASCII).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CsvOptions {
    /// `None`: detected from the sample (see `sniff`): a first row whose values all fit the
    /// types of the rows below it, with at least one non-text column, is data; otherwise a header.
    pub has_header: Option<bool>,
    /// `None`: detected from the sample among `,` `\t` `;` `|` (see `sniff`); `.tsv` files
    /// prefer tab.
    pub delimiter: Option<u8>,
    /// `None`: `"`, except for `.tsv` files, which have no quoting (IANA text/tab-separated-values).
    pub quote: Option<u8>,
    /// No quote character at all: a `"` is data wherever it is.
    pub no_quoting: bool,
    /// `None`: quotes are escaped by doubling them (RFC 4180).
    pub escape: Option<u8>,
    /// The text encoding when the file has no byte order mark (a BOM — UTF-8, UTF-16LE,
    /// UTF-16BE — decides by itself). Default UTF-8.
    pub encoding: Encoding,
    /// Values read as NULL (compared after trimming nothing). The empty string is always NULL.
    pub null_values: Vec<String>,
}


/// How the readers read a file; missing fields take their defaults when deserialised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ReadOptions {
    /// The CSV dialect (ignored for JSON and Parquet).
    pub csv: CsvOptions,
    /// How many records the type inference looks at (default 1000).
    pub infer_rows: usize,
    /// Most rows per Arrow batch (default 8192; Parquet batches may be smaller, see
    /// [`crate::open_parquet`]).
    pub batch_size: usize,
    /// Columns forced to text (the type fallback; also settable by hand).
    pub text_columns: Vec<String>,
    /// Refuse to decompress more than this many bytes from one object (zip-bomb guard; default
    /// 64 GiB).
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
