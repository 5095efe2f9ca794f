//! Failure notifications: a JSON POST to the extraction's webhook URL, retried with backoff.
//! Delivery runs in a task of its own, after the run is recorded: it never holds up a run. The
//! payload names the pool, extraction, job and error; it carries no secret (errors never do) and
//! not the URL itself.

use std::time::Duration;

/// Attempts at delivering one notification.
pub const DELIVERY_ATTEMPTS: u32 = 4;

/// POSTs `payload` to `url` until a 2xx answer, at most [`DELIVERY_ATTEMPTS`] times, waiting 1 s,
/// 2 s, 4 s between attempts (10 s time limit each). Returns whether it was delivered; failures
/// are logged without the URL (it may hold a token).
pub async fn deliver(url: String, payload: serde_json::Value) -> bool {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("webhook: cannot build the HTTP client: {e}");
            return false;
        }
    };
    for attempt in 0..DELIVERY_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
        }
        match client.post(&url).json(&payload).send().await {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => tracing::warn!("webhook delivery attempt {} of {DELIVERY_ATTEMPTS}: HTTP {}", attempt + 1, r.status()),
            Err(e) => tracing::warn!("webhook delivery attempt {} of {DELIVERY_ATTEMPTS} failed: {}", attempt + 1, e.without_url()),
        }
    }
    false
}
