//! Printing for people (aligned tables) and for scripts (JSON).

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use lakeport_core::{ExtractReport, Job, TableInfo, TestReport, Verdict};

use crate::args::QueryFormat;

pub fn print_json<T: serde::Serialize>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).expect("serialisable"));
}

/// Prints rows as an aligned plain-text table.
pub fn print_rows(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let rows: Vec<Vec<String>> = rows.collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = width[i])).collect();
        println!("{}", parts.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    line(width.iter().map(|w| "-".repeat(*w)).collect());
    for r in rows {
        line(r);
    }
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Test Connection's verdicts, one line per permission, then the policy for what was denied.
pub fn print_test_report(name: &str, report: &TestReport) {
    println!("Test Connection '{name}':");
    // Who the checks ran as comes first: the ARN only, never a key or secret.
    match (&report.identity, &report.identity_error) {
        (Some(arn), _) => println!("  identity: {arn}"),
        (None, Some(why)) => println!("  identity: unknown ({why})"),
        (None, None) => {}
    }
    for c in &report.checks {
        let mark = match c.verdict {
            Verdict::Passed => "ok  ",
            Verdict::Failed => "FAIL",
            Verdict::Warning => "warn",
            Verdict::Skipped => "skip",
        };
        println!("  {mark}  {:<18} {}", c.permission, c.reason);
    }
    if let Some(policy) = &report.policy_hint {
        let whom = report.policy_principal.clone().unwrap_or_else(|| "the IAM user or role".into());
        println!("\nMissing: {}. Grant it to {whom} with this policy:\n{policy}", report.missing().join(", "));
    }
    if report.passed() {
        println!("Connection OK.");
    }
}

pub fn print_report(report: &ExtractReport) {
    for t in &report.tables {
        let what = if t.committed {
            format!(
                "{} rows from {} file(s), {} ({} rows in table)",
                t.rows,
                t.loaded.len(),
                bytes(t.bytes),
                t.total_rows
            )
        } else {
            format!("nothing new: all {} file(s) already loaded", t.unchanged)
        };
        println!("{:<24} {what}", t.table);
        for c in &t.changed {
            println!("  changed: {} ({} rows replaced by {})", c.key.escape_debug(), c.rows_before, c.rows_after);
        }
        for c in &t.schema_changes {
            println!("  schema: {c}");
        }
        for r in &t.removed {
            println!("  removed: {} ({} rows; the object is gone from the source)", r.key.escape_debug(), r.rows);
        }
        if t.committed && t.unchanged > 0 {
            println!("  {} file(s) skipped: already loaded", t.unchanged);
        }
        if t.other_shards > 0 {
            println!("  {} file(s) left to the other shards", t.other_shards);
        }
        if t.commit_retries > 0 {
            println!("  other writers committed first: the commit was rebuilt and retried {} time(s); {} file(s) they had loaded were left out", t.commit_retries, t.already_loaded.len());
        }
        if !t.skipped.is_empty() {
            let named: Vec<String> = t.skipped.iter().map(|s| format!("{} ({})", s.key.escape_debug(), s.detail)).collect();
            println!("  {} object(s) passed over: {}", t.skipped.len(), named.join(", "));
        }
        if !t.skipped_empty.is_empty() {
            println!("  {} empty file(s) skipped: {}", t.skipped_empty.len(), t.skipped_empty.join(", "));
        }
        for r in &t.renamed_columns {
            println!("  column {} is stored as {}: {}", sql_ident(&r.source), sql_ident(&r.stored), r.reason);
        }
        if !t.text_columns.is_empty() {
            println!("  loaded as text after a type mismatch: {}", t.text_columns.join(", "));
        }
    }
    let rate = if report.seconds > 0.0 { report.bytes as f64 / report.seconds } else { 0.0 };
    println!(
        "{} load: {} table(s), {} file(s), {} rows, {} in {:.2}s ({}/s)  [job {}]",
        report.mode.as_str(),
        report.tables.len(),
        report.files,
        report.rows,
        bytes(report.bytes),
        report.seconds,
        bytes(rate as u64),
        &report.job_id[..8]
    );
}

pub fn print_tables(tables: &[TableInfo]) {
    if tables.is_empty() {
        println!("No tables yet. Load some with `lakeport extract`.");
        return;
    }
    print_rows(
        &["table", "rows", "files", "snapshots", "last load", "mode"],
        tables.iter().map(|t| {
            vec![
                t.name.clone(),
                t.rows.to_string(),
                t.data_files.to_string(),
                t.snapshots.to_string(),
                t.last_load.map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default(),
                t.last_mode.clone().unwrap_or_default(),
            ]
        }),
    );
}

pub fn print_jobs(jobs: &[Job]) {
    if jobs.is_empty() {
        println!("No jobs yet.");
        return;
    }
    print_rows(
        &["job", "started", "status", "mode", "connection", "tables", "files", "rows", "bytes", "seconds", "error"],
        jobs.iter().map(|j| {
            let secs = j.ended_at.map(|e| format!("{:.1}", (e - j.started_at).num_milliseconds() as f64 / 1000.0)).unwrap_or_default();
            vec![
                j.id[..8].to_string(),
                j.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                j.status.as_str().to_string(),
                j.mode.clone(),
                j.connection.clone(),
                j.tables.join(","),
                j.files.to_string(),
                j.rows.to_string(),
                bytes(j.bytes),
                secs,
                j.error.clone().unwrap_or_default(),
            ]
        }),
    );
}

/// One job and what happened to each of its tables.
pub fn print_job(j: &Job) {
    print_jobs(std::slice::from_ref(j));
    if let Some(p) = &j.process {
        println!("\nrun by {}", p.describe());
    }
    if let Some(e) = &j.error {
        println!("\nerror: {e}");
    }
    let tables: Vec<lakeport_core::TableReport> = serde_json::from_value(j.details.clone()).unwrap_or_default();
    for t in &tables {
        println!("\n{}: {}", t.table, t.summary());
        println!("  files loaded {}, unchanged {}, skipped {}; {} rows, {}; {:.1} s", t.loaded.len(), t.unchanged, t.skipped.len() + t.skipped_empty.len(), t.rows, bytes(t.bytes), t.seconds);
        for s in &t.skipped {
            println!("  skipped {}: {}", s.key, s.detail);
        }
        for k in &t.skipped_empty {
            println!("  skipped {k}: empty (no header, no rows)");
        }
    }
}

/// An extraction's runs, newest first, each followed by its schema-drift report if it has one.
pub fn print_history(history: &[lakeport_core::HistoryEntry]) {
    print_rows(
        &["job", "started", "trigger", "version", "mode", "status", "files", "rows", "bytes", "seconds", "error"],
        history.iter().map(|h| {
            vec![
                h.job_id[..8].to_string(),
                h.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                h.trigger.as_str().to_string(),
                h.version.to_string(),
                h.mode.clone(),
                h.status.as_str().to_string(),
                h.files.to_string(),
                h.rows.to_string(),
                bytes(h.bytes),
                h.seconds.map(|s| format!("{s:.1}")).unwrap_or_default(),
                h.error.clone().unwrap_or_default(),
            ]
        }),
    );
    for h in history.iter().filter(|h| !h.schema_changes.is_empty()) {
        println!("\nSchema drift in job {}:", &h.job_id[..8]);
        for t in &h.schema_changes {
            for c in &t.changes {
                println!("  {}: {c}", t.table);
            }
        }
    }
}

pub fn print_batches(schema: &SchemaRef, batches: &[RecordBatch], format: QueryFormat) -> anyhow::Result<()> {
    match format {
        QueryFormat::Table => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                println!("{}\n(0 rows)", names.join(" | "));
            } else {
                println!("{}", arrow::util::pretty::pretty_format_batches(batches)?);
            }
        }
        QueryFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(std::io::stdout());
            for b in batches {
                w.write(&nested_as_json(b)?)?;
            }
        }
        QueryFormat::Json => {
            // Decimals as exact strings, nulls as null (the same form as the HTTP API's rows).
            let rows = lakeport_core::rows_json(batches)?;
            println!("{}", String::from_utf8_lossy(&rows));
        }
    }
    Ok(())
}

/// `name` as a SQL identifier that parses back to exactly `name` (double-quoted, `"` doubled;
/// SQL standard, as DataFusion reads it).
fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `batch` with each nested column (list, struct, map) as JSON text per row (NULL stays NULL),
/// which a CSV field can hold: arrow's CSV writer refuses nested types.
fn nested_as_json(batch: &RecordBatch) -> anyhow::Result<RecordBatch> {
    use arrow::array::{Array, ArrayRef, StringBuilder};
    use arrow::datatypes::{DataType, Field, Schema};
    if !batch.schema().fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let options = arrow::json::writer::EncoderOptions::default().with_explicit_nulls(true);
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if !field.data_type().is_nested() {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        }
        let mut encoder = arrow::json::writer::make_encoder(field, column.as_ref(), &options)?;
        let mut text = StringBuilder::with_capacity(column.len(), column.len() * 16);
        let mut buf = Vec::new();
        for row in 0..column.len() {
            if column.is_null(row) {
                text.append_null();
            } else {
                buf.clear();
                encoder.encode(row, &mut buf);
                text.append_value(std::str::from_utf8(&buf)?);
            }
        }
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        columns.push(std::sync::Arc::new(text.finish()));
    }
    Ok(RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)?)
}
