//! Secrets at rest: AES-256-GCM with a key the operator provides
//! (`TRIBUTARY_SECRETS_KEY`, base64 of 32 bytes). Used for registered
//! clusters' SASL credentials and for connector secrets.
//!
//! A sealed value is `v1:` followed by base64 of a random 96-bit nonce and the
//! ciphertext with its tag, so every encryption of the same plaintext differs
//! and a tampered value fails to open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::ApiError;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("TRIBUTARY_SECRETS_KEY must be base64 of exactly 32 bytes")]
    BadKey,
    #[error("sealed secret is malformed")]
    Malformed,
    #[error(
        "sealed secret does not open with this key (wrong TRIBUTARY_SECRETS_KEY, or tampered)"
    )]
    Open,
}

impl From<SecretError> for ApiError {
    fn from(e: SecretError) -> Self {
        ApiError::internal(e)
    }
}

/// Encrypts and decrypts secrets with the deployment's key.
pub struct SecretBox {
    cipher: Aes256Gcm,
    /// Earlier keys: they still open secrets, never seal new ones (rotation).
    previous: Vec<Aes256Gcm>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// From the base64 key of `TRIBUTARY_SECRETS_KEY`.
    pub fn from_base64(key: &str) -> Result<SecretBox, SecretError> {
        let raw = STANDARD
            .decode(key.trim())
            .map_err(|_| SecretError::BadKey)?;
        if raw.len() != 32 {
            return Err(SecretError::BadKey);
        }
        Ok(SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)),
            previous: Vec::new(),
        })
    }

    /// A fresh random key, base64: for first starts without a configured key.
    pub fn generate_key() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// The configured key, or a generated one (with a loud warning: values
    /// sealed with it cannot be opened after a restart or by other replicas).
    pub fn from_config(key: Option<&str>, previous: &[String]) -> Result<SecretBox, SecretError> {
        let mut b = SecretBox::from_current(key)?;
        for k in previous.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
            b.previous.push(SecretBox::from_base64(k)?.cipher);
        }
        Ok(b)
    }

    fn from_current(key: Option<&str>) -> Result<SecretBox, SecretError> {
        match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => SecretBox::from_base64(k),
            None => {
                tracing::warn!(
                    "TRIBUTARY_SECRETS_KEY is not set: using a random key for this process only; \
                     stored cluster and connector secrets will not open after a restart or on \
                     other replicas. Set it to base64 of 32 random bytes \
                     (e.g. `openssl rand -base64 32`)."
                );
                SecretBox::from_base64(&SecretBox::generate_key())
            }
        }
    }

    pub fn encrypt(&self, plaintext: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and a 96-bit nonce cannot fail for
        // inputs below the GCM length limit (64 GiB).
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn decrypt(&self, sealed: &str) -> Result<String, SecretError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let raw = STANDARD.decode(body).map_err(|_| SecretError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        // The GCM tag tells which key sealed it: only the right one opens.
        let pt = std::iter::once(&self.cipher)
            .chain(self.previous.iter())
            .find_map(|c| c.decrypt(Nonce::from_slice(nonce), ct).ok())
            .ok_or(SecretError::Open)?;
        String::from_utf8(pt).map_err(|_| SecretError::Malformed)
    }

    /// Re-seals a value with the current key if an earlier key sealed it;
    /// `None` when it is already current (or not sealed at all).
    pub fn reseal(&self, sealed: &str) -> Result<Option<String>, SecretError> {
        if !SecretBox::is_sealed(sealed) {
            return Ok(None);
        }
        let body = sealed.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let raw = STANDARD.decode(body).map_err(|_| SecretError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        if self.cipher.decrypt(Nonce::from_slice(nonce), ct).is_ok() {
            return Ok(None);
        }
        let plain = self.decrypt(sealed)?;
        Ok(Some(self.encrypt(&plain)))
    }

    /// Whether a stored value is sealed by this module (as opposed to plain text).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_opens_old_secrets_and_reseals_them_with_the_new_key() {
        let old_key = SecretBox::generate_key();
        let old = SecretBox::from_base64(&old_key).unwrap();
        let sealed = old.encrypt("hunter2");
        let new_key = SecretBox::generate_key();
        let rotating = SecretBox::from_config(Some(&new_key), &[old_key]).unwrap();
        assert_eq!(rotating.decrypt(&sealed).unwrap(), "hunter2");
        let resealed = rotating.reseal(&sealed).unwrap().expect("re-sealed");
        assert_eq!(rotating.reseal(&resealed).unwrap(), None, "already current");
        let only_new = SecretBox::from_config(Some(&new_key), &[]).unwrap();
        assert_eq!(only_new.decrypt(&resealed).unwrap(), "hunter2");
        assert!(only_new.decrypt(&sealed).is_err(), "the old key is gone");
    }

    #[test]
    fn round_trips_and_randomises() {
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let a1 = b.encrypt("hunter2");
        let a2 = b.encrypt("hunter2");
        assert_ne!(a1, a2, "nonces differ");
        assert!(SecretBox::is_sealed(&a1));
        assert!(!a1.contains("hunter2"));
        assert_eq!(b.decrypt(&a1).unwrap(), "hunter2");
        assert_eq!(b.decrypt(&b.encrypt("")).unwrap(), "");
    }

    #[test]
    fn refuses_wrong_key_tampering_and_bad_keys() {
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let other = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let sealed = b.encrypt("s3cret");
        assert!(matches!(other.decrypt(&sealed), Err(SecretError::Open)));
        let mut raw = STANDARD.decode(&sealed[3..]).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = format!("v1:{}", STANDARD.encode(raw));
        assert!(matches!(b.decrypt(&tampered), Err(SecretError::Open)));
        assert!(matches!(b.decrypt("plain"), Err(SecretError::Malformed)));
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert!(SecretBox::from_base64("not base64!").is_err());
    }
}
