//! A fault-injecting HTTP proxy for tests. It forwards every request to the upstream server
//! unchanged (the Host header too, so SigV4 signatures stay valid) and, for a seeded random
//! fraction of requests, misbehaves the way S3 and networks do:
//! 503 SlowDown, 500 InternalError, a connection reset in the middle of the body, a body cut short
//! of its Content-Length, or a stall before answering.
//!
//! At rate 0 it is a request counter: `GET /_proxy/stats` answers the counts by kind (LIST, HEAD,
//! object GET, other) as JSON and `GET /_proxy/reset` zeroes them (`_proxy` is no valid bucket
//! name, so these never shadow an S3 request). The benchmark uses it to count a delta no-op.
//!
//! With [`Shaping`] it also behaves like S3 over a real network (the benchmark's S3-like profile):
//! every answer waits a first-byte latency, and each response body is paced to a bandwidth cap of
//! its own — real S3 gives roughly 80–100 MB/s per connection and scales by parallel connections,
//! and an HTTP/1.1 connection carries one response at a time, so a cap per response is a cap per
//! connection. Bodies without a body fault are streamed, never held whole.
//!
//! With [`Targeting`] the faults go only to the requests a [`RequestFilter`] matches (a method and
//! a path pattern, e.g. a REST catalog's `updateTable` POST), of one chosen kind, at most N times —
//! so a test can break exactly the call it is about. Whether the upstream saw the request depends
//! on the kind: [`Fault::SlowDown`] and [`Fault::InternalError`] answer without forwarding (the
//! upstream never sees it); [`Fault::ResetMidBody`], [`Fault::Truncate`] and
//! [`Fault::GatewayTimeout`] forward the whole request and wait for the upstream's answer first
//! (the upstream applied it; the client never gets its answer whole).
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::serve::ListenerExt;
use bytes::Bytes;
use futures::StreamExt;

/// One way the proxy misbehaves on a request it picked (with probability `rate`, each of the first
/// five equally likely unless [`Targeting::fault`] chooses one). The order is that of
/// [`Stats::injected`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// HTTP 503 with S3's `SlowDown` error document, without asking upstream.
    SlowDown,
    /// HTTP 500 with S3's `InternalError` error document, without asking upstream.
    InternalError,
    /// Upstream's status and headers, the first half of the body, then the connection breaks
    /// (after 20 ms). Bodies of 0 or 1 bytes pass unchanged.
    ResetMidBody,
    /// Upstream's status and a `Content-Length` of the full body, but only its first half is sent
    /// before the stream stops (after 20 ms). Bodies of 0 or 1 bytes pass unchanged.
    Truncate,
    /// A wait of 100–399 ms before forwarding; the answer itself is upstream's.
    Stall,
    /// The whole request is forwarded and upstream's whole answer awaited (so upstream applied
    /// it), then the client gets HTTP 504 `GatewayTimeout` instead: a gateway that gave up
    /// waiting. Never picked at random (only through [`Targeting::fault`]), so the seeded
    /// sequences of the first five stay as they were.
    GatewayTimeout,
}

/// Which requests a fault may go to: a method (any when `None`) and a path pattern, matched
/// against the request's path without its query. Patterns are globs (the `globset` crate, with
/// `/` literal): `*` matches within one path segment, `**` as a whole segment any number of
/// segments, `?` one character, `{a,b}` alternatives.
#[derive(Clone, Debug)]
pub struct RequestFilter {
    method: Option<axum::http::Method>,
    pattern: String,
    path: globset::GlobMatcher,
}

impl RequestFilter {
    /// Parses `METHOD:PATTERN` (`POST:/iceberg/v1/**/namespaces/*/tables/*`), `*:PATTERN` or a
    /// bare `PATTERN` (any method). The pattern must start with `/`.
    ///
    /// # Errors
    /// A message naming the text when the method is not an HTTP token, the pattern does not
    /// start with `/`, or it is no valid glob.
    pub fn parse(text: &str) -> Result<RequestFilter, String> {
        let (method, pattern) = match text.split_once(':') {
            Some((m, p)) if !m.starts_with('/') => (Some(m), p),
            _ => (None, text),
        };
        let method = match method {
            None | Some("*") => None,
            Some(m) => Some(
                axum::http::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("'{text}': '{m}' is not an HTTP method"))?,
            ),
        };
        if !pattern.starts_with('/') {
            return Err(format!("'{text}': the path pattern must start with '/'"));
        }
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("'{text}': {e}"))?;
        Ok(RequestFilter { method, pattern: pattern.to_string(), path: glob.compile_matcher() })
    }

    /// Whether a request with `method` and `path` (no query) matches.
    pub fn matches(&self, method: &axum::http::Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.path.is_match(path)
    }
}

impl std::fmt::Display for RequestFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.method {
            Some(m) => write!(f, "{m}:{}", self.pattern),
            None => write!(f, "*:{}", self.pattern),
        }
    }
}

/// Where the faults go (the default: any request, any of the five random kinds, no limit).
#[derive(Clone, Debug, Default)]
pub struct Targeting {
    /// Only requests this filter matches may get a fault; others pass untouched.
    pub only: Option<RequestFilter>,
    /// The one fault to inject; `None`: one of the first five at random (by the seed).
    pub fault: Option<Fault>,
    /// At most this many faults, counted from when this targeting was set; `None`: no limit.
    pub max_faults: Option<u64>,
}

/// How the proxy shapes every answer like a remote S3 (see the crate doc); the default shapes
/// nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Shaping {
    /// Each response body is paced to at most this many bytes per second (`None`: no cap). The
    /// pacing is a token bucket with 100 ms of burst (the `async-speed-limit` crate).
    pub bytes_per_second: Option<f64>,
    /// Every request waits this long before it is forwarded (time to first byte on top of the
    /// upstream's own).
    pub first_byte_latency: Duration,
}

/// The faults picked at random, in the order of their counters in [`Stats::injected`].
const FAULTS: [Fault; 5] = [Fault::SlowDown, Fault::InternalError, Fault::ResetMidBody, Fault::Truncate, Fault::Stall];

/// What was done, for the test's report. Counters since start or the last `GET /_proxy/reset`
/// (the `/_proxy/*` requests themselves are not counted).
#[derive(Debug, Default)]
pub struct Stats {
    /// Every request forwarded or answered with a fault.
    pub requests: AtomicU64,
    /// GETs with a `Range: bytes=N-…` header starting past 0: reads resumed after a broken body.
    pub resumed_reads: AtomicU64,
    /// Faults injected, by [`Fault`] in declaration order (SlowDown, InternalError, ResetMidBody,
    /// Truncate, Stall, GatewayTimeout).
    pub injected: [AtomicU64; 6],
    /// Requests by kind (path-style URLs): ListObjects — a GET on a bucket whose query has
    /// `list-type` or `prefix`.
    pub lists: AtomicU64,
    /// HEAD requests (bucket or object).
    pub heads: AtomicU64,
    /// GETs of an object (`/bucket/key` with a non-empty key).
    pub gets: AtomicU64,
    /// Anything else (PUT, DELETE, other bucket GETs such as `?acl`…).
    pub other: AtomicU64,
}

impl Stats {
    fn count(&self, method: &axum::http::Method, uri: &axum::http::Uri) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        // Path-style: /bucket (or /bucket/) is a bucket request (a listing when a GET),
        // /bucket/key an object.
        let object = uri.path().trim_start_matches('/').split_once('/').is_some_and(|(_, key)| !key.is_empty());
        let counter = match *method {
            axum::http::Method::HEAD => &self.heads,
            axum::http::Method::GET if object => &self.gets,
            axum::http::Method::GET if uri.query().is_some_and(|q| q.contains("list-type") || q.contains("prefix")) => &self.lists,
            _ => &self.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn reset(&self) {
        for c in [&self.requests, &self.resumed_reads, &self.lists, &self.heads, &self.gets, &self.other].into_iter().chain(&self.injected) {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The counts by kind, as one JSON object: `requests`, `list`, `head`, `get`, `other`,
    /// `faults` (all kinds together) and `resumed_reads`. What `GET /_proxy/stats` answers.
    pub fn to_json(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            r#"{{"requests":{},"list":{},"head":{},"get":{},"other":{},"faults":{},"resumed_reads":{}}}"#,
            n(&self.requests),
            n(&self.lists),
            n(&self.heads),
            n(&self.gets),
            n(&self.other),
            self.injected_total(),
            n(&self.resumed_reads)
        )
    }

    /// Faults injected, all kinds together.
    pub fn injected_total(&self) -> u64 {
        self.injected.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
    /// One line for a test's output: requests, faults by kind, resumed ranged reads.
    pub fn summary(&self) -> String {
        let names = ["503 SlowDown", "500", "reset mid-body", "truncated body", "stall", "504 after forwarding"];
        let parts: Vec<String> = names.iter().zip(&self.injected).map(|(n, c)| format!("{n}: {}", c.load(Ordering::Relaxed))).collect();
        format!(
            "{} requests, {} faults ({}), {} resumed ranged reads",
            self.requests.load(Ordering::Relaxed),
            self.injected_total(),
            parts.join(", "),
            self.resumed_reads.load(Ordering::Relaxed)
        )
    }
}

/// What the proxy injects, changeable while it serves ([`FaultProxy::set_faults`]).
struct Plan {
    rate: f64,
    targeting: Targeting,
    /// Faults injected under this plan (for [`Targeting::max_faults`]).
    injected: u64,
}

struct Inner {
    upstream: String,
    plan: Mutex<Plan>,
    rng: Mutex<u64>,
    http: reqwest::Client,
    stats: Arc<Stats>,
    shaping: Shaping,
}

impl Inner {
    fn roll(&self) -> (f64, usize, u64) {
        let mut s = self.rng.lock().expect("rng");
        let mut next = || {
            // xorshift64*
            *s ^= *s >> 12;
            *s ^= *s << 25;
            *s ^= *s >> 27;
            s.wrapping_mul(0x2545F4914F6CDD1D)
        };
        ((next() >> 11) as f64 / (1u64 << 53) as f64, (next() % 5) as usize, next())
    }
}

/// The thread and runtime of a proxy started with [`FaultProxy::start_on_thread`].
pub struct ProxyThread {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProxyThread {
    /// Shuts the proxy down and waits until its listener is closed.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ProxyThread {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A running proxy; it serves until the tokio runtime it was started on shuts down.
pub struct FaultProxy {
    /// Where clients connect instead of upstream: `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The live counters (shared with the serving task).
    pub stats: Arc<Stats>,
    inner: Arc<Inner>,
}

impl FaultProxy {
    /// Starts the proxy on a free loopback port in front of `upstream` (e.g. `http://127.0.0.1:9000`).
    /// `seed` makes the fault sequence repeatable (0 counts as 1); `rate` is the fraction of
    /// requests that get a fault, 0.0 (none: a plain request counter) to 1.0 (every one).
    ///
    /// # Panics
    /// When no loopback port can be bound: this is test support, a failure to set up is fatal.
    pub async fn start(upstream: &str, seed: u64, rate: f64) -> FaultProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener, upstream, seed, rate)
    }

    /// [`FaultProxy::start`] on a thread and a one-worker tokio runtime of its own, for tests
    /// whose thread blocks (on a `lakeport` process, say) while the proxy must keep serving.
    /// [`ProxyThread::stop`] (or dropping it) shuts that runtime down, and with it the listener:
    /// the endpoint then refuses connections, as a server that went down does.
    ///
    /// # Panics
    /// As [`FaultProxy::start`]; when the thread or its runtime cannot be started.
    pub fn start_on_thread(upstream: &str, seed: u64, rate: f64) -> (FaultProxy, ProxyThread) {
        let (proxy_tx, proxy_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let upstream = upstream.to_string();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("proxy runtime");
            proxy_tx.send(rt.block_on(FaultProxy::start(&upstream, seed, rate))).expect("proxy handed over");
            // Until stop() or the ProxyThread is dropped (the sender goes away).
            let _ = stopped.recv();
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
        });
        let proxy = proxy_rx.recv().expect("proxy thread started");
        (proxy, ProxyThread { stop: Some(stop), thread: Some(thread) })
    }

    /// Serves the proxy on `listener` in a background task (a tokio task of the current
    /// runtime); `upstream`, `seed` and `rate` as in [`FaultProxy::start`].
    ///
    /// # Panics
    /// When the HTTP client cannot be built or the listener has no local address.
    pub fn serve(listener: tokio::net::TcpListener, upstream: &str, seed: u64, rate: f64) -> FaultProxy {
        Self::serve_shaped(listener, upstream, seed, rate, Shaping::default())
    }

    /// As [`FaultProxy::serve`], with every answer shaped by `shaping` (latency, bandwidth cap per
    /// response), faults or not.
    ///
    /// # Panics
    /// As [`FaultProxy::serve`].
    pub fn serve_shaped(listener: tokio::net::TcpListener, upstream: &str, seed: u64, rate: f64, shaping: Shaping) -> FaultProxy {
        let stats = Arc::new(Stats::default());
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            plan: Mutex::new(Plan { rate, targeting: Targeting::default(), injected: 0 }),
            rng: Mutex::new(seed.max(1)),
            http: reqwest::Client::builder().build().expect("http client"),
            stats: stats.clone(),
            shaping,
        });
        let app = axum::Router::new()
            .route("/_proxy/stats", axum::routing::get(|State(inner): State<Arc<Inner>>| async move { inner.stats.to_json() }))
            .route(
                "/_proxy/reset",
                axum::routing::get(|State(inner): State<Arc<Inner>>| async move {
                    inner.stats.reset();
                    "reset"
                }),
            )
            .fallback(forward)
            .with_state(inner.clone());
        let addr: SocketAddr = listener.local_addr().expect("address");
        // TCP_NODELAY on every accepted connection: without it an answer's last small write waits
        // for the client's delayed ACK, ~25-40 ms per request on a kept-alive connection — a
        // latency the s3like profile did not ask for (hyper does not set it; axum leaves it to us).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        FaultProxy { endpoint: format!("http://{addr}"), stats, inner }
    }

    /// From now on, a request gets a fault with probability `rate` (0.0–1.0) if `targeting`
    /// allows it (its filter matches, its limit is not reached); the limit counts from here.
    /// The seeded sequence goes on where it was.
    pub fn set_faults(&self, rate: f64, targeting: Targeting) {
        *self.inner.plan.lock().expect("plan") = Plan { rate, targeting, injected: 0 };
    }
}

fn s3_error(status: StatusCode, code: &str) -> Response {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error>");
    Response::builder().status(status).header("content-type", "application/xml").body(Body::from(body)).expect("response")
}

async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    inner.stats.count(request.method(), request.uri());
    let resumed = request
        .headers()
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split('-').next())
        .and_then(|start| start.parse::<u64>().ok())
        .is_some_and(|start| start > 0);
    if resumed {
        inner.stats.resumed_reads.fetch_add(1, Ordering::Relaxed);
    }
    if !inner.shaping.first_byte_latency.is_zero() {
        tokio::time::sleep(inner.shaping.first_byte_latency).await;
    }
    // Rolled for every request, targeted or not, so a filter does not shift the seeded sequence.
    let (roll, kind, extra) = inner.roll();
    let fault = {
        let mut plan = inner.plan.lock().expect("plan");
        let t = &plan.targeting;
        let allowed = t.only.as_ref().is_none_or(|f| f.matches(request.method(), request.uri().path()))
            && t.max_faults.is_none_or(|max| plan.injected < max);
        let fault = (roll < plan.rate && allowed).then(|| t.fault.unwrap_or(FAULTS[kind]));
        if fault.is_some() {
            plan.injected += 1;
        }
        fault
    };
    if let Some(f) = fault {
        inner.stats.injected[f as usize].fetch_add(1, Ordering::Relaxed);
        match f {
            Fault::SlowDown => return s3_error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown"),
            Fault::InternalError => return s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
            Fault::Stall => tokio::time::sleep(Duration::from_millis(100 + extra % 300)).await,
            Fault::ResetMidBody | Fault::Truncate | Fault::GatewayTimeout => {}
        }
    }
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return s3_error(StatusCode::BAD_REQUEST, "IncompleteBody"),
    };
    let url = format!("{}{}", inner.upstream, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut out = inner.http.request(parts.method.clone(), url).body(body);
    for (k, v) in parts.headers.iter() {
        out = out.header(k, v);
    }
    let upstream = match out.send().await {
        Ok(r) => r,
        Err(_) => return s3_error(StatusCode::BAD_GATEWAY, "UpstreamUnreachable"),
    };
    if fault == Some(Fault::GatewayTimeout) {
        // Upstream has the whole request; its answer is awaited (so it was applied) and dropped.
        let _ = upstream.bytes().await;
        return s3_error(StatusCode::GATEWAY_TIMEOUT, "GatewayTimeout");
    }
    let status = upstream.status();
    let mut headers = HeaderMap::new();
    for (k, v) in upstream.headers() {
        headers.insert(k.clone(), v.clone());
    }
    let mut builder = Response::builder().status(status);
    *builder.headers_mut().expect("headers") = headers;
    if !matches!(fault, Some(Fault::ResetMidBody | Fault::Truncate)) {
        // Streamed as it comes; an upstream body that breaks off breaks this one off too.
        let body = upstream.bytes_stream().map(|chunk| chunk.map_err(std::io::Error::other));
        return builder.body(paced(body, inner.shaping.bytes_per_second)).expect("response");
    }
    let data = match upstream.bytes().await {
        Ok(b) => b,
        Err(_) => return s3_error(StatusCode::BAD_GATEWAY, "UpstreamBodyFailed"),
    };
    match fault {
        // Send part of the body, let the client take it, then reset the connection mid-body.
        Some(Fault::ResetMidBody) if data.len() > 1 => {
            let half = data.slice(..data.len() / 2);
            let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(half) }).chain(futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("injected reset"))
            }));
            builder.body(Body::from_stream(stream)).expect("response")
        }
        // Announce the full length, deliver less and stop: the body is truncated.
        Some(Fault::Truncate) if data.len() > 1 => {
            let len = data.len();
            builder = builder.header("content-length", HeaderValue::from(len));
            let part: Bytes = data.slice(..len / 2);
            let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(part) }).chain(futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("injected truncation"))
            }));
            builder.body(Body::from_stream(stream)).expect("response")
        }
        _ => builder.body(Body::from(data)).expect("response"),
    }
}

/// `body` as a response body paced to `bytes_per_second` (a limiter of its own: one per response,
/// so one per connection), unpaced when `None`. Chunks are cut to 64 KiB so pacing stays smooth.
fn paced<S>(body: S, bytes_per_second: Option<f64>) -> Body
where
    S: futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let Some(rate) = bytes_per_second else { return Body::from_stream(body) };
    let limiter = async_speed_limit::Limiter::<async_speed_limit::clock::StandardClock>::new(rate);
    let pieces = body.flat_map(|chunk| {
        let pieces: Vec<Result<Bytes, std::io::Error>> = match chunk {
            Ok(mut b) => {
                let mut out = Vec::with_capacity(b.len() / PACE_CHUNK + 1);
                while b.len() > PACE_CHUNK {
                    out.push(Ok(b.split_to(PACE_CHUNK)));
                }
                out.push(Ok(b));
                out
            }
            Err(e) => vec![Err(e)],
        };
        futures::stream::iter(pieces)
    });
    Body::from_stream(pieces.then(move |piece| {
        let limiter = limiter.clone();
        async move {
            if let Ok(b) = &piece {
                limiter.consume(b.len()).await;
            }
            piece
        }
    }))
}

/// The largest piece a paced body is sent in (bytes).
const PACE_CHUNK: usize = 64 * 1024;
