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
}

impl PoolError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        PoolError::Io { context: context.into(), source }
    }
}
