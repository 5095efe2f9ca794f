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
//!
//! Each data file decides, from the first batch it gets, which columns are dictionary-encoded
//! (see [`worth_a_dictionary`]): arrow's Parquet writer dictionary-encodes every column until a
//! column chunk's dictionary passes 1 MiB, so a column of unique values (ids, timestamps,
//! amounts) was hashed value by value for nothing — a third of the CPU of a Parquet load in
//! 40,000-row data files (perf, bench/results/profile-parquet.md), whose dictionaries never
//! reached the limit — and came out larger than plain.

use std::collections::{HashMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use iceberg::io::FileIO;
use iceberg::spec::{DataFile, SchemaRef as IcebergSchemaRef};
use iceberg::writer::base_writer::data_file_writer::{DataFileWriter, DataFileWriterBuilder};
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::PoolError;

type Inner = DataFileWriter<ParquetWriterBuilder, DefaultLocationGenerator, DefaultFileNameGenerator>;

/// Rows an object writes to one lane before its batches go to every lane in turn: below this an
/// object is one data file; above it the data files of its lanes hold at least this many rows.
pub(crate) const SPLIT_ROWS: u64 = 1 << 17;

/// Values of a column's first batch that [`worth_a_dictionary`] looks at.
const DICTIONARY_SAMPLE: usize = 1024;

/// How a load's data files are made: iceberg's Parquet writer with `props` (dictionary
/// encoding chosen per file, see [`worth_a_dictionary`]) for the table schema `schema`, in
/// `location`'s folder, named by `names` (its clones share one counter, so names stay unique).
#[derive(Clone)]
pub(crate) struct DataFileMaker {
    pub props: WriterProperties,
    pub schema: IcebergSchemaRef,
    pub file_io: FileIO,
    pub location: DefaultLocationGenerator,
    pub names: DefaultFileNameGenerator,
}

impl DataFileMaker {
    /// The writer of one object's rows on one lane, given its first batch (in the write schema).
    async fn writer(&self, first: &RecordBatch) -> Result<Inner, PoolError> {
        let mut props = self.props.clone().into_builder();
        for (field, column) in first.schema().fields().iter().zip(first.columns()) {
            if !worth_a_dictionary(column.as_ref()) {
                props = props.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
            }
        }
        let parquet = ParquetWriterBuilder::new(props.build(), self.schema.clone());
        let rolling = RollingFileWriterBuilder::new_with_default_file_size(parquet, self.file_io.clone(), self.location.clone(), self.names.clone());
        Ok(DataFileWriterBuilder::new(rolling).build(None).await?)
    }
}

/// Whether a top-level column whose first values are `values` is worth dictionary-encoding:
/// not when more than half of the first [`DICTIONARY_SAMPLE`] non-null values are distinct (a
/// dictionary then holds about every value, and its indices come on top of it). Strings and
/// fixed-width values (integers, floats, decimals, dates, timestamps) are judged; other types
/// (booleans, nested columns) keep the writer's default, as does a sample of under 64 values.
/// This rule is ours: the parquet crate has only the 1 MiB fallback (polars and DuckDB judge
/// cardinality in their own writers too).
fn worth_a_dictionary(values: &dyn Array) -> bool {
    let sample = values.slice(0, values.len().min(DICTIONARY_SAMPLE));
    let (seen, distinct) = match sample.data_type() {
        DataType::Utf8 => distinct(sample.as_string::<i32>().iter().flatten().map(str::as_bytes)),
        DataType::LargeUtf8 => distinct(sample.as_string::<i64>().iter().flatten().map(str::as_bytes)),
        DataType::Binary => distinct(sample.as_binary::<i32>().iter().flatten()),
        DataType::LargeBinary => distinct(sample.as_binary::<i64>().iter().flatten()),
        t => match t.primitive_width() {
            Some(width) if t.is_primitive() => {
                let data = sample.to_data();
                let bytes = &data.buffers()[0].as_slice()[data.offset() * width..];
                distinct((0..data.len()).filter(|i| data.is_valid(*i)).map(|i| &bytes[i * width..(i + 1) * width]))
            }
            _ => return true,
        },
    };
    seen < 64 || distinct * 2 <= seen
}

/// How many values, and how many distinct ones.
fn distinct<'a>(values: impl Iterator<Item = &'a [u8]>) -> (usize, usize) {
    let mut set = HashSet::with_capacity(DICTIONARY_SAMPLE);
    let mut seen = 0;
    for v in values {
        seen += 1;
        set.insert(v);
    }
    (seen, set.len())
}

/// Batches queued per lane: the next one while the lane encodes one. It was 4: no faster, and
/// every queued batch is memory held (batches in flight were the largest part of a Parquet
/// load's heap at its peak, heaptrack; see also `HANDOFF` in lakeport-extract's `run.rs`).
const QUEUE: usize = 2;

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
    /// `maker`.
    pub(crate) fn new(maker: &DataFileMaker, lanes: usize) -> Encoders {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                let task = tokio::spawn(run_lane(maker.clone(), rx));
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
async fn run_lane(maker: DataFileMaker, mut rx: mpsc::Receiver<Command>) -> Result<Vec<DataFile>, PoolError> {
    let mut open: HashMap<String, Inner> = HashMap::new();
    while let Some(command) = rx.recv().await {
        match command {
            Command::Write(key, batch) => {
                let w = match open.get_mut(&key) {
                    Some(w) => w,
                    None => open.entry(key).or_insert(maker.writer(&batch).await?),
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

#[cfg(test)]
mod tests {
    use arrow_array::{BooleanArray, Decimal128Array, Int32Array, Int64Array, StringArray};

    use super::*;

    #[test]
    fn a_dictionary_is_worth_it_where_the_first_values_repeat() {
        let unique = Int64Array::from_iter_values(0..5000);
        let repeated = Int64Array::from_iter_values((0..5000).map(|i| i % 500));
        assert!(!worth_a_dictionary(&unique));
        assert!(worth_a_dictionary(&repeated));
        // A slice is judged by its own values (the buffer offset counts).
        assert!(!worth_a_dictionary(&Int64Array::from_iter_values((0..5000).map(|i| if i < 3000 { 1 } else { i })).slice(3000, 2000)));
        assert!(worth_a_dictionary(&Int64Array::from_iter_values((0..5000).map(|i| if i < 3000 { i } else { 1 })).slice(3000, 2000)));
        // Only the first values count: unique ones after DICTIONARY_SAMPLE repeated ones do not.
        assert!(worth_a_dictionary(&Int64Array::from_iter_values((0..5000).map(|i| if i < 2000 { i % 3 } else { i }))));
        // Nulls are not values; too few values keep the default.
        assert!(!worth_a_dictionary(&Int32Array::from_iter((0..5000).map(|i| (i % 10 == 0).then_some(i)))));
        assert!(worth_a_dictionary(&Int32Array::from_iter((0..5000).map(|i| (i % 100 == 0).then_some(i)))));
        let names: Vec<String> = (0..2000).map(|i| format!("case-{}", i / 4)).collect();
        assert!(worth_a_dictionary(&StringArray::from_iter_values(names.iter())));
        let ids: Vec<String> = (0..2000).map(|i| format!("event-{i}")).collect();
        assert!(!worth_a_dictionary(&StringArray::from_iter_values(ids.iter())));
        // 16-byte decimals are fixed-width values too; booleans keep the default.
        assert!(!worth_a_dictionary(&Decimal128Array::from_iter_values(0..2000)));
        assert!(worth_a_dictionary(&BooleanArray::from_iter((0..2000).map(|i| Some(i % 2 == 0)))));
    }
}
