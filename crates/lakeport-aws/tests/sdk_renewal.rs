//! Credentials of the AWS SDK's providers are renewed before they expire, and kept while they
//! have time left: container credentials (the `AWS_CONTAINER_CREDENTIALS_FULL_URI` contract, as
//! on ECS) served by a tiny local HTTP server that counts how often it is asked. One test: it
//! sets process environment variables the default chain reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lakeport_aws::{SdkCredentials, SdkSource};

/// Answers with credentials expiring `expires_in` seconds from each request; counts requests.
fn serve(expires_in: Arc<Mutex<i64>>) -> (String, Arc<AtomicUsize>) {
    let endpoint = lakeport_testkit::credentials_endpoint(move |_, n| {
        let expiration = (chrono::Utc::now() + chrono::Duration::seconds(*expires_in.lock().unwrap())).format("%Y-%m-%dT%H:%M:%SZ");
        Some(format!(r#"{{"AccessKeyId":"ASIATEST{n}","SecretAccessKey":"secret-{n}","Token":"token-{n}","Expiration":"{expiration}"}}"#))
    });
    (endpoint.url, endpoint.hits)
}

#[tokio::test]
async fn sdk_credentials_are_renewed_inside_the_window_and_kept_outside_it() {
    let expires_in = Arc::new(Mutex::new(120));
    let (url, hits) = serve(expires_in.clone());
    let empty = tempfile_path();
    for (k, v) in [("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()), ("AWS_CONFIG_FILE", empty.as_str()), ("AWS_SHARED_CREDENTIALS_FILE", empty.as_str()), ("AWS_EC2_METADATA_DISABLED", "true")] {
        std::env::set_var(k, v);
    }
    for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] {
        std::env::remove_var(k);
    }
    let creds = SdkCredentials::new(SdkSource::DefaultChain, "us-east-1");

    // Two minutes left is inside the 5-minute renewal window: every use fetches anew.
    let a = creds.get().await.unwrap();
    let b = creds.get().await.unwrap();
    assert_eq!(a.token.as_deref(), Some("token-1"));
    assert_ne!(a.key_id, b.key_id, "renewed before expiry");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // An hour left: kept.
    *expires_in.lock().unwrap() = 3600;
    let c = creds.get().await.unwrap();
    let d = creds.get().await.unwrap();
    assert_eq!(c.key_id, d.key_id, "valid credentials are reused");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert!(!format!("{creds:?}").contains("secret-"), "Debug shows the source, not the secret");
}

fn tempfile_path() -> String {
    let p = std::env::temp_dir().join(format!("lakeport-empty-aws-config-{}", std::process::id()));
    std::fs::write(&p, "").unwrap();
    p.display().to_string()
}
