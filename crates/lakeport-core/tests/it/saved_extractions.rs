//! Saved extractions against the real S3 test server: definitions and versions, folder patterns,
//! column subsets and pseudonymisation, the scheduler (with the test's clock), history, and the
//! failure webhook (a local HTTP receiver).

use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, RecordBatch};
use chrono::{Duration, Utc};
use lakeport_core::{self as core, scheduler, ExtractionDefinition, RetryPolicy, Schedule, Webhook};
use lakeport_extract::{ExtractRequest, Item, NoProgress, SkipReason, TableSettings};
use lakeport_core::ConnectionConfig;
use lakeport_pool::{JobStatus, LoadMode, Pool, PoolDir, Trigger};
use lakeport_testkit::{TestBucket, TestS3};

struct Env {
    _s3: TestS3,
    bucket: TestBucket,
    dir: tempfile::TempDir,
    pd: PoolDir,
    pool: Pool,
}

async fn setup(label: &str) -> Env {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket(label).await;
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("test").await.unwrap();
    let (key, secret) = s3.user("reader");
    pool.add_connection("src", ConnectionConfig::S3Extraction(s3.config(&bucket.name, &key)), Some(&secret)).await.unwrap();
    Env { _s3: s3, bucket, dir, pd, pool }
}

fn strings(batches: &[RecordBatch], col: usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in batches {
        let c = arrow::compute::cast(b.column(col), &arrow::datatypes::DataType::Utf8).unwrap();
        let c = c.as_string::<i32>();
        out.extend((0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i).to_string())));
    }
    out
}

async fn run(pool: &Pool, name: &str, mode: Option<LoadMode>) -> Result<lakeport_extract::ExtractReport, lakeport_core::CoreError> {
    core::run_extraction(pool, name, mode, Arc::new(NoProgress)).await?.result
}

#[tokio::test]
async fn a_saved_extraction_runs_again_and_again_and_records_its_version() {
    let env = setup("saved").await;
    env.bucket.put("orders/a.csv", "id,amount\n1,10\n2,20\n").await;
    let def = ExtractionDefinition::new("src", ExtractRequest::new(vec![Item::folder("orders")], LoadMode::Delta));
    let saved = core::create_extraction(&env.pool, "orders", def.clone()).await.unwrap();
    assert_eq!((saved.version, saved.next_run_at), (1, None));
    let e = core::create_extraction(&env.pool, "orders", def.clone()).await.unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    let e = core::create_extraction(&env.pool, "bad", ExtractionDefinition::new("nope", ExtractRequest::new(vec![Item::folder("orders")], LoadMode::Full))).await.unwrap_err().to_string();
    assert!(e.contains("connection 'nope' does not exist"), "{e}");
    assert!(env.pool.extraction("bad").await.is_err(), "nothing saved on error");

    assert_eq!(run(&env.pool, "orders", None).await.unwrap().rows, 2);
    env.bucket.put("orders/b.csv", "id,amount\n3,30\n").await;
    // The definition's mode is delta: only the new file.
    assert_eq!(run(&env.pool, "orders", None).await.unwrap().rows, 1);
    // Edit: version 2; a run can override the mode.
    let mut edited = def.clone();
    edited.request.read.infer_rows = 10;
    assert_eq!(core::edit_extraction(&env.pool, "orders", edited).await.unwrap().version, 2);
    let r = run(&env.pool, "orders", Some(LoadMode::Full)).await.unwrap();
    assert_eq!((r.mode, r.rows), (LoadMode::Full, 3));
    let history = core::extraction_history(&env.pool, "orders", 10).await.unwrap();
    let seen: Vec<(i64, &str, Trigger, JobStatus, u64)> = history.iter().map(|h| (h.version, h.mode.as_str(), h.trigger, h.status, h.rows)).collect();
    assert_eq!(
        seen,
        vec![(2, "full", Trigger::Manual, JobStatus::Succeeded, 3), (1, "delta", Trigger::Manual, JobStatus::Succeeded, 1), (1, "delta", Trigger::Manual, JobStatus::Succeeded, 2)]
    );
    assert!(history.iter().all(|h| h.seconds.is_some() && h.files >= 1 && h.bytes > 0));
    // The pool's job history says which extraction each job ran.
    let jobs = env.pool.jobs(10).await.unwrap();
    assert!(jobs.iter().all(|j| j.origin.as_ref().is_some_and(|o| o.extraction == "orders")));
    // `lakeport extract` style one-off runs have no origin.
    lakeport_core::runs::extract(&env.pool, "src", &ExtractRequest::new(vec![Item::file("orders/a.csv")], LoadMode::Full), Arc::new(NoProgress)).await.unwrap();
    assert!(env.pool.jobs(1).await.unwrap()[0].origin.is_none());
    assert_eq!(core::extraction_history(&env.pool, "orders", 10).await.unwrap().len(), 3);

    // Survives reopening the pool directory; removing keeps tables and history.
    let pd = PoolDir::open(env.dir.path()).await.unwrap();
    let pool = pd.pool("test").await.unwrap();
    assert_eq!(core::get_extraction(&pool, "orders").await.unwrap().version, 2);
    core::remove_extraction(&pool, "orders").await.unwrap();
    assert!(core::list_extractions(&pool).await.unwrap().is_empty());
    assert_eq!(pool.table("orders").await.unwrap().rows, 3);
    assert_eq!(core::extraction_history(&pool, "orders", 10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_pattern_selects_the_csvs_of_a_mixed_folder_and_lists_the_rest() {
    let env = setup("patterns").await;
    env.bucket.put("mixed/2024/a.csv", "id,v\n1,x\n").await;
    env.bucket.put("mixed/b.csv", "id,v\n2,y\n").await;
    env.bucket.put("mixed/tmp/c.csv", "id,v\n99,tmp\n").await;
    env.bucket.put("mixed/readme.json", "{\"about\": \"not data\"}\n").await;
    env.bucket.put("mixed/data.parquet", "not parquet either").await;
    // Without a pattern the folder cannot be one table.
    let plain = lakeport_core::runs::extract(&env.pool, "src", &ExtractRequest::new(vec![Item::folder("mixed")], LoadMode::Full), Arc::new(NoProgress)).await;
    assert!(plain.unwrap_err().to_string().contains("mixes file types"));
    let item = Item::Folder { prefix: "mixed/".into(), table: None, include: vec!["**/*.csv".into()], exclude: vec!["tmp/**".into()] };
    let report = lakeport_core::runs::extract(&env.pool, "src", &ExtractRequest::new(vec![item], LoadMode::Full), Arc::new(NoProgress)).await.unwrap();
    let t = &report.tables[0];
    assert_eq!(t.loaded, vec!["mixed/2024/a.csv", "mixed/b.csv"]);
    let mut skipped: Vec<(&str, SkipReason)> = t.skipped.iter().map(|s| (s.key.as_str(), s.reason)).collect();
    skipped.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(skipped, vec![("mixed/data.parquet", SkipReason::NotIncluded), ("mixed/readme.json", SkipReason::NotIncluded), ("mixed/tmp/c.csv", SkipReason::Excluded)]);
    // `*` does not cross '/': only the file directly in the folder.
    let item = Item::Folder { prefix: "mixed".into(), table: Some("top".into()), include: vec!["*.csv".into()], exclude: vec![] };
    let report = lakeport_core::runs::extract(&env.pool, "src", &ExtractRequest::new(vec![item], LoadMode::Full), Arc::new(NoProgress)).await.unwrap();
    assert_eq!(report.tables[0].loaded, vec!["mixed/b.csv"]);
    // An invalid glob is an error naming it, before anything is read.
    let item = Item::Folder { prefix: "mixed".into(), table: None, include: vec!["[a-".into()], exclude: vec![] };
    let e = core::create_extraction(&env.pool, "bad", ExtractionDefinition::new("src", ExtractRequest::new(vec![item], LoadMode::Full))).await.unwrap_err().to_string();
    assert!(e.contains("invalid file pattern '[a-'"), "{e}");
}

#[tokio::test]
async fn column_subsets_and_pseudonymisation() {
    let env = setup("columns").await;
    env.bucket.put("customers/c1.csv", "id,email,phone,name\n1,ann@example.com,007,Ann\n2,,123,Bob\n").await;
    env.bucket.put("customers/c2.csv", "id,email,phone,name\n3,cy@example.com,555,Cy\n").await;
    env.bucket.put("orders.json", "{\"order\": 1, \"email\": \"ann@example.com\", \"total\": 5}\n{\"order\": 2, \"email\": \"cy@example.com\", \"total\": 7}\n{\"order\": 3, \"email\": null, \"total\": 1}\n").await;
    let mut request = ExtractRequest::new(vec![Item::folder("customers"), Item::file("orders.json")], LoadMode::Full);
    request.tables = vec![
        TableSettings { table: "customers".into(), exclude_columns: vec!["name".into()], pseudonymise: vec!["email".into(), "phone".into()], ..Default::default() },
        TableSettings { table: "orders".into(), columns: vec!["order".into(), "email".into()], pseudonymise: vec!["email".into()], ..Default::default() },
    ];
    core::create_extraction(&env.pool, "crm", ExtractionDefinition::new("src", request.clone())).await.unwrap();
    run(&env.pool, "crm", None).await.unwrap();

    // The subsets are the tables' schemas; pseudonymised columns are text.
    let q = env.pool.query("SELECT * FROM customers ORDER BY id").await.unwrap();
    let names: Vec<(String, String)> = q.schema.fields().iter().map(|f| (f.name().clone(), f.data_type().to_string())).collect();
    assert_eq!(names, vec![("id".into(), "Int64".into()), ("email".into(), "Utf8".into()), ("phone".into(), "Utf8".into())]);
    let q2 = env.pool.query("SELECT * FROM orders ORDER BY \"order\"").await.unwrap();
    assert_eq!(q2.schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>(), vec!["order", "email"]);

    let emails = strings(&q.batches, 1);
    let phones = strings(&q.batches, 2);
    let order_emails = strings(&q2.batches, 1);
    // NULL stays NULL; values are 64 hex digits, never the plain value.
    assert_eq!(emails[1], None);
    assert_eq!(order_emails[2], None);
    for v in emails.iter().chain(phones.iter()).chain(order_emails.iter()).flatten() {
        assert!(v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()), "{v}");
        assert!(!v.contains('@'));
    }
    // Equal inputs are equal across files and tables (joins work), different ones differ.
    assert_eq!(emails[0], order_emails[0]);
    assert_eq!(emails[2], order_emails[1]);
    assert_ne!(emails[0], emails[2]);
    let joined = env.pool.query("SELECT count(*) FROM customers c JOIN orders o ON c.email = o.email").await.unwrap();
    assert_eq!(joined.batches[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0), 2);
    // The hash is of the value as written: "007" (not 7), and keyed: not the plain SHA-256.
    let key = env.pool.pseudonymisation_key().unwrap();
    assert_eq!(key.len(), 32);
    assert_ne!(phones[0].as_deref(), Some("007"));
    let before = emails.clone();

    // Equal across runs and restarts (the key is stored once), also in a delta.
    env.bucket.put("customers/c3.csv", "id,email,phone,name\n4,ann@example.com,9,Ann again\n").await;
    let pd = PoolDir::open(env.dir.path()).await.unwrap();
    let pool = pd.pool("test").await.unwrap();
    assert_eq!(pool.pseudonymisation_key().unwrap(), key);
    run(&pool, "crm", Some(LoadMode::Delta)).await.unwrap();
    let q = pool.query("SELECT email FROM customers WHERE id = 4").await.unwrap();
    assert_eq!(strings(&q.batches, 0)[0], before[0]);

    // An unknown column is an error that lists the real ones; nothing changes.
    let mut bad = request.clone();
    bad.tables[0].pseudonymise = vec!["mail".into()];
    core::edit_extraction(&pool, "crm", ExtractionDefinition::new("src", bad)).await.unwrap();
    let e = run(&pool, "crm", None).await.unwrap_err().to_string();
    assert!(e.contains("table 'customers': pseudonymise names column 'mail', which the files do not have; their columns are: id, email, phone, name"), "{e}");
    assert_eq!(pool.table("customers").await.unwrap().rows, 4);
    // Settings for a table no item loads are refused when saving.
    let mut bad = request.clone();
    bad.tables[0].table = "clients".into();
    let e = core::edit_extraction(&pool, "crm", ExtractionDefinition::new("src", bad)).await.unwrap_err().to_string();
    assert!(e.contains("settings for table 'clients', which no item of the extraction loads (its tables: customers, orders)"), "{e}");
}

fn scheduled(items: Vec<Item>, cron: &str) -> ExtractionDefinition {
    let mut d = ExtractionDefinition::new("src", ExtractRequest::new(items, LoadMode::Delta));
    d.schedule = Some(Schedule { cron: cron.into(), timezone: None });
    d
}

async fn finish(started: Vec<tokio::task::JoinHandle<core::RunOutcome>>) -> Vec<bool> {
    let mut out = Vec::new();
    for h in started {
        let outcome = h.await.unwrap();
        if let Some(n) = outcome.notification {
            n.await.unwrap();
        }
        out.push(outcome.result.is_ok());
    }
    out
}

#[tokio::test]
async fn the_scheduler_runs_due_extractions_once_skips_overlaps_and_survives_restarts() {
    let env = setup("sched").await;
    env.bucket.put("ev/1.csv", "id\n1\n").await;
    let created = core::create_extraction(&env.pool, "ev", scheduled(vec![Item::folder("ev")], "*/5 * * * *")).await.unwrap();
    let first = created.next_run_at.expect("armed");
    assert!(first > Utc::now() - Duration::seconds(1) && first <= Utc::now() + Duration::minutes(5));
    assert_eq!(first.timestamp() % 300, 0);
    // Not due yet: nothing happens.
    assert!(scheduler::tick(&env.pd, first - Duration::seconds(1)).await.unwrap().is_empty());
    // Due: it runs (trigger schedule) and the next slot is the one after now.
    assert_eq!(finish(scheduler::tick(&env.pd, first + Duration::seconds(2)).await.unwrap()).await, vec![true]);
    let e = core::get_extraction(&env.pool, "ev").await.unwrap();
    assert_eq!(e.next_run_at, Some(first + Duration::minutes(5)));
    assert_eq!(env.pool.table("ev").await.unwrap().rows, 1);

    // Downtime: the "server" stops, three slots pass, it starts again (a new PoolDir): the missed
    // schedule runs once, and the next slot is computed from now.
    drop(env.pd.clone());
    let pd = PoolDir::open(env.dir.path()).await.unwrap();
    env.bucket.put("ev/2.csv", "id\n2\n").await;
    let later = first + Duration::minutes(17);
    assert_eq!(finish(scheduler::tick(&pd, later).await.unwrap()).await, vec![true]);
    assert!(scheduler::tick(&pd, later + Duration::seconds(5)).await.unwrap().is_empty());
    let pool = pd.pool("test").await.unwrap();
    assert_eq!(core::get_extraction(&pool, "ev").await.unwrap().next_run_at, Some(first + Duration::minutes(20)));
    let history = core::extraction_history(&pool, "ev", 10).await.unwrap();
    assert_eq!(history.iter().map(|h| (h.trigger, h.status)).collect::<Vec<_>>(), vec![(Trigger::Schedule, JobStatus::Succeeded); 2]);

    // Overlap: another run holds the extraction (a manual one in this process): the due run is
    // skipped, and recorded as skipped.
    assert!(pool.claim_extraction("ev", "manual-run").await.unwrap());
    let due = first + Duration::minutes(20);
    assert!(scheduler::tick(&pd, due).await.unwrap().is_empty());
    let h = &core::extraction_history(&pool, "ev", 1).await.unwrap()[0];
    assert_eq!((h.trigger, h.status), (Trigger::Schedule, JobStatus::Skipped));
    assert!(h.error.as_deref().unwrap().contains("manual-run"), "{h:?}");
    let e = core::run_extraction(&pool, "ev", None, Arc::new(NoProgress)).await.err().unwrap().to_string();
    assert!(e.contains("is running"), "{e}");
    pool.release_extraction("ev", "manual-run").await.unwrap();

    // A real overlap: the due run is still going when the next tick comes.
    env.bucket.put("ev/3.csv", "id\n3\n").await;
    let running = scheduler::tick(&pd, first + Duration::minutes(25)).await.unwrap();
    assert_eq!(running.len(), 1);
    let again = scheduler::tick(&pd, first + Duration::minutes(30)).await.unwrap();
    assert!(again.is_empty(), "no second run while the first one holds the extraction");
    assert_eq!(finish(running).await, vec![true]);
    let kinds: Vec<JobStatus> = core::extraction_history(&pool, "ev", 2).await.unwrap().iter().map(|h| h.status).collect();
    assert!(kinds.contains(&JobStatus::Skipped) && kinds.contains(&JobStatus::Succeeded), "{kinds:?}");
    assert_eq!(pool.table("ev").await.unwrap().rows, 3);
    let list = core::list_extractions(&pool).await.unwrap();
    assert_eq!(list[0].next_run_at, Some(first + Duration::minutes(35)));
}

#[tokio::test]
async fn schedules_are_checked_and_evaluated_in_their_time_zone() {
    let s = Schedule { cron: "30 9 * * 1-5".into(), timezone: Some("Europe/Berlin".into()) };
    // Friday 2026-01-02 10:00 UTC = 11:00 Berlin: next is Monday 09:30 Berlin = 08:30 UTC.
    let after = chrono::DateTime::parse_from_rfc3339("2026-01-02T10:00:00Z").unwrap().with_timezone(&Utc);
    let next: Vec<String> = s.upcoming(after, 3).unwrap().iter().map(|t| t.to_rfc3339()).collect();
    assert_eq!(next, vec!["2026-01-05T08:30:00+00:00", "2026-01-06T08:30:00+00:00", "2026-01-07T08:30:00+00:00"]);
    for (cron, tz, needle) in [("* * * *", None, "has 4 fields"), ("0 0 0 * * *", None, "has 6 fields"), ("61 * * * *", None, "not a valid cron"), ("0 * * * *", Some("Mars/Base"), "unknown time zone")] {
        let e = Schedule { cron: cron.into(), timezone: tz.map(String::from) }.validate().unwrap_err().to_string();
        assert!(e.contains(needle), "{cron}: {e}");
    }
}

/// A local HTTP receiver for the webhook: records each POST body; answers 500 to the first
/// `fail_first` requests.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = Arc::new(Mutex::new(0usize));
    let app = {
        let got = got.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let (got, seen) = (got.clone(), seen.clone());
                async move {
                    let n = {
                        let mut s = seen.lock().unwrap();
                        *s += 1;
                        *s
                    };
                    if n <= fail_first {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    got.lock().unwrap().push(body);
                    axum::http::StatusCode::OK
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

#[tokio::test]
async fn failed_runs_are_retried_with_backoff_then_marked_failed_and_reported_to_the_webhook() {
    let env = setup("retry").await;
    let (url, got) = receiver(1).await;
    let mut def = scheduled(vec![Item::file("late.csv")], "0 * * * *");
    def.retry = RetryPolicy { max_retries: 2, backoff_secs: 30 };
    def.webhook = Some(Webhook { url: url.clone(), on_recovery: true });
    let first = core::create_extraction(&env.pool, "late", def).await.unwrap().next_run_at.unwrap();

    // The file is not there yet: the scheduled run fails; a retry is due after 30 s.
    let t0 = first + Duration::seconds(1);
    let started = std::time::Instant::now();
    assert_eq!(finish(scheduler::tick(&env.pd, t0).await.unwrap()).await, vec![false]);
    let e = core::get_extraction(&env.pool, "late").await.unwrap();
    assert_eq!(e.retry_attempt, 1);
    let retry_at = e.retry_at.expect("a retry is pending");
    assert!(retry_at > Utc::now() + Duration::seconds(25), "{retry_at}");
    // Retries use the wall clock for their backoff; the test's clock jumps there.
    assert!(scheduler::tick(&env.pd, retry_at - Duration::seconds(1)).await.unwrap().is_empty());
    assert_eq!(finish(scheduler::tick(&env.pd, retry_at).await.unwrap()).await, vec![false]);
    let e = core::get_extraction(&env.pool, "late").await.unwrap();
    let retry2 = e.retry_at.unwrap();
    assert!(retry2 - Utc::now() > Duration::seconds(55), "the backoff doubles: {retry2}");
    assert_eq!(finish(scheduler::tick(&env.pd, retry2).await.unwrap()).await, vec![false]);
    // The limit is reached: no retry pending; the last job says so.
    let e = core::get_extraction(&env.pool, "late").await.unwrap();
    assert_eq!((e.retry_at, e.retry_attempt), (None, 0));
    let history = core::extraction_history(&env.pool, "late", 10).await.unwrap();
    assert_eq!(history.iter().map(|h| (h.trigger, h.status)).collect::<Vec<_>>(), vec![(Trigger::Retry, JobStatus::Failed), (Trigger::Retry, JobStatus::Failed), (Trigger::Schedule, JobStatus::Failed)]);
    assert!(history[0].error.as_deref().unwrap().contains("failed after 2 retries"), "{:?}", history[0].error);
    assert!(history[0].error.as_deref().unwrap().contains("late.csv does not exist"));

    // The webhook got one POST per failure (the first delivery was answered 500 and retried).
    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert_eq!(posts[0]["event"], "extraction.failed");
    assert_eq!(posts[0]["extraction"], "late");
    assert_eq!(posts[0]["trigger"], "schedule");
    assert!(posts[0]["error"].as_str().unwrap().contains("does not exist"));
    assert_eq!(posts[0]["job_id"], history[2].job_id.as_str());
    assert!(posts[0]["next_retry_at"].is_string() && posts[2]["next_retry_at"].is_null());
    // The payload carries no secret (and not the URL).
    let (_, secret) = TestS3::from_env().user("reader");
    for p in &posts {
        let text = p.to_string();
        assert!(!text.contains(secret.expose()) && !text.contains(&url));
    }

    // Recovery: the file arrives; the next scheduled run succeeds and the webhook hears it.
    env.bucket.put("late.csv", "id\n1\n").await;
    assert_eq!(finish(scheduler::tick(&env.pd, first + Duration::hours(1)).await.unwrap()).await, vec![true]);
    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[3]["event"], "extraction.recovered");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "the clock is the test's: no real waiting");
}

#[tokio::test]
async fn a_webhook_that_never_answers_does_not_hold_up_the_run() {
    let env = setup("hook").await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut def = ExtractionDefinition::new("src", ExtractRequest::new(vec![Item::file("missing.csv")], LoadMode::Full));
    def.webhook = Some(Webhook { url: format!("http://127.0.0.1:{port}/hook"), on_recovery: false });
    core::create_extraction(&env.pool, "h", def).await.unwrap();
    let t = std::time::Instant::now();
    let outcome = core::run_extraction(&env.pool, "h", None, Arc::new(NoProgress)).await.unwrap();
    assert!(outcome.result.is_err());
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "the run returned before the delivery gave up");
    assert_eq!(core::extraction_history(&env.pool, "h", 1).await.unwrap()[0].status, JobStatus::Failed);
    assert!(!outcome.notification.unwrap().await.unwrap(), "delivery reports failure after its retries");
}

/// Scheduled runs of a connection without static keys get working credentials run after run:
/// an assumed role with a 4-second session (the test server's STS grants that; AWS's minimum is
/// 900 s, the mechanism is the same), and the second scheduled run starts after the first
/// session has expired at the server. (Within one long run, credentials are renewed before they
/// expire: lakeport-extract's credential_refresh test.)
#[tokio::test]
async fn scheduled_runs_of_an_assumed_role_connection_outlive_its_sessions() {
    let env = setup("sched-role").await;
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n} is not set: run with ./scripts/test.sh"));
    let mut config = env._s3.config(&env.bucket.name, "");
    config.auth = lakeport_source::S3Auth::AssumeRole { role_arn: var("LAKEPORT_TEST_EXTRACT_ROLE_ARN"), external_id: var("LAKEPORT_TEST_EXTERNAL_ID"), session_seconds: 4 };
    env.pool.add_connection("role", ConnectionConfig::S3Extraction(config), None).await.unwrap();
    env.bucket.put("ev/1.csv", "id\n1\n").await;
    let mut definition = scheduled(vec![Item::folder("ev")], "* * * * *");
    definition.connection = "role".into();
    let first = core::create_extraction(&env.pool, "ev", definition).await.unwrap().next_run_at.expect("armed");
    assert_eq!(finish(scheduler::tick(&env.pd, first + Duration::seconds(1)).await.unwrap()).await, vec![true]);
    assert_eq!(env.pool.table("ev").await.unwrap().rows, 1);

    // Past the end of any session the first run used: the next scheduled run still loads.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    env.bucket.put("ev/2.csv", "id\n2\n").await;
    assert_eq!(finish(scheduler::tick(&env.pd, first + Duration::minutes(1) + Duration::seconds(1)).await.unwrap()).await, vec![true]);
    assert_eq!(env.pool.table("ev").await.unwrap().rows, 2);
    let history = core::extraction_history(&env.pool, "ev", 10).await.unwrap();
    assert_eq!(history.iter().map(|h| (h.trigger, h.status)).collect::<Vec<_>>(), vec![(Trigger::Schedule, JobStatus::Succeeded); 2]);
}
