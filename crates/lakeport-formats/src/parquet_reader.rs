//! Parquet: the footer and the column chunks are fetched with ranged GETs, every one pinned to
//! the version listed (a row group's chunks spread over parallel GETs, `parallel_ranges`), so a
//! file is never held whole in memory and never read as a mix of two versions.
//!
//! On top of the parquet crate, in this one place, what mainstream readers (Arrow C++/pyarrow,
//! DuckDB) also do for files of older or sloppy writers, and checks that keep a value from
//! changing without a word:
//! - The row count is what the row groups hold: the footer's file-level count is replaced by
//!   their sum (parquet caps its batch size at the file-level count, so a footer saying 0 read 0
//!   rows), each row group's count must match the value count of its non-repeated columns, and
//!   the rows streamed are checked against the sum at the end.
//! - Column chunk ranges: a dictionary page offset of 0 (or not before the data pages) is
//!   ignored, as Arrow C++ does; in files of parquet-mr before 1.2.9, whose chunk sizes leave out
//!   the dictionary page header (PARQUET-816), the chunk is extended by that header; a range
//!   outside the file is an error naming the column.
//! - A footer the parquet crate refuses is retried once with fields whose Thrift wire type
//!   contradicts the Parquet spec dropped (`footer_repair`; Thrift readers skip such fields).
//! - INT96 timestamps are decoded exactly (see [`Int96Fix`]), never wrapped around.
//! - Page CRCs are verified (the parquet crate's `crc` feature); a mismatch names the column,
//!   row group and page.
//! - Batches are sized to the data: at most [`BATCH_BYTES`] of uncompressed data each, and a
//!   file of which one row alone is beyond that fails before reading, saying so.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, TimestampMicrosecondArray};
use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampNanosecondType, TimestampSecondType};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::StreamExt;
use lakeport_error::ErrorKind;
use object_store::path::Path;
use object_store::ObjectStore;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::ProjectionMask;
use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::{FileMetaData, ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};

use crate::error::{Position, ReadCause};
use crate::{conform, BatchStream, FormatError, OpenedFile};

mod footer_repair;
mod parallel_ranges;

use parallel_ranges::{ObjectVersion, ParallelRanges};

/// Uncompressed bytes one batch may hold (estimated from the column chunk sizes): keeps a batch
/// of long strings below Arrow's 2 GiB per string array and the memory of a load bounded.
pub const BATCH_BYTES: u64 = 256 << 20;

pub(crate) struct ParquetBody {
    reader: ParallelRanges,
    /// The file's Arrow schema as the parquet crate reads it (its embedded `ARROW:schema` applied).
    arrow: ArrowReaderMetadata,
    batch_rows: usize,
    int96: Option<Int96Fix>,
    rows: u64,
    object: Arc<ObjectVersion>,
    metadata: Arc<ParquetMetaData>,
}

/// INT96 timestamps (Impala, Spark): Julian day + nanoseconds of the day. The parquet crate turns
/// them into one i64 of the requested unit with wrapping arithmetic, so a date past 2262 read as
/// nanoseconds (its default) comes out as another date. Both references go wrong too (pyarrow
/// wraps in nanoseconds, DuckDB for years past 294,000). Here every INT96 column is read twice
/// by the parquet crate — as nanoseconds (wrapped) in the main stream and as seconds (exact:
/// days × 86,400 never overflows) in a second stream of only those columns — and the exact
/// instant is rebuilt: seconds S and the sub-second nanoseconds r = wrapped − S·10⁹ (mod 2⁶⁴,
/// exact because r is small). The result is microseconds (what Iceberg stores); a value with
/// digits below the microsecond, or beyond the microsecond range, is an error naming the column.
struct Int96Fix {
    seconds: ParquetRecordBatchStreamBuilder<ParallelRanges>,
    /// Names of the top-level INT96 columns.
    columns: Vec<String>,
}

fn parse_error(file: &str, e: impl std::fmt::Display) -> FormatError {
    FormatError::Parse { file: file.to_string(), at: Position::default(), message: format!("not a readable Parquet file: {e}") }
}

/// A read of the object that failed: when the store failed to deliver the bytes (object_store's
/// error in the source chain, of kind `Unavailable`: a timeout, a reset, a 5xx after retries) it
/// is the transfer's failure ([`FormatError::Read`], [`ReadCause::Transfer`]), as for the text
/// readers; a GET refused because the object is no longer the version listed (`Precondition`,
/// kind `Conflict`) is [`ReadCause::Changed`]; anything else is the file's ([`parse_error`]).
fn read_error(file: &str, e: &(dyn std::error::Error + 'static)) -> FormatError {
    let read = |message: String, cause| FormatError::Read { file: file.to_string(), message, cause };
    match ErrorKind::of_object_store_in(e) {
        Some(ErrorKind::Unavailable) => read(e.to_string(), ReadCause::Transfer),
        Some(ErrorKind::Conflict) => read("the object changed while it was read (its ETag no longer matches the one listed); nothing of it was loaded".into(), ReadCause::Changed),
        _ => parse_error(file, e),
    }
}

/// Reads the footer of a Parquet object and returns it ready to stream. `store` and `path`
/// address the object exactly (the source's `S3Source::locate` gives them for an S3 key); `name`
/// (`s3://bucket/key`) is what errors say; `size` is the object's size in bytes and `etag` its
/// ETag as listed, to which every GET is pinned (`If-Match`; `None`: unpinned); `batch_size` is
/// the most rows per batch (fewer when rows are large: a batch holds at most `BATCH_BYTES`,
/// 256 MiB, of uncompressed data); `parallel` is how many ranged GETs may fetch a row group's
/// column chunks at once (`parallel_ranges`; 1: one GET for chunks side by side). INT96
/// timestamp columns come out as microseconds.
///
/// # Errors
/// [`FormatError::Parse`] ("not a readable Parquet file") for an object under 12 bytes, a footer
/// that does not decode even after repair, or inconsistent metadata — also when a ranged GET of
/// the footer fails; [`FormatError::Read`] when the GET failed for good ([`ReadCause::Transfer`])
/// or the object is no longer the version listed ([`ReadCause::Changed`], also from the batch
/// stream later); [`FormatError::Unsupported`] for an INT96 column inside a nested column, or a
/// row group whose rows average over 256 MiB uncompressed.
pub async fn open_parquet(
    name: &str,
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    etag: Option<String>,
    batch_size: usize,
    parallel: usize,
) -> Result<OpenedFile, FormatError> {
    if size < 12 {
        return Err(parse_error(name, format!("{size} bytes is too small for Parquet (truncated?)")));
    }
    let object = Arc::new(ObjectVersion { store, path, size, etag });
    let mut reader = ParallelRanges::new(object.clone(), parallel);
    let metadata = match reader.get_metadata(None).await {
        Ok(m) => m,
        Err(e) => match repaired_metadata(&object).await {
            Ok(Some(m)) => Arc::new(m),
            Ok(None) => return Err(read_error(name, &e)),
            Err(e) => return Err(read_error(name, &e)),
        },
    };
    let metadata = Arc::new(normalize(name, Arc::unwrap_or_clone(metadata), &object).await?);
    let rows: u64 = metadata.row_groups().iter().map(|rg| rg.num_rows().max(0) as u64).sum();
    let batch_rows = batch_rows(name, &metadata, batch_size)?;

    let arrow = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new()).map_err(|e| parse_error(name, e))?;
    let int96 = int96_columns(name, &metadata)?;
    let mut schema: Schema = arrow.schema().as_ref().clone();
    let int96 = if int96.is_empty() {
        None
    } else {
        // The second stream: the INT96 columns only, read as seconds.
        let hint = Schema::new(
            schema.fields().iter().map(|f| if int96.contains(f.name()) { Field::new(f.name(), DataType::Timestamp(TimeUnit::Second, None), f.is_nullable()) } else { f.as_ref().clone() }).collect::<Vec<_>>(),
        );
        let seconds_md = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new().with_schema(Arc::new(hint))).map_err(|e| parse_error(name, e))?;
        let roots: Vec<usize> = schema.fields().iter().enumerate().filter(|(_, f)| int96.contains(f.name())).map(|(i, _)| i).collect();
        let mask = ProjectionMask::roots(metadata.file_metadata().schema_descr(), roots);
        let second_reader = ParallelRanges::new(object.clone(), parallel);
        let seconds = ParquetRecordBatchStreamBuilder::new_with_metadata(second_reader, seconds_md).with_batch_size(batch_rows).with_projection(mask);
        schema = Schema::new(
            schema.fields().iter().map(|f| if int96.contains(f.name()) { Field::new(f.name(), DataType::Timestamp(TimeUnit::Microsecond, None), f.is_nullable()) } else { f.as_ref().clone() }).collect::<Vec<_>>(),
        );
        Some(Int96Fix { seconds, columns: int96 })
    };
    Ok(OpenedFile {
        name: name.to_string(),
        schema: Arc::new(schema),
        body: crate::Body::Parquet(Box::new(ParquetBody { reader, arrow, batch_rows, int96, rows, object, metadata })),
    })
}

/// The footer again, with fields of a wrong wire type dropped; `None` if that does not help.
///
/// # Errors
/// A GET that fails because the object changed since it was listed (object_store's
/// `Precondition`): that, not the footer, is then what the caller reports. Other failed GETs are
/// `None` (the first read's error is the one to report).
async fn repaired_metadata(object: &ObjectVersion) -> object_store::Result<Option<ParquetMetaData>> {
    let size = object.size;
    let get = |range: Range<u64>| async move {
        match object.get_range(range).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e @ object_store::Error::Precondition { .. }) => Err(e),
            Err(_) => Ok(None),
        }
    };
    let Some(tail) = get(size - 8..size).await?.filter(|t| t.len() == 8) else { return Ok(None) };
    let len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if &tail[4..] != b"PAR1" || len + 8 > size {
        return Ok(None);
    }
    let Some(footer) = get(size - 8 - len..size - 8).await? else { return Ok(None) };
    Ok(footer_repair::drop_mistyped_fields(&footer).and_then(|repaired| ParquetMetaDataReader::decode_metadata(&repaired).ok()))
}

/// The metadata as mainstream readers take it (see the module doc), or an error naming the
/// column whose byte range is not inside the file.
async fn normalize(name: &str, md: ParquetMetaData, object: &ObjectVersion) -> Result<ParquetMetaData, FormatError> {
    let size = object.size;
    let fm = md.file_metadata().clone();
    // PARQUET-816: parquet-mr before 1.2.9 left the dictionary page header out of the chunk size.
    let pad_chunks = fm.created_by().is_some_and(parquet_mr_before_1_2_9);
    let mut builder = md.into_builder();
    let groups = builder.take_row_groups();
    let mut fixed: Vec<RowGroupMetaData> = Vec::with_capacity(groups.len());
    let mut rows = 0i64;
    for (g, rg) in groups.into_iter().enumerate() {
        if rg.num_rows() < 0 {
            return Err(parse_error(name, format!("row group {g} says it has {} rows", rg.num_rows())));
        }
        rows += rg.num_rows();
        let rg_rows = rg.num_rows();
        let mut rgb = rg.into_builder();
        let columns = rgb.take_columns();
        let mut cols = Vec::with_capacity(columns.len());
        for c in columns {
            let mut cb = c.clone().into_builder();
            let data = c.data_page_offset();
            if let Some(d) = c.dictionary_page_offset() {
                if d <= 0 || d >= data {
                    cb = cb.set_dictionary_page_offset(None);
                }
            }
            // A column that is not repeated has one value (or null) per row: a row group whose row
            // count says otherwise has lost (or invented) rows somewhere, and no count is trusted.
            if c.column_descr().max_rep_level() == 0 && c.num_values() != rg_rows {
                return Err(FormatError::Parse {
                    file: name.to_string(),
                    at: Position { column: Some(c.column_path().string()), ..Default::default() },
                    message: format!("not a readable Parquet file: row group {g} says it has {rg_rows} rows but this column holds {} values", c.num_values()),
                });
            }
            let start = c.dictionary_page_offset().filter(|d| *d > 0 && *d < data).unwrap_or(data);
            let len = c.compressed_size();
            let column = c.column_path().string();
            if start < 0 || len < 0 || (start as u64).saturating_add(len as u64) > size {
                return Err(FormatError::Parse {
                    file: name.to_string(),
                    at: Position { column: Some(column), ..Default::default() },
                    message: format!("not a readable Parquet file: row group {g}: the column chunk (bytes {start}..{}) is not inside the file ({size} bytes)", start.saturating_add(len)),
                });
            }
            if pad_chunks {
                // Arrow C++ pads such chunks by 100 bytes and stops at the chunk's value count;
                // the parquet crate reads pages until the bytes end, so the chunk is extended by
                // exactly the dictionary page header the writer left out.
                let head = object.get_range(start as u64..(start as u64 + 1024).min(size)).await.map_err(|e| read_error(name, &e))?;
                if let Some((header_len, 2)) = footer_repair::page_header(&head) {
                    cb = cb.set_total_compressed_size(len + header_len as i64);
                }
            }
            cols.push(cb.build().map_err(|e| parse_error(name, e))?);
        }
        fixed.push(rgb.set_column_metadata(cols).build().map_err(|e| parse_error(name, e))?);
    }
    let file = FileMetaData::new(fm.version(), rows, fm.created_by().map(String::from), fm.key_value_metadata().cloned(), fm.schema_descr_ptr(), fm.column_orders().cloned());
    let mut b = parquet::file::metadata::ParquetMetaDataBuilder::new(file).set_row_groups(fixed);
    b = b.set_column_index(builder.take_column_index()).set_offset_index(builder.take_offset_index());
    Ok(b.build())
}

/// Whether `created_by` names parquet-mr before 1.2.9 (or without a version), as Arrow C++'s
/// `ApplicationVersion` compares it.
fn parquet_mr_before_1_2_9(created_by: &str) -> bool {
    let Some(rest) = created_by.strip_prefix("parquet-mr") else { return false };
    let version = rest.trim_start().strip_prefix("version ").unwrap_or("").split([' ', '-']).next().unwrap_or("");
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    let v = |i: usize| parts.get(i).copied().unwrap_or(0);
    (v(0), v(1), v(2)) < (1, 2, 9)
}

/// Rows per batch: `batch_size`, fewer where rows are large, so a batch holds at most
/// [`BATCH_BYTES`] (uncompressed, by the chunk sizes). A row group one row of which is beyond
/// that is refused before anything is read.
fn batch_rows(name: &str, md: &ParquetMetaData, batch_size: usize) -> Result<usize, FormatError> {
    let mut rows = batch_size.max(1);
    for (g, rg) in md.row_groups().iter().enumerate() {
        if rg.num_rows() <= 0 {
            continue;
        }
        let bytes: u64 = rg.columns().iter().map(|c| c.uncompressed_size().max(0) as u64).sum();
        let per_row = bytes.div_ceil(rg.num_rows() as u64).max(1);
        if per_row > BATCH_BYTES {
            return Err(FormatError::Unsupported {
                file: name.to_string(),
                message: format!(
                    "row group {g} holds {} of uncompressed data in {} rows ({} per row); lakeport reads Parquet in batches of at most {} and one row is beyond that, so the file is not read (split it into files with smaller values)",
                    human(bytes),
                    rg.num_rows(),
                    human(per_row),
                    human(BATCH_BYTES)
                ),
            });
        }
        rows = rows.min((BATCH_BYTES / per_row).max(1) as usize);
    }
    Ok(rows)
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{b} bytes"),
    }
}

/// The top-level INT96 columns; an INT96 inside a list or struct is refused by name (its exact
/// decoding is not implemented; the parquet crate alone would wrap it).
fn int96_columns(name: &str, md: &ParquetMetaData) -> Result<Vec<String>, FormatError> {
    let descr = md.file_metadata().schema_descr();
    let mut out = Vec::new();
    for c in descr.columns() {
        if c.physical_type() == PhysicalType::INT96 {
            if c.path().parts().len() != 1 {
                return Err(FormatError::Unsupported {
                    file: name.to_string(),
                    message: format!("column '{}' is an INT96 timestamp inside a nested column, which lakeport cannot read exactly", c.path().string()),
                });
            }
            out.push(c.name().to_string());
        }
    }
    Ok(out)
}

impl ParquetBody {
    pub(crate) fn into_batches(self, name: String, target: SchemaRef) -> BatchStream {
        let ParquetBody { reader, arrow, batch_rows, int96, rows: expected, object, metadata } = self;
        let fail = |name: &str, e: parquet::errors::ParquetError| read_error(name, &e);
        let arrow = decoding_into(&arrow, &metadata, &target).unwrap_or(arrow);
        let main = match ParquetRecordBatchStreamBuilder::new_with_metadata(reader, arrow).with_batch_size(batch_rows).build() {
            Ok(s) => s,
            Err(e) => return futures::stream::once(async move { Err(parse_error(&name, e)) }).boxed(),
        };
        let (seconds, columns) = match int96 {
            Some(f) => match f.seconds.build() {
                Ok(s) => (Some(s), f.columns),
                Err(e) => return futures::stream::once(async move { Err(parse_error(&name, e)) }).boxed(),
            },
            None => (None, Vec::new()),
        };
        struct State {
            main: parquet::arrow::async_reader::ParquetRecordBatchStream<ParallelRanges>,
            seconds: Option<parquet::arrow::async_reader::ParquetRecordBatchStream<ParallelRanges>>,
            columns: Vec<String>,
            name: String,
            target: SchemaRef,
            read: u64,
            expected: u64,
            object: Arc<ObjectVersion>,
            metadata: Arc<ParquetMetaData>,
            done: bool,
        }
        let state = State { main, seconds, columns, name, target, read: 0, expected, object, metadata, done: false };
        futures::stream::unfold(state, move |mut s| async move {
            if s.done {
                return None;
            }
            let next = s.main.next().await;
            let result = match next {
                None => {
                    s.done = true;
                    // Every row the row groups hold must have been read.
                    if s.read != s.expected {
                        Some(Err(parse_error(&s.name, format!("read {} rows but the row groups hold {}", s.read, s.expected))))
                    } else {
                        None
                    }
                }
                Some(Err(e)) => {
                    s.done = true;
                    let msg = e.to_string();
                    Some(Err(if msg.contains("CRC checksum mismatch") {
                        locate_crc_mismatch(&s.name, &s.object, &s.metadata).await.unwrap_or_else(|| fail(&s.name, e))
                    } else {
                        fail(&s.name, e)
                    }))
                }
                Some(Ok(batch)) => {
                    let batch = match s.seconds.as_mut() {
                        Some(sec) => match sec.next().await {
                            Some(Ok(secs)) => exact_int96(&s.name, batch, &secs, &s.columns, s.read),
                            Some(Err(e)) => Err(fail(&s.name, e)),
                            None => Err(parse_error(&s.name, "the INT96 columns ended before the others")),
                        },
                        None => Ok(batch),
                    };
                    s.read += batch.as_ref().map(|b| b.num_rows() as u64).unwrap_or(0);
                    let r = batch.and_then(|b| conform(&s.name, b, &s.target));
                    if r.is_err() {
                        s.done = true;
                    }
                    Some(r)
                }
            };
            result.map(|r| (r, s))
        })
        .boxed()
    }
}

/// The file's Arrow schema with each top-level string (binary) column decoded straight into
/// the target's string (binary) layout where the two differ: `large_string` or `string_view`
/// in the file's embedded Arrow schema (polars, pyarrow, DataFusion write them) for a table's
/// `Utf8`, and `Binary` or `BinaryView` for the `LargeBinary` iceberg gives a binary column.
/// The same bytes, without the copy of every batch that converting afterwards costs (7 of 81 MB
/// of heap at the peak of a 50-file Parquet load, heaptrack; 4 % of its CPU, perf; see
/// bench/results/profile-parquet.md). `None` when no column differs that way, or when the
/// parquet crate does not take the schema (`conform` then converts, as for every other
/// difference). A batch of one column over 2 GiB of strings fails as it would for a file
/// written with `Utf8`: the table's column is `Utf8` either way.
fn decoding_into(file: &ArrowReaderMetadata, metadata: &Arc<ParquetMetaData>, target: &SchemaRef) -> Option<ArrowReaderMetadata> {
    use DataType::*;
    let family = |t: &DataType| match t {
        Utf8 | LargeUtf8 | Utf8View => Some(true),
        Binary | LargeBinary | BinaryView => Some(false),
        _ => None,
    };
    let mut changed = false;
    let fields: Vec<Field> = file
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let to = target.field_with_name(f.name()).ok().map(|t| t.data_type()).filter(|&t| t != f.data_type() && family(t).is_some() && family(t) == family(f.data_type()));
            match to {
                Some(t) => {
                    changed = true;
                    f.as_ref().clone().with_data_type(t.clone())
                }
                None => f.as_ref().clone(),
            }
        })
        .collect();
    if !changed {
        return None;
    }
    let schema = Schema::new_with_metadata(fields, file.schema().metadata().clone());
    ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new().with_schema(Arc::new(schema))).ok()
}

/// The batch with its INT96 columns (read as wrapped nanoseconds) replaced by exact
/// microseconds, rebuilt with the same columns read as seconds (see [`Int96Fix`]).
fn exact_int96(name: &str, batch: RecordBatch, seconds: &RecordBatch, columns: &[String], first_row: u64) -> Result<RecordBatch, FormatError> {
    if seconds.num_rows() != batch.num_rows() {
        return Err(parse_error(name, "the INT96 columns were read in batches of another size"));
    }
    let schema = batch.schema();
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (f, a) in schema.fields().iter().zip(batch.columns()) {
        if !columns.contains(f.name()) {
            fields.push(f.as_ref().clone());
            arrays.push(a.clone());
            continue;
        }
        let wrapped = a.as_primitive::<TimestampNanosecondType>();
        let secs = seconds.column_by_name(f.name()).ok_or_else(|| parse_error(name, "INT96 column missing"))?.as_primitive::<TimestampSecondType>();
        let bad = |row: usize, what: String| FormatError::Parse {
            file: name.to_string(),
            at: Position { column: Some(f.name().clone()), ..Default::default() },
            message: format!("row {}: INT96 timestamp {what}", first_row + row as u64 + 1),
        };
        let mut out: Vec<Option<i64>> = Vec::with_capacity(wrapped.len());
        for i in 0..wrapped.len() {
            if wrapped.is_null(i) {
                out.push(None);
                continue;
            }
            let s = secs.value(i);
            let sub = wrapped.value(i).wrapping_sub(s.wrapping_mul(1_000_000_000));
            if !(-999_999_999..=999_999_999).contains(&sub) {
                return Err(bad(i, "has an invalid time of day".into()));
            }
            if sub % 1_000 != 0 {
                return Err(bad(i, format!("{s} s + {sub} ns has digits below the microsecond, the precision Iceberg stores")));
            }
            match s.checked_mul(1_000_000).and_then(|m| m.checked_add(sub / 1_000)) {
                Some(us) => out.push(Some(us)),
                None => return Err(bad(i, format!("{s} s since 1970 is beyond the range of microsecond timestamps"))),
            }
        }
        fields.push(Field::new(f.name(), DataType::Timestamp(TimeUnit::Microsecond, None), f.is_nullable()));
        arrays.push(Arc::new(TimestampMicrosecondArray::from(out)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| parse_error(name, e))
}

/// A column chunk's bytes addressed by their file offsets (the page reader reads by file offset).
struct ChunkAt {
    start: u64,
    data: Bytes,
}

impl parquet::file::reader::Length for ChunkAt {
    fn len(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

impl parquet::file::reader::ChunkReader for ChunkAt {
    type T = bytes::buf::Reader<Bytes>;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        let at = start.checked_sub(self.start).filter(|a| *a <= self.data.len() as u64).ok_or_else(|| parquet::errors::ParquetError::EOF("outside the chunk".into()))?;
        Ok(self.data.slice(at as usize..).reader())
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let at = start.checked_sub(self.start).map(|a| a as usize).filter(|a| a + length <= self.data.len()).ok_or_else(|| parquet::errors::ParquetError::EOF("outside the chunk".into()))?;
        Ok(self.data.slice(at..at + length))
    }
}

/// After the parquet crate reported a page CRC mismatch (it does not say where): the first page
/// whose CRC does not match, found by reading the pages of each column chunk in file order.
async fn locate_crc_mismatch(name: &str, object: &ObjectVersion, md: &ParquetMetaData) -> Option<FormatError> {
    use parquet::column::page::PageReader;
    for (g, rg) in md.row_groups().iter().enumerate() {
        for c in rg.columns() {
            let (start, len) = c.byte_range();
            let range: Range<u64> = start..start + len;
            let data = object.get_range(range).await.ok()?;
            let chunk = Arc::new(ChunkAt { start, data });
            let mut pages = parquet::file::serialized_reader::SerializedPageReader::new(chunk, c, rg.num_rows() as usize, None).ok()?;
            let mut page = 0usize;
            loop {
                match pages.get_next_page() {
                    Ok(Some(_)) => page += 1,
                    Ok(None) => break,
                    Err(e) if e.to_string().contains("CRC") => {
                        return Some(FormatError::Parse {
                            file: name.to_string(),
                            at: Position { column: Some(c.column_path().string()), ..Default::default() },
                            message: format!("row group {g}, page {page} (0-based, in file order): the page's CRC checksum does not match its contents (the file is corrupt)"),
                        });
                    }
                    Err(_) => break,
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_mr_versions() {
        assert!(parquet_mr_before_1_2_9("parquet-mr"));
        assert!(parquet_mr_before_1_2_9("parquet-mr version 1.2.8"));
        assert!(!parquet_mr_before_1_2_9("parquet-mr version 1.2.9"));
        assert!(!parquet_mr_before_1_2_9("parquet-mr version 1.12.0-201812210311360288-a86293f (build cec1a48)"));
        assert!(!parquet_mr_before_1_2_9("parquet-cpp-arrow version 14.0.0"));
    }

    /// `decoding_into` makes the parquet crate itself decode each layout of strings and bytes
    /// into the table's (`Utf8`, iceberg's `LargeBinary`), with every value as written; a file
    /// already in the table's layout, or a target of another kind, needs nothing.
    #[test]
    fn strings_and_bytes_decode_straight_into_the_table_layout() {
        use arrow_array::{BinaryArray, BinaryViewArray, Int64Array, LargeStringArray, StringViewArray};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        use parquet::arrow::ArrowWriter;

        let text: Vec<Option<String>> = (0..3000).map(|i| (i % 7 != 0).then(|| format!("wert-{i}-ü€ {}", "x".repeat(i % 20)))).collect();
        let bytes: Vec<Option<&[u8]>> = text.iter().map(|v| v.as_deref().map(str::as_bytes)).collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("large", Arc::new(LargeStringArray::from(text.clone()))),
            ("view", Arc::new(StringViewArray::from(text.clone()))),
            ("bytes", Arc::new(BinaryArray::from(bytes.clone()))),
            ("bytes_view", Arc::new(BinaryViewArray::from(bytes.clone()))),
            ("n", Arc::new(Int64Array::from_iter_values(0..3000))),
        ];
        let written = RecordBatch::try_from_iter(columns).unwrap();
        let mut file = Vec::new();
        let mut w = ArrowWriter::try_new(&mut file, written.schema(), None).unwrap();
        w.write(&written).unwrap();
        w.close().unwrap();
        let file = Bytes::from(file);

        let md = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        let types = |s: &Schema| s.fields().iter().map(|f| f.data_type().clone()).collect::<Vec<_>>();
        assert_eq!(types(md.schema().as_ref()), [DataType::LargeUtf8, DataType::Utf8View, DataType::Binary, DataType::BinaryView, DataType::Int64]);
        let table = Arc::new(Schema::new(vec![
            Field::new("large", DataType::Utf8, true),
            Field::new("view", DataType::Utf8, true),
            Field::new("bytes", DataType::LargeBinary, true),
            Field::new("bytes_view", DataType::LargeBinary, true),
            Field::new("n", DataType::Int64, true),
        ]));
        let into = decoding_into(&md, md.metadata(), &table).expect("every string and binary column differs from the table's");
        let batches: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::new_with_metadata(file.clone(), into).with_batch_size(1000).build().unwrap().map(Result::unwrap).collect();
        assert_eq!(batches.len(), 3);
        let read = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(types(read.schema().as_ref()), types(table.as_ref()));
        for (name, expected) in [("large", &text), ("view", &text)] {
            let got: Vec<Option<String>> = read.column_by_name(name).unwrap().as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect();
            assert_eq!(&got, expected, "{name}");
        }
        for name in ["bytes", "bytes_view"] {
            let got: Vec<Option<&[u8]>> = read.column_by_name(name).unwrap().as_binary::<i64>().iter().collect();
            assert_eq!(got, bytes, "{name}");
        }

        // Nothing to change: the table's own layout, or a column of another kind.
        let same = Arc::new(Schema::new(md.schema().fields().iter().map(|f| f.as_ref().clone()).collect::<Vec<_>>()));
        assert!(decoding_into(&md, md.metadata(), &same).is_none());
        let other = Arc::new(Schema::new(vec![Field::new("large", DataType::Int64, true), Field::new("n", DataType::Utf8, true)]));
        assert!(decoding_into(&md, md.metadata(), &other).is_none());
    }
}
