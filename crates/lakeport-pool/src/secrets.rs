//! Secrets at rest: one file per connection, mode 0600 in a 0700 directory, written atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use lakeport_source::Secret;

use crate::PoolError;

pub(crate) fn secret_path(root: &Path, pool: &str, connection: &str) -> PathBuf {
    root.join("secrets").join(pool).join(format!("{connection}.secret"))
}

pub(crate) fn store(root: &Path, pool: &str, connection: &str, secret: &Secret) -> Result<(), PoolError> {
    let path = secret_path(root, pool, connection);
    let dir = path.parent().expect("secret path has a parent");
    fs::create_dir_all(dir).map_err(|e| PoolError::io(format!("create {}", dir.display()), e))?;
    for d in [root.join("secrets"), dir.to_path_buf()] {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(|e| PoolError::io(format!("chmod {}", d.display()), e))?;
    }
    let tmp = path.with_extension("secret.tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| PoolError::io(format!("write {}", tmp.display()), e))?;
    f.write_all(secret.expose().as_bytes()).and_then(|_| f.sync_all()).map_err(|e| PoolError::io(format!("write {}", tmp.display()), e))?;
    fs::rename(&tmp, &path).map_err(|e| PoolError::io(format!("write {}", path.display()), e))?;
    Ok(())
}

pub(crate) fn key_path(root: &Path, pool: &str) -> PathBuf {
    root.join("secrets").join(pool).join("pseudonymisation.key")
}

/// The pool's pseudonymisation key: read, or generated once (32 bytes from the OS's random
/// source) and stored like a connection secret (hex, mode 0600, directory 0700). Two processes
/// generating at once cannot both win: the key file is linked into place only if absent, and the
/// loser reads the winner's key.
pub(crate) fn pseudonymisation_key(root: &Path, pool: &str) -> Result<Vec<u8>, PoolError> {
    let path = key_path(root, pool);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    let mut key = vec![0u8; crate::PSEUDONYMISATION_KEY_BYTES];
    getrandom::fill(&mut key).map_err(|e| PoolError::io("generate the pseudonymisation key", std::io::Error::other(e.to_string())))?;
    let dir = path.parent().expect("key path has a parent");
    fs::create_dir_all(dir).map_err(|e| PoolError::io(format!("create {}", dir.display()), e))?;
    for d in [root.join("secrets"), dir.to_path_buf()] {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(|e| PoolError::io(format!("chmod {}", d.display()), e))?;
    }
    let tmp = dir.join(format!("pseudonymisation.key.{}.tmp", uuid::Uuid::new_v4().simple()));
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(hex.as_bytes()).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(PoolError::io(format!("write {}", tmp.display()), e));
    }
    let linked = fs::hard_link(&tmp, &path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key(&path)?.ok_or_else(|| PoolError::io(format!("read {}", path.display()), e)),
        Err(e) => Err(PoolError::io(format!("write {}", path.display()), e)),
    }
}

fn read_key(path: &Path) -> Result<Option<Vec<u8>>, PoolError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PoolError::io(format!("read {}", path.display()), e)),
    };
    let text = text.trim();
    let bytes: Option<Vec<u8>> = (text.len() == 2 * crate::PSEUDONYMISATION_KEY_BYTES)
        .then(|| (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect())
        .flatten();
    // The file's content is never put into the message.
    bytes.map(Some).ok_or_else(|| PoolError::io(format!("read {}", path.display()), std::io::Error::other("the pseudonymisation key file is damaged (not 64 hex digits)")))
}

pub(crate) fn load(root: &Path, pool: &str, connection: &str) -> Result<Secret, PoolError> {
    let path = secret_path(root, pool, connection);
    let s = fs::read_to_string(&path).map_err(|e| PoolError::io(format!("read the secret of connection '{connection}' ({})", path.display()), e))?;
    Ok(Secret::new(s))
}

/// Like [`load`], but a secret file that does not exist is `Ok(None)`.
pub(crate) fn load_opt(root: &Path, pool: &str, connection: &str) -> Result<Option<Secret>, PoolError> {
    match load(root, pool, connection) {
        Ok(s) => Ok(Some(s)),
        Err(PoolError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn remove(root: &Path, pool: &str, connection: &str) -> Result<(), PoolError> {
    let path = secret_path(root, pool, connection);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(PoolError::io(format!("remove {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "p", "c", &Secret::new("s3cr3t")).unwrap();
        let path = secret_path(dir.path(), "p", "c");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(load(dir.path(), "p", "c").unwrap().expose(), "s3cr3t");
        remove(dir.path(), "p", "c").unwrap();
        assert!(load(dir.path(), "p", "c").is_err());
    }

    #[test]
    fn the_pseudonymisation_key_is_made_once_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = pseudonymisation_key(dir.path(), "p").unwrap();
        let b = pseudonymisation_key(dir.path(), "p").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert_ne!(a, pseudonymisation_key(dir.path(), "q").unwrap());
        assert_eq!(fs::metadata(key_path(dir.path(), "p")).unwrap().permissions().mode() & 0o777, 0o600);
        fs::write(key_path(dir.path(), "p"), "nothex").unwrap();
        let e = pseudonymisation_key(dir.path(), "p").unwrap_err().to_string();
        assert!(e.contains("damaged") && !e.contains("nothex"), "{e}");
    }
}
