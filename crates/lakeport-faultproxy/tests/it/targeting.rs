//! Targeted faults against a real HTTP upstream on loopback that records what reaches it: a
//! fault goes only to the requests the filter matches, of the kind chosen, at most N times; the
//! faults that forward (504 after forwarding, reset mid-body) let the upstream see the whole
//! request, those that answer themselves (500) never do.

use std::sync::{Arc, Mutex};

use lakeport_faultproxy::{Fault, FaultProxy, RequestFilter, Targeting};

/// An upstream that records `METHOD path body` of each request and answers a JSON document.
async fn upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(format!("{method} {} {body}", uri.path()));
            format!(r#"{{"metadata-location":"s3://b/t/metadata/v2.metadata.json","pad":"{}"}}"#, "x".repeat(4000))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

const UPDATE_TABLE: &str = "/iceberg/v1/catalogs/123/namespaces/ns/tables/events";
const CREATE_TABLE: &str = "/iceberg/v1/catalogs/123/namespaces/ns/tables";

async fn send(method: reqwest::Method, url: String, body: &str) -> Result<(u16, String), String> {
    let r = reqwest::Client::new().request(method, url).body(body.to_string()).send().await.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.text().await.map_err(|e| format!("body: {e}"))?;
    Ok((status, text))
}

fn targeting(fault: Fault, max: u64) -> Targeting {
    Targeting {
        only: Some(RequestFilter::parse("POST:/iceberg/v1/**/namespaces/*/tables/*").unwrap()),
        fault: Some(fault),
        max_faults: Some(max),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_matching_requests_get_the_chosen_fault_at_most_n_times() {
    let (up, seen) = upstream().await;
    let proxy = FaultProxy::start(&up, 1, 0.0).await;
    let p = &proxy.endpoint;
    proxy.set_faults(1.0, targeting(Fault::GatewayTimeout, 1));

    // Not matched: another method, the collection's path, another path. All pass untouched.
    assert_eq!(send(reqwest::Method::GET, format!("{p}{UPDATE_TABLE}"), "").await.unwrap().0, 200);
    assert_eq!(send(reqwest::Method::POST, format!("{p}{CREATE_TABLE}"), "create").await.unwrap().0, 200);
    assert_eq!(send(reqwest::Method::POST, format!("{p}/iceberg/v1/config"), "").await.unwrap().0, 200);
    assert_eq!(proxy.stats.injected_total(), 0);

    // Matched: 504 for the client, but upstream got the whole request first.
    let (status, _) = send(reqwest::Method::POST, format!("{p}{UPDATE_TABLE}?x=1"), "commit-1").await.unwrap();
    assert_eq!(status, 504);
    assert_eq!(seen.lock().unwrap().last().unwrap(), &format!("POST {UPDATE_TABLE} commit-1"));
    // The limit is reached: the next one passes.
    assert_eq!(send(reqwest::Method::POST, format!("{p}{UPDATE_TABLE}"), "commit-2").await.unwrap().0, 200);
    assert_eq!(proxy.stats.injected[Fault::GatewayTimeout as usize].load(std::sync::atomic::Ordering::Relaxed), 1);

    // 500 without forwarding: upstream never sees the request.
    proxy.set_faults(1.0, targeting(Fault::InternalError, 1));
    let before = seen.lock().unwrap().len();
    assert_eq!(send(reqwest::Method::POST, format!("{p}{UPDATE_TABLE}"), "commit-3").await.unwrap().0, 500);
    assert_eq!(seen.lock().unwrap().len(), before, "a 500 fault must not reach upstream");

    // Reset mid-body: upstream has the request, the client's answer breaks off.
    proxy.set_faults(1.0, targeting(Fault::ResetMidBody, 1));
    let broken = send(reqwest::Method::POST, format!("{p}{UPDATE_TABLE}"), "commit-4").await;
    assert!(broken.is_err(), "the answer must break off: {broken:?}");
    assert_eq!(seen.lock().unwrap().last().unwrap(), &format!("POST {UPDATE_TABLE} commit-4"));
    println!("{}", proxy.stats.summary());
}

#[test]
fn filters_parse_and_refuse_what_they_cannot_mean() {
    let f = RequestFilter::parse("post:/iceberg/v1/**/tables/*").unwrap();
    let post = axum::http::Method::POST;
    assert!(f.matches(&post, UPDATE_TABLE));
    assert!(!f.matches(&post, CREATE_TABLE), "`*` needs a segment after tables/");
    assert!(!f.matches(&post, &format!("{UPDATE_TABLE}/metrics")), "`*` stays within one segment");
    assert!(!f.matches(&axum::http::Method::GET, UPDATE_TABLE));
    assert_eq!(f.to_string(), "POST:/iceberg/v1/**/tables/*");
    let any = RequestFilter::parse("/bucket/*").unwrap();
    assert!(any.matches(&axum::http::Method::DELETE, "/bucket/key"));
    assert!(RequestFilter::parse("*:/x").unwrap().matches(&axum::http::Method::PUT, "/x"));
    assert!(RequestFilter::parse("POST:tables").unwrap_err().contains("must start with '/'"));
    assert!(RequestFilter::parse("P OST:/x").unwrap_err().contains("not an HTTP method"));
    assert!(RequestFilter::parse("POST:/x/[").is_err());
}
