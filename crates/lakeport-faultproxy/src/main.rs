//! `lakeport-faultproxy --upstream URL [--port P] [--rate R] [--seed S]
//! [--bandwidth-per-connection MB_PER_S] [--first-byte-latency MS] [--only METHOD:PATTERN]
//! [--fault KIND] [--max-faults N]`: the fault proxy as a process,
//! for scripts (the benchmark counts a delta no-op's requests with it at rate 0, and runs its
//! S3-like profile through it with shaping).
//! Prints its endpoint, then serves until killed; `GET /_proxy/stats` has the counts.

use clap::Parser;

/// An S3 proxy on 127.0.0.1 that injects faults at a seeded rate (0: only counts requests).
#[derive(Parser, Debug)]
#[command(name = "lakeport-faultproxy")]
struct Args {
    /// The S3 server to forward to, e.g. http://127.0.0.1:9000.
    #[arg(long)]
    upstream: String,
    /// Port to listen on (0: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Fraction of requests answered with a fault, e.g. 0.05.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seed of the fault sequence (the same seed gives the same faults).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Pace each response body to this many MB/s (10^6 bytes per second), as one S3 connection
    /// (real S3: roughly 80-100 MB/s per connection). Default: no cap.
    #[arg(long, value_name = "MB_PER_S")]
    bandwidth_per_connection: Option<f64>,
    /// Wait this many milliseconds before forwarding each request (time to first byte; real S3:
    /// tens of milliseconds). Default: 0.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    first_byte_latency: u64,
    /// Faults only for requests with this method and path (a glob: `*` within a segment, `**`
    /// across segments), e.g. `POST:/iceberg/v1/**/namespaces/*/tables/*` (a REST catalog's
    /// updateTable); `*:PATTERN` or a bare pattern for any method.
    #[arg(long, value_name = "METHOD:PATTERN", value_parser = lakeport_faultproxy::RequestFilter::parse)]
    only: Option<lakeport_faultproxy::RequestFilter>,
    /// Inject only this fault (default: one of slow-down, internal-error, reset-mid-body,
    /// truncate, stall at random). reset-mid-body, truncate and gateway-timeout forward the whole
    /// request first; slow-down and internal-error never forward it.
    #[arg(long, value_enum)]
    fault: Option<lakeport_faultproxy::Fault>,
    /// Inject at most this many faults, then forward everything untouched.
    #[arg(long, value_name = "N")]
    max_faults: Option<u64>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    if let Some(mb) = args.bandwidth_per_connection {
        if !(mb.is_finite() && mb > 0.0) {
            eprintln!("--bandwidth-per-connection must be a positive number of MB/s, not {mb}");
            std::process::exit(2);
        }
    }
    let shaping = lakeport_faultproxy::Shaping {
        bytes_per_second: args.bandwidth_per_connection.map(|mb| mb * 1e6),
        first_byte_latency: std::time::Duration::from_millis(args.first_byte_latency),
    };
    let proxy = lakeport_faultproxy::FaultProxy::serve_shaped(listener, &args.upstream, args.seed, args.rate, shaping);
    let targeting = lakeport_faultproxy::Targeting { only: args.only, fault: args.fault, max_faults: args.max_faults };
    proxy.set_faults(args.rate, targeting);
    println!("{}", proxy.endpoint);
    std::future::pending::<()>().await;
    Ok(())
}
