//! `lakeport-faultproxy --upstream URL [--port P] [--rate R] [--seed S]`: the fault proxy as a
//! process, for scripts (the benchmark counts a delta no-op's requests with it at rate 0).
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
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let proxy = lakeport_faultproxy::FaultProxy::serve(listener, &args.upstream, args.seed, args.rate);
    println!("{}", proxy.endpoint);
    std::future::pending::<()>().await;
    Ok(())
}
