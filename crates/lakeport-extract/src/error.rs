use lakeport_error::ErrorKind;
use lakeport_formats::FormatError;
use lakeport_pool::PoolError;
use lakeport_source::SourceError;

/// Errors of an extraction. Messages name the bucket/key, file or table involved and never
/// contain secrets; [`ExtractError::kind`] sorts them for exit codes and HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Reading from S3 failed: listing, HEAD, GET or a body that broke off (after retries).
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    /// A file could not be read as its format (CSV, JSON, Parquet): file, position, value.
    /// Boxed: a format error (file, position, value) is the largest of these.
    Format(Box<FormatError>),
    /// The pool failed: connection or table lookup, secret, ledger or commit.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The named connection (the `String`) is zero-copy, not an S3 extraction connection.
    #[error("the connection '{0}' is a zero-copy connection: its tables are queried in place (`lakeport connection shares`), not extracted")]
    WrongConnectionType(String),
    /// The request has no items (no file, no folder).
    #[error("nothing to extract: give at least one --file or --folder")]
    NoItems,
    /// A folder has no data files (after skipping markers, hidden files and patterns).
    /// `note` lists what was passed over (folder markers, hidden files…), if anything.
    #[error("folder s3://{bucket}/{prefix} is empty: there are no files under it{note}")]
    EmptyFolder {
        /// The bucket.
        bucket: String,
        /// The folder prefix listed (ending in `/`, or empty for the bucket's root).
        prefix: String,
        /// `; passed over: key (reason), …`, or empty.
        note: String,
    },
    /// A file item names a key S3 does not have (its HEAD answered 404).
    #[error("s3://{bucket}/{key} does not exist")]
    NoSuchObject {
        /// The bucket.
        bucket: String,
        /// The key as given, without a leading `/`.
        key: String,
    },
    /// A folder's data files are of more than one format.
    #[error("folder {folder} mixes file types: '{first}' is {first_type} but '{other}' is {other_type}; a folder's files must all be of one type")]
    MixedTypes {
        /// The folder, `s3://bucket/prefix`.
        folder: String,
        /// Key of the first file found.
        first: String,
        /// The first file's format (`csv`, `json`, `parquet`…).
        first_type: String,
        /// Key of the first file of another format.
        other: String,
        /// That file's format.
        other_type: String,
    },
    /// Two items derive (or are given) the same table name.
    #[error("{first} and {second} would both load into table '{table}'; give one of them another name with --table")]
    TableCollision {
        /// The table name both items load into.
        table: String,
        /// The earlier item (`file s3://…` or `folder s3://…`).
        first: String,
        /// The later item, same form.
        second: String,
    },
    /// A file picked by name (`s3://bucket/key`, the `String`) has no columns and no rows.
    #[error("{0} is empty: it has no columns and no rows, so there is no table to make of it")]
    EmptyFile(String),
    /// Writing a file's rows into the table failed (the pool error names the column where known).
    #[error("{file}: cannot be written to the table: {source}; nothing was committed")]
    Write {
        /// The object, `s3://bucket/key`.
        file: String,
        /// The table writer's error (boxed to keep the enum small).
        source: Box<PoolError>,
    },
    /// A table could not be completed: a reader failed or objects were not read completely
    /// (lakeport's bug, not the input's); nothing of the table was committed.
    #[error("table '{table}' was not loaded: {message}; nothing was committed")]
    Incomplete {
        /// The table.
        table: String,
        /// What went wrong.
        message: String,
    },
    /// A folder item's include or exclude glob is not valid globset syntax.
    #[error("invalid file pattern '{pattern}': {message}")]
    InvalidPattern {
        /// The glob as given (for a set that fails to build, all of them, comma-separated).
        pattern: String,
        /// globset's reason.
        message: String,
    },
    /// A column setting names a column the table's files do not have.
    #[error("table '{table}': {setting} names column '{column}', which the files do not have; their columns are: {available}")]
    UnknownColumn {
        /// The table.
        table: String,
        /// Which setting: `the column list`, `the excluded columns` or `pseudonymise`.
        setting: &'static str,
        /// The column named that the files lack.
        column: String,
        /// The files' columns, comma-separated.
        available: String,
    },
    /// Table settings contradict themselves or the request (both a column list and excluded
    /// columns, a column named twice, settings for a table no item loads); the `String` says which.
    #[error("table settings: {0}")]
    TableSettings(String),
    /// A shard (`--shard I/N`) that is not `0 ≤ I < N`, or asked of a load it cannot split (a
    /// full load); the `String` says which.
    #[error("invalid shard {0}")]
    InvalidShard(String),
    /// The run was stopped from outside (a cancel request, a signal) at a checkpoint.
    #[error("the run was stopped before it finished; tables committed before that keep their new snapshot, the others their old one")]
    Cancelled,
    /// A delta load met a file whose columns differ from the table's in a way
    /// [`OnSchemaChange`](crate::OnSchemaChange) does not allow.
    #[error("{file}: its columns do not fit table '{table}': {detail}")]
    Drift {
        /// The object, `s3://bucket/key`.
        file: String,
        /// The table.
        table: String,
        /// Which column differs and how.
        detail: String,
    },
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
            | E::InvalidShard(_)
            | E::Drift { .. } => ErrorKind::Invalid,
        }
    }
}
