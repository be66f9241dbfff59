//! `…/tasks`, `…/tasks/{id}/status` and `…/tasks/{id}/restart`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{connector_not_found, load, scoped_cluster, view, AppState};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::connectors as store;
use crate::store::notify_reconciler;

type ConnectorPath = Path<(String, String, String)>;
type TaskPath = Path<(String, String, String, String)>;

fn task_number(raw: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        ApiError::invalid_field(
            "task",
            format!("task id must be a non-negative integer, not \"{raw}\""),
        )
    })
}

/// Task configs, secrets masked.
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let (cluster, c, tasks) = load(&state, &who, &env, &cluster_id, &name).await?;
    let list: Vec<Value> = tasks
        .iter()
        .map(|t| {
            json!({
                "id": {"connector": c.name, "task": t.task_id},
                "config": view::visible_config(&t.config, &c.class, &cluster),
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

pub async fn status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name, task)): TaskPath,
) -> Result<Json<Value>, ApiError> {
    let n = task_number(&task)?;
    let (_, c, tasks) = load(&state, &who, &env, &cluster_id, &name).await?;
    let t = tasks.iter().find(|t| t.task_id == n).ok_or_else(|| {
        ApiError::not_found(format!("Task {n} of connector {} not found", c.name))
    })?;
    Ok(Json(view::task_status_json(t)))
}

/// Restarts one task (upstream answers 204).
pub async fn restart(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name, task)): TaskPath,
) -> Result<Response, ApiError> {
    let n = task_number(&task)?;
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let mut tx = state.pool.begin().await?;
    let c = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    let restarted = store::restart_tasks(&mut tx, &c.id, Some(n), false).await?;
    if restarted.is_empty() {
        return Err(ApiError::not_found(format!(
            "Task {n} of connector {name} not found"
        )));
    }
    notify_reconciler(&mut *tx, "task restart").await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/topics`: the topics the connector has used since its creation or
/// last reset (sinks: also the topics they are configured to read).
pub async fn topics(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let (_, c, _) = load(&state, &who, &env, &cluster_id, &name).await?;
    let mut topics: Vec<String> = sqlx::query_scalar(
        "SELECT topic FROM connector_topics WHERE connector_id = $1 ORDER BY topic",
    )
    .bind(&c.id)
    .fetch_all(&state.pool)
    .await?;
    if c.connector_type == "sink" {
        for t in crate::kafka_admin::sink_topics(&c.config) {
            if !topics.contains(&t) {
                topics.push(t);
            }
        }
        topics.sort();
    }
    Ok(Json(json!({ c.name.clone(): { "topics": topics } })))
}

/// `PUT …/topics/reset`: forget the recorded topics.
pub async fn reset_topics(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Response, ApiError> {
    let (_, c, _) = load(&state, &who, &env, &cluster_id, &name).await?;
    sqlx::query("DELETE FROM connector_topics WHERE connector_id = $1")
        .bind(&c.id)
        .execute(&state.pool)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
