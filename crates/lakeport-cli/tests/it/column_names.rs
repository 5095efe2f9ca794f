//! Any column name a source allows reads its own values in SQL (issue 13, point 7), and nested
//! values print as JSON text in CSV output (point 13). Real S3 test server, the real binary.

use crate::common;

use common::{text, Lake, PoolKind};
use lakeport_testkit::TestS3;

/// A pool of `kind` with connection "src" over `bucket`.
async fn connect(s3: &TestS3, bucket: &str, kind: PoolKind) -> Lake {
    let lake = Lake::new(s3, kind).await;
    let (key, secret) = s3.user("reader");
    let env = [("SECRET", secret.expose())];
    lake.ok(
        &env,
        &["connection", "add", "src", "--region", "us-east-1", "--bucket", bucket, "--access-key-id", &key, "--secret-env", "SECRET", "--endpoint", &s3.endpoint, "--path-style", "--allow-http"],
    );
    lake
}

/// Columns named like Iceberg's metadata columns (`_file`, `pos`, …), SQL keywords, leading digits,
/// dots, quotes, spaces and unicode: each reads back the values of its own column.
async fn every_column_name_reads_its_own_values(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("colnames").await;
    // (header as written in the CSV, the name as SQL reads it, quoted)
    let columns: [(&str, &str); 14] = [
        ("_file", r#""_file_col""#),
        ("pos", r#""pos_col""#),
        ("file_path", r#""file_path_col""#),
        ("_pos", r#""_pos_col""#),
        ("_spec_id", r#""_spec_id_col""#),
        ("_partition", r#""_partition_col""#),
        ("_row_id", r#""_row_id_col""#),
        ("select", r#""select""#),
        ("order", r#""order""#),
        ("group", r#""group""#),
        ("1st", r#""1st""#),
        ("a.b", r#""a.b""#),
        (r#""we""ird""#, r#""we""ird""#),
        ("Name With Space", r#""Name With Space""#),
    ];
    let header: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
    let row = |r: usize| (0..columns.len()).map(|c| format!("v{r}c{c}")).collect::<Vec<_>>().join(",");
    bucket.put("in/odd.csv", format!("{}\n{}\n", header.join(","), row(1))).await;
    let lake = connect(&s3, &bucket.name, kind).await;

    let out = lake.ok(&[], &["extract", "-c", "src", "--file", "in/odd.csv"]);
    for (source, stored) in [("_file", "_file_col"), ("pos", "pos_col"), ("file_path", "file_path_col"), ("_row_id", "_row_id_col")] {
        assert!(out.contains(&format!("column \"{source}\" is stored as \"{stored}\": Iceberg readers take '{source}' for a metadata column")), "{out}");
    }
    assert!(!out.contains("column \"select\" is stored"), "a SQL keyword keeps its name: {out}");

    let select: Vec<&str> = columns.iter().map(|(_, sql)| *sql).collect();
    let q = lake.ok(&[], &["query", &format!("SELECT {} FROM odd", select.join(", ")), "--format", "csv"]);
    assert_eq!(q.lines().nth(1), Some(row(1).as_str()), "{q}");
    let all = lake.ok(&[], &["query", "SELECT * FROM odd", "--format", "csv"]);
    assert!(all.lines().next().unwrap().starts_with("_file_col,pos_col,file_path_col,_pos_col,_spec_id_col"), "{all}");
    assert_eq!(all.lines().nth(1), Some(row(1).as_str()), "{all}");

    // The source name no longer reaches a metadata column: it is an error, not the data file's path.
    let o = lake.run(&[], &["query", "SELECT _file FROM odd", "--format", "csv"]);
    assert!(!o.status.success() && !text(&o).contains(".parquet"), "{}", text(&o));

    // A delta load of a file with the same header maps the columns the same way.
    bucket.put("in/more/odd2.csv", format!("{}\n{}\n", header.join(","), row(2))).await;
    bucket.put("in/more/odd1.csv", format!("{}\n{}\n", header.join(","), row(1))).await;
    lake.ok(&[], &["extract", "-c", "src", "--folder", "in/more"]);
    bucket.put("in/more/odd3.csv", format!("{}\n{}\n", header.join(","), row(3))).await;
    let delta = lake.ok(&[], &["extract", "-c", "src", "--delta", "--folder", "in/more"]);
    assert!(delta.contains("2 file(s) skipped: already loaded") && !delta.contains("drift"), "{delta}");
    let q = lake.ok(&[], &["query", &format!("SELECT {} FROM more ORDER BY \"1st\"", select.join(", ")), "--format", "csv"]);
    let rows: Vec<&str> = q.lines().skip(1).collect();
    assert_eq!(rows, [row(1), row(2), row(3)], "{q}");
}

/// Names equal up to case stay apart in CSV as in JSON; a CSV header's empty name and exact
/// repeat are the only names a reader makes up, and the load says so.
async fn names_equal_up_to_case_stay_apart_and_made_up_names_are_told(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("casenames").await;
    bucket.put("in/case.ndjson", "{\"ID\": 1, \"id\": 2, \"\": 3}\n").await;
    bucket.put("in/case.csv", "ID,id,,x,x\n1,2,3,4,5\n").await;
    let lake = connect(&s3, &bucket.name, kind).await;
    lake.ok(&[], &["extract", "-c", "src", "--file", "in/case.ndjson", "--table", "cj"]);
    let q = lake.ok(&[], &["query", r#"SELECT "ID", "id", "" FROM cj"#, "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["ID,id,", "1,2,3"], "{q}");
    let out = lake.ok(&[], &["extract", "-c", "src", "--file", "in/case.csv", "--table", "cc"]);
    assert!(out.contains(r#"header column 3 has no name: named "column_3""#) && out.contains(r#"header column 5 repeats the name "x": named "x_2""#), "{out}");
    assert!(!out.contains("header column 2"), "{out}");
    let q = lake.ok(&[], &["query", r#"SELECT "ID", "id", column_3, x, x_2 FROM cc"#, "--format", "csv"]);
    assert_eq!(q.lines().collect::<Vec<_>>(), ["ID,id,column_3,x,x_2", "1,2,3,4,5"], "{q}");
}

/// `query --format csv` prints lists, structs and maps as JSON text (NULL stays an empty field).
async fn csv_output_prints_nested_values_as_json(kind: PoolKind) {
    let s3 = TestS3::from_env();
    let bucket = s3.bucket("nestedcsv").await;
    bucket
        .put(
            "in/nested.ndjson",
            "{\"id\": 1, \"tags\": [\"a\", \"b,c\"], \"geo\": {\"lat\": 1.5, \"lon\": null}}\n{\"id\": 2, \"tags\": null, \"geo\": null}\n",
        )
        .await;
    let lake = connect(&s3, &bucket.name, kind).await;
    lake.ok(&[], &["extract", "-c", "src", "--file", "in/nested.ndjson"]);
    let q = lake.ok(&[], &["query", "SELECT id, tags, geo FROM nested ORDER BY id", "--format", "csv"]);
    let lines: Vec<&str> = q.lines().collect();
    assert_eq!(lines, ["id,tags,geo", r#"1,"[""a"",""b,c""]","{""lat"":1.5,""lon"":null}""#, "2,,"], "{q}");
}

lakeport_testkit::pool_kinds!(every_column_name_reads_its_own_values, names_equal_up_to_case_stay_apart_and_made_up_names_are_told, csv_output_prints_nested_values_as_json);
