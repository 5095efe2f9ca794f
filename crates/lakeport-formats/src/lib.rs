//! File formats: turn an object's bytes into typed Arrow record batches.
//!
//! One reader per format (CSV, JSON, Parquet), each usable on its own:
//! [`open_text`] samples a CSV/JSON stream and infers its schema, [`open_parquet`] reads a Parquet
//! footer through ranged GETs; the resulting [`OpenedFile`] then streams batches that conform to a
//! target schema (the table's). [`unify`] checks that the files of a folder share one schema.
//! Everything streams: memory is bounded by the sample and the batch size, not the file size.
#![warn(missing_docs)]

mod bytes_in;
mod csv_reader;
mod error;
mod exact;
mod infer;
mod json_flat;
mod json_reader;
mod json_shape;
mod kind;
mod options;
mod parquet_reader;
mod schema;
mod sniff;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use futures::stream::BoxStream;

pub use bytes_in::ByteStream;
pub use error::{FormatError, Position, ReadCause};
pub use kind::{Compression, FileFormat, FileKind};
pub use options::{CsvOptions, Encoding, ReadOptions};
pub use parquet_reader::open_parquet;
pub use schema::{conform, unify};

/// A file's rows as Arrow record batches, each at most `ReadOptions::batch_size` rows; the stream
/// ends after the first error.
pub type BatchStream = BoxStream<'static, Result<RecordBatch, FormatError>>;

/// A reader's decoding state: produces the next batch, `None` at the end.
pub(crate) trait NextBatch: Send + 'static {
    fn next_batch(&mut self) -> impl std::future::Future<Output = Result<Option<RecordBatch>, FormatError>> + Send;
}

/// The batches of a decoding state as a stream that ends after the first error.
pub(crate) fn batch_stream<S: NextBatch>(state: S) -> BatchStream {
    use futures::StreamExt;
    futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        match s.next_batch().await {
            Ok(Some(b)) => Some((Ok(b), Some(s))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
    .boxed()
}

/// A file whose schema is known and whose batches can be streamed.
pub struct OpenedFile {
    name: String,
    schema: SchemaRef,
    body: Body,
}

enum Body {
    Csv(csv_reader::CsvBody),
    /// Boxed: the JSON body carries its splitter's buffers and tables.
    Json(Box<json_reader::JsonBody>),
    /// Boxed: a Parquet reader builder is several times the size of the text bodies.
    Parquet(Box<parquet_reader::ParquetBody>),
}

impl OpenedFile {
    /// The name the file was opened with (`s3://bucket/key`): what its errors say.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the reader detected about the file worth telling the user (a CSV file's dialect,
    /// warnings), one sentence each.
    pub fn notes(&self) -> &[String] {
        match &self.body {
            Body::Csv(b) => b.notes(),
            _ => &[],
        }
    }

    /// The file's own schema (column order as in the file; inferred for CSV/JSON).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Streams the file's rows as batches with exactly `target`'s columns (by name) and types;
    /// a target column the file lacks is NULL, a file column the target lacks is dropped.
    ///
    /// # Errors
    /// As stream items, after which the stream ends: [`FormatError::Read`] when the bytes stop
    /// arriving or decompression fails; [`FormatError::Parse`] for malformed content (placed by
    /// [`Position`]); [`FormatError::Value`] for a CSV/JSON value that does not fit its column's
    /// inferred type; for Parquet, a value that does not fit `target`'s type without change is a
    /// [`FormatError::Parse`] naming the column (see [`conform`]).
    pub fn into_batches(self, target: SchemaRef, options: &ReadOptions) -> BatchStream {
        match self.body {
            Body::Csv(b) => b.into_batches(self.name, self.schema, target, options),
            Body::Json(b) => b.into_batches(self.name, target, options),
            Body::Parquet(b) => b.into_batches(self.name, target),
        }
    }
}

/// Opens a CSV or JSON object from its byte stream: reads a sample (decompressing and transcoding
/// on the way) and infers the schema from it. The sample — `options.infer_rows` records — is kept
/// and replayed by `into_batches`. `name` (`s3://bucket/key`) is what errors say.
///
/// # Errors
/// [`FormatError::Read`] when the stream fails or decompression fails (or passes
/// `options.max_decompressed_bytes`); [`FormatError::Parse`] for bytes that are not text in the
/// encoding, or a sample that does not parse as CSV/JSON; [`FormatError::Unsupported`] for a
/// Parquet `kind` (use [`open_parquet`]) or Parquet bytes under a text name.
pub async fn open_text(name: &str, kind: FileKind, stream: ByteStream, options: &ReadOptions) -> Result<OpenedFile, FormatError> {
    let chunks = bytes_in::Chunks::open(name, kind, stream, options).await?;
    match kind.format {
        FileFormat::Csv => {
            let (schema, body) = csv_reader::open(name, chunks, options).await?;
            Ok(OpenedFile { name: name.to_string(), schema, body: Body::Csv(body) })
        }
        FileFormat::Json => {
            let (schema, body) = json_reader::open(name, chunks, options).await?;
            Ok(OpenedFile { name: name.to_string(), schema, body: Body::Json(Box::new(body)) })
        }
        FileFormat::Parquet => Err(FormatError::Unsupported {
            file: name.to_string(),
            message: "Parquet is read with ranged GETs (open_parquet), not as a stream".into(),
        }),
    }
}
