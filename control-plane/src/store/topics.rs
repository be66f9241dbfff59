//! The topics each connector has used (Kafka Connect's active topics, KIP-558).

use sqlx::PgExecutor;

/// The topics recorded for a connector, sorted.
pub async fn of_connector(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT topic FROM connector_topics WHERE connector_id = $1 ORDER BY topic")
        .bind(connector_id)
        .fetch_all(exec)
        .await
}

/// Forgets the topics recorded for a connector.
pub async fn reset(exec: impl PgExecutor<'_>, connector_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM connector_topics WHERE connector_id = $1")
        .bind(connector_id)
        .execute(exec)
        .await?;
    Ok(())
}
