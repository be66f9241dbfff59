//! Stored source offsets and offset alter/reset requests.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, Postgres, Transaction};

#[derive(Debug, Clone, FromRow)]
pub struct OffsetRequest {
    pub connector_id: String,
    pub request_type: String,
    pub offsets: Json<Vec<Value>>,
    pub phase: String,
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
         ON CONFLICT (connector_id) DO UPDATE SET request_type = $2, offsets = $3, phase = 'PENDING',
           message = '', previous_offsets = '[]'::jsonb, requested_at = now(), applied_at = NULL
         WHERE offset_requests.phase <> 'PENDING'
         RETURNING {REQ_COLS}"
    ))
    .bind(connector_id)
    .bind(request_type)
    .bind(Json(offsets))
    .fetch_optional(&mut **tx)
    .await
}

/// Pending requests whose connector has no tasks left (they have stopped).
pub async fn ready_requests(exec: impl PgExecutor<'_>) -> Result<Vec<OffsetRequest>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {REQ_COLS} FROM offset_requests r
         WHERE r.phase = 'PENDING' AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.connector_id = r.connector_id)"
    ))
    .fetch_all(exec)
    .await
}

pub async fn finish_request(
    exec: impl PgExecutor<'_>,
    connector_id: &str,
    phase: &str,
    message: &str,
    previous: &[Value],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE offset_requests SET phase = $2, message = $3, previous_offsets = $4,
           applied_at = CASE WHEN $2 = 'APPLIED' THEN now() ELSE NULL END
         WHERE connector_id = $1 AND phase = 'PENDING'",
    )
    .bind(connector_id)
    .bind(phase)
    .bind(message)
    .bind(Json(previous))
    .execute(exec)
    .await?;
    Ok(())
}
