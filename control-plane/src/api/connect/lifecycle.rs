//! Pause, resume, stop and restart. Each records desired state and returns
//! 202 at once; workers converge within a heartbeat. Never a 409.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::{etag_header, if_match, AppState};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::lifecycle::{TargetState, TaskState};
use crate::service::connectors::Access;
use crate::store::connectors::Task;

type ConnectorPath = Path<(String, String, String)>;

/// Pause, resume and stop: 202 with the connector's new version.
async fn set_state(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    headers: &HeaderMap,
    target: TargetState,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let c = svc
        .set_target_state(&at, &name, target, if_match(headers).as_ref())
        .await?;
    Ok((StatusCode::ACCEPTED, etag_header(&c)).into_response())
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
    set_state(&state, &who, path, &headers, TargetState::Paused).await
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
    set_state(&state, &who, path, &headers, TargetState::Running).await
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
    set_state(&state, &who, path, &headers, TargetState::Stopped).await
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
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let r = svc.restart(&at, &name, include_tasks, only_failed).await?;
    if !upstream_form {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let refs: Vec<&Task> = r.tasks.iter().collect();
    let mut body = super::view::status_json(&r.connector, &refs);
    if include_tasks && !only_failed {
        body["connector"]["state"] = json!(TaskState::Restarting);
    }
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
