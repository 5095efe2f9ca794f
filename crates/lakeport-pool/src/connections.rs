use chrono::{DateTime, Utc};
use lakeport_source::S3Config;
use lakeport_zerocopy::ZeroCopyConfig;
use serde::{Deserialize, Serialize};

/// The settings of a data connection, by type. Secrets are never part of this (they live in the
/// pool's secrets directory), so a `Connection` can be printed, logged and returned by an API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ConnectionConfig {
    /// Amazon S3, "Extractions (via APIs)".
    S3Extraction(S3Config),
    /// Amazon S3, "Zero-copy (via Iceberg REST catalog)".
    ZeroCopy(ZeroCopyConfig),
}

impl ConnectionConfig {
    pub fn type_name(&self) -> &'static str {
        match self {
            ConnectionConfig::S3Extraction(_) => "s3-extraction",
            ConnectionConfig::ZeroCopy(_) => "zero-copy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Connection {
    pub pool: String,
    pub name: String,
    pub config: ConnectionConfig,
    pub created_at: DateTime<Utc>,
}
