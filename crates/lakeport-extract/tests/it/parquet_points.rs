//! Issue 13, the Parquet points, each with the value it must give: files of apache/parquet-testing
//! (testing/corpora/parquet-testing) and generated ones, loaded from the real S3 test server.

use crate::common;

use std::sync::Arc;
use std::time::Instant;

use common::{setup, Env};
use lakeport_extract::{ExtractRequest, Item};
use lakeport_pool::LoadMode;
use parquet::data_type::Int96;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testing/corpora/parquet-testing/data");

async fn load(env: &Env, key: &str, bytes: Vec<u8>, table: &str) -> Result<u64, String> {
    env.bucket.put(key, bytes).await;
    let before = env.state().await;
    let req = ExtractRequest::new(vec![Item::File { key: key.into(), table: Some(table.into()) }], LoadMode::Full);
    match env.run_with(req).await {
        Ok(r) => Ok(r.rows),
        Err(e) => {
            assert_eq!(env.state().await, before, "{key}: a failed load changed the pool");
            let msg = e.to_string();
            assert!(msg.contains(key), "the error does not name {key}: {msg}");
            Err(msg)
        }
    }
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{name}")).unwrap()
}

/// Point 1: the footer's file-level count says 0; the row group holds 6 rows, and so does the table.
#[tokio::test]
async fn row_count_comes_from_the_row_groups() {
    let env = setup("pq-rows").await;
    assert_eq!(load(&env, "repeated_no_annotation.parquet", corpus("repeated_no_annotation.parquet"), "phones").await, Ok(6));
    assert_eq!(env.scalar("SELECT count(*) FROM phones").await, 6);
    assert_eq!(env.scalar("SELECT sum(id) FROM phones").await, 21);
    assert_eq!(env.scalar("SELECT count(*) FROM phones WHERE \"phoneNumbers\" IS NULL").await, 2);
}

/// A file with one INT96 column (Julian day, nanoseconds of the day), as Spark and Impala write it.
fn int96_file(values: &[Option<(i32, i64)>]) -> Vec<u8> {
    let schema = Arc::new(parse_message_type("message spark_schema { optional int96 a; }").unwrap());
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(&mut buf, schema, Arc::new(WriterProperties::builder().build())).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    let data: Vec<Int96> = values
        .iter()
        .flatten()
        .map(|(day, nanos)| {
            let mut v = Int96::new();
            v.set_data(*nanos as u32, (*nanos >> 32) as u32, *day as u32);
            v
        })
        .collect();
    let def: Vec<i16> = values.iter().map(|v| v.is_some() as i16).collect();
    col.typed::<parquet::data_type::Int96Type>().write_batch(&data, Some(&def), None).unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
    buf
}

const JULIAN_EPOCH: i32 = 2_440_588;

/// Point 3: INT96 timestamps give the true instant at microsecond precision (9999-12-31 stays
/// 9999-12-31; the parquet crate alone reads nanoseconds and wraps it to 1816), or an error
/// naming the file, the column and the row: sub-microsecond digits, an instant beyond the
/// microsecond range.
#[tokio::test]
async fn int96_timestamps_are_exact_or_refused() {
    let env = setup("pq-int96").await;
    let day = |secs: i64| (JULIAN_EPOCH + secs.div_euclid(86_400) as i32, secs.rem_euclid(86_400) * 1_000_000_000);
    let far = 253_402_225_200i64; // 9999-12-31T03:00:00Z (Spark's 9999-12-31T01:00:00-02:00)
    let (d1, n1) = day(1_704_141_296); // 2024-01-01T20:34:56 + .123456
    let (d2, n2) = day(far);
    let (d3, n3) = day(-6_000_000_000); // 1779-11-12…, before 1970 too
    let file = int96_file(&[Some((d1, n1 + 123_456_000)), Some((d2, n2)), None, Some((d3, n3))]);
    assert_eq!(load(&env, "spark/ts.parquet", file, "ts").await, Ok(4));
    // Microseconds since 1970 (SQL timestamp literals are nanoseconds in DataFusion: up to 2262).
    for micros in [1_704_141_296_123_456, far * 1_000_000, -6_000_000_000 * 1_000_000] {
        assert_eq!(env.scalar(&format!("SELECT count(*) FROM ts WHERE CAST(a AS BIGINT) = {micros}")).await, 1, "{micros} µs");
    }
    assert_eq!(env.scalar("SELECT count(*) FROM ts WHERE a IS NULL").await, 1);
    // And as text: the day is 9999-12-31, not a wrapped one.
    assert_eq!(env.scalar("SELECT count(*) FROM ts WHERE CAST(a AS VARCHAR) LIKE '9999-12-31T03:00:00%'").await, 1);

    let sub_micro = int96_file(&[Some((d1, n1 + 1))]);
    let e = load(&env, "spark/nanos.parquet", sub_micro, "nanos").await.unwrap_err();
    assert!(e.contains("column 'a'") && e.contains("row 1") && e.contains("below the microsecond"), "{e}");
    let beyond = int96_file(&[Some((d1, 0)), Some((i32::MAX, 0))]);
    let e = load(&env, "spark/beyond.parquet", beyond, "beyond").await.unwrap_err();
    assert!(e.contains("column 'a'") && e.contains("row 2") && e.contains("beyond the range"), "{e}");

    // Spark's own file: rows 1-5 are fine, row 6 stores a day near 294,000 BC (Spark overflowed
    // writing 290000-12-31), which no microsecond timestamp holds: refused, by column and row.
    let e = load(&env, "int96_from_spark.parquet", corpus("int96_from_spark.parquet"), "spark").await.unwrap_err();
    assert!(e.contains("column 'a'") && e.contains("row 6") && e.contains("beyond the range of microsecond timestamps"), "{e}");
}

/// Point 6: page CRCs are verified: a mismatch is an error naming file, column, row group and
/// page, and the pool is unchanged; files whose CRCs match load.
#[tokio::test]
async fn page_checksums_are_verified() {
    let env = setup("pq-crc").await;
    let e = load(&env, "datapage_v1-corrupt-checksum.parquet", corpus("datapage_v1-corrupt-checksum.parquet"), "bad").await.unwrap_err();
    assert!(e.contains("column 'a'") && e.contains("row group 0, page 0") && e.contains("CRC checksum does not match"), "{e}");
    let e = load(&env, "rle-dict-uncompressed-corrupt-checksum.parquet", corpus("rle-dict-uncompressed-corrupt-checksum.parquet"), "bad2").await.unwrap_err();
    assert!(e.contains("column 'long_field'") && e.contains("CRC checksum does not match"), "{e}");
    for (f, rows) in [
        ("datapage_v1-uncompressed-checksum.parquet", 5120),
        ("datapage_v1-snappy-compressed-checksum.parquet", 5120),
        ("plain-dict-uncompressed-checksum.parquet", 1000),
        ("rle-dict-snappy-checksum.parquet", 1000),
    ] {
        assert_eq!(load(&env, f, corpus(f), "good").await, Ok(rows), "{f}");
    }
}

/// Point 10: files of older writers that pyarrow and DuckDB read: a dictionary page offset of
/// 0 with a footer field of the wrong Thrift type (Dremio's parquet-mr build), and chunk sizes
/// without the dictionary page header (parquet-mr before 1.2.9, PARQUET-816).
#[tokio::test]
async fn files_of_older_writers_load() {
    let env = setup("pq-old").await;
    assert_eq!(load(&env, "dict-page-offset-zero.parquet", corpus("dict-page-offset-zero.parquet"), "parts").await, Ok(39));
    assert_eq!(env.scalar("SELECT count(*) FROM parts WHERE l_partkey = 1552").await, 39);
    assert_eq!(load(&env, "nation.dict-malformed.parquet", corpus("nation.dict-malformed.parquet"), "nation").await, Ok(25));
    assert_eq!(env.scalar("SELECT sum(nation_key) FROM nation").await, 300);
    assert_eq!(env.scalar("SELECT count(*) FROM nation WHERE name = X'414c4745524941' AND region_key = 0").await, 1);
}

/// Point 11: 2 rows holding 2 GiB of strings: refused before any data is read, saying why
/// (pyarrow and DuckDB fail on it after reading for ~30 s at GiBs of memory).
#[tokio::test]
async fn a_file_beyond_the_batch_budget_fails_early() {
    let env = setup("pq-big").await;
    let started = Instant::now();
    let e = load(&env, "large_string_map.brotli.parquet", corpus("large_string_map.brotli.parquet"), "big").await.unwrap_err();
    assert!(e.contains("2.0 GiB") && e.contains("1.0 GiB per row") && e.contains("batches of at most 256.0 MiB"), "{e}");
    assert!(started.elapsed().as_secs() < 10, "took {:?}", started.elapsed());
}

/// Point 3, the rest of the kind: timestamps of every unit Parquet files carry are stored as
/// microseconds exactly, or refused naming the column — a millisecond or second timestamp beyond
/// the microsecond range, a nanosecond one with digits below the microsecond — and an INT96
/// inside a nested column is refused by name (its exact decoding is only done for top-level
/// columns), never wrapped.
#[tokio::test]
async fn timestamps_of_every_unit_are_exact_or_refused() {
    use arrow::array::{ArrayRef, RecordBatch, TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray};
    let env = setup("pq-units").await;
    let one = |name: &str, a: ArrayRef| common::parquet_bytes(&RecordBatch::try_from_iter([(name, a)]).unwrap());
    let far_ms = 253_402_225_200_000i64; // 9999-12-31T03:00:00Z
    let ok = one("t", Arc::new(TimestampMillisecondArray::from(vec![Some(far_ms), None, Some(-far_ms)])));
    assert_eq!(load(&env, "units/ms.parquet", ok, "ms").await, Ok(3));
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM ms WHERE CAST(t AS BIGINT) IN ({}, {})", far_ms * 1000, -far_ms * 1000)).await, 2);
    let secs = one("t", Arc::new(TimestampSecondArray::from(vec![far_ms / 1000])));
    assert_eq!(load(&env, "units/s.parquet", secs, "s").await, Ok(1));
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM s WHERE CAST(t AS BIGINT) = {}", far_ms * 1000)).await, 1);

    let beyond_ms = one("t", Arc::new(TimestampMillisecondArray::from(vec![Some(1), Some(i64::MAX / 100)])));
    let e = load(&env, "units/ms_beyond.parquet", beyond_ms, "x1").await.unwrap_err();
    assert!(e.contains("column 't'") && e.contains("row 2"), "{e}");
    let beyond_s = one("t", Arc::new(TimestampSecondArray::from(vec![i64::MAX / 1000])));
    let e = load(&env, "units/s_beyond.parquet", beyond_s, "x2").await.unwrap_err();
    assert!(e.contains("column 't'"), "{e}");
    let sub_micro = one("t", Arc::new(TimestampNanosecondArray::from(vec![1_000, 1_001])));
    let e = load(&env, "units/ns.parquet", sub_micro, "x3").await.unwrap_err();
    assert!(e.contains("column 't'") && e.contains("row 2"), "{e}");

    // INT96 in a struct.
    let schema = Arc::new(parse_message_type("message m { optional group s { optional int96 t; } }").unwrap());
    let mut buf = Vec::new();
    let mut w = SerializedFileWriter::new(&mut buf, schema, Arc::new(WriterProperties::builder().build())).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = rg.next_column().unwrap().unwrap();
    let mut v = Int96::new();
    v.set_data(0, 0, JULIAN_EPOCH as u32);
    col.typed::<parquet::data_type::Int96Type>().write_batch(&[v], Some(&[2]), None).unwrap();
    col.close().unwrap();
    rg.close().unwrap();
    w.close().unwrap();
    let e = load(&env, "units/nested_int96.parquet", buf, "x4").await.unwrap_err();
    assert!(e.contains("'s.t'") && e.contains("INT96"), "{e}");
}

/// Point 1, the kind: a footer whose counts disagree. The file-level count is not trusted (the
/// row groups' sum is), and a row group whose count differs from the values its non-repeated
/// columns hold is refused naming the column — not loaded short or long.
#[tokio::test]
async fn row_counts_that_disagree_are_not_trusted() {
    use arrow::array::{ArrayRef, Int64Array, RecordBatch};
    use parquet::file::metadata::{FileMetaData, ParquetMetaDataBuilder, ParquetMetaDataReader, ParquetMetaDataWriter};
    let env = setup("pq-counts").await;
    let good = common::parquet_bytes(&RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef)]).unwrap());
    // The same data with a rewritten footer: (file-level rows, row group rows).
    let with_counts = |file_rows: i64, group_rows: i64| {
        let len = u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap()) as usize;
        let body = &good[..good.len() - 8 - len];
        let md = ParquetMetaDataReader::decode_metadata(&good[good.len() - 8 - len..good.len() - 8]).unwrap();
        let fm = md.file_metadata().clone();
        let rg = md.row_group(0).clone().into_builder().set_num_rows(group_rows).build().unwrap();
        let file = FileMetaData::new(fm.version(), file_rows, fm.created_by().map(String::from), None, fm.schema_descr_ptr(), None);
        let md = ParquetMetaDataBuilder::new(file).set_row_groups(vec![rg]).build();
        let mut out = body.to_vec();
        ParquetMetaDataWriter::new(&mut out, &md).finish().unwrap();
        out
    };
    assert_eq!(load(&env, "counts/file0.parquet", with_counts(0, 3), "file0").await, Ok(3));
    assert_eq!(env.scalar("SELECT sum(id) FROM file0").await, 6);
    assert_eq!(load(&env, "counts/file9.parquet", with_counts(9, 3), "file9").await, Ok(3));
    let e = load(&env, "counts/group2.parquet", with_counts(3, 2), "group2").await.unwrap_err();
    assert!(e.contains("column 'id'") && e.contains("row group 0 says it has 2 rows but this column holds 3 values"), "{e}");
    let e = load(&env, "counts/group5.parquet", with_counts(5, 5), "group5").await.unwrap_err();
    assert!(e.contains("column 'id'") && e.contains("5 rows but this column holds 3 values"), "{e}");
}

/// Strings and bytes as polars, pyarrow and DataFusion write them (`large_string`,
/// `string_view`, `large_binary` in the file's embedded Arrow schema) are decoded straight into
/// the table's string and binary columns: every value as written — empty, NULL, multi-byte,
/// longer than a view's inline 12 bytes — across row groups and batches.
#[tokio::test]
async fn large_and_view_strings_load_as_written() {
    use arrow::array::{ArrayRef, BinaryViewArray, LargeBinaryArray, LargeStringArray, StringViewArray};
    use arrow::record_batch::RecordBatch;
    use parquet::arrow::ArrowWriter;

    let env = setup("pq-strings").await;
    let rows = 20_000;
    let text = |i: usize| match i % 5 {
        0 => None,
        1 => Some(String::new()),
        2 => Some(format!("zählt-{i}-ü€𝄞")),
        3 => Some(format!("a value longer than twelve bytes, number {i}")),
        _ => Some(format!("k{}", i % 7)),
    };
    let values: Vec<Option<String>> = (0..rows).map(text).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("large", Arc::new(LargeStringArray::from(values.clone()))),
        ("view", Arc::new(StringViewArray::from(values.clone()))),
        ("large_bytes", Arc::new(LargeBinaryArray::from(values.iter().map(|v| v.as_deref().map(str::as_bytes)).collect::<Vec<_>>()))),
        ("view_bytes", Arc::new(BinaryViewArray::from(values.iter().map(|v| v.as_deref().map(str::as_bytes)).collect::<Vec<_>>()))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut file = Vec::new();
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(12_000)).build();
    let mut w = ArrowWriter::try_new(&mut file, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    assert_eq!(load(&env, "polars/strings.parquet", file, "strings").await, Ok(rows as u64));
    let non_null = values.iter().flatten().count() as i64;
    let bytes: i64 = values.iter().flatten().map(|v| v.len() as i64).sum();
    let chars: i64 = values.iter().flatten().map(|v| v.chars().count() as i64).sum();
    for column in ["large", "view"] {
        assert_eq!(env.scalar(&format!("SELECT count({column}) FROM strings")).await, non_null, "{column}");
        assert_eq!(env.scalar(&format!("SELECT sum(octet_length({column})) FROM strings")).await, bytes, "{column}");
        assert_eq!(env.scalar(&format!("SELECT sum(character_length({column})) FROM strings")).await, chars, "{column}");
        assert_eq!(env.scalar(&format!("SELECT count(*) FROM strings WHERE {column} = 'zählt-19997-ü€𝄞'")).await, 1, "{column}");
        assert_eq!(env.scalar(&format!("SELECT count(*) FROM strings WHERE {column} = ''")).await, (rows / 5) as i64, "{column}");
    }
    for column in ["large_bytes", "view_bytes"] {
        assert_eq!(env.scalar(&format!("SELECT count({column}) FROM strings")).await, non_null, "{column}");
        assert_eq!(env.scalar(&format!("SELECT sum(octet_length(CAST({column} AS VARCHAR))) FROM strings")).await, bytes, "{column}");
    }
    // Row by row, the columns agree with each other (and so with the values written).
    assert_eq!(env.scalar("SELECT count(*) FROM strings WHERE large = view AND CAST(large_bytes AS VARCHAR) = large AND view_bytes = large_bytes").await, non_null);
}
