//! The text readers end to end on real bytes: sample, infer, stream, conform, and the errors.

use std::io::Write;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema, TimeUnit};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use lakeport_formats::{open_text, ByteStream, Encoding, FileKind, FormatError, ReadOptions};

/// Delivers `data` in small chunks, as a network body would.
fn stream(data: Vec<u8>, chunk: usize) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = data.chunks(chunk.max(1)).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures::stream::iter(chunks).boxed()
}

async fn read(name: &str, data: Vec<u8>, opts: &ReadOptions) -> Result<(Arc<Schema>, Vec<RecordBatch>), FormatError> {
    let kind = FileKind::from_key(name)?;
    let file = open_text(name, kind, stream(data, 7), opts).await?;
    let schema = file.schema();
    let target = Arc::new(Schema::new(
        schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(if f.data_type() == &DataType::Null { DataType::Utf8 } else { f.data_type().clone() })).collect::<Vec<_>>(),
    ));
    let batches: Vec<RecordBatch> = file.into_batches(target, opts).try_collect().await?;
    Ok((schema, batches))
}

fn rows(b: &[RecordBatch]) -> usize {
    b.iter().map(|b| b.num_rows()).sum()
}

#[tokio::test]
async fn csv_types_are_inferred_and_values_decoded() {
    let csv = "case_id,activity,ts,cost,code,done,day,note\n\
               1,Create PO,2024-01-02 08:00:00,10.5,00123,true,2024-01-02,\n\
               2,\"Approve, fast\",2024-01-02T09:30:00,7,00456,FALSE,2024-01-03,\"multi\nline\"\n";
    let opts = ReadOptions { batch_size: 1, ..Default::default() };
    let (schema, batches) = read("events.csv", csv.as_bytes().to_vec(), &opts).await.unwrap();
    let types: Vec<_> = schema.fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(
        types,
        vec![
            DataType::Int64,
            DataType::Utf8,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Float64,
            DataType::Utf8,
            DataType::Boolean,
            DataType::Date32,
            DataType::Utf8
        ]
    );
    assert_eq!(rows(&batches), 2);
    let all = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    assert_eq!(all.column(0).as_primitive::<Int64Type>().values(), &[1, 2]);
    assert_eq!(all.column(1).as_string::<i32>().value(1), "Approve, fast");
    assert_eq!(all.column(3).as_primitive::<Float64Type>().value(1), 7.0);
    assert_eq!(all.column(4).as_string::<i32>().value(0), "00123");
    assert!(all.column(7).is_null(0));
    assert_eq!(all.column(7).as_string::<i32>().value(1), "multi\nline");
}

#[tokio::test]
async fn a_value_that_breaks_the_inferred_type_names_file_line_and_column() {
    let mut csv = String::from("id,amount\n");
    for i in 0..50 {
        csv.push_str(&format!("{i},{i}.5\n"));
    }
    csv.push_str("50,oops\n"); // line 52 of the file
    let opts = ReadOptions { infer_rows: 10, ..Default::default() };
    let err = read("pay.csv", csv.clone().into_bytes(), &opts).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("pay.csv") && msg.contains("line 52") && msg.contains("column 'amount'") && msg.contains("'oops'"), "{msg}");
    assert_eq!(err.type_mismatch_column(), Some("amount"));

    // With the column forced to text, the same file loads.
    let opts = ReadOptions { infer_rows: 10, text_columns: vec!["amount".into()], ..Default::default() };
    let (schema, batches) = read("pay.csv", csv.into_bytes(), &opts).await.unwrap();
    assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
    assert_eq!(rows(&batches), 51);
}

#[tokio::test]
async fn ragged_rows_are_named() {
    let err = read("r.csv", b"a,b\n1,2\n3\n".to_vec(), &ReadOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("r.csv") && err.contains("line 3"), "{err}");
}

#[tokio::test]
async fn gzip_zstd_bom_latin1_and_tsv() {
    let plain = b"\xEF\xBB\xBFid\tname\n1\tx\n2\ty\n".to_vec();
    let (schema, b) = read("t.tsv.gz", gzip(&plain).await, &ReadOptions::default()).await.unwrap();
    assert_eq!(schema.field(0).name(), "id");
    assert_eq!(rows(&b), 2);
    // Compressed but not named .gz: recognised by its magic bytes.
    let (_, b) = read("t.tsv", gzip(&plain).await, &ReadOptions::default()).await.unwrap();
    assert_eq!(rows(&b), 2);

    let zst = zstd(b"id,v\n1,a\n2,b\n3,c\n").await;
    let (_, b) = read("z.csv.zst", zst.clone(), &ReadOptions::default()).await.unwrap();
    assert_eq!(rows(&b), 3);
    let (_, b) = read("z.csv", zst, &ReadOptions::default()).await.unwrap();
    assert_eq!(rows(&b), 3, "zstd recognised by its magic bytes");
    let e = read("broken.csv.gz", b"\x1f\x8b\x08\x00garbage".to_vec(), &ReadOptions::default()).await.unwrap_err().to_string();
    assert!(e.contains("broken.csv.gz") && e.contains("decompression failed"), "{e}");

    let latin1 = b"name,city\nJos\xe9,M\xfcnchen\n".to_vec();
    let mut opts = ReadOptions::default();
    let err = read("l.csv", latin1.clone(), &opts).await.unwrap_err().to_string();
    assert!(err.contains("l.csv") && err.contains("latin-1"), "{err}");
    opts.csv.encoding = Encoding::Latin1;
    let (_, b) = read("l.csv", latin1, &opts).await.unwrap();
    assert_eq!(b[0].column(1).as_string::<i32>().value(0), "München");
}

async fn zstd(data: &[u8]) -> Vec<u8> {
    use async_compression::tokio::write::ZstdEncoder;
    use tokio::io::AsyncWriteExt;
    let mut enc = ZstdEncoder::new(Vec::new());
    enc.write_all(data).await.unwrap();
    enc.shutdown().await.unwrap();
    enc.into_inner()
}

async fn gzip(data: &[u8]) -> Vec<u8> {
    use async_compression::tokio::write::GzipEncoder;
    use tokio::io::AsyncWriteExt;
    let mut enc = GzipEncoder::new(Vec::new());
    enc.write_all(data).await.unwrap();
    enc.shutdown().await.unwrap();
    enc.into_inner()
}

#[tokio::test]
async fn json_lines_and_arrays() {
    let nd = b"{\"id\": 1, \"ts\": \"2024-01-01T10:00:00Z\", \"tags\": [\"a\"]}\n{\"id\": 2, \"ts\": \"2024-01-01T11:00:00+01:00\", \"amount\": 2.5}\n";
    let (schema, b) = read("e.ndjson", nd.to_vec(), &ReadOptions::default()).await.unwrap();
    assert_eq!(schema.field_with_name("ts").unwrap().data_type(), &DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())));
    assert_eq!(rows(&b), 2);
    let arr = b"[\n {\"id\": 1},\n {\"id\": 2},\n {\"id\": 3}\n]";
    let (_, b) = read("e.json", arr.to_vec(), &ReadOptions { batch_size: 2, ..Default::default() }).await.unwrap();
    assert_eq!(rows(&b), 3);

    let mut bad = Vec::new();
    for i in 0..20 {
        writeln!(bad, "{{\"id\": {i}}}").unwrap();
    }
    writeln!(bad, "{{\"id\": \"twenty\"}}").unwrap();
    let err = read("e.ndjson", bad, &ReadOptions { infer_rows: 5, ..Default::default() }).await.unwrap_err().to_string();
    assert!(err.contains("e.ndjson") && err.contains("line 21"), "{err}");

    let err = read("e.json", b"[{\"id\": 1}, {\"id\": ".to_vec(), &ReadOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("e.json") && err.contains("truncated"), "{err}");
}

#[tokio::test]
async fn parquet_bytes_under_a_text_name_are_refused() {
    let err = read("x.csv", b"PAR1\x00\x00garbage".to_vec(), &ReadOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("x.csv") && err.contains("Parquet"), "{err}");
}

#[tokio::test]
async fn header_only_and_empty_files() {
    let (schema, b) = read("h.csv", b"a,b\n".to_vec(), &ReadOptions::default()).await.unwrap();
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(schema.field(0).data_type(), &DataType::Null);
    assert_eq!(rows(&b), 0);
    let (schema, _) = read("e.csv", Vec::new(), &ReadOptions::default()).await.unwrap();
    assert_eq!(schema.fields().len(), 0);
}
