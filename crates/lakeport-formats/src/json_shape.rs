//! JSON schema inference over the raw text of sampled records, and the JSON-text rewrite.
//!
//! arrow-json's own inference reads numbers as doubles (a 20-digit integer or a 22-digit decimal
//! silently becomes a Float64 column), gives `{}` an empty struct that no Parquet writer stores,
//! and fails the file on a key whose values mix objects and scalars. So lakeport infers from the
//! records' raw text (serde_json's `RawValue`: numbers keep every digit) with the rules of `infer`
//! for numbers and strings, and one more rule for shapes:
//!
//! - a key whose values mix scalar kinds (`1` and `"a"`) is text, each value as written (`1`, `a`);
//! - a key whose values cannot share one typed shape — an object or array next to a scalar or
//!   the other, an object that never has a key (`{}`), nesting deeper than 16 levels, anything
//!   containing such a value — is a
//!   **JSON text** column: every non-null value is stored as its compact JSON text (`{}`,
//!   `[1,"a"]`, `"x"`). [`Rewriter`] turns those values into JSON strings before arrow-json
//!   decodes the record.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::infer::{classify_temporal, ColumnStats, Temporal};

/// Values nested deeper than this (lists and objects) are kept as JSON text: Arrow's casts and
/// type comparisons recurse once per level, and a typed column 40 levels deep is of no use in SQL.
const MAX_DEPTH: usize = 16;

/// One JSON object with its keys in file order, values as raw text.
pub(crate) struct RawObject<'a>(pub Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawObject<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    entries.push((k, v));
                }
                Ok(RawObject(entries))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// What the sampled values of one key (or list item) look like.
#[derive(Clone, Debug, Default)]
enum Shape {
    #[default]
    Null,
    Bool,
    Number(ColumnStats),
    Str(StrStats),
    List(Box<Shape>),
    Object(Vec<(String, Shape)>),
    /// Scalars of different kinds: text.
    MixedScalars,
    /// No typed shape fits: JSON text.
    Json,
}

#[derive(Clone, Debug)]
struct StrStats {
    date: bool,
    naive: bool,
    zoned: bool,
}

impl Shape {
    /// The shape of one value at nesting `depth` (0: a record's member). Past `MAX_DEPTH` an
    /// object or array is JSON text without being looked into: the walk stays shallow (no stack
    /// overflow on a hostile file) and linear.
    fn of(raw: &RawValue, depth: usize) -> Result<Shape, serde_json::Error> {
        let text = raw.get();
        if depth > MAX_DEPTH && matches!(text.as_bytes().first(), Some(b'[' | b'{')) {
            return Ok(Shape::Json);
        }
        Ok(match text.as_bytes().first() {
            Some(b'n') => Shape::Null,
            Some(b't' | b'f') => Shape::Bool,
            Some(b'"') => {
                let s: String = serde_json::from_str(text)?;
                let t = classify_temporal(&s);
                Shape::Str(StrStats { date: t == Temporal::Date, naive: matches!(t, Temporal::Naive | Temporal::Date), zoned: t == Temporal::Zoned })
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text)?;
                let mut item = Shape::Null;
                for i in items {
                    item = item.merge(Shape::of(i, depth + 1)?);
                }
                Shape::List(Box::new(item))
            }
            Some(b'{') => {
                let obj: RawObject = serde_json::from_str(text)?;
                let mut fields = Shape::Object(Vec::new());
                for (k, v) in obj.0 {
                    fields = fields.merge(Shape::Object(vec![(k, Shape::of(v, depth + 1)?)]));
                }
                fields
            }
            _ => {
                let mut stats = ColumnStats::default();
                stats.add(text);
                Shape::Number(stats)
            }
        })
    }

    fn merge(self, other: Shape) -> Shape {
        use Shape::*;
        match (self, other) {
            (Null, x) | (x, Null) => x,
            (Json, _) | (_, Json) => Json,
            (Bool, Bool) => Bool,
            (Number(mut a), Number(b)) => {
                a.merge(&b);
                Number(a)
            }
            (Str(a), Str(b)) => Str(StrStats { date: a.date && b.date, naive: a.naive && b.naive, zoned: a.zoned && b.zoned }),
            (List(a), List(b)) => List(Box::new(a.merge(*b))),
            (Object(mut a), Object(b)) => {
                for (k, v) in b {
                    match a.iter_mut().find(|(n, _)| *n == k) {
                        Some((_, s)) => *s = std::mem::take(s).merge(v),
                        None => a.push((k, v)),
                    }
                }
                Object(a)
            }
            (x, y) if x.is_scalar() && y.is_scalar() => MixedScalars,
            _ => Json,
        }
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Shape::Bool | Shape::Number(_) | Shape::Str(_) | Shape::MixedScalars)
    }

    /// The Arrow type, or `None` where only JSON text holds the values.
    fn data_type(&self) -> Option<DataType> {
        self.data_type_at(0)
    }

    fn data_type_at(&self, depth: usize) -> Option<DataType> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self {
            Shape::Null => DataType::Null,
            Shape::Bool => DataType::Boolean,
            Shape::Number(stats) => stats.data_type(),
            Shape::Str(s) if s.date => DataType::Date32,
            Shape::Str(s) if s.naive => DataType::Timestamp(TimeUnit::Microsecond, None),
            Shape::Str(s) if s.zoned => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            Shape::Str(_) | Shape::MixedScalars => DataType::Utf8,
            Shape::List(item) => DataType::List(Arc::new(Field::new("item", item.data_type_at(depth + 1)?, true))),
            Shape::Object(fields) if fields.is_empty() => return None,
            Shape::Object(fields) => {
                let fields: Option<Vec<Field>> = fields.iter().map(|(n, s)| Some(Field::new(n, s.data_type_at(depth + 1)?, true))).collect();
                DataType::Struct(Fields::from(fields?))
            }
            Shape::Json => return None,
        })
    }
}

/// The schema of sampled records (each one JSON object), and the columns that hold JSON text.
/// `Err((record index, error))` for a record that is not valid JSON.
pub(crate) fn infer<'a>(records: impl Iterator<Item = &'a [u8]>) -> Result<(Schema, HashSet<String>), (usize, serde_json::Error)> {
    let mut columns = Shape::Object(Vec::new());
    for (i, r) in records.enumerate() {
        let raw: &RawValue = serde_json::from_slice(r.trim_ascii_end()).map_err(|e| (i, e))?;
        columns = columns.merge(Shape::of(raw, 0).map_err(|e| (i, e))?);
    }
    let Shape::Object(columns) = columns else { unreachable!("records are objects (the normaliser checks)") };
    let mut json_text = HashSet::new();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, shape)| {
            let t = shape.data_type().unwrap_or_else(|| {
                json_text.insert(name.clone());
                DataType::Utf8
            });
            Field::new(name, t, true)
        })
        .collect();
    Ok((Schema::new(fields), json_text))
}

/// Rewrites records so that values of text columns that JSON text must hold become JSON
/// strings with their compact JSON text; other values pass unchanged. Only used for files that
/// have such columns.
pub(crate) struct Rewriter {
    /// JSON-text columns: every non-null value as JSON text (`"x"` keeps its quotes).
    pub json: HashSet<String>,
    /// Text columns (forced or by fallback) whose values may be objects or arrays: those become
    /// their JSON text, scalars stay as they are (arrow-json writes them as text).
    pub structural: HashSet<String>,
}

impl Rewriter {
    /// One record (one JSON object) rewritten as one line ending in '\n'.
    pub(crate) fn record(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let obj: RawObject = serde_json::from_slice(record.trim_ascii_end())?;
        out.push(b'{');
        for (i, (k, v)) in obj.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, k)?;
            out.push(b':');
            let raw = v.get();
            let stringify = (self.json.contains(k) && raw != "null") || (self.structural.contains(k) && (raw.starts_with('{') || raw.starts_with('[')));
            if stringify {
                serde_json::to_writer(&mut *out, &compact(raw))?;
            } else {
                out.extend_from_slice(v.get().as_bytes());
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

/// JSON text without the whitespace between tokens (strings kept as written): the canonical
/// form JSON-text columns store.
fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escape) = (false, false);
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(records: &[&str]) -> (Vec<(String, DataType)>, Vec<String>) {
        let (s, j) = infer(records.iter().map(|r| r.as_bytes())).unwrap();
        let mut j: Vec<String> = j.into_iter().collect();
        j.sort();
        (s.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect(), j)
    }

    #[test]
    fn numbers_keep_every_digit() {
        let (s, _) = schema(&[r#"{"span_id":18446744073709551615}"#, r#"{"span_id":9223372036854775808}"#, r#"{"span_id":42}"#]);
        assert_eq!(s, vec![("span_id".into(), DataType::Decimal128(38, 0))]);
        let (s, _) = schema(&[r#"{"x":0.1000000000000000055511}"#, r#"{"x":1.5}"#]);
        assert_eq!(s[0].1, DataType::Decimal128(38, 22));
        let (s, _) = schema(&[r#"{"x":1e400}"#]);
        assert_eq!(s[0].1, DataType::Utf8);
        let (s, _) = schema(&[r#"{"x":1,"y":"2024-01-01T00:00:00Z","z":"2024-01-01T00:00:00.123456789"}"#]);
        assert_eq!(s, vec![("x".into(), DataType::Int64), ("y".into(), DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))), ("z".into(), DataType::Utf8)]);
    }

    #[test]
    fn shapes_without_a_typed_form_are_json_text() {
        let (s, j) = schema(&[r#"{"id":1,"meta":{},"mixed":[1,"a"],"deep":{"a":[{}]},"obj_or_num":{"a":1},"ok":{"a":null}}"#, r#"{"id":2,"obj_or_num":3}"#]);
        assert_eq!(j, vec!["deep", "meta", "obj_or_num"]);
        let types: Vec<DataType> = s.iter().map(|(_, t)| t.clone()).collect();
        assert_eq!(types[2], DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), "mixed scalars in a list are text");
        assert_eq!(types[5], DataType::Struct(Fields::from(vec![Field::new("a", DataType::Null, true)])));
        let r = Rewriter { json: j.into_iter().collect(), structural: HashSet::new() };
        let mut out = Vec::new();
        r.record(b"{\"id\": 1, \"meta\": { },\n \"deep\": {\"a\": [ {} ]}, \"obj_or_num\": null}\n", &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\"id\":1,\"meta\":\"{}\",\"deep\":\"{\\\"a\\\":[{}]}\",\"obj_or_num\":null}\n");
    }
}
