//! Source column names a table cannot store as they are, and the mapping it keeps instead.
//!
//! A name the source allows is stored as it is — SQL keywords, leading digits, dots, quotes,
//! spaces, unicode: SQL reaches them quoted (`SELECT "select", "1st" FROM t`) — with one exception: iceberg-rust resolves some names as Iceberg *metadata columns* in every scan, before
//! it looks at the table's schema (`iceberg::metadata_columns::is_metadata_column_name`: `_file`,
//! `_pos`, `_spec_id`, `_partition`, `_deleted`, `pos`, `file_path`, `_row_id`, … ; iceberg-rust
//! 0.10.1 `TableScanBuilder::build`, upstream issue #2837 fixes `pos` and `file_path` only). A data
//! column so named would read the data file's path, or fail with "field not found". Such a column
//! is stored as `<name>_col` (`_col2`, … if taken), the rename is reported with the load, and the
//! table keeps the mapping in its property [`RENAMES_PROPERTY`] (a JSON object, source name →
//! stored name), so a later delta maps the source's columns the same way and
//! [`crate::Pool::table_schema`] answers in source names.

use std::collections::{BTreeMap, HashMap};

use arrow_schema::{Field, Schema};
use serde::{Deserialize, Serialize};

use crate::PoolError;

/// The table property (Iceberg table metadata `properties`) that holds the renames.
pub const RENAMES_PROPERTY: &str = "lakeport.column-renames";

/// One source column stored under another name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ColumnRename {
    /// The column's name in the source file.
    pub source: String,
    /// The name the table stores it under (and SQL reads it by).
    pub stored: String,
    /// Why it could not keep its name.
    pub reason: String,
}

/// A name iceberg-rust's scans take for a metadata column (see the module doc).
pub fn is_reserved_column_name(name: &str) -> bool {
    iceberg::metadata_columns::is_metadata_column_name(name)
}

/// The renames of one table: source name → stored name.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ColumnNames {
    renames: BTreeMap<String, String>,
}

impl ColumnNames {
    /// The renames recorded in a table's properties (none when the property is absent).
    /// Errors: [`PoolError::Catalog`] when the property is not a JSON object of strings — reading
    /// on would map the source's columns differently than the table holds them.
    pub(crate) fn from_properties(properties: &HashMap<String, String>, table: &str) -> Result<Self, PoolError> {
        let Some(raw) = properties.get(RENAMES_PROPERTY) else { return Ok(Self::default()) };
        let renames = serde_json::from_str(raw)
            .map_err(|e| PoolError::Catalog(format!("table '{table}': property {RENAMES_PROPERTY} is not a JSON object of column names ({e}): {raw}")))?;
        Ok(Self { renames })
    }

    /// The property value that records these renames.
    pub(crate) fn to_property(&self) -> String {
        serde_json::to_string(&self.renames).expect("a map of strings serializes")
    }

    /// `schema` (source names) with every column the table cannot store as named renamed: the
    /// recorded rename where there is one, else a new one (recorded here). A source column whose
    /// name equals another column's stored name is renamed too, so no two columns meet.
    pub(crate) fn assign(&mut self, schema: &Schema) -> Schema {
        let targets: Vec<String> = self.renames.values().cloned().collect();
        let mut taken: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).chain(targets.iter().cloned()).collect();
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| {
                let name = f.name();
                let stored = match self.renames.get(name) {
                    Some(stored) => stored.clone(),
                    None if is_reserved_column_name(name) || targets.contains(name) => {
                        let stored = (1..).map(|k| if k == 1 { format!("{name}_col") } else { format!("{name}_col{k}") }).find(|n| !taken.contains(n)).expect("unbounded");
                        taken.push(stored.clone());
                        self.renames.insert(name.clone(), stored.clone());
                        stored
                    }
                    None => return f.as_ref().clone(),
                };
                f.as_ref().clone().with_name(stored)
            })
            .collect();
        Schema::new_with_metadata(fields, schema.metadata().clone())
    }

    /// `schema` (stored names) with the source names back.
    pub(crate) fn to_source(&self, schema: &Schema) -> Schema {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match self.renames.iter().find(|(_, stored)| *stored == f.name()) {
                Some((source, _)) => f.as_ref().clone().with_name(source.clone()),
                None => f.as_ref().clone(),
            })
            .collect();
        Schema::new_with_metadata(fields, schema.metadata().clone())
    }

    /// The renames that apply to the columns of `schema` (source names), in column order.
    pub(crate) fn applied_to(&self, schema: &Schema) -> Vec<ColumnRename> {
        schema
            .fields()
            .iter()
            .filter_map(|f| {
                let stored = self.renames.get(f.name())?;
                let reason = if is_reserved_column_name(f.name()) {
                    format!("Iceberg readers take '{}' for a metadata column", f.name())
                } else {
                    format!("'{}' is the stored name of another column", f.name())
                };
                Some(ColumnRename { source: f.name().clone(), stored: stored.clone(), reason })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::DataType;

    fn schema(names: &[&str]) -> Schema {
        Schema::new(names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>())
    }
    fn names(s: &Schema) -> Vec<String> {
        s.fields().iter().map(|f| f.name().clone()).collect()
    }

    #[test]
    fn reserved_names_are_renamed_and_mapped_back() {
        let mut n = ColumnNames::default();
        let source = schema(&["id", "_file", "pos", "file_path", "_pos", "_spec_id", "select", "_file_col"]);
        let stored = n.assign(&source);
        assert_eq!(names(&stored), ["id", "_file_col2", "pos_col", "file_path_col", "_pos_col", "_spec_id_col", "select", "_file_col"]);
        assert_eq!(n.to_source(&stored), source);
        assert_eq!(n.applied_to(&source).len(), 5);

        // A later file: the same mapping; a source column named like a stored one is moved aside.
        let mut again = ColumnNames::from_properties(&HashMap::from([(RENAMES_PROPERTY.to_string(), n.to_property())]), "t").unwrap();
        assert_eq!(again, n);
        let later = schema(&["pos", "pos_col"]);
        let stored = again.assign(&later);
        assert_eq!(names(&stored), ["pos_col", "pos_col_col"]);
        assert_eq!(again.to_source(&stored), later);
    }

    #[test]
    fn a_corrupt_property_is_an_error() {
        let props = HashMap::from([(RENAMES_PROPERTY.to_string(), "[1,2]".to_string())]);
        let err = ColumnNames::from_properties(&props, "events").unwrap_err().to_string();
        assert!(err.contains("events") && err.contains(RENAMES_PROPERTY), "{err}");
    }
}
