//! Data-plane keys: each endpoint has its own invoke keys (only their sha256 is stored), so
//! an application can call one endpoint without holding a control-plane token. Verified
//! credentials are cached for a few seconds so the hot path does not hit the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ingot_core::records::EndpointKey;
use rand::RngCore;

use crate::{hash_token, Platform, Result};

/// Prefix of endpoint keys, so they are recognisable in logs and secret scanners.
const KEY_PREFIX: &str = "ingot_ek_";
/// How long a verified credential is trusted without asking the store again (and so how
/// long a revoked key may keep working).
const CACHE_TTL: Duration = Duration::from_secs(10);

/// Who a credential is: an admin token or a key of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Principal {
    Admin,
    Endpoint(String),
    Nobody,
}

/// Recently verified credential hashes.
#[derive(Default)]
pub(crate) struct CredentialCache {
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl Platform {
    /// Creates an invoke key for an endpoint; the secret is returned once and never stored.
    pub async fn create_endpoint_key(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<(EndpointKey, String)> {
        ingot_core::validate_name(name)?;
        let mut secret = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let secret = format!("{KEY_PREFIX}{}", hex::encode(secret));
        let key = EndpointKey {
            id: uuid::Uuid::new_v4().simple().to_string(),
            endpoint: endpoint.to_string(),
            name: name.to_string(),
            key_hash: hash_token(&secret),
            created_at: ingot_store::now_millis(),
        };
        self.store.create_endpoint_key(&key).await?;
        Ok((key, secret))
    }

    /// An endpoint's keys (hashes only).
    pub async fn list_endpoint_keys(&self, endpoint: &str) -> Result<Vec<EndpointKey>> {
        self.store.endpoint(endpoint).await?;
        Ok(self.store.list_endpoint_keys(endpoint).await?)
    }

    /// Revokes a key (effective within the credential cache's lifetime, 10 s).
    pub async fn revoke_endpoint_key(&self, endpoint: &str, id: &str) -> Result<()> {
        self.store.delete_endpoint_key(endpoint, id).await?;
        self.credentials
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    /// Whether `token` may invoke `endpoint`: an admin token, or one of its keys.
    pub async fn may_invoke(&self, endpoint: &str, token: &str) -> Result<bool> {
        let principal = self.principal(token).await?;
        Ok(match principal {
            Principal::Admin => true,
            Principal::Endpoint(allowed) => allowed == endpoint,
            Principal::Nobody => false,
        })
    }

    /// Whether `token` is an admin (control-plane) token.
    pub(crate) async fn is_admin(&self, token: &str) -> Result<bool> {
        Ok(self.principal(token).await? == Principal::Admin)
    }

    async fn principal(&self, token: &str) -> Result<Principal> {
        let hash = hash_token(token);
        if let Some((principal, at)) = self
            .credentials
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hash)
        {
            if at.elapsed() < CACHE_TTL {
                return Ok(principal.clone());
            }
        }
        let principal = if self.store.token_by_hash(&hash).await?.is_some() {
            Principal::Admin
        } else if let Some(key) = self.store.endpoint_key_by_hash(&hash).await? {
            Principal::Endpoint(key.endpoint)
        } else {
            Principal::Nobody
        };
        let mut entries = self
            .credentials
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(hash, (principal.clone(), Instant::now()));
        Ok(principal)
    }
}
