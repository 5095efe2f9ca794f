//! Schema checks between the files of one table, and conforming batches to the table's schema.

use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::error::Position;
use crate::exact::{self, ConvertError};
use crate::{FileFormat, FormatError};

/// Folds one more file's schema into a folder's schema.
///
/// CSV and Parquet files must have the same set of columns (order may differ); JSON records may
/// omit keys, so JSON schemas are merged as a union. Types must agree, with these widenings:
/// Null (no values) → any; integer + integer → Int64; integer or float + float → Float64;
/// decimals → the larger precision and scale, integer or float + decimal → that decimal;
/// Date → Timestamp; timestamps of different units → microseconds (both with or both without a
/// time zone); lists, maps and structs member by member. With `text_fallback` any other conflict
/// between non-nested types makes the column text. `table_origin` and `file_name` are what
/// errors say. Every column of the result is nullable; the table's column order comes first.
///
/// # Errors
/// [`FormatError::SchemaMismatch`] naming `file_name`, `table_origin` and the first difference:
/// for CSV and Parquet a missing or extra column; any format, a type conflict not covered above.
pub fn unify(
    table: &Schema,
    table_origin: &str,
    file: &Schema,
    file_name: &str,
    format: FileFormat,
    text_fallback: bool,
) -> Result<Schema, FormatError> {
    let mismatch = |difference: String| FormatError::SchemaMismatch {
        file: file_name.to_string(),
        reference: table_origin.to_string(),
        difference,
    };
    if format != FileFormat::Json {
        if let Some(missing) = table.fields().iter().find(|f| file.field_with_name(f.name()).is_err()) {
            return Err(mismatch(format!("column '{}' is missing", missing.name())));
        }
        if let Some(extra) = file.fields().iter().find(|f| table.field_with_name(f.name()).is_err()) {
            return Err(mismatch(format!("it has an extra column '{}'", extra.name())));
        }
    }
    let mut fields: Vec<Field> = Vec::with_capacity(table.fields().len());
    for tf in table.fields() {
        let merged = match file.field_with_name(tf.name()) {
            Ok(ff) => match widen(tf.data_type(), ff.data_type()) {
                Some(t) => t,
                None if text_fallback && is_scalar(tf.data_type()) && is_scalar(ff.data_type()) => DataType::Utf8,
                None => {
                    return Err(mismatch(format!(
                        "column '{}' is {} here but {} in '{}'",
                        tf.name(),
                        ff.data_type(),
                        tf.data_type(),
                        table_origin
                    )))
                }
            },
            Err(_) => tf.data_type().clone(),
        };
        fields.push(Field::new(tf.name(), merged, true));
    }
    for ff in file.fields() {
        if table.field_with_name(ff.name()).is_err() {
            fields.push(Field::new(ff.name(), ff.data_type().clone(), true));
        }
    }
    Ok(Schema::new(fields))
}

fn is_scalar(t: &DataType) -> bool {
    !t.is_nested()
}

/// The common type of two column types, if one can hold the other without losing meaning.
fn widen(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Null, t) | (t, Null) => Some(t.clone()),
        (x, y) if x.is_integer() && y.is_integer() => Some(Int64),
        // Integers and decimals meet in a decimal that holds both (each value is converted
        // exactly as it loads, or the load fails naming it: see `exact`).
        (Decimal128(p1, s1), Decimal128(p2, s2)) => Some(Decimal128(*p1.max(p2), *s1.max(s2))),
        (Decimal128(p, s), x) | (x, Decimal128(p, s)) if x.is_integer() || x.is_floating() => Some(Decimal128(*p, *s)),
        (x, y) if (x.is_integer() || x.is_floating()) && (y.is_integer() || y.is_floating()) => Some(Float64),
        (Date32, Timestamp(u, None)) | (Timestamp(u, None), Date32) => Some(Timestamp(*u, None)),
        (Utf8, Utf8View) | (Utf8View, Utf8) | (Utf8, LargeUtf8) | (LargeUtf8, Utf8) => Some(Utf8),
        (Timestamp(_, tz1), Timestamp(_, tz2)) if tz1.is_some() == tz2.is_some() => Some(Timestamp(TimeUnit::Microsecond, tz1.clone())),
        // Nested types: by structure, not by names of list items (Iceberg's `element`, Arrow's
        // `item`) or nullability (the first side's is kept); a struct's children are a union (a
        // missing child is NULL).
        (List(fa), List(fb)) => widen(fa.data_type(), fb.data_type()).map(|t| List(Arc::new(Field::new(fa.name(), t, fa.is_nullable())))),
        // Maps: key and value by position (Iceberg's `key_value`/`key`/`value`, Arrow's
        // `entries`/`keys`/`values`).
        (Map(ea, sorted), Map(eb, _)) => match (ea.data_type(), eb.data_type()) {
            (Struct(ka), Struct(kb)) if ka.len() == 2 && kb.len() == 2 => {
                let key = widen(ka[0].data_type(), kb[0].data_type())?;
                let value = widen(ka[1].data_type(), kb[1].data_type())?;
                let entries = Struct(Fields::from(vec![Field::new(ka[0].name(), key, ka[0].is_nullable()), Field::new(ka[1].name(), value, ka[1].is_nullable())]));
                Some(Map(Arc::new(Field::new(ea.name(), entries, ea.is_nullable())), *sorted))
            }
            _ => None,
        },
        (Struct(fa), Struct(fb)) => {
            let mut children: Vec<Field> = Vec::with_capacity(fa.len().max(fb.len()));
            for ca in fa.iter() {
                let t = match fb.iter().find(|cb| cb.name() == ca.name()) {
                    Some(cb) => widen(ca.data_type(), cb.data_type())?,
                    None => ca.data_type().clone(),
                };
                children.push(Field::new(ca.name(), t, ca.is_nullable()));
            }
            children.extend(fb.iter().filter(|cb| fa.iter().all(|ca| ca.name() != cb.name())).map(|cb| Field::new(cb.name(), cb.data_type().clone(), true)));
            Some(Struct(Fields::from(children)))
        }
        _ => None,
    }
}

/// Makes a batch match `target` exactly: columns by name in target order, converted to target
/// types without losing a digit (see `exact`), missing columns as NULL, columns not in `target`
/// dropped. `file` is what errors say.
///
/// # Errors
/// For typed input (Parquet): a value that does not fit is a [`FormatError::Parse`] naming the
/// column and the row (no type was inferred, so there is no sample to enlarge); so is a pair of
/// types arrow cannot cast.
pub fn conform(file: &str, batch: RecordBatch, target: &SchemaRef) -> Result<RecordBatch, FormatError> {
    conform_at(file, batch, target, None)
}

/// Places a value of a batch in its file: (batch row, column name) → position.
pub(crate) type Locate<'a> = &'a dyn Fn(usize, &str) -> Position;

/// [`conform`] for the text readers, whose column types were inferred from a sample: a value
/// that does not fit is a [`FormatError::Value`] (the type fallback can make its column text),
/// placed by `locate` (batch row, column name → its position in the file).
pub(crate) fn conform_at(file: &str, batch: RecordBatch, target: &SchemaRef, locate: Option<Locate<'_>>) -> Result<RecordBatch, FormatError> {
    if batch.schema().fields() == target.fields() {
        return RecordBatch::try_new(target.clone(), batch.columns().to_vec())
            .map_err(|e| FormatError::Parse { file: file.to_string(), at: Position::default(), message: e.to_string() });
    }
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    for f in target.fields() {
        let col = match batch.schema().index_of(f.name()) {
            Ok(i) => {
                let c = batch.column(i);
                exact::convert(c, f.data_type()).map_err(|e| match e {
                    ConvertError::Inexact(i) => match locate {
                        Some(locate) => FormatError::Value {
                            file: file.to_string(),
                            at: locate(i.row, f.name()),
                            value: i.value,
                            expected: format!("{} ({})", f.data_type(), i.reason),
                        },
                        None => FormatError::Parse {
                            file: file.to_string(),
                            at: Position { column: Some(f.name().clone()), ..Default::default() },
                            message: format!("value '{}' of row {} does not fit {} without change: it {}", i.value, i.row + 1, f.data_type(), i.reason),
                        },
                    },
                    ConvertError::Arrow(e) => FormatError::Parse {
                        file: file.to_string(),
                        at: Position { column: Some(f.name().clone()), ..Default::default() },
                        message: format!("cannot convert {} to {}: {e}", c.data_type(), f.data_type()),
                    },
                })?
            }
            Err(_) => new_null_array(f.data_type(), rows),
        };
        columns.push(col);
    }
    RecordBatch::try_new_with_options(target.clone(), columns, &RecordBatchOptions::new().with_row_count(Some(rows)))
        .map_err(|e| FormatError::Parse { file: file.to_string(), at: Position::default(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(cols: &[(&str, DataType)]) -> Schema {
        Schema::new(cols.iter().map(|(n, t)| Field::new(*n, t.clone(), true)).collect::<Vec<_>>())
    }

    #[test]
    fn widening_and_mismatches() {
        let a = s(&[("id", DataType::Int64), ("x", DataType::Null), ("d", DataType::Date32)]);
        let b = s(&[("d", DataType::Timestamp(TimeUnit::Microsecond, None)), ("id", DataType::Float64), ("x", DataType::Utf8)]);
        let u = unify(&a, "a.csv", &b, "b.csv", FileFormat::Csv, false).unwrap();
        assert_eq!(u, s(&[("id", DataType::Float64), ("x", DataType::Utf8), ("d", DataType::Timestamp(TimeUnit::Microsecond, None))]));

        let c = s(&[("id", DataType::Int64)]);
        let e = unify(&a, "a.csv", &c, "c.csv", FileFormat::Csv, false).unwrap_err().to_string();
        assert!(e.contains("c.csv") && e.contains("'x' is missing") && e.contains("a.csv"), "{e}");

        let d = s(&[("id", DataType::Boolean), ("x", DataType::Null), ("d", DataType::Date32)]);
        let e = unify(&a, "a.csv", &d, "d.csv", FileFormat::Csv, false).unwrap_err().to_string();
        assert!(e.contains("'id' is Boolean here but Int64"), "{e}");
        assert_eq!(unify(&a, "a.csv", &d, "d.csv", FileFormat::Csv, true).unwrap().field(0).data_type(), &DataType::Utf8);

        // JSON: keys may be absent in some files; the schema is the union.
        let j = s(&[("id", DataType::Int64), ("extra", DataType::Boolean)]);
        let u = unify(&a, "a.json", &j, "j.json", FileFormat::Json, false).unwrap();
        assert_eq!(u.fields().len(), 4);
    }
}
