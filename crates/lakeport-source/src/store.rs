use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::{Path, PathPart};
use lakeport_aws::{S3StoreSettings, SharedHttp, StoreCredentials};
use object_store::{GetOptions, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use crate::config::uri_encode;
use crate::listing::list_objects;
use crate::{S3Config, Secret, SignedClient, SourceError};

/// One object version as listed: the delta ledger identifies a version by key + ETag. `key` is
/// the S3 key exactly as stored (any UTF-8: trailing `/`, empty, `.` and `..` segments, `%`, `+`,
/// spaces…), never a normalised form of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectInfo {
    /// The key exactly as stored.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag as the server sent it, quotes included (`"d41d8…"`); `None` when it sent none.
    pub etag: Option<String>,
    /// When the object was last written (S3's `LastModified`): to the millisecond from a listing,
    /// to the second from a HEAD (an HTTP date).
    pub last_modified: DateTime<Utc>,
}

impl ObjectInfo {
    /// The version identity recorded by delta loads: the ETag without its quotes, or
    /// `<size in bytes>@<last modified, Unix milliseconds>` when a store sends none.
    pub fn version(&self) -> String {
        match &self.etag {
            Some(e) => e.trim_matches('"').to_string(),
            None => format!("{}@{}", self.size, self.last_modified.timestamp_millis()),
        }
    }
}

/// A read-only view of one bucket. It only lists, heads and gets objects.
///
/// Keys are S3's, exactly: listings come from ListObjectsV2 as stored (see `listing.rs`), and
/// HEAD/GET address each key exactly ([`S3Source::locate`]).
#[derive(Clone)]
pub struct S3Source {
    store: Arc<dyn ObjectStore>,
    access: Access,
    config: S3Config,
}

/// How keys are listed and addressed.
#[derive(Clone)]
enum Access {
    /// S3 itself: listings signed by lakeport (keys exactly as stored), keys that object_store's
    /// `Path` cannot hold through stores of their own built from `builder` (sharing the
    /// connection pool).
    S3 { builder: Box<AmazonS3Builder>, signed: SignedClient },
    /// Any other [`ObjectStore`] ([`S3Source::from_store`]): listed through its own `list`;
    /// its keys are its `Path`s.
    Store,
}

impl S3Source {
    /// Builds the object_store client and the signed listing client; nothing is sent yet. Retries
    /// use exponential backoff with jitter (100 ms doubling up to 10 s), bounded by the
    /// connection's retry budget and 180 s in all; connect timeout 10 s, request timeout 300 s.
    ///
    /// # Errors
    /// [`SourceError::InvalidConfig`] for settings that fail [`S3Config::validate`], or that
    /// object_store's builder refuses.
    pub fn connect(config: &S3Config, secret: &Secret) -> Result<Self, SourceError> {
        Self::open(config, Some(secret))
    }

    /// [`S3Source::connect`] for any [`crate::S3Auth`] method: `secret` is the access-key
    /// method's (the others have none; temporary credentials are renewed before they expire,
    /// for object reads and listings alike).
    ///
    /// # Errors
    /// As for [`S3Source::connect`], and as for [`S3Config::credentials`].
    pub fn open(config: &S3Config, secret: Option<&Secret>) -> Result<Self, SourceError> {
        config.validate()?;
        let provider = config.credentials(secret)?;
        let settings = S3StoreSettings {
            region: config.region.trim().to_string(),
            bucket: config.bucket.clone(),
            endpoint: config.endpoint.as_ref().map(|_| config.endpoint_url().map(|u| u.to_string())).transpose()?,
            path_style: config.path_style,
            http: config.http_policy(),
            max_retries: config.max_retries,
            credentials: StoreCredentials::Provider(provider.clone()),
        };
        let builder = settings.builder(Some(SharedHttp::new(settings.http)?))?;
        let store = builder.clone().build().map_err(|e| SourceError::InvalidConfig(format!("cannot configure the S3 client: {e}")))?;
        // The listing is signed like object_store signs (same trimmed key ID and region).
        let signed = config.signed_with(provider)?;
        Ok(S3Source { store: Arc::new(store), access: Access::S3 { builder: Box::new(builder), signed }, config: config.clone() })
    }

    /// A source over any object_store backend, named `bucket` in messages: the in-process seam
    /// (tests run the extract orchestration on `InMemory`), or a store lakeport does not build
    /// itself. Listing goes through the store's own `list`, so keys are what its `Path` can hold
    /// (no empty, `.` or `..` segments, no trailing `/`); others are
    /// [`SourceError::Unaddressable`]. Reads use the store as given (its retries, its limits).
    pub fn from_store(bucket: &str, store: Arc<dyn ObjectStore>) -> S3Source {
        let config = S3Config {
            region: String::new(),
            bucket: bucket.to_string(),
            access_key_id: String::new(),
            auth: crate::S3Auth::AccessKey,
            sts_endpoint: None,
            endpoint: None,
            path_style: false,
            allow_http: false,
            allow_http_anywhere: false,
            concurrency: crate::config::DEFAULT_CONCURRENCY,
            max_retries: crate::config::DEFAULT_MAX_RETRIES,
        };
        S3Source { store, access: Access::Store, config }
    }

    /// The connection's settings. For a source made by [`S3Source::from_store`], placeholders:
    /// only `bucket` is meaningful (region and key are empty).
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// The bucket's name (for [`S3Source::from_store`], the name given there).
    pub fn bucket(&self) -> &str {
        &self.config.bucket
    }

    /// Every object whose key starts with the folder `prefix` (all pages), sorted by key, keys as
    /// stored. `prefix` is a folder: a leading `/` is dropped and a missing trailing `/` added
    /// (`""` is the whole bucket). Folder markers (keys ending in `/`, usually zero-byte) are
    /// listed like any object: the caller decides what to skip, and says so.
    ///
    /// # Errors
    /// On S3: [`SourceError::S3`] when S3 answers an error status (after retries of 5xx and 429),
    /// [`SourceError::Http`] when it cannot be reached, [`SourceError::BadListing`] for an answer
    /// that is not a readable ListObjectsV2 result. On a [`S3Source::from_store`] store:
    /// [`SourceError::Store`], or [`SourceError::Unaddressable`] for a prefix its `Path` cannot hold.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, SourceError> {
        let prefix = folder_prefix(prefix);
        let mut out = match &self.access {
            Access::S3 { signed, .. } => list_objects(signed, &self.config, &prefix, false).await?.objects,
            Access::Store => {
                let path = self.store_prefix(&prefix)?;
                let listed: Vec<object_store::ObjectMeta> = self.store.list(path.as_ref()).try_collect().await.map_err(|e| SourceError::store("list", &self.config.bucket, &prefix, e))?;
                listed.into_iter().map(object_info).collect()
            }
        };
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// One level below the folder `prefix` (as in [`S3Source::list`]): the sub-folders (common
    /// prefixes, each ending in `/`) and the objects, keys as stored, in the order listed.
    ///
    /// # Errors
    /// As for [`S3Source::list`].
    pub async fn list_level(&self, prefix: &str) -> Result<(Vec<String>, Vec<ObjectInfo>), SourceError> {
        let prefix = folder_prefix(prefix);
        match &self.access {
            Access::S3 { signed, .. } => {
                let listing = list_objects(signed, &self.config, &prefix, true).await?;
                Ok((listing.prefixes, listing.objects))
            }
            Access::Store => {
                let path = self.store_prefix(&prefix)?;
                let listing = self.store.list_with_delimiter(path.as_ref()).await.map_err(|e| SourceError::store("list", &self.config.bucket, &prefix, e))?;
                let prefixes = listing.common_prefixes.iter().map(|p| format!("{p}/")).collect();
                Ok((prefixes, listing.objects.into_iter().map(object_info).collect()))
            }
        }
    }

    /// A folder prefix as the store's `Path` (`None` for the whole store).
    fn store_prefix(&self, prefix: &str) -> Result<Option<Path>, SourceError> {
        let trimmed = prefix.trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(None);
        }
        match Path::parse(trimmed) {
            Ok(p) if p.as_ref() == trimmed => Ok(Some(p)),
            _ => Err(SourceError::Unaddressable { bucket: self.config.bucket.clone(), key: prefix.to_string(), reason: "this store cannot list a folder of that name".into() }),
        }
    }

    /// HEAD one object (S3 HeadObject): its size, ETag and last-modified time.
    ///
    /// # Errors
    /// [`SourceError::Unaddressable`] for a key no request can name ([`S3Source::addressable`]);
    /// [`SourceError::Store`] when the request fails ([`SourceError::is_not_found`] tells a missing
    /// object).
    pub async fn head(&self, key: &str) -> Result<ObjectInfo, SourceError> {
        let (store, path) = self.locate(key)?;
        let m = store.head(&path).await.map_err(|e| SourceError::store("head", &self.config.bucket, key, e))?;
        Ok(ObjectInfo { key: key.to_string(), size: m.size, etag: m.e_tag, last_modified: m.last_modified })
    }

    /// Streams an object's bytes (memory stays bounded by the chunk size). A body that breaks off
    /// mid-way is resumed by object_store itself (a ranged GET from the last byte received, pinned
    /// to the ETag, within the connection's retry budget) — the fault tests check that it happens.
    ///
    /// # Errors
    /// As for [`S3Source::head`] when the GET fails; a body that breaks off for good is a
    /// [`SourceError::Store`] (`op` `read`) item of the stream.
    pub async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, SourceError>>, SourceError> {
        let bucket = self.config.bucket.clone();
        let k = key.to_string();
        let (store, path) = self.locate(key)?;
        let result = store.get(&path).await.map_err(|e| SourceError::store("get", &bucket, key, e))?;
        Ok(result
            .into_stream()
            .map_err(move |e| SourceError::store("read", &bucket, &k, e))
            .boxed())
    }

    /// Streams the bytes of the object version `info` (as listed or HEADed): objects of at most
    /// two [`RANGED_READ_CHUNK`]s as one GET ([`S3Source::get_stream`]); bigger ones as ranged GETs
    /// of [`RANGED_READ_CHUNK`] bytes, up to `parallel` (at least 1) in flight, yielded in order.
    /// One S3 connection carries roughly 80–100 MB/s, so one stream caps a big object there;
    /// parallel ranges are how S3 is meant to be read fast (AWS's performance guidelines). Memory
    /// stays bounded by `parallel` × [`RANGED_READ_CHUNK`]. Every range is pinned to the listed
    /// ETag (`If-Match`), so the bytes are all of that one version; an object listed without an
    /// ETag has nothing to pin its ranges to and is read as one GET. Each range gets
    /// object_store's retries and body resumption.
    ///
    /// # Errors
    /// As for [`S3Source::get_stream`]; an object rewritten while it is read fails its next range
    /// with [`SourceError::Store`] (`op` `read`; object_store's `Precondition`, kind `Conflict`):
    /// a mix of two versions is never yielded.
    pub async fn read_stream(&self, info: &ObjectInfo, parallel: usize) -> Result<BoxStream<'static, Result<Bytes, SourceError>>, SourceError> {
        let Some(etag) = info.etag.clone().filter(|_| info.size > 2 * RANGED_READ_CHUNK && parallel > 1) else {
            return self.get_stream(&info.key).await;
        };
        let (store, path) = self.locate(&info.key)?;
        let (bucket, key) = (self.config.bucket.clone(), info.key.clone());
        let size = info.size;
        let ranges: Vec<std::ops::Range<u64>> = (0..size).step_by(RANGED_READ_CHUNK as usize).map(|start| start..(start + RANGED_READ_CHUNK).min(size)).collect();
        Ok(futures::stream::iter(ranges)
            .map(move |range| {
                let (store, path, etag) = (store.clone(), path.clone(), etag.clone());
                let (bucket, key) = (bucket.clone(), key.clone());
                async move {
                    let options = GetOptions { range: Some(range.into()), if_match: Some(etag), ..GetOptions::default() };
                    let result = store.get_opts(&path, options).await.map_err(|e| SourceError::store("read", &bucket, &key, e))?;
                    result.bytes().await.map_err(|e| SourceError::store("read", &bucket, &key, e))
                }
            })
            .buffered(parallel)
            .boxed())
    }

    /// The object_store client and `Path` that address exactly the S3 key `key`, for HEAD, GET
    /// and ranged reads (Parquet).
    ///
    /// object_store requests `<bucket endpoint>/<path>`, the path percent-encoded segment by
    /// segment, and a `Path` holds no empty, `.` or `..` segment and no leading or trailing `/`.
    /// Keys that fit (`Path::parse` keeps them unchanged) go through the source's store. For the
    /// others, everything before the key's last `/` moves into the endpoint of a store of its own,
    /// percent-encoded as one segment (`/` as `%2F`, which S3 decodes back), so no `.`/`..`
    /// segment appears that URL parsing would resolve away, and the last segment stays the path:
    /// `odd/./dot.csv` is requested as `<bucket>/odd%2F./dot.csv`. That store shares the source's
    /// connection pool and retry settings (object_store offers no raw-key request; this is the
    /// smallest piece on top of it).
    ///
    /// # Errors
    /// [`SourceError::Unaddressable`] for the few keys no request through object_store can name
    /// ([`S3Source::addressable`]), and on a [`S3Source::from_store`] store for every key its `Path`
    /// does not hold unchanged; [`SourceError::InvalidConfig`] if the bucket URL cannot be built.
    pub fn locate(&self, key: &str) -> Result<(Arc<dyn ObjectStore>, Path), SourceError> {
        if let Ok(path) = Path::parse(key) {
            if path.as_ref() == key {
                return Ok((self.store.clone(), path));
            }
        }
        let unaddressable = |reason: String| SourceError::Unaddressable { bucket: self.config.bucket.clone(), key: key.to_string(), reason };
        Self::addressable(key).map_err(unaddressable)?;
        let Access::S3 { builder, .. } = &self.access else {
            return Err(unaddressable("this store has no object of such a name".into()));
        };
        let (dir, name) = key.rsplit_once('/').expect("addressable keys have a '/'");
        let path = Path::from_iter([PathPart::parse(name).expect("checked by addressable")]);
        let endpoint = format!("{}{}", self.config.bucket_url()?.as_str(), uri_encode(dir));
        let store = builder
            .clone()
            .with_virtual_hosted_style_request(true)
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| unaddressable(format!("cannot configure a client for it: {e}")))?;
        Ok((Arc::new(store), path))
    }

    /// Whether [`S3Source::locate`] can address `key`; the reason when it cannot. Unaddressable:
    /// keys ending in `/` (folder markers), keys whose last segment is `.` or `..` or holds ASCII
    /// control characters (object_store's `Path` cannot hold that segment), and keys whose part
    /// before the last `/` is exactly `.` or `..` (any URL parser resolves that segment away).
    pub fn addressable(key: &str) -> Result<(), String> {
        if Path::parse(key).is_ok_and(|p| p.as_ref() == key) {
            return Ok(());
        }
        let Some((dir, name)) = key.rsplit_once('/') else {
            return Err(format!("object_store cannot request a key like '{}' ('.', '..' or control characters)", key.escape_debug()));
        };
        if name.is_empty() {
            return Err("the key ends in '/' (a folder name, not a file)".into());
        }
        if PathPart::parse(name).is_err() {
            return Err(format!(
                "its last segment '{}' is '.', '..' or holds control characters, which object_store cannot put in a request",
                name.escape_debug()
            ));
        }
        if dir == "." || dir == ".." {
            return Err(format!("it starts with a '{dir}/' segment, which URL parsing resolves away"));
        }
        Ok(())
    }
}

/// The size of the ranges [`S3Source::read_stream`] reads a big object in (bytes): 8 MiB, the part
/// size AWS's S3 performance guidelines suggest for byte-range fetches.
pub const RANGED_READ_CHUNK: u64 = 8 * 1024 * 1024;

fn object_info(m: object_store::ObjectMeta) -> ObjectInfo {
    ObjectInfo { key: m.location.to_string(), size: m.size, etag: m.e_tag, last_modified: m.last_modified }
}

/// The prefix of a folder as S3 lists it: no leading `/` (as typed: `/raw` means `raw/`), one
/// trailing `/` added when missing; `""` for the whole bucket.
fn folder_prefix(prefix: &str) -> String {
    let p = prefix.trim_start_matches('/');
    if p.is_empty() || p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_keys_object_store_can_address() {
        for key in ["a.csv", "odd/a b.csv", "odd/x+y.csv", "odd/100%.csv", "odd/ü/日本.csv", "odd//double.csv", "odd/./dot.csv", "odd/../dotdot.csv", "/lead.csv", "a/b/"] {
            let ok = S3Source::addressable(key);
            assert_eq!(ok.is_ok(), key != "a/b/", "{key}: {ok:?}");
        }
        for key in ["odd/.", "odd/..", "odd/tab\tname.csv", "./x.csv", "../x.csv", "raw/", "..", "tab\t.csv"] {
            assert!(S3Source::addressable(key).is_err(), "{key}");
        }
    }

    #[test]
    fn folder_prefixes() {
        assert_eq!(folder_prefix(""), "");
        assert_eq!(folder_prefix("/"), "");
        assert_eq!(folder_prefix("raw"), "raw/");
        assert_eq!(folder_prefix("/raw/"), "raw/");
        assert_eq!(folder_prefix("odd//"), "odd//", "an empty segment is part of the prefix");
    }
}
