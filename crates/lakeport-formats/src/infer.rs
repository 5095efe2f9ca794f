//! Type inference policy for text formats, in one place.
//!
//! A column gets the narrowest type that holds every sampled non-null value *exactly*:
//! Boolean (`true`/`false`, any case) → Int64 → Float64 → Decimal128(38, s) → Date32
//! (`YYYY-MM-DD`) → Timestamp(µs) (ISO 8601, `T` or space, no offset) → Timestamp(µs, +00:00)
//! (every value has `Z` or an offset; converted to UTC, never folded into a naive time) → Utf8.
//! Deliberate choices:
//! - integers with leading zeros (`00123`) stay text (they are codes, and the zeros matter);
//! - integers beyond i64 are Decimal128(38, 0) (exact, still numbers), text beyond 38 digits;
//! - a number with a fraction or exponent is Float64 only if the double prints back as the same
//!   number (`0.1` yes, `0.1000000000000000055511` no); otherwise Decimal128(38, s) with the
//!   largest scale seen, or text when that does not fit 38 digits (`1e400`);
//! - a timestamp with non-zero digits below the microsecond stays text (Iceberg v2 timestamps are
//!   microseconds; cutting digits would change the value);
//! - a column with no values at all is `Null` (it unifies with any type across a folder and is
//!   stored as text).
//!
//! Values after the sample are checked with the same rules as they load (`exact`).

use arrow_schema::{DataType, TimeUnit};

use crate::exact::{has_leading_zero, Number, DECIMAL_PRECISION};

#[derive(Clone, Debug)]
pub(crate) struct ColumnStats {
    seen: bool,
    boolean: bool,
    /// Every value is a number.
    number: bool,
    /// Every value is an integer written as one, within i64.
    int: bool,
    /// Every value is an integer written as one (any size).
    integer_form: bool,
    /// Every value prints back from a double as the same number.
    f64_exact: bool,
    max_scale: i64,
    max_integer_digits: i64,
    date: bool,
    ts_naive: bool,
    ts_tz: bool,
}

impl Default for ColumnStats {
    fn default() -> Self {
        ColumnStats {
            seen: false,
            boolean: true,
            number: true,
            int: true,
            integer_form: true,
            f64_exact: true,
            max_scale: 0,
            max_integer_digits: 0,
            date: true,
            ts_naive: true,
            ts_tz: true,
        }
    }
}

impl ColumnStats {
    pub(crate) fn add(&mut self, v: &str) {
        self.seen = true;
        if self.boolean {
            self.boolean = v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false");
        }
        if self.number {
            match Number::parse(v).filter(|_| !has_leading_zero(v)) {
                Some(n) => {
                    let integer = n.integer_form();
                    self.integer_form &= integer;
                    self.int &= integer && n.to_i64().is_some();
                    if self.f64_exact {
                        self.f64_exact = n.to_f64(v).is_some();
                    }
                    self.max_scale = self.max_scale.max(n.scale());
                    self.max_integer_digits = self.max_integer_digits.max(n.integer_digits());
                }
                None => self.number = false,
            }
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

    /// Folds in another sample's statistics of the same column.
    pub(crate) fn merge(&mut self, o: &ColumnStats) {
        self.seen |= o.seen;
        self.boolean &= o.boolean;
        self.number &= o.number;
        self.int &= o.int;
        self.integer_form &= o.integer_form;
        self.f64_exact &= o.f64_exact;
        self.max_scale = self.max_scale.max(o.max_scale);
        self.max_integer_digits = self.max_integer_digits.max(o.max_integer_digits);
        self.date &= o.date;
        self.ts_naive &= o.ts_naive;
        self.ts_tz &= o.ts_tz;
    }

    pub(crate) fn data_type(&self) -> DataType {
        let decimal_fits = self.max_scale + self.max_integer_digits <= i64::from(DECIMAL_PRECISION);
        if !self.seen {
            DataType::Null
        } else if self.boolean {
            DataType::Boolean
        } else if self.number && self.int {
            DataType::Int64
        } else if self.number && !self.integer_form && self.f64_exact {
            DataType::Float64
        } else if self.number && decimal_fits {
            DataType::Decimal128(DECIMAL_PRECISION, self.max_scale as i8)
        } else if self.number {
            DataType::Utf8
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
    // Non-zero digits below the microsecond: a µs timestamp would cut them (see the module doc).
    if b.len() > 20 && b[19] == b'.' && b[20..].iter().take_while(|c| c.is_ascii_digit()).skip(6).any(|&c| c != b'0') {
        return Temporal::No;
    }
    // Seconds are required (arrow's timestamp parser needs them), and a leap second is not a
    // time Iceberg can hold.
    if b.len() >= 19 && b[16] == b':' && b[17] >= b'6' {
        return Temporal::No;
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
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
        assert_eq!(infer(&["99999999999999999999", "42"]), DataType::Decimal128(38, 0), "beyond i64: an exact decimal");
        assert_eq!(infer(&["9223372036854775808"]), DataType::Decimal128(38, 0));
        assert_eq!(infer(&["1".repeat(39).as_str()]), DataType::Utf8, "beyond 38 digits: text");
        assert_eq!(infer(&["0.1000000000000000055511", "1.5"]), DataType::Decimal128(38, 22), "more digits than a double");
        assert_eq!(infer(&["9007199254740993", "0.5"]), DataType::Decimal128(38, 1), "an integer a double cannot hold");
        assert_eq!(infer(&["1e400"]), DataType::Utf8, "beyond a double and a decimal");
        assert_eq!(infer(&["1e300", "-0.0"]), DataType::Float64);
        assert_eq!(infer(&["-0", "5"]), DataType::Int64);
        assert_eq!(infer(&["2024-01-31T10:00:00.123456789"]), DataType::Utf8, "nanoseconds stay text");
        assert_eq!(infer(&["2024-01-31T10:00:00.123456000"]), DataType::Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(infer(&["true", "FALSE"]), DataType::Boolean);
        assert_eq!(infer(&["2024-01-31", "2024-02-29"]), DataType::Date32);
        assert_eq!(infer(&["2024-02-30"]), DataType::Utf8, "not a real date");
        assert_eq!(infer(&["2024-01-31 10:00:00", "2024-01-31T10:00:00.123456"]), DataType::Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(infer(&["2024-01-31", "2024-01-31 10:00:00"]), DataType::Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(infer(&["2024-01-31T10:00:00Z", "2024-01-31T10:00:00+02:00"]), DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())));
        assert_eq!(infer(&["2024-01-31T10:00:00Z", "2024-01-31T10:00:00"]), DataType::Utf8, "mixed offsets and naive times are ambiguous");
        assert_eq!(infer(&["1", "abc"]), DataType::Utf8);
        assert_eq!(infer(&[]), DataType::Null);
        assert_eq!(infer(&["+5"]), DataType::Utf8);
        assert_eq!(infer(&["1.", "2"]), DataType::Float64);
    }
}
