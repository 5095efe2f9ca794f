//! A small, read-only Iceberg REST catalog client that signs every request (SigV4 for AWS Glue,
//! or a bearer token). iceberg-catalog-rest 0.10.1 has no per-request signing, and zero-copy only
//! needs four calls: config, list namespaces, list tables, load table.

use std::collections::HashMap;

use iceberg::spec::TableMetadata;
use iceberg::table::Table;
use iceberg::{NamespaceIdent, TableIdent};
use lakeport_error::ErrorKind;
use lakeport_aws::{CatalogClient, CatalogFailure, CatalogToken, Secret};
use object_store::aws::AwsCredential;
use serde_json::Value;
use url::Url;

use crate::{Credentials, ZeroCopyConfig, ZeroCopyError};

/// A read-only client of one Iceberg REST catalog (Iceberg REST catalog spec: `GET /v1/config`,
/// ListNamespaces, ListTables, LoadTable), each request SigV4-signed with the connection's
/// [`Credentials`] or sent with its bearer token. Each call times out after 60 s.
pub struct RestCatalog {
    config: ZeroCopyConfig,
    /// The AWS layer's catalog client: signing (or the bearer token) and error answers.
    client: CatalogClient,
    /// The answer of `GET /v1/config` (defaults and overrides), asked once.
    catalog_config: tokio::sync::OnceCell<Value>,
}

/// A table as LoadTable returned it.
pub struct LoadedTable {
    /// `namespace.table` as asked for.
    pub ident: TableIdent,
    /// `metadata-location` of the LoadTable result (empty when the catalog sent none).
    pub metadata_location: String,
    /// The table metadata (Iceberg table spec, "Table Metadata").
    pub metadata: TableMetadata,
    /// Table-specific configuration from the catalog (may carry vended storage credentials).
    pub config: HashMap<String, String>,
}

impl LoadedTable {
    /// Vended S3 credentials, when the catalog sent any.
    pub fn vended_credentials(&self) -> Option<AwsCredential> {
        let key_id = self.config.get("s3.access-key-id")?.clone();
        let secret_key = self.config.get("s3.secret-access-key")?.clone();
        Some(AwsCredential { key_id, secret_key, token: self.config.get("s3.session-token").cloned() })
    }

    /// A read-only iceberg [`Table`] over this metadata, reading files through `file_io`.
    ///
    /// # Errors
    /// [`ZeroCopyError::Iceberg`] when iceberg's table builder refuses the parts.
    pub fn into_table(self, file_io: iceberg::io::FileIO) -> Result<Table, ZeroCopyError> {
        Ok(Table::builder()
            .identifier(self.ident)
            .metadata_location(self.metadata_location)
            .metadata(self.metadata)
            .file_io(file_io)
            .readonly(true)
            .runtime(iceberg::Runtime::current())
            .build()?)
    }
}

/// The IAM permission each REST call needs on AWS Glue.
const PERM_CONFIG: &str = "glue:GetCatalog";
const PERM_NAMESPACES: &str = "glue:GetDatabases";
const PERM_TABLES: &str = "glue:GetTables";
const PERM_TABLE: &str = "glue:GetTable";

impl RestCatalog {
    /// A client for `config`'s catalog. `bearer`: the token source of a
    /// [`ZeroCopyAuth::Bearer`](crate::ZeroCopyAuth::Bearer) or
    /// [`ZeroCopyAuth::OAuth2`](crate::ZeroCopyAuth::OAuth2) connection; requests are SigV4-signed
    /// when `credentials` yields any, else sent with the token. No request is made here.
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] when [`ZeroCopyConfig::validate`] fails or the HTTP
    /// client cannot be built.
    pub fn new(config: &ZeroCopyConfig, credentials: Credentials, bearer: Option<CatalogToken>) -> Result<RestCatalog, ZeroCopyError> {
        config.validate()?;
        let client = CatalogClient::new(config.catalog_url()?, credentials, bearer, &config.signing_name, &config.region, config.http_policy())
            .map_err(|e| ZeroCopyError::InvalidConfig(e.to_string()))?;
        Ok(RestCatalog { config: config.clone(), client, catalog_config: tokio::sync::OnceCell::new() })
    }

    /// The client of a saved connection: its credentials ([`crate::credentials_for_config`]) and, for
    /// a [`ZeroCopyAuth::Bearer`](crate::ZeroCopyAuth::Bearer) connection, `secret` as the bearer
    /// token, for an [`ZeroCopyAuth::OAuth2`](crate::ZeroCopyAuth::OAuth2) one as the client
    /// secret tokens are fetched with ([`CatalogToken::for_auth`]).
    ///
    /// # Errors
    /// As for [`crate::credentials_for_config`] and [`RestCatalog::new`].
    pub fn connect(config: &ZeroCopyConfig, secret: Option<&Secret>) -> Result<RestCatalog, ZeroCopyError> {
        config.validate()?;
        let bearer = CatalogToken::for_auth(&config.auth, secret, &config.catalog_url()?, config.http_policy()).map_err(|e| match e {
            lakeport_aws::AwsError::InvalidConfig(m) => ZeroCopyError::InvalidConfig(m),
            other => other.into(),
        })?;
        RestCatalog::new(config, crate::credentials::for_config(config, secret)?, bearer)
    }

    /// The connection settings this client was made with.
    pub fn config(&self) -> &ZeroCopyConfig {
        &self.config
    }

    /// The credentials requests are signed with.
    pub fn credentials(&self) -> &Credentials {
        self.client.credentials()
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        self.client.url(segments, query)
    }

    async fn get(&self, operation: &str, permission: &'static str, url: Url) -> Result<Value, ZeroCopyError> {
        let err = |kind: ErrorKind, message: String| ZeroCopyError::Request { operation: operation.to_string(), message, kind };
        let answer = match self.client.send(http::Method::GET, &url, None).await {
            Ok(a) => a,
            // Transport failures and missing credentials name the call; a role that cannot be
            // assumed stays the AWS layer's error (it names sts:AssumeRole).
            Err(lakeport_aws::AwsError::InvalidConfig(m)) => return Err(err(ErrorKind::Invalid, m.replace("no catalog credentials configured", "no credentials configured"))),
            Err(e @ lakeport_aws::AwsError::Http { .. }) => return Err(err(e.kind(), e.to_string())),
            Err(e) => return Err(e.into()),
        };
        Err(match answer.failure() {
            None => return Ok(answer.json),
            Some(CatalogFailure::AccessDenied(message)) => ZeroCopyError::Denied { operation: operation.to_string(), permission, message },
            Some(CatalogFailure::Unauthenticated(why)) => err(ErrorKind::Denied, why),
            Some(CatalogFailure::NotFound(message)) => err(ErrorKind::NotFound, format!("not found ({message})")),
            Some(CatalogFailure::Conflict(message)) => err(ErrorKind::Conflict, format!("HTTP 409 {message}")),
            Some(CatalogFailure::Other(kind, text)) => err(kind, text),
        })
    }

    /// `GET /v1/config?warehouse=…` (needs glue:GetCatalog), asked once per client.
    async fn catalog_config(&self) -> Result<&Value, ZeroCopyError> {
        self.catalog_config
            .get_or_try_init(|| async {
                let url = self.url(&["v1", "config"], &[("warehouse", self.config.warehouse.as_str())]);
                self.get("GetCatalog (GET /v1/config)", PERM_CONFIG, url).await
            })
            .await
    }

    /// A catalog property: the override, else the default.
    async fn catalog_property(&self, key: &str) -> Result<Option<String>, ZeroCopyError> {
        let v = self.catalog_config().await?;
        Ok(v["overrides"][key].as_str().or(v["defaults"][key].as_str()).map(str::to_string))
    }

    /// The catalog prefix from `/v1/config` (`prefix`, override before default); empty when none.
    ///
    /// # Errors
    /// [`ZeroCopyError::Request`] when the catalog cannot be reached or answers an error (kind from the
    /// HTTP status; 401 and SigV4 signature, unknown-key and expired-token errors are
    /// [`ErrorKind::Denied`](lakeport_error::ErrorKind::Denied)); [`ZeroCopyError::Denied`] naming the
    /// IAM permission on a 403 access-denied answer.
    pub async fn prefix(&self) -> Result<String, ZeroCopyError> {
        Ok(self.catalog_property("prefix").await?.unwrap_or_default())
    }

    /// The S3 endpoint the catalog announces in `/v1/config` (`s3.endpoint`, override before
    /// default), if any.
    ///
    /// # Errors
    /// As [`prefix`](Self::prefix).
    pub async fn announced_s3_endpoint(&self) -> Result<Option<String>, ZeroCopyError> {
        Ok(self.catalog_property("s3.endpoint").await?.filter(|e| !e.trim().is_empty()))
    }

    /// The settings data files are read with. A connection that names no S3 endpoint reads from
    /// the one the catalog announces (`s3.endpoint`, with its `s3.path-style-access`), as Iceberg's
    /// own clients (pyiceberg, Spark) do — without it, lakeport would go to AWS for files the
    /// catalog says are elsewhere. An endpoint set on the connection always wins. The announced
    /// endpoint passes the same HTTPS rule as a configured one; when it does not, the error names
    /// the flags that decide. Returns the settings and the announced endpoint when it is used.
    ///
    /// # Errors
    /// As [`prefix`](Self::prefix); [`ZeroCopyError::InvalidConfig`] when the announced endpoint
    /// does not pass the HTTPS rule.
    pub async fn data_config(&self) -> Result<(ZeroCopyConfig, Option<String>), ZeroCopyError> {
        let mut config = self.config.clone();
        if config.s3_endpoint.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            return Ok((config, None));
        }
        let Some(endpoint) = self.announced_s3_endpoint().await? else { return Ok((config, None)) };
        config.checked_url(&endpoint, "S3 endpoint").map_err(|e| {
            ZeroCopyError::InvalidConfig(format!(
                "the catalog announces S3 endpoint {endpoint} for its data files (s3.endpoint in /v1/config), and it cannot be used: {e}; set the connection's S3 endpoint (--endpoint) or allow it"
            ))
        })?;
        config.s3_path_style = self.catalog_property("s3.path-style-access").await?.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        config.s3_endpoint = Some(endpoint.clone());
        Ok((config, Some(endpoint)))
    }

    async fn paged(&self, operation: &str, permission: &'static str, segments: &[&str], field: &str) -> Result<Vec<Value>, ZeroCopyError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let query: Vec<(&str, &str)> = token.as_deref().map(|t| vec![("pageToken", t)]).unwrap_or_default();
            let v = self.get(operation, permission, self.url(segments, &query)).await?;
            out.extend(v[field].as_array().cloned().unwrap_or_default());
            match v["next-page-token"].as_str() {
                Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Every namespace (multi-level ones joined with `.`), all pages, sorted (needs
    /// glue:GetDatabases). A refusal is an error, never "none".
    ///
    /// # Errors
    /// As [`prefix`](Self::prefix).
    pub async fn namespaces(&self) -> Result<Vec<String>, ZeroCopyError> {
        let prefix = self.prefix().await?;
        let raw = self.paged("ListNamespaces", PERM_NAMESPACES, &["v1", &prefix, "namespaces"], "namespaces").await?;
        let mut names: Vec<String> = raw
            .iter()
            .filter_map(|n| n.as_array().map(|parts| parts.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join(".")))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every table of a namespace, all pages (needs glue:GetTables); [`ZeroCopyError::NoSuchNamespace`]
    /// when the namespace is not (or no longer) in the catalog. Names sorted.
    ///
    /// # Errors
    /// [`ZeroCopyError::NoSuchNamespace`] on a 404; otherwise as [`prefix`](Self::prefix).
    pub async fn tables(&self, namespace: &str) -> Result<Vec<String>, ZeroCopyError> {
        let prefix = self.prefix().await?;
        let raw = match self.paged(&format!("ListTables {namespace}"), PERM_TABLES, &["v1", &prefix, "namespaces", namespace, "tables"], "identifiers").await {
            Err(ZeroCopyError::Request { kind: ErrorKind::NotFound, .. }) => return Err(ZeroCopyError::NoSuchNamespace(namespace.to_string())),
            other => other?,
        };
        let mut names: Vec<String> = raw.iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect();
        names.sort();
        Ok(names)
    }

    /// LoadTable (needs glue:GetTable): the table's metadata, its location and its config.
    ///
    /// # Errors
    /// [`ZeroCopyError::NoSuchTable`] on a 404; [`ZeroCopyError::Request`] with kind
    /// [`ErrorKind::Invalid`](lakeport_error::ErrorKind::Invalid) when the metadata does not parse
    /// as Iceberg table metadata; otherwise as [`prefix`](Self::prefix).
    pub async fn load_table(&self, namespace: &str, table: &str) -> Result<LoadedTable, ZeroCopyError> {
        let prefix = self.prefix().await?;
        let url = self.url(&["v1", &prefix, "namespaces", namespace, "tables", table], &[]);
        let v = match self.get(&format!("LoadTable {namespace}.{table}"), PERM_TABLE, url).await {
            Err(ZeroCopyError::Request { kind: ErrorKind::NotFound, .. }) => {
                return Err(ZeroCopyError::NoSuchTable(format!("{namespace}.{table}")))
            }
            other => other?,
        };
        let metadata: TableMetadata = serde_json::from_value(v["metadata"].clone()).map_err(|e| ZeroCopyError::Request {
            operation: format!("LoadTable {namespace}.{table}"),
            message: format!("the table metadata is not readable: {e}"),
            kind: ErrorKind::Invalid,
        })?;
        let config = v["config"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
            .unwrap_or_default();
        Ok(LoadedTable {
            ident: TableIdent::new(NamespaceIdent::new(namespace.to_string()), table.to_string()),
            metadata_location: v["metadata-location"].as_str().unwrap_or_default().to_string(),
            metadata,
            config,
        })
    }
}
