use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use serde::{Deserialize, Serialize};

use crate::{S3Config, Secret, SourceError};

/// One object version as listed: the delta ledger identifies a version by key + ETag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: DateTime<Utc>,
}

impl ObjectInfo {
    /// The version identity recorded by delta loads (ETag, or size+mtime when a store sends none).
    pub fn version(&self) -> String {
        match &self.etag {
            Some(e) => e.trim_matches('"').to_string(),
            None => format!("{}@{}", self.size, self.last_modified.timestamp_millis()),
        }
    }
}

/// A read-only view of one bucket. It only lists, heads and gets objects.
#[derive(Clone)]
pub struct S3Source {
    store: Arc<dyn ObjectStore>,
    config: S3Config,
}

impl S3Source {
    /// Builds the object_store client. Retries use exponential backoff with jitter, bounded by the
    /// connection's retry budget.
    pub fn connect(config: &S3Config, secret: &Secret) -> Result<Self, SourceError> {
        config.validate()?;
        let endpoint = config.endpoint_url()?;
        let mut builder = AmazonS3Builder::new()
            .with_region(config.region.trim())
            .with_bucket_name(&config.bucket)
            .with_access_key_id(config.access_key_id.trim())
            .with_secret_access_key(secret.expose())
            .with_allow_http(config.allow_http)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(10),
                    base: 2.0,
                },
                max_retries: config.max_retries,
                retry_timeout: Duration::from_secs(180),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(10))
                    .with_timeout(Duration::from_secs(300))
                    .with_allow_http(config.allow_http),
            );
        if config.endpoint.is_some() {
            builder = if config.path_style {
                builder.with_endpoint(endpoint.as_str().trim_end_matches('/'))
            } else {
                let vhost = config.bucket_url()?;
                builder
                    .with_virtual_hosted_style_request(true)
                    .with_endpoint(vhost.as_str().trim_end_matches('/'))
            };
        } else if !config.path_style {
            builder = builder.with_virtual_hosted_style_request(true);
        }
        let store = builder
            .build()
            .map_err(|e| SourceError::InvalidConfig(format!("cannot configure the S3 client: {e}")))?;
        Ok(S3Source { store: Arc::new(store), config: config.clone() })
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    pub fn bucket(&self) -> &str {
        &self.config.bucket
    }

    /// The underlying object store, for readers that do their own ranged reads (Parquet).
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// Every object below `prefix` (recursively, all pages), sorted by key. Folder markers
    /// (zero-byte keys ending in `/`) are skipped.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, SourceError> {
        let trimmed = prefix.trim_matches('/');
        let path = (!trimmed.is_empty()).then(|| Path::from(trimmed));
        let mut out: Vec<ObjectInfo> = self
            .store
            .list(path.as_ref())
            .map_ok(|m| ObjectInfo {
                key: m.location.to_string(),
                size: m.size,
                etag: m.e_tag,
                last_modified: m.last_modified,
            })
            .try_collect()
            .await
            .map_err(|e| SourceError::store("list", &self.config.bucket, prefix, e))?;
        out.retain(|o| !o.key.ends_with('/'));
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// One level below `prefix`: the sub-folders (common prefixes, ending in `/`) and the objects.
    pub async fn list_level(&self, prefix: &str) -> Result<(Vec<String>, Vec<ObjectInfo>), SourceError> {
        let trimmed = prefix.trim_matches('/');
        let path = (!trimmed.is_empty()).then(|| Path::from(trimmed));
        let r = self
            .store
            .list_with_delimiter(path.as_ref())
            .await
            .map_err(|e| SourceError::store("list", &self.config.bucket, prefix, e))?;
        let folders = r.common_prefixes.into_iter().map(|p| format!("{p}/")).collect();
        let objects = r
            .objects
            .into_iter()
            .map(|m| ObjectInfo { key: m.location.to_string(), size: m.size, etag: m.e_tag, last_modified: m.last_modified })
            .collect();
        Ok((folders, objects))
    }

    /// HEAD one object.
    pub async fn head(&self, key: &str) -> Result<ObjectInfo, SourceError> {
        let m = self
            .store
            .head(&Self::path(key))
            .await
            .map_err(|e| SourceError::store("head", &self.config.bucket, key, e))?;
        Ok(ObjectInfo { key: key.to_string(), size: m.size, etag: m.e_tag, last_modified: m.last_modified })
    }

    /// Streams an object's bytes (memory stays bounded by the chunk size). A body that breaks off
    /// mid-way is resumed by object_store itself (a ranged GET from the last byte received, pinned
    /// to the ETag, within the connection's retry budget) — the fault tests check that it happens.
    pub async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, SourceError>>, SourceError> {
        let bucket = self.config.bucket.clone();
        let k = key.to_string();
        let result = self
            .store
            .get(&Self::path(key))
            .await
            .map_err(|e| SourceError::store("get", &bucket, key, e))?;
        Ok(result
            .into_stream()
            .map_err(move |e| SourceError::store("read", &bucket, &k, e))
            .boxed())
    }

    /// The object_store path of a key (for readers that address the store directly). Keys that
    /// came from a listing are already in object_store's form and must not be encoded again;
    /// keys a user typed are encoded where object_store needs it.
    pub fn path(key: &str) -> Path {
        Path::parse(key).unwrap_or_else(|_| Path::from(key))
    }
}
