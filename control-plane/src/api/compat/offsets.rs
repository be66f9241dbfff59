//! `GET|PATCH|DELETE /connectors/{name}/offsets` (KIP-875). An alter or
//! reset is recorded as desired state by the connector service; the
//! reconciler applies it, and the request waits (up to
//! [`APPLY_TIMEOUT`]) to answer with upstream's message.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AppState, ConnectorPath};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::{Access, OffsetsRequestKind, APPLY_TIMEOUT};

/// `GET /connectors/{name}/offsets`: `{"offsets": [{partition, offset}]}`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/offsets",
    operation_id = "compatReadOffsets",
    tag = "Kafka Connect compatible",
    summary = "Read a connector's offsets (KIP-875)",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The offsets", body = crate::api::schemas::UpstreamOffsets),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 503, response = crate::api::schemas::CompatUnavailable),
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
    let (_, list) = svc.offsets(&at, &name).await?;
    Ok(Json(json!({ "offsets": list })))
}

/// Upstream's body of `PATCH …/offsets`.
#[derive(Debug, Deserialize)]
pub struct AlterRequest {
    offsets: Option<Vec<Value>>,
}

/// `PATCH /connectors/{name}/offsets`: 200 `{"message"}` once applied; 400
/// unless the connector is STOPPED.
#[utoipa::path(
    patch,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/offsets",
    operation_id = "compatAlterOffsets",
    tag = "Kafka Connect compatible",
    summary = "Alter a stopped connector's offsets (KIP-875)",
    description = "Recorded as desired state; the reconciler applies it and the request waits up to 30 s for it. 400 unless the connector is STOPPED.",
    params(crate::api::schemas::ConnectorPath),
    request_body = crate::api::schemas::UpstreamOffsetsRequest,
    responses(
        (status = 200, description = "Applied", body = crate::api::schemas::UpstreamMessage),
        (status = 400, response = crate::api::schemas::CompatBadRequest),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 409, response = crate::api::schemas::CompatConflict),
        (status = 413, response = crate::api::schemas::CompatPayloadTooLarge),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn alter(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    ApiJson(req): ApiJson<AlterRequest>,
) -> Result<Json<Value>, ApiError> {
    modify(&state, &who, path, OffsetsRequestKind::Alter, req.offsets).await
}

/// `DELETE /connectors/{name}/offsets`: 200 `{"message"}` once reset; 400
/// unless the connector is STOPPED.
#[utoipa::path(
    delete,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/offsets",
    operation_id = "compatResetOffsets",
    tag = "Kafka Connect compatible",
    summary = "Reset a stopped connector's offsets (KIP-875)",
    description = "Recorded as desired state; the reconciler applies it and the request waits up to 30 s for it. 400 unless the connector is STOPPED.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "Reset", body = crate::api::schemas::UpstreamMessage),
        (status = 400, response = crate::api::schemas::CompatBadRequest),
        (status = 403, response = crate::api::schemas::CompatForbidden),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 409, response = crate::api::schemas::CompatConflict),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn reset(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    modify(&state, &who, path, OffsetsRequestKind::Reset, None).await
}

/// Upstream's message (AK `Worker`) for a connector whose offsets only the
/// framework manages, as every built-in plugin's are.
fn applied_message(kind: OffsetsRequestKind) -> String {
    let what = match kind {
        OffsetsRequestKind::Reset => "reset",
        OffsetsRequestKind::Alter => "altered",
    };
    format!("The offsets for this connector have been {what} successfully")
}

async fn modify(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    kind: OffsetsRequestKind,
    offsets: Option<Vec<Value>>,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    let at = svc
        .admit(who, &env, &cluster_id, Access::Write(&name))
        .await?;
    let offsets = match kind {
        OffsetsRequestKind::Reset => Vec::new(),
        OffsetsRequestKind::Alter => offsets.filter(|o| !o.is_empty()).ok_or_else(|| {
            ApiError::bad_request(
                "Partitions / offsets need to be provided for an alter offsets request",
            )
        })?,
    };
    let (c, _) = svc
        .request_offsets(&at, &name, kind, &offsets, true)
        .await?;
    svc.await_offsets_request(&c, APPLY_TIMEOUT).await?;
    Ok(Json(json!({ "message": applied_message(kind) })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::connectors::ServiceError;

    #[test]
    fn messages_are_upstreams() {
        assert_eq!(
            applied_message(OffsetsRequestKind::Alter),
            "The offsets for this connector have been altered successfully"
        );
        assert_eq!(
            applied_message(OffsetsRequestKind::Reset),
            "The offsets for this connector have been reset successfully"
        );
        assert_eq!(
            ApiError::from(ServiceError::NotStopped("c".into())).detail,
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/c/stop' endpoint"
        );
    }
}
