//! API key secrets: argon2 hashes at rest, verified in constant time, with a
//! cache of recent successful checks so that argon2's deliberate slowness is
//! paid once per key, not once per request.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use super::Principal;
use crate::error::ApiError;
use crate::store::tenancy;

pub fn hash_secret(secret: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("hashing api key secret: {e}")))
}

/// Whether `secret` matches an argon2 PHC `hash` (argon2 compares in constant time).
pub fn verify_hash(secret: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Argon2 runs (hashing or checking) allowed at once: each takes ~19 MiB and
/// tens of milliseconds of CPU, so a flood of wrong or unknown credentials
/// must queue instead of exhausting memory through the blocking pool.
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// [`verify_hash`] on the blocking pool, within [`ARGON2_SLOTS`].
pub async fn verify_hash_async(secret: String, hash: String) -> bool {
    let Ok(_slot) = ARGON2_SLOTS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_hash(&secret, &hash))
        .await
        .unwrap_or(false)
}

/// [`hash_secret`] on the blocking pool, within [`ARGON2_SLOTS`].
pub async fn hash_secret_async(secret: String) -> Result<String, ApiError> {
    let _slot = ARGON2_SLOTS
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("argon2 slots: {e}")))?;
    tokio::task::spawn_blocking(move || hash_secret(&secret))
        .await
        .map_err(ApiError::internal)?
}

#[derive(Default)]
pub struct KeyVerifier {
    /// key id → SHA-256 of the secret that last verified.
    verified: Mutex<HashMap<String, [u8; 32]>>,
    /// A real hash to check unknown key ids against, so that an unknown key
    /// costs as much as a wrong secret (no timing oracle on key ids).
    decoy: std::sync::OnceLock<String>,
}

impl KeyVerifier {
    pub async fn verify(
        &self,
        pool: &PgPool,
        key_id: &str,
        secret: &str,
    ) -> Result<Option<Principal>, ApiError> {
        let row = tenancy::find_api_key(pool, key_id).await?;
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let Some(row) = row else {
            let decoy = self
                .decoy
                .get_or_init(|| hash_secret("decoy").unwrap_or_default())
                .clone();
            verify_hash_async(secret.to_string(), decoy).await;
            return Ok(None);
        };
        let cached = self
            .verified
            .lock()
            .map(|m| m.get(key_id).copied())
            .unwrap_or(None);
        let ok = match cached {
            Some(c) if bool::from(c.ct_eq(&digest)) => true,
            _ => {
                let ok = verify_hash_async(secret.to_string(), row.secret_hash.clone()).await;
                if ok {
                    if let Ok(mut m) = self.verified.lock() {
                        m.insert(key_id.to_string(), digest);
                    }
                }
                ok
            }
        };
        Ok(ok.then_some(Principal {
            org_id: row.org_id,
            principal_id: row.owner_id,
            key_id: row.id,
            operator: row.operator,
            credential: if row.resource_id.is_some() {
                super::Credential::ResourceKey
            } else {
                super::Credential::CloudKey
            },
            resource_id: row.resource_id,
            request: Default::default(),
        }))
    }

    /// Whether this exact secret verified for the key recently (so a
    /// lock-out after failed attempts does not lock out its rightful user).
    pub fn is_cached(&self, key_id: &str, secret: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        self.verified
            .lock()
            .ok()
            .and_then(|m| m.get(key_id).copied())
            .is_some_and(|c| bool::from(c.ct_eq(&digest)))
    }

    /// Drops a deleted key from the cache (the database check already refuses it).
    pub fn forget(&self, key_id: &str) {
        if let Ok(mut m) = self.verified.lock() {
            m.remove(key_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_right_secret() {
        let h = hash_secret("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_hash("s3cret", &h));
        assert!(!verify_hash("s3cret ", &h));
        assert!(!verify_hash("s3cret", "not a hash"));
    }
}
