//! The tokens a server starts with. Tokens themselves live hashed in the pool directory
//! (`lakeport_core::PoolDir::create_token`, `lakeport token create|list|revoke`).

use lakeport_core::{NewToken, PoolDir, PoolError, TokenScope};

/// What `prepare_tokens` did, for the start-up message.
#[derive(Debug)]
pub struct TokenStartup {
    /// An admin token created just now because none existed: print it once, it is stored nowhere.
    pub created: Option<NewToken>,
    /// An older `<pool-dir>/server.token` (plain text) whose hash was moved into the token store
    /// and whose file was deleted.
    pub imported_legacy_file: bool,
}

/// Before serving: moves a plain-text `server.token` of older versions into the hashed store
/// (the same token keeps working; the file is deleted), and creates an admin token when no admin
/// token exists and none is given with `--token` (`explicit_admin`).
///
/// # Errors
/// [`PoolError::Io`] naming the file when a `server.token` cannot be read or removed; the pool
/// catalog database's errors from reading, importing or creating tokens.
pub async fn prepare_tokens(dir: &PoolDir, explicit_admin: bool) -> Result<TokenStartup, PoolError> {
    let legacy = dir.root().join("server.token");
    let mut imported_legacy_file = false;
    if legacy.exists() {
        let text = std::fs::read_to_string(&legacy).map_err(|e| PoolError::Io { context: format!("read {}", legacy.display()), source: e })?;
        if !text.trim().is_empty() && dir.authenticate(text.trim()).await?.is_none() {
            dir.import_token("server-token-file", TokenScope::Admin, text.trim()).await?;
        }
        std::fs::remove_file(&legacy).map_err(|e| PoolError::Io { context: format!("remove {}", legacy.display()), source: e })?;
        imported_legacy_file = true;
    }
    let has_admin = dir.tokens().await?.iter().any(|t| t.scope == TokenScope::Admin);
    let created = if has_admin || explicit_admin { None } else { Some(dir.create_token(None, TokenScope::Admin).await?) };
    Ok(TokenStartup { created, imported_legacy_file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_admin_token_is_made_once_and_a_legacy_file_moves_into_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let pd = PoolDir::open(dir.path()).await.unwrap();
        // With --token nothing is created.
        assert!(prepare_tokens(&pd, true).await.unwrap().created.is_none());
        let first = prepare_tokens(&pd, false).await.unwrap().created.expect("an admin token on first start");
        assert_eq!(pd.authenticate(&first.token).await.unwrap().map(|t| t.scope), Some(TokenScope::Admin));
        assert!(prepare_tokens(&pd, false).await.unwrap().created.is_none(), "the second start makes none");

        // A plain-text token file of an older version keeps working, hashed; the file is gone.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("server.token"), "lp_legacy_0123456789abcdef\n").unwrap();
        let pd = PoolDir::open(dir.path()).await.unwrap();
        let startup = prepare_tokens(&pd, false).await.unwrap();
        assert!(startup.imported_legacy_file && startup.created.is_none());
        assert!(!dir.path().join("server.token").exists());
        assert_eq!(pd.authenticate("lp_legacy_0123456789abcdef").await.unwrap().map(|t| t.name), Some("server-token-file".to_string()));
    }
}
