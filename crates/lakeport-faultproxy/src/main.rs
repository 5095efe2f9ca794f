//! `lakeport-faultproxy --upstream URL [--port P] [--rate R] [--seed S]`: the fault proxy as a
//! process, for scripts (the benchmark counts a delta no-op's requests with it at rate 0).
//! Prints its endpoint, then serves until killed; `GET /_proxy/stats` has the counts.

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut upstream, mut port, mut rate, mut seed) = (None, 0u16, 0.0f64, 1u64);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--upstream" => upstream = Some(value),
            "--port" => port = value.parse().unwrap_or_else(|_| usage("--port takes a port number")),
            "--rate" => rate = value.parse().unwrap_or_else(|_| usage("--rate takes a fraction, e.g. 0.05")),
            "--seed" => seed = value.parse().unwrap_or_else(|_| usage("--seed takes a whole number")),
            other => usage(&format!("unknown option {other}")),
        }
    }
    let upstream = upstream.unwrap_or_else(|| usage("--upstream is required"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| usage(&format!("cannot listen on 127.0.0.1:{port}: {e}")));
        let proxy = lakeport_faultproxy::FaultProxy::serve(listener, &upstream, seed, rate);
        println!("{}", proxy.endpoint);
        std::future::pending::<()>().await;
    });
}

fn usage(problem: &str) -> ! {
    eprintln!("lakeport-faultproxy: {problem}\nusage: lakeport-faultproxy --upstream URL [--port P] [--rate R] [--seed S]");
    std::process::exit(2)
}
