//! Idempotency keys: the answer of a request made under a key, per
//! organization, so that a retry gets it again.

use serde_json::Value;
use sqlx::{FromRow, Postgres, Transaction};

/// A key's request and its recorded answer (status 0 while the request
/// that reserved it has not finished).
#[derive(Debug, Clone, FromRow)]
pub struct StoredKey {
    pub method: String,
    pub path: String,
    pub request_hash: String,
    pub status: i32,
    pub body: Value,
}

/// Reserves `key` for a request; false when it was taken (by an earlier
/// request, or a concurrent one whose transaction this waits for).
pub async fn reserve(
    tx: &mut Transaction<'_, Postgres>,
    org_id: &str,
    key: &str,
    method: &str,
    path: &str,
    request_hash: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "INSERT INTO idempotency_keys (org_id, key, method, path, request_hash, status, body)
         VALUES ($1, $2, $3, $4, $5, 0, 'null') ON CONFLICT DO NOTHING",
    )
    .bind(org_id)
    .bind(key)
    .bind(method)
    .bind(path)
    .bind(request_hash)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The request a taken key was used for, and its answer.
pub async fn get(
    tx: &mut Transaction<'_, Postgres>,
    org_id: &str,
    key: &str,
) -> Result<StoredKey, sqlx::Error> {
    sqlx::query_as(
        "SELECT method, path, request_hash, status, body FROM idempotency_keys WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .fetch_one(&mut **tx)
    .await
}

/// Records the answer of the request that reserved `key`.
pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    org_id: &str,
    key: &str,
    status: i32,
    body: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $3, body = $4 WHERE org_id = $1 AND key = $2",
    )
    .bind(org_id)
    .bind(key)
    .bind(status)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets idempotency keys older than a day (a retry comes within
/// minutes; the key's stored response is only needed that long). Returns
/// how many went.
pub async fn delete_expired(exec: impl sqlx::PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
            .execute(exec)
            .await?
            .rows_affected(),
    )
}
