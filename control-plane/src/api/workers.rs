//! The worker protocol (see `tributary_protocol`): register and heartbeat.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tributary_protocol::{
    assignment_digest, HeartbeatRequest, HeartbeatResponse, KafkaConnection, RegisterRequest,
    RegisterResponse, TargetState, TaskAssignment, TaskId, REGISTER_PATH,
};

use super::json::ApiJson;
use super::AppState;
use crate::connector_secrets::open_secrets;
use crate::error::ApiError;
use crate::secrets::SecretBox;
use crate::store::workers::{self, AssignmentRow};

pub fn routes() -> Router<AppState> {
    Router::new().route(REGISTER_PATH, post(register)).route(
        "/internal/v1/workers/{worker_id}/heartbeat",
        post(heartbeat),
    )
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<Json<RegisterResponse>, ApiError> {
    let id = req.worker_id.trim();
    if id.is_empty()
        || id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::invalid_field(
            "worker_id",
            "worker_id must be 1-128 characters of letters, digits, '-' or '_'",
        ));
    }
    let pool = req.pool.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = pool {
        if !crate::api::ops::valid_pool_name(p) {
            return Err(ApiError::invalid_field(
                "pool",
                crate::api::ops::POOL_NAME_RULE,
            ));
        }
    }
    let capacity = i32::try_from(req.capacity.max(1)).unwrap_or(i32::MAX);
    workers::register(&state.pool, id, capacity, &req.version, pool, state.lease).await?;
    tracing::info!(worker = id, capacity, version = %req.version, pool = pool.unwrap_or("shared"), "worker registered");
    Ok(Json(RegisterResponse {
        worker_id: id.to_string(),
        lease_ms: ms(state.lease),
        heartbeat_ms: ms(state.heartbeat),
    }))
}

fn assignment(row: AssignmentRow, secrets: &SecretBox) -> TaskAssignment {
    let mut config = row.config.0;
    open_secrets(&mut config, secrets);
    let properties = crate::store::tenancy::connection_properties(
        &row.client_properties,
        row.secret_properties.as_deref(),
        secrets,
    )
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, connector = %row.connector_id, "cluster credentials do not open");
        row.client_properties.0.clone()
    });
    TaskAssignment {
        id: TaskId {
            connector_id: row.connector_id,
            task: row.task_id.max(0) as u32,
        },
        connector_name: row.connector_name,
        epoch: row.epoch,
        // Workers run or hold their tasks; a stopped connector has none.
        target_state: match row.target_state {
            TargetState::Running => TargetState::Running,
            TargetState::Paused | TargetState::Stopped => TargetState::Paused,
        },
        config,
        kafka: KafkaConnection {
            bootstrap_servers: row.bootstrap_endpoint,
            properties,
        },
        offsets: row.offsets,
        environment_id: row.environment_id,
    }
}

async fn heartbeat(
    State(state): State<AppState>,
    Path(worker_id): Path<String>,
    ApiJson(req): ApiJson<HeartbeatRequest>,
) -> Result<Response, ApiError> {
    // Subscribed before reading, so a change in between is not missed.
    let mut changes = state.assignment_changes.subscribe();
    match workers::heartbeat(&state.pool, &worker_id, &req.tasks, state.lease).await? {
        None => Ok((
            StatusCode::GONE,
            Json(serde_json::json!({"error": {"code": 410, "message": "lease expired; stop all tasks and register again"}})),
        )
            .into_response()),
        Some(rows) => {
            let mut assignments: Vec<TaskAssignment> = rows.into_iter().map(|r| assignment(r, &state.secrets)).collect();
            let mut digest = assignment_digest(&assignments);
            if req.wait_ms > 0 && req.digest.as_deref() == Some(digest.as_str()) {
                // Long poll, never past one heartbeat interval (the lease was renewed above).
                let wait = std::time::Duration::from_millis(req.wait_ms).min(state.heartbeat);
                let deadline = tokio::time::Instant::now() + wait;
                while let Ok(Ok(())) = tokio::time::timeout_at(deadline, changes.changed()).await {
                    let now: Vec<TaskAssignment> = workers::assignments(&state.pool, &worker_id)
                        .await?
                        .into_iter()
                        .map(|r| assignment(r, &state.secrets))
                        .collect();
                    let d = assignment_digest(&now);
                    if d != digest {
                        assignments = now;
                        digest = d;
                        break;
                    }
                }
            }
            Ok(Json(HeartbeatResponse {
                lease_ms: ms(state.lease),
                heartbeat_ms: ms(state.heartbeat),
                assignments,
                digest: Some(digest),
            })
            .into_response())
        }
    }
}
