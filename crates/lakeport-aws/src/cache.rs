//! The one cache of temporary credentials: kept while they have more than a renewal window
//! left, fetched anew (once, by whichever caller comes first) when not.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use object_store::aws::AwsCredential;

/// A credential and when it expires (`None`: it does not).
type Entry = (Arc<AwsCredential>, Option<DateTime<Utc>>);

pub(crate) struct Renewing {
    renew_before: std::time::Duration,
    cached: tokio::sync::Mutex<Option<Entry>>,
}

impl Renewing {
    pub(crate) fn new(renew_before: std::time::Duration) -> Self {
        Renewing { renew_before, cached: tokio::sync::Mutex::new(None) }
    }

    /// The cached credential while it has more than the renewal window left; else `fetch`'s,
    /// cached in its place. Callers wait for one fetch rather than each fetching.
    pub(crate) async fn get_or<F, Fut, E>(&self, fetch: F) -> Result<Arc<AwsCredential>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Entry, E>>,
    {
        let mut cached = self.cached.lock().await;
        let window = Duration::from_std(self.renew_before).unwrap_or(Duration::MAX);
        if let Some((c, expires)) = cached.as_ref() {
            if expires.is_none_or(|t| t - Utc::now() > window) {
                return Ok(c.clone());
            }
        }
        let fresh = fetch().await?;
        let credential = fresh.0.clone();
        *cached = Some(fresh);
        Ok(credential)
    }

    pub(crate) async fn expires(&self) -> Option<DateTime<Utc>> {
        self.cached.lock().await.as_ref().and_then(|c| c.1)
    }

    pub(crate) async fn set_expiry(&self, expires: DateTime<Utc>) {
        if let Some(c) = self.cached.lock().await.as_mut() {
            c.1 = Some(expires);
        }
    }
}
