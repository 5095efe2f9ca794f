use std::fmt;

/// A secret value (secret access key, session token). `Debug` and `Display` mask it, so it cannot
/// leak through logs, error messages or `{:?}` by accident; [`Secret::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value as given (not trimmed, not checked).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for the few places that must hand it to a signer or a file.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for the empty string (no secret given).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The secret without surrounding whitespace, `None` when nothing else is left: how a typed
    /// or pasted secret is read (blank counts as none).
    pub fn trimmed(&self) -> Option<Secret> {
        let t = self.0.trim();
        (!t.is_empty()).then(|| Secret(t.to_string()))
    }
}

/// Read from a JSON string (an API request's secret), so it is a `Secret` from the first moment
/// it exists in lakeport. There is deliberately no `Serialize`: a secret is never written back out
/// through serde (the pool stores it with [`Secret::expose`], in its own file).
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_masked_in_debug_and_display() {
        let s = Secret::new("wJalrXUtnFEMI/K7MDENG");
        assert!(!format!("{s:?}").contains("wJalr"));
        assert!(!format!("{s}").contains("wJalr"));
        assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG");
    }

    #[test]
    fn secrets_read_from_json_and_trim_to_none_when_blank() {
        let s: Secret = serde_json::from_str("\" k \"").unwrap();
        assert_eq!(s.trimmed().unwrap().expose(), "k");
        assert!(Secret::new(" \t").trimmed().is_none());
    }
}
