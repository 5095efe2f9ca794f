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
