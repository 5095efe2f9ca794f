//! Per-table column settings: a column subset, and pseudonymisation of chosen columns.
//!
//! Pseudonymisation is a keyed hash: HMAC-SHA-256 (the `hmac` and `sha2` crates) under the
//! pool's key, over the value's text, written as 64 lowercase hex digits. Equal inputs give equal
//! outputs in every file, table and run of the pool (joins keep working); without the key nobody
//! can reverse a value or check a guess. A pseudonymised column is text; NULL stays NULL.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use hmac::{Hmac, Mac};
use lakeport_formats::FormatError;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::ExtractError;

/// Column settings of one table of an extraction (the table as named by its item, after any
/// name override).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TableSettings {
    /// The table's name, as its item loads it.
    pub table: String,
    /// Load only these columns (the files' order is kept); empty: all columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Load every column but these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_columns: Vec<String>,
    /// Replace these columns' values by their keyed hash (text; NULL stays NULL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pseudonymise: Vec<String>,
}

impl TableSettings {
    /// Checks the settings on their own (the columns are checked against the files when loading).
    ///
    /// # Errors
    ///
    /// [`ExtractError::TableSettings`] when both `columns` and `exclude_columns` are given, a
    /// pseudonymised column is not loaded, or a list names a column twice.
    pub fn validate(&self) -> Result<(), ExtractError> {
        let bad = |m: String| Err(ExtractError::TableSettings(format!("table '{}': {m}", self.table)));
        if !self.columns.is_empty() && !self.exclude_columns.is_empty() {
            return bad("give either columns to load or columns to leave out, not both".into());
        }
        if let Some(c) = self.pseudonymise.iter().find(|c| self.exclude_columns.contains(c) || (!self.columns.is_empty() && !self.columns.contains(c))) {
            return bad(format!("column '{c}' is to be pseudonymised but is not loaded"));
        }
        for list in [&self.columns, &self.exclude_columns, &self.pseudonymise] {
            let mut seen = HashSet::new();
            if let Some(c) = list.iter().find(|c| !seen.insert(c.as_str())) {
                return bad(format!("column '{c}' is named twice"));
            }
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.exclude_columns.is_empty() && self.pseudonymise.is_empty()
    }

    /// Every column the settings name is among `available` (the files' columns), or an error
    /// listing the real ones.
    pub(crate) fn check_columns(&self, available: &[String]) -> Result<(), ExtractError> {
        for (setting, list) in [("the column list", &self.columns), ("the excluded columns", &self.exclude_columns), ("pseudonymise", &self.pseudonymise)] {
            if let Some(c) = list.iter().find(|c| !available.contains(c)) {
                return Err(ExtractError::UnknownColumn { table: self.table.clone(), setting, column: c.clone(), available: available.join(", ") });
            }
        }
        Ok(())
    }

    /// Whether the table loads column `name`.
    fn keeps(&self, name: &str) -> bool {
        (self.columns.is_empty() || self.columns.iter().any(|c| c == name)) && !self.exclude_columns.iter().any(|c| c == name)
    }

    /// A file's schema as the table sees it: the kept columns in the file's order, pseudonymised
    /// ones as text.
    pub(crate) fn view(&self, file: &Schema) -> Schema {
        let fields: Vec<Field> = file
            .fields()
            .iter()
            .filter(|f| self.keeps(f.name()))
            .map(|f| if self.pseudonymise.contains(f.name()) { Field::new(f.name(), DataType::Utf8, true) } else { f.as_ref().clone() })
            .collect();
        Schema::new_with_metadata(fields, file.metadata().clone())
    }
}

impl TableSettings {
    /// What a file is read with when the table leaves some of its columns out: the table's
    /// columns and the file's left-out ones (with the file's types), so that readers that insist
    /// on knowing every column (JSON) read the file as it is; [`project`] then drops them. `None`
    /// when the file has no left-out columns.
    pub(crate) fn read_target(&self, file: &Schema, target: &SchemaRef) -> Option<SchemaRef> {
        let dropped: Vec<Field> = file.fields().iter().filter(|f| !self.keeps(f.name()) && target.field_with_name(f.name()).is_err()).map(|f| f.as_ref().clone()).collect();
        if dropped.is_empty() {
            return None;
        }
        let mut fields: Vec<Field> = target.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(dropped);
        Some(Arc::new(Schema::new(fields)))
    }
}

/// `batch` with exactly `target`'s columns (a subset of its own, by name).
pub(crate) fn project(batch: RecordBatch, target: &SchemaRef, file: &str) -> Result<RecordBatch, FormatError> {
    let columns: Vec<ArrayRef> = target.fields().iter().map(|f| batch.column_by_name(f.name()).cloned().expect("the read target holds the table's columns")).collect();
    RecordBatch::try_new(target.clone(), columns).map_err(|e| FormatError::Parse { file: file.to_string(), at: Default::default(), message: e.to_string() })
}

/// The pseudonymisation of one table: its columns and the pool's key.
#[derive(Clone)]
pub(crate) struct Pseudonymiser {
    columns: Arc<Vec<String>>,
    mac: Hmac<Sha256>,
}

impl Pseudonymiser {
    pub(crate) fn new(columns: &[String], key: &[u8]) -> Pseudonymiser {
        // HMAC takes a key of any length; this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
        Pseudonymiser { columns: Arc::new(columns.to_vec()), mac }
    }

    /// The keyed hash of one value, as 64 hex digits.
    pub(crate) fn hash(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(64);
        for b in digest {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// Replaces the pseudonymised columns of `batch` (text, as the table's schema has them) by
    /// their hashes. `file` names the object in an error.
    pub(crate) fn apply(&self, batch: RecordBatch, file: &str) -> Result<RecordBatch, FormatError> {
        let schema: SchemaRef = batch.schema();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for name in self.columns.iter() {
            let Ok(i) = schema.index_of(name) else { continue };
            // The table's column is text; values of another type are cast to their text first.
            let text = arrow_cast::cast(&columns[i], &DataType::Utf8)
                .map_err(|e| FormatError::Parse { file: file.to_string(), at: Default::default(), message: format!("column '{name}': {e}") })?;
            let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8 gives a StringArray");
            let hashed: StringArray = text.iter().map(|v| v.map(|v| self.hash(v))).collect();
            columns[i] = Arc::new(hashed);
        }
        RecordBatch::try_new(schema, columns).map_err(|e| FormatError::Parse { file: file.to_string(), at: Default::default(), message: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        let p = Pseudonymiser::new(&[], b"Jefe");
        assert_eq!(p.hash("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn settings_are_checked() {
        let s = TableSettings { table: "t".into(), columns: vec!["a".into()], exclude_columns: vec!["b".into()], ..Default::default() };
        assert!(s.validate().unwrap_err().to_string().contains("not both"));
        let s = TableSettings { table: "t".into(), columns: vec!["a".into()], pseudonymise: vec!["b".into()], ..Default::default() };
        assert!(s.validate().unwrap_err().to_string().contains("'b' is to be pseudonymised but is not loaded"));
        let s = TableSettings { table: "t".into(), pseudonymise: vec!["email".into()], ..Default::default() };
        let e = s.check_columns(&["id".into(), "mail".into()]).unwrap_err().to_string();
        assert_eq!(e, "table 't': pseudonymise names column 'email', which the files do not have; their columns are: id, mail");
    }
}
