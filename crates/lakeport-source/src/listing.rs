//! ListObjectsV2 with every key exactly as S3 stores it.
//!
//! object_store's `list` turns each listed key into its `Path` type (`Path::parse`), which strips
//! a trailing `/` (the folder marker `raw/` comes back as `raw`, a "file" without a type) and
//! refuses keys with empty, `.` or `..` segments — one such key fails the whole listing. S3 allows
//! any UTF-8 key, so lakeport sends the listing request itself: signed with object_store's own
//! `AwsAuthorizer` (through [`SignedClient`]), with `encoding-type=url` so that keys holding
//! characters XML 1.0 cannot carry come through too, parsed with quick-xml as object_store parses
//! it, and decoded back to the stored key. HEAD and GET stay with object_store
//! ([`crate::S3Source::locate`]).


use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::config::uri_encode;
use crate::error::describe_s3_error_document;
use crate::{ObjectInfo, S3Config, SignedClient, SignedResponse, SourceError};

/// The parts of a ListObjectsV2 answer lakeport uses (S3 API reference, ListObjectsV2).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefix>,
    #[serde(default)]
    is_truncated: bool,
    next_continuation_token: Option<String>,
    /// `url` when the server honoured `encoding-type=url`: then Key and Prefix are URL-encoded.
    encoding_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    size: u64,
    last_modified: String,
    #[serde(rename = "ETag")]
    e_tag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix {
    prefix: String,
}

/// Every page of one listing, in the order S3 returned them.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub objects: Vec<ObjectInfo>,
    /// With a delimiter: the common prefixes (each ends in `/`).
    pub prefixes: Vec<String>,
}

/// Lists every object whose key starts with `prefix` (sent as is; `""` lists the bucket), all
/// pages; with `delimiter`, one level only (keys past the next `/` come as common prefixes).
pub(crate) async fn list_objects(
    client: &SignedClient,
    config: &S3Config,
    prefix: &str,
    delimiter: bool,
) -> Result<Listing, SourceError> {
    let bucket_url = config.bucket_url()?;
    let bad = |message: String| SourceError::BadListing { bucket: config.bucket.clone(), prefix: prefix.to_string(), message };
    let mut out = Listing::default();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("list-type", "2"), ("encoding-type", "url")];
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if delimiter {
            query.push(("delimiter", "/"));
        }
        if let Some(t) = &token {
            query.push(("continuation-token", t));
        }
        // Strict encoding (`+` as %2B, space as %20): SigV4 canonicalises the query the same way,
        // and no server can mistake a `+` in a prefix for a space.
        let mut url = bucket_url.clone();
        url.set_query(Some(&query.iter().map(|(k, v)| format!("{k}={}", uri_encode(v))).collect::<Vec<_>>().join("&")));
        let resp = send_with_retries(client, &url, config.max_retries).await?;
        if resp.status != 200 {
            return Err(SourceError::S3 {
                op: "list",
                bucket: config.bucket.clone(),
                key: prefix.to_string(),
                status: resp.status,
                message: describe_s3_error_document(resp.text()).unwrap_or_else(|| format!("HTTP {}", resp.status)),
            });
        }
        let body = std::str::from_utf8(&resp.body).map_err(|e| bad(e.to_string()))?;
        let page: ListBucketResult = quick_xml::de::from_str(body).map_err(|e| bad(e.to_string()))?;
        let encoded = page.encoding_type.as_deref() == Some("url");
        for c in page.contents {
            let last_modified = DateTime::parse_from_rfc3339(&c.last_modified)
                .map_err(|e| bad(format!("LastModified '{}': {e}", c.last_modified)))?
                .with_timezone(&Utc);
            out.objects.push(ObjectInfo { key: decode(c.key, encoded).map_err(&bad)?, size: c.size, etag: c.e_tag, last_modified });
        }
        for p in page.common_prefixes {
            out.prefixes.push(decode(p.prefix, encoded).map_err(&bad)?);
        }
        if !page.is_truncated {
            return Ok(out);
        }
        match page.next_continuation_token {
            Some(t) => token = Some(t),
            None => return Err(bad("the page is truncated but has no continuation token".into())),
        }
    }
}

/// A key as stored, from its `encoding-type=url` form. S3 encodes the form way: a space may come
/// as `+`, a `+` itself always comes as `%2B`.
fn decode(raw: String, url_encoded: bool) -> Result<String, String> {
    if !url_encoded {
        return Ok(raw);
    }
    percent_encoding::percent_decode_str(&raw.replace('+', " "))
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| format!("key '{raw}' is not UTF-8 once decoded: {e}"))
}

/// Sends one listing request, again after what S3 and networks get wrong for a moment (transport
/// errors, 5xx, 429 SlowDown), waiting 100 ms and doubling up to 10 s — the backoff the
/// connection's object_store client uses for object reads; `max_retries` is the connection's
/// retry budget. (object_store's retrying client is crate-private, hence this small loop.)
async fn send_with_retries(client: &SignedClient, url: &url::Url, max_retries: usize) -> Result<SignedResponse, SourceError> {
    let mut wait = lakeport_aws::RETRY_INIT_BACKOFF;
    let mut attempt = 0;
    loop {
        let result = client.send(http::Method::GET, url, &[], Bytes::new()).await;
        let transient = match &result {
            Ok(r) => r.status >= 500 || r.status == 429,
            // Only what a later try can change (a build error of the request cannot).
            Err(e) => e.kind().is_retryable(),
        };
        if !transient || attempt >= max_retries {
            return result.map_err(SourceError::from);
        }
        attempt += 1;
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(lakeport_aws::RETRY_MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_style_url_encoding_once() {
        assert_eq!(decode("odd/a+b.csv".into(), true).unwrap(), "odd/a b.csv");
        assert_eq!(decode("odd/a%20b.csv".into(), true).unwrap(), "odd/a b.csv");
        assert_eq!(decode("odd/x%2By.csv".into(), true).unwrap(), "odd/x+y.csv");
        assert_eq!(decode("odd/100%2525.csv".into(), true).unwrap(), "odd/100%25.csv");
        assert_eq!(decode("odd/%C3%BC/%E6%97%A5.csv".into(), true).unwrap(), "odd/ü/日.csv");
        assert_eq!(decode("odd/a+b.csv".into(), false).unwrap(), "odd/a+b.csv", "not encoded: kept as sent");
        assert!(decode("odd/%FF.csv".into(), true).is_err());
    }

    #[test]
    fn parses_a_list_page_with_entities_and_markers() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>raw/</Prefix><EncodingType>url</EncodingType><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>abc+/=</NextContinuationToken><Contents><Key>raw/</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>raw//a%20b.csv</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>"e"</ETag><Size>7</Size></Contents><CommonPrefixes><Prefix>raw/2024/</Prefix></CommonPrefixes></ListBucketResult>"#;
        let page: ListBucketResult = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(page.contents.len(), 2);
        assert_eq!(page.contents[0].key, "raw/");
        assert_eq!(page.contents[0].e_tag.as_deref(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
        assert_eq!(page.contents[1].size, 7);
        assert_eq!(page.common_prefixes[0].prefix, "raw/2024/");
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("abc+/="));
        assert_eq!(page.encoding_type.as_deref(), Some("url"));
    }
}
