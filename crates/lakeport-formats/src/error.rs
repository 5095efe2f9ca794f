use lakeport_error::ErrorKind;
use std::fmt;
use std::num::NonZeroU64;

/// Where in a file something went wrong, as a place in the *decompressed* file (after gzip/zstd,
/// before any BOM is removed), so an editor or `sed -n 'Np'` on the decompressed file finds it.
///
/// The place is where the offending value starts when one value is at fault (a CSV field — at its
/// opening quote if quoted —, a JSON member's value), the offending byte for a JSON syntax error
/// or invalid UTF-8, and otherwise where the offending record starts (a CSV record with the wrong
/// number of fields, a truncated JSON object). Blank lines, quoted line breaks inside CSV fields,
/// JSON records spread over many lines and CRLF line ends all count as what they are in the file
/// (a lone CR, as in classic Mac files, does not start a line).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based physical line: 1 + the number of `\n` bytes before the place (a CRLF ends one line).
    /// (Non-zero also keeps `FormatError` small: it travels in every `Result` of the readers.)
    pub line: Option<NonZeroU64>,
    /// 0-based byte offset of the place in the decompressed file (a UTF-8 BOM counts as its 3
    /// bytes). `None` where it is not known exactly: latin-1 files, whose bytes are transcoded
    /// to UTF-8 before parsing.
    pub byte: Option<u64>,
    /// The column (by name) the offending value belongs to.
    pub column: Option<String>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.byte) {
            (Some(l), Some(b)) => write!(f, ", line {l} (byte offset {b})")?,
            (Some(l), None) => write!(f, ", line {l}")?,
            (None, Some(b)) => write!(f, ", byte offset {b}")?,
            (None, None) => {}
        }
        if let Some(c) = &self.column {
            write!(f, ", column '{c}'")?;
        }
        Ok(())
    }
}

/// Errors of the format readers. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The bytes could not be read: `cause` says whether the transfer failed or the content
    /// (compression, size limit) is at fault.
    #[error("{file}: cannot read: {message}")]
    Read {
        /// The file, as the reader was given it (`s3://bucket/key`).
        file: String,
        /// What failed, for people.
        message: String,
        /// Whose fault: the transfer, the content, or a bug.
        cause: ReadCause,
    },

    /// The content is malformed for its format (CSV/JSON syntax, text that is not in its
    /// encoding, an unreadable Parquet footer or page), or a typed (Parquet) value does not fit
    /// its target column.
    #[error("{file}{at}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// Where in the (decompressed) file, as far as known.
        at: Position,
        /// What is wrong, for people.
        message: String,
    },

    /// A value does not fit the column's inferred type (the opt-in fallback turns the column into text).
    #[error("{file}{at}: value '{value}' is not {expected} (the type inferred for this column from the first rows); enlarge the sample with --infer-rows or allow text fallback with --type-fallback")]
    Value {
        /// The file.
        file: String,
        /// Where the value starts, with its column.
        at: Position,
        /// The value as written in the file.
        value: String,
        /// The inferred type it does not fit (and why, for an inexact conversion).
        expected: String,
    },

    /// A file's columns or types do not fit the schema of the files before it ([`crate::unify`]).
    #[error("{file}: schema differs from '{reference}': {difference}")]
    SchemaMismatch {
        /// The file that does not fit.
        file: String,
        /// Where the schema it was compared with comes from (the first file, or the table).
        reference: String,
        /// The first difference found: a missing or extra column, or a column's two types.
        difference: String,
    },

    /// A file lakeport does not read: an unknown extension, compressed Parquet, Parquet bytes
    /// under a text name, an INT96 timestamp in a nested column, a Parquet row over the batch
    /// memory limit.
    #[error("{file}: {message}")]
    Unsupported {
        /// The file.
        file: String,
        /// What is not supported and what to do instead.
        message: String,
    },
}

/// Why a file's bytes could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadCause {
    /// The byte stream from the store failed (network, the store): a later try may work.
    Transfer,
    /// The bytes are not what they claim (corrupt compression, over the decompressed-size limit).
    Content,
    /// The reader itself failed (a panic in lakeport or a library it uses): a bug.
    Bug,
    /// The object changed while it was read: S3 refused a GET pinned to the listed ETag
    /// (`If-Match`, 412 PreconditionFailed), so nothing of a mix of two versions was read. A later
    /// load reads the new version.
    Changed,
}

impl ReadCause {
    /// Why the bytes of a transfer that failed with `e` did not come: [`ReadCause::Changed`] when
    /// object_store's `Precondition` error is in `e`'s source chain (also inside an
    /// `std::io::Error`), else [`ReadCause::Transfer`].
    pub(crate) fn of_transfer(e: &(dyn std::error::Error + 'static)) -> ReadCause {
        match ErrorKind::of_object_store_in(e) {
            Some(ErrorKind::Conflict) => ReadCause::Changed,
            _ => ReadCause::Transfer,
        }
    }
}

impl FormatError {
    /// The kind of failure: a failed transfer is [`ErrorKind::Unavailable`], a reader's panic
    /// [`ErrorKind::Internal`]; everything else is about the file's content, [`ErrorKind::Invalid`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            FormatError::Read { cause: ReadCause::Transfer, .. } => ErrorKind::Unavailable,
            FormatError::Read { cause: ReadCause::Bug, .. } => ErrorKind::Internal,
            FormatError::Read { cause: ReadCause::Changed, .. } => ErrorKind::Conflict,
            _ => ErrorKind::Invalid,
        }
    }

    /// The file the error is about, as the reader was given it.
    pub fn file(&self) -> &str {
        match self {
            FormatError::Read { file, .. }
            | FormatError::Parse { file, .. }
            | FormatError::Value { file, .. }
            | FormatError::SchemaMismatch { file, .. }
            | FormatError::Unsupported { file, .. } => file,
        }
    }

    /// Where in the file the error is, for errors that have a place.
    pub fn position(&self) -> Option<&Position> {
        match self {
            FormatError::Parse { at, .. } | FormatError::Value { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The column whose inferred type a value broke, if that is what happened.
    pub fn type_mismatch_column(&self) -> Option<&str> {
        match self {
            FormatError::Value { at, .. } => at.column.as_deref(),
            _ => None,
        }
    }
}
