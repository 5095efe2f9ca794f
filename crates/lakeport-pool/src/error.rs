use lakeport_error::ErrorKind;

/// Errors of the data pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("pool '{0}' does not exist (create it with `lakeport pool create {0}`)")]
    NoSuchPool(String),
    #[error("pool '{0}' already exists")]
    PoolExists(String),
    #[error("connection '{connection}' does not exist in pool '{pool}'")]
    NoSuchConnection { pool: String, connection: String },
    #[error("a connection named '{connection}' already exists in pool '{pool}'")]
    ConnectionExists { pool: String, connection: String },
    #[error("table '{table}' does not exist in pool '{pool}'")]
    NoSuchTable { pool: String, table: String },
    #[error("extraction '{extraction}' does not exist in pool '{pool}' (see `lakeport extraction list`)")]
    NoSuchExtraction { pool: String, extraction: String },
    #[error("an extraction named '{extraction}' already exists in pool '{pool}'")]
    ExtractionExists { pool: String, extraction: String },
    #[error("extraction '{extraction}' is running (job {job}); wait for it to finish")]
    ExtractionRunning { extraction: String, job: String },
    #[error("job '{job}' does not exist in pool '{pool}' (see `lakeport jobs`)")]
    NoSuchJob { pool: String, job: String },
    /// Another run (or a drop) holds the table, in this process or another one.
    #[error("table '{table}' is {} {holder}; wait for it to finish", if holder.starts_with("run ") { "being loaded by" } else { "held by" })]
    TableBusy { table: String, holder: String },
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// Connection settings the pool could not read back once stored: they must serialise to a
    /// JSON object with a string `type` member (see `connections.rs`).
    #[error("the settings of connection '{connection}' cannot be stored: {detail}")]
    InvalidSettings { connection: String, detail: String },
    #[error("schema of table '{table}' cannot take this load: {detail}")]
    SchemaDrift { table: String, detail: String },
    #[error("column '{column}' has type {data_type}, which an Iceberg table cannot store")]
    UnsupportedType { column: String, data_type: String },
    #[error("column '{column}': a {from} value does not fit the table's {to} without change: {detail}")]
    LossyValue { column: String, from: String, to: String, detail: String },
    /// The table's ledger cannot say which rows came from which object: a delta load could
    /// duplicate rows, so it is refused.
    #[error("table '{table}' needs a full load before the next delta load: {detail}")]
    LedgerStale { table: String, detail: String },
    /// The data files written for one object hold another number of rows than were handed to the writer.
    #[error("table '{table}': {written} rows were written for '{key}' but its data files hold {stored}; nothing was committed")]
    RowCountMismatch { table: String, key: String, written: u64, stored: u64 },
    #[error("table '{0}' was changed by another load at the same time; nothing was committed, run the load again")]
    CommitConflict(String),
    #[error("catalog: {0}")]
    Catalog(String),
    #[error("catalog database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A statement other than a query: SQL here only reads the pool.
    #[error("{statement} is not allowed: SQL in lakeport only reads the pool (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW); {instead}")]
    ReadOnlySql { statement: String, instead: String },
    /// The query needed more memory than its budget, even with spilling to disk.
    #[error("query used more than {limit} of memory; narrow it (filters, fewer columns, a LIMIT) or raise --query-memory ({detail})")]
    QueryMemory { limit: String, detail: String },
    /// The query ran longer than its time limit and was cancelled.
    #[error("query ran longer than {} s and was stopped; narrow it or raise --query-timeout-secs", limit.as_secs_f64())]
    QueryTimeout { limit: std::time::Duration },
    /// A panic inside the query (lakeport's or a library's bug) was caught and turned into this
    /// error; the process and other queries go on.
    #[error("the query stopped on an internal error (a bug in lakeport or a library it uses; please report it with the query): {message}")]
    QueryPanicked { message: String },
    #[error("no API token '{0}' (see `lakeport token list`)")]
    NoSuchToken(String),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// Something lakeport stored itself (a catalog row, a ledger file, a secret file) cannot be
    /// read back: an error, never a silent default, because acting on a default could lose or
    /// duplicate data (an unreadable ledger entry would make the next delta reload its object).
    #[error("{what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
}

impl PoolError {
    /// What kind of failure this is, from the variant and, for wrapped library errors, from
    /// their own kinds (sqlx's error variants, iceberg's `ErrorKind`, DataFusion's variants).
    pub fn kind(&self) -> ErrorKind {
        use PoolError as P;
        match self {
            P::NoSuchPool(_) | P::NoSuchConnection { .. } | P::NoSuchTable { .. } | P::NoSuchExtraction { .. } | P::NoSuchToken(_) | P::NoSuchJob { .. } => ErrorKind::NotFound,
            P::PoolExists(_) | P::ConnectionExists { .. } | P::ExtractionExists { .. } => ErrorKind::Exists,
            P::ExtractionRunning { .. } | P::CommitConflict(_) | P::TableBusy { .. } => ErrorKind::Conflict,
            P::InvalidName(_) | P::InvalidSettings { .. } | P::SchemaDrift { .. } | P::UnsupportedType { .. } | P::LossyValue { .. } | P::ReadOnlySql { .. } | P::LedgerStale { .. } => ErrorKind::Invalid,
            P::QueryMemory { .. } | P::QueryTimeout { .. } => ErrorKind::LimitExceeded,
            P::RowCountMismatch { .. } | P::QueryPanicked { .. } | P::Catalog(_) | P::Corrupt { .. } | P::Arrow(_) => ErrorKind::Internal,
            P::Database(e) => sqlx_kind(e),
            P::Iceberg(e) => ErrorKind::of_iceberg(e),
            P::Query(e) => datafusion_kind(e),
            P::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                std::io::ErrorKind::PermissionDenied => ErrorKind::Denied,
                _ => ErrorKind::Internal,
            },
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        PoolError::Corrupt { what: what.into(), detail: detail.to_string() }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PoolError::Io { context: context.into(), source }
    }
}

fn sqlx_kind(e: &sqlx::Error) -> ErrorKind {
    match e {
        sqlx::Error::RowNotFound => ErrorKind::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() => ErrorKind::Exists,
        // SQLite answers SQLITE_BUSY when another process holds the write lock past the timeout.
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => ErrorKind::Unavailable,
        sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "5" || c == "6") => ErrorKind::Conflict,
        _ => ErrorKind::Internal,
    }
}

/// DataFusion's variants: planning and SQL errors are the query's fault; store and I/O errors
/// the storage's; `Internal` and join errors bugs. Wrappers (`Context`, `Diagnostic`, `Shared`)
/// are looked through.
fn datafusion_kind(e: &datafusion::error::DataFusionError) -> ErrorKind {
    use datafusion::error::DataFusionError as D;
    match e {
        D::Context(_, inner) | D::Diagnostic(_, inner) => datafusion_kind(inner),
        D::Shared(inner) => datafusion_kind(inner),
        D::Collection(all) => all.first().map(datafusion_kind).unwrap_or(ErrorKind::Internal),
        D::ObjectStore(e) => ErrorKind::of_object_store(e),
        D::IoError(_) => ErrorKind::Unavailable,
        D::Internal(_) | D::ExecutionJoin(_) => ErrorKind::Internal,
        D::ResourcesExhausted(_) => ErrorKind::LimitExceeded,
        _ => ErrorKind::Invalid,
    }
}
