//! `/ops/v1`: fleet state for the operator (workers with their leases and
//! tasks, the reconciler leader, recent scaling decisions). Tenants get 404.

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::v2::timestamp;
use super::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::workers;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops/v1/workers", get(list_workers))
        .route("/ops/v1/reconciler", get(reconciler))
}

fn operator_only(who: &Principal) -> Result<(), ApiError> {
    if who.operator {
        Ok(())
    } else {
        Err(ApiError::not_found("not found"))
    }
}

async fn list_workers(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let rows = workers::list(&state.pool).await?;
    let loads: Vec<(String, i64)> = sqlx::query_as(
        "SELECT worker_id, count(*) FROM tasks WHERE worker_id IS NOT NULL GROUP BY worker_id",
    )
    .fetch_all(&state.pool)
    .await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|w| {
            let tasks = loads
                .iter()
                .find(|(id, _)| id == &w.id)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            json!({
                "id": w.id,
                "capacity": w.capacity,
                "version": w.version,
                "registered_at": timestamp(&w.registered_at),
                "last_heartbeat": timestamp(&w.last_heartbeat),
                "lease_expires_at": timestamp(&w.lease_expires_at),
                "draining": w.draining,
                "tasks": tasks,
            })
        })
        .collect();
    Ok(Json(json!({"kind": "WorkerList", "data": data})))
}

async fn reconciler(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let leader: Option<(i64, String, chrono::DateTime<chrono::Utc>)> =
        sqlx::query_as("SELECT epoch, holder, acquired_at FROM reconciler_leader WHERE id = 1")
            .fetch_optional(&state.pool)
            .await?;
    let events: Vec<(chrono::DateTime<chrono::Utc>, i32, i32, String)> = sqlx::query_as(
        "SELECT at, from_count, to_count, reason FROM scaling_events ORDER BY id DESC LIMIT 20",
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(json!({
        "leader": leader.map(|(epoch, holder, at)| json!({"epoch": epoch, "holder": holder, "acquired_at": timestamp(&at)})),
        "scaling_events": events.iter().map(|(at, from, to, reason)| json!({
            "at": timestamp(at), "from": from, "to": to, "reason": reason
        })).collect::<Vec<_>>(),
    })))
}
