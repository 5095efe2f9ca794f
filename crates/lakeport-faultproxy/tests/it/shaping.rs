//! The S3-like shaping of the proxy, against a real HTTP upstream on loopback: bodies arrive
//! whole and unchanged, no faster than the cap, and no answer comes before the first-byte latency.
//! Only lower bounds are asserted (a loaded machine makes things slower, never faster).

use std::time::{Duration, Instant};

use lakeport_faultproxy::{FaultProxy, Shaping};

const BODY: usize = 8_000_000;

/// An upstream that answers every GET with `BODY` bytes (a repeating pattern).
async fn upstream() -> String {
    let body: Vec<u8> = (0..BODY).map(|i| (i % 251) as u8).collect();
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { body }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn proxy(upstream: &str, shaping: Shaping) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    FaultProxy::serve_shaped(listener, upstream, 1, 0.0, shaping).endpoint
}

/// (time to the answer's headers, time to the whole body, the body).
async fn fetch(url: &str) -> (Duration, Duration, Vec<u8>) {
    let start = Instant::now();
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = start.elapsed();
    let body = resp.bytes().await.unwrap().to_vec();
    (headers, start.elapsed(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_cap_paces_each_body_and_keeps_its_bytes() {
    let up = upstream().await;
    let expected: Vec<u8> = (0..BODY).map(|i| (i % 251) as u8).collect();
    let plain = proxy(&up, Shaping::default()).await;
    let (_, t_plain, body) = fetch(&format!("{plain}/bucket/key")).await;
    assert_eq!(body, expected, "an unshaped body passes unchanged");

    // 16 MB/s: 8 MB take at least 0.5 s, less the limiter's 100 ms burst (1.6 MB).
    let capped = proxy(&up, Shaping { bytes_per_second: Some(16e6), first_byte_latency: Duration::ZERO }).await;
    let (_, t_capped, body) = fetch(&format!("{capped}/bucket/key")).await;
    assert_eq!(body, expected, "a paced body passes unchanged");
    println!("8 MB: unshaped {t_plain:?}, capped at 16 MB/s {t_capped:?}");
    assert!(t_capped >= Duration::from_millis(380), "8 MB at 16 MB/s took only {t_capped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_byte_latency_delays_every_answer() {
    let up = upstream().await;
    let slow = proxy(&up, Shaping { bytes_per_second: None, first_byte_latency: Duration::from_millis(150) }).await;
    for path in ["/bucket?list-type=2", "/bucket/key"] {
        let (headers, _, body) = fetch(&format!("{slow}{path}")).await;
        assert_eq!(body.len(), BODY);
        println!("{path}: headers after {headers:?}");
        assert!(headers >= Duration::from_millis(150), "{path}: answered after {headers:?}");
    }
}
