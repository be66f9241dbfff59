//! `Idempotency-Key`: a retried POST with the same key and body returns the
//! first result instead of acting twice. Keys are per organization and kept
//! for 24 hours; reusing a key with a different body is a 422.

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";

pub struct Idempotency {
    key: String,
    method: &'static str,
    path: String,
    hash: String,
}

impl Idempotency {
    /// The key of this request, if it has one.
    pub fn from_request(
        headers: &HeaderMap,
        method: &'static str,
        path: String,
        body: &impl serde::Serialize,
    ) -> Result<Option<Idempotency>, ApiError> {
        let Some(v) = headers.get(HEADER) else {
            return Ok(None);
        };
        let key = v.to_str().unwrap_or("").trim().to_string();
        if key.is_empty() || key.len() > 255 {
            return Err(ApiError::invalid_field(
                "Idempotency-Key",
                "Idempotency-Key must be 1 to 255 visible characters",
            ));
        }
        let bytes = serde_json::to_vec(body).map_err(ApiError::internal)?;
        let hash = format!("{:x}", Sha256::digest(&bytes));
        Ok(Some(Idempotency {
            key,
            method,
            path,
            hash,
        }))
    }

    /// Reserves the key in `tx`. `Some` is the stored response of an earlier
    /// identical request (a concurrent one is waited for by the row lock).
    pub async fn begin(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        org_id: &str,
    ) -> Result<Option<(StatusCode, Value)>, ApiError> {
        let reserved = sqlx::query(
            "INSERT INTO idempotency_keys (org_id, key, method, path, request_hash, status, body)
             VALUES ($1, $2, $3, $4, $5, 0, 'null') ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(&self.key)
        .bind(self.method)
        .bind(&self.path)
        .bind(&self.hash)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if reserved == 1 {
            return Ok(None);
        }
        let (method, path, hash, status, body): (String, String, String, i32, Value) = sqlx::query_as(
            "SELECT method, path, request_hash, status, body FROM idempotency_keys WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(&self.key)
        .fetch_one(&mut **tx)
        .await?;
        if method != self.method || path != self.path || hash != self.hash {
            return Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_key_reused",
                title: "Idempotency Key Reused",
                detail: "this Idempotency-Key was used for a different request; use a new key"
                    .into(),
                field: Some("Idempotency-Key".into()),
            });
        }
        let status = u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        Ok(Some((status, body)))
    }

    /// Records the response, in the same transaction as the work it describes.
    pub async fn finish(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        org_id: &str,
        status: StatusCode,
        body: &Value,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, body = $4 WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(&self.key)
        .bind(i32::from(status.as_u16()))
        .bind(body)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
