//! The extract orchestration (plan → probe → schema → stream into the writer → one commit per
//! table, delta ledger; the job history is lakeport-core's) on two backends: object_store's `InMemory`, in process
//! (`S3Source::from_store`), and the real S3 test server over HTTP. The same scenarios, the same
//! assertions: what differs between them is only the transport.

use crate::common;

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use lakeport_extract::{load_from, DeletedObjects, ExtractError, ExtractRequest, Item, NoProgress, SkipReason, TableReport};
use lakeport_pool::{LoadMode, Pool, PoolDir};
use lakeport_source::S3Source;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// A pool and a bucket on one of the two backends.
struct Env {
    pool: Pool,
    source: S3Source,
    backend: Backend,
    _dir: tempfile::TempDir,
}

enum Backend {
    Memory(Arc<InMemory>),
    S3(Box<common::Env>),
}

impl Env {
    async fn in_memory() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let pool = PoolDir::open(dir.path()).await.unwrap().create_pool("test").await.unwrap();
        let store = Arc::new(InMemory::new());
        let source = S3Source::from_store("memory", store.clone() as Arc<dyn ObjectStore>);
        Env { pool, source, backend: Backend::Memory(store), _dir: dir }
    }

    async fn s3(label: &str) -> Env {
        let env = common::setup(label).await;
        let conn = env.pool.connection("src").await.unwrap();
        let config = conn.s3_extraction().unwrap().expect("an extraction connection");
        let source = S3Source::connect(&config, &env.pool.connection_secret("src").unwrap()).unwrap();
        let pool = env.pool.clone();
        Env { pool, source, backend: Backend::S3(Box::new(env)), _dir: tempfile::tempdir().unwrap() }
    }

    async fn put(&self, key: &str, data: impl Into<Bytes>) {
        match &self.backend {
            Backend::Memory(store) => {
                store.put(&Path::parse(key).unwrap(), PutPayload::from_bytes(data.into())).await.unwrap();
            }
            Backend::S3(env) => env.bucket.put(key, data).await,
        }
    }

    async fn delete(&self, key: &str) {
        match &self.backend {
            Backend::Memory(store) => store.delete(&Path::parse(key).unwrap()).await.unwrap(),
            Backend::S3(env) => env.bucket.delete(key).await,
        }
    }

    /// One load; the tables' reports (files loaded, rows, …).
    async fn run(&self, req: ExtractRequest) -> Result<Vec<TableReport>, ExtractError> {
        let cancel = tokio_util::sync::CancellationToken::new();
        let outcome = load_from(&self.pool, &self.source, "src", &req, Arc::new(NoProgress), "orchestration-job", &cancel).await;
        outcome.result.map(|()| outcome.tables)
    }

    async fn ids(&self, table: &str) -> Vec<i64> {
        let r = self.pool.query(&format!("SELECT id FROM \"{table}\" ORDER BY id")).await.unwrap();
        r.batches.iter().flat_map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()).collect()
    }

    async fn state(&self) -> Vec<(String, u64)> {
        self.pool.tables().await.unwrap().into_iter().map(|t| (t.name, t.rows)).collect()
    }
}

fn csv(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter().fold(String::from("id,name\n"), |s, i| s + &format!("{i},n{i}\n"))
}

fn parquet(ids: &[i64]) -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true), Field::new("name", DataType::Utf8, true)]));
    let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(StringArray::from(names))]).unwrap();
    common::parquet_bytes(&batch)
}

/// Full load of a file and of folders in each format; then deltas: new, changed, unchanged and
/// removed objects; a schema that widens in a file past the probe; a bad file that fails the
/// whole load, named, with the pool unchanged.
async fn scenario(env: Env) {
    env.put("one.csv", csv([1, 2])).await;
    env.put("events/a.csv", csv([10, 11])).await;
    env.put("events/b.csv", csv([12])).await;
    // Beside the data, files that are not: passed over and reported, never loaded or fatal.
    env.put("events/README.md", "# what these files are\n").await;
    env.put("events/README.txt", "These files are daily exports.\n").await;
    env.put("json/a.ndjson", "{\"id\": 20, \"name\": \"x\"}\n{\"id\": 21, \"name\": \"y\"}\n").await;
    env.put("pq/a.parquet", parquet(&[30, 31, 32])).await;
    let items = vec![Item::file("one.csv"), Item::folder("events"), Item::folder("json"), Item::folder("pq")];
    let report = env.run(ExtractRequest::new(items.clone(), LoadMode::Full)).await.unwrap();
    assert_eq!((files(&report), rows(&report)), (5, 10));
    assert_eq!(env.state().await, vec![("events".into(), 3), ("json".into(), 2), ("one".into(), 2), ("pq".into(), 3)]);
    assert_eq!(env.ids("events").await, vec![10, 11, 12]);
    let events = report.iter().find(|t| t.table == "events").unwrap();
    let skipped: Vec<(&str, SkipReason)> = events.skipped.iter().map(|s| (s.key.as_str(), s.reason)).collect();
    assert_eq!(skipped, vec![("events/README.md", SkipReason::NotData), ("events/README.txt", SkipReason::PlainText)]);
    // A .txt file is read as CSV when an include pattern asks for it.
    env.put("texts/a.txt", csv([40, 41])).await;
    let texts = Item::Folder { prefix: "texts".into(), table: None, include: vec!["*.txt".into()], exclude: Vec::new() };
    let report = env.run(ExtractRequest::new(vec![texts], LoadMode::Full)).await.unwrap();
    assert_eq!((files(&report), env.ids("texts").await), (1, vec![40, 41]));
    assert!(env.run(ExtractRequest::new(vec![Item::folder("texts")], LoadMode::Full)).await.unwrap_err().to_string().contains("--pattern"));

    // Delta: one new object, one changed, one removed (with `remove`), the rest unchanged.
    env.put("events/c.csv", csv([13])).await;
    env.put("events/a.csv", csv([10, 11, 14])).await;
    env.delete("events/b.csv").await;
    let mut req = ExtractRequest::new(vec![Item::folder("events")], LoadMode::Delta);
    req.deleted = DeletedObjects::Remove;
    let report = env.run(req.clone()).await.unwrap();
    let t = &report[0];
    assert_eq!((t.loaded.clone(), t.changed.len(), t.removed.len(), t.unchanged), (vec!["events/a.csv".to_string(), "events/c.csv".to_string()], 1, 1, 0));
    assert_eq!(env.ids("events").await, vec![10, 11, 13, 14]);
    // Run again: nothing new, nothing committed, the table as it was.
    let again = env.run(req).await.unwrap();
    assert_eq!((again[0].unchanged, files(&again), again[0].total_rows), (2, 0, 4));

    // A file past the probe needs a wider type (int → text): the table is staged again with it.
    let mut many: Vec<(String, String)> = (0..12).map(|i| (format!("wide/{i:02}.csv"), csv([i]))).collect();
    many.push(("wide/99.csv".into(), "id,name\nnot-a-number,z\n".into()));
    for (k, v) in &many {
        env.put(k, v.clone()).await;
    }
    let mut req = ExtractRequest::new(vec![Item::folder("wide")], LoadMode::Full);
    req.concurrency = Some(2);
    req.type_fallback = true;
    let report = env.run(req).await.unwrap();
    assert_eq!(rows(&report), 13);
    let r = env.pool.query("SELECT count(*) FROM wide WHERE id = 'not-a-number'").await.unwrap();
    assert_eq!(r.batches[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0), 1);

    // A bad file anywhere fails the whole load, named, and no table changes.
    let before = env.state().await;
    env.put("events/zz.csv", "id,name\n1,\"unterminated\n").await;
    let err = env.run(ExtractRequest::new(items, LoadMode::Full)).await.unwrap_err().to_string();
    assert!(err.contains("events/zz.csv"), "{err}");
    assert_eq!(env.state().await, before);
}

fn files(tables: &[TableReport]) -> usize {
    tables.iter().map(|t| t.loaded.len()).sum()
}

fn rows(tables: &[TableReport]) -> u64 {
    tables.iter().map(|t| t.rows).sum()
}

#[tokio::test]
async fn orchestration_in_memory() {
    scenario(Env::in_memory().await).await;
}

#[tokio::test]
async fn orchestration_on_the_s3_test_server() {
    scenario(Env::s3("orchestration").await).await;
}

/// What only the in-memory backend can show cheaply: a key object_store's `Path` cannot hold is
/// refused by name rather than read as another key.
#[tokio::test]
async fn in_memory_sources_refuse_what_their_paths_cannot_hold() {
    let env = Env::in_memory().await;
    let err = env.source.head("odd/./dot.csv").await.unwrap_err().to_string();
    assert!(err.contains("odd/./dot.csv"), "{err}");
}
