//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "getHealth",
    tag = "Health",
    summary = "Liveness",
    description = "The process is up. Needs no credentials.",
    security(()),
    responses((status = 200, description = "Up", body = crate::api::schemas::HealthStatus, example = json!({"status": "ok"})))
)]
async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "getReady",
    tag = "Health",
    summary = "Readiness",
    description = "The database answers. Needs no credentials.",
    security(()),
    responses(
        (status = 200, description = "Ready", body = crate::api::schemas::HealthStatus, example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer", body = crate::api::schemas::HealthStatus,
            example = json!({"status": "unavailable", "detail": "database: pool timed out while waiting for an open connection"})),
    )
)]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    use crate::store::health::PROBE_TIMEOUT;
    if !state.store_health.is_up() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "unavailable", "detail": "database: unavailable (store health probe)"}),
            ),
        );
    }
    let ping = tokio::time::timeout(PROBE_TIMEOUT, crate::store::ping(&state.pool)).await;
    match ping.unwrap_or(Err(sqlx::Error::PoolTimedOut)) {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "detail": format!("database: {e}")})),
        ),
    }
}
