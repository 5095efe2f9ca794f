//! JSON: newline-delimited objects or one top-level array of objects.
//!
//! A small normaliser splits either shape into records, one object each, copied byte for byte
//! (only the array's brackets and commas and the whitespace between records are dropped),
//! remembering the line and offset each record starts at; arrow-json then decodes whole records.
//! That gives streaming for arrays (arrow-json only reads a sequence of objects) and exact
//! positions in errors: a place inside a record is its start plus the bytes before it.

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::value::RawValue;

use crate::bytes_in::{Chunks, Offsets};
use crate::error::Position;
use crate::infer::{classify_temporal, Temporal};
use crate::{batch_stream, conform, BatchStream, NextBatch, FormatError, ReadOptions};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Unknown,
    Lines,
    Array,
    ArrayDone,
}

/// A place in the file: physical line, and offset in the text (BOM removed; `Offsets` maps it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Place {
    line: u64,
    offset: u64,
}

impl Place {
    /// The place `at` bytes into `record`, which starts here.
    fn at(self, record: &[u8], at: usize) -> Place {
        let at = at.min(record.len());
        Place { line: self.line + record[..at].iter().filter(|&&b| b == b'\n').count() as u64, offset: self.offset + at as u64 }
    }

    fn position(self, offsets: Offsets, column: Option<String>) -> Position {
        Position { line: NonZeroU64::new(self.line), byte: offsets.file_offset(self.offset), column }
    }
}

/// Splits a JSON byte stream into records.
pub(crate) struct Normaliser {
    shape: Shape,
    depth: usize,
    in_string: bool,
    escape: bool,
    line: u64,
    /// Text offset of the next byte to be fed.
    offset: u64,
    record_start: Place,
    /// Complete records, each followed by '\n'.
    out: Vec<u8>,
    ends: Vec<usize>,
    starts: Vec<Place>,
}

/// Records taken from the normaliser: their bytes, where each ends in them, where each starts in the file.
struct Records {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    starts: Vec<Place>,
}

impl Records {
    fn iter(&self) -> impl Iterator<Item = (&[u8], Place)> {
        let begins = std::iter::once(0).chain(self.ends.iter().copied());
        begins.zip(&self.ends).map(|(b, &e)| &self.bytes[b..e]).zip(self.starts.iter().copied())
    }
}

impl Normaliser {
    fn new() -> Self {
        let start = Place { line: 1, offset: 0 };
        Normaliser { shape: Shape::Unknown, depth: 0, in_string: false, escape: false, line: 1, offset: 0, record_start: start, out: Vec::new(), ends: Vec::new(), starts: Vec::new() }
    }

    fn feed(&mut self, file: &str, input: &[u8], offsets: Offsets) -> Result<(), FormatError> {
        let base = self.offset;
        self.offset += input.len() as u64;
        let err = |line: u64, i: usize, m: &str| FormatError::Parse {
            file: file.to_string(),
            at: Place { line, offset: base + i as u64 }.position(offsets, None),
            message: m.to_string(),
        };
        for (i, &b) in input.iter().enumerate() {
            if self.depth > 0 {
                // Inside a record: copied as is.
                self.out.push(b);
                if self.in_string {
                    if self.escape {
                        self.escape = false;
                    } else if b == b'\\' {
                        self.escape = true;
                    } else if b == b'"' {
                        self.in_string = false;
                    } else if b == b'\n' {
                        return Err(err(self.line, i, "line break inside a JSON string"));
                    }
                    continue;
                }
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.out.push(b'\n');
                            self.ends.push(self.out.len());
                            self.starts.push(self.record_start);
                        }
                    }
                    b'\n' => self.line += 1,
                    _ => {}
                }
                continue;
            }
            // Between records.
            match b {
                b'\n' => {
                    self.line += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' => continue,
                _ => {}
            }
            match (self.shape, b) {
                (Shape::Unknown, b'[') => self.shape = Shape::Array,
                (Shape::Unknown, b'{') | (Shape::Lines, b'{') | (Shape::Array, b'{') => {
                    if self.shape == Shape::Unknown {
                        self.shape = Shape::Lines;
                    }
                    self.record_start = Place { line: self.line, offset: base + i as u64 };
                    self.depth = 1;
                    self.out.push(b);
                }
                (Shape::Array, b',') => {}
                (Shape::Array, b']') => self.shape = Shape::ArrayDone,
                (Shape::Array, _) => return Err(err(self.line, i, "the top-level array must contain objects (one per row)")),
                (Shape::ArrayDone, _) => return Err(err(self.line, i, "unexpected content after the top-level array")),
                (Shape::Unknown, _) | (Shape::Lines, _) => {
                    return Err(err(self.line, i, &format!("expected a JSON object or array, found '{}'", b as char)))
                }
            }
        }
        Ok(())
    }

    fn finish(&self, file: &str, offsets: Offsets) -> Result<(), FormatError> {
        if self.depth > 0 || self.in_string {
            let at = self.record_start.position(offsets, None);
            return Err(FormatError::Parse { file: file.to_string(), at, message: "the file ends inside a JSON value (truncated?)".into() });
        }
        if self.shape == Shape::Array {
            let at = Place { line: self.line, offset: self.offset }.position(offsets, None);
            return Err(FormatError::Parse { file: file.to_string(), at, message: "the top-level array is not closed with ']' (truncated?)".into() });
        }
        Ok(())
    }

    /// Takes up to `n` complete records.
    fn take(&mut self, n: usize) -> Records {
        let n = n.min(self.ends.len());
        if n == 0 {
            return Records { bytes: Vec::new(), ends: Vec::new(), starts: Vec::new() };
        }
        let cut = self.ends[n - 1];
        let rest = self.out.split_off(cut);
        let bytes = std::mem::replace(&mut self.out, rest);
        let ends = self.ends.drain(..n).collect();
        for e in &mut self.ends {
            *e -= cut;
        }
        Records { bytes, ends, starts: self.starts.drain(..n).collect() }
    }

    fn complete(&self) -> usize {
        self.ends.len()
    }
}

/// Where a JSON syntax error serde_json found in `record` is, and its message without serde's
/// own position (which counts from the record, not the file).
fn syntax_error(record: &[u8], start: Place, e: &serde_json::Error) -> (Place, String) {
    // serde_json: 1-based line, and 1-based byte column of the offending byte on that line.
    let line_start = match e.line() {
        0 | 1 => 0,
        l => record.iter().enumerate().filter(|(_, &b)| b == b'\n').nth(l - 2).map_or(record.len(), |(i, _)| i + 1),
    };
    let place = start.at(record, line_start + e.column().saturating_sub(1));
    let msg = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    (place, msg.strip_suffix(&suffix).unwrap_or(&msg).to_string())
}

pub(crate) struct JsonBody {
    norm: Normaliser,
    rest: Option<Chunks>,
    offsets: Offsets,
}

pub(crate) async fn open(name: &str, mut chunks: Chunks, options: &ReadOptions) -> Result<(SchemaRef, JsonBody), FormatError> {
    let mut norm = Normaliser::new();
    let mut eof = false;
    while norm.complete() < options.infer_rows {
        match chunks.next().await? {
            Some(b) => norm.feed(name, &b, chunks.offsets())?,
            None => {
                norm.finish(name, chunks.offsets())?;
                eof = true;
                break;
            }
        }
    }
    let offsets = chunks.offsets();
    let n = norm.complete().min(options.infer_rows);
    let mut values = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = norm.ends[i];
        let record = &norm.out[start..end];
        let v: serde_json::Value = serde_json::from_slice(record).map_err(|e| {
            let (place, message) = syntax_error(record, norm.starts[i], &e);
            FormatError::Parse { file: name.to_string(), at: place.position(offsets, None), message: format!("invalid JSON: {message}") }
        })?;
        values.push(v);
        start = end;
    }
    let inferred = arrow_json::reader::infer_json_schema_from_iterator(values.iter().map(|v| Ok(v.clone())))
        .map_err(|e| FormatError::Parse { file: name.to_string(), at: Position::default(), message: format!("cannot infer a schema: {e}") })?;
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|f| {
            if options.text_columns.iter().any(|c| c == f.name()) {
                return Field::new(f.name(), DataType::Utf8, true);
            }
            let t = match f.data_type() {
                DataType::Utf8 => refine_strings(values.iter().filter_map(|v| v.get(f.name()).and_then(|x| x.as_str()))),
                other => other.clone(),
            };
            Field::new(f.name(), t, true)
        })
        .collect();
    let rest = if eof { None } else { Some(chunks) };
    Ok((Arc::new(Schema::new(fields)), JsonBody { norm, rest, offsets }))
}

/// JSON has no date type: string columns whose sampled values are all dates/timestamps get one.
fn refine_strings<'a>(values: impl Iterator<Item = &'a str>) -> DataType {
    let (mut date, mut naive, mut zoned, mut any) = (true, true, true, false);
    for v in values {
        any = true;
        let t = classify_temporal(v);
        date &= t == Temporal::Date;
        naive &= matches!(t, Temporal::Naive | Temporal::Date);
        zoned &= t == Temporal::Zoned;
    }
    match (any, date, naive, zoned) {
        (false, ..) => DataType::Utf8,
        (_, true, ..) => DataType::Date32,
        (_, _, true, _) => DataType::Timestamp(TimeUnit::Microsecond, None),
        (_, _, _, true) => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        _ => DataType::Utf8,
    }
}

impl JsonBody {
    pub(crate) fn into_batches(self, name: String, target: SchemaRef, options: &ReadOptions) -> BatchStream {
        let state = JsonState { name, norm: self.norm, rest: self.rest, offsets: self.offsets, target, batch_size: options.batch_size, eof: false };
        batch_stream(state)
    }
}

struct JsonState {
    name: String,
    norm: Normaliser,
    rest: Option<Chunks>,
    offsets: Offsets,
    target: SchemaRef,
    batch_size: usize,
    eof: bool,
}

impl NextBatch for JsonState {
    async fn next_batch(&mut self) -> Result<Option<arrow_array::RecordBatch>, FormatError> {
        while !self.eof && self.norm.complete() < self.batch_size {
            match self.rest.as_mut() {
                Some(r) => match r.next().await? {
                    Some(b) => self.norm.feed(&self.name, &b, self.offsets)?,
                    None => {
                        self.norm.finish(&self.name, self.offsets)?;
                        self.eof = true;
                    }
                },
                None => self.eof = true,
            }
        }
        let records = self.norm.take(self.batch_size);
        if records.starts.is_empty() {
            return Ok(None);
        }
        match decode(&self.target, &records.bytes, records.starts.len()) {
            Ok(b) => conform(&self.name, b, &self.target).map(Some),
            Err(_) => Err(self.locate(&records)),
        }
    }
}

impl JsonState {
    /// A batch failed: decode its records one by one to find the first bad one, then place the
    /// error at what is wrong in it: a syntax error, or the value of the member arrow-json names.
    fn locate(&self, records: &Records) -> FormatError {
        for (record, start) in records.iter() {
            let Err(e) = decode(&self.target, record, 1) else { continue };
            // serde_json reports syntax errors with a position and, for a valid object, lends
            // each member's raw value out of `record`: its address gives the member's offset.
            let members = match serde_json::from_slice::<BTreeMap<String, &RawValue>>(record) {
                Ok(m) => m,
                Err(e) => {
                    let (place, message) = syntax_error(record, start, &e);
                    return FormatError::Parse { file: self.name.clone(), at: place.position(self.offsets, None), message: format!("invalid JSON: {message}") };
                }
            };
            let msg = e.to_string();
            let msg = msg.trim_start_matches("Json error: ");
            // arrow-json prefixes a member's error with "whilst decoding field 'NAME': ".
            let column = msg.strip_prefix("whilst decoding field '").and_then(|rest| {
                self.target.fields().iter().map(|f| f.name()).filter(|n| rest.starts_with(&format!("{n}':"))).max_by_key(|n| n.len()).cloned()
            });
            let offset = column.as_ref().and_then(|c| members.get(c)).and_then(|raw| (raw.get().as_ptr() as usize).checked_sub(record.as_ptr() as usize));
            let place = offset.map_or(start, |o| start.at(record, o));
            return FormatError::Parse {
                file: self.name.clone(),
                at: place.position(self.offsets, column),
                message: format!("{msg} (the column types were inferred from the first rows; enlarge the sample with --infer-rows or use --type-fallback)"),
            };
        }
        FormatError::Parse { file: self.name.clone(), at: Position::default(), message: "cannot decode a batch of records".into() }
    }
}

fn decode(schema: &SchemaRef, bytes: &[u8], rows: usize) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(rows.max(1))
        .with_coerce_primitive(true)
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

    fn records(input: &[&[u8]]) -> Result<(Vec<String>, Vec<Place>), FormatError> {
        let mut n = Normaliser::new();
        for chunk in input {
            n.feed("t.json", chunk, Offsets::SAME)?;
        }
        n.finish("t.json", Offsets::SAME)?;
        let count = n.complete();
        let r = n.take(count);
        let recs = r.iter().map(|(b, _)| String::from_utf8(b.to_vec()).unwrap().trim_end().to_string()).collect();
        Ok((recs, r.starts))
    }

    #[test]
    fn ndjson_and_arrays_become_records_with_their_start() {
        let (r, at) = records(&[b"{\"a\": 1}\n\n{\"a\":", b" 2, \"s\": \"x y\\\"}\"}\n"]).unwrap();
        assert_eq!(r, vec![r#"{"a": 1}"#, r#"{"a": 2, "s": "x y\"}"}"#]);
        assert_eq!(at, vec![Place { line: 1, offset: 0 }, Place { line: 3, offset: 10 }]);
        let (r, at) = records(&[b"[\n  {\"a\": [1, 2]},\r\n  {\"a\":\n []}\n]\n"]).unwrap();
        assert_eq!(r, vec![r#"{"a": [1, 2]}"#, "{\"a\":\n []}"]);
        assert_eq!(at, vec![Place { line: 2, offset: 4 }, Place { line: 3, offset: 22 }]);
    }

    #[test]
    fn truncated_and_malformed_input_names_the_line() {
        let e = records(&[b"[{\"a\": 1},\n{\"a\": 2"]).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        assert_eq!(e.position().map(|p| (p.line.map(NonZeroU64::get), p.byte)), Some((Some(2), Some(11))));
        let e = records(&[b"{\"a\":1}\nnot json\n"]).unwrap_err();
        assert_eq!(e.position().map(|p| (p.line.map(NonZeroU64::get), p.byte)), Some((Some(2), Some(8))));
        let e = records(&[b"[1, 2]"]).unwrap_err().to_string();
        assert!(e.contains("objects"), "{e}");
    }

    #[test]
    fn syntax_errors_are_placed_inside_multi_line_records() {
        let record = b"{\n  \"id\": 1,\n  \"name\": oops\n}\n";
        let e = serde_json::from_slice::<serde_json::Value>(record).unwrap_err();
        let (place, msg) = syntax_error(record, Place { line: 10, offset: 100 }, &e);
        assert_eq!((place.line, place.offset), (12, 100 + 23), "the 'o' of oops");
        assert!(!msg.contains("column"), "{msg}");
    }
}
