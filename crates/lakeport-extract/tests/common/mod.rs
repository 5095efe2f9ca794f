#![allow(dead_code)]

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::array::RecordBatch;
use arrow::datatypes::Int64Type;
use lakeport_core::runs::extract;
use lakeport_core::ConnectionConfig;
use lakeport_extract::{ExtractError, ExtractReport, ExtractRequest, Item, NoProgress};
use lakeport_pool::{LoadMode, Pool, PoolDir};
use lakeport_testkit::{TestBucket, TestS3};

pub struct Env {
    pub s3: TestS3,
    pub bucket: TestBucket,
    pub dir: tempfile::TempDir,
    pub pool: Pool,
}

/// A fresh bucket and a fresh pool with connection "src" using the least-privilege `reader` key.
pub async fn setup(label: &str) -> Env {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket(label).await;
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("test").await.unwrap();
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
