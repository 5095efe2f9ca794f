//! JSON: newline-delimited objects or one top-level array of objects.
//!
//! A small normaliser rewrites either shape into compact records, one per line, remembering the
//! source line each record starts on; arrow-json then decodes whole records. That gives streaming
//! for arrays (arrow-json only reads NDJSON) and exact line numbers in errors.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::bytes_in::Chunks;
use crate::error::Position;
use crate::json_shape::{self, Rewriter};
use crate::schema::conform_at;
use crate::{batch_stream, exact, BatchStream, NextBatch, FormatError, ReadOptions};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Unknown,
    Lines,
    Array,
    ArrayDone,
}

/// Splits a JSON byte stream into compact records. Whitespace outside strings is dropped.
pub(crate) struct Normaliser {
    shape: Shape,
    depth: usize,
    in_string: bool,
    escape: bool,
    line: u64,
    record_start: u64,
    /// Complete records, each followed by '\n'.
    out: Vec<u8>,
    ends: Vec<usize>,
    lines: Vec<u64>,
}

impl Normaliser {
    fn new() -> Self {
        Normaliser { shape: Shape::Unknown, depth: 0, in_string: false, escape: false, line: 1, record_start: 1, out: Vec::new(), ends: Vec::new(), lines: Vec::new() }
    }

    fn feed(&mut self, file: &str, input: &[u8]) -> Result<(), FormatError> {
        let err = |line: u64, m: &str| FormatError::Parse { file: file.to_string(), at: Position { line: Some(line), column: None }, message: m.to_string() };
        for &b in input {
            if self.in_string {
                self.out.push(b);
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                } else if b == b'\n' {
                    return Err(err(self.line, "line break inside a JSON string"));
                }
                continue;
            }
            if b == b'\n' {
                self.line += 1;
                continue;
            }
            if matches!(b, b' ' | b'\t' | b'\r') {
                continue;
            }
            if self.depth > 0 {
                self.out.push(b);
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.out.push(b'\n');
                            self.ends.push(self.out.len());
                            self.lines.push(self.record_start);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            // Between records.
            match (self.shape, b) {
                (Shape::Unknown, b'[') => self.shape = Shape::Array,
                (Shape::Unknown, b'{') | (Shape::Lines, b'{') | (Shape::Array, b'{') => {
                    if self.shape == Shape::Unknown {
                        self.shape = Shape::Lines;
                    }
                    self.record_start = self.line;
                    self.depth = 1;
                    self.out.push(b);
                }
                (Shape::Array, b',') => {}
                (Shape::Array, b']') => self.shape = Shape::ArrayDone,
                (Shape::Array, _) => return Err(err(self.line, "the top-level array must contain objects (one per row)")),
                (Shape::ArrayDone, _) => return Err(err(self.line, "unexpected content after the top-level array")),
                (Shape::Unknown, _) | (Shape::Lines, _) => {
                    return Err(err(self.line, &format!("expected a JSON object or array, found '{}'", b as char)))
                }
            }
        }
        Ok(())
    }

    fn finish(&self, file: &str) -> Result<(), FormatError> {
        let at = Position { line: Some(self.record_start), column: None };
        if self.depth > 0 || self.in_string {
            return Err(FormatError::Parse { file: file.to_string(), at, message: "the file ends inside a JSON value (truncated?)".into() });
        }
        if self.shape == Shape::Array {
            return Err(FormatError::Parse { file: file.to_string(), at: Position { line: Some(self.line), column: None }, message: "the top-level array is not closed with ']' (truncated?)".into() });
        }
        Ok(())
    }

    /// Takes up to `n` complete records: their bytes and their source lines.
    fn take(&mut self, n: usize) -> (Vec<u8>, Vec<u64>) {
        let n = n.min(self.ends.len());
        if n == 0 {
            return (Vec::new(), Vec::new());
        }
        let cut = self.ends[n - 1];
        let rest = self.out.split_off(cut);
        let taken = std::mem::replace(&mut self.out, rest);
        self.ends.drain(..n);
        for e in &mut self.ends {
            *e -= cut;
        }
        (taken, self.lines.drain(..n).collect())
    }

    fn complete(&self) -> usize {
        self.ends.len()
    }
}

pub(crate) struct JsonBody {
    norm: Normaliser,
    rest: Option<Chunks>,
    /// The file's own schema and its JSON-text columns (see `json_shape`).
    schema: SchemaRef,
    json_text: HashSet<String>,
}

pub(crate) async fn open(name: &str, mut chunks: Chunks, options: &ReadOptions) -> Result<(SchemaRef, JsonBody), FormatError> {
    let mut norm = Normaliser::new();
    let mut eof = false;
    while norm.complete() < options.infer_rows {
        match chunks.next().await? {
            Some(b) => norm.feed(name, &b)?,
            None => {
                norm.finish(name)?;
                eof = true;
                break;
            }
        }
    }
    let n = norm.complete().min(options.infer_rows);
    let records = (0..n).map(|i| &norm.out[if i == 0 { 0 } else { norm.ends[i - 1] }..norm.ends[i]]);
    let (inferred, mut json_text) = json_shape::infer(records).map_err(|(i, e)| FormatError::Parse {
        file: name.to_string(),
        at: Position { line: Some(norm.lines[i]), column: None },
        message: format!("invalid JSON: {e}"),
    })?;
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| {
            if options.text_columns.iter().any(|c| c == f.name()) {
                return Field::new(f.name(), DataType::Utf8, true);
            }
            Field::new(f.name(), f.data_type().clone(), true)
        })
        .collect();
    json_text.retain(|c| !options.text_columns.contains(c));
    let schema = Arc::new(Schema::new(fields));
    let rest = if eof { None } else { Some(chunks) };
    Ok((schema.clone(), JsonBody { norm, rest, schema: Arc::new(inferred), json_text }))
}

impl JsonBody {
    pub(crate) fn into_batches(self, name: String, target: SchemaRef, options: &ReadOptions) -> BatchStream {
        // Text columns whose values here are objects or arrays: stored as their JSON text.
        let mut json = HashSet::new();
        let mut structural = HashSet::new();
        for f in target.fields().iter().filter(|f| f.data_type() == &DataType::Utf8) {
            if self.json_text.contains(f.name()) {
                json.insert(f.name().clone());
            } else if self.schema.field_with_name(f.name()).is_ok_and(|own| own.data_type().is_nested()) {
                structural.insert(f.name().clone());
            }
        }
        let rewriter = (!json.is_empty() || !structural.is_empty()).then_some(Rewriter { json, structural });
        // Numbers and timestamps arrive as text and are converted exactly in `conform`.
        let decode_schema = Arc::new(Schema::new(
            target.fields().iter().map(|f| Field::new(f.name(), exact::decode_type(f.data_type(), true), true)).collect::<Vec<_>>(),
        ));
        let state = JsonState { name, norm: self.norm, rest: self.rest, target, decode_schema, rewriter, batch_size: options.batch_size, eof: false };
        batch_stream(state)
    }
}

struct JsonState {
    name: String,
    norm: Normaliser,
    rest: Option<Chunks>,
    target: SchemaRef,
    decode_schema: SchemaRef,
    rewriter: Option<Rewriter>,
    batch_size: usize,
    eof: bool,
}

impl NextBatch for JsonState {
    async fn next_batch(&mut self) -> Result<Option<arrow_array::RecordBatch>, FormatError> {
        while !self.eof && self.norm.complete() < self.batch_size {
            match self.rest.as_mut() {
                Some(r) => match r.next().await? {
                    Some(b) => self.norm.feed(&self.name, &b)?,
                    None => {
                        self.norm.finish(&self.name)?;
                        self.eof = true;
                    }
                },
                None => self.eof = true,
            }
        }
        let (mut bytes, lines) = self.norm.take(self.batch_size);
        if lines.is_empty() {
            return Ok(None);
        }
        if let Some(rw) = &self.rewriter {
            let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
            for (record, &line) in bytes.split_inclusive(|&b| b == b'\n').zip(&lines) {
                rw.record(record, &mut out).map_err(|e| FormatError::Parse {
                    file: self.name.clone(),
                    at: Position { line: Some(line), column: None },
                    message: format!("invalid JSON: {e}"),
                })?;
            }
            bytes = out;
        }
        match decode(&self.decode_schema, &bytes, lines.len()) {
            Ok(b) => conform_at(&self.name, b, &self.target, Some(&|row| lines.get(row).copied())).map(Some),
            Err(_) => Err(self.locate(&bytes, &lines)),
        }
    }
}

impl JsonState {
    /// A batch failed: decode its records one by one to name the first bad one and its line.
    fn locate(&self, bytes: &[u8], lines: &[u64]) -> FormatError {
        for (record, &line) in bytes.split_inclusive(|&b| b == b'\n').zip(lines) {
            if let Err(e) = decode(&self.decode_schema, record, 1) {
                let msg = e.to_string();
                let column = self.target.fields().iter().find(|f| msg.contains(&format!("'{}'", f.name()))).map(|f| f.name().clone());
                return FormatError::Parse {
                    file: self.name.clone(),
                    at: Position { line: Some(line), column },
                    message: format!("{} (the column types were inferred from the first rows; enlarge the sample with --infer-rows or use --type-fallback)", msg.trim_start_matches("Json error: ")),
                };
            }
        }
        FormatError::Parse { file: self.name.clone(), at: Position::default(), message: "cannot decode a batch of records".into() }
    }
}

fn decode(schema: &SchemaRef, bytes: &[u8], rows: usize) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.max(1))
        .with_coerce_primitive(true)
        // A key the sample did not have is an error naming its line, never a dropped value.
        .with_strict_mode(true)
        .build_decoder()?;
    let mut pos = 0;
    while pos < bytes.len() {
        let n = decoder.decode(&bytes[pos..])?;
        if n == 0 {
            break;
        }
        pos += n;
        if decoder.len() >= rows {
            // Flush is below; a full decoder must not be fed more.
            break;
        }
    }
    Ok(decoder.flush()?.unwrap_or_else(|| arrow_array::RecordBatch::new_empty(schema.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[&[u8]]) -> Result<(Vec<String>, Vec<u64>), FormatError> {
        let mut n = Normaliser::new();
        for chunk in input {
            n.feed("t.json", chunk)?;
        }
        n.finish("t.json")?;
        let count = n.complete();
        let (bytes, lines) = n.take(count);
        let recs = String::from_utf8(bytes).unwrap().lines().map(str::to_string).collect();
        Ok((recs, lines))
    }

    #[test]
    fn ndjson_and_arrays_become_one_record_per_line() {
        let (r, l) = records(&[b"{\"a\": 1}\n\n{\"a\":", b" 2, \"s\": \"x y\\\"}\"}\n"]).unwrap();
        assert_eq!(r, vec![r#"{"a":1}"#, r#"{"a":2,"s":"x y\"}"}"#]);
        assert_eq!(l, vec![1, 3]);
        let (r, l) = records(&[b"[\n  {\"a\": [1, 2]},\n  {\"a\": []}\n]\n"]).unwrap();
        assert_eq!(r, vec![r#"{"a":[1,2]}"#, r#"{"a":[]}"#]);
        assert_eq!(l, vec![2, 3]);
    }

    #[test]
    fn truncated_and_malformed_input_names_the_line() {
        let e = records(&[b"[{\"a\": 1},\n{\"a\": 2"]).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("truncated"), "{e}");
        let e = records(&[b"{\"a\":1}\nnot json\n"]).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = records(&[b"[1, 2]"]).unwrap_err().to_string();
        assert!(e.contains("objects"), "{e}");
    }
}
