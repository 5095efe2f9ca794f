//! Saved connections as the application sees them — typed settings ([`ConnectionConfig`]: S3
//! extraction or zero-copy) and a zero-copy connection's shares — over the pool's untyped store;
//! changing a saved connection (`lakeport connection update`, `PUT /api/pools/{pool}/connections/{name}`);
//! and the pool's one list of tables, extracted and shared.
//!
//! Why the types live here and not in lakeport-pool: the pool is the Iceberg warehouse, its
//! catalog and the pool's metadata, with no dependency on the zero-copy crate. It stores a
//! connection as its type tag and settings JSON (`lakeport_pool::StoredConnection`) and a
//! connection's shares as JSON; this module is the one place that types them, so a new
//! connection type (an Iceberg REST catalog of another kind, …) touches core, not the pool. The
//! JSON is serde's internally tagged form of [`ConnectionConfig`] — the same text lakeport wrote
//! when the enum lived in the pool — so existing pools open unchanged. A stored row that does not
//! read back as its type is `PoolError::Corrupt` naming the connection, never a default.

use chrono::{DateTime, Utc};
use lakeport_pool::{table_name_from, Pool, PoolError, StoredConnection, TableInfo};
use lakeport_source::{S3Config, Secret};
use lakeport_zerocopy::{SelectedShare, ZeroCopyAuth, ZeroCopyConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{test_with_shares, CoreError, TestReport};

/// The settings of a data connection, by type. Secrets are never part of this (they live in the
/// pool's secrets directory), so a `Connection` can be printed, logged and returned by an API.
///
/// Serialised as a JSON object with the type as its `type` member (`s3-extraction`,
/// `zero-copy`) and the type's settings beside it: the API's and the pool's form alike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ConnectionConfig {
    /// Amazon S3, "Extractions (via APIs)".
    S3Extraction(S3Config),
    /// Amazon S3, "Zero-copy (via Iceberg REST catalog)".
    ZeroCopy(ZeroCopyConfig),
}

impl ConnectionConfig {
    /// The type's tag, as in the JSON's `type` member: `s3-extraction` or `zero-copy`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ConnectionConfig::S3Extraction(_) => lakeport_pool::S3_EXTRACTION,
            ConnectionConfig::ZeroCopy(_) => "zero-copy",
        }
    }
}

/// A saved connection with its typed settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Connection {
    /// The pool it belongs to.
    pub pool: String,
    /// Its name, unique in the pool ignoring ASCII case.
    pub name: String,
    /// Its settings (no secret).
    pub config: ConnectionConfig,
    /// When it was saved (UTC).
    pub created_at: DateTime<Utc>,
}

impl Connection {
    /// The typed form of a connection as the pool stores it.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] naming the connection when its stored settings are not a
    /// [`ConnectionConfig`] (an unknown type, a missing or mistyped member).
    pub fn from_stored(stored: StoredConnection) -> Result<Connection, PoolError> {
        let config = serde_json::from_value(Value::Object(stored.settings.clone())).map_err(|e| stored.corrupt(e))?;
        Ok(Connection { pool: stored.pool, name: stored.name, config, created_at: stored.created_at })
    }
}

/// Every connection of the pool, sorted by name.
///
/// # Errors
///
/// [`CoreError::Pool`]: [`PoolError::Corrupt`] naming the first connection whose stored
/// settings do not read back, or the catalog database's error.
pub async fn connections(pool: &Pool) -> Result<Vec<Connection>, CoreError> {
    Ok(pool.connections().await?.into_iter().map(Connection::from_stored).collect::<Result<_, _>>()?)
}

/// One saved connection.
///
/// # Errors
///
/// [`CoreError::Pool`]: [`PoolError::NoSuchConnection`], or as [`connections`].
pub async fn connection(pool: &Pool, name: &str) -> Result<Connection, CoreError> {
    Ok(Connection::from_stored(pool.connection(name).await?)?)
}

/// The shares selected on a zero-copy connection (none stored: empty).
///
/// # Errors
///
/// [`CoreError::Pool`]: [`PoolError::Corrupt`] naming the connection when a stored share is
/// not a `SelectedShare` (never read as "no shares"), or the catalog database's error.
pub async fn shares(pool: &Pool, connection: &str) -> Result<Vec<SelectedShare>, CoreError> {
    let corrupt = |e: serde_json::Error| PoolError::Corrupt { what: format!("the shares of connection '{connection}' in pool '{}'", pool.name()), detail: format!("they do not parse: {e}") };
    Ok(pool.shares(connection).await?.into_iter().map(|s| serde_json::from_value(s).map_err(corrupt)).collect::<Result<_, _>>()?)
}

/// Replaces the shares selected on a zero-copy connection.
///
/// # Errors
///
/// [`CoreError::Invalid`] for a connection of another type (only zero-copy connections have
/// shares); [`CoreError::Pool`] for a missing connection or a failed write.
pub async fn set_shares(pool: &Pool, connection: &str, shares: &[SelectedShare]) -> Result<(), CoreError> {
    let conn = self::connection(pool, connection).await?;
    if !matches!(conn.config, ConnectionConfig::ZeroCopy(_)) {
        return Err(CoreError::Invalid(format!("connection '{connection}' is not a zero-copy connection; only those have shares")));
    }
    Ok(pool.set_shares(connection, shares).await?)
}

/// Changes to a saved connection. Everything left out keeps its stored value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionUpdate {
    /// A JSON Merge Patch (RFC 7396) of the connection's `config` as `GET …/connections/{name}`
    /// shows it: members left out keep their value, `null` clears an optional one (back to its
    /// default), `auth` is merged member by member. The type cannot change, and a member the
    /// connection type does not have is refused (never ignored).
    #[serde(default)]
    pub config: Value,
    /// A new secret (secret access key or bearer token); `None` or empty keeps the stored one.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// What [`update_connection`] did.
#[derive(Clone, Debug, Serialize)]
pub struct UpdateOutcome {
    /// The new settings were saved (only after Test Connection passed).
    pub saved: bool,
    /// The Test Connection report for the new settings.
    pub test: TestReport,
    /// The settings whose value changes (dotted paths: `endpoint`, `auth.external_id`), and
    /// `secret` when a new one was given.
    pub changed: Vec<String>,
    /// The connection as saved; `None` when the test failed (then nothing changed).
    pub connection: Option<Connection>,
}

/// Changes a saved connection of either type: merges `update` into its settings, checks them,
/// runs Test Connection with the new settings (a zero-copy connection against the tables of its
/// shares), and saves settings and secret together only if the test passed. A failed test changes
/// nothing (settings, secret and shares stay as they were); the shares are kept either way.
///
/// # Errors
///
/// [`CoreError::Invalid`] for a patch that is not an object, changes the type, names a
/// member the type lacks, or leaves the settings invalid, and for a missing secret (switching a
/// zero-copy connection to an access key or bearer token needs a new one, and an assumed role
/// refuses one); [`CoreError::Pool`] for a missing connection or a failed save; the probe's
/// errors when Test Connection cannot run.
pub async fn update_connection(pool: &Pool, name: &str, update: ConnectionUpdate) -> Result<UpdateOutcome, CoreError> {
    let conn = connection(pool, name).await?;
    let before = serde_json::to_value(&conn.config).expect("config serialises");
    let patch = match update.config {
        Value::Null => Value::Object(Map::new()),
        p @ Value::Object(_) => p,
        other => return Err(CoreError::Invalid(format!("config must be an object of the settings to change, not {other}"))),
    };
    if let Some(t) = patch.get("type") {
        if t != &before["type"] {
            return Err(CoreError::Invalid(format!(
                "a connection's type cannot change ('{name}' is {}); remove it and add a new one",
                before["type"]
            )));
        }
    }
    let mut merged = before.clone();
    // RFC 7396 JSON Merge Patch (json-patch crate).
    json_patch::merge(&mut merged, &patch);
    let config: ConnectionConfig = serde_json::from_value(merged).map_err(|e| CoreError::Invalid(format!("the new settings of '{name}' are not valid: {e}")))?;
    let after = serde_json::to_value(&config).expect("config serialises");
    if let Some(unknown) = unknown_member(&patch, &after, "") {
        let known: Vec<&str> = after.as_object().map(|o| o.keys().map(String::as_str).filter(|k| *k != "type").collect()).unwrap_or_default();
        return Err(CoreError::Invalid(format!("a {} connection has no setting '{unknown}' (it has: {})", config.type_name(), known.join(", "))));
    }
    match &config {
        ConnectionConfig::S3Extraction(c) => c.validate()?,
        ConnectionConfig::ZeroCopy(c) => c.validate()?,
    }

    let new_secret = update.secret.as_ref().and_then(Secret::trimmed);
    let stored = pool.connection_secret_opt(name)?;
    // What the secret becomes: None keeps it, Some(None) deletes it, Some(Some) replaces it.
    let secret_change: Option<Option<Secret>> = match (&conn.config, &config) {
        (ConnectionConfig::ZeroCopy(old), ConnectionConfig::ZeroCopy(new)) => {
            let method_changed = std::mem::discriminant(&old.auth) != std::mem::discriminant(&new.auth);
            match &new.auth {
                ZeroCopyAuth::AssumeRole { .. } if new_secret.is_some() => {
                    return Err(CoreError::Invalid("an assumed role needs no secret; leave the secret out (or switch auth to an access key)".into()));
                }
                ZeroCopyAuth::AssumeRole { .. } => stored.is_some().then_some(None),
                _ if new_secret.is_some() => Some(new_secret.clone()),
                _ if method_changed || stored.is_none() => {
                    return Err(CoreError::Invalid(format!(
                        "switching '{name}' to {} needs its secret (secret access key, bearer token or OAuth2 client secret)",
                        match new.auth {
                            ZeroCopyAuth::Bearer => "a bearer token",
                            ZeroCopyAuth::OAuth2 { .. } => "OAuth2 client credentials",
                            _ => "an access key",
                        }
                    )));
                }
                _ => None,
            }
        }
        (ConnectionConfig::S3Extraction(old), ConnectionConfig::S3Extraction(new)) => match (&new.auth, new_secret.is_some()) {
            (auth, true) if !auth.is_access_key() => {
                return Err(CoreError::Invalid(format!("the {} method takes no secret; leave the secret out (or switch auth to an access key)", auth.method())));
            }
            // Nothing secret is kept for a role, a profile or the default chain.
            (auth, false) if !auth.is_access_key() => stored.is_some().then_some(None),
            (_, false) if !old.auth.is_access_key() || stored.is_none() => {
                return Err(CoreError::Invalid(format!("switching '{name}' to an access key needs its secret access key")));
            }
            _ => new_secret.clone().map(Some),
        },
        _ => new_secret.clone().map(Some),
    };
    let mut changed = changed_paths(&before, &after, "");
    if new_secret.is_some() {
        changed.push("secret".into());
    }

    let effective = match &secret_change {
        Some(s) => s.clone(),
        None => stored,
    };
    let shares = if matches!(config, ConnectionConfig::ZeroCopy(_)) { shares(pool, name).await? } else { Vec::new() };
    let test = test_with_shares(&config, effective.as_ref(), &shares).await?;
    if !test.passed() {
        return Ok(UpdateOutcome { saved: false, test, changed, connection: None });
    }
    let saved = Connection::from_stored(pool.update_connection(name, &config, secret_change.as_ref().map(|s| s.as_ref())).await?)?;
    Ok(UpdateOutcome { saved: true, test, changed, connection: Some(saved) })
}

/// The first member set (not null) in `patch` that the saved settings do not have: a typo, or a
/// setting of the other connection type.
fn unknown_member(patch: &Value, saved: &Value, prefix: &str) -> Option<String> {
    let Value::Object(p) = patch else { return None };
    for (k, v) in p {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match saved.get(k) {
            None if !v.is_null() => return Some(path),
            Some(s) => {
                if let Some(u) = unknown_member(v, s, &path) {
                    return Some(u);
                }
            }
            None => {}
        }
    }
    None
}

/// Dotted paths of the leaves that differ between `a` and `b`.
fn changed_paths(a: &Value, b: &Value, prefix: &str) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    changed_paths(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), &path)
                })
                .collect()
        }
        _ if a == b => Vec::new(),
        _ => vec![prefix.to_string()],
    }
}

/// One table of the pool: extracted into it, or shared in place by a zero-copy connection.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PoolTable {
    /// A table the pool holds (extractions load it).
    Extracted(TableInfo),
    /// A table of a zero-copy share, read where it is.
    Shared {
        /// The name queries use, each part quoted as needed (`lake."Marketing-EU"."Campaign-Stats"`).
        name: String,
        /// The zero-copy connection that shares it.
        connection: String,
        /// Its namespace in the source catalog.
        namespace: String,
        /// Its table name in the source catalog.
        table: String,
    },
}

/// Every table of the pool: the extracted ones, then the shared ones (as their shares list them;
/// no catalog call — `connection shares` checks them against the source), sorted by SQL name.
///
/// # Errors
///
/// [`CoreError::Pool`] when the tables, connections or shares cannot be read, or a connection
/// name gives no SQL name.
pub async fn pool_tables(pool: &Pool) -> Result<Vec<PoolTable>, CoreError> {
    let mut out: Vec<PoolTable> = pool.tables().await?.into_iter().map(PoolTable::Extracted).collect();
    let mut shared = Vec::new();
    for conn in connections(pool).await? {
        if !matches!(conn.config, ConnectionConfig::ZeroCopy(_)) {
            continue;
        }
        let catalog = table_name_from(&conn.name)?;
        for s in shares(pool, &conn.name).await? {
            for t in &s.tables {
                shared.push(PoolTable::Shared {
                    name: lakeport_zerocopy::sql_name(&[&catalog, &s.share.namespace, t]),
                    connection: conn.name.clone(),
                    namespace: s.share.namespace.clone(),
                    table: t.clone(),
                });
            }
        }
    }
    shared.sort_by(|a, b| match (a, b) {
        (PoolTable::Shared { name: x, .. }, PoolTable::Shared { name: y, .. }) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    });
    out.extend(shared);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_keeps_what_is_left_out_and_clears_nulls() {
        let mut v = json!({ "region": "a", "endpoint": "http://x", "auth": { "method": "assume-role", "role_arn": "r", "external_id": "e" } });
        json_patch::merge(&mut v, &json!({ "endpoint": null, "auth": { "external_id": "f" } }));
        assert_eq!(v, json!({ "region": "a", "auth": { "method": "assume-role", "role_arn": "r", "external_id": "f" } }));
        assert_eq!(unknown_member(&json!({ "auth": { "extrnal_id": "x" } }), &v, ""), Some("auth.extrnal_id".into()));
        assert_eq!(unknown_member(&json!({ "endpoint": null, "region": "b" }), &v, ""), None);
        assert_eq!(changed_paths(&json!({ "a": 1, "b": { "c": 2 } }), &json!({ "a": 1, "b": { "c": 3 }, "d": null }), ""), vec!["b.c".to_string()]);
    }
}
