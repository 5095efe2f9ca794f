use lakeport_aws::HttpPolicy;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ZeroCopyError;

/// How lakeport authenticates to the catalog and to S3 (the AWS layer's, shared with
/// REST-catalog pools).
pub use lakeport_aws::CatalogAuth as ZeroCopyAuth;

/// The non-secret settings of a zero-copy connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ZeroCopyConfig {
    /// AWS region of the catalog, STS and S3, such as `eu-west-1`; also the SigV4 signing region.
    pub region: String,
    /// `None`: AWS Glue's endpoint for the region.
    #[serde(default)]
    pub catalog_url: Option<String>,
    /// The `warehouse` of the Iceberg REST `GET /v1/config` call; for Glue: the AWS account id
    /// that owns the catalog.
    pub warehouse: String,
    /// How requests are authenticated.
    pub auth: ZeroCopyAuth,
    /// SigV4 signing name of the catalog (`glue`; `s3tables` for S3 Tables).
    #[serde(default = "default_signing_name")]
    pub signing_name: String,
    /// S3 endpoint for data files (S3-compatible stores); `None`: AWS.
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// Path-style S3 URLs (`endpoint/bucket/key`) instead of virtual-hosted ones.
    #[serde(default)]
    pub s3_path_style: bool,
    /// STS endpoint for AssumeRole; `None`: `https://sts.<region>.amazonaws.com`.
    #[serde(default)]
    pub sts_endpoint: Option<String>,
    /// Allow plain HTTP; only to loopback endpoints (local test servers) unless
    /// `allow_http_anywhere` is set too.
    #[serde(default)]
    pub allow_http: bool,
    /// The explicit override for plain HTTP to a non-loopback host (as for extraction
    /// connections: one [`HttpPolicy`]). Not written when false, so the settings of connections
    /// saved before it existed are stored byte for byte as they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_http_anywhere: bool,
    /// Use storage credentials the catalog vends in LoadTable, when it vends any.
    #[serde(default)]
    pub vended_credentials: bool,
}

fn default_signing_name() -> String {
    lakeport_aws::DEFAULT_SIGNING_NAME.into()
}

/// A selected share: a whole namespace, or one table of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Share {
    /// The catalog namespace (for Glue: the database).
    pub namespace: String,
    /// One table of the namespace; `None`: every table of it.
    pub table: Option<String>,
}

impl Share {
    /// `ns` or `ns.table` (split at the first `.`; surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] for an empty text, or an empty namespace or table (`.x`, `x.`).
    pub fn parse(s: &str) -> Result<Share, ZeroCopyError> {
        let s = s.trim();
        match s.split_once('.') {
            _ if s.is_empty() => Err(ZeroCopyError::InvalidConfig("a share is `namespace` or `namespace.table`".into())),
            Some((ns, t)) if !ns.is_empty() && !t.is_empty() => Ok(Share { namespace: ns.into(), table: Some(t.into()) }),
            None => Ok(Share { namespace: s.into(), table: None }),
            _ => Err(ZeroCopyError::InvalidConfig(format!("'{s}' is not `namespace` or `namespace.table`"))),
        }
    }
}

/// A share with the tables it stood for when it was selected (a namespace share lists its
/// tables; `lakeport connection shares --refresh` re-reads them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SelectedShare {
    /// The share as selected.
    pub share: Share,
    /// Its tables when selected (or last refreshed), by name within the namespace.
    pub tables: Vec<String>,
}

/// An SQL identifier as DataFusion reads it back: bare when it is lowercase letters, digits and
/// `_` (not starting with a digit) and not an SQL keyword, else in double quotes (`"Marketing-EU"`, inner `"` doubled),
/// since DataFusion lowercases bare identifiers.
pub fn quote_ident(part: &str) -> String {
    let bare = part.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && datafusion::sql::sqlparser::keywords::ALL_KEYWORDS.binary_search(&part.to_ascii_uppercase().as_str()).is_err();
    if bare {
        part.to_string()
    } else {
        format!("\"{}\"", part.replace('"', "\"\""))
    }
}

/// A dotted SQL name whose parts are each quoted as needed: `lake."Marketing-EU"."Campaign-Stats"`.
pub fn sql_name(parts: &[&str]) -> String {
    parts.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join(".")
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.table {
            Some(t) => write!(f, "{}.{t}", self.namespace),
            None => write!(f, "{}", self.namespace),
        }
    }
}

impl ZeroCopyConfig {
    /// The Iceberg REST catalog's base URL: `catalog_url` (trailing `/` removed), else AWS Glue's
    /// `https://glue.<region>.amazonaws.com/iceberg`.
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] when the URL does not parse, or is not HTTPS (plain HTTP
    /// passes only with `allow_http` and a loopback host).
    pub fn catalog_url(&self) -> Result<Url, ZeroCopyError> {
        let raw = match &self.catalog_url {
            Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
            _ => format!("https://glue.{}.amazonaws.com/iceberg", self.region.trim()),
        };
        self.checked_url(&raw, "catalog URL")
    }

    /// The STS endpoint for AssumeRole: `sts_endpoint`, else `https://sts.<region>.amazonaws.com/`.
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] as for [`catalog_url`](Self::catalog_url).
    pub fn sts_url(&self) -> Result<Url, ZeroCopyError> {
        Ok(lakeport_aws::sts_url(&self.region, self.sts_endpoint.as_deref(), self.http_policy())?)
    }

    /// The plain-HTTP rule of this connection (`allow_http`, `allow_http_anywhere`).
    pub fn http_policy(&self) -> HttpPolicy {
        HttpPolicy::new(self.allow_http, self.allow_http_anywhere)
    }

    pub(crate) fn checked_url(&self, raw: &str, what: &str) -> Result<Url, ZeroCopyError> {
        Ok(self.http_policy().parse(raw, what)?)
    }

    /// Checks the settings before any request: region and warehouse set, the catalog and S3
    /// endpoints valid, and for [`ZeroCopyAuth::AssumeRole`] an ARN, an External ID and a valid STS
    /// endpoint.
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] naming the first setting that is wrong.
    pub fn validate(&self) -> Result<(), ZeroCopyError> {
        if self.region.trim().is_empty() {
            return Err(ZeroCopyError::InvalidConfig("AWS region is required".into()));
        }
        if self.warehouse.trim().is_empty() {
            return Err(ZeroCopyError::InvalidConfig("warehouse is required (for AWS Glue: the AWS account id)".into()));
        }
        self.catalog_url()?;
        if let Some(e) = &self.s3_endpoint {
            self.checked_url(e, "S3 endpoint")?;
        }
        if let ZeroCopyAuth::AssumeRole { role_arn, external_id } = &self.auth {
            lakeport_aws::check_role(role_arn, external_id)?;
            self.sts_url()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ZeroCopyConfig {
        ZeroCopyConfig {
            region: "eu-west-1".into(),
            catalog_url: None,
            warehouse: "123456789012".into(),
            auth: ZeroCopyAuth::AccessKey { access_key_id: "AKID".into() },
            signing_name: "glue".into(),
            s3_endpoint: None,
            s3_path_style: false,
            sts_endpoint: None,
            allow_http: false,
            allow_http_anywhere: false,
            vended_credentials: false,
        }
    }

    #[test]
    fn defaults_to_glue_over_https() {
        assert_eq!(cfg().catalog_url().unwrap().as_str(), "https://glue.eu-west-1.amazonaws.com/iceberg");
        let mut c = cfg();
        c.catalog_url = Some("http://127.0.0.1:1/iceberg".into());
        assert!(c.validate().is_err());
        c.allow_http = true;
        assert!(c.validate().is_ok());
        c.catalog_url = Some("http://catalog.example.com/iceberg".into());
        assert!(c.validate().unwrap_err().to_string().contains("loopback"));
    }

    #[test]
    fn sql_names_parse_back() {
        assert_eq!(sql_name(&["lake", "Marketing-EU", "Campaign-Stats"]), r#"lake."Marketing-EU"."Campaign-Stats""#);
        assert_eq!(sql_name(&["lake", "sales", "orders_2024"]), "lake.sales.orders_2024");
        assert_eq!(quote_ident("2024"), r#""2024""#);
        assert_eq!(quote_ident("order"), r#""order""#);
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }

    #[test]
    fn shares() {
        assert_eq!(Share::parse("sales").unwrap(), Share { namespace: "sales".into(), table: None });
        assert_eq!(Share::parse("sales.orders").unwrap().to_string(), "sales.orders");
        assert!(Share::parse(".x").is_err() && Share::parse("").is_err());
    }
}
