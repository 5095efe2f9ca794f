//! Arrow types → types an Iceberg table can store, in one place.
//!
//! Iceberg has no unsigned (UInt64 becomes Decimal(20, 0)), 8/16-bit, view, large or dictionary types, and timestamps are
//! microseconds; columns with no values at all (Arrow `Null`) are stored as text.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_cast::CastOptions;
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};

use crate::PoolError;

/// The type a column of Arrow type `t` is stored as (see the module doc; the Iceberg spec's
/// "Primitive Types" and their Arrow mapping in iceberg-rust).
///
/// # Errors
///
/// [`PoolError::UnsupportedType`] for a type no Iceberg table can store (a struct without
/// fields, a union, an interval, a duration, a decimal of more than 38 digits).
pub fn storable_type(t: &DataType) -> Result<DataType, PoolError> {
    normalize_type(t, "")
}

/// Whether a column of stored type `from` may become `to` by schema evolution: the type
/// promotions of the Iceberg spec (v2, "Schema Evolution"): int → long, float → double,
/// decimal(P, S) → decimal(P', S) with P' > P.
pub fn promotable(from: &DataType, to: &DataType) -> bool {
    matches!((from, to), (DataType::Int32, DataType::Int64) | (DataType::Float32, DataType::Float64))
        || matches!((from, to), (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) if s1 == s2 && p2 > p1)
}

pub(crate) fn normalize_schema(schema: &Schema) -> Result<Schema, PoolError> {
    let fields: Result<Vec<Field>, PoolError> = schema.fields().iter().map(|f| normalize_field(f, f.name())).collect();
    Ok(Schema::new(fields?))
}

fn normalize_field(f: &FieldRef, path: &str) -> Result<Field, PoolError> {
    Ok(Field::new(f.name(), normalize_type(f.data_type(), path)?, true))
}

fn normalize_type(t: &DataType, path: &str) -> Result<DataType, PoolError> {
    use DataType::*;
    let unsupported = || PoolError::UnsupportedType { column: path.to_string(), data_type: t.to_string() };
    Ok(match t {
        Null | Utf8View | LargeUtf8 | Utf8 => Utf8,
        Boolean | Int32 | Int64 | Float32 | Float64 | Date32 | Binary => t.clone(),
        FixedSizeBinary(_) => t.clone(),
        Int8 | Int16 | UInt8 | UInt16 => Int32,
        UInt32 => Int64,
        // Iceberg has no unsigned 64-bit type; a decimal of 20 digits holds every value.
        UInt64 => Decimal128(20, 0),
        Float16 => Float32,
        BinaryView | LargeBinary => Binary,
        Date64 => Date32,
        Timestamp(_, None) => Timestamp(TimeUnit::Microsecond, None),
        Timestamp(_, Some(_)) => Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        Time32(_) | Time64(_) => Time64(TimeUnit::Microsecond),
        Decimal128(p, s) if *p <= 38 => Decimal128(*p, *s),
        Decimal32(p, s) | Decimal64(p, s) => Decimal128(*p, *s),
        Decimal256(p, s) if *p <= 38 => Decimal128(*p, *s),
        Dictionary(_, v) => normalize_type(v, path)?,
        List(f) | LargeList(f) | FixedSizeList(f, _) | ListView(f) | LargeListView(f) => {
            List(Arc::new(normalize_field(f, &format!("{path}.{}", f.name()))?))
        }
        // Parquet cannot store a struct without fields (the text readers keep `{}` as JSON text).
        Struct(fields) if fields.is_empty() => {
            return Err(PoolError::UnsupportedType { column: path.to_string(), data_type: "an empty struct (an object that never has a key)".into() })
        }
        Struct(fields) => Struct(Fields::from(
            fields.iter().map(|c| normalize_field(c, &format!("{path}.{}", c.name()))).collect::<Result<Vec<_>, _>>()?,
        )),
        Map(entries, sorted) => Map(Arc::new(normalize_field(entries, path)?), *sorted),
        _ => return Err(unsupported()),
    })
}

/// The schema without field metadata (Iceberg field ids), nested fields included.
/// (iceberg 0.10.1's `strip_metadata_from_schema` fails on list columns: "Field stack underflow".)
pub(crate) fn strip_field_ids(schema: &Schema) -> Schema {
    Schema::new(schema.fields().iter().map(strip_field).collect::<Vec<_>>())
}

fn strip_field(f: &FieldRef) -> Field {
    let t = match f.data_type() {
        DataType::Struct(fs) => DataType::Struct(Fields::from(fs.iter().map(strip_field).collect::<Vec<_>>())),
        DataType::List(c) => DataType::List(Arc::new(strip_field(c))),
        DataType::Map(c, sorted) => DataType::Map(Arc::new(strip_field(c)), *sorted),
        other => other.clone(),
    };
    Field::new(f.name(), t, f.is_nullable())
}

/// Gives `batch` (columns named as in `source`) the table's write schema (stored names, Iceberg
/// field ids; `source` and `target` list the same columns in the same order), casting where the
/// types differ only in representation (e.g. nested field names or metadata, Utf8View → Utf8) or
/// where the table's type holds every value (UInt64 → Decimal(20, 0)). A value the table's type
/// cannot hold is [`PoolError::LossyValue`] naming the column, never a NULL. (Readers hand over
/// batches already in the table's types: lakeport-formats' `conform` refuses cut timestamps.)
/// A column of `source` missing from `batch` is [`PoolError::SchemaDrift`] naming it.
pub(crate) fn to_table_batch(table: &str, batch: &RecordBatch, source: &Schema, target: &SchemaRef) -> Result<RecordBatch, PoolError> {
    let strict = CastOptions { safe: false, ..Default::default() };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    for (s, f) in source.fields().iter().zip(target.fields()) {
        let c = batch.column_by_name(s.name()).ok_or_else(|| PoolError::SchemaDrift {
            table: table.to_string(),
            detail: format!("the rows to write have no column '{}' (they have: {})", s.name(), batch.schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")),
        })?;
        if c.data_type() == f.data_type() {
            columns.push(c.clone());
            continue;
        }
        let lossy = |detail: String| PoolError::LossyValue { column: f.name().clone(), from: c.data_type().to_string(), to: f.data_type().to_string(), detail };
        columns.push(arrow_cast::cast_with_options(c, f.data_type(), &strict).map_err(|e| lossy(e.to_string()))?);
    }
    Ok(RecordBatch::try_new(target.clone(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iceberg_types() {
        let s = Schema::new(vec![
            Field::new("n", DataType::Null, true),
            Field::new("u", DataType::UInt16, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Berlin".into())), true),
            Field::new("v", DataType::Utf8View, true),
            Field::new("d", DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)), true),
        ]);
        let n = normalize_schema(&s).unwrap();
        let types: Vec<_> = n.fields().iter().map(|f| f.data_type().clone()).collect();
        assert_eq!(
            types,
            vec![DataType::Utf8, DataType::Int32, DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), DataType::Utf8, DataType::Utf8]
        );
        let bad = Schema::new(vec![Field::new("dur", DataType::Duration(TimeUnit::Second), true)]);
        assert!(normalize_schema(&bad).unwrap_err().to_string().contains("'dur'"));
        let empty = Schema::new(vec![Field::new("s", DataType::Struct(Fields::from(vec![Field::new("e", DataType::Struct(Fields::empty()), true)])), true)]);
        assert!(normalize_schema(&empty).unwrap_err().to_string().contains("'s.e'"));
    }

    #[test]
    fn casts_to_the_table_type_keep_every_value() {
        use arrow_array::UInt64Array;
        let source = Schema::new(vec![Field::new("u", DataType::UInt64, true)]);
        let target = Arc::new(normalize_schema(&source).unwrap());
        let big = RecordBatch::try_from_iter([("u", Arc::new(UInt64Array::from(vec![u64::MAX])) as ArrayRef)]).unwrap();
        let stored = to_table_batch("t", &big, &source, &target).unwrap();
        assert_eq!(arrow_cast::display::array_value_to_string(stored.column(0), 0).unwrap(), u64::MAX.to_string());
    }
}
