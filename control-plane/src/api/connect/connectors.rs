//! Connector handlers: create, list, read, status, delete.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{etag_header, if_match, view, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::{
    check_name, Access, Admitted, Answer, CreateConnector, Idempotency,
};
use crate::store::connectors::{Connector, Task};

type ClusterPath = Path<(String, String)>;
type ConnectorPath = Path<(String, String, String)>;

/// The header that makes a create safe to retry.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

#[derive(Debug, Deserialize, serde::Serialize)]
pub struct CreateRequest {
    name: Option<String>,
    config: Option<BTreeMap<String, String>>,
    #[serde(default)]
    offsets: Vec<Value>,
}

#[utoipa::path(
    post,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors",
    operation_id = "createConnectv1Connector",
    tag = "Connectors (connect/v1)",
    summary = "Create a connector",
    description = "Records the connector as desired state (RUNNING) and answers at once; the reconciler \
starts its tasks. The whole config is validated first and every problem is named. Needs \
ConnectManager, CloudClusterAdmin or above on the cluster; counts against the connector and task \
quotas (402). Password-typed config values are encrypted at rest and returned masked \
(`****************`). A retried request with the same `Idempotency-Key` and body answers the first \
result instead of creating twice.",
    params(
        crate::api::schemas::ClusterPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 characters, kept 24 hours per organization"),
    ),
    request_body = crate::api::schemas::CreateConnectorRequest,
    responses(
        (status = 201, description = "The connector (secrets masked)", body = crate::api::schemas::Connector),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 402, response = crate::api::schemas::ConnectQuotaExceeded),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 409, response = crate::api::schemas::ConnectConflict),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        (status = 422, response = crate::api::schemas::ConnectIdempotencyKeyReused),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let svc = &state.connectors;
    let at = svc.admit(&who, &env, &cluster_id, Access::Create).await?;
    let idem = match headers.get(IDEMPOTENCY_KEY) {
        Some(key) => Some(Idempotency::new(
            key.to_str().unwrap_or(""),
            "POST",
            format!("/connect/v1/environments/{env}/clusters/{cluster_id}/connectors"),
            &req,
        )?),
        None => None,
    };
    let name = req
        .name
        .ok_or_else(|| ApiError::invalid_field("name", "field \"name\" is required"))?;
    check_name(&name)?;
    let config = req
        .config
        .ok_or_else(|| ApiError::invalid_field("config", "field \"config\" is required"))?;
    if !req.offsets.is_empty() {
        return Err(ApiError::invalid_field(
            "offsets",
            "initial offsets are not supported yet; create the connector without them",
        ));
    }
    let new = CreateConnector {
        name,
        config,
        initial_state: None,
    };
    let answer = svc
        .create(&at, new, idem.as_ref(), |w| {
            let mut body = view::connector_json(&w.connector, at.cluster(), w.n_tasks);
            body["offsets"] = json!([]);
            Answer {
                status: StatusCode::CREATED.as_u16(),
                body,
            }
        })
        .await?;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    Ok((status, Json(answer.body)))
}

/// The `expand` values of a query string: `expand=id,info` or repeated `expand=`.
fn expansions(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "expand" {
            continue;
        }
        for item in v.replace("%2C", ",").replace("%2c", ",").split(',') {
            match item {
                "" => {}
                "id" | "info" | "status" => out.push(item.to_string()),
                other => {
                    return Err(ApiError::invalid_field(
                        "expand",
                        format!("unknown expansion \"{other}\"; use id, info or status"),
                    ))
                }
            }
        }
    }
    Ok(out)
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors",
    operation_id = "listConnectv1Connectors",
    tag = "Connectors (connect/v1)",
    summary = "List connectors",
    description = "The connectors of the cluster that the caller may see (a caller bound to some \
connectors only sees those). Without parameters: an array of names. With `expand`: an object keyed \
by name with the expansions asked for. With `page_size` or `page_token`: a v2 list page whose \
`data` holds names (or expanded connectors with their `name`).",
    params(
        crate::api::schemas::ClusterPath,
        ("expand" = Option<String>, Query, description = "Comma-separated (or repeated): `id`, `info`, `status`", example = "status,info,id"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Paginate: page size"),
        ("page_token" = Option<String>, Query, description = "Paginate: from `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "The connectors", body = crate::api::schemas::ConnectorListing,
            example = json!(["orders-gen", "orders-sink"])),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
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
    let expand = expansions(query.as_deref())?;
    let page = paging(query.as_deref())?;
    let connectors = svc
        .list(
            &at,
            page.as_ref().and_then(|p| p.page_token.as_deref()),
            page.as_ref().and_then(|p| p.page_size),
        )
        .await?;
    if let Some(page) = page {
        // Opt-in pagination: Confluent's v2 list envelope.
        let size = page.size()?;
        let total = svc.count(&at).await?;
        let base = format!(
            "{}/connect/v1/environments/{env}/clusters/{cluster_id}/connectors{}",
            state.public_url,
            if expand.is_empty() {
                String::new()
            } else {
                format!("?expand={}", expand.join(","))
            }
        );
        let last = connectors.last().map(|c| c.name.clone());
        let data: Vec<Value> = if expand.is_empty() {
            connectors.iter().map(|c| json!(c.name)).collect()
        } else {
            let expanded = expand_all(&state, &at, &connectors, &expand).await?;
            connectors
                .iter()
                .map(|c| {
                    let mut e = expanded.get(&c.name).cloned().unwrap_or(json!({}));
                    e["name"] = json!(c.name);
                    e
                })
                .collect()
        };
        let mut body = crate::api::v2::list_page(
            "connect/v1",
            "ConnectorList",
            &base,
            data,
            last,
            size,
            total,
        );
        if let Some(next) = body["metadata"]["next"].as_str() {
            // Tokens are connector names: encode them for the URL.
            body["metadata"]["next"] = json!(next.replace(' ', "%20"));
        }
        return Ok(Json(body));
    }
    if expand.is_empty() {
        return Ok(Json(json!(connectors
            .iter()
            .map(|c| &c.name)
            .collect::<Vec<_>>())));
    }
    Ok(Json(Value::Object(
        expand_all(&state, &at, &connectors, &expand).await?,
    )))
}

/// `page_size`/`page_token` of a list request; `None` when not paginating.
fn paging(query: Option<&str>) -> Result<Option<crate::api::v2::PageParams>, ApiError> {
    let q = query.unwrap_or("");
    if !q.contains("page_size") && !q.contains("page_token") {
        return Ok(None);
    }
    let params = parse_paging(q)?;
    Ok(Some(crate::api::v2::PageParams {
        page_size: Some(params.size()?),
        page_token: params.page_token,
    }))
}

fn parse_paging(q: &str) -> Result<crate::api::v2::PageParams, ApiError> {
    let mut p = crate::api::v2::PageParams::default();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_encoding::percent_decode_str(&v.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        match k {
            "page_size" => {
                p.page_size = Some(v.parse().map_err(|_| {
                    ApiError::invalid_field(
                        "page_size",
                        format!("page_size must be an integer, not \"{v}\""),
                    )
                })?)
            }
            "page_token" => p.page_token = Some(v),
            _ => {}
        }
    }
    Ok(p)
}

/// The `?expand=` objects of each connector, keyed by name.
async fn expand_all(
    state: &AppState,
    at: &Admitted<'_>,
    connectors: &[Connector],
    expand: &[String],
) -> Result<Map<String, Value>, ApiError> {
    let cluster = at.cluster();
    let tasks: HashMap<String, Vec<Task>> = state.connectors.tasks_by_connector(connectors).await?;
    let mut out = Map::new();
    for c in connectors {
        let mine: Vec<&Task> = tasks
            .get(&c.id)
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        let mut entry = Map::new();
        if expand.iter().any(|e| e == "id") {
            entry.insert("id".into(), json!({"id": c.id, "id_type": "ID"}));
        }
        if expand.iter().any(|e| e == "info") {
            entry.insert(
                "info".into(),
                json!({
                    "name": c.name,
                    "config": view::visible_config(&c.config, &c.class, cluster),
                    "tasks": view::task_ids(&c.name, mine.len()),
                    "type": c.connector_type,
                }),
            );
        }
        if expand.iter().any(|e| e == "status") {
            entry.insert("status".into(), view::status_json(c, &mine));
        }
        out.insert(c.name.clone(), Value::Object(entry));
    }
    Ok(out)
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}",
    operation_id = "readConnectv1Connector",
    tag = "Connectors (connect/v1)",
    summary = "Read a connector",
    description = "Its config (secrets masked), tasks and type. The `ETag` names this version, for `If-Match`.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The connector", body = crate::api::schemas::Connector,
            headers(("ETag" = String, description = "The connector's version"))),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let got = svc.get(&at, &name).await?;
    Ok((
        etag_header(&got.connector),
        Json(view::connector_json(
            &got.connector,
            at.cluster(),
            got.tasks.len(),
        )),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/status",
    operation_id = "readConnectv1ConnectorStatus",
    tag = "Connectors (connect/v1)",
    summary = "Read a connector's status",
    description = "The connector's state, derived from its tasks' (PROVISIONING, RUNNING, DEGRADED, \
PAUSED, STOPPED, FAILED), and each task's state and error.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The status", body = crate::api::schemas::ConnectorStatus),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
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
    let refs: Vec<&Task> = got.tasks.iter().collect();
    Ok(Json(view::status_json(&got.connector, &refs)))
}

#[utoipa::path(
    delete,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}",
    operation_id = "deleteConnectv1Connector",
    tag = "Connectors (connect/v1)",
    summary = "Delete a connector",
    description = "Its tasks stop and its stored config and offsets go.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Delete only this version (an `ETag`)"),
    ),
    responses(
        (status = 200, description = "Deleted", body = crate::api::schemas::DeleteConnectorResponse),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    svc.delete(&at, &name, if_match(&headers).as_ref()).await?;
    Ok(Json(json!({"error": null})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_accept_comma_lists_and_repeats() {
        assert_eq!(
            expansions(Some("expand=id,info")).unwrap(),
            vec!["id", "info"]
        );
        assert_eq!(
            expansions(Some("expand=status&expand=id")).unwrap(),
            vec!["status", "id"]
        );
        assert!(expansions(Some("expand=bogus")).is_err());
        assert!(expansions(None).unwrap().is_empty());
    }
}
