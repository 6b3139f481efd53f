//! API tokens: generation, hashing (only hashes are stored) and the first-start admin token.

use std::io::Write;
use std::path::PathBuf;

use ingot_core::records::ApiToken;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Error, Platform, Result};

/// Prefix that makes Ingot tokens recognisable in logs and secret scanners.
const TOKEN_PREFIX: &str = "ingot_";

/// The hex sha256 of a token: what the store keeps.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn generate_token() -> String {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    format!("{TOKEN_PREFIX}{}", hex::encode(secret))
}

/// An admin token created on first start. Its plaintext exists only here, in the
/// `admin-token` file (mode 0600) and in what the caller prints once.
pub struct AdminToken {
    /// The plaintext token.
    pub token: String,
    /// Where it was written.
    pub path: PathBuf,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("token", &"<redacted>")
            .field("path", &self.path)
            .finish()
    }
}

impl Platform {
    /// On the very first start (no token exists yet), creates an admin token, stores its hash,
    /// and writes it to `INGOT_HOME/admin-token` with mode 0600. Returns it so the caller can
    /// print it once; returns `None` on later starts.
    pub async fn ensure_admin_token(&self) -> Result<Option<AdminToken>> {
        if self.store.count_tokens().await? > 0 {
            return Ok(None);
        }
        let token = generate_token();
        let path = self.home().join("admin-token");
        write_secret_file(&path, &token)?;
        let record = ApiToken {
            id: uuid::Uuid::new_v4().to_string(),
            name: "admin".to_string(),
            token_hash: hash_token(&token),
            is_admin: true,
            created_at: ingot_store::now_millis(),
        };
        self.store.create_token(&record).await?;
        Ok(Some(AdminToken { token, path }))
    }
}

/// The secret that signs outgoing webhooks: `INGOT_WEBHOOK_SECRET` when set, otherwise
/// `INGOT_HOME/webhook-secret`, created (0600) on first start.
pub(crate) fn webhook_secret(home: &std::path::Path) -> Result<String> {
    if let Ok(secret) = std::env::var("INGOT_WEBHOOK_SECRET") {
        if !secret.is_empty() {
            return Ok(secret);
        }
    }
    let path = home.join("webhook-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_string()),
        _ => {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let secret = hex::encode(bytes);
            write_secret_file(&path, &secret)?;
            Ok(secret)
        }
    }
}

/// Writes a secret atomically with owner-only permissions (temp file + rename).
fn write_secret_file(path: &std::path::Path, secret: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::internal(format!("cannot write {}: {e}", path.display()));
    let temporary = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary).map_err(fail)?;
    file.write_all(secret.as_bytes()).map_err(fail)?;
    file.write_all(b"\n").map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token("x"), hash_token("x"));
        assert_ne!(hash_token(&a), a);
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin-token");
        write_secret_file(&path, "s3cret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "s3cret\n");
    }
}
