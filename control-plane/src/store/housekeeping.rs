//! Periodic clean-up of rows that outlive their use.

use sqlx::PgExecutor;

/// Forgets idempotency keys older than a day (a retry comes within
/// minutes; the key's stored response is only needed that long). Returns
/// how many went.
pub async fn delete_expired_idempotency_keys(
    exec: impl PgExecutor<'_>,
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
            .execute(exec)
            .await?
            .rows_affected(),
    )
}
