#![allow(dead_code)]

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::array::RecordBatch;
use arrow::datatypes::Int64Type;
use lakeport_core::runs::extract;
use lakeport_core::ConnectionConfig;
use lakeport_extract::{ExtractError, ExtractReport, ExtractRequest, Item, NoProgress};
use lakeport_pool::{LoadMode, Pool, PoolCatalog, PoolDir};
pub use lakeport_testkit::PoolKind;
use lakeport_testkit::{RestPoolFixture, TestBucket, TestS3};

pub struct Env {
    pub s3: TestS3,
    pub bucket: TestBucket,
    pub dir: tempfile::TempDir,
    pub pool: Pool,
    /// A REST-catalog pool's catalog and warehouse (`setup_on(…, PoolKind::Rest)`).
    pub rest: Option<RestPoolFixture>,
}

/// A fresh bucket and a fresh embedded pool "test" with connection "src" using the
/// least-privilege `reader` key.
pub async fn setup(label: &str) -> Env {
    setup_on(label, PoolKind::Embedded).await
}

/// As [`setup`], with a pool of `kind`: an embedded pool "test", or a REST-catalog pool in the
/// test server's catalog (a unique name: its namespace there; files in a bucket of its own).
pub async fn setup_on(label: &str, kind: PoolKind) -> Env {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket(label).await;
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let (pool, rest) = match kind {
        PoolKind::Embedded => (pd.create_pool("test").await.unwrap(), None),
        PoolKind::Rest => {
            let r = s3.rest_pool("ex").await;
            let catalog: PoolCatalog = serde_json::from_value(r.catalog_json()).unwrap();
            (pd.create_pool_with(&r.name, &catalog, Some(&r.secret)).await.unwrap(), Some(r))
        }
    };
    let (key, secret) = s3.user("reader");
    pool.add_connection(
        "src",
        ConnectionConfig::S3Extraction(s3.config(&bucket.name, &key)),
        Some(&secret),
    )
    .await
    .unwrap();
    Env {
        s3,
        bucket,
        dir,
        pool,
        rest,
    }
}

impl Env {
    pub async fn run(
        &self,
        items: Vec<Item>,
        mode: LoadMode,
    ) -> Result<ExtractReport, ExtractError> {
        self.run_with(ExtractRequest::new(items, mode)).await
    }

    pub async fn run_with(&self, req: ExtractRequest) -> Result<ExtractReport, ExtractError> {
        extract(&self.pool, "src", &req, Arc::new(NoProgress)).await
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        let r = lakeport_core::query(&self.pool, sql).await.unwrap();
        r.batches[0].column(0).as_primitive::<Int64Type>().value(0)
    }

    pub async fn rows(&self, sql: &str) -> Vec<RecordBatch> {
        lakeport_core::query(&self.pool, sql).await.unwrap().batches
    }

    /// The table directories that hold files in the pool's warehouse (`warehouse/<pool>/`, or
    /// `<location>/<pool>/` in S3), sorted.
    pub async fn table_dirs(&self) -> Vec<String> {
        lakeport_testkit::table_dirs(&self.dir.path().join("warehouse").join(self.pool.name()), self.rest.as_ref()).await
    }

    /// Every file of the pool's warehouse (below `warehouse/<pool>/`, or `<location>/<pool>/`
    /// in S3), as paths below it, sorted.
    pub async fn warehouse_files(&self) -> Vec<String> {
        let mut out: Vec<String> = match &self.rest {
            None => {
                let dir = self.dir.path().join("warehouse").join(self.pool.name());
                lakeport_testkit::files_under(&dir).iter().map(|p| p.strip_prefix(&dir).unwrap().display().to_string()).collect()
            }
            Some(r) => r.keys().await,
        };
        out.sort();
        out
    }

    /// The table names and their row counts: the pool's visible state.
    pub async fn state(&self) -> Vec<(String, u64)> {
        self.pool
            .tables()
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.rows))
            .collect()
    }
}

pub fn parquet_bytes(batch: &RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
    buf
}

/// A CSV event log with `n` rows starting at case id `from`.
pub fn events_csv(from: usize, n: usize) -> String {
    let mut s = String::from("case_id,activity,ts,cost,resource\n");
    for i in from..from + n {
        s.push_str(&format!(
            "{i},step {},2024-01-{:02} 10:00:00,{}.25,R{:03}\n",
            i % 5,
            1 + i % 28,
            i % 100,
            i % 7
        ));
    }
    s
}
