//! A query past its time limit stops using the CPU, not only answers: the threads of the query
//! runtime go idle. A test binary of its own, so no other test's queries share those threads.

use std::time::{Duration, Instant};

use lakeport_pool::{PoolDir, PoolError, QueryLimits};

/// CPU seconds used so far by this process's `lakeport-query` threads (Linux /proc).
fn query_threads_cpu() -> f64 {
    let ticks_per_sec = 100.0; // USER_HZ, fixed at 100 on Linux for /proc
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        if &stat[open + 1..close] != "lakeport-query" {
            continue;
        }
        // Fields after the name: state is field 3; utime and stime are fields 14 and 15.
        let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
        ticks += rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
    }
    ticks as f64 / ticks_per_sec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_join_past_its_time_limit_stops_running() {
    let dir = tempfile::tempdir().unwrap();
    let pool = PoolDir::open(dir.path()).await.unwrap().create_pool("p").await.unwrap();
    let limits = QueryLimits { time_limit: Duration::from_secs(3), ..QueryLimits::default() };
    let sql = "SELECT count(*) FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b";
    let started = Instant::now();
    let query = tokio::spawn(async move { pool.query_with(sql, &limits).await.map(|r| r.num_rows()) });

    // While it runs, its threads are busy (this is what the measurement sees)…
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let before = query_threads_cpu();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let busy = query_threads_cpu() - before;
    assert!(busy > 0.5, "the query used {busy:.2} CPU-s in a second");

    let Err(e) = query.await.unwrap() else { panic!("10^12 rows in 3 s") };
    assert!(matches!(e, PoolError::QueryTimeout { .. }), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered after {:?}", started.elapsed());

    // …and once it is cancelled, they go idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = query_threads_cpu();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after = query_threads_cpu() - before;
    assert!(after < 0.2, "the cancelled query still used {after:.2} CPU-s in 2 s");
}
