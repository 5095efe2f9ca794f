//! Parquet: the footer and the column chunks are fetched with ranged GETs (parquet's
//! `ParquetObjectReader`), so a file is never held whole in memory.

use std::sync::Arc;

use arrow_schema::SchemaRef;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStore;
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};

use crate::error::Position;
use crate::{conform, BatchStream, FormatError, OpenedFile};

pub(crate) struct ParquetBody {
    builder: ParquetRecordBatchStreamBuilder<ParquetObjectReader>,
}

fn parse_error(file: &str, e: impl std::fmt::Display) -> FormatError {
    FormatError::Parse { file: file.to_string(), at: Position::default(), message: format!("not a readable Parquet file: {e}") }
}

/// Reads the footer of a Parquet object and returns it ready to stream. `store` and `path`
/// address the object exactly (the source's `S3Source::locate` gives them for an S3 key); `name`
/// (`s3://bucket/key`) is what errors say; `size` is the object's size in bytes.
pub async fn open_parquet(
    name: &str,
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    batch_size: usize,
) -> Result<OpenedFile, FormatError> {
    if size < 12 {
        return Err(parse_error(name, format!("{size} bytes is too small for Parquet (truncated?)")));
    }
    let reader = ParquetObjectReader::new(store, path).with_file_size(size);
    let builder = ParquetRecordBatchStreamBuilder::new(reader).await.map_err(|e| parse_error(name, e))?;
    let builder = builder.with_batch_size(batch_size);
    let schema = builder.schema().clone();
    Ok(OpenedFile { name: name.to_string(), schema, body: crate::Body::Parquet(ParquetBody { builder }) })
}

impl ParquetBody {
    pub(crate) fn into_batches(self, name: String, target: SchemaRef) -> BatchStream {
        let stream = match self.builder.build() {
            Ok(s) => s,
            Err(e) => return futures::stream::once(async move { Err(parse_error(&name, e)) }).boxed(),
        };
        stream
            .map_err({
                let name = name.clone();
                move |e| parse_error(&name, e)
            })
            .and_then(move |b| {
                let r = conform(&name, b, &target);
                async move { r }
            })
            .boxed()
    }
}
