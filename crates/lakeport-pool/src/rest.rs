//! REST-catalog pools: the pool's tables live in an Iceberg REST catalog (AWS Glue, Polaris,
//! Lakekeeper, Nessie, S3 Tables…) and its files in an S3 warehouse, so other engines and other
//! lakeport workers reach them; lakeport's own state (connections, secrets, extractions, jobs,
//! locks) stays in the local pool directory.
//!
//! * [`RestPoolSettings`]: what the pool directory stores for such a pool (no secrets; the
//!   catalog's secret sits in `secrets/<pool>/.catalog.secret`, beside connection secrets).
//! * `RestPool`: the catalog calls a pool needs (Iceberg REST spec: config, namespaces,
//!   ListTables, LoadTable, CreateTable, UpdateTable, DropTable) through the AWS layer's signed
//!   [`CatalogClient`], and the writable S3 FileIO (`lakeport_aws::s3_file_io`).
//! * `RestCommitter`: the [`TableCommitter`] of such a pool: one `updateTable` call with the
//!   commit's requirements and updates (HTTP 409 → [`PoolError::CommitConflict`]).
//! * `RestPoolCatalog`: the same catalog as an iceberg [`Catalog`] scoped to the pool's namespace,
//!   so the query session (iceberg-datafusion) and the table listing treat both pool kinds alike.

use std::collections::HashMap;
use std::sync::Arc;

use iceberg::io::FileIO;
use iceberg::spec::TableMetadata;
use iceberg::table::Table;
use iceberg::{
    Catalog, Namespace, NamespaceIdent, TableCommit as IcebergTableCommit, TableCreation,
    TableIdent,
};
use lakeport_aws::{
    CatalogAnswer, CatalogAuth, CatalogClient, CatalogCredentials, CatalogFailure,
    CatalogSettings, CatalogToken, ErrorKind, S3IoSettings, Secret,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use crate::commit::{TableCommit, TableCommitter};
use crate::PoolError;

/// The file name (without `.secret`) of a REST pool's catalog secret in `secrets/<pool>/`: a
/// connection name cannot start with `.`, so it never meets a connection's secret.
pub(crate) const CATALOG_SECRET: &str = ".catalog";

/// Where a pool's tables live: the embedded SQLite catalog with the local warehouse (the
/// default), or an Iceberg REST catalog with an S3 warehouse. JSON: `{"kind": "embedded"}` or
/// `{"kind": "rest", …RestPoolSettings}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
// A settings value, made once per command or request: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum PoolCatalog {
    /// Iceberg's SQL catalog tables in the pool directory's `catalog.db`, files under
    /// `warehouse/<pool>/`.
    Embedded,
    /// An Iceberg REST catalog; files under `location`.
    Rest(RestPoolSettings),
}

/// The non-secret settings of a REST-catalog pool: the catalog's URL, where the files go, and
/// what every catalog client has ([`CatalogSettings`], shared with zero-copy connections). JSON:
/// one flat object (inside `PoolCatalog`'s `{"kind": "rest", …}`), as before the shared part was
/// a struct of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RestPoolSettings {
    /// The catalog's base URL, up to (not including) `/v1`: `https://glue.<region>.amazonaws.com/iceberg`
    /// for AWS Glue.
    pub catalog_url: String,
    /// Where the pool's files go: `s3://bucket/prefix`; table `t` of pool `p` is created at
    /// `<location>/<p>/<t>` (data under `data/`, manifests and ledger files under `metadata/`).
    pub location: String,
    /// Region, warehouse, auth, signing name, S3 endpoint and path style of the warehouse, STS
    /// endpoint and the plain-HTTP rule (their members at the top level of the JSON).
    #[serde(flatten)]
    pub catalog: CatalogSettings,
}

/// The shared settings read as the pool's own (`settings.region`, `settings.auth`), as they were
/// before they moved into [`CatalogSettings`].
impl std::ops::Deref for RestPoolSettings {
    type Target = CatalogSettings;
    fn deref(&self) -> &CatalogSettings {
        &self.catalog
    }
}

impl std::ops::DerefMut for RestPoolSettings {
    fn deref_mut(&mut self) -> &mut CatalogSettings {
        &mut self.catalog
    }
}

fn invalid(detail: impl Into<String>) -> PoolError {
    PoolError::InvalidPoolSettings(detail.into())
}

impl RestPoolSettings {
    /// Checks the settings before any request: the shared ones ([`CatalogSettings::validate`]:
    /// region, warehouse, S3 and STS endpoints, a role's ARN and External ID, an OAuth2 client),
    /// the catalog URL under the plain-HTTP rule, and `location` an `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// [`PoolError::InvalidPoolSettings`] naming the first setting that is wrong.
    pub fn validate(&self) -> Result<(), PoolError> {
        self.catalog
            .validate("--warehouse; for AWS Glue: the account id")
            .map_err(|e| invalid(e.to_string()))?;
        self.catalog_url()?;
        match lakeport_aws::split_s3_path(&format!("{}/", self.location.trim_end_matches('/'))) {
            Some((bucket, _)) if !bucket.is_empty() && self.location.starts_with("s3://") => {}
            _ => {
                return Err(invalid(format!(
                    "the location '{}' is not s3://bucket/prefix",
                    self.location
                )))
            }
        }
        Ok(())
    }

    /// The catalog's base URL (trailing `/` removed), checked against the plain-HTTP rule.
    fn catalog_url(&self) -> Result<Url, PoolError> {
        self.http_policy()
            .parse(self.catalog_url.trim().trim_end_matches('/'), "catalog URL")
            .map_err(|e| invalid(e.to_string()))
    }

    /// `s3://bucket/prefix/<pool>` — where the pool's tables are created.
    pub fn pool_location(&self, pool: &str) -> String {
        format!("{}/{pool}", self.location.trim_end_matches('/'))
    }
}

/// A REST-catalog pool's catalog client and S3 FileIO.
pub(crate) struct RestPool {
    settings: RestPoolSettings,
    namespace: String,
    client: CatalogClient,
    io: S3IoSettings,
    file_io: FileIO,
    /// The catalog prefix from `GET /v1/config` (`prefix`), asked once.
    prefix: tokio::sync::OnceCell<String>,
}

impl std::fmt::Debug for RestPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RestPool({} at {})",
            self.namespace, self.settings.catalog_url
        )
    }
}

/// A table as LoadTable (or CreateTable) answered it.
pub(crate) struct Loaded {
    pub metadata_location: String,
    pub metadata: TableMetadata,
}

impl RestPool {
    /// The client of pool `pool` (its namespace in the catalog) with its stored `secret` (the
    /// secret access key, the bearer token, or the OAuth2 client secret). Nothing is sent here.
    ///
    /// # Errors
    /// [`PoolError::InvalidPoolSettings`] when the settings do not validate or the secret is
    /// missing; [`PoolError::Aws`] when lakeport's identity (for an assumed role) is not set.
    pub(crate) fn connect(
        pool: &str,
        settings: &RestPoolSettings,
        secret: Option<&Secret>,
    ) -> Result<RestPool, PoolError> {
        settings.validate()?;
        let http = settings.http_policy();
        let sts_url = match settings.auth {
            CatalogAuth::AssumeRole { .. } => {
                settings.sts_url().map_err(|e| invalid(e.to_string()))?
            }
            _ => Url::parse("https://sts.amazonaws.com/").expect("static URL"),
        };
        let catalog_url = settings.catalog_url()?;
        // A bearer token, or OAuth2 client credentials; `None` for the AWS methods (they sign).
        let bearer = CatalogToken::for_auth(&settings.auth, secret, &catalog_url, http)
            .map_err(|e| match e {
                lakeport_aws::AwsError::InvalidConfig(m) => invalid(m),
                other => other.into(),
            })?;
        let credentials =
            CatalogCredentials::for_auth(&settings.auth, secret, &settings.region, sts_url, http)?;
        // A token catalog (bearer or OAuth2) signs nothing; the warehouse is then written with
        // the AWS default credential chain (environment, profile, container, instance metadata).
        let s3_credentials: lakeport_aws::AwsCredentialProvider = match credentials {
            CatalogCredentials::None => Arc::new(lakeport_aws::SdkCredentials::new(
                lakeport_aws::SdkSource::DefaultChain,
                &settings.region,
            )),
            ref c => c.provider(),
        };
        let client = CatalogClient::new(
            catalog_url,
            credentials,
            bearer,
            &settings.signing_name,
            &settings.region,
            http,
        )?;
        let io = S3IoSettings {
            region: settings.region.clone(),
            endpoint: settings.s3_endpoint.clone(),
            path_style: settings.s3_path_style,
            http,
            max_retries: lakeport_source::DEFAULT_MAX_RETRIES,
            credentials: s3_credentials,
            writable: true,
        };
        let file_io = lakeport_aws::s3_file_io(io.clone());
        Ok(RestPool {
            settings: settings.clone(),
            namespace: pool.to_string(),
            client,
            io,
            file_io,
            prefix: tokio::sync::OnceCell::new(),
        })
    }

    pub(crate) fn settings(&self) -> &RestPoolSettings {
        &self.settings
    }

    pub(crate) fn file_io(&self) -> &FileIO {
        &self.file_io
    }

    pub(crate) fn io_settings(&self) -> &S3IoSettings {
        &self.io
    }

    /// The path of a table in the REST spec: `v1/{prefix}/namespaces/{namespace}/tables/{table}`
    /// (LoadTable, UpdateTable, DropTable).
    fn table_path<'a>(&'a self, prefix: &'a str, table: &'a str) -> [&'a str; 6] {
        ["v1", prefix, "namespaces", &self.namespace, "tables", table]
    }

    /// One catalog call at `segments` (under the base URL); the answer whatever its status.
    async fn call(
        &self,
        method: http::Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<CatalogAnswer, PoolError> {
        let url = self.client.url(segments, &[]);
        Ok(self.client.send(method, &url, body).await?)
    }

    async fn prefix(&self) -> Result<&str, PoolError> {
        self.prefix
            .get_or_try_init(|| async {
                let url = self.client.url(
                    &["v1", "config"],
                    &[("warehouse", self.settings.warehouse.as_str())],
                );
                let a = self.client.send(http::Method::GET, &url, None).await?;
                if let Some(f) = a.failure() {
                    return Err(failed("GetConfig (GET /v1/config)", f));
                }
                let v = &a.json;
                Ok(v["overrides"]["prefix"]
                    .as_str()
                    .or(v["defaults"]["prefix"].as_str())
                    .unwrap_or("")
                    .to_string())
            })
            .await
            .map(String::as_str)
    }

    /// Creates the pool's namespace unless it exists (with `create` false, only looks).
    /// Answers whether it existed before: `pool create` on a second machine joins a namespace
    /// the first one created.
    pub(crate) async fn ensure_namespace(&self, create: bool) -> Result<bool, PoolError> {
        let prefix = self.prefix().await?.to_string();
        let ns = self.namespace.as_str();
        let a = self
            .call(http::Method::GET, &["v1", &prefix, "namespaces", ns], None)
            .await?;
        match a.failure() {
            None => return Ok(true),
            Some(CatalogFailure::NotFound(_)) if !create => return Ok(false),
            Some(CatalogFailure::NotFound(_)) => {}
            Some(f) => return Err(failed(&format!("GetNamespace {ns}"), f)),
        }
        let body = json!({ "namespace": [ns], "properties": {} });
        let a = self
            .call(
                http::Method::POST,
                &["v1", &prefix, "namespaces"],
                Some(&body),
            )
            .await?;
        match a.failure() {
            None => Ok(false),
            // Another worker created it a moment ago: the state wanted.
            Some(CatalogFailure::Conflict(_)) => Ok(true),
            Some(f) => Err(failed(&format!("CreateNamespace {ns}"), f)),
        }
    }

    /// The pool's tables, all pages, sorted; none when the namespace does not exist yet.
    pub(crate) async fn table_names(&self) -> Result<Vec<String>, PoolError> {
        let prefix = self.prefix().await?.to_string();
        let ns = self.namespace.as_str();
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let query: Vec<(&str, &str)> = token
                .as_deref()
                .map(|t| vec![("pageToken", t)])
                .unwrap_or_default();
            let url = self
                .client
                .url(&["v1", &prefix, "namespaces", ns, "tables"], &query);
            let a = self.client.send(http::Method::GET, &url, None).await?;
            match a.failure() {
                None => {}
                Some(CatalogFailure::NotFound(_)) => return Ok(Vec::new()),
                Some(f) => return Err(failed(&format!("ListTables {ns}"), f)),
            }
            names.extend(
                a.json["identifiers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["name"].as_str().map(str::to_string)),
            );
            match a.json["next-page-token"].as_str() {
                Some(t) if !t.is_empty() && Some(t) != token.as_deref() => {
                    token = Some(t.to_string())
                }
                _ => break,
            }
        }
        names.sort();
        Ok(names)
    }

    /// LoadTable; `None` on 404.
    pub(crate) async fn load(&self, table: &str) -> Result<Option<Loaded>, PoolError> {
        let prefix = self.prefix().await?.to_string();
        let operation = format!("LoadTable {}.{table}", self.namespace);
        let a = self
            .call(http::Method::GET, &self.table_path(&prefix, table), None)
            .await?;
        match a.failure() {
            None => Ok(Some(loaded(&operation, a.json)?)),
            Some(CatalogFailure::NotFound(_)) => Ok(None),
            Some(f) => Err(failed(&operation, f)),
        }
    }

    /// The table as an iceberg [`Table`] over the writable FileIO; `None` on 404.
    pub(crate) async fn load_table(&self, table: &str) -> Result<Option<Table>, PoolError> {
        let Some(l) = self.load(table).await? else {
            return Ok(None);
        };
        Ok(Some(self.table(table, l)?))
    }

    fn table(&self, table: &str, l: Loaded) -> Result<Table, PoolError> {
        Ok(Table::builder()
            .identifier(TableIdent::new(
                NamespaceIdent::new(self.namespace.clone()),
                table.to_string(),
            ))
            .metadata_location(l.metadata_location)
            .metadata(l.metadata)
            .file_io(self.file_io.clone())
            .runtime(iceberg::Runtime::current())
            .build()?)
    }

    /// CreateTable with `metadata`'s schema, location and properties (no snapshot).
    /// [`PoolError::CommitConflict`] when the table exists (another writer created it).
    async fn create(&self, table: &str, metadata: &TableMetadata) -> Result<Loaded, PoolError> {
        self.ensure_namespace(true).await?;
        let prefix = self.prefix().await?.to_string();
        let operation = format!("CreateTable {}.{table}", self.namespace);
        let body = json!({
            "name": table,
            "location": metadata.location(),
            "schema": metadata.current_schema().as_ref(),
            "properties": metadata.properties(),
            "stage-create": false,
        });
        let a = self
            .call(
                http::Method::POST,
                &["v1", &prefix, "namespaces", &self.namespace, "tables"],
                Some(&body),
            )
            .await?;
        match a.failure() {
            None => loaded(&operation, a.json),
            Some(CatalogFailure::Conflict(_)) => Err(PoolError::CommitConflict(table.to_string())),
            Some(f) => Err(failed(&operation, f)),
        }
    }

    /// UpdateTable (the Iceberg REST `CommitTableRequest`): the new metadata's location.
    async fn update(
        &self,
        ident: &TableIdent,
        requirements: &[iceberg::TableRequirement],
        updates: &[iceberg::TableUpdate],
    ) -> Result<String, PoolError> {
        let prefix = self.prefix().await?.to_string();
        let table = ident.name();
        let operation = format!("UpdateTable {}.{table}", self.namespace);
        let body = json!({ "identifier": ident, "requirements": requirements, "updates": updates });
        let unknown = |detail: String| PoolError::CommitStateUnknown {
            table: table.to_string(),
            detail,
        };
        let a = match self
            .call(
                http::Method::POST,
                &self.table_path(&prefix, table),
                Some(&body),
            )
            .await
        {
            Ok(a) => a,
            // The request may have reached the catalog and been applied before the connection
            // broke: the outcome is unknown, not a failure (nothing may be cleaned up).
            Err(PoolError::Aws(e @ lakeport_aws::AwsError::Http { .. })) => {
                return Err(unknown(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        match a.failure() {
            None => Ok(a.json["metadata-location"]
                .as_str()
                .unwrap_or_default()
                .to_string()),
            // Iceberg REST spec, updateTable: 409 = a requirement failed, nothing applied.
            Some(CatalogFailure::Conflict(_)) => Err(PoolError::CommitConflict(table.to_string())),
            // 500, 502, 504 (and any 5xx): "the commit state is unknown".
            Some(f) if a.status >= 500 => Err(unknown(failed(&operation, f).to_string())),
            Some(f) => Err(failed(&operation, f)),
        }
    }

    /// DropTable (without purge: lakeport deletes the files it knows itself).
    pub(crate) async fn drop_table(&self, table: &str) -> Result<(), PoolError> {
        let prefix = self.prefix().await?.to_string();
        let operation = format!("DropTable {}.{table}", self.namespace);
        let a = self
            .call(http::Method::DELETE, &self.table_path(&prefix, table), None)
            .await?;
        match a.failure() {
            None => Ok(()),
            // 501: this catalog does not drop tables at all (RFC 9110 §15.6.2) — not a failure
            // a later try gets past, so not `Unavailable` as other 5xx answers are.
            Some(CatalogFailure::Other(_, text)) if a.status == 501 => Err(PoolError::RemoteCatalog {
                operation,
                message: format!("{text}: this catalog does not drop tables; table '{table}' stays as it is"),
                kind: ErrorKind::Invalid,
            }),
            Some(f) => Err(failed(&operation, f)),
        }
    }
}

/// A LoadTable/CreateTable answer: `metadata-location` and `metadata`.
fn loaded(operation: &str, v: Value) -> Result<Loaded, PoolError> {
    let metadata: TableMetadata =
        serde_json::from_value(v["metadata"].clone()).map_err(|e| PoolError::RemoteCatalog {
            operation: operation.to_string(),
            message: format!("the table metadata is not readable: {e}"),
            kind: ErrorKind::Invalid,
        })?;
    Ok(Loaded {
        metadata_location: v["metadata-location"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        metadata,
    })
}

fn failed(operation: &str, f: CatalogFailure) -> PoolError {
    let (kind, message) = match f {
        CatalogFailure::AccessDenied(m) => (ErrorKind::Denied, format!("access denied ({m})")),
        CatalogFailure::Unauthenticated(why) => (ErrorKind::Denied, why),
        CatalogFailure::NotFound(m) => (ErrorKind::NotFound, format!("not found ({m})")),
        CatalogFailure::Conflict(m) => (ErrorKind::Conflict, format!("conflict ({m})")),
        CatalogFailure::Other(kind, text) => (kind, text),
    };
    PoolError::RemoteCatalog {
        operation: operation.to_string(),
        message,
        kind,
    }
}

/// The [`TableCommitter`] of a REST-catalog pool: `updateTable` with the commit's requirements and
/// updates; the catalog checks the requirements and writes the metadata file, atomically. A
/// table this commit creates is first created (CreateTable, no snapshot) and then committed
/// with `assert-table-uuid` of the new table and `assert-ref-snapshot-id main = null` in place
/// of `assert-create` — a catalog without staged creation then shows the empty table for the
/// moment between the two calls, and keeps it if the second fails (a table without a snapshot:
/// the next load fills it).
pub(crate) struct RestCommitter {
    pub(crate) pool: Arc<RestPool>,
}

#[async_trait::async_trait]
impl TableCommitter for RestCommitter {
    async fn commit(&self, _file_io: &FileIO, c: TableCommit) -> Result<String, PoolError> {
        let requirements = match &c.base_location {
            Some(_) => c.requirements,
            None => {
                let created = self.pool.create(c.ident.name(), &c.base).await?;
                vec![
                    iceberg::TableRequirement::UuidMatch {
                        uuid: created.metadata.uuid(),
                    },
                    iceberg::TableRequirement::RefSnapshotIdMatch {
                        r#ref: iceberg::spec::MAIN_BRANCH.to_string(),
                        snapshot_id: None,
                    },
                ]
            }
        };
        self.pool.update(&c.ident, &requirements, &c.updates).await
    }
}

/// The REST catalog as an iceberg [`Catalog`] that sees only the pool's namespace (what the query
/// session and the table listing need). Writes go through [`RestCommitter`], not through here.
#[derive(Debug)]
pub(crate) struct RestPoolCatalog {
    pub(crate) pool: Arc<RestPool>,
}

fn unsupported(what: &str) -> iceberg::Error {
    iceberg::Error::new(
        iceberg::ErrorKind::FeatureUnsupported,
        format!("{what} is not done through lakeport's view of a REST-catalog pool"),
    )
}

fn to_iceberg(e: PoolError) -> iceberg::Error {
    iceberg::Error::new(iceberg::ErrorKind::Unexpected, e.to_string())
}

#[async_trait::async_trait]
impl Catalog for RestPoolCatalog {
    async fn list_namespaces(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> iceberg::Result<Vec<NamespaceIdent>> {
        Ok(match parent {
            None => vec![NamespaceIdent::new(self.pool.namespace.clone())],
            Some(_) => Vec::new(),
        })
    }

    async fn create_namespace(
        &self,
        _namespace: &NamespaceIdent,
        _properties: HashMap<String, String>,
    ) -> iceberg::Result<Namespace> {
        Err(unsupported("creating a namespace"))
    }

    async fn get_namespace(&self, namespace: &NamespaceIdent) -> iceberg::Result<Namespace> {
        Ok(Namespace::new(namespace.clone()))
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> iceberg::Result<bool> {
        Ok(namespace.to_url_string() == self.pool.namespace)
    }

    async fn update_namespace(
        &self,
        _namespace: &NamespaceIdent,
        _properties: HashMap<String, String>,
    ) -> iceberg::Result<()> {
        Err(unsupported("updating a namespace"))
    }

    async fn drop_namespace(&self, _namespace: &NamespaceIdent) -> iceberg::Result<()> {
        Err(unsupported("dropping a namespace"))
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> iceberg::Result<Vec<TableIdent>> {
        if namespace.to_url_string() != self.pool.namespace {
            return Ok(Vec::new());
        }
        let names = self.pool.table_names().await.map_err(to_iceberg)?;
        Ok(names
            .into_iter()
            .map(|n| TableIdent::new(namespace.clone(), n))
            .collect())
    }

    async fn create_table(
        &self,
        _namespace: &NamespaceIdent,
        _creation: TableCreation,
    ) -> iceberg::Result<Table> {
        Err(unsupported("creating a table"))
    }

    async fn load_table(&self, table: &TableIdent) -> iceberg::Result<Table> {
        match self
            .pool
            .load_table(table.name())
            .await
            .map_err(to_iceberg)?
        {
            Some(t) => Ok(t),
            None => Err(iceberg::Error::new(
                iceberg::ErrorKind::TableNotFound,
                format!("table {table} does not exist"),
            )),
        }
    }

    async fn drop_table(&self, table: &TableIdent) -> iceberg::Result<()> {
        self.pool.drop_table(table.name()).await.map_err(to_iceberg)
    }

    async fn purge_table(&self, _table: &TableIdent) -> iceberg::Result<()> {
        Err(unsupported("purging a table"))
    }

    async fn table_exists(&self, table: &TableIdent) -> iceberg::Result<bool> {
        Ok(self
            .pool
            .load(table.name())
            .await
            .map_err(to_iceberg)?
            .is_some())
    }

    async fn rename_table(&self, _src: &TableIdent, _dest: &TableIdent) -> iceberg::Result<()> {
        Err(unsupported("renaming a table"))
    }

    async fn register_table(
        &self,
        _table: &TableIdent,
        _metadata_location: String,
    ) -> iceberg::Result<Table> {
        Err(unsupported("registering a table"))
    }

    async fn update_table(&self, _commit: IcebergTableCommit) -> iceberg::Result<Table> {
        Err(unsupported("committing through iceberg's Catalog API (lakeport commits through its TableCommitter)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RestPoolSettings {
        RestPoolSettings {
            catalog_url: "https://glue.eu-west-1.amazonaws.com/iceberg".into(),
            location: "s3://lake/pools".into(),
            catalog: CatalogSettings::new(
                "eu-west-1",
                "123456789012",
                CatalogAuth::AccessKey {
                    access_key_id: "AKID".into(),
                },
            ),
        }
    }

    /// A pool row stored before the shared settings were a struct of their own reads back the
    /// same, and is written back the same (`lakeport_pools.catalog`).
    #[test]
    fn a_pool_stored_in_the_earlier_shape_reads_and_writes_back_the_same() {
        let old = r#"{"kind":"rest","catalog_url":"http://127.0.0.1:9/iceberg","warehouse":"123456789012","location":"s3://wh/pools","region":"us-east-1","auth":{"method":"access-key","access_key_id":"AKIDOLD"},"signing_name":"glue","s3_endpoint":"http://127.0.0.1:9","s3_path_style":true,"sts_endpoint":null,"allow_http":true}"#;
        let PoolCatalog::Rest(s) = serde_json::from_str::<PoolCatalog>(old).unwrap() else {
            panic!("not a REST pool")
        };
        assert_eq!(
            (s.catalog_url.as_str(), s.location.as_str(), s.region.as_str()),
            ("http://127.0.0.1:9/iceberg", "s3://wh/pools", "us-east-1")
        );
        assert_eq!(
            (s.s3_endpoint.as_deref(), s.s3_path_style, s.allow_http),
            (Some("http://127.0.0.1:9"), true, true)
        );
        assert_eq!(
            s.auth,
            CatalogAuth::AccessKey {
                access_key_id: "AKIDOLD".into()
            }
        );
        assert!(s.validate().is_ok());
        let back = serde_json::to_value(PoolCatalog::Rest(s)).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(old).unwrap());
        assert_eq!(
            serde_json::from_str::<PoolCatalog>(r#"{"kind":"embedded"}"#).unwrap(),
            PoolCatalog::Embedded
        );
    }

    #[test]
    fn settings_are_checked_before_any_request() {
        assert!(settings().validate().is_ok());
        assert_eq!(settings().pool_location("sales"), "s3://lake/pools/sales");
        let mut s = settings();
        s.location = "/tmp/x".into();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("s3://bucket/prefix"));
        let mut s = settings();
        s.catalog_url = "http://catalog.example.com/iceberg".into();
        s.allow_http = true;
        assert!(s.validate().unwrap_err().to_string().contains("loopback"));
        let mut s = settings();
        s.catalog.auth = CatalogAuth::OAuth2 {
            client_id: " ".into(),
            scope: None,
            server_uri: None,
        };
        assert!(s.validate().unwrap_err().to_string().contains("client id"));
        // The default signing name is AWS Glue's (the signer's use of it: lakeport-aws catalog.rs).
        let parsed: RestPoolSettings = serde_json::from_value(json!({
            "catalog_url": "https://x/iceberg", "warehouse": "1", "location": "s3://b", "region": "r",
            "auth": { "method": "access-key", "access_key_id": "AKID" }
        }))
        .unwrap();
        assert_eq!(parsed.signing_name, "glue");
        let err = RestPool::connect("p", &settings(), None).unwrap_err();
        assert!(
            err.to_string().contains("secret access key is missing"),
            "{err}"
        );
    }
}
