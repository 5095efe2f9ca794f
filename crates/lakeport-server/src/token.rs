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
