//! `GET …/offsets`, `POST …/offsets/request`, `GET …/offsets/request/status`.
//! An alter or reset is desired state like everything else: the reconciler
//! stops the tasks, applies it, and starts them again. The caller does not
//! orchestrate anything.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::{Access, OffsetsRequestKind};
use crate::store::connectors::Connector;
use crate::store::offsets::OffsetRequest;

type ConnectorPath = Path<(String, String, String)>;

/// Confluent's timestamp style for offsets ("2024-02-20 15:14:19+00:00").
fn offsets_time(t: &chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/offsets",
    operation_id = "getConnectv1ConnectorOffsets",
    tag = "Offsets (connect/v1)",
    summary = "Read a connector's offsets",
    description = "Sources: the offsets their tasks committed (fenced by epoch). Sinks: the committed \
offsets of the consumer group `connect-<connector id>`, read from the Kafka cluster (503 when it \
does not answer).",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The offsets", body = crate::api::schemas::ConnectorOffsets),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 503, response = crate::api::schemas::ConnectUnavailable),
        crate::api::schemas::ConnectCommonErrors,
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
    let (c, list) = svc.offsets(&at, &name).await?;
    Ok(Json(json!({
        "id": c.id,
        "name": c.name,
        "offsets": list,
        "metadata": {"observed_at": offsets_time(&Utc::now())},
    })))
}

#[derive(Debug, Deserialize)]
pub struct AlterRequest {
    #[serde(rename = "type")]
    request_type: String,
    #[serde(default)]
    offsets: Vec<Value>,
}

fn request_info(c: &Connector, r: &OffsetRequest) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "type": r.request_type,
        "offsets": r.offsets.0,
        "requested_at": offsets_time(&r.requested_at),
    })
}

#[utoipa::path(
    post,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/offsets/request",
    operation_id = "alterConnectv1ConnectorOffsetsRequest",
    tag = "Offsets (connect/v1)",
    summary = "Alter or reset a connector's offsets",
    description = "Desired state like everything else: the reconciler stops the tasks, applies the \
request and starts them again; follow it with `offsets/request/status`. One request at a time per \
connector (409 while one is being applied).",
    params(crate::api::schemas::ConnectorPath),
    request_body = crate::api::schemas::OffsetsRequest,
    responses(
        (status = 202, description = "Recorded", body = crate::api::schemas::OffsetsRequestInfo),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 409, response = crate::api::schemas::ConnectConflict),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn request(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    ApiJson(req): ApiJson<AlterRequest>,
) -> Result<Response, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let kind = OffsetsRequestKind::parse(&req.request_type).ok_or_else(|| {
        ApiError::invalid_field(
            "type",
            format!("type must be PATCH or DELETE, not \"{}\"", req.request_type),
        )
    })?;
    if kind == OffsetsRequestKind::Alter && req.offsets.is_empty() {
        return Err(ApiError::invalid_field(
            "offsets",
            "a PATCH request needs at least one offset",
        ));
    }
    let offsets = match kind {
        OffsetsRequestKind::Reset => Vec::new(),
        OffsetsRequestKind::Alter => req.offsets,
    };
    let (c, r) = svc
        .request_offsets(&at, &name, kind, &offsets, false)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(request_info(&c, &r))).into_response())
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/offsets/request/status",
    operation_id = "getConnectv1ConnectorOffsetsRequestStatus",
    tag = "Offsets (connect/v1)",
    summary = "Read where the last offsets request stands",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The request and its phase", body = crate::api::schemas::OffsetsRequestStatus),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn request_status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(&who, &env, &cluster_id, Access::Read(&name))
        .await?;
    let (c, r) = svc.offsets_request(&at, &name).await?;
    let mut body = json!({
        "request": request_info(&c, &r),
        "status": {"phase": r.phase, "message": r.message},
        "previous_offsets": r.previous_offsets.0,
    });
    if let Some(at) = r.applied_at {
        body["applied_at"] = json!(offsets_time(&at));
    }
    Ok(Json(body))
}
