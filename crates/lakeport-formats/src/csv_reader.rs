//! CSV: sample → inferred schema (see `infer`) → arrow-csv's push decoder over the byte stream.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow_csv::reader::Decoder;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use bytes::{Buf, Bytes};
use regex::Regex;

use crate::bytes_in::Chunks;
use crate::error::Position;
use crate::infer::ColumnStats;
use crate::schema::conform_at;
use crate::{batch_stream, exact, BatchStream, NextBatch, FileKind, FormatError, ReadOptions};

/// Stop sampling after this many bytes even if fewer records than asked for were seen.
const SAMPLE_CAP: usize = 32 << 20;

pub(crate) struct CsvBody {
    sample: Vec<Bytes>,
    rest: Option<Chunks>,
    delimiter: u8,
}

pub(crate) async fn open(name: &str, mut chunks: Chunks, options: &ReadOptions) -> Result<(SchemaRef, CsvBody), FormatError> {
    let csv = &options.csv;
    let delimiter = csv.delimiter.unwrap_or_else(|| FileKind::default_delimiter(name));
    let wanted_lines = options.infer_rows + usize::from(csv.has_header) + 1;

    let mut sample = Vec::new();
    let (mut lines, mut bytes, mut eof) = (0usize, 0usize, false);
    while lines < wanted_lines && bytes < SAMPLE_CAP {
        match chunks.next().await? {
            Some(b) => {
                lines += b.iter().filter(|&&c| c == b'\n').count();
                bytes += b.len();
                sample.push(b);
            }
            None => {
                eof = true;
                break;
            }
        }
    }
    let joined: Vec<u8> = sample.iter().flat_map(|b| b.iter().copied()).collect();

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .quote(csv.quote)
        .escape(csv.escape)
        .double_quote(csv.escape.is_none())
        .flexible(true)
        .from_reader(joined.as_slice());
    let mut records = Vec::new();
    for r in reader.byte_records() {
        match r {
            Ok(r) => records.push(r),
            Err(e) => {
                return Err(FormatError::Parse {
                    file: name.to_string(),
                    at: Position { line: e.position().map(|p| p.line()), column: None },
                    message: e.to_string(),
                })
            }
        }
        if records.len() > options.infer_rows + usize::from(csv.has_header) {
            break;
        }
    }
    // The sample may end inside a record: without the end of the file, drop the last one.
    if !eof && records.len() > 1 {
        records.pop();
    }

    let header: Vec<String> = if csv.has_header {
        records.first().map(|r| r.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()).unwrap_or_default()
    } else {
        let width = records.iter().map(|r| r.len()).max().unwrap_or(0);
        (1..=width).map(|i| format!("column_{i}")).collect()
    };
    let names = clean_names(&header);
    let data = if csv.has_header { records.get(1..).unwrap_or(&[]) } else { &records[..] };

    let mut stats = vec![ColumnStats::default(); names.len()];
    for record in data.iter().take(options.infer_rows) {
        for (i, field) in record.iter().enumerate().take(names.len()) {
            let v = String::from_utf8_lossy(field);
            if !is_null_value(&v, &csv.null_values) {
                stats[i].add(&v);
            }
        }
    }
    let fields: Vec<Field> = names
        .iter()
        .zip(&stats)
        .map(|(n, s)| {
            let t = if options.text_columns.iter().any(|c| c == n) { DataType::Utf8 } else { s.data_type() };
            Field::new(n, t, true)
        })
        .collect();

    let rest = if eof { None } else { Some(chunks) };
    Ok((Arc::new(Schema::new(fields)), CsvBody { sample, rest, delimiter }))
}

/// Header names made usable as column names: trimmed, never empty, unique.
pub(crate) fn clean_names(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, n) in raw.iter().enumerate() {
        let base = n.trim().trim_start_matches('\u{feff}').to_string();
        let base = if base.is_empty() { format!("column_{}", i + 1) } else { base };
        let mut name = base.clone();
        let mut k = 2;
        while out.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
            name = format!("{base}_{k}");
            k += 1;
        }
        out.push(name);
    }
    out
}

fn is_null_value(v: &str, nulls: &[String]) -> bool {
    v.is_empty() || nulls.iter().any(|n| n == v)
}

impl CsvBody {
    pub(crate) fn into_batches(self, name: String, file_schema: SchemaRef, target: SchemaRef, options: &ReadOptions) -> BatchStream {
        let csv = &options.csv;
        // Decode straight into the target types, in the file's column order.
        let decode_fields: Vec<Field> = file_schema
            .fields()
            .iter()
            .map(|f| match target.field_with_name(f.name()) {
                // Numbers and timestamps arrive as text and are converted exactly in `conform`.
                Ok(t) => Field::new(f.name(), exact::decode_type(t.data_type(), false), true),
                Err(_) => Field::new(f.name(), DataType::Utf8, true),
            })
            .collect();
        let decode_schema = Arc::new(Schema::new(decode_fields));
        let null_pattern = std::iter::once(String::new())
            .chain(csv.null_values.iter().map(|v| regex::escape(v)))
            .collect::<Vec<_>>()
            .join("|");
        let mut builder = arrow_csv::ReaderBuilder::new(decode_schema.clone())
            .with_header(csv.has_header)
            .with_delimiter(self.delimiter)
            .with_quote(csv.quote)
            .with_null_regex(Regex::new(&format!("^(?:{null_pattern})$")).expect("escaped pattern"))
            .with_batch_size(options.batch_size);
        if let Some(e) = csv.escape {
            builder = builder.with_escape(e);
        }
        let state = DecodeState {
            name,
            decoder: builder.build_decoder(),
            decode_schema,
            target,
            pending: self.sample.into(),
            rest: self.rest,
            buf: Bytes::new(),
            eof: false,
            header: csv.has_header,
            rows_done: 0,
        };
        batch_stream(state)
    }
}

struct DecodeState {
    name: String,
    decoder: Decoder,
    decode_schema: SchemaRef,
    target: SchemaRef,
    pending: VecDeque<Bytes>,
    rest: Option<Chunks>,
    buf: Bytes,
    eof: bool,
    header: bool,
    /// Records returned in earlier batches.
    rows_done: u64,
}

impl NextBatch for DecodeState {
    async fn next_batch(&mut self) -> Result<Option<arrow_array::RecordBatch>, FormatError> {
        loop {
            if self.buf.is_empty() && !self.eof {
                if let Some(b) = self.pending.pop_front() {
                    self.buf = b;
                } else if let Some(rest) = self.rest.as_mut() {
                    match rest.next().await? {
                        Some(b) => self.buf = b,
                        None => self.eof = true,
                    }
                } else {
                    self.eof = true;
                }
            }
            // An empty slice tells the decoder the input has ended (it then finishes the last record).
            let input: &[u8] = if self.eof { &[] } else { &self.buf };
            let consumed = self.decoder.decode(input).map_err(|e| self.error(e))?;
            self.buf.advance(consumed);
            if self.eof || self.decoder.capacity() == 0 {
                let batch = self.decoder.flush().map_err(|e| self.error(e))?;
                match batch {
                    Some(b) if b.num_rows() > 0 => {
                        let first = self.rows_done + 1 + u64::from(self.header);
                        self.rows_done += b.num_rows() as u64;
                        return conform_at(&self.name, b, &self.target, Some(&|row| Some(first + row as u64))).map(Some);
                    }
                    _ if self.eof => return Ok(None),
                    _ => {}
                }
            }
        }
    }
}

impl DecodeState {
    /// Turns arrow-csv's messages into errors that name the file, line and column.
    fn error(&self, e: ArrowError) -> FormatError {
        let msg = match &e {
            ArrowError::ParseError(m) | ArrowError::CsvError(m) => m.clone(),
            other => other.to_string(),
        };
        let file = self.name.clone();
        static VALUE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let value = VALUE.get_or_init(|| {
            Regex::new(r"(?s)^Error while parsing value '(.*)' as type '(.*)' for column (\d+) at line (\d+)\.").unwrap()
        });
        if let Some(c) = value.captures(&msg) {
            let col: usize = c[3].parse().unwrap_or(0);
            let column = self.decode_schema.fields().get(col).map(|f| f.name().clone());
            // arrow-csv counts data lines from 0 after the header; +1 makes it the file's line number.
            let line = c[4].parse::<u64>().ok().map(|l| l + 1);
            return FormatError::Value { file, at: Position { line, column }, value: c[1].to_string(), expected: c[2].to_string() };
        }
        static FIELDS: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let fields = FIELDS.get_or_init(|| Regex::new(r"incorrect number of fields for line (\d+), expected (\d+) got (.*)").unwrap());
        if let Some(c) = fields.captures(&msg) {
            return FormatError::Parse {
                file,
                at: Position { line: c[1].parse().ok(), column: None },
                message: format!("expected {} fields (as in the header), found {}", &c[2], &c[3]),
            };
        }
        static UTF8: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let utf8 = UTF8.get_or_init(|| Regex::new(r"invalid UTF-8 data for line (\d+) and field (\d+)").unwrap());
        if let Some(c) = utf8.captures(&msg) {
            let col: usize = c[2].parse().unwrap_or(0);
            return FormatError::Parse {
                file,
                at: Position { line: c[1].parse().ok(), column: self.decode_schema.fields().get(col).map(|f| f.name().clone()) },
                message: "invalid UTF-8 (is the file latin-1? set the encoding to latin-1)".into(),
            };
        }
        FormatError::Parse { file, at: Position::default(), message: msg }
    }
}
