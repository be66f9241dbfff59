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
    path: (String, String, String),
    headers: &HeaderMap,
    target: &str,
) -> Result<Response, ApiError> {
    let c = set_target_state(state, who, path, headers, target).await?;
    Ok((StatusCode::ACCEPTED, etag_header(&c)).into_response())
}

/// Core of pause, resume and stop: records the target state (RUNNING,
/// PAUSED or STOPPED; idempotent, honouring `If-Match`) and wakes the
/// reconciler. Returns the connector as it now is.
pub(crate) async fn set_target_state(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    headers: &HeaderMap,
    target: &str,
) -> Result<store::Connector, ApiError> {
    let cluster = scoped_cluster(state, who, &env, &cluster_id).await?;
    let mut tx = state.pool.begin().await?;
    let current = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    check_if_match(headers, Some(&current))?;
    let target_state = crate::lifecycle::TargetState::parse(target)
        .ok_or_else(|| ApiError::internal(format!("unknown target state {target}")))?;
    let c = store::set_target_state(&mut tx, &current.id, target_state).await?;
    notify_reconciler(&mut *tx, "target state").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, target, "connector target state set");
    Ok(c)
}

/// `PUT …/pause`: tasks stop processing and report PAUSED.
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/pause",
    operation_id = "pauseConnectv1Connector",
    tag = "Connector lifecycle (connect/v1)",
    summary = "Pause a connector",
    description = "Records PAUSED as the desired state and answers 202 at once, never 409; the tasks \
stop processing and report PAUSED within a heartbeat.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)"),
    ),
    responses(
        (status = 202, description = "Accepted", headers(("ETag" = String, description = "The connector's new version"))),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn pause(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_state(&state, &who, path, &headers, "PAUSED").await
}

/// `PUT …/resume`: back to RUNNING (from PAUSED or STOPPED).
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/resume",
    operation_id = "resumeConnectv1Connector",
    tag = "Connector lifecycle (connect/v1)",
    summary = "Resume a connector",
    description = "Back to RUNNING (from PAUSED or STOPPED); answers 202 at once.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)"),
    ),
    responses(
        (status = 202, description = "Accepted", headers(("ETag" = String, description = "The connector's new version"))),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
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
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/stop",
    operation_id = "stopConnectv1Connector",
    tag = "Connector lifecycle (connect/v1)",
    summary = "Stop a connector",
    description = "Upstream Kafka Connect's STOPPED: the tasks are shut down and release their \
resources; offsets can then be altered or reset. Answers 202 at once.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)"),
    ),
    responses(
        (status = 202, description = "Accepted", headers(("ETag" = String, description = "The connector's new version"))),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_state(&state, &who, path, &headers, "STOPPED").await
}

/// What [`restart_connector`] did.
pub(crate) struct Restarted {
    pub connector: store::Connector,
    /// The connector's tasks after the restart.
    pub tasks: Vec<store::Task>,
    /// The ids of the tasks restarted.
    pub restarted: Vec<i32>,
}

/// Core of a connector restart: with `include_tasks`, its tasks (only the
/// FAILED ones with `only_failed`) get a new epoch, which restarts them
/// where they run; the reconciler is woken either way.
pub(crate) async fn restart_connector(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    include_tasks: bool,
    only_failed: bool,
) -> Result<Restarted, ApiError> {
    let cluster = scoped_cluster(state, who, &env, &cluster_id).await?;
    let mut tx = state.pool.begin().await?;
    let c = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    let restarted = if include_tasks {
        crate::store::tasks::restart(&mut tx, &c.id, None, only_failed).await?
    } else {
        Vec::new()
    };
    notify_reconciler(&mut *tx, "restart").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, tasks = ?restarted, "connector restart requested");
    let tasks = store::tasks_of(&state.pool, std::slice::from_ref(&c.id)).await?;
    Ok(Restarted {
        connector: c,
        tasks,
        restarted,
    })
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
#[utoipa::path(
    post,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/restart",
    operation_id = "restartConnectv1Connector",
    tag = "Connector lifecycle (connect/v1)",
    summary = "Restart a connector",
    description = "Without parameters (Confluent's form) the connector and all its tasks restart and \
the answer is 202 without a body. With upstream Kafka Connect's `includeTasks`/`onlyFailed`, the \
answer is 202 with the connector's status, each task marked RESTARTING or left as it was.",
    params(
        crate::api::schemas::ConnectorPath,
        ("includeTasks" = Option<bool>, Query, description = "Restart the tasks too (default: false in the upstream form)"),
        ("onlyFailed" = Option<bool>, Query, description = "Restart only FAILED tasks (default false)"),
    ),
    responses(
        (status = 202, description = "Accepted; with `includeTasks`/`onlyFailed`, the status", body = Option<crate::api::schemas::ConnectorStatus>),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn restart(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    Query(params): Query<RestartParams>,
) -> Result<Response, ApiError> {
    let upstream_form = params.include_tasks.is_some() || params.only_failed.is_some();
    let include_tasks = params.include_tasks.unwrap_or(!upstream_form);
    let only_failed = params.only_failed.unwrap_or(false);
    let r = restart_connector(
        &state,
        &who,
        (env, cluster_id, name),
        include_tasks,
        only_failed,
    )
    .await?;
    if !upstream_form {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let (c, tasks) = (r.connector, r.tasks);
    let refs: Vec<&store::Task> = tasks.iter().collect();
    let mut body = super::view::status_json(&c, &refs);
    body["connector"]["state"] = json!(if include_tasks && !only_failed {
        "RESTARTING"
    } else {
        body["connector"]["state"].as_str().unwrap_or("RUNNING")
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
