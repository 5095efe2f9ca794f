use std::fmt;

/// Where in a file something went wrong. Lines are 1-based physical lines of the (decompressed)
/// file where known; `record` is the 1-based data record otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub line: Option<u64>,
    pub column: Option<String>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, ", line {l}")?;
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
    #[error("{file}: cannot read: {message}")]
    Read { file: String, message: String },

    #[error("{file}{at}: {message}")]
    Parse { file: String, at: Position, message: String },

    /// A value does not fit the column's inferred type (the opt-in fallback turns the column into text).
    #[error("{file}{at}: value '{value}' is not {expected} (the type inferred for this column from the first rows); enlarge the sample with --infer-rows or allow text fallback with --type-fallback")]
    Value { file: String, at: Position, value: String, expected: String },

    #[error("{file}: schema differs from '{reference}': {difference}")]
    SchemaMismatch { file: String, reference: String, difference: String },

    #[error("{file}: {message}")]
    Unsupported { file: String, message: String },
}

impl FormatError {
    pub fn file(&self) -> &str {
        match self {
            FormatError::Read { file, .. }
            | FormatError::Parse { file, .. }
            | FormatError::Value { file, .. }
            | FormatError::SchemaMismatch { file, .. }
            | FormatError::Unsupported { file, .. } => file,
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
