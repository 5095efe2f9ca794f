//! Parquet encoding of a load's rows on several tasks ("lanes"), so that encoding spreads over
//! the cores while the readers decode: one writing task encoding every batch was the ceiling of
//! a load (perf: arrow's Parquet encoder on one core, the cores left idle once the readers
//! waited on it).
//!
//! Each lane owns, per object, one of iceberg's data file writers; an object's rows go to its
//! first lane until it has [`SPLIT_ROWS`] rows, then batch by batch to every lane in turn, so a
//! big object is encoded by all lanes at once (one data file per lane, each in the object's row
//! order) and a small one stays one file. Objects start on the lanes in turn, so many small
//! objects spread too. Errors of a lane come back from the next call that reaches it.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use iceberg::spec::DataFile;
use iceberg::writer::base_writer::data_file_writer::{DataFileWriter, DataFileWriterBuilder};
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::PoolError;

pub(crate) type Rolling = RollingFileWriterBuilder<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;
type Inner = DataFileWriter<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;

/// Rows an object writes to one lane before its batches go to every lane in turn: below this an
/// object is one data file; above it the data files of its lanes hold at least this many rows.
pub(crate) const SPLIT_ROWS: u64 = 1 << 17;

/// Batches queued per lane: enough that a lane has the next batch while the other encodes.
const QUEUE: usize = 4;

enum Command {
    Write(String, RecordBatch),
    /// Close the object's data file on this lane; its files (none if the lane had no rows of it).
    Finish(String, oneshot::Sender<Result<Vec<DataFile>, PoolError>>),
}

struct Lane {
    tx: Option<mpsc::Sender<Command>>,
    /// Ends with the data files it closed at the end of its queue (see [`Encoders::abort`]).
    task: Option<JoinHandle<Result<Vec<DataFile>, PoolError>>>,
}

impl Lane {
    /// The lane stopped (its first error closed it): that error.
    async fn failure(&mut self) -> PoolError {
        self.tx = None;
        match self.task.take() {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(_)) => stopped("it ended early"),
                Err(e) => stopped(&e.to_string()),
            },
            None => stopped("it failed before"),
        }
    }
}

fn stopped(why: &str) -> PoolError {
    PoolError::Iceberg(iceberg::Error::new(iceberg::ErrorKind::Unexpected, format!("a Parquet encoding task stopped: {why}")))
}

/// Where one object's rows go.
struct Placement {
    first: usize,
    rows: u64,
    turn: usize,
    /// Lanes that got rows of it.
    used: Vec<bool>,
}

/// The lanes of one load (see the module doc).
pub(crate) struct Encoders {
    lanes: Vec<Lane>,
    objects: HashMap<String, Placement>,
    started: usize,
}

impl Encoders {
    /// `lanes` tasks (at least one) on the current tokio runtime, each making data files with
    /// `rolling` (clones share its file-name counter, so names stay unique).
    pub(crate) fn new(rolling: &Rolling, lanes: usize) -> Encoders {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let task = tokio::spawn(run_lane(rolling.clone(), rx));
                Lane { tx: Some(tx), task: Some(task) }
            })
            .collect();
        Encoders { lanes, objects: HashMap::new(), started: 0 }
    }

    /// One lane per core the process may use.
    pub(crate) fn default_lanes() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8)
    }

    /// Queues `batch` (already in the table's write schema) of object `key` on a lane.
    pub(crate) async fn write(&mut self, key: &str, batch: RecordBatch) -> Result<(), PoolError> {
        let n = self.lanes.len();
        if !self.objects.contains_key(key) {
            let first = self.started % n;
            self.started += 1;
            self.objects.insert(key.to_string(), Placement { first, rows: 0, turn: 0, used: vec![false; n] });
        }
        let p = self.objects.get_mut(key).expect("inserted above");
        let lane = if p.rows < SPLIT_ROWS {
            p.first
        } else {
            p.turn += 1;
            (p.first + p.turn) % n
        };
        p.rows += batch.num_rows() as u64;
        p.used[lane] = true;
        let l = &mut self.lanes[lane];
        let sent = match &l.tx {
            Some(tx) => tx.send(Command::Write(key.to_string(), batch)).await.is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(l.failure().await)
        }
    }

    /// Closes the data files of object `key` on every lane that got rows of it; their files, in
    /// lane order (none for an object without rows).
    pub(crate) async fn finish(&mut self, key: &str) -> Result<Vec<DataFile>, PoolError> {
        let Some(p) = self.objects.remove(key) else { return Ok(Vec::new()) };
        // Ask every lane first, so they close their files at the same time.
        let mut replies = Vec::new();
        for (i, l) in self.lanes.iter_mut().enumerate().filter(|(i, _)| p.used[*i]) {
            let (reply, answer) = oneshot::channel();
            let sent = match &l.tx {
                Some(tx) => tx.send(Command::Finish(key.to_string(), reply)).await.is_ok(),
                None => false,
            };
            replies.push((i, sent.then_some(answer)));
        }
        let mut files = Vec::new();
        for (i, answer) in replies {
            match answer {
                Some(answer) => match answer.await {
                    Ok(r) => files.extend(r?),
                    Err(_) => return Err(self.lanes[i].failure().await),
                },
                None => return Err(self.lanes[i].failure().await),
            }
        }
        Ok(files)
    }

    /// Keys with rows queued or written and not finished yet.
    pub(crate) fn open_keys(&self) -> Vec<String> {
        self.objects.keys().cloned().collect()
    }

    /// Stops every lane: open data files are closed as they are, and returned for the caller
    /// to delete (on an object store nothing lists them otherwise). Errors are dropped: the
    /// load is given up; a file whose close failed is left to `pool vacuum`.
    pub(crate) async fn abort(&mut self) -> Vec<DataFile> {
        self.objects.clear();
        for l in &mut self.lanes {
            l.tx = None;
        }
        let mut closed = Vec::new();
        for l in &mut self.lanes {
            if let Some(task) = l.task.take() {
                if let Ok(Ok(files)) = task.await {
                    closed.extend(files);
                }
            }
        }
        closed
    }
}

/// One lane: encodes the batches it is sent into per-object data files. The first error stops
/// it (the caller gets it through [`Lane::failure`]); at the end of its queue (abort, or the
/// writer dropped) open files are closed and returned to the caller.
async fn run_lane(rolling: Rolling, mut rx: mpsc::Receiver<Command>) -> Result<Vec<DataFile>, PoolError> {
    let mut open: HashMap<String, Inner> = HashMap::new();
    while let Some(command) = rx.recv().await {
        match command {
            Command::Write(key, batch) => {
                let w = match open.get_mut(&key) {
                    Some(w) => w,
                    None => open.entry(key).or_insert(DataFileWriterBuilder::new(rolling.clone()).build(None).await?),
                };
                w.write(batch).await?;
            }
            Command::Finish(key, reply) => {
                let files = match open.remove(&key) {
                    Some(mut w) => w.close().await.map_err(PoolError::from),
                    None => Ok(Vec::new()),
                };
                let _ = reply.send(files);
            }
        }
    }
    let mut closed = Vec::new();
    for (_, mut w) in open.drain() {
        if let Ok(files) = w.close().await {
            closed.extend(files);
        }
    }
    Ok(closed)
}
