//! API tokens of `lakeport serve`, kept in the pool directory's catalog database (table
//! `lakeport_tokens`), one set for the whole directory.
//!
//! * Two scopes: **admin** (every API operation) and **read-only** (list pools and tables,
//!   preview, query — nothing else).
//! * Only the SHA-256 hash of a token is stored; the token itself is returned once, at creation.
//!   A token is 244 random bits from the OS (two v4 UUIDs), so a plain hash is enough — a
//!   password hash (slow KDF) guards guessable secrets, and these cannot be guessed.
//! * A presented token is hashed and compared with every stored hash in constant time (`subtle`),
//!   without stopping at the first match.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::{PoolDir, PoolError};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TokenScope {
    /// Every API operation.
    Admin,
    /// List pools and tables, preview tables, run (read-only) SQL.
    ReadOnly,
}

impl TokenScope {
    /// The scope as stored and shown: `admin`, `read-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Admin => "admin",
            TokenScope::ReadOnly => "read-only",
        }
    }
    fn parse(s: &str) -> TokenScope {
        // Anything unknown gets the smaller scope.
        if s == "admin" {
            TokenScope::Admin
        } else {
            TokenScope::ReadOnly
        }
    }
}

/// A stored token as listed (never the token itself, never its hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// 8 hex digits, for `lakeport token revoke`.
    pub id: String,
    /// Unique name (default `<scope>-<id>`).
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When it was created (UTC).
    pub created_at: DateTime<Utc>,
}

/// A token just created: `token` is shown to the user once and stored nowhere.
#[derive(Clone, Debug, Serialize)]
pub struct NewToken {
    /// The token as [`PoolDir::tokens`] will list it (JSON: its members inline).
    #[serde(flatten)]
    pub info: TokenInfo,
    /// The token itself: `lp_` and 64 hex digits (two v4 UUIDs), for `Authorization: Bearer`.
    pub token: String,
}

/// SHA-256 of a token (32 bytes), the form it is stored (as 64 hex digits) and compared in.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two token hashes.
pub fn same_token_hash(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn validate_token_name(name: &str) -> Result<(), PoolError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        return Err(PoolError::InvalidName(format!("token name '{name}': use 1 to 64 letters, digits, '-', '_' or '.'")));
    }
    Ok(())
}

impl PoolDir {
    /// Creates a token of `scope`, named `name` (default `<scope>-<id>`). Returns it once.
    ///
    /// # Errors
    ///
    /// [`PoolError::InvalidName`] for a name that is not 1–64 letters, digits, `-`, `_`, `.`, or
    /// is already used; [`PoolError::Database`] when it cannot be stored.
    pub async fn create_token(&self, name: Option<&str>, scope: TokenScope) -> Result<NewToken, PoolError> {
        let token = format!("lp_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let info = self.store_token(name, scope, &token).await?;
        Ok(NewToken { info, token })
    }

    /// Stores the hash of a token made elsewhere (an older `server.token` being moved in).
    ///
    /// # Errors
    ///
    /// As [`PoolDir::create_token`].
    pub async fn import_token(&self, name: &str, scope: TokenScope, token: &str) -> Result<TokenInfo, PoolError> {
        self.store_token(Some(name), scope, token).await
    }

    async fn store_token(&self, name: Option<&str>, scope: TokenScope, token: &str) -> Result<TokenInfo, PoolError> {
        let id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let name = name.map(str::to_string).unwrap_or_else(|| format!("{}-{id}", scope.as_str()));
        validate_token_name(&name)?;
        let info = TokenInfo { id, name, scope, created_at: Utc::now() };
        let inserted = sqlx::query("INSERT INTO lakeport_tokens (id, name, scope, sha256, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&info.id)
            .bind(&info.name)
            .bind(scope.as_str())
            .bind(to_hex(&token_hash(token)))
            .bind(info.created_at.to_rfc3339())
            .execute(self.db())
            .await;
        match inserted {
            Ok(_) => Ok(info),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(PoolError::InvalidName(format!("a token named '{}' already exists", info.name))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every stored token, oldest first.
    ///
    /// # Errors
    ///
    /// [`PoolError::Corrupt`] for a stored creation time that does not parse;
    /// [`PoolError::Database`].
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, PoolError> {
        Ok(self.token_rows().await?.into_iter().map(|(info, _)| info).collect())
    }

    async fn token_rows(&self) -> Result<Vec<(TokenInfo, Option<[u8; 32]>)>, PoolError> {
        let rows = sqlx::query("SELECT id, name, scope, sha256, created_at FROM lakeport_tokens ORDER BY created_at, id").fetch_all(self.db()).await?;
        rows.into_iter()
            .map(|r| {
                let info = TokenInfo {
                    id: r.get("id"),
                    name: r.get("name"),
                    scope: TokenScope::parse(r.get::<String, _>("scope").as_str()),
                    created_at: crate::pooldir::parse_time("an API token", r.get::<String, _>("created_at").as_str())?,
                };
                Ok((info, from_hex(r.get::<String, _>("sha256").as_str())))
            })
            .collect()
    }

    /// Revokes the token with this id or name; it stops working at once.
    ///
    /// # Errors
    ///
    /// [`PoolError::NoSuchToken`]; as [`PoolDir::tokens`].
    pub async fn revoke_token(&self, id_or_name: &str) -> Result<TokenInfo, PoolError> {
        let found = self.tokens().await?.into_iter().find(|t| t.id == id_or_name || t.name == id_or_name);
        let Some(info) = found else { return Err(PoolError::NoSuchToken(id_or_name.to_string())) };
        sqlx::query("DELETE FROM lakeport_tokens WHERE id = ?").bind(&info.id).execute(self.db()).await?;
        Ok(info)
    }

    /// The stored token `presented` is, if any (compared by hash, in constant time, with all).
    ///
    /// # Errors
    ///
    /// As [`PoolDir::tokens`].
    pub async fn authenticate(&self, presented: &str) -> Result<Option<TokenInfo>, PoolError> {
        let hash = token_hash(presented);
        let mut matched = None;
        for (info, stored) in self.token_rows().await? {
            let equal = stored.map(|s| same_token_hash(&s, &hash)).unwrap_or(false);
            if equal && matched.is_none() {
                matched = Some(info);
            }
        }
        Ok(matched)
    }
}
