//! The REST committer against the test server's Glue-style Iceberg REST catalog (ministack,
//! AUTH=true, SigV4): a commit built on a table state that is no longer current is refused by
//! the catalog (HTTP 409) and comes back as `PoolError::CommitConflict` — for a table two loads
//! create at once, and for an append whose `main` snapshot moved. A delta load rebuilds and
//! retries it (every row once); a full load fails and the table keeps exactly the winner's rows. (The test server's limits: see lakeport-cli's tests/it/rest_pool.rs.)

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use lakeport_aws::{CatalogAuth, CatalogSettings};
use lakeport_pool::{
    LedgerChange, LoadMode, LoadedObject, PoolCatalog, PoolDir, PoolError, RestPoolSettings,
};
use lakeport_faultproxy::{Fault, FaultProxy, RequestFilter, Targeting};
use lakeport_testkit::{TestBucket, TestS3};

fn batch(ids: &[i64]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids.to_vec()))]).unwrap()
}

fn change(key: &str, rows: u64) -> LedgerChange {
    LedgerChange {
        loaded: vec![LoadedObject {
            key: key.into(),
            version: "v1".into(),
            size: 0,
            modified_ms: 0,
            rows,
            data_files: Vec::new(),
        }],
        removed: Vec::new(),
    }
}

/// A REST-catalog pool in `dir` whose catalog is `catalog_endpoint` + `/iceberg` (the test
/// server, or a proxy in front of it) and whose files go to `warehouse` on the test server.
async fn rest_pool(s3: &TestS3, warehouse: &TestBucket, catalog_endpoint: &str, dir: &std::path::Path) -> lakeport_pool::Pool {
    let (key, secret) = s3.user("gluewriter");
    let mut catalog = CatalogSettings::new("us-east-1", "123456789012", CatalogAuth::AccessKey { access_key_id: key });
    catalog.s3_endpoint = Some(s3.endpoint.clone());
    catalog.s3_path_style = true;
    catalog.allow_http = true;
    let settings = RestPoolSettings { catalog_url: format!("{catalog_endpoint}/iceberg"), location: format!("s3://{}/p", warehouse.name), catalog };
    let name = format!("commit_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    PoolDir::open(dir)
        .await
        .unwrap()
        .create_pool_with(&name, &PoolCatalog::Rest(settings), Some(&secret))
        .await
        .unwrap()
}

async fn sum(pool: &lakeport_pool::Pool) -> i64 {
    let r = pool.query("SELECT sum(id) FROM events").await.unwrap();
    r.batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn stale_commits_are_conflicts_and_the_winner_stays() {
    let s3 = TestS3::from_env();
    let warehouse = s3.bucket("restcommit").await;
    let dir = tempfile::tempdir().unwrap();
    let pool = rest_pool(&s3, &warehouse, &s3.endpoint, dir.path()).await;
    let schema = batch(&[]).schema();

    // Two loads create the same table at once: the catalog refuses the second create (409), and
    // that delta load rebuilds its commit on the table the first one created (TableWriter's retry).
    let mut a = pool.begin_write("events", &schema, LoadMode::Delta).await.unwrap();
    let mut b = pool.begin_write("events", &schema, LoadMode::Delta).await.unwrap();
    a.write("a.csv", &batch(&[1, 2, 3])).await.unwrap();
    b.write("b.csv", &batch(&[100])).await.unwrap();
    assert_eq!(a.commit(change("a.csv", 3), "job-a").await.unwrap().conflicts, 0);
    let retried = b.commit(change("b.csv", 1), "job-b").await.unwrap();
    assert!(retried.conflicts >= 1, "the second create must have met the catalog's 409: {retried:?}");
    assert_eq!(sum(&pool).await, 106);

    // Two appends from the same snapshot: the catalog refuses the second (assert-ref-snapshot-id
    // answered 409), which is rebuilt on the new snapshot and retried.
    let mut c = pool.begin_write("events", &schema, LoadMode::Delta).await.unwrap();
    let mut d = pool.begin_write("events", &schema, LoadMode::Delta).await.unwrap();
    c.write("c.csv", &batch(&[10])).await.unwrap();
    d.write("d.csv", &batch(&[1000])).await.unwrap();
    c.commit(change("c.csv", 1), "job-c").await.unwrap();
    assert!(d.commit(change("d.csv", 1), "job-d").await.unwrap().conflicts >= 1);
    assert_eq!(sum(&pool).await, 1116);
    let ledger = pool.ledger("events").await.unwrap();
    assert_eq!(ledger.objects.keys().cloned().collect::<Vec<_>>(), ["a.csv", "b.csv", "c.csv", "d.csv"]);

    // Two full loads from the same snapshot: the second is a conflict and fails (the full-load
    // rule), the table holds exactly the winner's rows.
    let mut e = pool.begin_write("events", &schema, LoadMode::Full).await.unwrap();
    let mut f = pool.begin_write("events", &schema, LoadMode::Full).await.unwrap();
    e.write("e.csv", &batch(&[7])).await.unwrap();
    f.write("f.csv", &batch(&[9000])).await.unwrap();
    e.commit(change("e.csv", 1), "job-e").await.unwrap();
    let err = f.commit(change("f.csv", 1), "job-f").await.unwrap_err();
    assert!(matches!(err, PoolError::CommitConflict(_)), "{err}");
    assert_eq!(err.kind(), lakeport_error::ErrorKind::Conflict);
    assert_eq!(sum(&pool).await, 7);
    assert_eq!(pool.tables().await.unwrap()[0].rows, 1);
}

/// The catalog's answer to `updateTable` is lost (the gateway answers 500 without forwarding, or
/// 504 after forwarding): the commit's outcome is unknown — `CommitStateUnknown`, kind
/// `unavailable`, naming the table — and the load's data files stay. (The whole story through
/// the command line, with readers and the next delta load: lakeport-cli's
/// tests/it/rest_commit_unknown.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_answer_is_unavailable_names_the_table_and_keeps_the_files() {
    let s3 = TestS3::from_env();
    let warehouse = s3.bucket("restunknown").await;
    let proxy = FaultProxy::start(&s3.endpoint, 1, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let pool = rest_pool(&s3, &warehouse, &proxy.endpoint, dir.path()).await;
    let schema = batch(&[]).schema();
    let only = RequestFilter::parse("POST:/iceberg/v1/**/namespaces/*/tables/*").unwrap();
    for (fault, status, key) in [(Fault::InternalError, "HTTP 500", "a.csv"), (Fault::GatewayTimeout, "HTTP 504", "b.csv")] {
        let mut w = pool.begin_write("events", &schema, LoadMode::Delta).await.unwrap();
        w.write(key, &batch(&[1, 2, 3])).await.unwrap();
        let files_before = warehouse.fingerprint().await.len();
        proxy.set_faults(1.0, Targeting { only: Some(only.clone()), fault: Some(fault), max_faults: Some(1) });
        let err = w.commit(change(key, 3), "job").await.unwrap_err();
        assert!(matches!(&err, PoolError::CommitStateUnknown { table, .. } if table == "events"), "{err}");
        assert_eq!(err.kind(), lakeport_error::ErrorKind::Unavailable);
        assert!(err.to_string().contains(status) && err.to_string().contains("table 'events'"), "{err}");
        let data: Vec<String> =
            warehouse.fingerprint().await.into_iter().map(|(k, _)| k).filter(|k| k.contains("/events/data/")).collect();
        assert!(!data.is_empty(), "the data files are kept");
        assert!(warehouse.fingerprint().await.len() >= files_before, "nothing deleted");
    }
    // Only the first (500, not forwarded) was lost: the table has the second load's rows.
    assert_eq!(sum(&pool).await, 6);
    assert_eq!(proxy.stats.injected_total(), 2);
}
