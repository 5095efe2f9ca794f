use lakeport_aws::CatalogSettings;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ZeroCopyError;

/// How lakeport authenticates to the catalog and to S3 (the AWS layer's, shared with
/// REST-catalog pools).
pub use lakeport_aws::CatalogAuth as ZeroCopyAuth;

/// The non-secret settings of a zero-copy connection: where its catalog is, what every catalog
/// client has ([`CatalogSettings`], shared with REST-catalog pools), and whether vended
/// credentials are used. JSON: one flat object, as before the shared part was a struct of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ZeroCopyConfig {
    /// `None`: AWS Glue's endpoint for the region.
    #[serde(default)]
    pub catalog_url: Option<String>,
    /// Region, warehouse, auth, signing name, S3 endpoint and path style, STS endpoint and the
    /// plain-HTTP rule (their members at the top level of the JSON).
    #[serde(flatten)]
    pub catalog: CatalogSettings,
    /// Use storage credentials the catalog vends in LoadTable, when it vends any.
    #[serde(default)]
    pub vended_credentials: bool,
}

/// The shared settings read as the connection's own (`config.region`, `config.auth`), as they
/// were before they moved into [`CatalogSettings`]: no caller has to know where they live.
impl std::ops::Deref for ZeroCopyConfig {
    type Target = CatalogSettings;
    fn deref(&self) -> &CatalogSettings {
        &self.catalog
    }
}

impl std::ops::DerefMut for ZeroCopyConfig {
    fn deref_mut(&mut self) -> &mut CatalogSettings {
        &mut self.catalog
    }
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

    pub(crate) fn checked_url(&self, raw: &str, what: &str) -> Result<Url, ZeroCopyError> {
        Ok(self.http_policy().parse(raw, what)?)
    }

    /// Checks the settings before any request: the shared ones ([`CatalogSettings::validate`]:
    /// region, warehouse, S3 and STS endpoints, a role's ARN and External ID, an OAuth2 client)
    /// and the catalog URL.
    ///
    /// # Errors
    /// [`ZeroCopyError::InvalidConfig`] naming the first setting that is wrong.
    pub fn validate(&self) -> Result<(), ZeroCopyError> {
        self.catalog.validate("for AWS Glue: the AWS account id").map_err(|e| match e {
            lakeport_aws::AwsError::InvalidConfig(m) => ZeroCopyError::InvalidConfig(m),
            other => other.into(),
        })?;
        self.catalog_url()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ZeroCopyConfig {
        ZeroCopyConfig {
            catalog_url: None,
            catalog: CatalogSettings::new("eu-west-1", "123456789012", ZeroCopyAuth::AccessKey { access_key_id: "AKID".into() }),
            vended_credentials: false,
        }
    }

    /// A row saved before the shared settings were a struct of their own (and before
    /// `allow_http_anywhere` existed) reads back the same, and is written back the same.
    #[test]
    fn settings_stored_in_the_earlier_shape_read_and_write_back_the_same() {
        let old = r#"{"region":"us-east-1","catalog_url":"http://127.0.0.1:9/iceberg","warehouse":"123456789012","auth":{"method":"assume-role","role_arn":"arn:aws:iam::123456789012:role/lakeport","external_id":"ext-1"},"signing_name":"s3tables","s3_endpoint":"http://127.0.0.1:9","s3_path_style":true,"sts_endpoint":null,"allow_http":true,"vended_credentials":true}"#;
        let c: ZeroCopyConfig = serde_json::from_str(old).unwrap();
        assert_eq!(c.catalog_url.as_deref(), Some("http://127.0.0.1:9/iceberg"));
        assert_eq!((c.region.as_str(), c.warehouse.as_str(), c.signing_name.as_str()), ("us-east-1", "123456789012", "s3tables"));
        assert_eq!((c.s3_endpoint.as_deref(), c.s3_path_style, c.allow_http, c.allow_http_anywhere, c.vended_credentials), (Some("http://127.0.0.1:9"), true, true, false, true));
        assert!(matches!(&c.auth, ZeroCopyAuth::AssumeRole { external_id, .. } if external_id == "ext-1"));
        let back: serde_json::Value = serde_json::to_value(&c).unwrap();
        assert_eq!(back, serde_json::from_str::<serde_json::Value>(old).unwrap());
        // The defaults of members an old row may lack.
        let minimal: ZeroCopyConfig = serde_json::from_str(r#"{"region":"r","warehouse":"w","auth":{"method":"bearer"}}"#).unwrap();
        assert_eq!((minimal.signing_name.as_str(), minimal.catalog_url.clone(), minimal.vended_credentials), ("glue", None, false));
        // An OAuth2 connection: the client id is stored, the secret never (it is no member).
        let oauth: ZeroCopyConfig = serde_json::from_str(r#"{"region":"r","warehouse":"w","auth":{"method":"oauth2","client_id":"lake"}}"#).unwrap();
        assert_eq!(oauth.auth, ZeroCopyAuth::OAuth2 { client_id: "lake".into(), scope: None, server_uri: None });
        assert_eq!(serde_json::to_value(&oauth).unwrap()["auth"], serde_json::json!({"method": "oauth2", "client_id": "lake"}));
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
