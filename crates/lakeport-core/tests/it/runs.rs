//! Runs through lakeport-core against the real S3 test server: a cancel between two table
//! commits keeps the committed table's new snapshot and the other table's old one; a lock held
//! by a run refuses a second run of the same table; jobs record their process.

use std::sync::{Arc, Mutex};

use lakeport_core::runs;
use lakeport_extract::{ExtractRequest, Item, NoProgress, Progress};
use lakeport_core::ConnectionConfig;
use lakeport_pool::{JobStatus, LoadMode, PoolDir, ProcessId};
use lakeport_testkit::TestS3;

/// Cancels its run as soon as the first table is committed.
struct CancelAfterFirstCommit(Mutex<Option<String>>);
impl Progress for CancelAfterFirstCommit {
    fn table_done(&self, _table: &str, _rows: u64) {
        if let Some(id) = self.0.lock().unwrap().take() {
            assert!(runs::cancel(&id, "by the test"));
        }
    }
}

#[tokio::test]
async fn a_cancel_between_commits_keeps_committed_tables_new_and_the_others_old() {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("cancel-commits").await;
    bucket.put("a.csv", "id\n1\n2\n").await;
    bucket.put("b.csv", "id\n1\n2\n3\n").await;
    let dir = tempfile::tempdir().unwrap();
    let pd = PoolDir::open(dir.path()).await.unwrap();
    let pool = pd.create_pool("p").await.unwrap();
    let (key, secret) = s3.user("reader");
    pool.add_connection("src", ConnectionConfig::S3Extraction(s3.config(&bucket.name, &key)), Some(&secret)).await.unwrap();
    let request = ExtractRequest::new(vec![Item::file("a.csv"), Item::file("b.csv")], LoadMode::Full);
    runs::run(&pool, "src", request.clone(), None, Arc::new(NoProgress)).await.unwrap();
    // New versions of both files; the run is cancelled right after the first table's commit.
    bucket.put("a.csv", "id\n1\n2\n3\n4\n5\n").await;
    bucket.put("b.csv", "id\n1\n2\n3\n4\n5\n6\n7\n").await;
    let begun = runs::begin(&pool, "src", request.clone(), None).await.unwrap();
    assert_eq!(begun.job.process, Some(ProcessId::current()));
    assert_eq!(begun.job.tables, vec!["a", "b"]);
    // Meanwhile the tables are held: a second run is refused, naming the first.
    let refused = runs::begin(&pool, "src", request.clone(), None).await.map(|_| ()).unwrap_err().to_string();
    assert!(refused.contains(&format!("table 'a' is being loaded by run {}", begun.job.id)), "{refused}");
    let progress = Arc::new(CancelAfterFirstCommit(Mutex::new(Some(begun.job.id.clone()))));
    let (job, result) = runs::execute(&pool, begun, progress).await;
    let error = result.map(|_| ()).unwrap_err().to_string();
    assert_eq!(job.status, JobStatus::Cancelled, "{job:?}");
    assert!(error.starts_with("cancelled by the test; committed before: a; the other tables keep their previous snapshot"), "{error}");
    let recorded = pool.job(&job.id).await.unwrap();
    assert_eq!((recorded.status, recorded.error.as_deref()), (JobStatus::Cancelled, Some(error.as_str())));
    let outcomes: Vec<(String, String)> = recorded.details.as_array().unwrap().iter().map(|t| (t["table"].as_str().unwrap().into(), t["outcome"].as_str().unwrap().into())).collect();
    assert_eq!(outcomes, vec![("a".into(), "committed".into()), ("b".into(), "not_committed".into())]);
    let tables: Vec<(String, u64)> = pool.tables().await.unwrap().into_iter().map(|t| (t.name, t.rows)).collect();
    assert_eq!(tables, vec![("a".into(), 5), ("b".into(), 3)]);
    // The locks are free again: the next run loads b's new version.
    runs::run(&pool, "src", request, None, Arc::new(NoProgress)).await.unwrap();
    assert_eq!(pool.table("b").await.unwrap().rows, 7);
}
