//! Saved connections as the pool stores them: a type tag and that type's settings as JSON.
//!
//! The pool keeps connections (and their shares and secrets) but does not type their settings:
//! which connection types exist and what their settings mean is the application's business
//! (lakeport-core's `ConnectionConfig`: S3 extraction | zero-copy), and typing them here would
//! make the pool depend on every mode's crate (zero-copy's settings live in lakeport-zerocopy).
//! So the pool stores what the application hands it, serialised once, and gives it back as
//! [`StoredConnection`]: the type tag, the settings as JSON, and when it was saved. What the pool
//! checks is what it relies on itself: the stored text is a JSON object with a string `type`
//! member; a row that is not is [`PoolError::Corrupt`], never a default.
//!
//! The one type the pool does read is the S3 extraction's settings ([`StoredConnection::s3_extraction`]):
//! lakeport-extract opens the bucket of an extraction connection, must not depend on
//! lakeport-core, and [`S3Config`] is lakeport-source's, which the pool depends on anyway.
//!
//! On disk (`catalog.db`, table `lakeport_connections`, column `config`) the settings are the JSON
//! lakeport has always written: `{"type":"s3-extraction","region":…,"bucket":…}` (serde's
//! internally tagged form of core's `ConnectionConfig`), so pools written before this split
//! open unchanged.

use chrono::{DateTime, Utc};
use lakeport_source::S3Config;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::PoolError;

/// The type tag of an S3 extraction connection ("Extractions (via APIs)"): the `type` member of
/// its stored settings, as lakeport-core's `ConnectionConfig::S3Extraction` writes it.
pub const S3_EXTRACTION: &str = "s3-extraction";

/// A saved connection as the pool stores it. Secrets are never part of it (they live in the
/// pool's secrets directory, see [`crate::Pool::connection_secret`]), so it can be printed and logged.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredConnection {
    /// The pool the connection belongs to.
    pub pool: String,
    /// The connection's name (unique in the pool, ignoring ASCII case).
    pub name: String,
    /// The connection type's tag: the settings' `type` member (`s3-extraction`, `zero-copy`).
    pub kind: String,
    /// The settings as stored: a JSON object whose `type` member is [`StoredConnection::kind`].
    pub settings: Map<String, Value>,
    /// When the connection was saved (UTC).
    pub created_at: DateTime<Utc>,
}

impl StoredConnection {
    /// The settings of an S3 extraction connection; `Ok(None)` for a connection of another type.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] naming the connection when its stored settings are not an
    /// [`S3Config`] (a row lakeport did not write).
    pub fn s3_extraction(&self) -> Result<Option<S3Config>, PoolError> {
        if self.kind != S3_EXTRACTION {
            return Ok(None);
        }
        let mut fields = self.settings.clone();
        fields.remove("type");
        serde_json::from_value(Value::Object(fields)).map(Some).map_err(|e| self.corrupt(e))
    }

    /// The error for settings that do not read back as their type's (for the application's own
    /// typing of them, too): [`PoolError::Corrupt`] naming the connection and the parse error.
    pub fn corrupt(&self, detail: impl std::fmt::Display) -> PoolError {
        PoolError::corrupt(describe(&self.pool, &self.name), format_args!("its stored settings do not parse: {detail}"))
    }
}

/// How errors name a connection.
fn describe(pool: &str, name: &str) -> String {
    format!("connection '{name}' of pool '{pool}'")
}

/// Settings as stored: `settings` serialised once (the text written is exactly serde_json's, so
/// the stored JSON does not depend on how a JSON map orders its keys), and read back as the
/// object and type tag a [`StoredConnection`] gives.
///
/// Errors: [`PoolError::InvalidSettings`] when they do not serialise to an object with a
/// string `type` member (the pool could not read them back).
pub(crate) fn encode(name: &str, settings: &impl Serialize) -> Result<(String, String, Map<String, Value>), PoolError> {
    let invalid = |detail: String| PoolError::InvalidSettings { connection: name.to_string(), detail };
    let text = serde_json::to_string(settings).map_err(|e| invalid(e.to_string()))?;
    let (kind, object) = split(&text).map_err(invalid)?;
    Ok((text, kind, object))
}

/// A stored `config` text as (type tag, object). Err: why it is not an object with a string `type`.
fn split(text: &str) -> Result<(String, Map<String, Value>), String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => match object.get("type") {
            Some(Value::String(kind)) => Ok((kind.clone(), object)),
            _ => Err("the settings have no connection type (a string `type` member)".into()),
        },
        Ok(other) => Err(format!("the settings are not a JSON object but {other}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A row of `lakeport_connections` as a [`StoredConnection`].
///
/// Errors: [`PoolError::Corrupt`] naming the connection when its settings are not a JSON
/// object with a string `type` member, or its time does not parse.
pub(crate) fn from_row(pool: &str, name: String, config: &str, created_at: &str) -> Result<StoredConnection, PoolError> {
    let what = describe(pool, &name);
    let (kind, settings) = split(config).map_err(|e| PoolError::corrupt(&what, format_args!("its stored settings do not parse: {e}")))?;
    Ok(StoredConnection { pool: pool.to_string(), created_at: crate::pooldir::parse_time(&what, created_at)?, name, kind, settings })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text the pool writes is serde_json's own: keys in the order the type declares them,
    /// not sorted (as a JSON map could), so new rows are byte for byte what lakeport wrote before.
    #[test]
    fn settings_are_written_as_serialised_and_need_a_type() {
        #[derive(Serialize)]
        struct Zebra {
            r#type: &'static str,
            zulu: u8,
            alpha: u8,
        }
        let (text, kind, object) = encode("c", &Zebra { r#type: "s3-extraction", zulu: 1, alpha: 2 }).unwrap();
        assert_eq!(text, r#"{"type":"s3-extraction","zulu":1,"alpha":2}"#);
        assert_eq!((kind.as_str(), object.len()), ("s3-extraction", 3));
        let e = encode("c", &serde_json::json!({ "zulu": 1 })).unwrap_err();
        assert!(matches!(&e, PoolError::InvalidSettings { connection, .. } if connection == "c"), "{e}");
        assert!(encode("c", &[1, 2]).is_err());
    }
}
