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

use super::{connector_not_found, load, scoped_cluster, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::kafka_admin;
use crate::store::connectors::{self as store, Connector};
use crate::store::notify_reconciler;
use crate::store::offsets::{self, OffsetRequest};
use crate::store::tenancy::Cluster;

type ConnectorPath = Path<(String, String, String)>;

/// Confluent's timestamp style for offsets ("2024-02-20 15:14:19+00:00").
fn offsets_time(t: &chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
}

/// The connector's current offsets in Confluent's shape.
pub async fn current_offsets(
    state: &AppState,
    cluster: &Cluster,
    c: &Connector,
) -> Result<Vec<Value>, ApiError> {
    if c.connector_type == "source" {
        return Ok(offsets::source_offsets(&state.pool, &c.id).await?);
    }
    let props = cluster.connection_properties(&state.secrets)?;
    let committed = kafka_admin::committed_offsets(
        &cluster.bootstrap_endpoint,
        &props,
        &kafka_admin::sink_group(&c.id),
        &kafka_admin::sink_topics(&c.config),
    )
    .await
    .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(committed
        .into_iter()
        .map(|o| {
            json!({
                "partition": {"kafka_partition": o.partition, "kafka_topic": o.topic},
                "offset": {"kafka_offset": o.offset},
            })
        })
        .collect())
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
    let (cluster, c, _) = load(&state, &who, &env, &cluster_id, &name).await?;
    let list = current_offsets(&state, &cluster, &c).await?;
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

/// Checks each requested offset's shape for the connector's type.
fn check_offsets(connector_type: &str, offsets: &[Value]) -> Result<(), ApiError> {
    for (i, o) in offsets.iter().enumerate() {
        let at = |what: &str| format!("offsets/{i}/{what}");
        let (Some(p), Some(off)) = (o.get("partition"), o.get("offset")) else {
            return Err(ApiError::invalid_field(
                format!("offsets/{i}"),
                "each offset needs \"partition\" and \"offset\" objects",
            ));
        };
        if !p.is_object() {
            return Err(ApiError::invalid_field(
                at("partition"),
                "partition must be an object",
            ));
        }
        if !off.is_object() {
            return Err(ApiError::invalid_field(
                at("offset"),
                "offset must be an object",
            ));
        }
        if connector_type == "sink" {
            if !p["kafka_topic"].is_string() {
                return Err(ApiError::invalid_field(
                    at("partition/kafka_topic"),
                    "kafka_topic must be a string",
                ));
            }
            if !p["kafka_partition"]
                .as_i64()
                .is_some_and(|n| (0..=i64::from(i32::MAX)).contains(&n))
            {
                return Err(ApiError::invalid_field(
                    at("partition/kafka_partition"),
                    "kafka_partition must be a non-negative integer",
                ));
            }
            if off["kafka_offset"].as_i64().is_none_or(|n| n < 0) {
                return Err(ApiError::invalid_field(
                    at("offset/kafka_offset"),
                    "kafka_offset must be a non-negative integer",
                ));
            }
        }
    }
    Ok(())
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
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let kind = req.request_type.to_ascii_uppercase();
    if kind != "PATCH" && kind != "DELETE" {
        return Err(ApiError::invalid_field(
            "type",
            format!("type must be PATCH or DELETE, not \"{}\"", req.request_type),
        ));
    }
    if kind == "PATCH" && req.offsets.is_empty() {
        return Err(ApiError::invalid_field(
            "offsets",
            "a PATCH request needs at least one offset",
        ));
    }
    let offsets = if kind == "DELETE" {
        Vec::new()
    } else {
        req.offsets
    };
    let (c, r) = record_request(&state, &who, &cluster, &name, &kind, &offsets, |_| Ok(())).await?;
    Ok((StatusCode::ACCEPTED, Json(request_info(&c, &r))).into_response())
}

/// Core of an offsets alter (`PATCH`) or reset (`DELETE`): checks the
/// offsets' shape and what `guard` asks of the connector, then records the
/// request for the reconciler, which stops the tasks, applies it and
/// starts them again. 409 while an earlier request is still pending.
pub(crate) async fn record_request(
    state: &AppState,
    who: &Principal,
    cluster: &Cluster,
    name: &str,
    kind: &str,
    offsets: &[Value],
    guard: impl FnOnce(&Connector) -> Result<(), ApiError>,
) -> Result<(Connector, OffsetRequest), ApiError> {
    let mut tx = state.pool.begin().await?;
    let c = store::lock(&mut tx, &who.org_id, &cluster.id, name)
        .await?
        .ok_or_else(|| connector_not_found(name))?;
    guard(&c)?;
    check_offsets(&c.connector_type, offsets)?;
    let Some(r) = offsets::put_request(&mut tx, &c.id, kind, offsets).await? else {
        return Err(ApiError::conflict(format!(
            "an offsets request for connector {name} is still being applied; only one can run at a time"
        )));
    };
    notify_reconciler(&mut *tx, "offsets request").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, kind, "offsets request recorded");
    Ok((c, r))
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
    let (_, c, _) = load(&state, &who, &env, &cluster_id, &name).await?;
    let r = offsets::get_request(&state.pool, &c.id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no offsets request for connector {name}")))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_offsets_need_kafka_coordinates() {
        let good = json!([{"partition": {"kafka_topic": "t", "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]);
        assert!(check_offsets("sink", good.as_array().unwrap()).is_ok());
        let bad = json!([{"partition": {"kafka_topic": "t", "kafka_partition": -1}, "offset": {"kafka_offset": 5}}]);
        let e = check_offsets("sink", bad.as_array().unwrap()).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("offsets/0/partition/kafka_partition")
        );
        let src = json!([{"partition": {"task.id": 0}, "offset": {"current.iteration": 10}}]);
        assert!(check_offsets("source", src.as_array().unwrap()).is_ok());
    }
}
