//! The bad-input corpus (tests/corpus, made by its generate.py): every file, through a real S3
//! server, either loads or fails with an error that names it (and the line, where the name says
//! so: `errline_…` names a line, `errline_…_at_<N>.<ext>` exactly the decompressed file's line N)
//! — never a panic — and a failure leaves the pool exactly as it was.

use crate::common;

use common::setup;
use lakeport_extract::{ExtractRequest, Item};
use lakeport_pool::LoadMode;

#[tokio::test]
async fn every_corpus_file_loads_or_fails_naming_itself() {
    let env = setup("corpus").await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/corpus");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ok_") || n.starts_with("err"))
        .collect();
    files.sort();
    assert!(files.len() >= 100, "the corpus has {} files", files.len());
    for f in &files {
        env.bucket.put(&format!("corpus/{f}"), std::fs::read(format!("{dir}/{f}")).unwrap()).await;
    }
    let (mut loaded, mut failed) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        let before = env.state().await;
        let mut req = ExtractRequest::new(vec![Item::File { key: format!("corpus/{f}"), table: Some(format!("t{i}")) }], LoadMode::Full);
        req.read.max_decompressed_bytes = 16 << 20; // the zip bomb expands to 64 MiB
        match env.run_with(req).await {
            Ok(report) => {
                assert!(f.starts_with("ok_"), "{f} should have been refused, but loaded {} rows", report.rows);
                assert!(env.pool.table(&format!("t{i}")).await.is_ok());
                loaded += 1;
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!f.starts_with("ok_"), "{f} should load: {msg}");
                assert!(msg.contains(f.as_str()), "{f}: the error does not name the file: {msg}");
                if f.starts_with("errline_") {
                    assert!(msg.contains("line "), "{f}: the error does not name a line: {msg}");
                }
                if let Some(line) = promised_line(f) {
                    assert_eq!(named_lines(&msg), vec![line], "{f}: the error names another line: {msg}");
                }
                assert_eq!(env.state().await, before, "{f}: a failed load changed the pool");
                failed += 1;
            }
        }
    }
    println!("corpus: {} files, {loaded} loaded, {failed} refused with a named error", files.len());
    // Spot checks of what the tricky-but-valid files turned into.
    let t = |name: &str| format!("t{}", files.iter().position(|f| f == name).unwrap());
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {} WHERE name LIKE 'multi%line%name'", t("ok_quoted_newlines.csv"))).await, 1);
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {}", t("ok_gzip_multimember.csv.gz"))).await, 6);
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {}", t("ok_header_only.csv"))).await, 0);
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {} WHERE id = 1", t("ok_bom_crlf.csv"))).await, 1);
    // Values kept exactly: integers beyond 64 bits, a number beyond a double kept as written.
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {} WHERE span_id > 9223372036854775807", t("ok_json_big_integers.ndjson"))).await, 2);
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {} WHERE amount IN ('0.1000000000000000055511', '1e400')", t("ok_csv_precise_decimals.csv"))).await, 2);
    assert_eq!(env.scalar(&format!("SELECT count(*) FROM {} WHERE meta = '{{}}'", t("ok_json_empty_objects.ndjson"))).await, 3);
}

/// The line an `errline_…_at_<N>.<ext>` name promises.
fn promised_line(file: &str) -> Option<u64> {
    let stem = file.strip_prefix("errline_")?.split('.').next()?;
    stem.rsplit_once("_at_")?.1.parse().ok()
}

/// Every line number an error message names ("line N").
fn named_lines(msg: &str) -> Vec<u64> {
    msg.match_indices("line ")
        .filter_map(|(i, m)| {
            let digits: String = msg[i + m.len()..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}
