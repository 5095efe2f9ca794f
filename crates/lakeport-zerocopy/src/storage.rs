//! An Iceberg `Storage` over `object_store`, read-only, so zero-copy reads use the same S3 client
//! (and the same renewable credentials) as the rest of lakeport instead of a second S3 stack.
//! iceberg 0.10.1 ships only local and in-memory storage; the trait is public, this is the piece on
//! top of it, in one place.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::BoxStream;
use iceberg::io::{FileIO, FileIOBuilder, FileMetadata, FileRead, FileWrite, InputFile, OutputFile, Storage, StorageConfig, StorageFactory};
use iceberg::{Error, ErrorKind, Result};
use lakeport_aws::{HttpPolicy, S3StoreSettings, StoreCredentials};
use object_store::aws::AwsCredential;
use object_store::path::Path;
use object_store::{CredentialProvider, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use crate::ZeroCopyConfig;

type Provider = Arc<dyn CredentialProvider<Credential = AwsCredential>>;

struct Inner {
    endpoint: Option<String>,
    region: String,
    path_style: bool,
    http: HttpPolicy,
    credentials: Provider,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

/// Serialisable only to satisfy the trait's `typetag` bound; a deserialised copy has no client.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ObjectStoreStorage {
    #[serde(skip)]
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for ObjectStoreStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ObjectStoreStorage")
    }
}

fn err(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unexpected, message.into())
}

fn store_err(path: &str, e: object_store::Error) -> Error {
    let kind = if matches!(e, object_store::Error::NotFound { .. }) { ErrorKind::DataInvalid } else { ErrorKind::Unexpected };
    // The object_store error stays in the source chain: callers classify it by its variant.
    Error::new(kind, format!("reading {path}: {e}")).with_source(e)
}

fn read_only() -> Error {
    Error::new(ErrorKind::FeatureUnsupported, "zero-copy connections are read-only: lakeport never writes to the source")
}

impl ObjectStoreStorage {
    fn inner(&self) -> Result<&Arc<Inner>> {
        self.inner.as_ref().ok_or_else(|| err("storage is not configured"))
    }

    /// `s3://bucket/key` → the bucket's store and the key.
    fn locate(&self, path: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let rest = ["s3://", "s3a://", "s3n://"]
            .iter()
            .find_map(|p| path.strip_prefix(p))
            .ok_or_else(|| err(format!("{path}: only s3:// locations are supported")))?;
        let (bucket, key) = rest.split_once('/').ok_or_else(|| err(format!("{path}: no object key")))?;
        let inner = self.inner()?;
        let mut stores = inner.stores.lock().expect("store map lock");
        if let Some(s) = stores.get(bucket) {
            return Ok((s.clone(), Path::from(key)));
        }
        let store = store_for(&inner.region, bucket, inner.endpoint.as_deref(), inner.path_style, inner.http, inner.credentials.clone())
            .map_err(|e| err(format!("S3 client for bucket {bucket}: {e}")))?;
        stores.insert(bucket.to_string(), store.clone());
        Ok((store, Path::from(key)))
    }
}

struct Reader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    name: String,
}

#[async_trait::async_trait]
impl FileRead for Reader {
    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        self.store.get_range(&self.path, range).await.map_err(|e| store_err(&self.name, e))
    }
}

#[async_trait::async_trait]
#[typetag::serde(name = "lakeport-object-store")]
impl Storage for ObjectStoreStorage {
    async fn exists(&self, path: &str) -> Result<bool> {
        let (store, p) = self.locate(path)?;
        match store.head(&p).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_err(path, e)),
        }
    }

    async fn metadata(&self, path: &str) -> Result<FileMetadata> {
        let (store, p) = self.locate(path)?;
        let m = store.head(&p).await.map_err(|e| store_err(path, e))?;
        Ok(FileMetadata { size: m.size })
    }

    async fn read(&self, path: &str) -> Result<Bytes> {
        let (store, p) = self.locate(path)?;
        let r = store.get(&p).await.map_err(|e| store_err(path, e))?;
        r.bytes().await.map_err(|e| store_err(path, e))
    }

    async fn reader(&self, path: &str) -> Result<Box<dyn FileRead>> {
        let (store, p) = self.locate(path)?;
        Ok(Box::new(Reader { store, path: p, name: path.to_string() }))
    }

    async fn write(&self, _path: &str, _bs: Bytes) -> Result<()> {
        Err(read_only())
    }

    async fn writer(&self, _path: &str) -> Result<Box<dyn FileWrite>> {
        Err(read_only())
    }

    async fn delete(&self, _path: &str) -> Result<()> {
        Err(read_only())
    }

    async fn delete_prefix(&self, _path: &str) -> Result<()> {
        Err(read_only())
    }

    async fn delete_stream(&self, _paths: BoxStream<'static, String>) -> Result<()> {
        Err(read_only())
    }

    fn new_input(&self, path: &str) -> Result<InputFile> {
        Ok(InputFile::new(Arc::new(self.clone()), path.to_string()))
    }

    fn new_output(&self, _path: &str) -> Result<OutputFile> {
        Err(read_only())
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ObjectStoreStorageFactory {
    #[serde(skip)]
    storage: ObjectStoreStorage,
}

#[typetag::serde(name = "lakeport-object-store-factory")]
impl StorageFactory for ObjectStoreStorageFactory {
    fn build(&self, _config: &StorageConfig) -> Result<Arc<dyn Storage>> {
        Ok(Arc::new(self.storage.clone()))
    }
}

/// The store of one bucket a zero-copy connection reads (data files, Test Connection's listing):
/// the AWS layer's factory with its one retry/timeout policy and the connection's retry default.
pub(crate) fn store_for(region: &str, bucket: &str, endpoint: Option<&str>, path_style: bool, http: HttpPolicy, credentials: Provider) -> std::result::Result<Arc<dyn ObjectStore>, lakeport_aws::AwsError> {
    S3StoreSettings {
        region: region.to_string(),
        bucket: bucket.to_string(),
        endpoint: endpoint.map(str::to_string),
        path_style,
        http,
        max_retries: lakeport_source::DEFAULT_MAX_RETRIES,
        credentials: StoreCredentials::Provider(credentials),
    }
    .build()
}

/// A FileIO that reads `s3://` paths through object_store with the given credentials.
pub fn file_io(config: &ZeroCopyConfig, credentials: Arc<dyn CredentialProvider<Credential = AwsCredential>>) -> FileIO {
    let storage = ObjectStoreStorage {
        inner: Some(Arc::new(Inner {
            endpoint: config.s3_endpoint.clone(),
            region: config.region.clone(),
            path_style: config.s3_path_style,
            http: config.http_policy(),
            credentials,
            stores: Mutex::new(HashMap::new()),
        })),
    };
    FileIOBuilder::new(Arc::new(ObjectStoreStorageFactory { storage })).build()
}
