//! `GET|PATCH|DELETE /connectors/{name}/offsets` (KIP-875). An alter or
//! reset is recorded as desired state through the Connect v1 face's core
//! operation; the reconciler applies it, and the request waits (up to
//! [`APPLY_TIMEOUT`]) to answer with upstream's message.

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AppState, ConnectorPath};
use crate::api::connect::{self, offsets as core};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::connectors::Connector;
use crate::store::offsets;

/// How long an alter or reset request waits for the reconciler to apply it.
pub const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

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
    let (cluster, c, _) = connect::load(&state, &who, &env, &cluster_id, &name).await?;
    let list = core::current_offsets(&state, &cluster, &c).await?;
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
    modify(&state, &who, path, "PATCH", req.offsets).await
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
    modify(&state, &who, path, "DELETE", None).await
}

/// Upstream's 400 for offsets of a connector that is not stopped.
fn not_stopped(name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    ))
}

/// Upstream's message (AK `Worker`) for a connector whose offsets only the
/// framework manages, as every built-in plugin's are.
fn applied_message(kind: &str) -> String {
    let what = if kind == "DELETE" { "reset" } else { "altered" };
    format!("The offsets for this connector have been {what} successfully")
}

async fn modify(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    kind: &str,
    offsets: Option<Vec<Value>>,
) -> Result<Json<Value>, ApiError> {
    let cluster = connect::scoped_cluster(state, who, &env, &cluster_id).await?;
    let offsets = match kind {
        "DELETE" => Vec::new(),
        _ => offsets.filter(|o| !o.is_empty()).ok_or_else(|| {
            ApiError::bad_request(
                "Partitions / offsets need to be provided for an alter offsets request",
            )
        })?,
    };
    let (c, _) = core::record_request(
        state,
        who,
        &cluster,
        &name,
        kind,
        &offsets,
        |c: &Connector| {
            if c.target_state.as_str() == "STOPPED" {
                Ok(())
            } else {
                Err(not_stopped(&c.name))
            }
        },
    )
    .await?;
    let deadline = Instant::now() + APPLY_TIMEOUT;
    loop {
        let r = offsets::get_request(&state.pool, &c.id)
            .await?
            .ok_or_else(|| connect::connector_not_found(&name))?;
        match r.phase.as_str() {
            "APPLIED" => return Ok(Json(json!({ "message": applied_message(kind) }))),
            "FAILED" => {
                return Err(ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "offsets_request_failed",
                    title: "Internal Server Error",
                    detail: r.message,
                    field: None,
                })
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            // Upstream's timeout answer; the request is still applied later.
            return Err(ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "request_timed_out",
                title: "Internal Server Error",
                detail: "Request timed out".into(),
                field: None,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_upstreams() {
        assert_eq!(
            applied_message("PATCH"),
            "The offsets for this connector have been altered successfully"
        );
        assert_eq!(
            applied_message("DELETE"),
            "The offsets for this connector have been reset successfully"
        );
        assert_eq!(
            not_stopped("c").detail,
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/c/stop' endpoint"
        );
    }
}
