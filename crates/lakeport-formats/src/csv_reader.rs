//! CSV: sample → inferred schema (see `infer`) → arrow-csv's push decoder over the byte stream.

use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::sync::Arc;

use arrow_csv::reader::Decoder;
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use bytes::{Buf, Bytes};
use regex::Regex;

use crate::bytes_in::{Chunks, Offsets};
use crate::error::Position;
use crate::infer::ColumnStats;
use crate::schema::conform_at;
use crate::{batch_stream, exact, sniff, BatchStream, NextBatch, FileKind, FormatError, ReadOptions};

/// Stop sampling after this many bytes even if fewer records than asked for were seen.
const SAMPLE_CAP: usize = 32 << 20;

/// The quote byte that means "no quoting": arrow-csv and csv-core always have a quote byte, and
/// 0xFF never occurs in UTF-8 (every text reaches the parser as UTF-8), so it never quotes.
const NO_QUOTE: u8 = 0xFF;

pub(crate) struct CsvBody {
    sample: Vec<Bytes>,
    rest: Option<Chunks>,
    dialect: Dialect,
    has_header: bool,
    offsets: Offsets,
    notes: Vec<String>,
}

pub(crate) async fn open(name: &str, mut chunks: Chunks, options: &ReadOptions) -> Result<(SchemaRef, CsvBody), FormatError> {
    let csv = &options.csv;
    let tsv = FileKind::default_delimiter(name) == b'\t';
    // IANA's text/tab-separated-values has no quoting: a field starting with '"' is data.
    let quote = match csv.quote {
        _ if csv.no_quoting => NO_QUOTE,
        Some(q) => q,
        None if tsv => NO_QUOTE,
        None => b'"',
    };
    let wanted_lines = options.infer_rows + 2 + 1;

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
    // Without the end of the file the sample's last line may be cut: dialect detection sees whole lines.
    let whole_lines = if eof { &joined[..] } else { &joined[..joined.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)] };
    let delimiter = match csv.delimiter {
        Some(d) => d,
        None => sniff::delimiter(whole_lines, FileKind::default_delimiter(name), quote, csv.escape),
    };

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .quote(quote)
        .escape(csv.escape)
        .double_quote(csv.escape.is_none())
        .flexible(true)
        .from_reader(joined.as_slice());
    let offsets = chunks.offsets();
    let mut records = Vec::new();
    for r in reader.byte_records() {
        match r {
            Ok(r) => records.push(r),
            // Byte records of an in-memory sample with `flexible` have no error today; should a
            // csv version add one, it is still placed by file line and offset. csv's own
            // `Position::line` is the line after the previous record, before any blank lines.
            Err(e) => {
                let at = e.position().map(|p| record_start(&joined, p.byte() as usize));
                return Err(FormatError::Parse {
                    file: name.to_string(),
                    at: Position {
                        line: at.and_then(|a| NonZeroU64::new(line_at(&joined, a, 1))),
                        byte: at.and_then(|a| offsets.file_offset(a as u64)),
                        column: None,
                    },
                    message: e.to_string(),
                });
            }
        }
        if records.len() > options.infer_rows + 1 {
            break;
        }
    }
    // The sample may end inside a record: without the end of the file, drop the last one.
    if !eof && records.len() > 1 {
        records.pop();
    }
    let has_header = match csv.has_header {
        Some(h) => h,
        None => sniff::has_header(&records[..records.len().min(options.infer_rows + 1)], |v| is_null_value(v, &csv.null_values)),
    };
    if !has_header && records.len() > options.infer_rows {
        records.pop();
    }

    let header: Vec<String> = if has_header {
        records.first().map(|r| r.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()).unwrap_or_default()
    } else {
        let width = records.iter().map(|r| r.len()).max().unwrap_or(0);
        (1..=width).map(|i| format!("column_{i}")).collect()
    };
    let (names, name_notes) = if has_header { clean_names(&header) } else { (header, Vec::new()) };
    let data = if has_header { records.get(1..).unwrap_or(&[]) } else { &records[..] };

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

    let mut notes = dialect_notes(csv, delimiter, quote, has_header, &names, data);
    notes.extend(name_notes);
    let rest = if eof { None } else { Some(chunks) };
    let dialect = Dialect { delimiter, quote, escape: csv.escape };
    Ok((Arc::new(Schema::new(fields)), CsvBody { sample, rest, dialect, has_header, offsets, notes }))
}

/// What the reader took the file's dialect to be (what was detected, what was given), and a
/// warning when a file read as one column holds characters that could be its delimiter.
fn dialect_notes(csv: &crate::CsvOptions, delimiter: u8, quote: u8, has_header: bool, names: &[String], data: &[csv::ByteRecord]) -> Vec<String> {
    let show = |b: u8| match b {
        b'\t' => "tab".to_string(),
        b => format!("'{}'", b as char),
    };
    let how = |given: bool| if given { "given" } else { "detected" };
    let quote_text = if quote == NO_QUOTE { "no quoting".to_string() } else { format!("quote {}", show(quote)) };
    let mut notes = vec![format!(
        "CSV dialect: delimiter {} ({}), {}, {} ({})",
        show(delimiter),
        how(csv.delimiter.is_some()),
        quote_text,
        if has_header { "header row" } else { "no header row" },
        how(csv.has_header.is_some()),
    )];
    if names.len() == 1 {
        let mut found: Vec<String> = sniff::CANDIDATES
            .iter()
            .copied()
            .filter(|&d| d != delimiter && (names[0].as_bytes().contains(&d) || data.iter().any(|r| r.iter().any(|f| f.contains(&d)))))
            .map(show)
            .collect();
        found.dedup();
        if !found.is_empty() {
            notes.push(format!(
                "warning: the file loads as a single column, but its values contain {}: if that is the delimiter, set it",
                found.join(" and ")
            ));
        }
    }
    notes
}

/// Header names made usable as column names: trimmed, never empty, unique. A name is kept as
/// written (SQL reaches any name quoted, `ID` beside `id` too); only an empty name (`column_N`)
/// and an exact repeat (`name_2`, …) cannot be, and each such rename comes with a note.
pub(crate) fn clean_names(raw: &[String]) -> (Vec<String>, Vec<String>) {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut notes = Vec::new();
    for (i, n) in raw.iter().enumerate() {
        let base = n.trim().trim_start_matches('\u{feff}').to_string();
        let empty = base.is_empty();
        let base = if empty { format!("column_{}", i + 1) } else { base };
        let mut name = base.clone();
        let mut k = 2;
        while out.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        if empty {
            notes.push(format!("header column {} has no name: named {name:?}", i + 1));
        } else if name != base {
            notes.push(format!("header column {} repeats the name {base:?}: named {name:?}", i + 1));
        }
        out.push(name);
    }
    (out, notes)
}

fn is_null_value(v: &str, nulls: &[String]) -> bool {
    v.is_empty() || nulls.iter().any(|n| n == v)
}

impl CsvBody {
    pub(crate) fn notes(&self) -> &[String] {
        &self.notes
    }

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
            .with_header(self.has_header)
            .with_delimiter(self.dialect.delimiter)
            .with_quote(self.dialect.quote)
            .with_null_regex(Regex::new(&format!("^(?:{null_pattern})$")).expect("escaped pattern"))
            .with_batch_size(batch_rows(options.batch_size, &self.sample, self.rest.is_none()));
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
            window: Window::default(),
            header: u64::from(self.has_header),
            rows: 0,
            dialect: self.dialect,
            offsets: self.offsets,
            end_checked: false,
        };
        batch_stream(state)
    }
}

/// Rows per batch for a file: `batch_size`, or fewer for a file that ended within its `sample`
/// (`whole`), which holds at most one record per byte plus a last one without a line break.
/// arrow-csv's decoder sizes and zero-fills its offset and data buffers for a whole batch when it
/// starts one (`RecordDecoder::decode`: batch rows × columns × 16 bytes): for a file of a few rows
/// that was most of its decoding work.
fn batch_rows(batch_size: usize, sample: &[Bytes], whole: bool) -> usize {
    if whole {
        batch_size.min(sample.iter().map(Bytes::len).sum::<usize>() + 1)
    } else {
        batch_size
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
    /// The bytes of the batch being decoded, to place errors (see `Window`).
    window: Window,
    /// 1 if the first record is a header.
    header: u64,
    /// Data rows in the batches flushed so far.
    rows: u64,
    dialect: Dialect,
    offsets: Offsets,
    /// The end of the input was checked for an open quoted field.
    end_checked: bool,
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
            if self.eof && !self.end_checked {
                self.end_checked = true;
                // csv-core ends a quoted field that is still open at the end of the input as if
                // it were closed: the rest of the file would become one value (rows lost without
                // a word). Refuse that, naming where the quote was opened.
                if self.dialect.quote != NO_QUOTE {
                    if let Some(found) = self.window.open_quote(self.dialect.parser(), self.dialect.delimiter) {
                        return Err(FormatError::Parse {
                            file: self.name.clone(),
                            at: self.position(Some(&found), None),
                            message: format!(
                                "the quoted field that starts here is never closed: the file ends inside it (a missing closing quote {})",
                                self.dialect.quote as char
                            ),
                        });
                    }
                }
            }
            // An empty slice tells the decoder the input has ended (it then finishes the last record).
            let input: &[u8] = if self.eof { &[] } else { &self.buf };
            let consumed = self.decoder.decode(input).map_err(|e| self.error(e))?;
            if consumed > 0 {
                self.window.chunks.push(self.buf.slice(..consumed));
            }
            self.buf.advance(consumed);
            if self.eof || self.decoder.capacity() == 0 {
                let batch = self.decoder.flush().map_err(|e| self.error(e))?;
                if let Some(b) = batch {
                    // Values are converted (exactly) before the window moves on, so that one that
                    // does not fit is placed like any other value error.
                    let first = self.header + self.rows;
                    let conformed = if b.num_rows() > 0 {
                        let locate = |row: usize, column: &str| {
                            let field = self.decode_schema.index_of(column).ok();
                            let found = field.and_then(|i| self.locate(first + row as u64, Target::Field(i)));
                            self.position(found.as_ref(), Some(column.to_string()))
                        };
                        Some(conform_at(&self.name, b.clone(), &self.target, Some(&locate)))
                    } else {
                        None
                    };
                    // Everything consumed so far is the header and the flushed rows: the next
                    // window starts at a record boundary.
                    self.rows += b.num_rows() as u64;
                    self.window.restart(self.header + self.rows);
                    if let Some(c) = conformed {
                        return c.map(Some);
                    }
                }
                if self.eof {
                    return Ok(None);
                }
            }
        }
    }
}

impl DecodeState {
    /// Turns arrow-csv's messages into errors that name the file, line and column.
    ///
    /// arrow-csv's "line N" is a record number, not a line (0-based with the header counted in
    /// value errors, 1-based in field-count and UTF-8 errors); `Window::locate` turns it into the
    /// physical line and byte offset of the record, or of the field when a column is at fault.
    fn error(&self, e: ArrowError) -> FormatError {
        let msg = match &e {
            ArrowError::ParseError(m) | ArrowError::CsvError(m) => m.clone(),
            other => other.to_string(),
        };
        let file = self.name.clone();
        static VALUE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let value = VALUE.get_or_init(|| {
            Regex::new(r"(?s)^(?:Error while parsing value '(.*)' as type '(.*)' for column (\d+) at line (\d+)\.|Error parsing column (\d+) at line (\d+): )").unwrap()
        });
        if let Some(c) = value.captures(&msg) {
            // Groups 3/4 in the first message, 5/6 in the second (timestamps).
            let col: Option<usize> = c.get(3).or_else(|| c.get(5)).and_then(|m| m.as_str().parse().ok());
            let record: Option<u64> = c.get(4).or_else(|| c.get(6)).and_then(|m| m.as_str().parse().ok());
            let field = col.and_then(|i| self.decode_schema.fields().get(i));
            let found = record.zip(col).and_then(|(r, i)| self.locate(r, Target::Field(i)));
            // Timestamp errors do not quote the value or the type: take them from the file and schema.
            let value = match (&found, c.get(1)) {
                (Some(f), _) => String::from_utf8_lossy(&f.value).into_owned(),
                (None, Some(v)) => v.as_str().to_string(),
                (None, None) => String::new(),
            };
            let expected = match (c.get(2), field) {
                (Some(t), _) => t.as_str().to_string(),
                (None, Some(f)) => f.data_type().to_string(),
                (None, None) => "of the column's type".to_string(),
            };
            let at = self.position(found.as_ref(), field.map(|f| f.name().clone()));
            return FormatError::Value { file, at, value, expected };
        }
        static FIELDS: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let fields = FIELDS.get_or_init(|| Regex::new(r"incorrect number of fields for line (\d+), expected (\d+) got (.*)").unwrap());
        if let Some(c) = fields.captures(&msg) {
            let found = c[1].parse::<u64>().ok().and_then(|r| self.locate(r.saturating_sub(1), Target::Record));
            return FormatError::Parse {
                file,
                at: self.position(found.as_ref(), None),
                message: format!("expected {} fields (as in the header), found {}", &c[2], &c[3]),
            };
        }
        static UTF8: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
        let utf8 = UTF8.get_or_init(|| Regex::new(r"invalid UTF-8 data for line (\d+) and field (\d+)").unwrap());
        if let Some(c) = utf8.captures(&msg) {
            let col = c[2].parse::<usize>().unwrap_or(1).saturating_sub(1);
            let found = c[1].parse::<u64>().ok().and_then(|r| self.locate(r.saturating_sub(1), Target::BadUtf8(col)));
            return FormatError::Parse {
                file,
                at: self.position(found.as_ref(), self.decode_schema.fields().get(col).map(|f| f.name().clone())),
                message: crate::bytes_in::encoding_hint(found.as_ref().map_or(&[][..], |f| &f.value[..])),
            };
        }
        FormatError::Parse { file, at: Position::default(), message: msg }
    }

    /// Where `target` of record `record` (0-based, the header counted) is.
    fn locate(&self, record: u64, target: Target) -> Option<Found> {
        // The record is in the window or in the current input, which the decoder may have only
        // partly consumed when it failed.
        self.window.locate(&self.buf, self.dialect.parser(), record, target)
    }

    fn position(&self, found: Option<&Found>, column: Option<String>) -> Position {
        Position { line: found.and_then(|f| NonZeroU64::new(f.line)), byte: found.and_then(|f| self.offsets.file_offset(f.offset)), column }
    }
}

/// The CSV dialect, as arrow-csv's decoder is configured with it.
#[derive(Clone, Copy)]
struct Dialect {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
}

impl Dialect {
    /// A csv-core reader that splits records exactly as arrow-csv's does: arrow-csv 58
    /// (`Format::build_parser`) sets delimiter, quote and escape and leaves doubled quotes, CR/LF/CRLF
    /// terminators and (without a comment character) comments at csv-core's defaults.
    fn parser(self) -> csv_core::Reader {
        csv_core::ReaderBuilder::new().delimiter(self.delimiter).quote(self.quote).escape(self.escape).build()
    }
}

/// Places arrow-csv's record numbers in the file.
///
/// arrow-csv's push decoder counts records, not lines, and a record may span lines (a quoted line
/// break) or follow blank lines (which it skips). Tracking every record's start while decoding
/// would mean parsing every byte twice. Instead the window keeps the bytes of the batch being
/// decoded (reference-counted slices of chunks that exist anyway) and where they start; only when
/// an error names a record is the window parsed again, with csv-core configured as arrow-csv's
/// own parser is, to find where that record and field start. The window is record-aligned because
/// the decoder stops right after a record's terminator before each flush. The cost on the happy
/// path is one newline count per byte. (arrow-csv offers no record positions itself.)
struct Window {
    chunks: Vec<Bytes>,
    /// The number of the first record in the window (0-based, the header counted).
    first_record: u64,
    /// Physical line and text offset at which the window starts.
    line: u64,
    offset: u64,
}

impl Default for Window {
    fn default() -> Self {
        Window { chunks: Vec::new(), first_record: 0, line: 1, offset: 0 }
    }
}

/// What in a record an error is about.
#[derive(Clone, Copy)]
enum Target {
    /// The record as a whole: where it starts.
    Record,
    /// A field's value (0-based field): where it starts (at its opening quote if quoted).
    Field(usize),
    /// A field with invalid UTF-8: where its first invalid byte is.
    BadUtf8(usize),
}

/// A place in the file, and the target field's value.
struct Found {
    line: u64,
    /// Offset in the text (BOM removed); `Offsets` maps it to the file.
    offset: u64,
    value: Vec<u8>,
}

impl Window {
    fn restart(&mut self, first_record: u64) {
        for c in self.chunks.drain(..) {
            self.line += count_newlines(&c);
            self.offset += c.len() as u64;
        }
        self.first_record = first_record;
    }

    fn locate(&self, tail: &[u8], mut parser: csv_core::Reader, record: u64, target: Target) -> Option<Found> {
        let record = record.checked_sub(self.first_record)?;
        let field = match target {
            Target::Record => 0,
            Target::Field(f) | Target::BadUtf8(f) => f,
        };
        let mut bytes = Vec::with_capacity(self.chunks.iter().map(|c| c.len()).sum::<usize>() + tail.len());
        self.chunks.iter().for_each(|c| bytes.extend_from_slice(c));
        bytes.extend_from_slice(tail);
        if self.first_record > 0 {
            // csv-core drops a BOM at the start of its first input; arrow-csv's reader is past
            // the start here, so a blank line (skipped between records) makes ours past it too.
            parser.read_field(b"\n", &mut [0u8; 1]);
        }
        let (mut rec, mut fld, mut pos) = (0u64, 0usize, 0usize);
        let mut out = [0u8; 4096];
        loop {
            let here = rec == record && fld == field;
            let start = pos;
            let mut value = Vec::new();
            let record_end = loop {
                let (result, read, written) = parser.read_field(&bytes[pos..], &mut out);
                pos += read;
                if here {
                    value.extend_from_slice(&out[..written]);
                }
                match result {
                    // At the end of `bytes` the next call passes an empty input: csv-core's end of data.
                    csv_core::ReadFieldResult::InputEmpty | csv_core::ReadFieldResult::OutputFull => {}
                    csv_core::ReadFieldResult::Field { record_end } => break record_end,
                    csv_core::ReadFieldResult::End => return None,
                }
            };
            if here {
                // A record's first field starts after the line ends csv-core skipped before it.
                let mut start = if fld == 0 { record_start(&bytes, start) } else { start };
                if let (Target::BadUtf8(_), Err(e)) = (target, std::str::from_utf8(&bytes[start..pos])) {
                    start += e.valid_up_to();
                }
                return Some(Found { line: line_at(&bytes, start, self.line), offset: self.offset + start as u64, value });
            }
            if record_end {
                (rec, fld) = (rec + 1, 0);
            } else {
                fld += 1;
            }
        }
    }
}

impl Window {
    /// Where the field starts that is still inside quotes at the end of the window, if one is.
    ///
    /// csv-core does not tell its state, so the window is parsed again (only at the end of the
    /// input, and only the bytes since the last flushed batch, which starts at a record
    /// boundary) and then fed a probe, "\n" delimiter "\n": outside quotes that ends a record
    /// (after a complete one the first line break is skipped as blank and the rest is a record of
    /// two empty fields); inside quotes it is data, and no record ends.
    fn open_quote(&self, mut parser: csv_core::Reader, delimiter: u8) -> Option<Found> {
        let mut bytes = Vec::with_capacity(self.chunks.iter().map(|c| c.len()).sum::<usize>());
        self.chunks.iter().for_each(|c| bytes.extend_from_slice(c));
        if self.first_record > 0 {
            // As in `locate`: past a BOM.
            parser.read_field(b"\n", &mut [0u8; 1]);
        }
        let mut out = [0u8; 4096];
        let (mut pos, mut field_start, mut record_begins) = (0usize, 0usize, true);
        while pos < bytes.len() {
            let (result, read, _) = parser.read_field(&bytes[pos..], &mut out);
            pos += read;
            match result {
                csv_core::ReadFieldResult::Field { record_end } => {
                    field_start = pos;
                    record_begins = record_end;
                }
                csv_core::ReadFieldResult::End => return None,
                _ => {}
            }
        }
        let probe = [b'\n', delimiter, b'\n'];
        let mut p = 0;
        while p < probe.len() {
            let (result, read, _) = parser.read_field(&probe[p..], &mut out);
            p += read;
            match result {
                csv_core::ReadFieldResult::Field { record_end: true } | csv_core::ReadFieldResult::End => return None,
                _ if read == 0 => break,
                _ => {}
            }
        }
        let start = if record_begins { record_start(&bytes, field_start) } else { field_start };
        Some(Found { line: line_at(&bytes, start, self.line), offset: self.offset + start as u64, value: Vec::new() })
    }
}

/// Skips the CR/LF bytes csv-core passes over between records.
fn record_start(bytes: &[u8], from: usize) -> usize {
    from + bytes[from..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count()
}

/// The physical line of `bytes[offset]`, where `bytes` starts on line `first`.
fn line_at(bytes: &[u8], offset: usize, first: u64) -> u64 {
    first + count_newlines(&bytes[..offset.min(bytes.len())])
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
