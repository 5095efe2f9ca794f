//! Flat NDJSON records decoded straight into Arrow text columns, in one pass.
//!
//! arrow-json is the reference decoder (`json_reader::decode`): it builds a tape of the text,
//! then arrays from the tape, after the splitter has copied each record once. For the common
//! shape of an event log (one object per record, whose values are strings, numbers, booleans
//! and nulls, every column decoded as text or boolean; `exact::decode_type`) that is three
//! copies of each value and a field lookup per member (perf: about 60 % of the CPU of an NDJSON
//! load; bench/results/ndjson-flat.md has the load after). This decoder reads such text once and
//! appends each value to its column's builder.
//!
//! It takes only text it can decode exactly as the reference decoder does (arrow-json in strict
//! mode, primitives coerced to text, escaped surrogate pairs written out first), and gives up
//! (`None`) on anything else: a key that is not a column, a key twice in a record, an escaped
//! key, an object or array value, a number outside JSON's grammar, a control character or an
//! escape serde_json refuses in a string, invalid UTF-8, text that is not whole records. The
//! caller then decodes the same text the reference way, which reports what is wrong where it
//! is. So this module never decides an error, and whatever it returns is what the reference
//! decoder returns for the same text (tested side by side below). arrow-json has no such path:
//! this is the smallest piece on top of it, in this one place.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};

/// Decodes `text`, NDJSON records (objects separated by JSON whitespace), into a batch of
/// `schema`, whose columns must all be `Utf8` or `Boolean`. In a `Utf8` column a string member
/// gives its unescaped text, a number the number as written, `true`/`false` those words; in a
/// `Boolean` column only `true` and `false` are taken; a `null` or missing member gives NULL.
/// `None`: the text or the schema is outside what this decoder takes (module doc).
pub(crate) fn decode(text: &[u8], schema: &SchemaRef) -> Option<RecordBatch> {
    // (A name with a quote, backslash or control character is written escaped as a key: no
    // key here is taken as equal to it.)
    if schema.fields().iter().any(|f| !matches!(f.data_type(), DataType::Utf8 | DataType::Boolean) || f.name().bytes().any(|b| STRING_STOP[b as usize])) {
        return None;
    }
    // A text column's values, all in the text, then stay within the i32 offsets of a StringArray
    // (past them the builder would panic; arrow-json returns an error).
    if text.len() > i32::MAX as usize {
        return None;
    }
    // Every slice taken below starts and ends at an ASCII byte, so it is valid UTF-8 too.
    let utf8 = std::str::from_utf8(text).ok()?;
    let names: Vec<&[u8]> = schema.fields().iter().map(|f| f.name().as_bytes()).collect();
    // About one row per line, and the text's bytes shared among the columns.
    let rows = memchr::memchr_iter(b'\n', text).count() + 1;
    let mut columns: Vec<Column> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Boolean => Column::Boolean(BooleanBuilder::with_capacity(rows)),
            _ => Column::Text(StringBuilder::with_capacity(rows, text.len() / names.len().max(1))),
        })
        .collect();
    let mut p = Parser { text, utf8, at: 0 };
    let mut row: u32 = 0;
    // The record number that set each column last: a second member for it in one record is a
    // duplicate key, and a column not set by the end of a record is NULL.
    let mut set: Vec<u32> = vec![u32::MAX; names.len()];
    // The previous record's columns in key order: rows of one file mostly repeat it, so a key
    // is first compared with the column expected in its place (perf: a lookup by name per
    // member was arrow-json's 3.5 %).
    let mut order: Vec<usize> = Vec::with_capacity(names.len());
    loop {
        p.skip_whitespace();
        if p.at == text.len() {
            break;
        }
        p.byte(b'{')?;
        p.skip_whitespace();
        let mut k = 0;
        if !p.eat(b'}') {
            loop {
                let column = match order.get(k) {
                    Some(&c) if p.key_is(names[c]) => c,
                    _ => {
                        let key = p.key()?;
                        let c = names.iter().position(|n| *n == key)?;
                        order.truncate(k);
                        order.push(c);
                        c
                    }
                };
                if set[column] == row {
                    return None;
                }
                set[column] = row;
                k += 1;
                p.skip_whitespace();
                p.byte(b':')?;
                p.skip_whitespace();
                match &mut columns[column] {
                    Column::Text(b) => p.value(b)?,
                    Column::Boolean(b) => p.boolean(b)?,
                }
                p.skip_whitespace();
                if p.eat(b'}') {
                    break;
                }
                p.byte(b',')?;
                p.skip_whitespace();
            }
        }
        order.truncate(k);
        for (c, s) in set.iter().enumerate() {
            if *s != row {
                match &mut columns[c] {
                    Column::Text(b) => b.append_null(),
                    Column::Boolean(b) => b.append_null(),
                }
            }
        }
        row = row.checked_add(1).filter(|&r| r != u32::MAX)?;
    }
    let arrays: Vec<ArrayRef> = columns
        .iter_mut()
        .map(|c| match c {
            Column::Text(b) => Arc::new(b.finish()) as ArrayRef,
            Column::Boolean(b) => Arc::new(b.finish()) as ArrayRef,
        })
        .collect();
    RecordBatch::try_new(schema.clone(), arrays).ok()
}

/// A column being decoded, by its decode type.
enum Column {
    Text(StringBuilder),
    Boolean(BooleanBuilder),
}

/// The bytes that end a plain string's text: a quote, a backslash, a control character.
const STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

struct Parser<'a> {
    text: &'a [u8],
    /// `text`, checked as UTF-8 once.
    utf8: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn skip_whitespace(&mut self) {
        while self.at < self.text.len() && matches!(self.text[self.at], b' ' | b'\n' | b'\r' | b'\t') {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.text.get(self.at) == Some(&b);
        self.at += hit as usize;
        hit
    }

    fn byte(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    /// Whether the next key is `name` (which has no quote, backslash or control character);
    /// if so, it is read. (perf: a search for the key's end and a call to compare it were 10 %
    /// of this decoder.)
    fn key_is(&mut self, name: &[u8]) -> bool {
        let end = self.at + 1 + name.len();
        let hit = self.text.get(end) == Some(&b'"')
            && self.text[self.at] == b'"'
            && self.text[self.at + 1..end].iter().zip(name).all(|(a, b)| a == b);
        if hit {
            self.at = end + 1;
        }
        hit
    }

    /// A key without escapes, its text between the quotes.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.byte(b'"')?;
        let start = self.at;
        let end = self.string_stop(start)?;
        if self.text[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        Some(&self.text[start..end])
    }

    /// The first quote, backslash or control character at or after `start` in a string's text
    /// (keys and values alike). Most strings are short and plain: one pass to their end (perf: a
    /// vector search for the quote, then another for control characters, cost more on strings
    /// this short).
    fn string_stop(&self, start: usize) -> Option<usize> {
        Some(start + self.text.get(start..)?.iter().position(|&b| STRING_STOP[b as usize])?)
    }

    /// A member's value, appended to `column` as arrow-json's text decoder with primitives
    /// coerced appends it.
    fn value(&mut self, column: &mut StringBuilder) -> Option<()> {
        let rest = &self.text[self.at..];
        match *rest.first()? {
            b'"' => self.string(column),
            b'n' if rest.starts_with(b"null") => {
                self.at += 4;
                column.append_null();
                Some(())
            }
            b't' if rest.starts_with(b"true") => {
                self.at += 4;
                column.append_value("true");
                Some(())
            }
            b'f' if rest.starts_with(b"false") => {
                self.at += 5;
                column.append_value("false");
                Some(())
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.number()?;
                column.append_value(self.str(start, self.at)?);
                Some(())
            }
            _ => None,
        }
    }

    /// A member's value for a boolean column: `true`, `false` or `null` (arrow-json refuses
    /// anything else there, a string or number too).
    fn boolean(&mut self, column: &mut BooleanBuilder) -> Option<()> {
        let rest = &self.text[self.at..];
        let (value, n) = match *rest.first()? {
            b't' if rest.starts_with(b"true") => (Some(true), 4),
            b'f' if rest.starts_with(b"false") => (Some(false), 5),
            b'n' if rest.starts_with(b"null") => (None, 4),
            _ => return None,
        };
        self.at += n;
        column.append_option(value);
        Some(())
    }

    fn string(&mut self, column: &mut StringBuilder) -> Option<()> {
        let open = self.at;
        let start = open + 1;
        let mut end = self.string_stop(start)?;
        match self.text[end] {
            b'"' => {
                self.at = end + 1;
                column.append_value(self.str(start, end)?);
                return Some(());
            }
            b'\\' => {}
            // A control character, which JSON strings hold only escaped.
            _ => return None,
        }
        // Escapes are rare: serde_json unescapes, and refuses control characters, bad escapes
        // and lone surrogates. (The escaped byte is never the closing quote.)
        loop {
            end += 2;
            end += memchr::memchr2(b'"', b'\\', self.text.get(end..)?)?;
            if self.text[end] == b'"' {
                break;
            }
        }
        self.at = end + 1;
        let s: String = serde_json::from_slice(&self.text[open..=end]).ok()?;
        column.append_value(s);
        Some(())
    }

    /// A number in JSON's grammar (RFC 8259 §6): `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        if !self.eat(b'0') {
            if !matches!(self.text.get(self.at), Some(b'1'..=b'9')) {
                return None;
            }
            self.digits();
        }
        if self.eat(b'.') && self.digits() == 0 {
            return None;
        }
        if self.eat(b'e') || self.eat(b'E') {
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // A number ends at a delimiter: `1x` or `01` is no number.
        match self.text.get(self.at) {
            None | Some(b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}') => Some(()),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let n = self.text[self.at..].iter().take_while(|b| b.is_ascii_digit()).count();
        self.at += n;
        n
    }

    /// `text[start..end]`, both ends at ASCII bytes (so at character boundaries).
    fn str(&self, start: usize, end: usize) -> Option<&'a str> {
        self.utf8.get(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_schema::{Field, Schema};

    fn schema(names: &[&str]) -> SchemaRef {
        Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>()))
    }

    /// `schema(names)` with column `boolean` decoded as booleans.
    fn with_boolean(names: &[&str], boolean: &str) -> SchemaRef {
        let fields = schema(names).fields().iter().map(|f| if f.name() == boolean { f.as_ref().clone().with_data_type(DataType::Boolean) } else { f.as_ref().clone() }).collect::<Vec<_>>();
        Arc::new(Schema::new(fields))
    }

    /// The reference: arrow-json as `json_reader` runs it.
    fn reference(text: &[u8], schema: &SchemaRef) -> Result<RecordBatch, String> {
        let rows = text.iter().filter(|&&b| b == b'{').count();
        crate::json_reader::decode(schema, text, rows).map_err(|e| e.to_string())
    }

    /// `text` is taken, and decodes to what arrow-json decodes it to.
    #[track_caller]
    fn same(text: &str, schema: &SchemaRef) -> RecordBatch {
        let flat = decode(text.as_bytes(), schema).unwrap_or_else(|| panic!("not taken: {text:?}"));
        let reference = reference(text.as_bytes(), schema).unwrap_or_else(|e| panic!("arrow-json refuses {text:?}: {e}"));
        assert_eq!(flat, reference, "{text:?}");
        flat
    }

    #[test]
    fn flat_records_decode_as_arrow_json_decodes_them() {
        let s = schema(&["id", "name", "cost", "ok", "ts"]);
        let texts = [
            "{\"id\": 1, \"name\": \"a\", \"cost\": 1.50, \"ok\": true, \"ts\": \"2024-01-01T00:00:00.000\"}\n{\"id\": 2, \"name\": \"b\", \"cost\": null, \"ok\": false, \"ts\": null}\n",
            // numbers as written: signs, zeros, fractions, exponents, beyond i64 and f64
            "{\"id\":-0}\n{\"id\":0.0}\n{\"id\":1e5}\n{\"id\":-1.25E-3}\n{\"id\":2e+10}\n{\"id\":123456789012345678901234567890}\n{\"id\":1e400}\n",
            // escapes, raw and escaped non-ASCII, a surrogate pair, an empty string
            "{\"name\": \"say \\\"hi\\\" \\\\ \\/ \\b\\f\\n\\r\\t\"}\n{\"name\": \"caf\u{e9} \\u00e9 \\ud83d\\ude00 \u{1F600}\"}\n{\"name\": \"\"}\n{\"name\": \"\\u0000\"}\n",
            // a pair arrow-json alone would turn into another character (json_reader::decode)
            "{\"name\": \"\\ud840\\udc00 \\uDBFF\\uDFFF\"}\n",
            // keys in another order, missing keys, an empty record, whitespace and CRLF
            "{\"ts\": \"t\", \"id\": 3}\r\n\r\n{ }\n  {\"name\":\"x\"}{\"id\":4}\n\t{ \"ok\" : true , \"id\" : 5 }\n",
            // no trailing line break, only whitespace
            "{\"id\": 6}",
            " \n ",
            "",
        ];
        for text in texts {
            same(text, &s);
            same(text, &with_boolean(&["id", "name", "cost", "ok", "ts"], "ok"));
        }
        let b = same("{\"id\": 1e5, \"name\": \"caf\\u00e9\"}\n{}\n", &s);
        let names = b.column(1).as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
        assert_eq!((names.value(0), names.is_null(1)), ("café", true));
        let ids = b.column(0).as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
        assert_eq!(ids.value(0), "1e5");
    }

    #[test]
    fn what_it_does_not_take_is_left_to_arrow_json() {
        let s = schema(&["id", "name"]);
        let texts = [
            "{\"id\": {\"a\": 1}}\n",          // an object value
            "{\"id\": [1]}\n",                 // an array value
            "{\"id\": 1, \"id\": 2}\n",        // a key twice
            "{\"id\": 1, \"\\u0069d\": 2}\n",  // an escaped key (the same key twice, too)
            "{\"other\": 1}\n",                // a key that is no column
            "{\"id\": 01}\n",
            "{\"id\": 1.}\n",
            "{\"id\": .5}\n",
            "{\"id\": -}\n",
            "{\"id\": 1e}\n",
            "{\"id\": +1}\n",
            "{\"id\": 1x}\n",
            "{\"id\": NaN}\n",
            "{\"id\": Infinity}\n",
            "{\"id\": nul}\n",
            "{\"name\": \"\\ud800\"}\n",      // a lone surrogate
            "{\"name\": \"\\x\"}\n",          // no such escape
            "{\"name\": \"a\tb\"}\n",         // a raw control character
            "{\"name\": \"a\nb\"}\n",
            "{\"name\": \"a\\\"}\n",          // the string does not end
            "{\"id\": 1}\n{\"id\": 2\n",      // the text ends inside a record
            "{\"id\": 1}}\n",
            "1\n",
            "[{\"id\": 1}]\n",
            "{\"id\" 1}\n",
            "{\"id\": 1,}\n",
            "{,}\n",
            "{\"id\": 1}\u{c}\n",            // form feed is no JSON whitespace
        ];
        for text in texts {
            assert!(decode(text.as_bytes(), &s).is_none(), "taken: {text:?}");
        }
        assert!(decode(b"{\"name\": \"\xff\"}\n", &s).is_none(), "invalid UTF-8 taken");
        // A boolean column takes only true, false and null.
        for value in ["\"true\"", "1", "0", "tru", "True"] {
            let text = format!("{{\"id\": {value}}}\n");
            assert!(decode(text.as_bytes(), &with_boolean(&["id"], "id")).is_none(), "taken: {text:?}");
        }
        let typed = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
        assert!(decode(b"{\"id\": 1}\n", &typed).is_none(), "a column not decoded as text taken");
        // A column name that a key can only hold escaped.
        assert!(decode(b"{\"a\\\"b\": 1}\n", &schema(&["a\"b"])).is_none(), "a name with a quote taken");
    }

    /// Valid records with one byte changed, many times over: whatever the decoder takes,
    /// arrow-json takes too and decodes to the same batch.
    #[test]
    fn it_never_takes_what_arrow_json_decodes_otherwise() {
        for s in [schema(&["a", "b", "c"]), with_boolean(&["a", "b", "c"], "c")] {
            mutated_records_agree(&s);
        }
    }

    fn mutated_records_agree(s: &SchemaRef) {
        let base = "{\"a\": \"x\\\"y\", \"b\": -12.5e3, \"c\": true}\n{\"b\": null, \"a\": \"\u{e9}\"}\n{\"c\": false, \"a\": \"\\u00e9\", \"b\": 0}\n{}\n";
        let alphabet = b"{}[],:\"\\ \n\t0123456789-+.eEtrufalsnabcx\x01\xc3";
        let mut rng = fastrand::Rng::with_seed(7);
        let (mut taken, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut text = base.as_bytes().to_vec();
            for _ in 0..rng.usize(1..=2) {
                let i = rng.usize(..text.len());
                match rng.u8(..3) {
                    0 => text[i] = alphabet[rng.usize(..alphabet.len())],
                    1 => {
                        text.remove(i);
                    }
                    _ => text.insert(i, alphabet[rng.usize(..alphabet.len())]),
                }
            }
            match decode(&text, s) {
                Some(flat) => {
                    taken += 1;
                    let reference = reference(&text, s).unwrap_or_else(|e| panic!("taken, arrow-json refuses {:?}: {e}", String::from_utf8_lossy(&text)));
                    assert_eq!(flat, reference, "{:?}", String::from_utf8_lossy(&text));
                }
                None => refused += 1,
            }
        }
        // Both outcomes were met many times over (the test would say nothing otherwise).
        assert!(taken > 1000 && refused > 1000, "taken {taken}, refused {refused}");
    }
}
