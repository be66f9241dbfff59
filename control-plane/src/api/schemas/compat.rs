//! The Kafka-Connect-compatible root
//! (`/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}`):
//! upstream Apache Kafka Connect's REST shapes. Shapes it shares with
//! Connect v1 (`ConnectorInfo`, `TaskInfo`, `ConnectorTopics`,
//! `ConnectorPlugin`, `ConfigValidation`) are documented there.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::{IntoResponses, ToResponse, ToSchema};

use super::{ConnectorInfo, ConnectorOffset};

/// Upstream Kafka Connect's error body.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error_code": 404, "message": "Connector orders-gen not found"}))]
pub struct UpstreamError {
    /// The HTTP status.
    pub error_code: u16,
    pub message: String,
}

/// The request is malformed or the config invalid.
#[derive(ToResponse)]
pub struct CompatBadRequest(pub UpstreamError);

/// No valid credentials.
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tributary\"`")))]
pub struct CompatUnauthorized(pub UpstreamError);

/// The caller may see the cluster but lacks a role that allows the action.
#[derive(ToResponse)]
pub struct CompatForbidden(pub UpstreamError);

/// The environment, cluster, connector, task or plugin does not exist, or
/// belongs to another tenant, or the caller may not see it: the same answer
/// in each case.
#[derive(ToResponse)]
pub struct CompatNotFound(pub UpstreamError);

/// A connector with this name already exists, or an offsets request is
/// still being applied.
#[derive(ToResponse)]
pub struct CompatConflict(pub UpstreamError);

/// The organization's connector or task quota is reached.
#[derive(ToResponse)]
pub struct CompatQuotaExceeded(pub UpstreamError);

/// `If-Match` does not match the connector's current version.
#[derive(ToResponse)]
pub struct CompatPreconditionFailed(pub UpstreamError);

/// The request body is too large.
#[derive(ToResponse)]
pub struct CompatPayloadTooLarge(pub UpstreamError);

/// Rate limited, per API key or token.
#[derive(ToResponse)]
#[response(headers(
    ("Retry-After" = u64, description = "Seconds to wait before retrying"),
    ("X-RateLimit-Limit" = u64, description = "Requests allowed per window"),
    ("X-RateLimit-Remaining" = u64, description = "Requests left in this window"),
    ("X-RateLimit-Reset" = u64, description = "Seconds until the window resets")
))]
pub struct CompatTooManyRequests(pub UpstreamError);

/// The Kafka cluster did not answer (reading sink offsets).
#[derive(ToResponse)]
pub struct CompatUnavailable(pub UpstreamError);

/// An internal failure, or an offsets request that failed or was not
/// applied within 30 s (`Request timed out`; it is still applied later).
#[derive(ToResponse)]
pub struct CompatInternalError(pub UpstreamError);

/// The errors every Kafka-Connect-compatible operation may answer.
#[derive(IntoResponses)]
pub enum CompatCommonErrors {
    #[response(status = 401)]
    Unauthorized(#[ref_response] CompatUnauthorized),
    #[response(status = 429)]
    TooManyRequests(#[ref_response] CompatTooManyRequests),
    #[response(status = 500)]
    InternalError(#[ref_response] CompatInternalError),
}

/// Upstream's `ServerInfo`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"version": "3.9.0", "commit": "tributary-0.1.0", "kafka_cluster_id": "lkc-x1y2z3"}))]
pub struct ServerInfo {
    /// The Kafka Connect REST API level implemented.
    pub version: String,
    pub commit: String,
    /// The cluster's id, `lkc-…`.
    pub kafka_cluster_id: String,
}

/// Upstream's worker health (KIP-1017).
#[derive(Serialize, ToSchema)]
pub struct WorkerHealth {
    /// Always `healthy`.
    pub status: String,
    pub message: String,
}

/// A config value as upstream reads it: strings, and numbers or booleans
/// taken as their text.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UpstreamConfigValue {
    String(String),
    Number(f64),
    Boolean(bool),
}

/// A connector config as upstream accepts it. Password-typed values are
/// returned masked (`****************`) and sending the mask back keeps the
/// stored value, where upstream returns them as stored.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"connector.class": "DatagenSource", "kafka.topic": "orders", "quickstart": "ORDERS", "tasks.max": 1}))]
pub struct UpstreamConfig(pub BTreeMap<String, UpstreamConfigValue>);

/// Keys to merge (KIP-477); `null` removes a key. Numbers and booleans are
/// accepted as their text, like in [`UpstreamConfig`].
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"tasks.max": "2", "max.interval": null}))]
pub struct UpstreamConfigPatch(pub BTreeMap<String, Option<String>>);

/// Upstream's `CreateConnectorRequest`.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"name": "orders-gen", "config": {"connector.class": "DatagenSource", "kafka.topic": "orders", "quickstart": "ORDERS"}}))]
pub struct UpstreamCreateConnectorRequest {
    /// Trimmed; unique in the cluster.
    pub name: String,
    pub config: UpstreamConfig,
    /// `RUNNING` (default), `PAUSED` or `STOPPED` (KIP-980).
    pub initial_state: Option<String>,
}

/// Upstream's `ConnectorStateInfo`. States are upstream's: PROVISIONING
/// reads UNASSIGNED and DEGRADED reads RUNNING; a stopped connector shows no tasks.
#[derive(Serialize, ToSchema)]
pub struct UpstreamConnectorStatus {
    pub name: String,
    pub connector: UpstreamConnectorState,
    pub tasks: Vec<UpstreamTaskState>,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// The connector's state.
#[derive(Serialize, ToSchema)]
pub struct UpstreamConnectorState {
    /// `UNASSIGNED`, `RUNNING`, `PAUSED`, `STOPPED`, `FAILED` or `RESTARTING`.
    pub state: String,
    pub worker_id: String,
    /// When FAILED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// Upstream's `TaskState`.
#[derive(Serialize, ToSchema)]
pub struct UpstreamTaskState {
    pub id: i32,
    /// `UNASSIGNED`, `RUNNING`, `PAUSED`, `FAILED` or `RESTARTING`.
    pub state: String,
    pub worker_id: String,
    /// The error, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// The connectors: names, or with `expand`, an object keyed by name.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UpstreamConnectorListing {
    Names(Vec<String>),
    Expanded(BTreeMap<String, UpstreamExpandedConnector>),
}

/// A connector with the expansions asked for.
#[derive(Serialize, ToSchema)]
pub struct UpstreamExpandedConnector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UpstreamConnectorStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<ConnectorInfo>,
}

/// A connector's offsets (KIP-875).
#[derive(Serialize, ToSchema)]
pub struct UpstreamOffsets {
    pub offsets: Vec<ConnectorOffset>,
}

/// What an offsets change did.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"message": "The offsets for this connector have been altered successfully"}))]
pub struct UpstreamMessage {
    pub message: String,
}

/// Alters a stopped connector's offsets (KIP-875).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": 0}, "offset": {"kafka_offset": 1000}}]}))]
pub struct UpstreamOffsetsRequest {
    /// Required, non-empty.
    pub offsets: Vec<ConnectorOffset>,
}
