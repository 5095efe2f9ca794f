use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The API token: `explicit` when given, else the one stored in `<pool-dir>/server.token`, else a
/// new random one written there (mode 0600). Returns the token and whether it was just created
/// (so the caller prints it once).
pub fn load_or_create_token(pool_dir: &Path, explicit: Option<String>) -> std::io::Result<(String, bool)> {
    if let Some(t) = explicit.filter(|t| !t.trim().is_empty()) {
        return Ok((t.trim().to_string(), false));
    }
    let path = pool_dir.join("server.token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        if !t.trim().is_empty() {
            return Ok((t.trim().to_string(), false));
        }
    }
    let token = format!("lp_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
    f.write_all(token.as_bytes())?;
    Ok((token, true))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generated_once_stored_owner_only_and_overridable() {
        let dir = tempfile::tempdir().unwrap();
        let (first, created) = load_or_create_token(dir.path(), None).unwrap();
        assert!(created && first.len() >= 32);
        let mode = std::fs::metadata(dir.path().join("server.token")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create_token(dir.path(), None).unwrap(), (first.clone(), false), "the stored token is reused");
        assert_eq!(load_or_create_token(dir.path(), Some("mine".into())).unwrap(), ("mine".to_string(), false));
        assert_ne!(load_or_create_token(tempfile::tempdir().unwrap().path(), None).unwrap().0, first, "tokens are random");
    }
}
