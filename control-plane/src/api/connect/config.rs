//! `GET`/`PUT`/`PATCH …/connectors/{name}/config`.
//!
//! Secrets contract: password-typed keys are returned as `****************`.
//! A PUT or PATCH that sends a run of asterisks back for such a key keeps the
//! stored value, so clients can round-trip a config they read.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::{etag_header, if_match, view, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::{Access, Admitted, Written};

type ConnectorPath = Path<(String, String, String)>;

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "getConnectv1ConnectorConfig",
    tag = "Connectors (connect/v1)",
    summary = "Read a connector's config",
    description = "Password-typed values are returned masked as `****************`, never in clear; a \
PUT or PATCH that sends the mask back keeps the stored value. The `ETag` names this version.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The config, secrets masked", body = crate::api::schemas::ConnectorConfig,
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
    let c = svc.get(&at, &name).await?.connector;
    let body = view::visible_config(&c.config, &c.class, at.cluster());
    Ok((etag_header(&c), Json(body)).into_response())
}

/// Confluent documents 200 for both creation and update of a config.
fn written_response(at: &Admitted<'_>, w: Written) -> Response {
    (
        StatusCode::OK,
        etag_header(&w.connector),
        Json(view::connector_json(&w.connector, at.cluster(), w.n_tasks)),
    )
        .into_response()
}

/// `PUT …/config`: create, or replace the whole config (omitted keys are removed).
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "createOrUpdateConnectv1ConnectorConfig",
    tag = "Connectors (connect/v1)",
    summary = "Create a connector or replace its config",
    description = "Creates the connector when it does not exist; otherwise replaces the whole config \
(omitted keys are removed) and bumps its generation, and the reconciler rolls the tasks. Answers \
200 in both cases, as Confluent documents.\n\n**Secrets.** Password-typed values are encrypted at \
rest and returned masked as `****************`. Sending the mask (any run of two or more asterisks) \
back for such a key keeps the stored value, so a config that was read can be written back \
unchanged; the mask for a key with no stored value is a 400 naming the key.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Write only over this version (an `ETag`); 412 otherwise"),
    ),
    request_body = crate::api::schemas::ConnectorConfig,
    responses(
        (status = 200, description = "The connector (secrets masked)", body = crate::api::schemas::Connector,
            headers(("ETag" = String, description = "The connector's new version"))),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 402, response = crate::api::schemas::ConnectQuotaExceeded),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn put(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Put(&name))
        .await?;
    let w = svc
        .put_config(&at, &name, body, if_match(&headers).as_ref())
        .await?;
    Ok(written_response(&at, w))
}

/// `PATCH …/config`: merge the given keys into the stored config; a key set
/// to JSON `null` is removed.
#[utoipa::path(
    patch,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "patchConnectv1ConnectorConfig",
    tag = "Connectors (connect/v1)",
    summary = "Change some of a connector's config",
    description = "Merges the given keys into the stored config; a key set to `null` is removed. The \
connector must exist (404).\n\n**Secrets.** Password-typed values are encrypted at rest and \
returned masked as `****************`. Sending the mask back for such a key keeps the stored value.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Write only over this version (an `ETag`); 412 otherwise"),
    ),
    request_body = crate::api::schemas::ConnectorConfigPatch,
    responses(
        (status = 200, description = "The connector (secrets masked)", body = crate::api::schemas::Connector,
            headers(("ETag" = String, description = "The connector's new version"))),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BTreeMap<String, Option<String>>>,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let w = svc
        .patch_config(&at, &name, body, if_match(&headers).as_ref())
        .await?;
    Ok(written_response(&at, w))
}
