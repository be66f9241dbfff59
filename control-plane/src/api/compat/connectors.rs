//! `GET /`, `/connectors…`: upstream's shapes and codes around the connector
//! service's operations.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    config_values, connector_url, full_config, info_json, name_mismatch, status_json,
    task_state_json, AppState, ClusterPath, ConnectorPath, KAFKA_CONNECT_VERSION,
};
use crate::api::connect::{if_match, tasks, view};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::lifecycle::{ConnectorState, TargetState, TaskState};
use crate::service::connectors::{Access, Admitted, Answer, CreateConnector, Status, Written};

/// `GET /`: upstream's `ServerInfo`; `kafka_cluster_id` is the cluster's id.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}",
    operation_id = "compatServerInfo",
    tag = "Kafka Connect compatible",
    summary = "Server info",
    description = "Upstream's `ServerInfo`; `kafka_cluster_id` is the cluster's id. Point Kafka Connect clients and tools at this URL.",
    params(crate::api::schemas::ClusterPath),
    responses(
        (status = 200, description = "Server info", body = crate::api::schemas::ServerInfo),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn server_info(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
) -> Result<Json<Value>, ApiError> {
    let at = state
        .connectors
        .admit(&who, &env, &cluster_id, Access::Cluster)
        .await?;
    Ok(Json(json!({
        "version": KAFKA_CONNECT_VERSION,
        "commit": format!("tributary-{}", env!("CARGO_PKG_VERSION")),
        "kafka_cluster_id": at.cluster().id,
    })))
}

/// `GET /health` (KIP-1017): the service answers, so it is healthy.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/health",
    operation_id = "compatHealth",
    tag = "Kafka Connect compatible",
    summary = "Worker health (KIP-1017)",
    params(crate::api::schemas::ClusterPath),
    responses(
        (status = 200, description = "Healthy", body = crate::api::schemas::WorkerHealth),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn health(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
) -> Result<Json<Value>, ApiError> {
    state
        .connectors
        .admit(&who, &env, &cluster_id, Access::Cluster)
        .await?;
    Ok(Json(json!({
        "status": "healthy",
        "message": "Worker has completed startup and is ready to handle requests.",
    })))
}

/// The values of every `expand` parameter (repeated, or comma-separated);
/// upstream ignores unknown expansions.
fn expansions(query: Option<&str>) -> (bool, bool) {
    let (mut status, mut info) = (false, false);
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "expand" {
            continue;
        }
        let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
        for item in v.split(',') {
            match item.trim() {
                "status" => status = true,
                "info" => info = true,
                _ => {}
            }
        }
    }
    (status, info)
}

/// `GET /connectors[?expand=status&expand=info]`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors",
    operation_id = "compatListConnectors",
    tag = "Kafka Connect compatible",
    summary = "List connectors",
    description = "Names; with `expand=status` and/or `expand=info` (repeated or comma-separated), an object keyed by name. Unknown expansions are ignored.",
    params(crate::api::schemas::ClusterPath, ("expand" = Option<Vec<String>>, Query, explode, description = "`status`, `info`")),
    responses(
        (status = 200, description = "The connectors", body = crate::api::schemas::UpstreamConnectorListing),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc.admit(&who, &env, &cluster_id, Access::Cluster).await?;
    let (with_status, with_info) = expansions(query.as_deref());
    let list = svc.list(&at, None, None).await?;
    if !with_status && !with_info {
        return Ok(Json(json!(list
            .iter()
            .map(|c| &c.name)
            .collect::<Vec<_>>())));
    }
    let tasks = svc.tasks_by_connector(&list).await?;
    let mut out = Map::new();
    for c in &list {
        let mine = tasks.get(&c.id).map(Vec::as_slice).unwrap_or_default();
        let mut entry = Map::new();
        if with_status {
            entry.insert("status".into(), status_json(c, mine));
        }
        if with_info {
            entry.insert("info".into(), info_json(c, at.cluster(), mine.len()));
        }
        out.insert(c.name.clone(), Value::Object(entry));
    }
    Ok(Json(Value::Object(out)))
}

/// Upstream's `CreateConnectorRequest`.
#[derive(Debug, Deserialize)]
pub struct CreateRequest {
    name: Option<String>,
    config: Option<BTreeMap<String, Value>>,
    initial_state: Option<String>,
}

/// `POST /connectors`: 201 with `Location` and `ConnectorInfo`; 409 when
/// the name is taken.
#[utoipa::path(
    post,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors",
    operation_id = "compatCreateConnector",
    tag = "Kafka Connect compatible",
    summary = "Create a connector",
    description = "201 with `Location`; 409 when the name is taken. Password-typed config values are encrypted at rest and returned masked (`****************`).",
    params(crate::api::schemas::ClusterPath),
    request_body = crate::api::schemas::UpstreamCreateConnectorRequest,
    responses(
        (status = 201, description = "The connector", body = crate::api::schemas::ConnectorInfo, headers(("Location" = String, description = "The connector's URL under this root"))),
        (status = 400, response = crate::api::schemas::CompatBadRequest),
        (status = 402, response = crate::api::schemas::CompatQuotaExceeded),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 409, response = crate::api::schemas::CompatConflict),
        (status = 413, response = crate::api::schemas::CompatPayloadTooLarge),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc.admit(&who, &env, &cluster_id, Access::Create).await?;
    // Upstream trims the name.
    let name = req.name.as_deref().unwrap_or("").trim().to_string();
    let config = full_config(
        req.config
            .ok_or_else(|| ApiError::invalid_field("config", "field \"config\" is required"))?,
    )?;
    if let Some(included) = config.get("name") {
        if included != &name {
            return Err(name_mismatch(included, &name));
        }
    }
    let initial_state = match req.initial_state.as_deref() {
        None => None,
        Some(s) => match TargetState::parse(&s.to_ascii_uppercase()) {
            Some(TargetState::Running) => None,
            Some(other) => Some(other),
            None => {
                return Err(ApiError::invalid_field(
                    "initial_state",
                    format!(
                        "initial_state must be {}, {} or {}, not {}",
                        TargetState::Running,
                        TargetState::Paused,
                        TargetState::Stopped,
                        s.to_ascii_uppercase()
                    ),
                ))
            }
        },
    };
    let new = CreateConnector {
        name: name.clone(),
        config,
        initial_state,
    };
    let answer = svc
        .create(&at, new, None, |w| Answer {
            status: StatusCode::CREATED.as_u16(),
            body: info_json(&w.connector, at.cluster(), w.n_tasks),
        })
        .await?;
    let location = connector_url(&state, &env, &cluster_id, &name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(answer.body),
    )
        .into_response())
}

/// `GET /connectors/{name}`: `ConnectorInfo`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}",
    operation_id = "compatReadConnector",
    tag = "Kafka Connect compatible",
    summary = "Read a connector",
    description = "Upstream's `ConnectorInfo`, secrets masked.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The connector", body = crate::api::schemas::ConnectorInfo),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    Ok(Json(info_json(
        &got.connector,
        at.cluster(),
        got.tasks.len(),
    )))
}

/// `DELETE /connectors/{name}`: 204.
#[utoipa::path(
    delete,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}",
    operation_id = "compatDeleteConnector",
    tag = "Kafka Connect compatible",
    summary = "Delete a connector",
    params(crate::api::schemas::ConnectorPath, ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 412, response = crate::api::schemas::CompatPreconditionFailed),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    svc.delete(&at, &name, if_match(&headers).as_ref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /connectors/{name}/config`: the flat map (secrets masked).
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "compatReadConnectorConfig",
    tag = "Kafka Connect compatible",
    summary = "Read a connector's config",
    description = "The flat map. Password-typed values are returned masked as `****************` (upstream returns them as stored); sending the mask back keeps the stored value.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The config, secrets masked", body = crate::api::schemas::ConnectorConfig),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn read_config(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let c = svc.get(&at, &name).await?.connector;
    Ok(Json(Value::Object(view::visible_config(
        &c.config,
        &c.class,
        at.cluster(),
    ))))
}

fn written(state: &AppState, at: &Admitted<'_>, w: Written) -> Response {
    let body = Json(info_json(&w.connector, at.cluster(), w.n_tasks));
    if w.created {
        let location = connector_url(state, at.env(), &at.cluster().id, &w.connector.name);
        (StatusCode::CREATED, [(header::LOCATION, location)], body).into_response()
    } else {
        (StatusCode::OK, body).into_response()
    }
}

/// `PUT /connectors/{name}/config`: 201 (with `Location`) when it created
/// the connector, 200 when it replaced its config; `ConnectorInfo`.
#[utoipa::path(
    put,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "compatPutConnectorConfig",
    tag = "Kafka Connect compatible",
    summary = "Create a connector or replace its config",
    description = "201 (with `Location`) when it created the connector, 200 when it replaced the config. Values may be strings, numbers or booleans. **Secrets:** password-typed values are encrypted at rest and returned masked as `****************`; sending the mask back for such a key keeps the stored value.",
    params(crate::api::schemas::ConnectorPath, ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)")),
    request_body = crate::api::schemas::UpstreamConfig,
    responses(
        (status = 200, description = "Replaced", body = crate::api::schemas::ConnectorInfo),
        (status = 201, description = "Created", body = crate::api::schemas::ConnectorInfo, headers(("Location" = String, description = "The connector's URL under this root"))),
        (status = 400, response = crate::api::schemas::CompatBadRequest),
        (status = 402, response = crate::api::schemas::CompatQuotaExceeded),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 412, response = crate::api::schemas::CompatPreconditionFailed),
        (status = 413, response = crate::api::schemas::CompatPayloadTooLarge),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn put_config(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BTreeMap<String, Value>>,
) -> Result<Response, ApiError> {
    let body = full_config(body)?;
    if let Some(included) = body.get("name") {
        if included != &name {
            return Err(name_mismatch(included, &name));
        }
    }
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Put(&name))
        .await?;
    let w = svc
        .put_config(&at, &name, body, if_match(&headers).as_ref())
        .await?;
    Ok(written(&state, &at, w))
}

/// `PATCH /connectors/{name}/config` (KIP-477): merges; `null` removes a key.
#[utoipa::path(
    patch,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "compatPatchConnectorConfig",
    tag = "Kafka Connect compatible",
    summary = "Change some of a connector's config (KIP-477)",
    description = "Merges; `null` removes a key. **Secrets:** sending the mask `****************` back for a password-typed key keeps the stored value.",
    params(crate::api::schemas::ConnectorPath, ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)")),
    request_body = crate::api::schemas::UpstreamConfigPatch,
    responses(
        (status = 200, description = "The connector", body = crate::api::schemas::ConnectorInfo),
        (status = 400, response = crate::api::schemas::CompatBadRequest),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 412, response = crate::api::schemas::CompatPreconditionFailed),
        (status = 413, response = crate::api::schemas::CompatPayloadTooLarge),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn patch_config(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BTreeMap<String, Value>>,
) -> Result<Response, ApiError> {
    let patch = config_values(body, true)?;
    if let Some(Some(included)) = patch.get("name") {
        if included != &name {
            return Err(name_mismatch(included, &name));
        }
    }
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let w = svc
        .patch_config(&at, &name, patch, if_match(&headers).as_ref())
        .await?;
    Ok((
        StatusCode::OK,
        Json(info_json(&w.connector, at.cluster(), w.n_tasks)),
    )
        .into_response())
}

/// `GET /connectors/{name}/status`: `ConnectorStateInfo`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/status",
    operation_id = "compatConnectorStatus",
    tag = "Kafka Connect compatible",
    summary = "Read a connector's status",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The status", body = crate::api::schemas::UpstreamConnectorStatus),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    Ok(Json(status_json(&got.connector, &got.tasks)))
}

/// `PUT /connectors/{name}/pause`: 202.
#[utoipa::path(
    put,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/pause",
    operation_id = "compatPauseConnector",
    tag = "Kafka Connect compatible",
    summary = "Pause a connector",
    description = "Desired state: 202 at once, never 409.",
    params(crate::api::schemas::ConnectorPath, ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)")),
    responses(
        (status = 202, description = "Accepted"),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 412, response = crate::api::schemas::CompatPreconditionFailed),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn pause(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_target_state(&state, &who, path, &headers, TargetState::Paused).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /connectors/{name}/resume`: 202 (also from STOPPED).
#[utoipa::path(
    put,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/resume",
    operation_id = "compatResumeConnector",
    tag = "Kafka Connect compatible",
    summary = "Resume a connector",
    description = "Also from STOPPED; 202 at once.",
    params(crate::api::schemas::ConnectorPath, ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)")),
    responses(
        (status = 202, description = "Accepted"),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 412, response = crate::api::schemas::CompatPreconditionFailed),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_target_state(&state, &who, path, &headers, TargetState::Running).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `PUT /connectors/{name}/stop` (KIP-875): 204, as upstream answers.
#[utoipa::path(
    put,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/stop",
    operation_id = "compatStopConnector",
    tag = "Kafka Connect compatible",
    summary = "Stop a connector (KIP-875)",
    description = "204, as upstream answers.",
    params(crate::api::schemas::ConnectorPath, ("If-Match" = Option<String>, Header, description = "Act only on this version (an `ETag`)")),
    responses(
        (status = 204, description = "Stopping"),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 412, response = crate::api::schemas::CompatPreconditionFailed),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn stop(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    set_target_state(&state, &who, path, &headers, TargetState::Stopped).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Pause, resume and stop.
async fn set_target_state(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    headers: &HeaderMap,
    target: TargetState,
) -> Result<(), ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(who, &env, &cluster_id, Access::Write(&name))
        .await?;
    svc.set_target_state(&at, &name, target, if_match(headers).as_ref())
        .await?;
    Ok(())
}

/// A boolean query parameter read as JAX-RS reads a `Boolean`: `true` in
/// any case is true, anything else (or absence) false.
fn flag(query: Option<&str>, name: &str) -> bool {
    query.unwrap_or("").split('&').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k == name && v.eq_ignore_ascii_case("true")
    })
}

/// `POST /connectors/{name}/restart[?includeTasks=&onlyFailed=]` (KIP-745):
/// 204 when both are false (the connector alone restarts), else 202 with
/// the `ConnectorStateInfo` in which what restarts reads RESTARTING.
#[utoipa::path(
    post,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/restart",
    operation_id = "compatRestartConnector",
    tag = "Kafka Connect compatible",
    summary = "Restart a connector (KIP-745)",
    description = "204 when `includeTasks` and `onlyFailed` are both false (the connector alone restarts); otherwise 202 with the status, in which what restarts reads RESTARTING.",
    params(crate::api::schemas::ConnectorPath, ("includeTasks" = Option<bool>, Query, description = "Restart the tasks too"), ("onlyFailed" = Option<bool>, Query, description = "Restart only failed instances")),
    responses(
        (status = 204, description = "Restarting"),
        (status = 202, description = "Restarting", body = crate::api::schemas::UpstreamConnectorStatus),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn restart(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let include_tasks = flag(query.as_deref(), "includeTasks");
    let only_failed = flag(query.as_deref(), "onlyFailed");
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let r = svc.restart(&at, &name, include_tasks, only_failed).await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut body = status_json(&r.connector, &r.tasks);
    // AbstractHerder.buildRestartPlan: the connector restarts unless only
    // failed instances do and it has not failed.
    if !only_failed || Status::of(&r.connector, &r.tasks).state == ConnectorState::Failed {
        body["connector"]["state"] = json!(TaskState::Restarting);
    }
    if let Some(list) = body["tasks"].as_array_mut() {
        for t in list {
            let restarted = t["id"]
                .as_i64()
                .is_some_and(|id| r.restarted.iter().any(|n| i64::from(*n) == id));
            if restarted {
                t["state"] = json!(TaskState::Restarting);
            }
        }
    }
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `GET /connectors/{name}/tasks`: `[TaskInfo]` (secrets masked).
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/tasks",
    operation_id = "compatListTasks",
    tag = "Kafka Connect compatible",
    summary = "List a connector's tasks",
    description = "Each task's config, secrets masked.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The tasks", body = Vec<crate::api::schemas::TaskInfo>),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn tasks(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    Ok(Json(tasks::task_infos(
        at.cluster(),
        &got.connector,
        &got.tasks,
    )))
}

/// A task id from a path; like JAX-RS's failed `@PathParam Integer`, a
/// non-number is a 404.
fn task_number(raw: &str) -> Result<i32, ApiError> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::not_found("HTTP 404 Not Found"))
}

/// `GET /connectors/{name}/tasks/{id}/status`: `TaskState`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/tasks/{task_id}/status",
    operation_id = "compatTaskStatus",
    tag = "Kafka Connect compatible",
    summary = "Read a task's status",
    description = "A task id that is not a number is a 404, as upstream.",
    params(crate::api::schemas::TaskPath),
    responses(
        (status = 200, description = "The task's state", body = crate::api::schemas::UpstreamTaskState),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn task_status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name, task)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let n = task_number(&task)?;
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    let t = got.tasks.iter().find(|t| t.task_id == n).ok_or_else(|| {
        ApiError::not_found(format!(
            "No status found for task {}-{n}",
            got.connector.name
        ))
    })?;
    Ok(Json(task_state_json(t)))
}

/// `POST /connectors/{name}/tasks/{id}/restart`: 204.
#[utoipa::path(
    post,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/tasks/{task_id}/restart",
    operation_id = "compatRestartTask",
    tag = "Kafka Connect compatible",
    summary = "Restart one task",
    params(crate::api::schemas::TaskPath),
    responses(
        (status = 204, description = "Restarting"),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn restart_task(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name, task)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let n = task_number(&task)?;
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    if !svc.restart_task(&at, &name, n).await? {
        return Err(ApiError::not_found(format!("Unknown task: {name}-{n}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /connectors/{name}/topics` (KIP-558): `{name: {topics: [...]}}`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/topics",
    operation_id = "compatConnectorTopics",
    tag = "Kafka Connect compatible",
    summary = "List a connector's active topics (KIP-558)",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The topics, keyed by the connector's name", body = crate::api::schemas::ConnectorTopics),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
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

/// `PUT /connectors/{name}/topics/reset`: 202.
#[utoipa::path(
    put,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/topics/reset",
    operation_id = "compatResetConnectorTopics",
    tag = "Kafka Connect compatible",
    summary = "Forget a connector's active topics",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 202, description = "Reset"),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flags_read_like_jax_rs_booleans() {
        let q = Some("includeTasks=True&onlyFailed=false");
        assert!(flag(q, "includeTasks"));
        assert!(!flag(q, "onlyFailed"));
        assert!(!flag(Some("includeTasks=yes"), "includeTasks"));
        assert!(!flag(None, "includeTasks"));
    }

    #[test]
    fn expansions_are_repeated_or_comma_separated_and_unknown_ones_ignored() {
        assert_eq!(expansions(Some("expand=status&expand=info")), (true, true));
        assert_eq!(expansions(Some("expand=info%2Cstatus")), (true, true));
        assert_eq!(expansions(Some("expand=id")), (false, false));
        assert_eq!(expansions(None), (false, false));
    }

    #[test]
    fn task_ids_that_are_not_numbers_are_404s() {
        assert_eq!(task_number("3").unwrap(), 3);
        assert_eq!(task_number("x").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(task_number("-1").unwrap_err().status, StatusCode::NOT_FOUND);
    }
}
