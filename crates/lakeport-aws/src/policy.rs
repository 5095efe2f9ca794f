//! The plain-HTTP rule, in one place for every endpoint lakeport talks to (S3, STS, an Iceberg
//! REST catalog): HTTPS with verified TLS by default; plain HTTP only when allowed, and then only to
//! a loopback host (a local test server) unless it is allowed anywhere too.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::AwsError;

/// Which endpoints may be reached over plain HTTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpPolicy {
    /// Plain HTTP is allowed at all (`--allow-http`); on its own, only to loopback hosts
    /// (`localhost`, `127.0.0.0/8`, `::1`).
    pub allow_http: bool,
    /// Plain HTTP is allowed to any host (`--allow-http-anywhere`); needs `allow_http` too.
    pub allow_http_anywhere: bool,
}

impl HttpPolicy {
    /// The policy of these two switches.
    pub fn new(allow_http: bool, allow_http_anywhere: bool) -> Self {
        HttpPolicy { allow_http, allow_http_anywhere }
    }

    /// Whether object_store / reqwest clients built under this policy may speak plain HTTP at all
    /// (the per-URL rule is [`HttpPolicy::check`]).
    pub fn allows_any_http(&self) -> bool {
        self.allow_http
    }

    /// Checks that `url` may be reached: `https` always; `http` with `allow_http` to a loopback
    /// host, or to any host with `allow_http_anywhere` as well. `what` names the URL in messages
    /// (`endpoint`, `STS endpoint`, `catalog URL`).
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] naming `what`, the URL and the switch that would allow it:
    /// plain HTTP without `allow_http` (message names `--allow-http`), plain HTTP to a
    /// non-loopback host without `allow_http_anywhere` (names `loopback` and
    /// `--allow-http-anywhere`), or another scheme.
    pub fn check(&self, url: &Url, what: &str) -> Result<(), AwsError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if !self.allow_http => Err(AwsError::config(format!(
                "{what} {url} uses plain HTTP; lakeport talks HTTPS by default. Pass --allow-http for a local test server"
            ))),
            "http" if !is_loopback(url) && !self.allow_http_anywhere => Err(AwsError::config(format!(
                "plain HTTP is only allowed to loopback endpoints; {} ({what}) is not one. Use HTTPS, or force it with --allow-http-anywhere",
                url.host_str().unwrap_or_default()
            ))),
            "http" => Ok(()),
            other => Err(AwsError::config(format!("{what} scheme '{other}' is not supported (use https://)"))),
        }
    }

    /// Parses `raw` (trimmed) as a URL and [`check`](HttpPolicy::check)s it.
    ///
    /// # Errors
    /// [`AwsError::InvalidConfig`] when `raw` is not a URL (`{what} '<raw>' is not valid: …`), or
    /// as for [`HttpPolicy::check`].
    pub fn parse(&self, raw: &str, what: &str) -> Result<Url, AwsError> {
        let raw = raw.trim();
        let url = Url::parse(raw).map_err(|e| AwsError::config(format!("{what} '{raw}' is not valid: {e}")))?;
        self.check(&url, what)?;
        Ok(url)
    }
}

/// True for `localhost` and loopback IP addresses.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_always_http_to_loopback_when_allowed_anywhere_when_forced() {
        let url = |s: &str| Url::parse(s).unwrap();
        let none = HttpPolicy::default();
        let local = HttpPolicy::new(true, false);
        let anywhere = HttpPolicy::new(true, true);
        assert!(none.check(&url("https://s3.example.com"), "endpoint").is_ok());
        assert!(none.check(&url("http://127.0.0.1:9000"), "endpoint").unwrap_err().to_string().contains("--allow-http"));
        for l in ["http://localhost:1", "http://127.0.0.2:1", "http://[::1]:1"] {
            assert!(local.check(&url(l), "endpoint").is_ok(), "{l}");
        }
        let err = local.check(&url("http://s3.example.com"), "STS endpoint").unwrap_err().to_string();
        assert!(err.contains("loopback") && err.contains("--allow-http-anywhere") && err.contains("STS endpoint"), "{err}");
        assert!(anywhere.check(&url("http://s3.example.com"), "endpoint").is_ok());
        assert!(HttpPolicy::new(false, true).check(&url("http://s3.example.com"), "endpoint").is_err(), "anywhere needs allow_http too");
        assert!(anywhere.check(&url("ftp://x"), "endpoint").is_err());
        assert!(none.parse("not a url", "catalog URL").unwrap_err().to_string().contains("catalog URL"));
    }
}
