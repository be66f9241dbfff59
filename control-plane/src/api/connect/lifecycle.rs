//! Pause, resume, stop and restart. Each records desired state and returns
//! 202 at once; workers converge within a heartbeat. Never a 409.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::precondition::{check_if_match, etag_header};
use super::{connector_not_found, scoped_cluster, AppState};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::connectors as store;
use crate::store::notify_reconciler;

type ConnectorPath = Path<(String, String, String)>;

async fn set_state(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    headers: &HeaderMap,
    target: &str,
) -> Result<Response, ApiError> {
    let cluster = scoped_cluster(state, who, &env, &cluster_id).await?;
    let mut tx = state.pool.begin().await?;
    let current = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    check_if_match(headers, Some(&current))?;
    let c = store::set_target_state(&mut tx, &current.id, target).await?;
    notify_reconciler(&mut *tx, "target state").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, target, "connector target state set");
    Ok((StatusCode::ACCEPTED, etag_header(&c)).into_response())
}

/// `PUT …/pause`: tasks stop processing and report PAUSED.
pub async fn pause(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_state(&state, &who, path, &headers, "PAUSED").await
}

/// `PUT …/resume`: back to RUNNING (from PAUSED or STOPPED).
pub async fn resume(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_state(&state, &who, path, &headers, "RUNNING").await
}

/// `PUT …/stop`: tasks are shut down and release their resources
/// (upstream Kafka Connect's STOPPED); offsets can then be changed.
pub async fn stop(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_state(&state, &who, path, &headers, "STOPPED").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartParams {
    include_tasks: Option<bool>,
    only_failed: Option<bool>,
}

/// `POST …/restart`. Without parameters (Confluent's form) the connector and
/// all its tasks restart and the answer is 202 without body. With upstream's
/// `includeTasks`/`onlyFailed`, the answer is 202 with the connector's state
/// and each task marked RESTARTING or left as it was.
pub async fn restart(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    Query(params): Query<RestartParams>,
) -> Result<Response, ApiError> {
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let upstream_form = params.include_tasks.is_some() || params.only_failed.is_some();
    let include_tasks = params.include_tasks.unwrap_or(!upstream_form);
    let only_failed = params.only_failed.unwrap_or(false);

    let mut tx = state.pool.begin().await?;
    let c = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    let restarted = if include_tasks {
        store::restart_tasks(&mut tx, &c.id, None, only_failed).await?
    } else {
        Vec::new()
    };
    notify_reconciler(&mut *tx, "restart").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, tasks = ?restarted, "connector restart requested");
    if !upstream_form {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let tasks = store::tasks_of(&state.pool, std::slice::from_ref(&c.id)).await?;
    let refs: Vec<&store::Task> = tasks.iter().collect();
    let mut body = super::view::status_json(&c, &refs);
    body["connector"]["state"] = json!(if include_tasks && !only_failed {
        "RESTARTING"
    } else {
        body["connector"]["state"].as_str().unwrap_or("RUNNING")
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
