//! Type inference policy for text formats, in one place.
//!
//! A column gets the narrowest type that every sampled non-null value fits:
//! Boolean (`true`/`false`, any case) → Int64 → Float64 → Date32 (`YYYY-MM-DD`) →
//! Timestamp(µs) (ISO 8601, `T` or space, no offset) → Timestamp(µs, +00:00) (every value has `Z` or
//! an offset; converted to UTC, never folded into a naive time) → Utf8.
//! Deliberate choices: integers with leading zeros (`00123`) stay text (they are codes, and the
//! zeros matter); integers beyond i64 stay text; a column with no values at all is `Null` (it
//! unifies with any type across a folder and is stored as text).

use arrow_schema::{DataType, TimeUnit};

#[derive(Clone, Debug)]
pub(crate) struct ColumnStats {
    seen: bool,
    boolean: bool,
    int: bool,
    float: bool,
    date: bool,
    ts_naive: bool,
    ts_tz: bool,
}

impl Default for ColumnStats {
    fn default() -> Self {
        ColumnStats { seen: false, boolean: true, int: true, float: true, date: true, ts_naive: true, ts_tz: true }
    }
}

impl ColumnStats {
    pub(crate) fn add(&mut self, v: &str) {
        self.seen = true;
        if self.boolean {
            self.boolean = v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false");
        }
        if self.int {
            self.int = is_int(v);
        }
        if self.float {
            self.float = is_int(v) || is_float(v);
        }
        let temporal = self.date || self.ts_naive || self.ts_tz;
        if temporal {
            let t = classify_temporal(v);
            self.date &= t == Temporal::Date;
            // A column mixing dates and naive timestamps is a timestamp column.
            self.ts_naive &= matches!(t, Temporal::Naive | Temporal::Date);
            self.ts_tz &= t == Temporal::Zoned;
        }
    }

    pub(crate) fn data_type(&self) -> DataType {
        if !self.seen {
            DataType::Null
        } else if self.boolean {
            DataType::Boolean
        } else if self.int {
            DataType::Int64
        } else if self.float {
            DataType::Float64
        } else if self.date {
            DataType::Date32
        } else if self.ts_naive {
            DataType::Timestamp(TimeUnit::Microsecond, None)
        } else if self.ts_tz {
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
        } else {
            DataType::Utf8
        }
    }
}

fn is_int(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && v.parse::<i64>().is_ok()
}

fn is_float(v: &str) -> bool {
    let body = v.strip_prefix('-').unwrap_or(v);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_ok = int_part.bytes().all(|b| b.is_ascii_digit()) && (int_part.len() <= 1 || !int_part.starts_with('0'));
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let has_digits = !int_part.is_empty() || frac.is_some_and(|f| !f.is_empty());
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    // "1.5", "-0.25", "3e10", ".5"; a plain integer needs a '.' or exponent to count here.
    has_digits && int_ok && frac_ok && exp_ok && (frac.is_some() || exponent.is_some())
}

#[derive(PartialEq, Eq, Debug)]
pub(crate) enum Temporal {
    Date,
    Naive,
    Zoned,
    No,
}

pub(crate) fn classify_temporal(v: &str) -> Temporal {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let b = v.as_bytes();
    // Cheap shape check first: YYYY-MM-DD…
    if b.len() < 10 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' || b[7] != b'-' {
        return Temporal::No;
    }
    if b.len() == 10 {
        return if NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() { Temporal::Date } else { Temporal::No };
    }
    if b[10] != b'T' && b[10] != b' ' {
        return Temporal::No;
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if NaiveDateTime::parse_from_str(v, f).is_ok() {
            return Temporal::Naive;
        }
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if DateTime::parse_from_str(v, f).is_ok() {
            return Temporal::Zoned;
        }
    }
    if let Some(stripped) = v.strip_suffix('Z') {
        for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if NaiveDateTime::parse_from_str(stripped, f).is_ok() {
                return Temporal::Zoned;
            }
        }
    }
    Temporal::No
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> DataType {
        let mut s = ColumnStats::default();
        values.iter().for_each(|v| s.add(v));
        s.data_type()
    }

    #[test]
    fn policy() {
        assert_eq!(infer(&["1", "-2", "0"]), DataType::Int64);
        assert_eq!(infer(&["1", "2.5"]), DataType::Float64);
        assert_eq!(infer(&["1e3", "-0.5", ".5"]), DataType::Float64);
        assert_eq!(infer(&["00123", "1"]), DataType::Utf8, "leading zeros are codes");
        assert_eq!(infer(&["99999999999999999999"]), DataType::Utf8, "beyond i64 stays exact text");
        assert_eq!(infer(&["true", "FALSE"]), DataType::Boolean);
        assert_eq!(infer(&["2024-01-31", "2024-02-29"]), DataType::Date32);
        assert_eq!(infer(&["2024-02-30"]), DataType::Utf8, "not a real date");
        assert_eq!(infer(&["2024-01-31 10:00:00", "2024-01-31T10:00:00.123456"]), DataType::Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(infer(&["2024-01-31", "2024-01-31 10:00:00"]), DataType::Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(infer(&["2024-01-31T10:00:00Z", "2024-01-31T10:00:00+02:00"]), DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())));
        assert_eq!(infer(&["2024-01-31T10:00:00Z", "2024-01-31T10:00:00"]), DataType::Utf8, "mixed offsets and naive times are ambiguous");
        assert_eq!(infer(&["1", "abc"]), DataType::Utf8);
        assert_eq!(infer(&[]), DataType::Null);
        assert_eq!(infer(&["1.", "+5"]), DataType::Utf8);
    }
}
