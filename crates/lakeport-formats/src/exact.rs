//! Lossless conversion of source text into column types: the one place that decides whether a
//! value fits a type *exactly*.
//!
//! Why this exists: arrow-csv and arrow-json parse numbers and timestamps with rounding or
//! truncation (a 22-digit decimal becomes the nearest double, `1.5` read into an integer column
//! becomes `1` through arrow-json's `NumCast`, nanoseconds are cut to microseconds). lakeport's
//! promise is that a loaded value, written back as text, equals the source value in canonical
//! number form — or the load fails naming file, line and column. So the text readers decode
//! these columns as text ([`decode_type`]) and [`convert`] turns the text into the typed column,
//! refusing any value the type cannot hold exactly.
//!
//! Canonical number form: sign, significant digits and exponent; `1.50`, `1.5` and `15e-1` are
//! the same number, and so are `-0` and `0` for integers.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, ListArray, StructArray};
#[cfg(test)]
use arrow_array::StringArray;
use arrow_cast::CastOptions;
use arrow_schema::{DataType, Field, Fields, TimeUnit};

/// A decimal number as `digits × 10^exp`, `digits` without leading or trailing zeros (empty for 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Number {
    negative: bool,
    digits: Vec<u8>,
    exp: i64,
    /// Written without a fraction or exponent (`42`, not `42.0` or `4.2e1`).
    integer_form: bool,
}

impl Number {
    /// Parses the JSON number grammar, relaxed as CSV files write numbers: an optional `-`, digits
    /// with an optional fraction (`.5` and `5.` too), an optional exponent. `None` for anything else.
    pub(crate) fn parse(s: &str) -> Option<Number> {
        let (negative, body) = match s.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, s),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int_part, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (mantissa, None),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || !frac.is_none_or(all_digits) || int_part.len() + frac.map_or(0, str::len) == 0 {
            return None;
        }
        let mut exp: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return None;
                }
                // An exponent of more than 18 digits is beyond every type; saturate instead of failing.
                let magnitude: i64 = digits.parse().unwrap_or(i64::MAX / 4).min(i64::MAX / 4);
                if e.starts_with('-') { -magnitude } else { magnitude }
            }
        };
        let frac = frac.unwrap_or("");
        exp -= frac.len() as i64;
        let mut digits: Vec<u8> = int_part.bytes().chain(frac.bytes()).skip_while(|&b| b == b'0').collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            exp = 0;
        }
        Some(Number { negative, digits, exp, integer_form: exponent.is_none() && mantissa.find('.').is_none() })
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Written as an integer (no fraction, no exponent).
    pub(crate) fn integer_form(&self) -> bool {
        self.integer_form
    }

    /// Digits after the decimal point in canonical form (0 for integers).
    pub(crate) fn scale(&self) -> i64 {
        (-self.exp).max(0)
    }

    /// Digits before the decimal point in canonical form.
    pub(crate) fn integer_digits(&self) -> i64 {
        (self.digits.len() as i64 + self.exp).max(0)
    }

    /// The value as an i64, if it is an integer in range (`1.0` and `1e2` count, `1.5` does not).
    pub(crate) fn to_i64(&self) -> Option<i64> {
        self.to_i128_scaled(0).and_then(|v| i64::try_from(v).ok())
    }

    /// The value × 10^scale as an i128, if that is an integer of at most 38 digits.
    pub(crate) fn to_i128_scaled(&self, scale: i64) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let shift = self.exp + scale;
        if shift < 0 || self.digits.len() as i64 + shift > 38 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in &self.digits {
            v = v * 10 + i128::from(d - b'0');
        }
        for _ in 0..shift {
            v *= 10;
        }
        Some(if self.negative { -v } else { v })
    }

    /// The value as an f64, if the double holds it exactly in the sense that matters for text:
    /// printing the double (shortest round-trip form) gives back this number.
    pub(crate) fn to_f64(&self, source: &str) -> Option<f64> {
        let f: f64 = source.parse().ok()?;
        if !f.is_finite() {
            return None;
        }
        // Up to 15 significant digits in the normal range always survive the trip (DBL_DIG).
        let magnitude = self.digits.len() as i64 + self.exp;
        if self.digits.len() <= 15 && (-300..=300).contains(&magnitude) {
            return Some(f);
        }
        let back = Number::parse(&format!("{f:e}"))?;
        (back.negative == self.negative && back.digits == self.digits && back.exp == self.exp).then_some(f)
    }
}

/// The precision of every inferred decimal column: Iceberg's (and Decimal128's) maximum.
pub(crate) const DECIMAL_PRECISION: u8 = 38;

/// The type the text readers decode a column as, so that [`convert`] can check each value:
/// numbers, dates and timestamps become text (arrow's parsers accept `007` as 7, keep only the
/// date of `2024-01-31T23:30:00-05:00`, and arrow-json truncates `1.5` into an integer column).
pub(crate) fn decode_type(t: &DataType, json: bool) -> DataType {
    match t {
        DataType::Int64 | DataType::Float64 | DataType::Decimal128(..) | DataType::Date32 | DataType::Timestamp(..) => DataType::Utf8,
        DataType::Struct(fs) if json => DataType::Struct(Fields::from(
            fs.iter().map(|f| Field::new(f.name(), decode_type(f.data_type(), json), true)).collect::<Vec<_>>(),
        )),
        DataType::List(f) if json => DataType::List(Arc::new(Field::new(f.name(), decode_type(f.data_type(), json), true))),
        other => other.clone(),
    }
}

/// `007`, `-01.5`: digits that matter as written (codes), not numbers. `0`, `0.5` are numbers.
pub(crate) fn has_leading_zero(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v).as_bytes();
    digits.len() > 1 && digits[0] == b'0' && digits[1].is_ascii_digit()
}

/// A value that does not fit the target type exactly: its row (0-based, in the array given to
/// [`convert`]) and its text.
#[derive(Debug)]
pub(crate) struct Inexact {
    pub row: usize,
    pub value: String,
    pub reason: &'static str,
}

/// Converts `array` to `target` exactly, or names the first value that does not fit. Handles
/// text → Int64/Float64/Decimal128/Timestamp, Int64 → Float64/Decimal128, Float64 → Decimal128,
/// timestamps and times to a coarser unit (no digit may be cut),
/// and structs and lists of those; any other pair is cast by arrow (strictly: an impossible cast
/// is an error, never a NULL).
pub(crate) fn convert(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, ConvertError> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    match (array.data_type(), target) {
        (DataType::Utf8, DataType::Int64 | DataType::Float64 | DataType::Decimal128(..)) => {
            numbers_from(array.len(), |i| array.is_valid(i).then(|| array.as_string::<i32>().value(i)), target)
        }
        (DataType::Int64, DataType::Float64 | DataType::Decimal128(..)) => {
            let ints = array.as_primitive::<Int64Type>();
            let texts: Vec<Option<String>> = ints.iter().map(|v| v.map(|v| v.to_string())).collect();
            numbers_from(array.len(), |i| texts[i].as_deref(), target)
        }
        (DataType::Float64, DataType::Decimal128(..)) => {
            // The double's shortest round-trip text is the value it was read from.
            let floats = array.as_primitive::<Float64Type>();
            let texts: Vec<Option<String>> = floats.iter().map(|v| v.map(|v| format!("{v:e}"))).collect();
            numbers_from(array.len(), |i| texts[i].as_deref(), target)
        }
        (DataType::Utf8, DataType::Date32) => {
            check_texts(array, |v| if is_date(v) { Ok(()) } else { Err("is not a date (YYYY-MM-DD)") })?;
            cast_naming_the_value(array, target)
        }
        (DataType::Utf8, DataType::Timestamp(unit, tz)) => {
            check_texts(array, |v| check_timestamp(v, *unit, tz.is_some()))?;
            cast_naming_the_value(array, target)
        }
        (DataType::Timestamp(..) | DataType::Time64(_) | DataType::Date64, _) => match first_cut_value(array, target) {
            Some(row) => {
                let value = arrow_cast::display::array_value_to_string(array, row).unwrap_or_default();
                Err(Inexact { row, value, reason: "has digits below the precision Iceberg stores (microseconds, days)" }.into())
            }
            None => cast_naming_the_value(array, target),
        },
        (DataType::Struct(_), DataType::Struct(target_fields)) => {
            let s = array.as_struct();
            let mut columns = Vec::with_capacity(target_fields.len());
            for f in target_fields.iter() {
                let child = match s.column_by_name(f.name()) {
                    Some(c) => convert(c, f.data_type()).map_err(|e| e.nested(f.name()))?,
                    None => arrow_array::new_null_array(f.data_type(), s.len()),
                };
                columns.push(child);
            }
            let fields = Fields::from(target_fields.iter().map(|f| Field::new(f.name(), f.data_type().clone(), true)).collect::<Vec<_>>());
            Ok(Arc::new(StructArray::try_new(fields, columns, s.nulls().cloned())?))
        }
        (DataType::List(_), DataType::List(item)) => {
            let l = array.as_list::<i32>();
            let values = convert(l.values(), item.data_type()).map_err(|e| e.in_list(l))?;
            let item = Arc::new(Field::new(item.name(), item.data_type().clone(), true));
            Ok(Arc::new(ListArray::try_new(item, l.offsets().clone(), values, l.nulls().cloned())?))
        }
        _ => cast_naming_the_value(array, target),
    }
}

/// Runs `check` on every non-null value of a text array; the first refusal names its row.
fn check_texts(array: &ArrayRef, check: impl Fn(&str) -> Result<(), &'static str>) -> Result<(), Inexact> {
    for (row, v) in array.as_string::<i32>().iter().enumerate() {
        if let Some(v) = v {
            check(v).map_err(|reason| Inexact { row, value: v.to_string(), reason })?;
        }
    }
    Ok(())
}

/// Arrow's strict cast; when it fails, the first value that does not cast is named (found by
/// casting value by value: only on the error path).
fn cast_naming_the_value(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, ConvertError> {
    match arrow_cast::cast_with_options(array, target, &strict()) {
        Ok(a) => Ok(a),
        Err(e) => {
            for row in 0..array.len() {
                if arrow_cast::cast_with_options(&array.slice(row, 1), target, &strict()).is_err() {
                    let value = arrow_cast::display::array_value_to_string(array, row).unwrap_or_default();
                    return Err(Inexact { row, value, reason: "cannot be read as this type" }.into());
                }
            }
            Err(e.into())
        }
    }
}

/// The first row whose temporal value a cast to `target` would cut (arrow's casts to a coarser
/// unit truncate without an error), if any.
fn first_cut_value(c: &ArrayRef, target: &DataType) -> Option<usize> {
    use DataType::*;
    let per_second = |u: &TimeUnit| match u {
        TimeUnit::Second => 1i64,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let factor = match (c.data_type(), target) {
        (Timestamp(from, _), Timestamp(to, _)) | (Time64(from), Time64(to)) => per_second(from) / per_second(to),
        (Date64, Date32) => 86_400_000,
        _ => return None,
    };
    if factor <= 1 {
        return None;
    }
    let data = c.to_data();
    data.buffer::<i64>(0).iter().enumerate().position(|(i, v)| data.is_valid(i) && v % factor != 0)
}

fn strict() -> CastOptions<'static> {
    CastOptions { safe: false, ..Default::default() }
}

/// Why [`convert`] failed: a value that does not fit, or a cast arrow refused.
#[derive(Debug)]
pub(crate) enum ConvertError {
    Inexact(Inexact),
    Arrow(arrow_schema::ArrowError),
}

impl From<Inexact> for ConvertError {
    fn from(e: Inexact) -> Self {
        ConvertError::Inexact(e)
    }
}

impl From<arrow_schema::ArrowError> for ConvertError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        ConvertError::Arrow(e)
    }
}

impl ConvertError {
    /// A struct child's error: rows are the struct's rows, the value names the field.
    fn nested(self, field: &str) -> ConvertError {
        match self {
            ConvertError::Inexact(mut i) => {
                i.value = format!("{field}: {}", i.value);
                ConvertError::Inexact(i)
            }
            other => other,
        }
    }

    /// A list item's error: the row becomes the list's row that holds the item.
    fn in_list(self, list: &ListArray) -> ConvertError {
        match self {
            ConvertError::Inexact(mut i) => {
                let offsets = list.value_offsets();
                i.row = offsets.partition_point(|&o| (o as usize) <= i.row).saturating_sub(1);
                ConvertError::Inexact(i)
            }
            other => other,
        }
    }
}

fn numbers_from<'a>(len: usize, value: impl Fn(usize) -> Option<&'a str>, target: &DataType) -> Result<ArrayRef, ConvertError> {
    let inexact = |row: usize, v: &str, reason: &'static str| Inexact { row, value: v.to_string(), reason };
    let parse = |row: usize, v: &str| Number::parse(v.trim()).filter(|_| !has_leading_zero(v.trim())).ok_or_else(|| inexact(row, v, "not a number (a code with leading zeros is text)"));
    Ok(match target {
        DataType::Int64 => {
            let mut out = Vec::with_capacity(len);
            for row in 0..len {
                out.push(match value(row) {
                    None => None,
                    // Fast path for the common form (the slow one gives the same value for it).
                    Some(v) => match v.parse::<i64>() {
                        Ok(i) if !v.starts_with('+') && !has_leading_zero(v) => Some(i),
                        _ => Some(parse(row, v)?.to_i64().ok_or_else(|| inexact(row, v, "not an integer in the 64-bit range"))?),
                    },
                });
            }
            Arc::new(Int64Array::from(out))
        }
        DataType::Float64 => {
            let mut out = Vec::with_capacity(len);
            for row in 0..len {
                out.push(match value(row) {
                    None => None,
                    // Fast path: a plain decimal of at most 15 digits always prints back (DBL_DIG).
                    Some(v) if is_short_plain_decimal(v) => v.parse::<f64>().ok(),
                    Some(v) => {
                        let n = parse(row, v)?;
                        Some(n.to_f64(v.trim()).ok_or_else(|| inexact(row, v, "more digits or range than a double holds"))?)
                    }
                });
            }
            Arc::new(Float64Array::from(out))
        }
        DataType::Decimal128(p, s) => {
            let mut out = Vec::with_capacity(len);
            for row in 0..len {
                out.push(match value(row) {
                    None => None,
                    Some(v) => {
                        let n = parse(row, v)?;
                        let fits = n.scale() <= i64::from(*s) && n.integer_digits() <= i64::from(*p) - i64::from(*s);
                        Some(n.to_i128_scaled(i64::from(*s)).filter(|_| fits).ok_or_else(|| inexact(row, v, "more digits than the decimal column holds"))?)
                    }
                });
            }
            Arc::new(Decimal128Array::from(out).with_precision_and_scale(*p, *s)?)
        }
        other => unreachable!("numbers_from is called for numeric targets only, not {other}"),
    })
}

/// `-?digits[.digits]` with 1 to 15 digits and no leading zero: a number every double holds
/// exactly in the sense of [`Number::to_f64`], so the hot path can skip `Number`.
fn is_short_plain_decimal(v: &str) -> bool {
    let body = v.strip_prefix('-').unwrap_or(v).as_bytes();
    let digits = body.iter().filter(|b| b.is_ascii_digit()).count();
    let dots = body.iter().filter(|&&b| b == b'.').count();
    (1..=15).contains(&digits) && dots <= 1 && digits + dots == body.len() && !has_leading_zero(v)
}

/// `YYYY-MM-DD` and nothing else: the form inference gives Date32 (arrow's own parser also takes
/// a timestamp and keeps its UTC date).
fn is_date(v: &str) -> bool {
    v.len() == 10 && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
}

/// A timestamp text fits a column of `unit` if it has the shape inference accepts
/// (`YYYY-MM-DD[T ]HH:MM:SS[.f…][Z|±HH[:]MM|±HH]`, seconds below 60: a leap second or a zone name
/// would be moved by arrow's parser), no digit below the unit is lost, and it carries an offset
/// exactly when the column is zoned (a naive time is never guessed into UTC).
fn check_timestamp(v: &str, unit: TimeUnit, zoned: bool) -> Result<(), &'static str> {
    const SHAPE: &str = "is not a timestamp of the form YYYY-MM-DD HH:MM:SS";
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return Err(SHAPE);
    }
    if b[17] >= b'6' {
        return Err("has a leap second, which Iceberg timestamps cannot hold");
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let frac: Vec<u8> = b[i + 1..].iter().copied().take_while(u8::is_ascii_digit).collect();
        if frac.is_empty() {
            return Err(SHAPE);
        }
        let keep = match unit {
            TimeUnit::Second => 0,
            TimeUnit::Millisecond => 3,
            TimeUnit::Microsecond => 6,
            TimeUnit::Nanosecond => 9,
        };
        if frac.iter().skip(keep).any(|&d| d != b'0') {
            return Err("has digits below the microsecond, which Iceberg does not store");
        }
        i += 1 + frac.len();
    }
    let tail = &b[i..];
    let two = |r: &[u8]| r.len() == 2 && r.iter().all(u8::is_ascii_digit);
    let offset = match tail {
        [] => false,
        [b'Z' | b'z'] => true,
        [b'+' | b'-', r @ ..] if two(r) || (r.len() == 4 && two(&r[..2]) && two(&r[2..])) || (r.len() == 5 && two(&r[..2]) && r[2] == b':' && two(&r[3..])) => true,
        _ => return Err("has a time zone that is not an offset (±HH:MM or Z)"),
    };
    match (zoned, offset) {
        (true, false) => Err("has no time zone offset, but the column's other values do"),
        (false, true) => Err("has a time zone offset, but the column's other values do not"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_numbers() {
        let n = |s: &str| Number::parse(s).unwrap();
        assert_eq!(n("1.50"), Number { integer_form: false, ..n("15e-1") });
        assert_eq!(n("-0").to_i64(), Some(0));
        assert_eq!(n("1.0").to_i64(), Some(1));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(n("18446744073709551615").to_i128_scaled(0), Some(18446744073709551615));
        assert_eq!(n("0.1").to_f64("0.1"), Some(0.1));
        assert_eq!(n("0.1000000000000000055511").to_f64("0.1000000000000000055511"), None);
        assert_eq!(n("1e400").to_f64("1e400"), None);
        assert_eq!(n("1e-400").to_f64("1e-400"), None);
        assert_eq!(n("9007199254740993").to_f64("9007199254740993"), None, "2^53 + 1 is not a double");
        assert_eq!(n("9007199254740992").to_f64("9007199254740992"), Some(9007199254740992.0));
        assert_eq!(n("1e300").to_f64("1e300"), Some(1e300));
        assert_eq!(n("-0.0").to_f64("-0.0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!((n("0.1000000000000000055511").scale(), n("0.1000000000000000055511").integer_digits()), (22, 0));
        assert_eq!((n("1.5e3").scale(), n("1.5e3").integer_digits()), (0, 4));
        for bad in ["", "-", ".", "1e", "1e+", "abc", "1.2.3", "--1", "0x10"] {
            assert!(Number::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn fast_paths_agree_with_the_exact_rules() {
        for v in ["0", "-0", "7", "-12", "9223372036854775807", "+5", "007", "1.0", " 3", "1e3", "99999999999999999999"] {
            let text: ArrayRef = Arc::new(StringArray::from(vec![v]));
            let slow = Number::parse(v.trim()).filter(|_| !has_leading_zero(v.trim())).and_then(|n| n.to_i64());
            let fast = convert(&text, &DataType::Int64).ok().map(|a| a.as_primitive::<Int64Type>().value(0));
            assert_eq!(fast, slow, "{v}");
        }
        for v in ["0.5", "-0.25", ".5", "5.", "123456789012345", "1234567890.12345", "0.1", "-0", "00.5", "1.2.3", "-", "."] {
            let slow = Number::parse(v).filter(|_| !has_leading_zero(v)).and_then(|n| n.to_f64(v)).map(f64::to_bits);
            let fast = if is_short_plain_decimal(v) { v.parse::<f64>().ok().map(f64::to_bits) } else { slow };
            assert_eq!(fast, slow, "{v}");
        }
    }

    #[test]
    fn timestamps_keep_every_digit_and_their_zone_kind() {
        assert!(check_timestamp("2024-01-01T10:00:00.123456", TimeUnit::Microsecond, false).is_ok());
        assert!(check_timestamp("2024-01-01T10:00:00.123456000", TimeUnit::Microsecond, false).is_ok());
        assert!(check_timestamp("2024-01-01T10:00:00.123456789", TimeUnit::Microsecond, false).is_err());
        assert!(check_timestamp("2024-01-01T10:00:00.1234567Z", TimeUnit::Microsecond, true).is_err());
        assert!(check_timestamp("2024-01-01T10:00:00+02:00", TimeUnit::Microsecond, true).is_ok());
        assert!(check_timestamp("2024-01-01T10:00:00", TimeUnit::Microsecond, true).is_err());
        assert!(check_timestamp("2024-01-01 10:00:00Z", TimeUnit::Microsecond, false).is_err());
        assert!(check_timestamp("2024-03-01 10:00:00 Europe/Berlin", TimeUnit::Microsecond, false).is_err());
        assert!(check_timestamp("2024-03-01T100000+05:00", TimeUnit::Microsecond, true).is_err());
        assert!(check_timestamp("2024-12-31T23:59:60", TimeUnit::Microsecond, false).is_err());
        assert!(check_timestamp("2024-01-01 10:00", TimeUnit::Microsecond, false).is_err());
        assert!(check_timestamp("2024-01-01T10:00:00.5+0530", TimeUnit::Microsecond, true).is_ok());
        assert!(check_timestamp("2024-01-01T10:00:00-05", TimeUnit::Microsecond, true).is_ok());
    }

    #[test]
    fn convert_refuses_what_does_not_fit() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("42"), None, Some("1.5")]));
        match convert(&text, &DataType::Int64) {
            Err(ConvertError::Inexact(i)) => assert_eq!((i.row, i.value.as_str()), (2, "1.5")),
            other => panic!("{other:?}"),
        }
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("18446744073709551615"), Some("-0"), Some("42")]));
        let d = convert(&text, &DataType::Decimal128(38, 0)).unwrap();
        let d = d.as_primitive::<arrow_array::types::Decimal128Type>();
        assert_eq!(d.value(0), 18446744073709551615);
        assert_eq!(d.value(1), 0);
        let codes: ArrayRef = Arc::new(StringArray::from(vec![Some("12345"), Some("02134")]));
        assert!(matches!(convert(&codes, &DataType::Int64), Err(ConvertError::Inexact(i)) if i.row == 1), "a later code keeps its zeros");
        let dates: ArrayRef = Arc::new(StringArray::from(vec![Some("2024-01-31"), Some("2024-01-31T23:30:00-05:00")]));
        assert!(matches!(convert(&dates, &DataType::Date32), Err(ConvertError::Inexact(i)) if i.row == 1), "a timestamp is not a date");
        let big: ArrayRef = Arc::new(Int64Array::from(vec![9007199254740993, 1]));
        assert!(matches!(convert(&big, &DataType::Float64), Err(ConvertError::Inexact(i)) if i.row == 0));
        let ns: ArrayRef = Arc::new(arrow_array::TimestampNanosecondArray::from(vec![Some(1_000), None, Some(1_001)]));
        assert!(matches!(convert(&ns, &DataType::Timestamp(TimeUnit::Microsecond, None)), Err(ConvertError::Inexact(i)) if i.row == 2));
        let ns: ArrayRef = Arc::new(arrow_array::TimestampNanosecondArray::from(vec![Some(1_000), None]));
        assert!(convert(&ns, &DataType::Timestamp(TimeUnit::Microsecond, None)).is_ok());
        let f: ArrayRef = Arc::new(Float64Array::from(vec![0.1, 2.5]));
        let d = convert(&f, &DataType::Decimal128(38, 3)).unwrap();
        assert_eq!(d.as_primitive::<arrow_array::types::Decimal128Type>().value(0), 100);
    }
}
