//! Temporary credentials are renewed before they expire, for listings and object reads alike:
//! an assumed-role extraction source with a 4-second session (the test server's STS grants
//! that; AWS's minimum is 900 s, the mechanism is the same) keeps reading after its first
//! session has run out.

use futures::TryStreamExt;
use lakeport_source::{S3Auth, S3Source};
use lakeport_testkit::TestS3;

fn var(n: &str) -> String {
    std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set: run with ./scripts/test.sh"))
}

#[tokio::test]
async fn an_assumed_role_session_is_renewed_before_it_expires() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("refresh").await;
    bucket.put("d/a.csv", "id\n1\n").await;
    bucket.put("d/b.csv", "id\n2\n").await;
    let mut config = s3.config(&bucket.name, "");
    config.auth = S3Auth::AssumeRole { role_arn: var("LAKEPORT_TEST_EXTRACT_ROLE_ARN"), external_id: var("LAKEPORT_TEST_EXTERNAL_ID"), session_seconds: 4 };
    let credentials = config.credentials(None).unwrap();
    let source = S3Source::open(&config, None).unwrap();
    let first = credentials.get_credential().await.unwrap();
    assert!(first.token.is_some(), "temporary credentials carry a session token");
    assert_eq!(source.list("d").await.unwrap().len(), 2);

    // A 4 s session is renewed 2 s before its end: by then the next use gets new credentials.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let renewed = credentials.get_credential().await.unwrap();
    assert_ne!(renewed.key_id, first.key_id, "renewed inside the renewal window, before expiry");

    // Past the first session's end: the source made before keeps listing and reading.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let listed = source.list("d").await.unwrap();
    assert_eq!(listed.iter().map(|o| o.key.as_str()).collect::<Vec<_>>(), ["d/a.csv", "d/b.csv"]);
    let bytes: Vec<bytes::Bytes> = source.get_stream("d/b.csv").await.unwrap().try_collect().await.unwrap();
    assert_eq!(bytes.concat(), b"id\n2\n");

    // The first session's credentials have expired at the server: the reads above worked only
    // because the source renewed them.
    let stale = config.signed_with(lakeport_source::static_provider(first)).unwrap();
    let resp = stale.send(http::Method::GET, &config.bucket_url().unwrap(), &[], bytes::Bytes::new()).await.unwrap();
    assert_eq!(resp.status, 403, "expired session credentials are refused: {}", resp.text());
}
