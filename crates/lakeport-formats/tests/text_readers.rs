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
    assert!(err.contains("l.csv") && err.contains("windows-1252"), "the hint names an encoding that works: {err}");
    opts.csv.encoding = Encoding::from_label("windows-1252").unwrap();
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

/// NDJSON is split into records in pieces, on every core (json_reader.rs `Cutter`): every
/// record comes out once and in order, whatever the file's layout — records over several lines,
/// blank and CRLF lines, and records side by side on one line (no place to cut: read in one pass).
#[tokio::test]
async fn ndjson_in_pieces_keeps_every_record_in_order() {
    let ids = |b: &[RecordBatch]| -> Vec<i64> { b.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect() };
    let mut nd = String::new();
    for i in 0..30_000 {
        nd.push_str(&match i % 4 {
            0 => format!("{{\"id\": {i}, \"s\": \"}}\\n{{\"}}\n"),
            1 => format!("{{\"id\": {i},\r\n \"s\": \"x\"}}\r\n\r\n"),
            2 => format!("  {{\"id\": {i}, \"s\": {{\"n\": [1,\n2]}}}} \n"),
            _ => format!("{{\"id\": {i}, \"s\": \"{}\"}}\n", "y".repeat(40)),
        });
    }
    assert!(nd.len() > 1 << 20, "many chunks and pieces");
    let opts = ReadOptions { batch_size: 100, text_columns: vec!["s".into()], ..Default::default() };
    let (_, b) = read("p.ndjson", nd.clone().into_bytes(), &opts).await.unwrap();
    assert_eq!(ids(&b), (0..30_000).collect::<Vec<_>>());
    assert!(b.len() > 4, "{} batches", b.len());

    // Side by side on one line, past the length the splitter holds without a place to cut.
    let mut one = String::new();
    for i in 0..100_000 {
        one.push_str(&format!("{{\"id\": {i}}} "));
    }
    assert!(one.len() > 8 << 16);
    let (_, b) = read("o.ndjson", one.clone().into_bytes(), &opts).await.unwrap();
    assert_eq!(ids(&b), (0..100_000).collect::<Vec<_>>());
    // An error there is placed by line and byte as anywhere else.
    let at = one.len();
    one.push_str("{\"id\": \"x\"}\n");
    let e = read("o.ndjson", one.into_bytes(), &opts).await.unwrap_err();
    assert_eq!(e.position().map(|p| (p.line.map(|l| l.get()), p.byte)), Some((Some(1), Some(at as u64 + 7))), "{e}");
    // And deep in the first file, after many pieces.
    let line = nd.matches('\n').count() as u64 + 1;
    let at = nd.len();
    nd.push_str("{\"id\": \"x\"}\n");
    let e = read("p.ndjson", nd.into_bytes(), &opts).await.unwrap_err();
    assert_eq!(e.position().map(|p| (p.line.map(|l| l.get()), p.byte)), Some((Some(line), Some(at as u64 + 7))), "{e}");
}

/// Flat records (strings, numbers, booleans, nulls) are decoded a piece at a time in one pass
/// (`json_flat`): every value comes out, in order; a value that does not fit its column deep in
/// the file is placed by line, byte and column; and where that decoder declines a piece (a key
/// twice, past the sample) the reference decoder takes it and names the place.
#[tokio::test]
async fn flat_ndjson_keeps_every_value_and_place() {
    let mut nd = String::new();
    for i in 0..30_000 {
        nd.push_str(&match i % 5 {
            0 => format!("{{\"id\": {i}, \"s\": \"a\\\"b\\u00e9\", \"x\": {i}.5, \"ok\": true}}\n"),
            1 => format!("{{\"s\": \"plain\", \"id\": {i}}}\r\n\r\n"),
            2 => format!("  {{ \"id\" : {i} , \"x\" : null , \"s\" : \"caf\u{e9}\" }} \n"),
            3 => format!("{{\"id\": {i}, \"ok\": false, \"x\": -1e2}}\n"),
            _ => format!("{{\"id\": {i}, \"s\": \"{}\", \"x\": 0}}\n", "y".repeat(40)),
        });
    }
    assert!(nd.len() > 1 << 20, "many chunks and pieces");
    let opts = ReadOptions { batch_size: 100, ..Default::default() };
    let (schema, b) = read("f.ndjson", nd.clone().into_bytes(), &opts).await.unwrap();
    let types: Vec<_> = schema.fields().iter().map(|f| (f.name().as_str(), f.data_type().clone())).collect();
    assert_eq!(types, [("id", DataType::Int64), ("s", DataType::Utf8), ("x", DataType::Float64), ("ok", DataType::Boolean)]);
    assert!(b.len() > 4, "{} batches", b.len());
    let (mut ids, mut s, mut x, mut ok) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for b in &b {
        ids.extend(b.column(0).as_primitive::<Int64Type>().values().iter().copied());
        s.extend(b.column(1).as_string::<i32>().iter().map(|v| v.map(str::to_string)));
        x.extend(b.column(2).as_primitive::<Float64Type>().iter());
        ok.extend(b.column(3).as_boolean().iter());
    }
    assert_eq!(ids, (0..30_000).collect::<Vec<i64>>());
    for i in 0..30_000usize {
        let want = match i % 5 {
            0 => (Some("a\"b\u{e9}".to_string()), Some(i as f64 + 0.5), Some(true)),
            1 => (Some("plain".to_string()), None, None),
            2 => (Some("caf\u{e9}".to_string()), None, None),
            3 => (None, Some(-100.0), Some(false)),
            _ => (Some("y".repeat(40)), Some(0.0), None),
        };
        assert_eq!((s[i].clone(), x[i], ok[i]), want, "record {i}");
    }

    let lines: Vec<&str> = nd.split_inclusive('\n').collect();
    let k = lines.len() / 2;
    let (before, after) = (lines[..k].concat(), lines[k + 1..].concat());
    // A raw tab in a string in the middle (which arrow-json takes as it is; json_flat declines
    // it): the rest of the file is decoded the reference way, every value as before.
    let tabbed = format!("{before}{{\"id\": -1, \"s\": \"a\tb\"}}\n{}", lines[k..].concat());
    let (_, b2) = read("f.ndjson", tabbed.into_bytes(), &opts).await.unwrap();
    let row = lines[..k].iter().filter(|l| l.contains('{')).count();
    ids.insert(row, -1);
    s.insert(row, Some("a\tb".to_string()));
    let ids2: Vec<i64> = b2.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect();
    let s2: Vec<Option<String>> = b2.iter().flat_map(|b| b.column(1).as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>()).collect();
    assert_eq!((ids2, s2), (ids, s));

    // A value that does not fit, in the middle of the file.
    let bad = format!("{before}{{\"id\": 7, \"x\": \"seven\"}}\n{after}");
    let e = read("f.ndjson", bad.into_bytes(), &opts).await.unwrap_err();
    let p = e.position().expect("a position");
    assert_eq!((p.line.map(|l| l.get()), p.byte, p.column.as_deref()), (Some(k as u64 + 1), Some(before.len() as u64 + 15), Some("x")), "{e}");
    // A key twice, in the middle of the file.
    let bad = format!("{before}{{\"id\": 7, \"id\": 8}}\n{after}");
    let e = read("f.ndjson", bad.into_bytes(), &opts).await.unwrap_err();
    let p = e.position().expect("a position");
    assert_eq!((p.line.map(|l| l.get()), p.byte), (Some(k as u64 + 1), Some(before.len() as u64 + 10)), "{e}");
    assert!(e.to_string().contains("appears twice"), "{e}");
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

/// Where a case's error must point: the first occurrence of `marker` in the decompressed file,
/// plus `skip` bytes; or the end of the file.
enum Place {
    At(&'static str, usize),
    End,
}

struct Case {
    label: &'static str,
    /// The object name: format (and TSV delimiter) by extension.
    name: &'static str,
    text: Vec<u8>,
    opts: ReadOptions,
    /// The true physical line of the error in the decompressed file.
    line: u64,
    place: Place,
    column: Option<&'static str>,
}

fn case(label: &'static str, name: &'static str, text: impl Into<Vec<u8>>, infer_rows: usize, line: u64, place: Place, column: Option<&'static str>) -> Case {
    Case { label, name, text: text.into(), opts: ReadOptions { infer_rows, ..Default::default() }, line, place, column }
}

fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

fn bom(s: &str) -> String {
    format!("\u{feff}{s}")
}

/// The input: a quoted title over lines 2-3, integer priorities on lines 4-5, `high` on line 6.
const TICKETS: &str = "id,title,priority\n1,\"Printer\njams\",1\n2,VPN down,2\n3,Disk full,3\n4,Mail slow,high\n";

fn position_cases() -> Vec<Case> {
    use Place::*;
    let mut cases = vec![
        case("issue: quoted value over two lines before the error", "tickets.csv", TICKETS, 3, 6, At("high", 0), Some("priority")),
        case("issue with CRLF, also inside the quoted value", "tickets.csv", crlf(TICKETS), 3, 6, At("high", 0), Some("priority")),
        case("issue with a BOM (its 3 bytes count in the offset)", "tickets.csv", bom(TICKETS), 3, 6, At("high", 0), Some("priority")),
        case("issue with BOM and CRLF", "tickets.csv", bom(&crlf(TICKETS)), 3, 6, At("high", 0), Some("priority")),
        case("blank lines between records", "b.csv", "id,n\n1,2\n\n\n2,3\n\n3,4\n4,high\n", 3, 8, At("high", 0), Some("n")),
        case("blank CRLF lines between records", "b.csv", crlf("id,n\n1,2\n\n\n2,3\n\n3,4\n4,high\n"), 3, 8, At("high", 0), Some("n")),
        case("the bad value is on the second line of its record", "m.csv", "id,note,n\n1,a,2\n2,b,3\n3,c,4\n4,\"x\ny\",high\n", 3, 6, At("high", 0), Some("n")),
        case("a quoted bad value is placed at its opening quote", "q.csv", "id,n\n1,2\n2,3\n3,\"hi\ngh\"\n", 2, 4, At("\"hi", 0), Some("n")),
        case("a record with too few fields after a multi-line one", "r.csv", "id,title,n\n1,\"a\nb\",2\n2,short\n", 1000, 4, At("2,short", 0), None),
        case("a record with too many fields after blank lines", "r.csv", "id,n\n1,2\n\n\n2,3,4\n", 1000, 5, At("2,3,4", 0), None),
        case("a broken timestamp (arrow-csv's other message)", "ts.csv", "id,ts\n1,2024-01-01 10:00:00\n\n2,2024-01-02 10:00:00\n3,2024-01-03 10:00:00\n4,yesterday\n", 3, 6, At("yesterday", 0), Some("ts")),
        case("a broken boolean", "bool.csv", "id,ok\n1,\"true\"\n2,false\n3,true\n4,\"maybe\nnot\"\n", 3, 5, At("\"maybe", 0), Some("ok")),
        case("invalid UTF-8 in the first chunk after a BOM and a multi-line record", "u.csv", b"\xEF\xBB\xBFid,note\n1,\"a\nb\"\n2,\xff\n".to_vec(), 1000, 4, At("\u{fffd}", 0), None),
        case("NDJSON with blank lines and CRLF", "e.ndjson", crlf("{\"id\": 1}\n\n{\"id\": 2}\n\n\n{\"id\": 3}\n{\"id\": \"three\"}\n"), 3, 7, At("\"three\"", 0), Some("id")),
        case("NDJSON with a BOM", "e.ndjson", bom("{\"id\": 1}\n{\"id\": 2}\n\n{\"id\": 3}\n{\"id\": \"three\"}\n"), 3, 5, At("\"three\"", 0), Some("id")),
        case(
            "a pretty-printed JSON array: the value's own line",
            "p.json",
            "[\n  {\n    \"id\": 1,\n    \"priority\": 2\n  },\n  {\n    \"id\": 2,\n    \"priority\": 3\n  },\n  {\n    \"id\": 3,\n    \"priority\": 4\n  },\n  {\n    \"id\": 4,\n    \"priority\": \"high\"\n  }\n]\n",
            3,
            16,
            At("\"high\"", 0),
            Some("priority"),
        ),
        case(
            "a syntax error inside a pretty-printed record, after the sample",
            "p.json",
            "[\n  {\n    \"id\": 1\n  },\n  {\n    \"id\": 2\n  },\n  {\n    \"id\": 3,\n    \"note\": oops\n  }\n]\n",
            2,
            10,
            At("oops", 0),
            None,
        ),
        case(
            "a syntax error inside a pretty-printed record, in the sample",
            "p.json",
            "[\r\n  {\r\n    \"id\": 1\r\n  },\r\n  {\r\n    \"id\": 2,\r\n    \"note\": oops\r\n  }\r\n]\r\n",
            1000,
            7,
            At("oops", 0),
            None,
        ),
        case(
            "a nested member's bad value: the member's value",
            "n.ndjson",
            "{\"id\": 1, \"o\": {\"a\": 1}}\n{\"id\": 2,\n \"o\":\n  {\"a\": \"x\"}}\n",
            1,
            4,
            At("{\"a\": \"x", 0),
            Some("o"),
        ),
        case("a JSON object cut off at the end: where it starts", "c.json", "[\n  {\"id\": 1},\n  {\"id\":\n", 1000, 3, At("{\"id\":\n", 0), None),
        case("a JSON array that is never closed: the end of the file", "c.json", "[\n  {\"id\": 1}\n", 1000, 3, End, None),
        case("a raw line break inside a JSON string", "s.ndjson", "{\"a\": \"ok\"}\n\n{\"a\": \"x\ny\"}\n", 1000, 3, At("x\ny", 1), None),
        case("content after the top-level array", "g.json", "[\n  {\"id\": 1}\n]\n\ntrailing\n", 1000, 5, At("trailing", 0), None),
    ];
    // Header-less CSV with CRLF: arrow-csv numbers records differently without a header.
    let mut c = case("no header row, CRLF", "h.csv", crlf("1,\"a\nb\",2\n2,c,3\n3,d,4\n4,e,high\n"), 3, 5, At("high", 0), Some("column_3"));
    c.opts.csv.has_header = Some(false);
    cases.push(c);
    // TSV has no quoting by default (issue 13): quoting asked for.
    let mut c = case("TSV with a quoted line break", "t.tsv", "id\tt\tn\n1\t\"a\nb\"\t1\n2\tx\t2\n3\ty\t3\n4\tz\thigh\n", 3, 6, At("high", 0), Some("n"));
    c.opts.csv.quote = Some(b'"');
    cases.push(c);
    let mut c = case("backslash escapes, as configured", "e.csv", "id,t,n\n1,\"say \\\"hi\n\\\"\",1\n2,x,2\n3,y,3\n4,z,high\n", 3, 6, At("high", 0), Some("n"));
    c.opts.csv.escape = Some(b'\\');
    cases.push(c);
    let mut c = case("latin-1: the line, and no byte offset (transcoding moves bytes)", "l.csv", b"name,n\nJos\xe9,1\n\"M\xfcn\nchen\",2\nx,3\ny,high\n".to_vec(), 3, 6, At("high", 0), Some("n"));
    c.opts.csv.encoding = Encoding::from_label("latin1").unwrap();
    cases.push(c);

    // Errors far into the file: past the first 256 KiB chunk and across many batches.
    let mut big = String::from("id,note,n\r\n");
    for i in 0..6000 {
        big.push_str(&match i % 3 {
            0 => format!("{i},\"a\r\nb\",{i}\r\n"),    // two lines
            1 => format!("{i},x,{i}\r\n\r\n"),          // a record and a blank line
            _ => format!("{i},{},{i}\r\n", "y".repeat(120)), // one line
        });
    }
    let mut bad = big.clone();
    bad.push_str("6000,z,high\r\n");
    cases.push(case("deep in a CRLF file with multi-line records and blank lines", "big.csv", bad, 1000, 10002, At("high", 0), Some("n")));
    assert!(big.len() > 256 * 1024, "past the first chunk");
    let mut bad = big.clone().into_bytes();
    bad.extend_from_slice(b"6000,\"\xff\xfe\",1\r\n");
    cases.push(case("invalid UTF-8 past the first chunk (arrow-csv's check)", "big.csv", bad, 1000, 10002, At("6000,", 6), Some("note")));
    let mut bad = big;
    bad.push_str("6000,\"z\r\nz\"\r\n");
    cases.push(case("a short record deep in the file", "big.csv", bad, 1000, 10002, At("6000,", 0), None));

    let mut arr = String::from("[\n");
    for i in 0..3000 {
        arr.push_str(&format!("  {{\n    \"id\": {i},\n    \"text\": \"{}\"\n  }},\n\n", "t".repeat(60)));
    }
    arr.push_str("  {\n    \"id\": \"x3000\",\n    \"text\": \"x\"\n  }\n]\n");
    assert!(arr.len() > 256 * 1024, "past the first chunk");
    cases.push(case("deep in a pretty-printed array", "big.json", arr, 1000, 15003, At("\"x3000\"", 0), Some("id")));

    let mut nd: Vec<u8> = Vec::new();
    for i in 0..4000 {
        write!(nd, "{{\"id\": {i}, \"s\": \"{}\"}}\r\n\r\n", "s".repeat(60)).unwrap();
    }
    nd.extend_from_slice(b"{\"id\": 4000,\r\n \"s\": \"bad \xff\"}\r\n");
    assert!(nd.len() > 256 * 1024, "past the first chunk");
    cases.push(case("invalid UTF-8 in NDJSON past the first chunk", "big.ndjson", nd, 1000, 8002, At("bad ", 4), None));
    cases
}

/// Every position lakeport reports is the physical line (and byte offset) of the decompressed
/// file — for each input, also gzip- and zstd-compressed, and with batches of 1, 2 and 8192 rows.
#[tokio::test]
async fn error_positions_are_physical_lines_of_the_decompressed_file() {
    for c in position_cases() {
        // The table's own check: the line is the line the place is on.
        let offset = match c.place {
            Place::At(marker, skip) => {
                let text = String::from_utf8_lossy(&c.text);
                let at = text.find(marker).unwrap_or_else(|| panic!("{}: marker not in the text", c.label));
                // Lossy decoding keeps the byte count except for replaced bytes; map back through the prefix.
                text[..at].len() - text[..at].matches('\u{fffd}').count() * 2 + skip
            }
            Place::End => c.text.len(),
        };
        assert_eq!(c.text[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1, c.line, "{}: the table is wrong", c.label);
        let byte = (c.opts.csv.encoding == Encoding::utf8()).then_some(offset as u64);

        for (suffix, data) in [("", c.text.clone()), (".gz", gzip(&c.text).await), (".zst", zstd(&c.text).await)] {
            for batch_size in [1, 2, 8192] {
                let name = format!("{}{suffix}", c.name);
                let opts = ReadOptions { batch_size, ..c.opts.clone() };
                let what = format!("{} ({name}, batches of {batch_size})", c.label);
                let err = match read(&name, data.clone(), &opts).await {
                    Ok((_, b)) => panic!("{what}: loaded {} rows instead of failing", rows(&b)),
                    Err(e) => e,
                };
                let at = err.position().unwrap_or_else(|| panic!("{what}: no position in {err}"));
                assert_eq!((at.line.map(|l| l.get()), at.byte, at.column.as_deref()), (Some(c.line), byte, c.column), "{what}: {err}");
                let msg = err.to_string();
                assert!(msg.starts_with(&name) && msg.contains(&format!("line {}", c.line)), "{what}: {msg}");
            }
        }
    }
}

/// A value error found after the sample is a type mismatch whose column the type fallback can
/// turn into text, for arrow-csv's timestamp message too.
#[tokio::test]
async fn csv_value_errors_name_the_value_and_the_type() {
    let opts = ReadOptions { infer_rows: 3, ..Default::default() };
    let err = read("tickets.csv", TICKETS.into(), &opts).await.unwrap_err();
    assert_eq!(err.type_mismatch_column(), Some("priority"));
    let msg = err.to_string();
    let high = TICKETS.find("high").unwrap();
    assert!(msg.contains(&format!("tickets.csv, line 6 (byte offset {high}), column 'priority': value 'high' is not Int64")), "{msg}");

    let csv = "id,ts\n1,2024-01-01 10:00:00\n2,2024-01-02 10:00:00\n3,2024-01-03 10:00:00\n4,yesterday\n";
    let err = read("ts.csv", csv.into(), &opts).await.unwrap_err();
    assert_eq!(err.type_mismatch_column(), Some("ts"));
    assert!(err.to_string().contains("value 'yesterday' is not Timestamp"), "{err}");
    let opts = ReadOptions { infer_rows: 3, text_columns: vec!["ts".into()], ..Default::default() };
    let (_, b) = read("ts.csv", csv.into(), &opts).await.unwrap();
    assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 4);
}

fn line_of(e: &FormatError) -> Option<u64> {
    e.position().and_then(|p| p.line).map(|l| l.get())
}

/// Issue 13, point 2: a quoted field still open at the end of the file is an error naming the
/// line where the quote was opened — never a load with fewer rows. The whole kind: compressed,
/// TSV with quoting asked for, the last line, the header, CRLF, far into the file.
#[tokio::test]
async fn an_unterminated_quote_names_the_line_where_it_opens() {
    let tsv_quoted = ReadOptions { csv: lakeport_formats::CsvOptions { quote: Some(b'"'), ..Default::default() }, ..Default::default() };
    let mut far = String::from("a,b\n");
    for i in 0..50_000 {
        far.push_str(&format!("{i},\"v{i}\"\n"));
    }
    far.push_str("50000,\"open\n50001,x\n50002,y\n");
    let cases: Vec<(&str, Vec<u8>, ReadOptions, u64)> = vec![
        ("u.csv", b"a,b\n1,\"x\n2,y\n3,z\n".to_vec(), ReadOptions::default(), 2),
        ("u.csv.gz", gzip(b"a,b\n1,\"x\n2,y\n3,z\n").await, ReadOptions::default(), 2),
        ("u.csv.zst", zstd(b"a,b\n1,\"x\n2,y\n3,z\n").await, ReadOptions::default(), 2),
        ("u.csv", b"a,b\r\n1,x\r\n2,y\r\n3,\"z\r\n".to_vec(), ReadOptions::default(), 4),
        ("u.csv", b"a,b\n1,x\n2,\"y".to_vec(), ReadOptions::default(), 3),
        ("u.csv", b"a,\"b\n1,2\n3,4\n".to_vec(), ReadOptions::default(), 1),
        ("u.tsv.gz", gzip(b"a\tb\n1\t\"x\n2\ty\n").await, tsv_quoted, 2),
        ("far.csv", far.into_bytes(), ReadOptions { batch_size: 7, ..Default::default() }, 50_002),
    ];
    for (name, data, opts, line) in cases {
        let e = read(name, data, &opts).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(name) && msg.contains("never closed"), "{name}: {msg}");
        assert_eq!(line_of(&e), Some(line), "{name}: {msg}");
    }
    // A closed quote at the very end, and quotes escaped by doubling, are fine.
    let (_, b) = read("ok.csv", b"a,b\n1,\"x\"\"y\"\n2,\"z\"".to_vec(), &ReadOptions::default()).await.unwrap();
    assert_eq!(rows(&b), 2);
}

/// Issue 13, point 8: `.tsv` files have no quoting by default: a field starting with '"' is data
/// and does not swallow the lines after it.
#[tokio::test]
async fn tsv_files_have_no_quoting() {
    let (_, b) = read("t.tsv", b"a\tb\n1\t\"x\n2\ty\n3\tz\"\n".to_vec(), &ReadOptions::default()).await.unwrap();
    assert_eq!(rows(&b), 3);
    let all = arrow::compute::concat_batches(&b[0].schema(), &b).unwrap();
    assert_eq!(all.column(1).as_string::<i32>().value(0), "\"x");
    assert_eq!(all.column(1).as_string::<i32>().value(2), "z\"");
}

async fn open(name: &str, data: &[u8], opts: &ReadOptions) -> lakeport_formats::OpenedFile {
    open_text(name, FileKind::from_key(name).unwrap(), stream(data.to_vec(), 5), opts).await.unwrap()
}

/// Issue 13, point 8: the delimiter and the header row are detected from the sample and said;
/// flags override; a file that still loads as one column with delimiter-like characters warns.
#[tokio::test]
async fn delimiter_and_header_are_detected_and_said() {
    let d = ReadOptions::default();
    for (name, data, cols, delim) in [
        ("s.csv", &b"id;name;amount\n1;a;2,5\n2;b;3,5\n"[..], 3, "';'"),
        ("p.csv", b"id|name\n1|a\n2|b\n", 2, "'|'"),
        ("t.csv", b"id\tname\n1\ta\n2\tb\n", 2, "tab"),
        ("c.tsv", b"id,name\n1,a\n", 2, "','"),
        ("q.csv", b"\"id\";\"name\"\n1;\"a;b\"\n2;c\n", 2, "';'"),
    ] {
        let f = open(name, data, &d).await;
        assert_eq!(f.schema().fields().len(), cols, "{name}");
        assert!(f.notes()[0].contains(&format!("delimiter {delim} (detected)")), "{name}: {:?}", f.notes());
    }
    // Header: a first row of values that fit the rows below is data.
    let f = open("n.csv", b"1,2024-01-01,3.5\n2,2024-01-02,4.5\n", &d).await;
    assert_eq!(f.schema().field(0).name(), "column_1");
    assert!(f.notes()[0].contains("no header row (detected)"), "{:?}", f.notes());
    let (_, b) = read("n.csv", b"1,2024-01-01,3.5\n2,2024-01-02,4.5\n".to_vec(), &d).await.unwrap();
    assert_eq!(rows(&b), 2, "the first row is data");
    let f = open("h.csv", b"id,name\n1,a\n", &d).await;
    assert!(f.notes()[0].contains("header row (detected)"), "{:?}", f.notes());
    // Flags override.
    let mut given = ReadOptions::default();
    given.csv.delimiter = Some(b',');
    given.csv.has_header = Some(true);
    let f = open("s.csv", b"1;a\n2;b\n", &given).await;
    assert_eq!(f.schema().fields().len(), 1);
    assert_eq!(f.schema().field(0).name(), "1;a");
    assert!(f.notes()[0].contains("delimiter ',' (given)") && f.notes()[0].contains("header row (given)"), "{:?}", f.notes());
    assert!(f.notes().iter().any(|n| n.starts_with("warning") && n.contains("';'")), "{:?}", f.notes());
    // One column without delimiter-like characters: no warning.
    let f = open("one.csv", b"name\nalpha\nbeta\n", &d).await;
    assert_eq!(f.notes().len(), 1, "{:?}", f.notes());
}

/// Issue 13, point 9: UTF-16 with a BOM, Shift-JIS and windows-1252 by WHATWG label; each hint an
/// error gives names an encoding that then works.
#[tokio::test]
async fn encodings_by_bom_and_label() {
    let text = "id,name\n1,Zürich\n2,東京\n";
    let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
    let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(|u| u.to_be_bytes())).collect();
    for (what, data) in [("utf-16le", le.clone()), ("utf-16be", be)] {
        let (_, b) = read("w.csv", data, &ReadOptions::default()).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(b[0].column(1).as_string::<i32>().value(1), "東京", "{what}");
    }
    // UTF-16 without a BOM: the hint names utf-16le, and following it works.
    let no_bom = le[2..].to_vec();
    let e = read("w.csv", no_bom.clone(), &ReadOptions::default()).await.unwrap_err().to_string();
    assert!(e.contains("utf-16le"), "{e}");
    let mut o = ReadOptions::default();
    o.csv.encoding = Encoding::from_label("utf-16le").unwrap();
    let (_, b) = read("w.csv", no_bom, &o).await.unwrap();
    assert_eq!(b[0].column(1).as_string::<i32>().value(0), "Zürich");
    // Shift-JIS: the hint names shift_jis, and following it works.
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("id,name\n1,東京\n2,大阪\n");
    let e = read("j.csv", sjis.to_vec(), &ReadOptions::default()).await.unwrap_err().to_string();
    assert!(e.contains("shift_jis"), "{e}");
    o.csv.encoding = Encoding::from_label("shift_jis").unwrap();
    let (_, b) = read("j.csv", sjis.to_vec(), &o).await.unwrap();
    assert_eq!(b[0].column(1).as_string::<i32>().value(1), "大阪");
    // windows-1252 (€ is 0x80 there) by its label and by "latin1", which WHATWG maps to it.
    for label in ["windows-1252", "latin1", "cp1252"] {
        o.csv.encoding = Encoding::from_label(label).unwrap();
        let (_, b) = read("e.csv", b"id,price\n1,5 \x80\n".to_vec(), &o).await.unwrap();
        assert_eq!(b[0].column(1).as_string::<i32>().value(0), "5 €", "{label}");
    }
    // Bytes that are not valid in the given encoding: an error naming the line, never U+FFFD.
    o.csv.encoding = Encoding::from_label("shift_jis").unwrap();
    let e = read("j.csv", b"id,name\n1,a\n2,\x81\x20\n".to_vec(), &o).await.unwrap_err();
    assert_eq!(line_of(&e), Some(3), "{e}");
    assert!(Encoding::from_label("klingon").unwrap_err().contains("klingon"));
}

/// Issue 13, point 5: a key twice in one object, at any depth, is an error naming file, line and
/// key; the same key in sibling or nested objects is fine.
#[tokio::test]
async fn duplicate_json_keys_are_refused() {
    let d = ReadOptions::default();
    let mut many = String::new();
    for i in 0..3000 {
        many.push_str(&format!("{{\"id\": {i}, \"a\": {{\"b\": 1}}}}\n"));
    }
    many.push_str("{\"id\": 1, \"a\": {\"b\": 1, \"c\": [{\"x\": 1, \"x\": 2}]}}\n");
    for (name, data, line, key) in [
        ("d.ndjson", b"{\"id\": 1}\n{\"id\": 1, \"id\": 2}\n".to_vec(), 2, "id"),
        ("d.json", b"[\n{\"id\": 1,\n \"meta\": {\"k\": 1,\n \"k\": 2}}\n]".to_vec(), 4, "k"),
        ("d.ndjson", b"{\"a\": 1, \"\\u0061\": 2}\n".to_vec(), 1, "a"),
        ("big.ndjson.gz", gzip(many.as_bytes()).await, 3001, "x"),
    ] {
        let e = read(name, data, &d).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(name) && msg.contains(&format!("\"{key}\"")) && msg.contains("twice"), "{name}: {msg}");
        assert_eq!(line_of(&e), Some(line), "{name}: {msg}");
    }
    let (_, b) = read("ok.json", b"[{\"a\": {\"a\": 1, \"b\": [{\"a\": 2}, {\"a\": 3}]}}, {\"a\": {\"a\": 4}}]".to_vec(), &d).await.unwrap();
    assert_eq!(rows(&b), 2);
}

/// Issue 13, point 4: a key first seen after the inference sample fails naming file, line and key
/// (NDJSON, a JSON array, gzip) — never a dropped value.
#[tokio::test]
async fn json_keys_after_the_sample_are_refused() {
    let mut nd = String::new();
    for i in 0..1000 {
        nd.push_str(&format!("{{\"a\": {i}}}\n"));
    }
    nd.push_str("{\"a\": 2, \"b\": \"x\"}\n");
    let arr = format!("[\n{}]", nd.trim_end().replace('\n', ",\n"));
    for (name, data) in [("k.ndjson", nd.as_bytes().to_vec()), ("k.json", arr.into_bytes()), ("k.ndjson.gz", gzip(nd.as_bytes()).await)] {
        let e = read(name, data, &ReadOptions::default()).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(name) && msg.contains("\"b\"") && msg.contains("--infer-rows"), "{name}: {msg}");
        assert_eq!(line_of(&e), Some(if name == "k.json" { 1002 } else { 1001 }), "{name}: {msg}");
    }
    // A sample that covers it loads the column.
    let (s, b) = read("k.ndjson", nd.into_bytes(), &ReadOptions { infer_rows: 2000, ..Default::default() }).await.unwrap();
    assert_eq!((s.fields().len(), rows(&b)), (2, 1001));
}

/// Issue 13, point 12: a field that is a scalar in the sample and an object later is a type error
/// naming file, line and field, one the type fallback can act on (it names the column); as a
/// text column (what the fallback asks for) the object is stored as its JSON text.
#[tokio::test]
async fn json_scalars_then_objects_are_a_fallback_type_error() {
    let mut nd = String::new();
    for i in 0..1000 {
        nd.push_str(&format!("{{\"id\": {i}, \"v\": {i}}}\n"));
    }
    nd.push_str("{\"id\": 1000, \"v\": {\"x\": [1, 2]}}\n");
    let e = read("m.ndjson", nd.as_bytes().to_vec(), &ReadOptions::default()).await.unwrap_err();
    assert_eq!(e.type_mismatch_column(), Some("v"), "{e}");
    assert_eq!(line_of(&e), Some(1001), "{e}");
    assert!(e.to_string().contains("m.ndjson"), "{e}");
    let opts = ReadOptions { text_columns: vec!["v".into()], ..Default::default() };
    let (_, b) = read("m.ndjson", nd.into_bytes(), &opts).await.unwrap();
    let all = arrow::compute::concat_batches(&b[0].schema(), &b).unwrap();
    let v = all.column(1).as_string::<i32>();
    assert_eq!((v.value(0), v.value(1000)), ("0", "{\"x\":[1,2]}"));
}
