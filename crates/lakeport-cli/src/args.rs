use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// lakeport: bring data from Amazon S3 (or any S3-compatible store) into a data pool of Iceberg
/// tables, and query it with SQL.
#[derive(Parser, Debug)]
#[command(name = "lakeport", version, about, max_term_width = 100)]
pub struct Cli {
    /// Directory that holds the pools (SQLite catalog, Iceberg warehouse, secrets).
    #[arg(long, global = true, env = "LAKEPORT_DIR", default_value = "./lakeport-data")]
    pub pool_dir: PathBuf,
    /// The data pool to work in.
    #[arg(long, short = 'p', global = true, env = "LAKEPORT_POOL", default_value = "default")]
    pub pool: String,
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (or set LAKEPORT_LOG=debug).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, list and drop data pools.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Data connections of the pool: add (tests first), test, list, show, remove.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// Extract files or folders from an S3 connection into tables (full or delta load).
    Extract(ExtractArgs),
    /// Run SQL over the pool's tables.
    Query(QueryArgs),
    /// List the pool's tables with row counts and last load.
    Tables,
    /// The pool's extraction history.
    Jobs {
        /// How many of the newest jobs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum PoolCommand {
    /// Create a pool (a name of lowercase letters, digits and '_').
    Create { name: String },
    /// List pools.
    List,
    /// Drop a pool with all its tables, connections and history.
    Drop {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConnectionCommand {
    /// Add an Amazon S3 connection (Extractions via APIs). Runs Test Connection first and saves
    /// only if it passes.
    Add(ConnectionAddArgs),
    /// Test Connection: checks s3:ListBucket, s3:GetObject and s3:GetBucketAcl one by one.
    Test { name: String },
    /// List connections.
    List,
    /// Show a connection's settings (the secret is masked).
    Show { name: String },
    /// Remove a connection and its stored secret.
    Remove { name: String },
}

#[derive(Args, Debug)]
pub struct ConnectionAddArgs {
    /// Name of the connection, unique in the pool.
    pub name: String,
    /// AWS region of the bucket, e.g. eu-central-1.
    #[arg(long)]
    pub region: String,
    /// Bucket name.
    #[arg(long)]
    pub bucket: String,
    /// Access key ID.
    #[arg(long)]
    pub access_key_id: String,
    /// Read the secret access key from this environment variable (default: prompt, or
    /// LAKEPORT_SECRET_ACCESS_KEY when set).
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Read the secret access key from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "secret_env")]
    pub secret_file: Option<PathBuf>,
    /// Advanced: endpoint URL of an S3-compatible store (default: AWS).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Advanced: path-style addressing (endpoint/bucket/key), needed by most S3-compatible stores.
    #[arg(long)]
    pub path_style: bool,
    /// Advanced: allow plain HTTP to a loopback endpoint (local test servers).
    #[arg(long)]
    pub allow_http: bool,
    /// Advanced: allow plain HTTP to any host (insecure; implies --allow-http).
    #[arg(long)]
    pub allow_http_anywhere: bool,
    /// Advanced: objects fetched at once.
    #[arg(long, default_value_t = lakeport_source::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Advanced: retries per request (exponential backoff with jitter).
    #[arg(long, default_value_t = lakeport_source::DEFAULT_MAX_RETRIES)]
    pub max_retries: usize,
    /// Save even if Test Connection fails (not recommended).
    #[arg(long)]
    pub skip_test: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EncodingArg {
    Utf8,
    Latin1,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// The S3 extraction connection to read from.
    #[arg(long, short = 'c')]
    pub connection: String,
    /// A file to load into a table named after it (repeatable).
    #[arg(long = "file", value_name = "KEY")]
    pub files: Vec<String>,
    /// A folder to load into one table named after it (repeatable).
    #[arg(long = "folder", value_name = "PREFIX")]
    pub folders: Vec<String>,
    /// Name the table yourself (only with a single --file or --folder).
    #[arg(long)]
    pub table: Option<String>,
    /// Full load: replace the tables atomically (the default).
    #[arg(long, conflicts_with = "delta")]
    pub full: bool,
    /// Delta load: append only objects (key + ETag) not loaded before.
    #[arg(long)]
    pub delta: bool,
    /// Records sampled to infer CSV/JSON column types.
    #[arg(long, default_value_t = 1000)]
    pub infer_rows: usize,
    /// When a value breaks a column's inferred type, load that column as text instead of failing.
    #[arg(long)]
    pub type_fallback: bool,
    /// Load these columns as text (repeatable).
    #[arg(long = "text-column", value_name = "NAME")]
    pub text_columns: Vec<String>,
    /// CSV: the files have no header row (columns are named column_1, column_2, …).
    #[arg(long)]
    pub no_header: bool,
    /// CSV delimiter (default ',' or tab for .tsv).
    #[arg(long)]
    pub delimiter: Option<char>,
    /// CSV quote character.
    #[arg(long, default_value_t = '"')]
    pub quote: char,
    /// CSV escape character (default: quotes are escaped by doubling).
    #[arg(long)]
    pub escape: Option<char>,
    /// CSV text encoding.
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: EncodingArg,
    /// CSV values to read as NULL besides the empty string (repeatable), e.g. NA.
    #[arg(long = "null-value", value_name = "TEXT")]
    pub null_values: Vec<String>,
    /// Objects fetched at once (default: the connection's setting).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Add _source_key and _source_modified columns.
    #[arg(long)]
    pub source_columns: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The SQL statement (DataFusion SQL). Tables of the pool are addressed by name.
    pub sql: String,
    /// Output format (--json means json).
    #[arg(long, value_enum, default_value = "table")]
    pub format: QueryFormat,
}
