//! No load succeeds with a changed value: inference and loading keep every digit (numbers,
//! timestamps) and every shape (JSON objects, arrays, maps) a reader can produce, or the load
//! fails naming file, line and column with the pool unchanged. Against the real S3 test server.

use crate::common;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, MapBuilder, RecordBatch, StringBuilder, TimestampNanosecondArray, UInt64Array, Int64Builder};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use common::{parquet_bytes, setup, Env};
use lakeport_extract::{ExtractRequest, Item};
use lakeport_pool::LoadMode;

/// Every value of `sql`'s result as text (NULL as None), row by row.
async fn texts(env: &Env, sql: &str) -> Vec<Vec<Option<String>>> {
    let mut out = Vec::new();
    for b in env.rows(sql).await {
        let fmts: Vec<ArrayFormatter> = b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).unwrap()).collect();
        for r in 0..b.num_rows() {
            out.push((0..b.num_columns()).map(|c| b.column(c).is_valid(r).then(|| fmts[c].value(r).to_string())).collect());
        }
    }
    out
}

async fn column_type(env: &Env, table: &str, column: &str) -> DataType {
    let b = env.rows(&format!("SELECT {column} FROM {table} LIMIT 1")).await;
    b[0].schema().field(0).data_type().clone()
}

/// A number in canonical form: sign, significant digits, exponent (`1.50` = `15e-1`; zero has
/// no sign, as `-0` and `0` are one integer).
fn canonical(s: &str) -> Option<(bool, String, i64)> {
    let (neg, body) = s.strip_prefix('-').map_or((false, s), |b| (true, b));
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if !(int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())) || int.len() + frac.len() == 0 {
        return None;
    }
    let digits: String = format!("{int}{frac}").trim_start_matches('0').to_string();
    let mut exp = exp - frac.len() as i64;
    let trimmed = digits.trim_end_matches('0');
    exp += (digits.len() - trimmed.len()) as i64;
    if trimmed.is_empty() {
        return Some((false, String::new(), 0));
    }
    Some((neg, trimmed.to_string(), exp))
}

/// A timestamp's text in one form: `T` between date and time, no trailing zeros in the fraction.
fn timestamp_text(s: &str) -> String {
    let s = s.replace(' ', "T");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// The issue's input: JSON integers that do not fit 64 bits keep every digit.
#[tokio::test]
async fn json_integers_beyond_64_bits_are_exact() {
    let env = setup("bigint").await;
    env.bucket.put("spans.ndjson", "{\"span_id\": 18446744073709551615}\n{\"span_id\": 9223372036854775808}\n{\"span_id\": 42}\n").await;
    env.run(vec![Item::file("spans.ndjson")], LoadMode::Full).await.unwrap();
    assert_eq!(column_type(&env, "spans", "span_id").await, DataType::Decimal128(38, 0));
    let got = texts(&env, "SELECT span_id FROM spans").await;
    let got: Vec<String> = got.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(got, vec!["18446744073709551615", "9223372036854775808", "42"]);
    assert_eq!(env.scalar("SELECT count(*) FROM spans WHERE span_id > 9223372036854775807").await, 2);
}

/// The other members of the kind, in CSV and NDJSON: more digits than a double, big exponents,
/// -0, nanoseconds. Each column keeps its exact values (number columns compared in canonical form).
#[tokio::test]
async fn inference_never_changes_a_value() {
    let env = setup("exactkinds").await;
    let columns = [
        ("dec", vec!["0.1000000000000000055511", "1.5", "-2.25"]),
        ("big_exp", vec!["1e400", "2.5", "1e-400"]),
        ("neg_zero", vec!["-0", "7", "-3"]),
        ("float_zero", vec!["-0.0", "1e300", "0.1"]),
        ("beyond_double_int", vec!["9007199254740993", "0.5", "1"]),
        ("nanos", vec!["2024-01-01T10:00:00.123456789", "2024-01-01T10:00:00", "2024-01-01T10:00:00.5"]),
        ("micros", vec!["2024-01-01T10:00:00.123456000", "2024-01-01 10:00:00", "2024-01-01T10:00:00.5"]),
    ];
    let header: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let mut csv = format!("rid,{}\n", header.join(","));
    let mut nd = String::new();
    for r in 0..3 {
        csv.push_str(&format!("{r},{}\n", columns.iter().map(|c| c.1[r]).collect::<Vec<_>>().join(",")));
        let fields: Vec<String> = columns
            .iter()
            .map(|(n, v)| if n.starts_with("nanos") || n.starts_with("micros") { format!("\"{n}\": \"{}\"", v[r]) } else { format!("\"{n}\": {}", v[r]) })
            .collect();
        nd.push_str(&format!("{{\"rid\": {r}, {}}}\n", fields.join(", ")));
    }
    env.bucket.put("k/values.csv", csv).await;
    env.bucket.put("k/values_nd.ndjson", nd).await;
    env.run(vec![Item::file("k/values.csv"), Item::file("k/values_nd.ndjson")], LoadMode::Full).await.unwrap();
    for table in ["values", "values_nd"] {
        let expect_types = [
            DataType::Decimal128(38, 22),
            DataType::Utf8,
            DataType::Int64,
            DataType::Float64,
            DataType::Decimal128(38, 1),
            DataType::Utf8,
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
        ];
        for ((name, _), t) in columns.iter().zip(&expect_types) {
            assert_eq!(&column_type(&env, table, name).await, t, "{table}.{name}");
        }
        let got = texts(&env, &format!("SELECT {} FROM {table} ORDER BY rid", header.join(","))).await;
        for (r, row) in got.iter().enumerate() {
            for (c, (name, values)) in columns.iter().enumerate() {
                let (source, loaded) = (values[r], row[c].clone().unwrap());
                match (canonical(source), canonical(&loaded)) {
                    (Some(a), Some(b)) => assert_eq!(a, b, "{table}.{name} row {r}: {source} loaded as {loaded}"),
                    _ if name.starts_with("micros") => assert_eq!(timestamp_text(&loaded), timestamp_text(source), "{table}.{name} row {r}"),
                    _ => assert_eq!(loaded, source, "{table}.{name} row {r}"),
                }
            }
        }
    }
}

/// Numbers drawn from a seeded generator (fastrand), so every failure reproduces from its seed.
struct Rng(fastrand::Rng);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0.u64(..n)
    }
    fn digits(&mut self, n: u64) -> String {
        let mut s: String = (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect();
        if s.len() > 1 && s.starts_with('0') {
            s.replace_range(0..1, "1");
        }
        s
    }
    /// A number of one of the shapes files hold: small and huge integers, decimals of any
    /// precision, exponents in and out of a double's range, negative zero.
    fn number(&mut self) -> String {
        let sign = if self.below(4) == 0 { "-" } else { "" };
        let body = match self.below(6) {
            0 => {
                let n = 1 + self.below(6);
                self.digits(n)
            }
            1 => {
                let n = 15 + self.below(26);
                self.digits(n)
            }
            2 => {
                let (i, f) = (1 + self.below(4), 1 + self.below(4));
                format!("{}.{}", self.digits(i), self.digits(f))
            }
            3 => {
                let (i, f) = (1 + self.below(10), 10 + self.below(25));
                format!("{}.{}", self.digits(i), self.digits(f))
            }
            4 => {
                let (i, e) = (1 + self.below(3), self.below(700) as i64 - 350);
                format!("{}e{e}", self.digits(i))
            }
            _ => "0".into(),
        };
        format!("{sign}{body}")
    }
}

/// Property: for random files of numbers (CSV and NDJSON, a small inference sample so later
/// values meet a type chosen without them), every loaded value written back as text equals the
/// source value in canonical form — or the load fails naming the file, the line and the column
/// of a value that really is in the file there, and the pool stays unchanged.
#[tokio::test]
async fn loaded_numbers_equal_their_source_text() {
    let env = setup("exactprop").await;
    let (mut loaded, mut refused) = (0, 0);
    for seed in 1..=16u64 {
        let mut rng = Rng(fastrand::Rng::with_seed(seed));
        let rows: Vec<[String; 2]> = (0..40).map(|_| [rng.number(), rng.number()]).collect();
        let json = seed % 2 == 0;
        let (key, body) = if json {
            (format!("p/n{seed}.ndjson"), rows.iter().enumerate().map(|(i, r)| format!("{{\"rid\":{i},\"a\":{},\"b\":{}}}\n", r[0], r[1])).collect::<String>())
        } else {
            (format!("p/n{seed}.csv"), std::iter::once("rid,a,b\n".to_string()).chain(rows.iter().enumerate().map(|(i, r)| format!("{i},{},{}\n", r[0], r[1]))).collect())
        };
        env.bucket.put(&key, body.clone()).await;
        let mut req = ExtractRequest::new(vec![Item::file(&key)], LoadMode::Full);
        req.read.infer_rows = 8;
        let table = format!("n{seed}");
        match env.run_with(req).await {
            Ok(_) => {
                loaded += 1;
                let got = texts(&env, &format!("SELECT a, b FROM {table} ORDER BY rid")).await;
                assert_eq!(got.len(), rows.len());
                for (i, (g, src)) in got.iter().zip(&rows).enumerate() {
                    for c in 0..2 {
                        let v = g[c].clone().unwrap();
                        let same = v == src[c] || (canonical(&v).is_some() && canonical(&v) == canonical(&src[c]));
                        assert!(same, "seed {seed} row {i} col {c}: source {} loaded as {v}", src[c]);
                    }
                }
            }
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                assert!(msg.contains(&key), "seed {seed}: {msg}");
                let line: usize = msg.split(", line ").nth(1).and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no line in: {msg}"));
                let column = if msg.contains("column 'a'") { 0 } else if msg.contains("column 'b'") { 1 } else { panic!("no column in: {msg}") };
                let value_at_line = &rows[line - 1 - usize::from(!json)][column];
                assert!(msg.contains(&format!("'{value_at_line}'")), "seed {seed}: line {line} holds {value_at_line}, error says: {msg}");
                assert!(env.state().await.iter().all(|(t, _)| t != &table), "a refused load left table {table}");
            }
        }
    }
    println!("property: {loaded} files loaded exactly, {refused} refused with file, line and column");
    assert!(loaded > 0 && refused > 0, "the generator should produce both outcomes ({loaded} loaded, {refused} refused)");
}

/// The issue's input: a key whose value is always `{}` loads (as JSON text), and so does every
/// other shape a JSON reader can meet.
#[tokio::test]
async fn every_json_shape_is_storable() {
    let env = setup("shapes").await;
    env.bucket.put("meta.ndjson", "{\"id\": 1, \"meta\": {}}\n{\"id\": 2, \"meta\": {}}\n{\"id\": 3, \"meta\": {}}\n").await;
    // 40 levels: beyond the 16 that become typed columns, so JSON text; 8 levels stay typed.
    let deep = format!("{}1{}", "{\"d\":[".repeat(40), "]}".repeat(40));
    let typed = format!("{}1{}", "{\"d\":[".repeat(4), "]}".repeat(4));
    let shapes = [
        format!(r#"{{"id": 1, "empty": {{}}, "nulls": {{"a": null, "b": null}}, "never": null, "empties": [{{}}, {{}}], "mixed": [1, "a", true], "either": {{"k": 1}}, "deep": {deep}, "arr": [], "typed": {typed}}}"#),
        r#"{"id": 2, "empty": {}, "nulls": {"a": null}, "never": null, "empties": [], "mixed": ["b"], "either": 7, "deep": null, "arr": [[1], []]}"#.to_string(),
        r#"{"id": 3, "empty": null, "nulls": null, "never": null, "empties": null, "mixed": null, "either": "x", "deep": {"d": []}, "arr": null}"#.to_string(),
    ];
    env.bucket.put("shapes.ndjson", shapes.join("\n")).await;
    env.run(vec![Item::file("meta.ndjson"), Item::file("shapes.ndjson")], LoadMode::Full).await.unwrap();

    assert_eq!(texts(&env, "SELECT meta FROM meta ORDER BY id").await, vec![vec![Some("{}".to_string())]; 3]);
    let got = texts(&env, "SELECT empty, empties, CAST(mixed AS VARCHAR), either, never, deep FROM shapes ORDER BY id").await;
    assert_eq!(got[0][0].as_deref(), Some("{}"));
    assert_eq!(got[0][1].as_deref(), Some("[{},{}]"));
    assert_eq!(got[1][1].as_deref(), Some("[]"));
    assert_eq!(got[0][2].as_deref(), Some("[1, a, true]"), "scalars of mixed kinds: text, each as written");
    assert_eq!(got[0][3].as_deref(), Some(r#"{"k":1}"#));
    assert_eq!(got[1][3].as_deref(), Some("7"));
    assert_eq!(got[2][3].as_deref(), Some(r#""x""#), "a JSON-text column keeps a string's quotes");
    assert_eq!(got[2][1], None);
    assert_eq!(got[0][4], None);
    assert_eq!(got[0][5].as_deref(), Some(deep.replace(' ', "").as_str()));
    assert!(matches!(column_type(&env, "shapes", "typed").await, DataType::Struct(_)), "shallow nesting stays typed");
    assert_eq!(env.scalar("SELECT count(*) FROM shapes WHERE typed['d'][1]['d'][1]['d'][1]['d'][1] = 1").await, 1);
    assert_eq!(env.scalar("SELECT sum(CASE WHEN nulls IS NOT NULL AND nulls['a'] IS NULL THEN 1 ELSE 0 END) FROM shapes").await, 2);
    assert_eq!(env.scalar("SELECT count(*) FROM shapes WHERE cardinality(arr) = 2").await, 1);
}

/// Parquet input: types Iceberg has no exact twin for are mapped without loss (a map column,
/// UInt64 beyond i64), and a value that cannot be stored exactly (nanoseconds) fails naming the
/// file and the column, pool unchanged.
#[tokio::test]
async fn parquet_types_are_stored_exactly_or_refused_by_name() {
    let env = setup("pqtypes").await;
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    map.keys().append_value("a");
    map.values().append_value(1);
    map.append(true).unwrap();
    map.append(false).unwrap();
    let batch = RecordBatch::try_from_iter([
        ("u", Arc::new(UInt64Array::from(vec![u64::MAX, 1])) as ArrayRef),
        ("m", Arc::new(map.finish()) as ArrayRef),
        ("t", Arc::new(TimestampNanosecondArray::from(vec![1_000, 2_000])) as ArrayRef),
    ])
    .unwrap();
    env.bucket.put("ok.parquet", parquet_bytes(&batch)).await;
    env.run(vec![Item::file("ok.parquet")], LoadMode::Full).await.unwrap();
    let got = texts(&env, "SELECT CAST(u AS VARCHAR) AS u_text, m['a'] AS a, CAST(t AS VARCHAR) AS t_text FROM ok ORDER BY u").await;
    assert_eq!(got[0], vec![Some("1".into()), None, Some("1970-01-01T00:00:00.000002".into())]);
    assert_eq!(got[1][0].as_deref(), Some(u64::MAX.to_string().as_str()));
    assert_eq!(got[1][1].as_deref(), Some("1"));

    let nanos = RecordBatch::try_from_iter([("t", Arc::new(TimestampNanosecondArray::from(vec![1_000, 1_001])) as ArrayRef)]).unwrap();
    env.bucket.put("nanos.parquet", parquet_bytes(&nanos)).await;
    let before = env.state().await;
    let e = env.run(vec![Item::file("nanos.parquet")], LoadMode::Full).await.unwrap_err().to_string();
    assert!(e.contains("nanos.parquet") && e.contains("column 't'") && e.contains("row 2") && e.contains("below the precision"), "{e}");
    assert_eq!(env.state().await, before);
}

/// Values after the inference sample meet the same rules: a code with leading zeros in an
/// integer column, a timestamp in a date column, a zone name or a leap second in a timestamp
/// column — each fails naming file, line and column (never a silently changed value), and
/// `--type-fallback` loads that column as text, every value as written.
#[tokio::test]
async fn later_values_are_checked_like_the_sample() {
    let env = setup("latercheck").await;
    let cases = [
        ("zip", "02134", "zip\n12345\n54321\n"),
        ("day", "2024-01-31T23:30:00-05:00", "day\n2024-01-30\n2024-01-31\n"),
        ("at", "2024-03-01 10:00:00 Europe/Berlin", "at\n2024-03-01 09:00:00\n2024-03-01 09:30:00\n"),
        ("leap", "2016-12-31 23:59:60", "leap\n2016-12-31 23:59:58\n2016-12-31 23:59:59\n"),
    ];
    for (column, late, head) in cases {
        let key = format!("late/{column}.csv");
        env.bucket.put(&key, format!("{head}{late}\n")).await;
        let mut req = ExtractRequest::new(vec![Item::file(&key)], LoadMode::Full);
        req.read.infer_rows = 2;
        let e = env.run_with(req.clone()).await.unwrap_err().to_string();
        assert!(e.contains(&key) && e.contains("line 4") && e.contains(&format!("column '{column}'")) && e.contains(late), "{column}: {e}");
        req.type_fallback = true;
        env.run_with(req).await.unwrap();
        let got = texts(&env, &format!("SELECT {column} FROM {column}")).await;
        assert_eq!(got.last().unwrap()[0].as_deref(), Some(late), "{column}: loaded as text, as written");
    }
}

/// A JSON file whose first records have no keys is not empty: sampling goes on to the first
/// record with a key. A hostile file nested 100,000 levels deep is refused or kept as JSON
/// text, never a crash.
#[tokio::test]
async fn keyless_records_and_deep_nesting() {
    let env = setup("keyless").await;
    let body = format!("{}{{\"a\": 1}}\n{{\"a\": 2}}\n", "{}\n".repeat(1500));
    env.bucket.put("keyless.ndjson", body).await;
    let r = env.run(vec![Item::file("keyless.ndjson")], LoadMode::Full).await.unwrap();
    assert_eq!(r.rows, 1502);
    assert_eq!(env.scalar("SELECT sum(a) FROM keyless").await, 3);

    let deep = format!("{{\"id\": 1, \"v\": {}1{}}}\n", "[".repeat(100_000), "]".repeat(100_000));
    env.bucket.put("deep.ndjson", deep).await;
    match env.run(vec![Item::file("deep.ndjson")], LoadMode::Full).await {
        Ok(_) => assert_eq!(env.scalar("SELECT count(*) FROM deep WHERE length(v) = 200001").await, 1),
        Err(e) => assert!(e.to_string().contains("deep.ndjson"), "{e}"),
    }
}
