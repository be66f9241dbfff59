//! `Idempotency-Key`: a retried create with the same key and request
//! answers the first answer instead of acting twice. Keys are per
//! organization and kept for 24 hours; reusing a key for another request
//! is refused.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use super::{Result, ServiceError};
use crate::store::idempotency as store;

/// An answer as the caller was given it (status code and body), recorded
/// with the work it describes so that a retry gets it again.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// A request made under an idempotency key.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    /// What the request does and to what (an HTTP method and path).
    method: &'static str,
    path: String,
    /// The request itself, hashed.
    hash: String,
}

impl Idempotency {
    /// The key `key` (1 to 255 visible characters) for `request`, made by
    /// `method` on `path`.
    pub fn new(
        key: &str,
        method: &'static str,
        path: String,
        request: &impl serde::Serialize,
    ) -> Result<Idempotency> {
        let key = key.trim().to_string();
        if key.is_empty() || key.len() > 255 {
            return Err(ServiceError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible characters",
            ));
        }
        let bytes =
            serde_json::to_vec(request).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(Idempotency {
            key,
            method,
            path,
            hash: format!("{:x}", Sha256::digest(&bytes)),
        })
    }

    /// Reserves the key in `tx`. `Some` is the recorded answer of an earlier
    /// identical request (a concurrent one is waited for by the row lock).
    pub(super) async fn begin(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        org_id: &str,
    ) -> Result<Option<Answer>> {
        let reserved =
            store::reserve(tx, org_id, &self.key, self.method, &self.path, &self.hash).await?;
        if reserved {
            return Ok(None);
        }
        let earlier = store::get(tx, org_id, &self.key).await?;
        if earlier.method != self.method
            || earlier.path != self.path
            || earlier.request_hash != self.hash
        {
            return Err(ServiceError::IdempotencyKeyReused);
        }
        Ok(Some(Answer {
            status: u16::try_from(earlier.status).unwrap_or(200),
            body: earlier.body,
        }))
    }

    /// Records the answer, in the same transaction as the work it describes.
    pub(super) async fn finish(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        org_id: &str,
        answer: &Answer,
    ) -> Result<()> {
        store::record(
            tx,
            org_id,
            &self.key,
            i32::from(answer.status),
            &answer.body,
        )
        .await?;
        Ok(())
    }
}
