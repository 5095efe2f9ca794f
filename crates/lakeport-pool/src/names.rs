//! Names that end up as SQL identifiers and directory names. Everything that becomes a path
//! segment goes through here, so no name can escape the warehouse directory.

use crate::PoolError;

/// Checks a pool or table identifier: 1–128 characters of `a-z`, `0-9`, `_`, not starting with
/// a digit (so it is a bare SQL identifier and a safe directory name). `kind` (`pool`, `table`)
/// names it in the error.
///
/// # Errors
///
/// [`PoolError::InvalidName`] naming the identifier and the rule.
pub fn validate_identifier(kind: &str, name: &str) -> Result<(), PoolError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(PoolError::InvalidName(format!(
            "{kind} name '{name}' must be 1-128 characters of lowercase letters, digits and '_', not starting with a digit"
        )))
    }
}

/// A file or folder name turned into a table name: lowercase, runs of anything but letters and
/// digits become one `_`, no leading/trailing `_`, `t_` before a leading digit, at most 128 bytes.
/// Non-ASCII letters are transliterated where trivial (ä→a is not attempted: they become `_`).
/// The result passes [`validate_identifier`]. Also the SQL name of a zero-copy connection.
///
/// # Errors
///
/// [`PoolError::InvalidName`] when `raw` has no ASCII letter or digit.
pub fn table_name_from(raw: &str) -> Result<String, PoolError> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut name = out.trim_matches('_').to_string();
    if name.is_empty() {
        return Err(PoolError::InvalidName(format!("'{raw}' has no letters or digits to name a table after; name the table explicitly")));
    }
    if name.as_bytes()[0].is_ascii_digit() {
        name.insert_str(0, "t_");
    }
    if name.len() > 128 {
        name.truncate(128);
        name = name.trim_end_matches('_').to_string();
    }
    Ok(name)
}

/// Connection names are shown to people: letters, digits, space, `_`, `-`, `.`; 1–64 characters.
pub(crate) fn validate_connection_name(name: &str) -> Result<(), PoolError> {
    let ok = !name.trim().is_empty()
        && name.len() <= 64
        && name == name.trim()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(PoolError::InvalidName(format!(
            "connection name '{name}' must be 1-64 characters of letters, digits, space, '_', '-', '.'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_safe_identifiers() {
        assert_eq!(table_name_from("Purchase Orders (2024)").unwrap(), "purchase_orders_2024");
        assert_eq!(table_name_from("../../etc/passwd").unwrap(), "etc_passwd");
        assert_eq!(table_name_from("2024-events").unwrap(), "t_2024_events");
        assert_eq!(table_name_from("Ünïcode-naïve").unwrap(), "n_code_na_ve");
        assert!(table_name_from("...").is_err());
        let long = "x".repeat(500);
        assert_eq!(table_name_from(&long).unwrap().len(), 128);
        for raw in ["a b", "../x", "ÄÖÜ x", "a/b\\c", "con"] {
            let n = table_name_from(raw).unwrap();
            validate_identifier("table", &n).unwrap();
        }
    }

    #[test]
    fn identifiers_and_connection_names() {
        assert!(validate_identifier("pool", "default").is_ok());
        assert!(validate_identifier("pool", "Default").is_err());
        assert!(validate_identifier("pool", "../x").is_err());
        assert!(validate_connection_name("S3 prod-eu.1").is_ok());
        assert!(validate_connection_name("../secret").is_err());
        assert!(validate_connection_name(" padded").is_err());
    }
}
