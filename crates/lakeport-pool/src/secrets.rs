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

pub(crate) fn load(root: &Path, pool: &str, connection: &str) -> Result<Secret, PoolError> {
    let path = secret_path(root, pool, connection);
    let s = fs::read_to_string(&path).map_err(|e| PoolError::io(format!("read the secret of connection '{connection}' ({})", path.display()), e))?;
    Ok(Secret::new(s))
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
}
