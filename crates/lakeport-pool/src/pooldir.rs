use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use arrow_schema::{Schema, SchemaRef};
use chrono::{DateTime, TimeZone, Utc};
use iceberg::arrow::{arrow_schema_to_schema_auto_assign_ids, schema_to_arrow_schema};

use crate::types::strip_field_ids;
use iceberg::io::{FileIO, LocalFsStorageFactory};
use iceberg::spec::{TableMetadata, TableMetadataBuilder};
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent, TableCreation, TableIdent, TableUpdate};
use iceberg_catalog_sql::{SqlBindStyle, SqlCatalog, SqlCatalogBuilder};
use lakeport_source::Secret;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Row, SqlitePool};

use crate::column_names::{ColumnNames, RENAMES_PROPERTY};
use crate::connections::StoredConnection;
use crate::names::validate_connection_name;
use crate::commit::{SqliteCommitter, TableCommitter};
use crate::rest::{PoolCatalog, RestCommitter, RestPool, RestPoolCatalog, CATALOG_SECRET};
use crate::writer::{describe_difference, WriteBase};
use crate::{
    secrets, validate_identifier, Job, JobOrigin, JobStatus, Ledger, LoadMode, PoolError, TableWriter, CATALOG_NAME,
};

/// The directory that holds every pool: one SQLite catalog, one warehouse, the secrets (layout:
/// the crate doc). Cheap to clone (shared handles); one per process is enough.
#[derive(Clone)]
pub struct PoolDir {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    db: SqlitePool,
    catalog: Arc<SqlCatalog>,
    /// Publishes every table commit (`commit`): the embedded catalog's, for now the only kind.
    committer: Arc<dyn TableCommitter>,
    file_io: FileIO,
}

/// A pool as [`PoolDir::list_pools`] lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct PoolInfo {
    /// The pool's name (an identifier; its Iceberg namespace).
    pub name: String,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
    /// How many tables it holds; `None` when its catalog could not be asked (then
    /// `catalog_error` says why).
    pub tables: Option<usize>,
    /// Why a REST-catalog pool's tables could not be counted (its catalog unreachable, refusing
    /// the credentials, …); `None` when they were. The pool is listed all the same: one catalog
    /// that is down does not hide the other pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_error: Option<String>,
    /// How many connections it has.
    pub connections: usize,
    /// Where its tables live.
    pub kind: CatalogKind,
    /// A REST-catalog pool's catalog URL (settings only, never a secret); `None` for an embedded pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_url: Option<String>,
    /// Where a REST-catalog pool's files go (`s3://bucket/prefix/<pool>`); `None` for an embedded pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The kind of a pool's catalog, as [`PoolInfo`] names it (see [`PoolCatalog`]).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CatalogKind {
    /// The pool directory's SQLite catalog and local warehouse folder.
    Embedded,
    /// An Iceberg REST catalog with an S3 warehouse.
    Rest,
}

/// A table of a pool, from its current Iceberg snapshot (the snapshot summary's
/// `total-records` and `total-data-files`, Iceberg spec "Snapshot Summary").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TableInfo {
    /// The table's name (an identifier).
    pub name: String,
    /// Rows in the current snapshot (0 for a table without one).
    pub rows: u64,
    /// Data files in the current snapshot.
    pub data_files: u64,
    /// Snapshots in the table's metadata (the history a time-travel query can reach).
    pub snapshots: usize,
    /// When the current snapshot was committed (UTC); `None` without one.
    pub last_load: Option<DateTime<Utc>>,
    /// How the current snapshot was loaded (`full`, `delta`); `None` for one lakeport did not write.
    pub last_mode: Option<String>,
    /// The table's location (`file://…/warehouse/<pool>/<table>`); left out of JSON when empty (the
    /// API blanks it for read-only tokens).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub location: String,
}

const SCHEMA_SQL: &[&str] = &[
    // `catalog`: where the pool's tables live (rest.rs `PoolCatalog` as JSON); NULL: embedded.
    "CREATE TABLE IF NOT EXISTS lakeport_pools (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, catalog TEXT)",
    "CREATE TABLE IF NOT EXISTS lakeport_connections (pool TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
        created_at TEXT NOT NULL, PRIMARY KEY (pool, name))",
    "CREATE TABLE IF NOT EXISTS lakeport_shares (pool TEXT NOT NULL, connection TEXT NOT NULL, shares TEXT NOT NULL,
        PRIMARY KEY (pool, connection))",
    "CREATE TABLE IF NOT EXISTS lakeport_jobs (id TEXT PRIMARY KEY, pool TEXT NOT NULL, connection TEXT NOT NULL,
        mode TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, tables TEXT NOT NULL,
        files INTEGER NOT NULL, rows INTEGER NOT NULL, bytes INTEGER NOT NULL, error TEXT, details TEXT NOT NULL)",
    // Saved extractions (extractions.rs): the definition as versioned JSON (lakeport-core's
    // ExtractionDefinition), and the scheduler's state, so schedules survive restarts.
    "CREATE TABLE IF NOT EXISTS lakeport_extractions (pool TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
        version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, next_run_at TEXT, retry_at TEXT,
        retry_attempt INTEGER NOT NULL DEFAULT 0, running_job TEXT, running_pid INTEGER, PRIMARY KEY (pool, name))",
    // Per-table run locks for every process of the pool (runs of the CLI, the server, the
    // scheduler): the runs (or drop) holding a table, shared or exclusive, and their process, so
    // a lock left by a process that died is taken over (Pool::lock_tables_as). It replaces
    // lakeport_table_locks (one holder per table), whose locks belonged to runs of an earlier
    // lakeport.
    "CREATE TABLE IF NOT EXISTS lakeport_table_holds (pool TEXT NOT NULL, table_name TEXT NOT NULL, holder TEXT NOT NULL,
        shared INTEGER NOT NULL, process TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (pool, table_name, holder))",
    "DROP TABLE IF EXISTS lakeport_table_locks",
    // API tokens of `lakeport serve` (tokens.rs): only their SHA-256 hash.
    "CREATE TABLE IF NOT EXISTS lakeport_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, scope TEXT NOT NULL,
        sha256 TEXT NOT NULL, created_at TEXT NOT NULL)",
];

impl PoolDir {
    /// Opens (creating if needed) a pool directory: its `catalog.db` (SQLite in WAL mode,
    /// waiting up to 30 s for another process's write lock) with lakeport's tables, migrated
    /// from earlier versions where needed, and the Iceberg SQL catalog on it.
    ///
    /// # Errors
    ///
    /// [`PoolError::Io`] when the directory cannot be created or resolved;
    /// [`PoolError::Database`] when `catalog.db` cannot be opened or migrated;
    /// [`PoolError::Catalog`] when the Iceberg catalog cannot be loaded on it.
    pub async fn open(dir: impl AsRef<Path>) -> Result<PoolDir, PoolError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir.join("warehouse")).map_err(|e| PoolError::io(format!("create {}", dir.display()), e))?;
        let root = dir.canonicalize().map_err(|e| PoolError::io(format!("open {}", dir.display()), e))?;
        let db_path = root.join("catalog.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db_path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
        let db = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        for stmt in SCHEMA_SQL {
            sqlx::query(stmt).execute(&db).await?;
        }
        crate::extractions::migrate_jobs(&db).await?;
        let catalog = SqlCatalogBuilder::default()
            .uri(format!("sqlite://{}", db_path.display()))
            .warehouse_location(format!("file://{}/warehouse", root.display()))
            .sql_bind_style(SqlBindStyle::QMark)
            .with_storage_factory(Arc::new(LocalFsStorageFactory))
            .load(CATALOG_NAME, HashMap::new())
            .await
            .map_err(|e| PoolError::Catalog(format!("cannot open the catalog at {}: {e}", db_path.display())))?;
        let committer = Arc::new(SqliteCommitter::new(db.clone()));
        Ok(PoolDir { inner: Arc::new(Inner { root, db, catalog: Arc::new(catalog), committer, file_io: FileIO::new_with_fs() }) })
    }

    /// The pool directory (absolute, canonical).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn db(&self) -> &SqlitePool {
        &self.inner.db
    }

    /// `<root>/catalog.db`: the SQLite file any Iceberg SQL catalog reader can open.
    pub fn catalog_path(&self) -> PathBuf {
        self.inner.root.join("catalog.db")
    }

    /// Creates an embedded pool: a row in `lakeport_pools` and the Iceberg namespace `name`.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`] for a name that is not an identifier;
    /// [`PoolError::PoolExists`]; [`PoolError::Database`] or [`PoolError::Iceberg`] when it
    /// cannot be stored.
    pub async fn create_pool(&self, name: &str) -> Result<Pool, PoolError> {
        self.create_pool_with(name, &PoolCatalog::Embedded, None).await
    }

    /// Creates a pool whose tables live in `catalog`. A REST-catalog pool stores `secret` (the
    /// secret access key, or the bearer token; none for an assumed role) beside connection
    /// secrets, then creates its namespace in the catalog (the first call: it proves the URL,
    /// the credentials and the permission to create); if that fails, nothing stays behind.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`]; [`PoolError::PoolExists`]; [`PoolError::InvalidPoolSettings`]
    /// for settings that do not validate or a missing secret; [`PoolError::RemoteCatalog`] /
    /// [`PoolError::Aws`] when the catalog refuses or cannot be reached; [`PoolError::Database`],
    /// [`PoolError::Io`], [`PoolError::Iceberg`] when it cannot be stored.
    pub async fn create_pool_with(&self, name: &str, catalog: &PoolCatalog, secret: Option<&Secret>) -> Result<Pool, PoolError> {
        Ok(self.create_or_join_pool(name, catalog, secret, false).await?.0)
    }

    /// [`PoolDir::create_pool_with`], and whether the REST catalog's namespace existed already:
    /// then this pool directory joins a pool another machine created (its tables are this
    /// pool's tables). With `join`, a namespace that does not exist is an error and nothing is
    /// created (a mistyped name does not start a second, empty pool). Embedded pools: never
    /// existed; `join` is not for them.
    ///
    /// # Errors
    ///
    /// As [`PoolDir::create_pool_with`]; [`PoolError::NothingToJoin`] with `join` and no namespace.
    pub async fn create_or_join_pool(&self, name: &str, catalog: &PoolCatalog, secret: Option<&Secret>, join: bool) -> Result<(Pool, bool), PoolError> {
        validate_identifier("pool", name)?;
        if join && matches!(catalog, PoolCatalog::Embedded) {
            return Err(PoolError::InvalidPoolSettings("only a REST-catalog pool can be joined (--catalog-url …)".into()));
        }
        let backend = match catalog {
            PoolCatalog::Embedded => Backend::Embedded,
            PoolCatalog::Rest(settings) => Backend::Rest(Ok(Arc::new(RestPool::connect(name, settings, secret)?))),
        };
        let stored = match catalog {
            PoolCatalog::Embedded => None,
            rest => Some(serde_json::to_string(rest).expect("settings serialise")),
        };
        let inserted = sqlx::query("INSERT INTO lakeport_pools (name, created_at, catalog) VALUES (?, ?, ?)")
            .bind(name)
            .bind(Utc::now().to_rfc3339())
            .bind(stored)
            .execute(&self.inner.db)
            .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(PoolError::PoolExists(name.to_string())),
            Err(e) => return Err(e.into()),
        }
        let pool = Pool { dir: self.clone(), name: name.to_string(), backend };
        let ready = async {
            match &pool.backend {
                Backend::Embedded => {
                    let ns = NamespaceIdent::new(name.to_string());
                    if !self.inner.catalog.namespace_exists(&ns).await? {
                        self.inner.catalog.create_namespace(&ns, HashMap::new()).await?;
                    }
                    Ok(false)
                }
                Backend::Rest(rest) => {
                    if let Some(secret) = secret {
                        secrets::store(self.root(), name, CATALOG_SECRET, secret)?;
                    }
                    match rest.as_ref().expect("connected above").ensure_namespace(!join).await {
                        Ok(false) if join => Err(PoolError::NothingToJoin(name.to_string())),
                        other => other,
                    }
                }
            }
        }
        .await;
        match ready {
            Ok(existed) => Ok((pool, existed)),
            Err(e) => {
                let _ = sqlx::query("DELETE FROM lakeport_pools WHERE name = ?").bind(name).execute(&self.inner.db).await;
                let _ = secrets::remove(self.root(), name, CATALOG_SECRET);
                Err(e)
            }
        }
    }

    /// The pool `name` with its catalog (a REST-catalog pool's client is built here, without a
    /// request; settings that cannot be used are reported by the calls that need the catalog).
    fn open_pool(&self, name: &str, catalog: Option<String>) -> Result<Pool, PoolError> {
        let backend = match catalog {
            None => Backend::Embedded,
            Some(json) => match serde_json::from_str::<PoolCatalog>(&json) {
                Ok(PoolCatalog::Embedded) => Backend::Embedded,
                Ok(PoolCatalog::Rest(settings)) => {
                    let connected = secrets::load_opt(self.root(), name, CATALOG_SECRET).and_then(|secret| RestPool::connect(name, &settings, secret.as_ref()));
                    Backend::Rest(connected.map(Arc::new).map_err(|e| e.to_string()))
                }
                Err(e) => return Err(PoolError::corrupt(format!("the catalog settings of pool '{name}'"), format_args!("they do not parse: {e}"))),
            },
        };
        Ok(Pool { dir: self.clone(), name: name.to_string(), backend })
    }

    /// An existing pool.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchPool`]; [`PoolError::Database`].
    pub async fn pool(&self, name: &str) -> Result<Pool, PoolError> {
        let found = sqlx::query("SELECT name, catalog FROM lakeport_pools WHERE name = ?").bind(name).fetch_optional(&self.inner.db).await?;
        match found {
            Some(r) => self.open_pool(name, r.get("catalog")),
            None => Err(PoolError::NoSuchPool(name.to_string())),
        }
    }

    /// The names of every pool, sorted, from the pool directory's own database alone (no
    /// catalog is asked: a REST catalog that is down does not stop the other pools' scheduler
    /// rounds or job recovery).
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn pool_names(&self) -> Result<Vec<String>, PoolError> {
        let rows = sqlx::query("SELECT name FROM lakeport_pools ORDER BY name").fetch_all(&self.inner.db).await?;
        Ok(rows.into_iter().map(|r| r.get("name")).collect())
    }

    /// Every pool, by name, with its table and connection counts. A REST-catalog pool whose
    /// catalog cannot list its tables is listed with `tables: None` and the reason in
    /// `catalog_error`, not left out and not failing the list.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] for a stored creation time, catalog setting or connection that does
    /// not parse; [`PoolError::Database`]; [`PoolError::Iceberg`] when the embedded catalog (the
    /// pool directory's own database) cannot list a pool's tables.
    pub async fn list_pools(&self) -> Result<Vec<PoolInfo>, PoolError> {
        let rows = sqlx::query("SELECT name, created_at, catalog FROM lakeport_pools ORDER BY name").fetch_all(&self.inner.db).await?;
        let mut out = Vec::new();
        for r in rows {
            let name: String = r.get("name");
            let pool = self.open_pool(&name, r.get("catalog"))?;
            let (kind, catalog_url, location) = match pool.catalog_settings().await? {
                PoolCatalog::Embedded => (CatalogKind::Embedded, None, None),
                PoolCatalog::Rest(rest) => (CatalogKind::Rest, Some(rest.catalog_url.clone()), Some(rest.pool_location(&name))),
            };
            let (tables, catalog_error) = match pool.table_names().await {
                Ok(names) => (Some(names.len()), None),
                Err(e) if kind == CatalogKind::Rest => (None, Some(e.to_string())),
                Err(e) => return Err(e),
            };
            out.push(PoolInfo {
                tables,
                catalog_error,
                connections: pool.connections().await?.len(),
                created_at: parse_time(&format!("pool '{name}'"), r.get("created_at"))?,
                name,
                kind,
                catalog_url,
                location,
            });
        }
        Ok(out)
    }

    /// Drops a pool with its tables (data files included), connections, saved extractions, secrets
    /// (the pseudonymisation key too) and job history.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchPool`]; [`PoolError::Iceberg`] when a table or the namespace cannot be
    /// dropped from the catalog; [`PoolError::Database`]; [`PoolError::Io`] naming the directory
    /// that cannot be removed.
    pub async fn drop_pool(&self, name: &str) -> Result<(), PoolError> {
        let pool = self.pool(name).await?;
        for t in pool.table_names().await? {
            pool.drop_from_catalog(&TableIdent::new(pool.namespace(), t)).await?;
        }
        // A REST-catalog pool's namespace stays in the catalog (other engines may have tables in it).
        let ns = pool.namespace();
        if matches!(pool.backend, Backend::Embedded) && self.inner.catalog.namespace_exists(&ns).await? {
            self.inner.catalog.drop_namespace(&ns).await?;
        }
        for stmt in [
            "DELETE FROM lakeport_connections WHERE pool = ?",
            "DELETE FROM lakeport_shares WHERE pool = ?",
            "DELETE FROM lakeport_extractions WHERE pool = ?",
            "DELETE FROM lakeport_jobs WHERE pool = ?",
            "DELETE FROM lakeport_pools WHERE name = ?",
        ] {
            sqlx::query(stmt).bind(name).execute(&self.inner.db).await?;
        }
        for dir in [self.inner.root.join("warehouse").join(name), self.inner.root.join("secrets").join(name)] {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| PoolError::io(format!("remove {}", dir.display()), e))?;
            }
        }
        Ok(())
    }
}

/// One data pool: its connections, tables and jobs (an Iceberg namespace of the pool
/// directory's catalog). Cheap to clone.
#[derive(Clone)]
pub struct Pool {
    dir: PoolDir,
    name: String,
    backend: Backend,
}

/// Where a pool's tables live (see [`PoolCatalog`]).
#[derive(Clone)]
enum Backend {
    Embedded,
    /// The client, or why it could not be built (the settings, a missing secret or identity).
    Rest(Result<Arc<RestPool>, String>),
}

impl Pool {
    /// The pool's name (its Iceberg namespace).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn namespace(&self) -> NamespaceIdent {
        NamespaceIdent::new(self.name.clone())
    }

    /// The pool's tables as an iceberg catalog: the pool directory's SQL catalog, or the REST
    /// catalog seen through the pool's namespace.
    pub(crate) fn catalog(&self) -> Result<Arc<dyn Catalog>, PoolError> {
        Ok(match self.rest()? {
            None => self.dir.inner.catalog.clone() as Arc<dyn Catalog>,
            Some(pool) => Arc::new(RestPoolCatalog { pool }) as Arc<dyn Catalog>,
        })
    }

    /// The REST-catalog pool's client; `None` for an embedded pool.
    pub(crate) fn rest(&self) -> Result<Option<Arc<RestPool>>, PoolError> {
        match &self.backend {
            Backend::Embedded => Ok(None),
            Backend::Rest(Ok(pool)) => Ok(Some(pool.clone())),
            Backend::Rest(Err(why)) => Err(PoolError::InvalidPoolSettings(format!("pool '{}' cannot reach its REST catalog: {why}", self.name))),
        }
    }

    /// Where the pool's tables live (settings only; secrets are never part of it).
    pub async fn catalog_settings(&self) -> Result<PoolCatalog, PoolError> {
        let row = sqlx::query("SELECT catalog FROM lakeport_pools WHERE name = ?").bind(&self.name).fetch_one(self.db()).await?;
        Ok(match row.get::<Option<String>, _>("catalog") {
            None => PoolCatalog::Embedded,
            Some(json) => serde_json::from_str(&json).map_err(|e| PoolError::corrupt(format!("the catalog settings of pool '{}'", self.name), format_args!("they do not parse: {e}")))?,
        })
    }

    /// The commit half of the pool's kind (the one [`TableCommitter`] contract, two implementations).
    fn committer(&self) -> Result<Arc<dyn TableCommitter>, PoolError> {
        Ok(match self.rest()? {
            None => self.dir.inner.committer.clone(),
            Some(pool) => Arc::new(RestCommitter { pool }) as Arc<dyn TableCommitter>,
        })
    }

    /// The FileIO data, manifests and ledger files are written with.
    fn file_io(&self) -> Result<FileIO, PoolError> {
        Ok(match self.rest()? {
            None => self.dir.inner.file_io.clone(),
            Some(pool) => pool.file_io().clone(),
        })
    }

    pub(crate) fn db(&self) -> &SqlitePool {
        &self.dir.inner.db
    }

    // ---- connections -------------------------------------------------------------------------

    /// The one rule for a new connection's name: no connection of this pool has it, ignoring ASCII
    /// case (`Sales` and `sales` would be one SQL name). The CLI asks before prompting for a
    /// secret, lakeport-core before Test Connection, [`Pool::add_connection`] at the insert.
    ///
    /// # Errors
    /// [`PoolError::ConnectionExists`] naming the pool and the name; [`PoolError::Database`] or
    /// [`PoolError::Corrupt`] when the connections cannot be read.
    pub async fn ensure_connection_name_free(&self, name: &str) -> Result<(), PoolError> {
        if self.connections().await?.iter().any(|c| c.name.eq_ignore_ascii_case(name)) {
            return Err(PoolError::ConnectionExists { pool: self.name.clone(), connection: name.to_string() });
        }
        Ok(())
    }

    /// Saves a connection with its `settings` (serialised as they are, see `connections.rs`) and
    /// its secret (an assumed-role connection has none). Names are unique per pool
    /// (case-insensitively).
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`] for a name that is not 1–64 letters, digits, space, `_`, `-`,
    /// `.`; [`PoolError::InvalidSettings`] for settings that are not an object with a `type`;
    /// [`PoolError::ConnectionExists`] for a name taken ignoring case; [`PoolError::Io`] when the
    /// secret cannot be written; [`PoolError::Database`] (then no secret stays behind).
    pub async fn add_connection(&self, name: &str, settings: impl Serialize, secret: Option<&Secret>) -> Result<StoredConnection, PoolError> {
        validate_connection_name(name)?;
        let (json, kind, settings) = crate::connections::encode(name, &settings)?;
        self.ensure_connection_name_free(name).await?;
        let conn = StoredConnection { pool: self.name.clone(), name: name.to_string(), kind, settings, created_at: Utc::now() };
        if let Some(secret) = secret {
            secrets::store(self.dir.root(), &self.name, name, secret)?;
        }
        let res = sqlx::query("INSERT INTO lakeport_connections (pool, name, config, created_at) VALUES (?, ?, ?, ?)")
            .bind(&self.name)
            .bind(name)
            .bind(json)
            .bind(conn.created_at.to_rfc3339())
            .execute(self.db())
            .await;
        if let Err(e) = res {
            let _ = secrets::remove(self.dir.root(), &self.name, name);
            return Err(e.into());
        }
        Ok(conn)
    }

    /// Replaces a connection's settings (same name, same type; its shares and jobs stay) and,
    /// with `secret`, its secret: `Some(Some(s))` stores `s`, `Some(None)` deletes the stored one,
    /// `None` keeps it. Both or neither: a failed settings write puts the old secret back.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchConnection`]; [`PoolError::InvalidSettings`] as for
    /// [`Pool::add_connection`]; [`PoolError::Io`] when the stored secret cannot be read or the
    /// new one written or removed; [`PoolError::Database`].
    pub async fn update_connection(&self, name: &str, settings: impl Serialize, secret: Option<Option<&Secret>>) -> Result<StoredConnection, PoolError> {
        let old = self.connection(name).await?;
        let (json, kind, settings) = crate::connections::encode(name, &settings)?;
        // An unreadable stored secret is an error here too: it could not be put back.
        let old_secret = self.connection_secret_opt(name)?;
        match secret {
            Some(Some(s)) => secrets::store(self.dir.root(), &self.name, name, s)?,
            Some(None) => secrets::remove(self.dir.root(), &self.name, name)?,
            None => {}
        }
        let res = sqlx::query("UPDATE lakeport_connections SET config = ? WHERE pool = ? AND name = ?").bind(json).bind(&self.name).bind(name).execute(self.db()).await;
        if let Err(e) = res {
            if secret.is_some() {
                let _ = match &old_secret {
                    Some(s) => secrets::store(self.dir.root(), &self.name, name, s),
                    None => secrets::remove(self.dir.root(), &self.name, name),
                };
            }
            return Err(e.into());
        }
        Ok(StoredConnection { kind, settings, ..old })
    }

    /// Every connection of the pool as stored, by name (typed by lakeport-core's `connections`).
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] naming the first connection whose settings are not a JSON object
    /// with a string `type`, or whose time does not parse; [`PoolError::Database`].
    pub async fn connections(&self) -> Result<Vec<StoredConnection>, PoolError> {
        let rows = sqlx::query("SELECT name, config, created_at FROM lakeport_connections WHERE pool = ? ORDER BY name")
            .bind(&self.name)
            .fetch_all(self.db())
            .await?;
        rows.into_iter().map(|r| crate::connections::from_row(&self.name, r.get("name"), r.get("config"), r.get("created_at"))).collect()
    }

    /// One connection as stored.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchConnection`]; as [`Pool::connections`].
    pub async fn connection(&self, name: &str) -> Result<StoredConnection, PoolError> {
        self.connections()
            .await?
            .into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| PoolError::NoSuchConnection { pool: self.name.clone(), connection: name.to_string() })
    }

    /// The stored secret of a connection (for building its clients; never for display).
    ///
    /// # Errors
    ///
    /// [`PoolError::Io`] naming the connection when its secret file is missing or unreadable.
    pub fn connection_secret(&self, name: &str) -> Result<Secret, PoolError> {
        secrets::load(self.dir.root(), &self.name, name)
    }

    /// The secret if the connection has one (`Ok(None)`: it has none, as an assumed-role
    /// connection).
    ///
    /// # Errors
    ///
    /// [`PoolError::Io`] when the secret file exists but cannot be read (permissions, I/O) —
    /// never read as "no secret", which would send unsigned requests.
    pub fn connection_secret_opt(&self, name: &str) -> Result<Option<Secret>, PoolError> {
        secrets::load_opt(self.dir.root(), &self.name, name)
    }

    /// The shares selected on a connection, as stored: one JSON value per share (lakeport-core
    /// types them as zero-copy's `SelectedShare`). None stored: empty.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] naming the connection when the stored row is not a JSON array
    /// (never read as "no shares": the shared tables would silently vanish from SQL);
    /// [`PoolError::Database`].
    pub async fn shares(&self, connection: &str) -> Result<Vec<serde_json::Value>, PoolError> {
        let row = sqlx::query("SELECT shares FROM lakeport_shares WHERE pool = ? AND connection = ?")
            .bind(&self.name)
            .bind(connection)
            .fetch_optional(self.db())
            .await?;
        Ok(match row {
            Some(r) => serde_json::from_str(&r.get::<String, _>("shares"))
                .map_err(|e| PoolError::corrupt(format!("the shares of connection '{connection}' in pool '{}'", self.name), format_args!("they do not parse: {e}")))?,
            None => Vec::new(),
        })
    }

    /// Replaces the shares selected on a connection (which types have shares is the caller's
    /// rule: lakeport-core allows them on zero-copy connections only).
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchConnection`]; [`PoolError::InvalidSettings`] when `shares` cannot be
    /// serialised; [`PoolError::Database`].
    pub async fn set_shares<S: Serialize>(&self, connection: &str, shares: &[S]) -> Result<(), PoolError> {
        self.connection(connection).await?;
        let json = serde_json::to_string(shares).map_err(|e| PoolError::InvalidSettings { connection: connection.to_string(), detail: format!("its shares: {e}") })?;
        sqlx::query("INSERT OR REPLACE INTO lakeport_shares (pool, connection, shares) VALUES (?, ?, ?)")
            .bind(&self.name)
            .bind(connection)
            .bind(json)
            .execute(self.db())
            .await?;
        Ok(())
    }

    /// Removes a connection with its shares and secret (its jobs stay in the history).
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchConnection`]; [`PoolError::Database`]; [`PoolError::Io`] when the
    /// secret file cannot be removed.
    pub async fn remove_connection(&self, name: &str) -> Result<(), PoolError> {
        let done = sqlx::query("DELETE FROM lakeport_connections WHERE pool = ? AND name = ?").bind(&self.name).bind(name).execute(self.db()).await?;
        if done.rows_affected() == 0 {
            return Err(PoolError::NoSuchConnection { pool: self.name.clone(), connection: name.to_string() });
        }
        sqlx::query("DELETE FROM lakeport_shares WHERE pool = ? AND connection = ?").bind(&self.name).bind(name).execute(self.db()).await?;
        secrets::remove(self.dir.root(), &self.name, name)
    }

    // ---- tables ------------------------------------------------------------------------------

    /// The names of the pool's tables, sorted.
    ///
    /// # Errors
    ///
    /// [`PoolError::Iceberg`] when the catalog cannot list them.
    pub async fn table_names(&self) -> Result<Vec<String>, PoolError> {
        if let Some(rest) = self.rest()? {
            return rest.table_names().await;
        }
        let ns = self.namespace();
        let catalog = self.catalog()?;
        if !catalog.namespace_exists(&ns).await? {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = catalog.list_tables(&ns).await?.into_iter().map(|t| t.name().to_string()).collect();
        names.sort();
        Ok(names)
    }

    pub(crate) fn dir_root(&self) -> &Path {
        self.dir.root()
    }

    /// The Iceberg table (it must exist).
    pub(crate) async fn load_table(&self, table: &str) -> Result<iceberg::table::Table, PoolError> {
        self.load(table).await?.ok_or_else(|| PoolError::NoSuchTable { pool: self.name.clone(), table: table.to_string() })
    }

    async fn load(&self, table: &str) -> Result<Option<iceberg::table::Table>, PoolError> {
        if let Some(rest) = self.rest()? {
            return rest.load_table(table).await;
        }
        let ident = TableIdent::new(self.namespace(), table.to_string());
        let catalog = self.catalog()?;
        if !catalog.table_exists(&ident).await? {
            return Ok(None);
        }
        Ok(Some(catalog.load_table(&ident).await?))
    }

    /// The table's metadata as the catalog holds it now, and where it is stored (`None`: no such
    /// table): what a writer whose commit met a conflict rebuilds on.
    pub(crate) async fn current(&self, table: &str) -> Result<Option<(TableMetadata, String)>, PoolError> {
        match self.load(table).await? {
            Some(t) => Ok(Some((t.metadata().clone(), t.metadata_location_result()?.to_string()))),
            None => Ok(None),
        }
    }

    /// Every table of the pool, by name, from its current snapshot.
    ///
    /// # Errors
    ///
    /// [`PoolError::Iceberg`] when the catalog or a table's metadata cannot be read.
    pub async fn tables(&self) -> Result<Vec<TableInfo>, PoolError> {
        let mut out = Vec::new();
        for name in self.table_names().await? {
            if let Some(t) = self.load(&name).await? {
                out.push(table_info(&name, t.metadata()));
            }
        }
        Ok(out)
    }

    /// One table, from its current snapshot.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchTable`]; [`PoolError::Iceberg`] as for [`Pool::tables`].
    pub async fn table(&self, name: &str) -> Result<TableInfo, PoolError> {
        match self.load(name).await? {
            Some(t) => Ok(table_info(name, t.metadata())),
            None => Err(PoolError::NoSuchTable { pool: self.name.clone(), table: name.to_string() }),
        }
    }

    /// The table's columns (without Iceberg field ids) under their source names (see
    /// `column_names`: a few names are stored under another), if the table exists.
    ///
    /// # Errors
    ///
    /// [`PoolError::Catalog`] when the table's column-renames property does not parse;
    /// [`PoolError::Iceberg`] when its metadata cannot be read or converted.
    pub async fn table_schema(&self, table: &str) -> Result<Option<SchemaRef>, PoolError> {
        Ok(match self.load(table).await? {
            Some(t) => {
                let names = ColumnNames::from_properties(t.metadata().properties(), table)?;
                Some(Arc::new(names.to_source(&strip_field_ids(&schema_to_arrow_schema(t.metadata().current_schema())?))))
            }
            None => None,
        })
    }

    /// Which object versions the table's current snapshot was loaded from, and where their rows
    /// are (empty for a new table).
    ///
    /// # Errors
    ///
    /// [`PoolError::LedgerStale`] when the table's history no longer says (see `ledger.rs`);
    /// [`PoolError::Corrupt`] for a ledger file lakeport cannot read back (an entry without its
    /// version, …); [`PoolError::Catalog`] when a ledger file cannot be read;
    /// [`PoolError::Iceberg`] when the table's metadata cannot be read.
    pub async fn ledger(&self, table: &str) -> Result<Ledger, PoolError> {
        Ok(match self.load(table).await? {
            Some(t) => Ledger::read(t.file_io(), t.metadata(), table).await?,
            None => Ledger::default(),
        })
    }

    /// Starts writing a load into `table`. A full load may change the table's schema; a delta load
    /// may evolve it in the same commit — add columns, promote int → long, float → double, a
    /// decimal's precision — and anything else is [`PoolError::SchemaDrift`] naming the column.
    ///
    /// `schema` has the source's column names; the few a table cannot store as named are stored
    /// under another (see [`TableWriter::renamed_columns`]), the same way on every load.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`] for a table name that is not an identifier;
    /// [`PoolError::UnsupportedType`] for a column no Iceberg table can store;
    /// [`PoolError::SchemaDrift`] naming the column for a delta load the table's schema cannot
    /// evolve to take; as [`Pool::ledger`] for a delta load; [`PoolError::Catalog`] for a
    /// column-renames property that does not parse; [`PoolError::Iceberg`].
    pub async fn begin_write(&self, table: &str, schema: &Schema, mode: LoadMode) -> Result<TableWriter, PoolError> {
        validate_identifier("table", table)?;
        let loaded = self.load(table).await?;
        let mut names = match &loaded {
            Some(t) => ColumnNames::from_properties(t.metadata().properties(), table)?,
            None => ColumnNames::default(),
        };
        let recorded = names.clone();
        let normalized = crate::types::normalize_schema(&names.assign(schema))?;
        let ident = TableIdent::new(self.namespace(), table.to_string());
        let fresh = arrow_schema_to_schema_auto_assign_ids(&normalized)?;
        let start = match loaded {
            Some(t) => {
                let current = t.metadata().clone();
                let base = match mode {
                    LoadMode::Delta => Some(Ledger::read(t.file_io(), &current, table).await?),
                    LoadMode::Full => None,
                };
                let current_cols = strip_field_ids(&schema_to_arrow_schema(current.current_schema())?);
                let new_cols = strip_field_ids(&schema_to_arrow_schema(&fresh)?);
                let new_schema = if same_columns(&current_cols, &new_cols) {
                    None
                } else if mode == LoadMode::Delta {
                    // Schema evolution in the same commit as the data (Iceberg spec, "Schema
                    // Evolution"): new columns get new field ids, lossless promotions keep theirs.
                    let evolved = evolve_schema(current.current_schema(), &normalized, current.last_column_id()).map_err(|detail| PoolError::SchemaDrift {
                        table: table.to_string(),
                        detail: format!("{detail} ({}); a delta load cannot make this change, run a full load", describe_difference(&current_cols, &new_cols)),
                    })?;
                    Some(evolved)
                } else {
                    Some(offset_field_ids(&fresh, current.last_column_id())?)
                };
                // The new schema carries the id this commit's snapshot refers to — one past the
                // table's highest, what iceberg's metadata builder assigns — since a REST catalog
                // may keep the id a client sends (ministack does, and drops a schema whose id it
                // already has: the snapshot then named a schema the table lacked).
                let next_schema_id = current.schemas_iter().map(|s| s.schema_id()).max().unwrap_or(0) + 1;
                let new_schema = new_schema.map(|s| s.into_builder().with_schema_id(next_schema_id).build()).transpose()?;
                // Schema evolution as the catalog receives it (Iceberg REST spec, `TableUpdate`).
                let mut schema_updates = match new_schema {
                    Some(schema) => vec![TableUpdate::AddSchema { schema }, TableUpdate::SetCurrentSchema { schema_id: -1 }],
                    None => Vec::new(),
                };
                if names != recorded {
                    schema_updates.push(TableUpdate::SetProperties { updates: HashMap::from([(RENAMES_PROPERTY.to_string(), names.to_property())]) });
                }
                let location = Some(t.metadata_location_result()?.to_string());
                WriteBase { metadata: current, location, schema_updates, ledger: base }
            }
            None => {
                let mut metadata = self.new_table_metadata(table, fresh)?;
                if names != recorded {
                    let property = HashMap::from([(RENAMES_PROPERTY.to_string(), names.to_property())]);
                    metadata = metadata.into_builder(None).set_properties(property)?.build()?.metadata;
                }
                WriteBase { metadata, location: None, schema_updates: Vec::new(), ledger: None }
            }
        };
        let renamed = names.applied_to(schema);
        TableWriter::new(self.clone(), ident, self.committer()?, self.file_io()?, start, mode, names, renamed).await
    }

    fn new_table_metadata(&self, table: &str, schema: iceberg::spec::Schema) -> Result<TableMetadata, PoolError> {
        let location = match self.rest()? {
            None => format!("file://{}/warehouse/{}/{}", self.dir.root().display(), self.name, table),
            Some(rest) => format!("{}/{table}", rest.settings().pool_location(&self.name)),
        };
        let creation = TableCreation::builder().name(table.to_string()).location(location).schema(schema).build();
        Ok(TableMetadataBuilder::from_table_creation(creation)?.build()?.metadata)
    }

    // ---- jobs --------------------------------------------------------------------------------

    /// Records a one-off extraction job of `connection` in `mode` that starts now (status
    /// `running`, this process).
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn start_job(&self, connection: &str, mode: LoadMode) -> Result<Job, PoolError> {
        self.start_job_for(connection, mode.as_str(), None).await
    }

    /// A job of a saved extraction (`origin`), or a one-off one, as [`Pool::start_job`].
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn start_extraction_job(&self, connection: &str, mode: LoadMode, origin: Option<&JobOrigin>) -> Result<Job, PoolError> {
        self.start_job_for(connection, mode.as_str(), origin).await
    }

    /// A job of any kind (`full`, `delta`, `drop`).
    pub(crate) async fn start_job_of(&self, connection: &str, mode: &str) -> Result<Job, PoolError> {
        self.start_job_for(connection, mode, None).await
    }

    pub(crate) async fn start_job_for(&self, connection: &str, mode: &str, origin: Option<&JobOrigin>) -> Result<Job, PoolError> {
        self.start_run_job(&uuid::Uuid::new_v4().to_string(), connection, mode, origin, &[], None).await
    }

    /// Records a job that starts now in this process ([`crate::ProcessId::current`]), with the
    /// tables it will write and the request it runs (JSON, for a re-run). `mode`: `full`,
    /// `delta` or `drop`.
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`] (also for an `id` already recorded).
    pub async fn start_run_job(&self, id: &str, connection: &str, mode: &str, origin: Option<&JobOrigin>, tables: &[String], request: Option<&serde_json::Value>) -> Result<Job, PoolError> {
        let job = Job {
            id: id.to_string(),
            pool: self.name.clone(),
            connection: connection.to_string(),
            mode: mode.to_string(),
            started_at: Utc::now(),
            ended_at: None,
            status: JobStatus::Running,
            tables: tables.to_vec(),
            files: 0,
            rows: 0,
            bytes: 0,
            error: None,
            details: serde_json::Value::Null,
            origin: origin.cloned(),
            process: Some(crate::ProcessId::current()),
            request: request.cloned(),
        };
        sqlx::query(
            "INSERT INTO lakeport_jobs (id, pool, connection, mode, started_at, status, tables, files, rows, bytes, details,
                extraction, extraction_version, trigger, process, request)
             VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 'null', ?, ?, ?, ?, ?)",
        )
        .bind(&job.id)
        .bind(&job.pool)
        .bind(&job.connection)
        .bind(&job.mode)
        .bind(job.started_at.to_rfc3339())
        .bind(job.status.as_str())
        .bind(serde_json::to_string(&job.tables).expect("strings"))
        .bind(origin.map(|o| o.extraction.clone()))
        .bind(origin.map(|o| o.version))
        .bind(origin.map(|o| o.trigger.as_str()))
        .bind(job.process.as_ref().map(|p| serde_json::to_string(p).expect("process id")))
        .bind(job.request.as_ref().map(|r| r.to_string()))
        .execute(self.db())
        .await?;
        Ok(job)
    }

    /// Stores a job's end: status, end time (now if unset), tables, totals, error and details.
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn finish_job(&self, job: &Job) -> Result<(), PoolError> {
        sqlx::query(
            "UPDATE lakeport_jobs SET ended_at = ?, status = ?, tables = ?, files = ?, rows = ?, bytes = ?, error = ?, details = ? WHERE id = ?",
        )
        .bind(job.ended_at.unwrap_or_else(Utc::now).to_rfc3339())
        .bind(job.status.as_str())
        .bind(serde_json::to_string(&job.tables).expect("strings"))
        .bind(job.files as i64)
        .bind(job.rows as i64)
        .bind(job.bytes as i64)
        .bind(&job.error)
        .bind(job.details.to_string())
        .bind(&job.id)
        .execute(self.db())
        .await?;
        Ok(())
    }

    /// The newest `limit` jobs first.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] naming the first job row that does not parse (a status, time or
    /// JSON column lakeport did not write); [`PoolError::Database`].
    pub async fn jobs(&self, limit: usize) -> Result<Vec<Job>, PoolError> {
        let rows = sqlx::query("SELECT * FROM lakeport_jobs WHERE pool = ? ORDER BY started_at DESC LIMIT ?")
            .bind(&self.name)
            .bind(limit as i64)
            .fetch_all(self.db())
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// One page of the job history, newest first: at most `limit` jobs older than job `before`
    /// (from the newest without it); `extractions_only` leaves out drops. Order: start time,
    /// then insertion order for equal times.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchJob`] for an unknown `before`; as [`Pool::jobs`].
    pub async fn jobs_page(&self, limit: usize, before: Option<&str>, extractions_only: bool) -> Result<JobPage, PoolError> {
        let kinds = if extractions_only { " AND mode IN ('full', 'delta')" } else { "" };
        // started_at as written (RFC 3339, UTC), then insertion order for equal times.
        let rows = match before {
            None => {
                sqlx::query(&format!("SELECT * FROM lakeport_jobs WHERE pool = ?{kinds} ORDER BY started_at DESC, rowid DESC LIMIT ?"))
                    .bind(&self.name)
                    .bind(limit as i64 + 1)
                    .fetch_all(self.db())
                    .await?
            }
            Some(id) => {
                let anchor = sqlx::query("SELECT started_at, rowid FROM lakeport_jobs WHERE pool = ? AND id = ?").bind(&self.name).bind(id).fetch_optional(self.db()).await?;
                let Some(anchor) = anchor else { return Err(PoolError::NoSuchJob { pool: self.name.clone(), job: id.to_string() }) };
                let (at, rowid): (String, i64) = (anchor.get(0), anchor.get(1));
                sqlx::query(&format!(
                    "SELECT * FROM lakeport_jobs WHERE pool = ?{kinds} AND (started_at < ? OR (started_at = ? AND rowid < ?)) ORDER BY started_at DESC, rowid DESC LIMIT ?"
                ))
                .bind(&self.name)
                .bind(&at)
                .bind(&at)
                .bind(rowid)
                .bind(limit as i64 + 1)
                .fetch_all(self.db())
                .await?
            }
        };
        let mut jobs: Vec<Job> = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;
        let has_more = jobs.len() > limit;
        jobs.truncate(limit);
        let next_before = if has_more { jobs.last().map(|j| j.id.clone()) } else { None };
        Ok(JobPage { jobs, has_more, next_before })
    }

    /// One job of this pool.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchJob`]; as [`Pool::jobs`].
    pub async fn job(&self, id: &str) -> Result<Job, PoolError> {
        let row = sqlx::query("SELECT * FROM lakeport_jobs WHERE pool = ? AND id = ?").bind(&self.name).bind(id).fetch_optional(self.db()).await?;
        row.map(|r| job_from_row(&r)).ok_or_else(|| PoolError::NoSuchJob { pool: self.name.clone(), job: id.to_string() })?
    }

    /// Records live totals of a running job (files, rows, bytes so far), so that other processes
    /// (`lakeport jobs`, another server) see how far it got. `bytes`: as [`Job::bytes`]. A
    /// job that has ended is left alone.
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn update_job_progress(&self, id: &str, files: u64, rows: u64, bytes: u64) -> Result<(), PoolError> {
        sqlx::query("UPDATE lakeport_jobs SET files = ?, rows = ?, bytes = ? WHERE id = ? AND status = 'running'")
            .bind(files as i64)
            .bind(rows as i64)
            .bind(bytes as i64)
            .bind(id)
            .execute(self.db())
            .await?;
        Ok(())
    }

    /// Ends job `id` as `interrupted` at `ended_at` with `error`, if it is still running (the one place both
    /// crash recovery and a taken-over extraction claim do it). `true` when this call ended it.
    pub(crate) async fn mark_interrupted(&self, id: &str, ended_at: DateTime<Utc>, error: &str) -> Result<bool, PoolError> {
        let done = sqlx::query("UPDATE lakeport_jobs SET status = 'interrupted', ended_at = ?, error = ? WHERE id = ? AND status = 'running'")
            .bind(ended_at.to_rfc3339())
            .bind(error)
            .bind(id)
            .execute(self.db())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends every running job of this pool whose process is gone ([`crate::Liveness::Gone`], or
    /// no process recorded: a job of an earlier version that never finished) as `interrupted`,
    /// with `why(job)` as its error; frees the table locks and extraction claims of gone
    /// processes. Returns the jobs it ended.
    ///
    /// # Errors
    ///
    /// As [`Pool::jobs`].
    pub async fn interrupt_orphaned_jobs(&self, why: impl Fn(&Job) -> String) -> Result<Vec<Job>, PoolError> {
        let rows = sqlx::query("SELECT * FROM lakeport_jobs WHERE pool = ? AND status = 'running'").bind(&self.name).fetch_all(self.db()).await?;
        let mut ended = Vec::new();
        for row in &rows {
            let mut job = job_from_row(row)?;
            let gone = job.process.as_ref().is_none_or(|p| p.liveness() == crate::Liveness::Gone);
            if !gone {
                continue;
            }
            job.status = JobStatus::Interrupted;
            job.ended_at = Some(Utc::now());
            job.error = Some(why(&job));
            if self.mark_interrupted(&job.id, job.ended_at.expect("set above"), job.error.as_deref().unwrap_or_default()).await? {
                sqlx::query("UPDATE lakeport_extractions SET running_job = NULL, running_pid = NULL, running_process = NULL WHERE pool = ? AND running_job = ?").bind(&self.name).bind(&job.id).execute(self.db()).await?;
                ended.push(job);
            }
        }
        for row in sqlx::query("SELECT holder, process FROM lakeport_table_holds WHERE pool = ?").bind(&self.name).fetch_all(self.db()).await? {
            let (holder, process): (String, String) = (row.get(0), row.get(1));
            if lock_process_gone(&process) {
                sqlx::query("DELETE FROM lakeport_table_holds WHERE pool = ? AND holder = ? AND process = ?").bind(&self.name).bind(&holder).bind(&process).execute(self.db()).await?;
            }
        }
        Ok(ended)
    }

    /// Holds `tables` exclusively for `holder`: [`Pool::lock_tables_as`] with
    /// [`TableHold::Exclusive`] (full loads, drops).
    ///
    /// # Errors
    ///
    /// As [`Pool::lock_tables_as`].
    pub async fn lock_tables(&self, tables: &[String], holder: &str) -> Result<(), PoolError> {
        self.lock_tables_as(tables, holder, TableHold::Exclusive).await
    }

    /// Holds `tables` for `holder` (e.g. `run <job id>`, `a drop`), all or none, across every
    /// process of the pool: [`PoolError::TableBusy`] naming the first table another holder has
    /// in a way `hold` cannot share (and that holder's process). A lock whose process is gone
    /// is taken over.
    ///
    /// # Errors
    ///
    /// [`PoolError::TableBusy`] (then no table of `tables` is held); [`PoolError::Database`].
    pub async fn lock_tables_as(&self, tables: &[String], holder: &str, hold: TableHold) -> Result<(), PoolError> {
        let me = serde_json::to_string(&crate::ProcessId::current()).expect("process id");
        let shared = hold == TableHold::Shared;
        let mut conn = self.db().acquire().await?;
        // IMMEDIATE: the write lock from the start, so two processes cannot both read "free".
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result = async {
            for t in tables {
                let rows = sqlx::query("SELECT holder, process, shared FROM lakeport_table_holds WHERE pool = ? AND table_name = ? AND holder <> ?")
                    .bind(&self.name)
                    .bind(t)
                    .bind(holder)
                    .fetch_all(&mut *conn)
                    .await?;
                for row in rows {
                    let (other, process, other_shared): (String, String, bool) = (row.get(0), row.get(1), row.get(2));
                    if lock_process_gone(&process) {
                        sqlx::query("DELETE FROM lakeport_table_holds WHERE pool = ? AND table_name = ? AND holder = ?").bind(&self.name).bind(t).bind(&other).execute(&mut *conn).await?;
                        continue;
                    }
                    if !(shared && other_shared) {
                        let by = serde_json::from_str::<crate::ProcessId>(&process).ok().filter(|p| p != &crate::ProcessId::current()).map(|p| format!(" ({})", p.describe())).unwrap_or_default();
                        return Err(PoolError::TableBusy { table: t.clone(), holder: format!("{other}{by}") });
                    }
                }
                sqlx::query("INSERT OR REPLACE INTO lakeport_table_holds (pool, table_name, holder, shared, process, since) VALUES (?, ?, ?, ?, ?, ?)")
                    .bind(&self.name)
                    .bind(t)
                    .bind(holder)
                    .bind(shared)
                    .bind(&me)
                    .bind(Utc::now().to_rfc3339())
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end).execute(&mut *conn).await?;
        result
    }

    /// Frees the tables `holder` holds.
    ///
    /// # Errors
    ///
    /// [`PoolError::Database`].
    pub async fn unlock_tables(&self, holder: &str) -> Result<(), PoolError> {
        sqlx::query("DELETE FROM lakeport_table_holds WHERE pool = ? AND holder = ?").bind(&self.name).bind(holder).execute(self.db()).await?;
        Ok(())
    }
}

/// How a run holds a table ([`Pool::lock_tables_as`]). Delta loads commit optimistically — a
/// commit that meets another writer's is rebuilt on the table's new state and retried
/// (`TableWriter::commit`) — so any number of them load one table at once; what still needs the
/// table alone holds it exclusively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableHold {
    /// Alone: no other run or drop at the same time. Full loads: a full load that meets another
    /// writer's commit fails rather than retry (`TableWriter::commit`), so it runs alone instead
    /// of failing whenever a delta commits meanwhile. Drops: they delete the table's files under
    /// any load of it.
    Exclusive,
    /// Beside other shared holders (delta loads), never beside an exclusive one.
    Shared,
}

/// One page of the job history (newest first) and whether older jobs follow.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobPage {
    /// At most the page size of jobs, newest first.
    pub jobs: Vec<Job>,
    /// Older jobs follow.
    pub has_more: bool,
    /// The id to pass as `before` for the next page (none on the last page).
    pub next_before: Option<String>,
}

/// Whether the process recorded with a table lock is gone (an unreadable record counts as gone:
/// only this module writes it, and a lock nobody can attribute would block the table forever).
fn lock_process_gone(process: &str) -> bool {
    serde_json::from_str::<crate::ProcessId>(process).ok().is_none_or(|p| p.liveness() == crate::Liveness::Gone)
}

/// A row of `lakeport_jobs` as a [`Job`].
///
/// Errors: [`PoolError::Corrupt`] when a stored field does not parse (a status, trigger, time or
/// JSON column lakeport did not write): reading it as a default would misreport the job.
pub(crate) fn job_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Job, PoolError> {
                let tables: String = r.get("tables");
                let details: String = r.get("details");
                let ended: Option<String> = r.get("ended_at");
                let extraction: Option<String> = r.get("extraction");
                let trigger: Option<String> = r.get("trigger");
                let id: String = r.get("id");
                let what = format!("job {id}");
                let corrupt = |field: &str, detail: &dyn std::fmt::Display| PoolError::corrupt(&what, format_args!("its {field} does not parse: {detail}"));
                let origin = match extraction {
                    None => None,
                    Some(extraction) => Some(JobOrigin {
                        extraction,
                        version: r.get::<Option<i64>, _>("extraction_version").ok_or_else(|| corrupt("extraction version", &"it is missing"))?,
                        trigger: match trigger.as_deref() {
                            // Jobs recorded before triggers were: only manual runs existed then.
                            None => crate::jobs::Trigger::Manual,
                            Some(t) => crate::jobs::Trigger::parse(t).ok_or_else(|| corrupt("trigger", &t))?,
                        },
                    }),
                };
                let status: String = r.get("status");
                Ok(Job {
                    pool: r.get("pool"),
                    connection: r.get("connection"),
                    mode: r.get("mode"),
                    started_at: parse_time(&what, r.get("started_at"))?,
                    ended_at: ended.map(|e| parse_time(&what, &e)).transpose()?,
                    status: JobStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                    tables: serde_json::from_str(&tables).map_err(|e| corrupt("table list", &e))?,
                    files: r.get::<i64, _>("files") as u64,
                    rows: r.get::<i64, _>("rows") as u64,
                    bytes: r.get::<i64, _>("bytes") as u64,
                    error: r.get("error"),
                    details: serde_json::from_str(&details).map_err(|e| corrupt("details", &e))?,
                    origin,
                    process: r.get::<Option<String>, _>("process").map(|p| serde_json::from_str(&p)).transpose().map_err(|e| corrupt("process record", &e))?,
                    request: r.get::<Option<String>, _>("request").map(|p| serde_json::from_str(&p)).transpose().map_err(|e| corrupt("request", &e))?,
                    id,
                })
}

fn table_info(name: &str, meta: &TableMetadata) -> TableInfo {
    let current = meta.current_snapshot();
    let prop = |k: &str| current.and_then(|s| s.summary().additional_properties.get(k)).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    TableInfo {
        name: name.to_string(),
        rows: prop("total-records"),
        data_files: prop("total-data-files"),
        snapshots: meta.snapshots().count(),
        last_load: current.and_then(|s| Utc.timestamp_millis_opt(s.timestamp_ms()).single()),
        last_mode: current.and_then(|s| s.summary().additional_properties.get(crate::ledger::PROP_LOAD).cloned()),
        location: meta.location().to_string(),
    }
}

fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields().iter().zip(b.fields()).all(|(x, y)| x.name() == y.name() && x.data_type() == y.data_type())
}

/// The table's schema evolved to hold `wanted` (an Arrow schema in Iceberg-storable types): every
/// current column keeps its field id (and its type, or a promotion the Iceberg spec allows:
/// int → long, float → double, decimal(P, S) → decimal(P', S) with P' > P); columns `wanted`
/// adds get new ids above `last_column_id`. A current column `wanted` lacks stays (its new rows
/// are NULL). Err: why the change is not a schema evolution (the column and both types).
fn evolve_schema(current: &iceberg::spec::Schema, wanted: &Schema, last_column_id: i32) -> Result<iceberg::spec::Schema, String> {
    use arrow_schema::Field;
    use iceberg::arrow::arrow_schema_to_schema;
    let current_arrow = schema_to_arrow_schema(current).map_err(|e| e.to_string())?;
    let fresh = arrow_schema_to_schema_auto_assign_ids(wanted).map_err(|e| e.to_string())?;
    let fresh = schema_to_arrow_schema(&offset_field_ids(&fresh, last_column_id).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let mut fields: Vec<Field> = Vec::new();
    for cur in current_arrow.fields() {
        let field = match wanted.field_with_name(cur.name()) {
            Err(_) => cur.as_ref().clone(),
            Ok(_) => {
                // Both sides as Iceberg gives them back (its binary is Arrow's LargeBinary, …).
                let w = fresh.field_with_name(cur.name()).map_err(|e| e.to_string())?;
                let ids_stripped = |f: &Field| strip_field_ids(&Schema::new(vec![f.clone()]));
                if ids_stripped(cur) == ids_stripped(w) {
                    cur.as_ref().clone()
                } else if crate::types::promotable(cur.data_type(), w.data_type()) {
                    cur.as_ref().clone().with_data_type(w.data_type().clone())
                } else {
                    return Err(format!("column '{}' would change from {} to {}, which Iceberg cannot promote", cur.name(), cur.data_type(), w.data_type()));
                }
            }
        };
        fields.push(field);
    }
    for added in fresh.fields().iter().filter(|f| current_arrow.field_with_name(f.name()).is_err()) {
        fields.push(added.as_ref().clone());
    }
    arrow_schema_to_schema(&Schema::new(fields)).map_err(|e| e.to_string())
}

/// A new schema for an existing table gets field ids above every id the table has used, so old
/// snapshots keep their meaning.
fn offset_field_ids(schema: &iceberg::spec::Schema, offset: i32) -> Result<iceberg::spec::Schema, PoolError> {
    use iceberg::arrow::arrow_schema_to_schema;
    use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
    use arrow_schema::{DataType, Field, Fields};
    fn bump(f: &Field, offset: i32) -> Field {
        let mut md = f.metadata().clone();
        if let Some(id) = md.get(PARQUET_FIELD_ID_META_KEY).and_then(|v| v.parse::<i32>().ok()) {
            md.insert(PARQUET_FIELD_ID_META_KEY.to_string(), (id + offset).to_string());
        }
        let dt = match f.data_type() {
            DataType::Struct(fs) => DataType::Struct(Fields::from(fs.iter().map(|c| bump(c, offset)).collect::<Vec<_>>())),
            DataType::List(c) => DataType::List(Arc::new(bump(c, offset))),
            DataType::Map(c, sorted) => DataType::Map(Arc::new(bump(c, offset)), *sorted),
            other => other.clone(),
        };
        f.clone().with_data_type(dt).with_metadata(md)
    }
    let arrow = schema_to_arrow_schema(schema)?;
    let bumped = Schema::new(arrow.fields().iter().map(|f| bump(f, offset)).collect::<Vec<_>>());
    Ok(arrow_schema_to_schema(&bumped)?)
}

/// A time lakeport stored (RFC 3339). One that does not parse is corrupt state, reported as
/// such: read as a default it would put the row at 1970 (and reorder histories and schedules).
pub(crate) fn parse_time(what: &str, s: &str) -> Result<DateTime<Utc>, PoolError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| PoolError::corrupt(what, format_args!("stored time '{s}' does not parse: {e}")))
}
