use lakeport_error::ErrorKind;

/// Errors of the data pool. Each has a kind ([`PoolError::kind`]); the messages name what failed
/// (pool, table, connection, job, file) and, where there is one, what to do.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// No pool of this name (kind `NotFound`).
    #[error("pool '{0}' does not exist (create it with `lakeport pool create {0}`)")]
    NoSuchPool(String),
    /// `pool create --join`: the REST catalog has no namespace of the pool's name to join
    /// (kind `NotFound`).
    #[error("the REST catalog has no namespace '{0}' to join: create the pool there first (`lakeport pool create {0}` with its catalog settings, without --join)")]
    NothingToJoin(String),
    /// A pool of this name exists already (kind `Exists`).
    #[error("pool '{0}' already exists")]
    PoolExists(String),
    /// No connection of this name in the pool (kind `NotFound`).
    #[error("connection '{connection}' does not exist in pool '{pool}'")]
    NoSuchConnection {
        /// The pool.
        pool: String,
        /// The connection name asked for.
        connection: String,
    },
    /// A connection of this name, ignoring ASCII case, exists already (kind `Exists`).
    #[error("a connection named '{connection}' already exists in pool '{pool}'")]
    ConnectionExists {
        /// The pool.
        pool: String,
        /// The name asked for.
        connection: String,
    },
    /// No table of this name in the pool (kind `NotFound`).
    #[error("table '{table}' does not exist in pool '{pool}'")]
    NoSuchTable {
        /// The pool.
        pool: String,
        /// The table name asked for.
        table: String,
    },
    /// No saved extraction of this name (kind `NotFound`).
    #[error("extraction '{extraction}' does not exist in pool '{pool}' (see `lakeport extraction list`)")]
    NoSuchExtraction {
        /// The pool.
        pool: String,
        /// The extraction name asked for.
        extraction: String,
    },
    /// A saved extraction of this name exists already (kind `Exists`).
    #[error("an extraction named '{extraction}' already exists in pool '{pool}'")]
    ExtractionExists {
        /// The pool.
        pool: String,
        /// The name asked for.
        extraction: String,
    },
    /// The saved extraction is running, so it cannot be removed (kind `Conflict`).
    #[error("extraction '{extraction}' is running (job {job}); wait for it to finish")]
    ExtractionRunning {
        /// The extraction.
        extraction: String,
        /// The job running it.
        job: String,
    },
    /// No job of this id in the pool (kind `NotFound`).
    #[error("job '{job}' does not exist in pool '{pool}' (see `lakeport jobs`)")]
    NoSuchJob {
        /// The pool.
        pool: String,
        /// The job id asked for.
        job: String,
    },
    /// Another run (or a drop) holds the table, in this process or another one (kind `Conflict`).
    #[error("table '{table}' is {} {holder}; wait for it to finish", if holder.starts_with("run ") { "being loaded by" } else { "held by" })]
    TableBusy {
        /// The first table of the request that is held.
        table: String,
        /// Who holds it (`run <job id>`, `a drop`) and, if another process, which (pid, host).
        holder: String,
    },
    /// A pool, table, connection, extraction or token name that breaks its rule (the text says
    /// which); also a connection name taken in another case (kind `Invalid`).
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// Connection settings the pool could not read back once stored: they must serialise to a
    /// JSON object with a string `type` member (see `connections.rs`).
    #[error("the settings of connection '{connection}' cannot be stored: {detail}")]
    InvalidSettings {
        /// The connection.
        connection: String,
        /// Why (serde_json's error, or what the JSON lacks).
        detail: String,
    },
    /// The load's columns do not fit the table (a delta load that is not a schema evolution the
    /// Iceberg spec allows, a batch missing a column) (kind `Invalid`).
    #[error("schema of table '{table}' cannot take this load: {detail}")]
    SchemaDrift {
        /// The table.
        table: String,
        /// Which column and how it differs.
        detail: String,
    },
    /// A column type no Iceberg table can store (see `storable_type`) (kind `Invalid`).
    #[error("column '{column}' has type {data_type}, which an Iceberg table cannot store")]
    UnsupportedType {
        /// The column (dotted path for a nested field).
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// A value would change when stored in the table's type (never stored as NULL or rounded)
    /// (kind `Invalid`).
    #[error("column '{column}': a {from} value does not fit the table's {to} without change: {detail}")]
    LossyValue {
        /// The column.
        column: String,
        /// The value's Arrow type.
        from: String,
        /// The table's Arrow type.
        to: String,
        /// Which value and why (arrow-cast's error).
        detail: String,
    },
    /// The table's ledger cannot say which rows came from which object: a delta load could
    /// duplicate rows, so it is refused.
    #[error("table '{table}' needs a full load before the next delta load: {detail}")]
    LedgerStale {
        /// The table.
        table: String,
        /// What the history lacks.
        detail: String,
    },
    /// The data files written for one object hold another number of rows than were handed to the writer.
    #[error("table '{table}': {written} rows were written for '{key}' but its data files hold {stored}; nothing was committed")]
    RowCountMismatch {
        /// The table.
        table: String,
        /// The object's S3 key.
        key: String,
        /// Rows handed to the writer.
        written: u64,
        /// Rows its data files hold.
        stored: u64,
    },
    /// A commit's requirements failed: another writer committed the table since this load read
    /// it (the [`crate::TableCommitter`] contract; kind `Conflict`, retryable by running the
    /// load again).
    #[error("table '{0}' was changed by another load at the same time; nothing was committed, run the load again")]
    CommitConflict(String),
    /// A commit was sent and no answer says whether the catalog applied it: the connection broke
    /// after the request went out, or the catalog answered HTTP 5xx (the Iceberg REST spec's
    /// `CommitStateUnknownException` for `updateTable`) (kind `Unavailable`). The files the load
    /// wrote are kept, never deleted: if the commit was applied the table references them.
    #[error("table '{table}': the catalog did not say whether the commit went through ({detail}); the files the load wrote are kept — `lakeport tables` shows whether it did, the next delta load continues from what the table holds, and `lakeport pool vacuum` removes the files if it did not")]
    CommitStateUnknown {
        /// The table.
        table: String,
        /// What the catalog or the connection said.
        detail: String,
    },
    /// The Iceberg SQL catalog could not be opened, or what lakeport keeps beside a table's
    /// metadata cannot be read (a ledger file, the column-renames property) (kind `Internal`).
    #[error("catalog: {0}")]
    Catalog(String),
    /// A REST-catalog pool's settings are unusable (a URL, the location, a role), found before
    /// any request (kind `Invalid`).
    #[error("invalid pool settings: {0}")]
    InvalidPoolSettings(String),
    /// A REST-catalog pool's catalog answered an error (kind from the HTTP status and the error
    /// type: 403 access denied and refused signatures are `Denied`).
    #[error("REST catalog: {operation}: {message}")]
    RemoteCatalog {
        /// The call, such as `LoadTable sales.orders`.
        operation: String,
        /// What the catalog said (never a secret).
        message: String,
        /// What kind of failure this is.
        kind: ErrorKind,
    },
    /// The AWS layer failed (a catalog call that could not be sent, STS AssumeRole, lakeport's
    /// own identity not set); its own message and kind.
    #[error(transparent)]
    Aws(#[from] lakeport_aws::AwsError),
    /// The catalog database (`catalog.db`, SQLite) failed; the kind follows sqlx's variant
    /// (a lock held past the busy timeout is `Conflict`).
    #[error("catalog database: {0}")]
    Database(#[from] sqlx::Error),
    /// iceberg-rust failed (metadata, manifests, file IO); the kind follows its `ErrorKind`.
    #[error("iceberg: {0}")]
    Iceberg(#[from] iceberg::Error),
    /// DataFusion failed to plan or run a query (an unknown table or column, a type error, a
    /// shared table that cannot be loaded); the kind follows its variant.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A statement other than a query: SQL here only reads the pool.
    #[error("{statement} is not allowed: SQL in lakeport only reads the pool (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW); {instead}")]
    ReadOnlySql {
        /// The refused statement's SQL words (`DROP TABLE`, `COPY`, …).
        statement: String,
        /// What to use instead.
        instead: String,
    },
    /// The query needed more memory than its budget, even with spilling to disk.
    #[error("query used more than {limit} of memory; narrow it (filters, fewer columns, a LIMIT) or raise --query-memory ({detail})")]
    QueryMemory {
        /// The budget, for people (`1 GiB`).
        limit: String,
        /// DataFusion's words on what ran out.
        detail: String,
    },
    /// The query ran longer than its time limit and was cancelled.
    #[error("query ran longer than {} s and was stopped; narrow it or raise --query-timeout-secs", limit.as_secs_f64())]
    QueryTimeout {
        /// The time limit.
        limit: std::time::Duration,
    },
    /// A panic inside the query (lakeport's or a library's bug) was caught and turned into this
    /// error; the process and other queries go on.
    #[error("the query stopped on an internal error (a bug in lakeport or a library it uses; please report it with the query): {message}")]
    QueryPanicked {
        /// The panic's message.
        message: String,
    },
    /// No API token with this id or name (kind `NotFound`).
    #[error("no API token '{0}' (see `lakeport token list`)")]
    NoSuchToken(String),
    /// Arrow failed on a batch (kind `Internal`).
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A file of the pool directory (secret, key, warehouse file) could not be read, written or
    /// removed; the kind follows the I/O error's (not found, permission denied, else internal).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Something lakeport stored itself (a catalog row, a ledger file, a secret file) cannot be
    /// read back: an error, never a silent default, because acting on a default could lose or
    /// duplicate data (an unreadable ledger entry would make the next delta reload its object).
    #[error("{what} is corrupt: {detail}")]
    Corrupt {
        /// What is corrupt (`job <id>`, `connection 'x' of pool 'p'`, a ledger file).
        what: String,
        /// What does not parse, and why.
        detail: String,
    },
}

impl PoolError {
    /// What kind of failure this is, from the variant and, for wrapped library errors, from
    /// their own kinds (sqlx's error variants, iceberg's `ErrorKind`, DataFusion's variants).
    pub fn kind(&self) -> ErrorKind {
        use PoolError as P;
        match self {
            P::NoSuchPool(_) | P::NothingToJoin(_) | P::NoSuchConnection { .. } | P::NoSuchTable { .. } | P::NoSuchExtraction { .. } | P::NoSuchToken(_) | P::NoSuchJob { .. } => ErrorKind::NotFound,
            P::PoolExists(_) | P::ConnectionExists { .. } | P::ExtractionExists { .. } => ErrorKind::Exists,
            P::ExtractionRunning { .. } | P::CommitConflict(_) | P::TableBusy { .. } => ErrorKind::Conflict,
            P::InvalidName(_) | P::InvalidSettings { .. } | P::SchemaDrift { .. } | P::UnsupportedType { .. } | P::LossyValue { .. } | P::ReadOnlySql { .. } | P::LedgerStale { .. } => ErrorKind::Invalid,
            P::QueryMemory { .. } | P::QueryTimeout { .. } => ErrorKind::LimitExceeded,
            P::RowCountMismatch { .. } | P::QueryPanicked { .. } | P::Catalog(_) | P::Corrupt { .. } | P::Arrow(_) => ErrorKind::Internal,
            P::InvalidPoolSettings(_) => ErrorKind::Invalid,
            P::RemoteCatalog { kind, .. } => *kind,
            P::CommitStateUnknown { .. } => ErrorKind::Unavailable,
            P::Aws(e) => e.kind(),
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
