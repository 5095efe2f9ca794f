use lakeport_error::ErrorKind;
use lakeport_formats::FormatError;
use lakeport_pool::PoolError;
use lakeport_source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    /// Boxed: a format error (file, position, value) is the largest of these.
    Format(Box<FormatError>),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error("the connection '{0}' is a zero-copy connection: its tables are queried in place (`lakeport connection shares`), not extracted")]
    WrongConnectionType(String),
    #[error("nothing to extract: give at least one --file or --folder")]
    NoItems,
    /// `note` lists what was passed over (folder markers, hidden files…), if anything.
    #[error("folder s3://{bucket}/{prefix} is empty: there are no files under it{note}")]
    EmptyFolder { bucket: String, prefix: String, note: String },
    #[error("s3://{bucket}/{key} does not exist")]
    NoSuchObject { bucket: String, key: String },
    /// `folder` as `s3://bucket/prefix`.
    #[error("folder {folder} mixes file types: '{first}' is {first_type} but '{other}' is {other_type}; a folder's files must all be of one type")]
    MixedTypes { folder: String, first: String, first_type: String, other: String, other_type: String },
    #[error("{first} and {second} would both load into table '{table}'; give one of them another name with --table")]
    TableCollision { table: String, first: String, second: String },
    #[error("{0} is empty: it has no columns and no rows, so there is no table to make of it")]
    EmptyFile(String),
    /// Writing a file's rows into the table failed (the pool error names the column where known).
    #[error("{file}: cannot be written to the table: {source}; nothing was committed")]
    Write { file: String, source: Box<PoolError> },
    #[error("table '{table}' was not loaded: {message}; nothing was committed")]
    Incomplete { table: String, message: String },
    #[error("invalid file pattern '{pattern}': {message}")]
    InvalidPattern { pattern: String, message: String },
    /// A column setting names a column the table's files do not have.
    #[error("table '{table}': {setting} names column '{column}', which the files do not have; their columns are: {available}")]
    UnknownColumn { table: String, setting: &'static str, column: String, available: String },
    #[error("table settings: {0}")]
    TableSettings(String),
    /// The run was stopped from outside (a cancel request, a signal) at a checkpoint.
    #[error("the run was stopped before it finished; tables committed before that keep their new snapshot, the others their old one")]
    Cancelled,
    #[error("{file}: its columns do not fit table '{table}': {detail}")]
    Drift { file: String, table: String, detail: String },
}

impl From<FormatError> for ExtractError {
    fn from(e: FormatError) -> Self {
        ExtractError::Format(Box::new(e))
    }
}

impl ExtractError {
    /// What kind of failure this is: the wrapped error's own kind, or the variant's.
    pub fn kind(&self) -> ErrorKind {
        use ExtractError as E;
        match self {
            E::Source(e) => e.kind(),
            E::Format(e) => e.kind(),
            E::Pool(e) => e.kind(),
            E::Write { source, .. } => source.kind(),
            E::NoSuchObject { .. } => ErrorKind::NotFound,
            // A reader that failed, or objects not read completely: lakeport's bug, never the input's.
            E::Incomplete { .. } => ErrorKind::Internal,
            // Stopped on request (a cancel or a signal): the state changed under the request.
            E::Cancelled => ErrorKind::Conflict,
            E::WrongConnectionType(_)
            | E::NoItems
            | E::EmptyFolder { .. }
            | E::MixedTypes { .. }
            | E::TableCollision { .. }
            | E::EmptyFile(_)
            | E::InvalidPattern { .. }
            | E::UnknownColumn { .. }
            | E::TableSettings(_)
            | E::Drift { .. } => ErrorKind::Invalid,
        }
    }
}
