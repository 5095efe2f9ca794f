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
    /// Extract files or folders from an S3 connection into tables (full or delta load), once.
    Extract(ExtractArgs),
    /// Saved extractions: create, list, show, edit, remove, run, history (and schedules).
    #[command(subcommand)]
    Extraction(ExtractionCommand),
    /// Run saved extractions on their schedules, without the HTTP server (`serve` does it too).
    Scheduler {
        /// Seconds between checks for due extractions.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
        interval_secs: u64,
    },
    /// Run read-only SQL over the pool's tables (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW).
    Query(QueryArgs),
    /// List the pool's tables with row counts and last load.
    Tables,
    /// The snapshots of a shared (zero-copy) table: id, time (UTC), operation, rows. Query an old
    /// one as `<connection>.<namespace>."<table>@<snapshot id or time>"`.
    Snapshots {
        /// `<connection>.<namespace>.<table>`, as in SQL (quote parts with capitals or dashes).
        table: String,
    },
    /// Operations on one table of the pool: drop.
    #[command(subcommand)]
    Table(TableCommand),
    /// API tokens of `lakeport serve`: create (admin or read-only), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Serve the HTTP API and the web console.
    Serve {
        /// Address to listen on (loopback by default; anything else exposes the API to the network).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Also accept this admin token (kept in memory only). Without it, the first start
        /// creates an admin token and prints it once.
        #[arg(long, env = "LAKEPORT_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[command(flatten)]
        limits: QueryLimitArgs,
        /// Most rows one query or preview returns over the API (the rest is cut off, and the answer
        /// says so).
        #[arg(long, value_name = "ROWS", default_value_t = lakeport_server::DEFAULT_MAX_ROWS)]
        max_rows: usize,
        /// Do not run saved extractions on their schedules in this process.
        #[arg(long)]
        no_scheduler: bool,
    },
    /// The pool's extraction history.
    Jobs {
        /// How many of the newest jobs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only jobs older than this job (its id): the next page.
        #[arg(long)]
        before: Option<String>,
        #[command(subcommand)]
        command: Option<JobsCommand>,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// One job with its per-table details: files loaded / skipped / unchanged, rows, bytes,
    /// seconds, outcome, the full error.
    Show { id: String },
}

#[derive(Subcommand, Debug)]
// Parsed once per run: the REST-catalog arguments' size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum PoolCommand {
    /// Create a pool (a name of lowercase letters, digits and '_'). With --catalog-url its tables
    /// live in an Iceberg REST catalog (AWS Glue, Polaris, …) and an S3 warehouse (--location);
    /// connections, secrets, extractions and jobs stay in the pool directory.
    Create {
        name: String,
        /// With --catalog-url: join the pool another machine created (its namespace must exist
        /// in the catalog; nothing is created). Without it, an existing namespace is joined too.
        #[arg(long, requires = "catalog_url")]
        join: bool,
        #[command(flatten)]
        rest: RestPoolArgs,
    },
    /// List pools.
    List,
    /// Remove orphan files (left by loads that failed or were killed) from the pool (--pool).
    Vacuum {
        /// Only files older than this many seconds (so loads in progress are never touched).
        #[arg(long, default_value_t = 3600)]
        older_than_secs: u64,
    },
    /// Drop a pool with all its tables, connections and history.
    Drop {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

/// `pool create … --catalog-url`: a REST-catalog pool (the auth options of zero-copy connections).
#[derive(Args, Debug)]
pub struct RestPoolArgs {
    /// The Iceberg REST catalog's URL (AWS Glue: https://glue.<region>.amazonaws.com/iceberg).
    #[arg(long, requires_all = ["warehouse", "location", "region"])]
    pub catalog_url: Option<String>,
    /// With --catalog-url: the catalog's warehouse (for AWS Glue: the AWS account id).
    #[arg(long, requires = "catalog_url")]
    pub warehouse: Option<String>,
    /// With --catalog-url: where the tables' files go, s3://bucket/prefix.
    #[arg(long, requires = "catalog_url")]
    pub location: Option<String>,
    /// With --catalog-url: AWS region of the catalog, STS and S3.
    #[arg(long, requires = "catalog_url")]
    pub region: Option<String>,
    /// The access key ID of an IAM user (its secret: --secret-env, --secret-file, or a prompt).
    #[arg(long, requires = "catalog_url", conflicts_with_all = ["role_arn", "bearer_token"])]
    pub access_key_id: Option<String>,
    /// The ARN of the IAM role lakeport assumes (with --external-id).
    #[arg(long, requires_all = ["catalog_url", "external_id"], conflicts_with = "bearer_token")]
    pub role_arn: Option<String>,
    /// With --role-arn: the External ID the role's trust policy requires.
    #[arg(long, requires = "role_arn")]
    pub external_id: Option<String>,
    /// Authenticate to a non-AWS catalog with a bearer token (read like a secret); S3 then uses
    /// the default AWS credential chain.
    #[arg(long, requires = "catalog_url")]
    pub bearer_token: bool,
    /// Authenticate to a non-AWS catalog with OAuth2 client credentials: this client id (its
    /// secret: --secret-env, --secret-file, or a prompt); S3 then uses the default AWS credential
    /// chain.
    #[arg(long, value_name = "ID", requires = "catalog_url", conflicts_with_all = ["access_key_id", "role_arn", "bearer_token"])]
    pub oauth2_client_id: Option<String>,
    /// With --oauth2-client-id: the scope to ask for (default: catalog).
    #[arg(long, requires = "oauth2_client_id")]
    pub oauth2_scope: Option<String>,
    /// With --oauth2-client-id: the token endpoint of an external authorization server
    /// (default: the catalog's <catalog URL>/v1/oauth/tokens).
    #[arg(long, value_name = "URL", requires = "oauth2_client_id")]
    pub oauth2_server_uri: Option<String>,
    /// SigV4 signing name of the catalog (`s3tables` for S3 Tables).
    #[arg(long, requires = "catalog_url", default_value = "glue")]
    pub signing_name: String,
    /// STS endpoint for AssumeRole (default: https://sts.<region>.amazonaws.com).
    #[arg(long, requires = "catalog_url")]
    pub sts_endpoint: Option<String>,
    /// Read the secret access key (or token) from this environment variable.
    #[arg(long, value_name = "VAR", requires = "catalog_url")]
    pub secret_env: Option<String>,
    /// Read the secret access key (or token) from this file (first line).
    #[arg(long, value_name = "FILE", requires = "catalog_url", conflicts_with = "secret_env")]
    pub secret_file: Option<PathBuf>,
    /// Advanced: endpoint URL of an S3-compatible warehouse store (default: AWS).
    #[arg(long, requires = "catalog_url")]
    pub endpoint: Option<String>,
    /// Advanced: path-style S3 addressing (endpoint/bucket/key).
    #[arg(long, requires = "catalog_url")]
    pub path_style: bool,
    /// Advanced: allow plain HTTP to loopback endpoints (local test servers).
    #[arg(long, requires = "catalog_url")]
    pub allow_http: bool,
    /// Advanced: allow plain HTTP to any host (insecure; implies --allow-http).
    #[arg(long, requires = "catalog_url")]
    pub allow_http_anywhere: bool,
}

#[derive(Subcommand, Debug)]
pub enum TableCommand {
    /// Drop a table of the pool (--pool): it leaves the catalog, its data files are deleted, and
    /// the job history records it.
    Drop {
        name: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token and print it once (only its SHA-256 hash is kept).
    Create {
        /// A read-only token: list pools and tables, preview, query — nothing else.
        #[arg(long)]
        read_only: bool,
        /// A name for it (default: <scope>-<id>).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the API tokens (names, scopes, ids; never the tokens).
    List,
    /// Revoke an API token by id or name; it stops working at once.
    Revoke { token: String },
}

/// Limits of one query.
#[derive(Args, Debug)]
pub struct QueryLimitArgs {
    /// Memory budget of one query: a number with K, M or G (binary, as DataFusion's
    /// memory_limit: 1G = 1 GiB). Sorts and grouped aggregations spill to disk beyond it; other
    /// operators (hash joins) stop the query with an error.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_query_memory)]
    pub query_memory: usize,
    /// Time limit of one query in seconds; a query still running then is stopped.
    #[arg(long, value_name = "SECS", default_value_t = lakeport_core::DEFAULT_QUERY_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub query_timeout_secs: u64,
}

fn parse_query_memory(text: &str) -> Result<usize, String> {
    lakeport_core::parse_memory_size("--query-memory", text)
}

#[derive(Subcommand, Debug)]
pub enum ConnectionCommand {
    /// Add an Amazon S3 connection (Extractions via APIs). Runs Test Connection first and saves
    /// only if it passes.
    Add(ConnectionAddArgs),
    /// Change a saved connection (either type): only the options given change, an omitted
    /// secret keeps the stored one, the shares are kept. Test Connection runs with the new
    /// settings first; if it fails, nothing changes.
    Update(ConnectionUpdateArgs),
    /// Test Connection: checks each permission the connection's mode needs, one by one.
    Test { name: String },
    /// Zero-copy: authenticate and list every namespace of the catalog with its tables.
    Namespaces { name: String },
    /// Zero-copy: show or change the selected shares (namespaces or single tables).
    Shares {
        name: String,
        /// Select `namespace` (all its tables) or `namespace.table` (repeatable).
        #[arg(long, value_name = "SHARE")]
        add: Vec<String>,
        /// Deselect a share (repeatable).
        #[arg(long, value_name = "SHARE")]
        remove: Vec<String>,
        /// Re-read the tables of namespace shares from the catalog.
        #[arg(long)]
        refresh: bool,
    },
    /// Zero-copy with an assumed role: show the principal lakeport runs as, an External ID, and
    /// the trust policy to give your IAM role.
    TrustPolicy {
        /// AWS region (for the STS endpoint).
        #[arg(long)]
        region: String,
        /// Use this External ID instead of generating one.
        #[arg(long)]
        external_id: Option<String>,
        /// STS endpoint (default: https://sts.<region>.amazonaws.com).
        #[arg(long)]
        sts_endpoint: Option<String>,
        /// Allow plain HTTP to a loopback STS endpoint (local test servers).
        #[arg(long)]
        allow_http: bool,
    },
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
    /// Connection type "Zero-copy (via Iceberg REST catalog)" instead of "Extractions (via APIs)".
    #[arg(long)]
    pub zero_copy: bool,
    /// AWS region, e.g. eu-central-1.
    #[arg(long)]
    pub region: String,
    /// Extractions: the bucket name.
    #[arg(long, required_unless_present = "zero_copy")]
    pub bucket: Option<String>,
    /// Access key ID (extractions; zero-copy with an IAM user's key).
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// Zero-copy: the catalog's warehouse (for AWS Glue: the AWS account id).
    #[arg(long, required_if_eq("zero_copy", "true"))]
    pub warehouse: Option<String>,
    /// Zero-copy: Iceberg REST catalog URL (default: https://glue.<region>.amazonaws.com/iceberg).
    #[arg(long)]
    pub catalog_url: Option<String>,
    /// The ARN of your IAM role that lakeport assumes (zero-copy, recommended; extractions too).
    #[arg(long, conflicts_with = "access_key_id")]
    pub role_arn: Option<String>,
    /// With --role-arn: the External ID your role's trust policy requires (generated when
    /// not given; see `lakeport connection trust-policy`).
    #[arg(long, requires = "role_arn")]
    pub external_id: Option<String>,
    /// Extractions: with --role-arn, the session length in seconds (AWS: 900 up to the role's
    /// maximum); credentials are renewed before they expire.
    #[arg(long, requires = "role_arn", default_value_t = lakeport_core::DEFAULT_SESSION_SECONDS)]
    pub session_seconds: u32,
    /// Extractions: use this profile of the shared AWS config/credentials files (~/.aws/config;
    /// role_arn/source_profile chains, SSO and credential_process work). Nothing secret is stored.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["access_key_id", "role_arn", "default_chain"])]
    pub profile: Option<String>,
    /// Extractions: use the default AWS credential chain (environment, web identity on EKS,
    /// container credentials on ECS, instance metadata on EC2). Nothing secret is stored.
    #[arg(long, conflicts_with_all = ["access_key_id", "role_arn"])]
    pub default_chain: bool,
    /// Zero-copy: authenticate to a non-AWS REST catalog with a bearer token (read like a secret).
    #[arg(long, conflicts_with_all = ["role_arn", "access_key_id"])]
    pub bearer_token: bool,
    /// Zero-copy: authenticate to a non-AWS REST catalog with OAuth2 client credentials: this
    /// client id (its secret read like the secret access key).
    #[arg(long, value_name = "ID", conflicts_with_all = ["role_arn", "access_key_id", "bearer_token"])]
    pub oauth2_client_id: Option<String>,
    /// Zero-copy, with --oauth2-client-id: the scope to ask for (default: catalog).
    #[arg(long, requires = "oauth2_client_id")]
    pub oauth2_scope: Option<String>,
    /// Zero-copy, with --oauth2-client-id: the token endpoint of an external authorization
    /// server (default: the catalog's <catalog URL>/v1/oauth/tokens).
    #[arg(long, value_name = "URL", requires = "oauth2_client_id")]
    pub oauth2_server_uri: Option<String>,
    /// STS endpoint for AssumeRole and GetCallerIdentity (default: https://sts.<region>.amazonaws.com;
    /// extractions with --endpoint: that endpoint).
    #[arg(long)]
    pub sts_endpoint: Option<String>,
    /// Zero-copy: SigV4 signing name of the catalog.
    #[arg(long, default_value = "glue")]
    pub signing_name: String,
    /// Zero-copy: use storage credentials the catalog vends in LoadTable.
    #[arg(long)]
    pub vended_credentials: bool,
    /// Read the secret access key from this environment variable (default: prompt, or
    /// LAKEPORT_SECRET_ACCESS_KEY when set).
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Read the secret access key from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "secret_env")]
    pub secret_file: Option<PathBuf>,
    /// Advanced: endpoint URL of an S3-compatible store (default: AWS). Zero-copy: where the data
    /// files are read from.
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
    /// Advanced: requests at once (objects fetched at once; one big file is read as up to this
    /// many ranged GETs).
    #[arg(long, default_value_t = lakeport_core::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Advanced: retries per request (exponential backoff with jitter).
    #[arg(long, default_value_t = lakeport_core::DEFAULT_MAX_RETRIES)]
    pub max_retries: usize,
    /// Save even if Test Connection fails (not recommended).
    #[arg(long)]
    pub skip_test: bool,
}

/// `connection update`: every option is optional; `--endpoint ""` (and `--catalog-url ""`,
/// `--sts-endpoint ""`) goes back to the default; switches take `=false` to turn them off.
#[derive(Args, Debug)]
pub struct ConnectionUpdateArgs {
    pub name: String,
    #[arg(long)]
    pub region: Option<String>,
    /// Extractions: the bucket.
    #[arg(long)]
    pub bucket: Option<String>,
    /// The access key ID (zero-copy: switches to an IAM user's key; give the secret too).
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// Zero-copy: the catalog's warehouse (for AWS Glue: the AWS account id).
    #[arg(long)]
    pub warehouse: Option<String>,
    /// Zero-copy: Iceberg REST catalog URL.
    #[arg(long)]
    pub catalog_url: Option<String>,
    /// The role lakeport assumes (switches to an assumed role; needs --external-id unless the
    /// connection already assumes a role).
    #[arg(long, conflicts_with = "access_key_id")]
    pub role_arn: Option<String>,
    /// The External ID of the role's trust policy.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Extractions: switch to this profile of the shared AWS config files (the stored secret, if
    /// any, is deleted).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["access_key_id", "role_arn", "default_chain"])]
    pub profile: Option<String>,
    /// Extractions: switch to the default AWS credential chain (the stored secret, if any, is
    /// deleted).
    #[arg(long, conflicts_with_all = ["access_key_id", "role_arn"])]
    pub default_chain: bool,
    /// Zero-copy: switch to a bearer token (give it as the secret).
    #[arg(long, conflicts_with_all = ["role_arn", "access_key_id"])]
    pub bearer_token: bool,
    /// Zero-copy: switch to (or change the client id of) OAuth2 client credentials; give the
    /// client secret when switching.
    #[arg(long, value_name = "ID", conflicts_with_all = ["role_arn", "access_key_id", "bearer_token"])]
    pub oauth2_client_id: Option<String>,
    /// Zero-copy, OAuth2: the scope to ask for.
    #[arg(long)]
    pub oauth2_scope: Option<String>,
    /// Zero-copy, OAuth2: the token endpoint of an external authorization server.
    #[arg(long, value_name = "URL")]
    pub oauth2_server_uri: Option<String>,
    /// Zero-copy: STS endpoint for AssumeRole.
    #[arg(long)]
    pub sts_endpoint: Option<String>,
    /// Zero-copy: SigV4 signing name of the catalog.
    #[arg(long)]
    pub signing_name: Option<String>,
    /// Zero-copy: use storage credentials the catalog vends.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub vended_credentials: Option<bool>,
    /// Endpoint URL of an S3-compatible store (zero-copy: where data files are read from).
    #[arg(long)]
    pub endpoint: Option<String>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub path_style: Option<bool>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub allow_http: Option<bool>,
    /// Extractions: allow plain HTTP to any host (insecure).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub allow_http_anywhere: Option<bool>,
    /// Extractions: requests at once (objects at once; a big file in up to this many ranges).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Extractions: retries per request.
    #[arg(long)]
    pub max_retries: Option<usize>,
    /// A new secret from this environment variable (without one the stored secret is kept).
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// A new secret from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "secret_env")]
    pub secret_file: Option<PathBuf>,
    /// Prompt for a new secret.
    #[arg(long, conflicts_with_all = ["secret_env", "secret_file"])]
    pub prompt_secret: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SchemaChangeArg {
    Evolve,
    Text,
    Fail,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeletedArg {
    Keep,
    Remove,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// The S3 extraction connection to read from.
    #[arg(long, short = 'c')]
    pub connection: String,
    #[command(flatten)]
    pub options: ExtractOptions,
}

#[derive(Subcommand, Debug)]
pub enum ExtractionCommand {
    /// Save an extraction: a connection, items, load mode, reader options, table settings and an
    /// optional schedule (the options of `lakeport extract`, plus scheduling).
    Create(ExtractionArgs),
    /// Replace an extraction's definition with the options given (as for create; the connection
    /// stays when not given). The version grows by one.
    Edit(ExtractionArgs),
    /// List saved extractions with their schedule and next run time.
    List,
    /// Show an extraction's definition and state (JSON).
    Show { name: String },
    /// Remove a saved extraction (its tables and run history stay).
    Remove { name: String },
    /// Run a saved extraction now.
    Run {
        name: String,
        /// Full load this time.
        #[arg(long, conflicts_with = "delta")]
        full: bool,
        /// Delta load this time.
        #[arg(long)]
        delta: bool,
    },
    /// The runs of an extraction: trigger, mode, files, rows, bytes, duration, error, schema drift.
    History {
        name: String,
        /// How many of the newest runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Args, Debug)]
pub struct ExtractionArgs {
    /// The extraction's name (lowercase letters, digits, '_').
    pub name: String,
    /// The S3 extraction connection to read from (required for create).
    #[arg(long, short = 'c')]
    pub connection: Option<String>,
    #[command(flatten)]
    pub options: ExtractOptions,
    /// Run on this schedule: a 5-field cron expression (minute hour day-of-month month
    /// day-of-week), e.g. "0 * * * *" for hourly.
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// The time zone of the schedule (IANA name, e.g. Europe/Berlin; default UTC).
    #[arg(long, value_name = "TZ", requires = "schedule")]
    pub timezone: Option<String>,
    /// Retries of a failed scheduled run.
    #[arg(long, default_value_t = 3)]
    pub max_retries: u32,
    /// Seconds before the first retry (doubling for each further one).
    #[arg(long, default_value_t = 60)]
    pub retry_backoff_secs: u64,
    /// POST a JSON notification to this URL when a run fails.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Also notify the webhook when the first run after a failure succeeds.
    #[arg(long, requires = "webhook")]
    pub notify_recovery: bool,
}

/// What to extract and how: the options shared by `lakeport extract` and saved extractions.
#[derive(Args, Debug)]
pub struct ExtractOptions {
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
    /// Delta load: load only objects (key + ETag) not loaded before; a changed object's earlier
    /// rows are replaced in the same commit.
    #[arg(long)]
    pub delta: bool,
    /// Delta load: objects loaded before and gone from the source now: keep their rows (append,
    /// the default) or remove them in the same commit (the table mirrors the folder).
    #[arg(long, value_enum, default_value = "keep", requires = "delta")]
    pub deleted: DeletedArg,
    /// Delta load: when files differ from the table's schema, evolve it in the same commit (add
    /// columns, NULL for missing ones, Iceberg type promotions), also load other types as text
    /// where the table's column is text, or fail on any difference.
    #[arg(long, value_enum, default_value = "evolve", requires = "delta")]
    pub on_schema_change: SchemaChangeArg,
    /// Records sampled to infer CSV/JSON column types.
    #[arg(long, default_value_t = 1000)]
    pub infer_rows: usize,
    /// When a value breaks a column's inferred type, load that column as text instead of failing.
    #[arg(long)]
    pub type_fallback: bool,
    /// Load these columns as text (repeatable).
    #[arg(long = "text-column", value_name = "NAME")]
    pub text_columns: Vec<String>,
    /// CSV: the files have no header row (columns are named column_1, column_2, …). Default:
    /// detected from the first rows (a first row that fits the types below it is data).
    #[arg(long, conflicts_with = "header")]
    pub no_header: bool,
    /// CSV: the first row is a header (overrides the detection).
    #[arg(long)]
    pub header: bool,
    /// CSV delimiter, e.g. ';' or '\t' for tab. Default: detected from the first rows among
    /// , tab ; | (tab preferred for .tsv); what was detected is printed.
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<char>,
    /// CSV quote character (default '"'; .tsv files have no quoting unless this is given).
    #[arg(long, conflicts_with = "no_quoting")]
    pub quote: Option<char>,
    /// CSV: no quote character at all ('"' is data wherever it is).
    #[arg(long)]
    pub no_quoting: bool,
    /// CSV escape character (default: quotes are escaped by doubling).
    #[arg(long)]
    pub escape: Option<char>,
    /// Text encoding of files without a byte order mark, as a WHATWG label: utf-8 (default),
    /// utf-16le, utf-16be, windows-1252 (also latin1), shift_jis, gbk, euc-kr, … A BOM (UTF-8,
    /// UTF-16LE/BE) is always honoured.
    #[arg(long, value_parser = parse_encoding, default_value = "utf-8")]
    pub encoding: lakeport_core::Encoding,
    /// CSV values to read as NULL besides the empty string (repeatable), e.g. NA.
    #[arg(long = "null-value", value_name = "TEXT")]
    pub null_values: Vec<String>,
    /// Requests at once: objects at once, a big file in up to this many ranges (default: the
    /// connection's setting).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Add _source_key and _source_modified columns.
    #[arg(long)]
    pub source_columns: bool,
    /// Load only the files of a folder whose key below the folder matches this glob
    /// (repeatable; `PREFIX=GLOB` names the folder when there are several), e.g. '**/*.csv'.
    #[arg(long = "pattern", value_name = "[PREFIX=]GLOB")]
    pub patterns: Vec<String>,
    /// Pass over the files of a folder whose key below the folder matches this glob
    /// (repeatable; `PREFIX=GLOB` as for --pattern), e.g. '**/tmp/**'.
    #[arg(long = "exclude", value_name = "[PREFIX=]GLOB")]
    pub excludes: Vec<String>,
    /// Load only these columns of a table: `TABLE=col1,col2` (TABLE= may be left out with a
    /// single --file or --folder; repeatable for several tables).
    #[arg(long = "columns", value_name = "[TABLE=]COLS")]
    pub columns: Vec<String>,
    /// Load every column of a table but these: `TABLE=col1,col2`.
    #[arg(long = "exclude-columns", value_name = "[TABLE=]COLS")]
    pub exclude_columns: Vec<String>,
    /// Pseudonymise these columns of a table (HMAC-SHA-256 under the pool's key, hex text; NULL
    /// stays NULL): `TABLE=col1,col2`.
    #[arg(long = "pseudonymise", value_name = "[TABLE=]COLS")]
    pub pseudonymise: Vec<String>,
    /// Delta load: load only shard I of N (0 ≤ I < N) of the objects, by a stable hash of each
    /// key, e.g. 0/4 … 3/4 on four workers; each commits its own appends.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Json,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The SQL query (DataFusion SQL; read-only). Tables of the pool are addressed by name.
    pub sql: String,
    /// Output format (--json means json).
    #[arg(long, value_enum, default_value = "table")]
    pub format: QueryFormat,
    #[command(flatten)]
    pub limits: QueryLimitArgs,
    /// Print at most this many rows (the query stops there; a note on stderr says rows were cut).
    #[arg(long, value_name = "ROWS")]
    pub max_rows: Option<usize>,
}

/// `--delimiter`: one character, or `\t` / `tab` for a tab.
fn parse_delimiter(s: &str) -> Result<char, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok('\t'),
        _ if s.chars().count() == 1 => Ok(s.chars().next().unwrap()),
        _ => Err(format!("'{s}' is not one character (use '\\t' or 'tab' for a tab)")),
    }
}

fn parse_encoding(s: &str) -> Result<lakeport_core::Encoding, String> {
    lakeport_core::Encoding::from_label(s)
}
