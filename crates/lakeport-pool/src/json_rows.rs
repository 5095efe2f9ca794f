//! Query rows as JSON, the one form the CLI (`query --json`) and the HTTP API both print.
//!
//! Faithful for JSON parsers: a decimal is a string with all its digits (`"12345678901234567890123456.78"`;
//! as a JSON number a parser would round it to a double), and a null is `null` (the key is
//! present, not dropped). Other values as arrow-json writes them.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema};

/// The rows of `batches` as one JSON array of objects (column name → value), `[]` for none.
///
/// Returns UTF-8 JSON bytes.
///
/// # Errors
///
/// An [`ArrowError`] when a value has no JSON form (arrow-json's own refusals).
pub fn rows_json(batches: &[RecordBatch]) -> Result<Vec<u8>, ArrowError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow_json::WriterBuilder::new().with_explicit_nulls(true).build::<_, arrow_json::writer::JsonArray>(&mut buf);
        for batch in batches {
            w.write(&decimals_as_text(batch)?)?;
        }
        w.finish()?;
    }
    if buf.is_empty() {
        buf.extend_from_slice(b"[]");
    }
    Ok(buf)
}

/// The batch with every decimal (also inside lists, structs and maps) cast to its exact text.
fn decimals_as_text(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| has_decimal(f.data_type())) {
        return Ok(batch.clone());
    }
    let fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone().with_data_type(text_type(f.data_type()))).collect();
    let columns = batch
        .columns()
        .iter()
        .zip(&fields)
        .map(|(c, f)| if c.data_type() == f.data_type() { Ok(c.clone()) } else { arrow_cast::cast(c, f.data_type()) })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())), columns)
}

fn has_decimal(t: &DataType) -> bool {
    match t {
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => has_decimal(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| has_decimal(f.data_type())),
        _ => false,
    }
}

/// `t` with each decimal replaced by Utf8.
fn text_type(t: &DataType) -> DataType {
    let field = |f: &Arc<Field>| Arc::new(f.as_ref().clone().with_data_type(text_type(f.data_type())));
    match t {
        DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..) | DataType::Decimal256(..) => DataType::Utf8,
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        DataType::Struct(fields) => DataType::Struct(Fields::from(fields.iter().map(field).collect::<Vec<_>>())),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Decimal128Builder, ListBuilder};
    use arrow_array::{Array, Decimal128Array, Int64Array, StringArray};

    #[test]
    fn decimals_keep_every_digit_and_nulls_are_present() {
        let big = Decimal128Array::from(vec![Some(12345678901234567890123456789012345678i128), None, Some(-5)]).with_precision_and_scale(38, 2).unwrap();
        let mut builder = ListBuilder::new(Decimal128Builder::new().with_data_type(DataType::Decimal128(10, 2)));
        builder.values().append_value(150);
        builder.append(true);
        builder.append(false);
        builder.append(true);
        let list: ArrayRef = Arc::new(builder.finish());
        let schema = Schema::new(vec![
            Field::new("d", big.data_type().clone(), true),
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("l", list.data_type().clone(), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(big), Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])), Arc::new(StringArray::from(vec![None, Some("x"), None])), list],
        )
        .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&rows_json(&[batch]).unwrap()).unwrap();
        assert_eq!(
            rows,
            serde_json::json!([
                {"d": "123456789012345678901234567890123456.78", "n": 1, "s": null, "l": ["1.50"]},
                {"d": null, "n": null, "s": "x", "l": null},
                {"d": "-0.05", "n": 3, "s": null, "l": []},
            ])
        );
        assert_eq!(rows_json(&[]).unwrap(), b"[]");
    }
}
