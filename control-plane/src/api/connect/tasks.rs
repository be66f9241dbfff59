//! `…/tasks`, `…/tasks/{id}/status` and `…/tasks/{id}/restart`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::{view, AppState};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::Access;
use crate::store::connectors as store;
use crate::store::tenancy::Cluster;

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
#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/tasks",
    operation_id = "listConnectv1ConnectorTasks",
    tag = "Connectors (connect/v1)",
    summary = "List a connector's tasks",
    description = "Each task's config, secrets masked.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The tasks", body = Vec<crate::api::schemas::TaskInfo>),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    Ok(Json(task_infos(at.cluster(), &got.connector, &got.tasks)))
}

/// Kafka Connect's `TaskInfo` list (both faces): ids and configs, secrets masked.
pub(crate) fn task_infos(cluster: &Cluster, c: &store::Connector, tasks: &[store::Task]) -> Value {
    let list: Vec<Value> = tasks
        .iter()
        .map(|t| {
            json!({
                "id": {"connector": c.name, "task": t.task_id},
                "config": view::visible_config(&t.config, &c.class, cluster),
            })
        })
        .collect();
    Value::Array(list)
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/tasks/{task_id}/status",
    operation_id = "readConnectv1TaskStatus",
    tag = "Connectors (connect/v1)",
    summary = "Read a task's status",
    params(crate::api::schemas::TaskPath),
    responses(
        (status = 200, description = "The task's status", body = crate::api::schemas::TaskStatus),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name, task)): TaskPath,
) -> Result<Json<Value>, ApiError> {
    let n = task_number(&task)?;
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    let t = got.tasks.iter().find(|t| t.task_id == n).ok_or_else(|| {
        ApiError::not_found(format!(
            "Task {n} of connector {} not found",
            got.connector.name
        ))
    })?;
    Ok(Json(view::task_status_json(t)))
}

/// Restarts one task (upstream answers 204).
#[utoipa::path(
    post,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/tasks/{task_id}/restart",
    operation_id = "restartConnectv1Task",
    tag = "Connector lifecycle (connect/v1)",
    summary = "Restart one task",
    description = "The task gets a new epoch, which restarts it where it runs.",
    params(crate::api::schemas::TaskPath),
    responses(
        (status = 204, description = "Restarting"),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn restart(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name, task)): TaskPath,
) -> Result<Response, ApiError> {
    let n = task_number(&task)?;
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    if !svc.restart_task(&at, &name, n).await? {
        return Err(ApiError::not_found(format!(
            "Task {n} of connector {name} not found"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/topics`: the topics the connector has used since its creation or
/// last reset (sinks: also the topics they are configured to read).
#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/topics",
    operation_id = "listConnectv1ConnectorTopics",
    tag = "Connectors (connect/v1)",
    summary = "List a connector's active topics",
    description = "The topics the connector has used since its creation or last reset (sinks: also \
the topics they are configured to read).",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The topics, keyed by the connector's name", body = crate::api::schemas::ConnectorTopics),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn topics(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let (c, topics) = svc.active_topics(&at, &name).await?;
    Ok(Json(json!({ c.name: { "topics": topics } })))
}

/// `PUT …/topics/reset`: forget the recorded topics.
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/topics/reset",
    operation_id = "resetConnectv1ConnectorTopics",
    tag = "Connectors (connect/v1)",
    summary = "Forget a connector's active topics",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 202, description = "Reset"),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn reset_topics(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    svc.reset_topics(&at, &name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
