//! Stored source offsets and offset alter/reset requests.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, Postgres, Transaction};

use crate::lifecycle::OffsetRequestPhase;

#[derive(Debug, Clone, FromRow)]
pub struct OffsetRequest {
    pub connector_id: String,
    pub request_type: String,
    pub offsets: Json<Vec<Value>>,
    pub phase: OffsetRequestPhase,
    pub message: String,
    pub previous_offsets: Json<Vec<Value>>,
    pub requested_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
}

const REQ_COLS: &str = "connector_id, request_type, offsets, phase, message, previous_offsets, requested_at, applied_at";

/// `{partition, offset}` objects of a source connector.
pub async fn source_offsets(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
) -> Result<Vec<Value>, sqlx::Error> {
    let rows: Vec<(Value, Value)> = sqlx::query_as(
        "SELECT source_partition, source_offset FROM source_offsets WHERE connector_id = $1 ORDER BY source_partition::text",
    )
    .bind(connector_id)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(p, o)| serde_json::json!({"partition": p, "offset": o}))
        .collect())
}

pub async fn get_request(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
) -> Result<Option<OffsetRequest>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REQ_COLS} FROM offset_requests WHERE connector_id = $1"
    ))
    .bind(connector_id)
    .fetch_optional(exec)
    .await
}

/// Records a new request; `None` when one is still pending.
pub async fn put_request(
    tx: &mut Transaction<'_, Postgres>,
    connector_id: &str,
    request_type: &str,
    offsets: &[Value],
) -> Result<Option<OffsetRequest>, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO offset_requests (connector_id, request_type, offsets) VALUES ($1, $2, $3)
         ON CONFLICT (connector_id) DO UPDATE SET request_type = $2, offsets = $3, phase = $4,
           message = '', previous_offsets = '[]'::jsonb, requested_at = now(), applied_at = NULL
         WHERE offset_requests.phase <> $4
         RETURNING {REQ_COLS}"
    ))
    .bind(connector_id)
    .bind(request_type)
    .bind(Json(offsets))
    .bind(OffsetRequestPhase::Pending)
    .fetch_optional(&mut **tx)
    .await
}

/// Pending requests whose connector has no tasks left (they have stopped).
pub async fn ready_requests(exec: impl PgExecutor<'_>) -> Result<Vec<OffsetRequest>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REQ_COLS} FROM offset_requests r
         WHERE r.phase = $1 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.connector_id = r.connector_id)"
    ))
    .bind(OffsetRequestPhase::Pending)
    .fetch_all(exec)
    .await
}

/// Ends a pending request as APPLIED or FAILED.
pub async fn finish_request(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
    phase: OffsetRequestPhase,
    message: &str,
    previous: &[Value],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE offset_requests SET phase = $2, message = $3, previous_offsets = $4,
           applied_at = CASE WHEN $5 THEN now() ELSE NULL END
         WHERE connector_id = $1 AND phase = $6",
    )
    .bind(connector_id)
    .bind(phase)
    .bind(message)
    .bind(Json(previous))
    .bind(phase == OffsetRequestPhase::Applied)
    .bind(OffsetRequestPhase::Pending)
    .execute(exec)
    .await?;
    Ok(())
}

/// Forgets a source connector's offsets (a reset).
pub async fn delete_source_offsets(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM source_offsets WHERE connector_id = $1")
        .bind(connector_id)
        .execute(exec)
        .await?;
    Ok(())
}

/// Sets one source partition's offset (an alteration).
pub async fn put_source_offset(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
    partition: &Value,
    offset: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO source_offsets (connector_id, source_partition, source_offset) VALUES ($1, $2, $3)
         ON CONFLICT (connector_id, source_partition) DO UPDATE SET source_offset = $3, updated_at = now()",
    )
    .bind(connector_id)
    .bind(Json(partition))
    .bind(Json(offset))
    .execute(exec)
    .await?;
    Ok(())
}
