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
    let mut tx = state.pool.begin().await?;
    let c = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    check_offsets(&c.connector_type, &offsets)?;
    let Some(r) = offsets::put_request(&mut tx, &c.id, &kind, &offsets).await? else {
        return Err(ApiError::conflict(format!(
            "an offsets request for connector {name} is still being applied; only one can run at a time"
        )));
    };
    notify_reconciler(&mut *tx, "offsets request").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, kind, "offsets request recorded");
    Ok((StatusCode::ACCEPTED, Json(request_info(&c, &r))).into_response())
}

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
