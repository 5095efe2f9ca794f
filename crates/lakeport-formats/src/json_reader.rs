//! JSON: newline-delimited objects or one top-level array of objects.
//!
//! A small normaliser splits either shape into records, one object each, copied byte for byte
//! (only the array's brackets and commas and the whitespace between records are dropped),
//! remembering the line and offset each record starts at; arrow-json then decodes whole records.
//! That gives streaming for arrays (arrow-json only reads a sequence of objects) and exact
//! positions in errors: a place inside a record is its start plus the bytes before it.
//! NDJSON is first cut into pieces at places certainly between records (`Cutter`), so that the
//! splitting, like the decoding, runs on every core. A piece of flat records (values that are
//! strings, numbers, booleans or nulls, decoded as text or booleans) is first offered to `json_flat`,
//! which decodes it in one pass as arrow-json would; the records are split only where it
//! declines, or to place a value that does not fit its column.

use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU64;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use serde_json::value::RawValue;

use crate::bytes_in::{Chunks, Offsets};
use crate::error::{Position, ReadCause};
use crate::json_flat;
use crate::json_shape::{self, Rewriter};
use crate::schema::conform_at;
use futures::StreamExt;

use crate::{exact, BatchStream, FormatError, ReadOptions};

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
    /// The objects and arrays open in the current record, innermost last.
    levels: Vec<Level>,
    /// The keys of the open objects, as ranges of `out` (their text between the quotes).
    keys: Vec<(usize, usize)>,
    /// The string being read: where its text starts in `out`, whether it is a key, where it is.
    string_start: usize,
    string_is_key: bool,
    string_place: Place,
    /// The top-level keys of an earlier record, all different, in order (their texts end to end,
    /// and where each ends), and whether the current record's keys so far are the same.
    template: Vec<u8>,
    template_ends: Vec<usize>,
    like_template: bool,
}

/// An object or array open in the current record.
#[derive(Clone, Copy)]
struct Level {
    object: bool,
    /// In an object: the next string is a key.
    expect_key: bool,
    /// Where this object's keys start in `Normaliser::keys`.
    keys_from: usize,
}

/// The bytes that matter to the splitter inside a record, outside strings: those that open or
/// close a string, object or array, separate members, or end a line.
const STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 7 {
        t[b"\"{}[],\n"[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether two keys' texts (JSON string contents, escapes as written) name the same key.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if !a.contains(&b'\\') && !b.contains(&b'\\') {
        return a == b;
    }
    let text = |k: &[u8]| serde_json::from_slice::<String>(&[&b"\""[..], k, b"\""].concat()).ok();
    text(a).is_some() && text(a) == text(b)
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
        Normaliser::at(Place { line: 1, offset: 0 })
    }

    /// A normaliser for text that starts at `start`, between records, fed `chunks` of it.
    fn fed(start: Place, chunks: &[Bytes], file: &str, offsets: Offsets) -> Result<Self, FormatError> {
        let mut norm = Normaliser::at(start);
        for c in chunks {
            norm.feed(file, c, offsets)?;
        }
        Ok(norm)
    }

    /// A normaliser for text that starts at `start`, between records.
    fn at(start: Place) -> Self {
        Normaliser {
            shape: Shape::Unknown,
            depth: 0,
            in_string: false,
            escape: false,
            line: start.line,
            offset: start.offset,
            record_start: start,
            out: Vec::new(),
            ends: Vec::new(),
            starts: Vec::new(),
            levels: Vec::new(),
            keys: Vec::new(),
            string_start: 0,
            string_is_key: false,
            string_place: start,
            template: Vec::new(),
            template_ends: Vec::new(),
            like_template: false,
        }
    }

    /// Splits `input`, the next bytes of the text, into records. Inside a record the splitter
    /// looks only at the bytes that matter to it (quotes, backslashes and line breaks in strings;
    /// brackets, commas, quotes and line breaks between them) and copies the spans between them
    /// at once (perf: a byte-by-byte loop here was over a third of an NDJSON load).
    fn feed(&mut self, file: &str, input: &[u8], offsets: Offsets) -> Result<(), FormatError> {
        let base = self.offset;
        self.offset += input.len() as u64;
        let err = |line: u64, i: usize, m: &str| FormatError::Parse {
            file: file.to_string(),
            at: Place { line, offset: base + i as u64 }.position(offsets, None),
            message: m.to_string(),
        };
        // Inside a record: `input[copied..i]` is still to be copied to `out`.
        let mut copied = 0;
        let mut i = 0;
        while i < input.len() {
            if self.depth > 0 {
                if self.in_string {
                    if self.escape {
                        // The escaped byte (arrow-json judges the escape).
                        self.escape = false;
                        i += 1;
                        continue;
                    }
                    match memchr::memchr3(b'"', b'\\', b'\n', &input[i..]) {
                        Some(k) => i += k,
                        None => break,
                    }
                    match input[i] {
                        b'\\' => self.escape = true,
                        b'"' => {
                            self.in_string = false;
                            if self.string_is_key {
                                self.key_read(file, offsets, input, &mut copied, i)?;
                            }
                        }
                        _ => return Err(err(self.line, i, "line break inside a JSON string")),
                    }
                    i += 1;
                    continue;
                }
                match input[i..].iter().position(|&b| STRUCTURAL[b as usize]) {
                    Some(k) => i += k,
                    None => break,
                }
                let b = input[i];
                match b {
                    b'"' => {
                        self.in_string = true;
                        self.string_is_key = self.levels.last().is_some_and(|l| l.object && l.expect_key);
                        if self.string_is_key {
                            // Where the key's text will be in `out` (copied with its record).
                            self.string_start = self.out.len() + (i + 1 - copied);
                            self.string_place = Place { line: self.line, offset: base + i as u64 };
                        }
                    }
                    b'{' | b'[' => {
                        self.depth += 1;
                        self.levels.push(Level { object: b == b'{', expect_key: b == b'{', keys_from: self.keys.len() });
                    }
                    b',' => {
                        if let Some(l) = self.levels.last_mut() {
                            l.expect_key = l.object;
                        }
                    }
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            self.out.extend_from_slice(&input[copied..=i]);
                            copied = i + 1;
                        }
                        if self.depth == 0 && !self.like_template {
                            // The record's top-level keys, all different: the next template.
                            self.template.clear();
                            self.template_ends.clear();
                            for &(s, e) in &self.keys {
                                self.template.extend_from_slice(&self.out[s..e]);
                                self.template_ends.push(self.template.len());
                            }
                        }
                        if let Some(l) = self.levels.pop() {
                            self.keys.truncate(l.keys_from);
                        }
                        if self.depth == 0 {
                            self.out.push(b'\n');
                            self.ends.push(self.out.len());
                            self.starts.push(self.record_start);
                        }
                    }
                    _ => self.line += 1,
                }
                i += 1;
                continue;
            }
            // Between records.
            let b = input[i];
            match b {
                b'\n' => {
                    self.line += 1;
                    i += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
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
                    self.levels.clear();
                    self.keys.clear();
                    self.levels.push(Level { object: true, expect_key: true, keys_from: 0 });
                    self.like_template = true;
                    // The '{' is the first byte of the record's span.
                    copied = i;
                }
                (Shape::Array, b',') => {}
                (Shape::Array, b']') => self.shape = Shape::ArrayDone,
                (Shape::Array, _) => return Err(err(self.line, i, "the top-level array must contain objects (one per row)")),
                (Shape::ArrayDone, _) => return Err(err(self.line, i, "unexpected content after the top-level array")),
                (Shape::Unknown, _) | (Shape::Lines, _) => {
                    return Err(err(self.line, i, &format!("expected a JSON object or array, found '{}'", b as char)))
                }
            }
            i += 1;
        }
        if self.depth > 0 {
            // A record goes on in the next input.
            self.out.extend_from_slice(&input[copied..]);
        }
        Ok(())
    }

    /// A key was read, its closing quote at `input[quote]`: refused if its object has it
    /// already. Keys are ranges of `out`, where their text is or will be once the record's
    /// bytes up to them are copied (`input[*copied..]` goes to the end of `out`): a key that is
    /// the template's next is not copied on its own (perf: two small copies per key were much
    /// of the splitter); others are, to be compared with the keys before them.
    fn key_read(&mut self, file: &str, offsets: Offsets, input: &[u8], copied: &mut usize, quote: usize) -> Result<(), FormatError> {
        let key = (self.string_start, self.out.len() + (quote - *copied));
        let level = self.levels.last_mut().expect("a key is inside an object");
        level.expect_key = false;
        let from = level.keys_from;
        if self.levels.len() == 1 && self.like_template && key.0 >= self.out.len() {
            // Top-level keys so far equal to the template's (the keys of an earlier record,
            // all different): this one, equal to the template's next, differs from them too.
            // Rows of one file mostly have the same keys in the same order, so the check
            // against every earlier key is rarely needed (perf: it was most of the memcmp).
            let j = self.keys.len();
            let text = &input[key.0 - self.out.len() + *copied..quote];
            let in_template = j < self.template_ends.len() && {
                let s = if j == 0 { 0 } else { self.template_ends[j - 1] };
                &self.template[s..self.template_ends[j]] == text
            };
            if in_template {
                self.keys.push(key);
                return Ok(());
            }
        }
        self.like_template &= self.levels.len() != 1;
        self.out.extend_from_slice(&input[*copied..=quote]);
        *copied = quote + 1;
        // Both references refuse an object with a key twice; which value was meant is
        // unknown, so lakeport does too (serde/arrow would keep one).
        if let Some(&(s, e)) = self.keys[from..].iter().find(|&&(s, e)| same_key(&self.out[s..e], &self.out[key.0..key.1])) {
            let name = String::from_utf8_lossy(&self.out[s..e]).into_owned();
            return Err(FormatError::Parse {
                file: file.to_string(),
                at: self.string_place.position(offsets, None),
                message: format!("key \"{name}\" appears twice in one object (which value is meant is unknown)"),
            });
        }
        self.keys.push(key);
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
        // The buffer keeps its size for the next records (perf: growing it again by doubling for
        // every batch was much of the copying).
        let mut rest = Vec::with_capacity(self.out.capacity());
        rest.extend_from_slice(&self.out[cut..]);
        self.out.truncate(cut);
        let bytes = std::mem::replace(&mut self.out, rest);
        let ends = self.ends.drain(..n).collect();
        for e in &mut self.ends {
            *e -= cut;
        }
        // A record in progress moved with the rest: so do its keys and open string.
        for (s, e) in &mut self.keys {
            (*s, *e) = (*s - cut, *e - cut);
        }
        self.string_start = self.string_start.saturating_sub(cut);
        Records { bytes, ends, starts: self.starts.drain(..n).collect() }
    }

    fn complete(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of complete record `i`.
    fn record(&self, i: usize) -> &[u8] {
        &self.out[if i == 0 { 0 } else { self.ends[i - 1] }..self.ends[i]]
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

/// How far past the sample lakeport reads to find a record with a key.
const KEYLESS_CAP: usize = 64 << 20;

pub(crate) struct JsonBody {
    /// The text read for the sample, as it came (the records are split again from the start).
    head: Vec<Bytes>,
    rest: Option<Chunks>,
    /// The file is newline-delimited (its first record is not inside a top-level array).
    lines: bool,
    /// The sample's mean record length, in bytes.
    record_bytes: usize,
    offsets: Offsets,
    /// The file's own schema and its JSON-text columns (see `json_shape`).
    schema: SchemaRef,
    json_text: HashSet<String>,
}

pub(crate) async fn open(name: &str, mut chunks: Chunks, options: &ReadOptions) -> Result<(SchemaRef, JsonBody), FormatError> {
    let mut norm = Normaliser::new();
    let mut eof = false;
    // Records without a key (`{}`) say nothing about the columns: a sample of only those would
    // make the file look empty and lose the records after it, so sampling goes on until a
    // record has a key (or the file ends).
    let mut keyless = 0usize;
    let mut head = Vec::new();
    loop {
        while keyless < norm.complete() && norm.record(keyless).iter().filter(|b| !b.is_ascii_whitespace()).eq(b"{}".iter()) {
            keyless += 1;
        }
        if eof || (norm.complete() >= options.infer_rows && keyless < norm.complete()) {
            break;
        }
        if norm.out.len() > KEYLESS_CAP {
            return Err(FormatError::Parse {
                file: name.to_string(),
                at: Position::default(),
                message: format!("the first {keyless} records have no keys, and no record in the first {KEYLESS_CAP} bytes has one"),
            });
        }
        match chunks.next().await? {
            Some(b) => {
                norm.feed(name, &b, chunks.offsets())?;
                head.push(b);
            }
            None => {
                norm.finish(name, chunks.offsets())?;
                eof = true;
            }
        }
    }
    let offsets = chunks.offsets();
    let lines = norm.shape == Shape::Lines;
    let record_bytes = norm.ends.last().map_or(0, |&e| e / norm.complete());
    let n = norm.complete().min(options.infer_rows.max(keyless + 1));
    let (inferred, mut json_text) = json_shape::infer((0..n).map(|i| norm.record(i))).map_err(|(i, e)| {
        let record = norm.record(i);
        let (place, message) = syntax_error(record, norm.starts[i], &e);
        FormatError::Parse { file: name.to_string(), at: place.position(offsets, None), message: format!("invalid JSON: {message}") }
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
    let rest = if eof { None } else { Some(chunks) };
    let body = JsonBody { head, rest, lines, record_bytes, offsets, schema: Arc::new(inferred), json_text };
    Ok((Arc::new(Schema::new(fields)), body))
}

impl JsonBody {
    pub(crate) fn into_batches(self, name: String, target: SchemaRef, options: &ReadOptions) -> BatchStream {
        // Text columns whose values here are objects or arrays: stored as their JSON text.
        let mut json = HashSet::new();
        let mut structural = HashSet::new();
        for f in target.fields().iter().filter(|f| f.data_type() == &DataType::Utf8) {
            if self.json_text.contains(f.name()) {
                json.insert(f.name().clone());
            } else if options.text_columns.contains(f.name()) || self.schema.field_with_name(f.name()).is_ok_and(|own| own.data_type().is_nested()) {
                structural.insert(f.name().clone());
            }
        }
        let rewriter = (!json.is_empty() || !structural.is_empty()).then_some(Rewriter { json, structural });
        // Numbers and timestamps arrive as text and are converted exactly in `conform`.
        let decode_schema = Arc::new(Schema::new(
            target.fields().iter().map(|f| Field::new(f.name(), exact::decode_type(f.data_type(), true), true)).collect::<Vec<_>>(),
        ));
        let decoding = Arc::new(Decoding { name: name.clone(), offsets: self.offsets, target, decode_schema, rewriter, flat: true.into() });
        // Pieces of about a batch of records each.
        let piece_bytes = options.batch_size.saturating_mul(self.record_bytes).clamp(64 << 10, 64 << 20);
        let mode = match self.lines {
            true => Mode::Pieces(Cutter::new(piece_bytes)),
            false => Mode::Records(Normaliser::new()),
        };
        let splitter = Splitter {
            name: name.clone(),
            head: self.head.into(),
            rest: self.rest,
            offsets: self.offsets,
            batch_size: options.batch_size,
            mode,
            eof: false,
        };
        // The splitter runs here, in order. An NDJSON file is cut into pieces at places that are
        // certainly between records (`Cutter`), and each piece is split into records and decoded
        // in a task of its own; other JSON goes through one normaliser here, and its batches of
        // records are decoded in tasks. As many tasks run at once as there are cores, and the
        // batches come out in order (perf: the splitter on one core was a fifth of an NDJSON
        // load, and the other core idled behind it).
        let work = futures::stream::unfold(Some(splitter), |state| async move {
            let mut s = state?;
            match s.next_work().await {
                Ok(Some(w)) => Some((Ok(w), Some(s))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        let ahead = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
        let batches = work
            .map(move |w| {
                let (d, file) = (decoding.clone(), name.clone());
                async move {
                    let w = w?;
                    match tokio::runtime::Handle::try_current() {
                        Ok(rt) => rt.spawn(async move { d.work(w) }).await.unwrap_or_else(|e| {
                            let message = format!("decoding failed ({}); nothing was loaded", if e.is_panic() { "a bug in a library lakeport uses; please report it" } else { "cancelled" });
                            Err(FormatError::Read { file, message, cause: ReadCause::Bug })
                        }),
                        // Outside a tokio runtime: decoded in place.
                        Err(_) => d.work(w),
                    }
                }
            })
            .buffered(ahead);
        // The stream ends after its first error, as the batches are in order: the error is the
        // one a decoding in turn would have met first.
        let mut failed = false;
        batches
            .take_while(move |r| {
                let go = !failed;
                failed |= r.is_err();
                std::future::ready(go)
            })
            // (a piece of only whitespace, at the end of a file, has no records)
            .filter(|r| std::future::ready(r.as_ref().map_or(true, |b| b.num_rows() > 0)))
            .boxed()
    }
}

/// Cuts the file's text, in order, into the work the decoding tasks do.
struct Splitter {
    name: String,
    /// The text the sample read, then the rest of the file.
    head: std::collections::VecDeque<Bytes>,
    rest: Option<Chunks>,
    offsets: Offsets,
    batch_size: usize,
    mode: Mode,
    eof: bool,
}

/// How the splitter cuts the text.
enum Mode {
    /// NDJSON: into pieces.
    Pieces(Cutter),
    /// Into batches of records, all text through one normaliser (top-level arrays; NDJSON after
    /// a stretch with no place to cut).
    Records(Normaliser),
    /// The text has all been handed out, or an error ended it.
    Done,
}

/// What one decoding task does: split a piece of NDJSON into records, or take records split
/// already; then decode them into a batch.
enum Work {
    Piece(Piece),
    Records(Records),
}

/// NDJSON text that starts and ends between records (as far as valid JSON goes: see `Cutter`).
struct Piece {
    chunks: Vec<Bytes>,
    start: Place,
    /// Where the text after the piece starts (the `{` of the next record); `None`: the piece
    /// ends the file.
    next: Option<Place>,
}

/// Cuts NDJSON text into pieces without following its strings and brackets, so that pieces can
/// be split into records on every core. A cut is made at a line break between a `}` and a `{`
/// (with only whitespace around it): in valid JSON such a line break is outside every string
/// (JSON strings hold no raw line breaks) and at the top level (inside an object or array a `}`
/// is followed by `,`, `}` or `]`), so it is between two records. Where the text is not valid
/// JSON a cut can fall inside a record; splitting the piece before it then ends inside that
/// record, and that is a syntax error at the `{` after the cut (`piece_records`).
struct Cutter {
    /// Where the text in `pending` starts.
    start: Place,
    pending: Vec<Bytes>,
    /// Bytes in `pending`.
    len: usize,
    /// A cut is looked for once `pending` holds this many bytes.
    target: usize,
}

/// Past this many pieces' worth of text without a place to cut (records on one line, or one
/// huge record), the splitter goes on in record mode instead of holding the text.
const UNCUT_PIECES: usize = 8;

impl Cutter {
    fn new(target: usize) -> Self {
        Cutter { start: Place { line: 1, offset: 0 }, pending: Vec::new(), len: 0, target: target.max(1) }
    }

    fn push(&mut self, chunk: Bytes) {
        if !chunk.is_empty() {
            self.len += chunk.len();
            self.pending.push(chunk);
        }
    }

    /// The next piece, if `pending` holds `target` bytes and its last chunk has a place to cut
    /// past them (only the last chunk is searched: a place at a chunk's edge is skipped, not
    /// looked for across it).
    fn cut(&mut self) -> Option<Piece> {
        if self.len < self.target {
            return None;
        }
        let last = self.pending.last()?;
        // From where the text reaches `target` (the pieces would be a record each otherwise).
        let from = self.target.saturating_sub(self.len - last.len()).min(last.len());
        let next = memchr::memchr_iter(b'\n', &last[from..]).map(|i| from + i).find_map(|i| {
            let before = last[..i].iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\r'))?;
            let after = i + 1 + last[i + 1..].iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))?;
            (last[before] == b'}' && last[after] == b'{').then_some(after)
        })?;
        let rest = last.slice(next..);
        let tail = last.slice(..next);
        let mut chunks = std::mem::take(&mut self.pending);
        *chunks.last_mut().expect("the last chunk") = tail;
        let bytes = self.len - rest.len();
        let lines: usize = chunks.iter().map(|c| memchr::memchr_iter(b'\n', c).count()).sum();
        let start = self.start;
        self.start = Place { line: start.line + lines as u64, offset: start.offset + bytes as u64 };
        self.len = 0;
        self.push(rest);
        Some(Piece { chunks, start, next: Some(self.start) })
    }

    /// The text not yet cut, which ends the file.
    fn finish(self) -> Option<Piece> {
        (!self.pending.is_empty()).then_some(Piece { chunks: self.pending, start: self.start, next: None })
    }
}

/// The records of a piece of NDJSON text.
fn piece_records(file: &str, piece: &Piece, offsets: Offsets) -> Result<Records, FormatError> {
    let mut norm = Normaliser::fed(piece.start, &piece.chunks, file, offsets)?;
    match piece.next {
        None => norm.finish(file, offsets)?,
        Some(next) if norm.depth > 0 => {
            // The cut fell inside a record (see `Cutter`): after a `}` inside an object or array
            // comes `,` or its end, not the `{` after the line break. (The words are serde_json's,
            // which a record decoded whole would have been reported with.)
            let end = if norm.levels.last().is_some_and(|l| l.object) { '}' } else { ']' };
            return Err(FormatError::Parse { file: file.to_string(), at: next.position(offsets, None), message: format!("invalid JSON: expected `,` or `{end}`") });
        }
        Some(_) => {}
    }
    let n = norm.complete();
    Ok(norm.take(n))
}

/// What decoding a batch of records needs; shared by the tasks that decode batches.
struct Decoding {
    name: String,
    offsets: Offsets,
    target: SchemaRef,
    decode_schema: SchemaRef,
    rewriter: Option<Rewriter>,
    /// Records are decoded by `json_flat` first (until it does not take some).
    flat: std::sync::atomic::AtomicBool,
}

impl Splitter {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, FormatError> {
        if let Some(c) = self.head.pop_front() {
            return Ok(Some(c));
        }
        match self.rest.as_mut() {
            Some(r) => r.next().await,
            None => Ok(None),
        }
    }

    /// The next piece, or batch of at most `batch_size` records; `None` at the end of the file.
    async fn next_work(&mut self) -> Result<Option<Work>, FormatError> {
        loop {
            match std::mem::replace(&mut self.mode, Mode::Done) {
                Mode::Records(mut norm) => {
                    while !self.eof && norm.complete() < self.batch_size {
                        match self.next_chunk().await? {
                            Some(b) => norm.feed(&self.name, &b, self.offsets)?,
                            None => {
                                norm.finish(&self.name, self.offsets)?;
                                self.eof = true;
                            }
                        }
                    }
                    let records = norm.take(self.batch_size);
                    self.mode = Mode::Records(norm);
                    return Ok((!records.starts.is_empty()).then(|| Work::Records(records)));
                }
                Mode::Pieces(mut cutter) => {
                    if let Some(piece) = cutter.cut() {
                        self.mode = Mode::Pieces(cutter);
                        return Ok(Some(Work::Piece(piece)));
                    }
                    if cutter.len > cutter.target.saturating_mul(UNCUT_PIECES) {
                        // Too long without a place to cut: on in one pass from here.
                        self.mode = Mode::Records(Normaliser::fed(cutter.start, &cutter.pending, &self.name, self.offsets)?);
                        continue;
                    }
                    if self.eof {
                        return Ok(cutter.finish().map(Work::Piece));
                    }
                    match self.next_chunk().await? {
                        Some(c) => cutter.push(c),
                        None => self.eof = true,
                    }
                    self.mode = Mode::Pieces(cutter);
                }
                Mode::Done => return Ok(None),
            }
        }
    }
}

impl Decoding {
    fn work(&self, work: Work) -> Result<arrow_array::RecordBatch, FormatError> {
        match work {
            Work::Piece(p) => match self.flat_on().then(|| self.flat(&p.chunks.concat())).flatten() {
                Some(decoded) => {
                    // The records are split only to place a value that does not fit its column.
                    let records = std::cell::OnceCell::new();
                    let locate = |row: usize, column: &str| {
                        let records = records.get_or_init(|| piece_records(&self.name, &p, self.offsets).ok());
                        self.place(records.as_ref(), row, column)
                    };
                    conform_at(&self.name, decoded, &self.target, Some(&locate))
                }
                None => self.batch(piece_records(&self.name, &p, self.offsets)?),
            },
            Work::Records(r) => self.batch(r),
        }
    }

    fn flat_on(&self) -> bool {
        self.rewriter.is_none() && self.flat.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records (NDJSON text) decoded by `json_flat`, or `None` where that decoder does not take
    /// them (then it is not tried again for this file: its records are likely all of that kind).
    fn flat(&self, text: &[u8]) -> Option<arrow_array::RecordBatch> {
        if !self.flat_on() {
            return None;
        }
        let decoded = json_flat::decode(text, &self.decode_schema);
        if decoded.is_none() {
            self.flat.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        decoded
    }

    /// Where the value of `column` in record `row` of `records` is.
    fn place(&self, records: Option<&Records>, row: usize, column: &str) -> Position {
        match records.and_then(|r| r.iter().nth(row)) {
            Some((record, start)) => member_place(record, start, column).position(self.offsets, Some(column.to_string())),
            None => Position { column: Some(column.to_string()), ..Position::default() },
        }
    }

    /// The records as a batch of the target's columns and types.
    fn batch(&self, records: Records) -> Result<arrow_array::RecordBatch, FormatError> {
        let decoded = match &self.rewriter {
            None => self.flat(&records.bytes).map_or_else(|| decode(&self.decode_schema, &records.bytes, records.starts.len()), Ok),
            Some(_) => {
                let mut out = Vec::with_capacity(records.bytes.len() + records.bytes.len() / 4);
                for (record, start) in records.iter() {
                    self.rewrite(record, start, &mut out)?;
                }
                decode(&self.decode_schema, &out, records.starts.len())
            }
        };
        match decoded {
            Ok(b) => conform_at(&self.name, b, &self.target, Some(&|row: usize, column: &str| self.place(Some(&records), row, column))),
            Err(_) => Err(self.locate(&records)),
        }
    }
}

impl Decoding {
    /// A batch failed: decode its records one by one to find the first bad one, then place the
    /// error at what is wrong in it: a syntax error, or the value of the member arrow-json names.
    fn locate(&self, records: &Records) -> FormatError {
        for (record, start) in records.iter() {
            let mut rewritten = Vec::new();
            let decodable = match &self.rewriter {
                Some(_) => match self.rewrite(record, start, &mut rewritten) {
                    Ok(()) => &rewritten[..],
                    Err(e) => return e,
                },
                None => record,
            };
            let Err(e) = decode(&self.decode_schema, decodable, 1) else { continue };
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
            // strict mode: "column 'NAME' missing from schema" for a key the sample did not have.
            let new_key = column.is_none().then(|| msg.strip_prefix("column '").and_then(|r| r.strip_suffix("' missing from schema"))).flatten();
            let member = column.as_deref().or(new_key);
            let raw = member.and_then(|c| members.get(c));
            let offset = raw.and_then(|raw| (raw.get().as_ptr() as usize).checked_sub(record.as_ptr() as usize));
            let place = offset.map_or(start, |o| start.at(record, o));
            if let Some(key) = new_key {
                // A key first seen after the sample: its values would be dropped; refuse instead.
                return FormatError::Parse {
                    file: self.name.clone(),
                    at: place.position(self.offsets, Some(key.to_string())),
                    message: format!(
                        "key \"{key}\" is not among the columns inferred from the first records (it first appears here); enlarge the sample with --infer-rows"
                    ),
                };
            }
            if let (Some(column), Some(raw)) = (&column, raw) {
                // A value that does not fit the column's inferred type: the type fallback can make
                // the column text (objects and arrays then become their JSON text).
                let text = raw.get();
                let value = if text.len() > 80 { format!("{}…", &text[..text.char_indices().nth(77).map_or(text.len(), |(i, _)| i)]) } else { text.to_string() };
                let expected = self.target.field_with_name(column).map(|f| f.data_type().to_string()).unwrap_or_default();
                return FormatError::Value { file: self.name.clone(), at: place.position(self.offsets, Some(column.clone())), value, expected };
            }
            return FormatError::Parse {
                file: self.name.clone(),
                at: place.position(self.offsets, column),
                message: format!("{msg} (the column types were inferred from the first rows; enlarge the sample with --infer-rows or use --type-fallback)"),
            };
        }
        FormatError::Parse { file: self.name.clone(), at: Position::default(), message: "cannot decode a batch of records".into() }
    }

    /// One record with its JSON-text values turned into strings (see `json_shape::Rewriter`).
    fn rewrite(&self, record: &[u8], start: Place, out: &mut Vec<u8>) -> Result<(), FormatError> {
        let rw = self.rewriter.as_ref().expect("called with a rewriter");
        rw.record(record, out).map_err(|e| {
            let (place, message) = syntax_error(record, start, &e);
            FormatError::Parse { file: self.name.clone(), at: place.position(self.offsets, None), message: format!("invalid JSON: {message}") }
        })
    }
}

/// Where the value of member `column` of `record` (which starts at `start`) is; the record's
/// start if it has no such member. serde_json lends each member's raw value out of `record`:
/// its address gives the member's offset.
fn member_place(record: &[u8], start: Place, column: &str) -> Place {
    let offset = serde_json::from_slice::<BTreeMap<String, &RawValue>>(record)
        .ok()
        .and_then(|m| m.get(column).and_then(|raw| (raw.get().as_ptr() as usize).checked_sub(record.as_ptr() as usize)));
    offset.map_or(start, |o| start.at(record, o))
}

/// Decodes `bytes`, `rows` records, with arrow-json into a batch of `schema` (strict mode,
/// primitives coerced to text), after `surrogate_pairs_as_utf8`.
pub(crate) fn decode(schema: &SchemaRef, bytes: &[u8], rows: usize) -> Result<arrow_array::RecordBatch, arrow_schema::ArrowError> {
    let rewritten = surrogate_pairs_as_utf8(bytes);
    let bytes = rewritten.as_deref().unwrap_or(bytes);
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

/// arrow-json 58 joins an escaped UTF-16 surrogate pair (`\ud840\udc00`) with `|` where `+`
/// is meant (`char_from_surrogate_pair` in its tape.rs): a pair whose high half is D840 or above
/// loses a bit and silently becomes another character (U+20000 becomes U+10000; emoji, D83D, come
/// out right). So every escaped pair in a string is written as its character's UTF-8, the same
/// text, before arrow-json reads it. `None`: `json` has no escaped pair. (Escapes are followed as
/// JSON does: `\\ud840` is a backslash and `ud840`. Invalid JSON stays invalid: an escape outside
/// a string becomes a character outside a string.)
fn surrogate_pairs_as_utf8(json: &[u8]) -> Option<Vec<u8>> {
    let hex = |at: usize| json.get(at..at + 4).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u16::from_str_radix(h, 16).ok());
    let mut out: Option<Vec<u8>> = None;
    // `json[copied..]` is still to be copied to `out`.
    let mut copied = 0;
    let mut i = 0;
    while let Some(k) = json.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        i += k;
        let pair = (json.get(i + 1) == Some(&b'u') && json.get(i + 6..i + 8) == Some(&b"\\u"[..]))
            .then(|| Some((hex(i + 2)?, hex(i + 8)?)))
            .flatten()
            .filter(|(high, low)| (0xD800..=0xDBFF).contains(high) && (0xDC00..=0xDFFF).contains(low))
            .and_then(|(high, low)| char::from_u32(0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(low) - 0xDC00)));
        let Some(c) = pair else {
            // Any other escape: the backslash and the byte it escapes.
            i += 2;
            continue;
        };
        let out = out.get_or_insert_with(|| Vec::with_capacity(json.len()));
        out.extend_from_slice(&json[copied..i]);
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        i += 12;
        copied = i;
    }
    let mut out = out?;
    out.extend_from_slice(&json[copied..]);
    Some(out)
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

    /// What [`split`] found: the records and their places, or the error's text and place.
    type Split = Result<(Vec<String>, Vec<Place>), (String, Option<Position>)>;

    /// The records, or the error and its place, of `input` fed in pieces cut at `cuts`.
    fn split(input: &[u8], cuts: &[usize]) -> Split {
        let mut pieces = Vec::new();
        let mut from = 0;
        for &c in cuts.iter().chain([input.len()].iter()) {
            pieces.push(&input[from..c]);
            from = c;
        }
        records(&pieces).map_err(|e| (e.to_string(), e.position().cloned()))
    }

    /// Inputs for the splitter's tests: escapes, multi-line records, arrays, duplicate keys
    /// (top-level and nested, escaped), a raw line break in a string, a scalar, truncation.
    const SPLIT_INPUTS: &[&[u8]] = &[
        b"{\"a\":1,\"b\":\"x\\\"y\"}\n{\"a\":2,\"b\":\"\\\\\"}\n{\"b\":3,\"a\":{\"a\":[1,{\"c\":\"}\"}]}}\n",
        b"[\n {\"k\": \"v,}]\"},\r\n {\"k\":\n \"w\"}\n]\n",
        b"{\"a\":1,\"b\":2}\n{\"a\":1,\"b\":2}\n{\"a\":1,\"b\":2,\"a\":3}\n",
        b"{\"a\":1,\"b\":2}\n{\"b\":1,\"a\":2}\n{\"b\":1,\"a\":2,\"b\":3}\n",
        b"{\"a\":1,\"b\":2}\n{\"a\":1}\n{\"a\":1,\"c\":2,\"c\":3}\n",
        b"{\"a\":1,\"b\":2}\n{\"a\":1,\"b\":2,\"\\u0061\":3}\n",
        b"{\"a\\\"\":1}\n{\"a\\\"\":1,\"a\\\"\":2}\n",
        b"{\"a\":1,\"b\":2}\n{\"a\":{\"b\":1,\"b\":2}}\n",
        b"{\"a\":\"x\ny\"}\n",
        b"{\"a\":1}\n{\"a\":2}\n7\n",
        b"{\"a\":1}\n{\"a\":[1,2",
    ];

    /// The splitter skips over spans and checks keys against the previous record's; what it finds
    /// must not depend on where the input is cut into chunks (every cut into two pieces, and
    /// one-byte pieces), and every duplicate key is found wherever it is.
    #[test]
    fn records_and_errors_do_not_depend_on_chunk_boundaries() {
        let inputs = SPLIT_INPUTS;
        for input in inputs {
            let whole = split(input, &[]);
            for cut in 0..=input.len() {
                assert_eq!(split(input, &[cut]), whole, "{} cut at {cut}", String::from_utf8_lossy(input));
            }
            let bytes: Vec<usize> = (1..input.len()).collect();
            assert_eq!(split(input, &bytes), whole, "{} in single bytes", String::from_utf8_lossy(input));
        }
        let line = |input: &[u8]| split(input, &[]).unwrap_err().1.and_then(|p| p.line).map(NonZeroU64::get);
        for (input, key, at) in [(inputs[2], "a", 3), (inputs[3], "b", 3), (inputs[4], "c", 3), (inputs[5], "a", 2), (inputs[6], "a\\\"", 2), (inputs[7], "b", 2)] {
            let (msg, _) = split(input, &[]).unwrap_err();
            assert!(msg.contains(&format!("key \"{key}\" appears twice")), "{msg}");
            assert_eq!(line(input), Some(at), "{msg}");
        }
        let (r, _) = split(inputs[0], &[]).unwrap();
        assert_eq!(r.len(), 3);
        let (r, at) = split(inputs[1], &[]).unwrap();
        assert_eq!(r, vec!["{\"k\": \"v,}]\"}", "{\"k\":\n \"w\"}"]);
        assert_eq!(at.iter().map(|p| p.line).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(line(inputs[8]), Some(1));
        assert_eq!(line(inputs[9]), Some(3));
    }

    /// What the pieces of `input` (fed in `chunk`-byte chunks, cut with pieces of `target`
    /// bytes) give: their records and places in order, or the first error and its place.
    fn pieces(input: &[u8], chunk: usize, target: usize) -> (Split, usize) {
        let mut cutter = Cutter::new(target);
        let mut pieces = Vec::new();
        for c in input.chunks(chunk) {
            cutter.push(Bytes::copy_from_slice(c));
            while let Some(p) = cutter.cut() {
                pieces.push(p);
            }
        }
        pieces.extend(cutter.finish());
        let n = pieces.len();
        let (mut recs, mut at) = (Vec::new(), Vec::new());
        for p in &pieces {
            match piece_records("t.json", p, Offsets::SAME) {
                Ok(r) => {
                    recs.extend(r.iter().map(|(b, _)| String::from_utf8(b.to_vec()).unwrap().trim_end().to_string()));
                    at.extend(r.starts.iter().copied());
                }
                Err(e) => return (Err((e.to_string(), e.position().cloned())), n),
            }
        }
        (Ok((recs, at)), n)
    }

    /// NDJSON cut into pieces split on their own gives the records, places and errors of one
    /// pass over the whole text, wherever the chunks end and however small the pieces.
    #[test]
    fn pieces_give_what_one_pass_gives() {
        let inputs: &[&[u8]] = &[
            b"{\"a\":1,\"b\":\"x\\\"y\"}\n{\"a\":2,\"b\":\"\\\\\"}\n{\"b\":3,\"a\":{\"a\":[1,{\"c\":\"}\"}]}}\n",
            b"{\"a\": 1}\r\n\r\n  {\"a\": 2} \n\t{\"s\": \"}\\n{\"}\n{\"a\":\n {\"b\": [1,\n2]}\n}\n",
            b"{\"a\":1,\"b\":2}\n{\"a\":1,\"b\":2}\n{\"a\":1,\"b\":2,\"a\":3}\n",
            b"{\"a\":1}\n{\"a\":2}\n7\n{\"a\":3}\n",
            b"{\"a\":1}\n{\"a\":\"x\ny\"}\n{\"a\":3}\n",
            b"{\"a\":1}\n{\"a\":[1,2",
            b"{\"a\":1}\n{\"a\":2}}\n{\"a\":3}\n",
            b"{\"a\":1}\n\n\n",
        ];
        // (and the one-pass splitter's NDJSON inputs)
        let ndjson = SPLIT_INPUTS.iter().filter(|i| i.first() == Some(&b'{'));
        for input in inputs.iter().chain(ndjson) {
            let whole = split(input, &[]);
            for target in [1, 3, 10, usize::MAX] {
                for chunk in [1, 2, 5, 16, input.len()] {
                    let (got, _) = pieces(input, chunk, target);
                    assert_eq!(got, whole, "{} in {chunk}-byte chunks, pieces of {target}", String::from_utf8_lossy(input));
                }
            }
        }
        // Small pieces do cut: one per record here.
        assert_eq!(pieces(inputs[1], inputs[1].len(), 1).1, 4);
        // A cut inside a record (invalid JSON: a `}` then a `{` on the next line, inside an
        // object or array) is the syntax error there, at the `{`.
        for (input, message) in [
            (&b"{\"a\":1}\n{\"a\":{\"b\":1}\n{\"c\":2}}\n"[..], "expected `,` or `}`"),
            (&b"{\"a\":1}\n{\"a\":[{\"b\":1}\n{\"c\":2}]}\n"[..], "expected `,` or `]`"),
        ] {
            {
                let (got, _) = pieces(input, input.len(), 1);
                let (msg, at) = got.unwrap_err();
                let brace = input.windows(4).position(|w| w == b"{\"c\"").unwrap() as u64;
                assert!(msg.contains(message), "{msg}");
                assert_eq!(at.map(|p| (p.line.map(NonZeroU64::get), p.byte)), Some((Some(3), Some(brace))), "{msg}");
                // One pass finds the same error at the same place (through the decoder; see `locate`).
                let record = &input[8..];
                let e = serde_json::from_slice::<serde_json::Value>(record).unwrap_err();
                let (place, m) = syntax_error(record, Place { line: 2, offset: 8 }, &e);
                assert_eq!((place.line, place.offset, format!("invalid JSON: {m}")), (3, brace, msg.split(": ").skip(1).collect::<Vec<_>>().join(": ")));
            }
        }
    }

    /// Escaped surrogate pairs decode to their character (arrow-json alone turns D840 and above
    /// into another one: see `surrogate_pairs_as_utf8`), and what is not a pair is left alone.
    #[test]
    fn escaped_surrogate_pairs_keep_their_character() {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let cases = [
            ("\\ud840\\udc00", "\u{20000}"),
            ("\\uD83D\\uDE00", "\u{1F600}"),
            ("\\udbff\\udfff", "\u{10FFFF}"),
            ("a\\ud87e\\udc04\\ud800\\udc00b", "a\u{2F804}\u{10000}b"),
            // an escaped backslash, then the letters; then a pair right after it
            ("\\\\ud840x", "\\ud840x"),
            ("x\\\\\\ud840\\udc00y", "x\\\u{20000}y"),
            ("\\u00e9\\n\\\"", "\u{e9}\n\""),
        ];
        for (escaped, want) in cases {
            let text = format!("{{\"s\": \"{escaped}\"}}\n");
            let by_serde: String = serde_json::from_str(&format!("\"{escaped}\"")).unwrap();
            assert_eq!(by_serde, want, "{escaped}");
            let b = decode(&schema, text.as_bytes(), 1).unwrap();
            assert_eq!(b.column(0).as_any().downcast_ref::<arrow_array::StringArray>().unwrap().value(0), want, "{escaped}");
            assert_eq!(json_flat::decode(text.as_bytes(), &schema).unwrap(), b, "{escaped}");
        }
        assert!(surrogate_pairs_as_utf8(b"{\"s\": \"\\u00e9 \\\\ud840\"}").is_none(), "nothing to rewrite");
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
