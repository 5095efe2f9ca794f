//! An Iceberg `Storage` over `object_store` for `s3://` paths, so Iceberg reads and writes use the
//! same S3 client (this layer's store factory, its retry policy, renewable credentials) as the
//! rest of lakeport instead of a second S3 stack. iceberg 0.10.1 ships only local and in-memory
//! storage; the trait is public, this is the piece on top of it, in one place. Zero-copy
//! connections use it read-only; REST-catalog pools write data files, manifests, manifest lists
//! and ledger files through it.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use iceberg::io::{
    FileIO, FileIOBuilder, FileMetadata, FileRead, FileWrite, InputFile, OutputFile, Storage,
    StorageConfig, StorageFactory,
};
use iceberg::{Error, ErrorKind, Result};
use object_store::aws::AwsCredentialProvider;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::{AwsError, HttpPolicy, S3StoreSettings, StoreCredentials};

/// Plain settings of the S3 FileIO: one store per bucket is built from them on first use.
#[derive(Clone)]
pub struct S3IoSettings {
    /// The buckets' region (part of every signature).
    pub region: String,
    /// An S3-compatible endpoint; `None`: AWS.
    pub endpoint: Option<String>,
    /// Path-style addressing instead of virtual-host style.
    pub path_style: bool,
    /// Which endpoints may be reached over plain HTTP.
    pub http: HttpPolicy,
    /// Retries per request after the first try.
    pub max_retries: usize,
    /// What requests are signed with (asked before each request).
    pub credentials: AwsCredentialProvider,
    /// Whether writes and deletes are allowed; a read-only FileIO refuses them with
    /// `FeatureUnsupported` (zero-copy never writes to the source).
    pub writable: bool,
}

impl S3IoSettings {
    /// The store of one bucket (the store factory, [`S3StoreSettings`]). Nothing is sent.
    ///
    /// # Errors
    /// As [`S3StoreSettings::build`].
    pub fn store(&self, bucket: &str) -> std::result::Result<Arc<dyn ObjectStore>, AwsError> {
        S3StoreSettings {
            region: self.region.clone(),
            bucket: bucket.to_string(),
            endpoint: self.endpoint.clone(),
            path_style: self.path_style,
            http: self.http,
            max_retries: self.max_retries,
            credentials: StoreCredentials::Provider(self.credentials.clone()),
        }
        .build()
    }
}

struct Inner {
    settings: S3IoSettings,
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

fn store_err(doing: &str, path: &str, e: object_store::Error) -> Error {
    let kind = if matches!(e, object_store::Error::NotFound { .. }) {
        ErrorKind::DataInvalid
    } else {
        ErrorKind::Unexpected
    };
    // The object_store error stays in the source chain: callers classify it by its variant.
    Error::new(kind, format!("{doing} {path}: {e}")).with_source(e)
}

fn read_only() -> Error {
    Error::new(
        ErrorKind::FeatureUnsupported,
        "zero-copy connections are read-only: lakeport never writes to the source",
    )
}

/// `s3://bucket/key` → (`bucket`, `key`).
pub fn split_s3_path(path: &str) -> Option<(&str, &str)> {
    let rest = ["s3://", "s3a://", "s3n://"]
        .iter()
        .find_map(|p| path.strip_prefix(p))?;
    rest.split_once('/')
}

impl ObjectStoreStorage {
    fn inner(&self) -> Result<&Arc<Inner>> {
        self.inner
            .as_ref()
            .ok_or_else(|| err("storage is not configured"))
    }

    fn writable(&self) -> Result<()> {
        if self.inner()?.settings.writable {
            Ok(())
        } else {
            Err(read_only())
        }
    }

    /// `s3://bucket/key` → the bucket's store and the key.
    fn locate(&self, path: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let (bucket, key) = split_s3_path(path).ok_or_else(|| {
            err(format!(
                "{path}: only s3://bucket/key locations are supported"
            ))
        })?;
        let inner = self.inner()?;
        let mut stores = inner.stores.lock().expect("store map lock");
        if let Some(s) = stores.get(bucket) {
            return Ok((s.clone(), Path::from(key)));
        }
        let store = inner
            .settings
            .store(bucket)
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
        self.store
            .get_range(&self.path, range)
            .await
            .map_err(|e| store_err("reading", &self.name, e))
    }
}

/// Parts of 10 MiB go up as they fill (multipart); a small file is one PUT at `close`.
struct Writer {
    inner: BufWriter,
    name: String,
}

#[async_trait::async_trait]
impl FileWrite for Writer {
    async fn write(&mut self, bs: Bytes) -> Result<()> {
        self.inner
            .put(bs)
            .await
            .map_err(|e| store_err("writing", &self.name, e))
    }

    async fn close(&mut self) -> Result<()> {
        self.inner
            .shutdown()
            .await
            .map_err(|e| err(format!("writing {}: {e}", self.name)))
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
            Err(e) => Err(store_err("reading", path, e)),
        }
    }

    async fn metadata(&self, path: &str) -> Result<FileMetadata> {
        let (store, p) = self.locate(path)?;
        let m = store
            .head(&p)
            .await
            .map_err(|e| store_err("reading", path, e))?;
        Ok(FileMetadata { size: m.size })
    }

    async fn read(&self, path: &str) -> Result<Bytes> {
        let (store, p) = self.locate(path)?;
        let r = store
            .get(&p)
            .await
            .map_err(|e| store_err("reading", path, e))?;
        r.bytes().await.map_err(|e| store_err("reading", path, e))
    }

    async fn reader(&self, path: &str) -> Result<Box<dyn FileRead>> {
        let (store, p) = self.locate(path)?;
        Ok(Box::new(Reader {
            store,
            path: p,
            name: path.to_string(),
        }))
    }

    async fn write(&self, path: &str, bs: Bytes) -> Result<()> {
        self.writable()?;
        let (store, p) = self.locate(path)?;
        store
            .put(&p, bs.into())
            .await
            .map_err(|e| store_err("writing", path, e))?;
        Ok(())
    }

    async fn writer(&self, path: &str) -> Result<Box<dyn FileWrite>> {
        self.writable()?;
        let (store, p) = self.locate(path)?;
        Ok(Box::new(Writer {
            inner: BufWriter::new(store, p),
            name: path.to_string(),
        }))
    }

    async fn delete(&self, path: &str) -> Result<()> {
        self.writable()?;
        let (store, p) = self.locate(path)?;
        match store.delete(&p).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err("deleting", path, e)),
        }
    }

    async fn delete_prefix(&self, path: &str) -> Result<()> {
        self.writable()?;
        let (store, p) = self.locate(path)?;
        let keys: Vec<Path> = store
            .list(Some(&p))
            .map(|m| m.map(|m| m.location))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| store_err("listing", path, e))?;
        for k in keys {
            match store.delete(&k).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err("deleting", k.as_ref(), e)),
            }
        }
        Ok(())
    }

    async fn delete_stream(&self, mut paths: BoxStream<'static, String>) -> Result<()> {
        self.writable()?;
        while let Some(path) = paths.next().await {
            self.delete(&path).await?;
        }
        Ok(())
    }

    fn new_input(&self, path: &str) -> Result<InputFile> {
        Ok(InputFile::new(Arc::new(self.clone()), path.to_string()))
    }

    fn new_output(&self, path: &str) -> Result<OutputFile> {
        self.writable()?;
        Ok(OutputFile::new(Arc::new(self.clone()), path.to_string()))
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

/// A FileIO for `s3://` paths through object_store with `settings` (read-only unless
/// `settings.writable`).
pub fn s3_file_io(settings: S3IoSettings) -> FileIO {
    let storage = ObjectStoreStorage {
        inner: Some(Arc::new(Inner {
            settings,
            stores: Mutex::new(HashMap::new()),
        })),
    };
    FileIOBuilder::new(Arc::new(ObjectStoreStorageFactory { storage })).build()
}
