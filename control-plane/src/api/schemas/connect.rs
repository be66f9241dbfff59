//! `/connect/v1`: connectors, their config, lifecycle, tasks, topics,
//! offsets, and the connector plugins.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{constant, ListMeta};

constant!(
    /// `connect/v1`
    ConnectV1 = "connect/v1"
);
constant!(
    /// `ConnectorList`
    ConnectorListKind = "ConnectorList"
);

/// A connector configuration: string keys to string values, as in Kafka
/// Connect. `connector.class` names the plugin; `name` is the connector's
/// name (added when missing, must match when given). Configs that are read
/// also carry the keys the service adds: `cloud.environment`,
/// `cloud.provider`, `kafka.endpoint` and `kafka.region`.
///
/// **Secrets.** Password-typed keys (such as `kafka.api.secret` or
/// `connection.password`: the plugin's definitions say which, see
/// `config/validate`) are encrypted at rest and always returned masked as
/// `****************`, never in clear. A PUT or PATCH that sends the mask
/// (any run of two or more asterisks) back for such a key keeps the stored
/// value, so a config that was read can be written back unchanged; sending
/// the mask for a key that has no stored value is a 400 naming the key.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "connector.class": "DatagenSource",
    "name": "orders-gen",
    "kafka.api.key": "ABCDEFGHIJKLMNOP",
    "kafka.api.secret": "****************",
    "kafka.topic": "orders",
    "quickstart": "ORDERS",
    "output.data.format": "JSON",
    "tasks.max": "1"
}))]
pub struct ConnectorConfig(pub BTreeMap<String, String>);

/// Keys to merge into the stored config; a key set to `null` is removed.
/// The secrets contract of [`ConnectorConfig`] applies: an echoed mask keeps
/// the stored secret.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"tasks.max": "2", "max.interval": null}))]
pub struct ConnectorConfigPatch(pub BTreeMap<String, Option<String>>);

/// Creates a connector.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "name": "orders-gen",
    "config": {
        "connector.class": "DatagenSource",
        "kafka.api.key": "ABCDEFGHIJKLMNOP",
        "kafka.api.secret": "pQ3v8sL1x9Zr0bN6tY2wK5mH7cJ4fD1gA8eR3uI6oP0lS9qW2zX5vB7nM4kT1yU3",
        "kafka.topic": "orders",
        "quickstart": "ORDERS",
        "output.data.format": "JSON",
        "tasks.max": "1"
    }
}))]
pub struct CreateConnectorRequest {
    /// 1 to 255 characters, no `/` or control characters; unique in the cluster.
    pub name: String,
    pub config: ConnectorConfig,
    /// Initial offsets: not supported yet; omit or send `[]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub offsets: Option<Vec<Value>>,
}

/// A connector.
#[derive(Serialize, ToSchema)]
pub struct Connector {
    pub name: String,
    /// Secrets masked.
    pub config: ConnectorConfig,
    /// The tasks the config splits into.
    pub tasks: Vec<ConnectorTaskId>,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub connector_type: String,
    /// In the create answer only: always `[]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub offsets: Option<Vec<Value>>,
}

/// Names one task of a connector.
#[derive(Serialize, ToSchema)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: i32,
}

/// A connector's state and its tasks' states.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "name": "orders-gen",
    "connector": {"state": crate::lifecycle::ConnectorState::Running, "worker_id": "orders-gen", "trace": ""},
    "tasks": [{"id": 0, "state": crate::lifecycle::TaskState::Running, "worker_id": "w-3f9a", "msg": "", "trace": ""}],
    "type": "source"
}))]
pub struct ConnectorStatus {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskStatus>,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// The connector's derived state.
#[derive(Serialize, ToSchema)]
pub struct ConnectorState {
    /// `PROVISIONING`, `RUNNING`, `DEGRADED`, `PAUSED`, `STOPPED`, `FAILED`
    /// (or `RESTARTING` in a restart answer).
    pub state: String,
    pub worker_id: String,
    /// The first failed task's error, or empty.
    pub trace: String,
}

/// One task's state.
#[derive(Serialize, ToSchema)]
pub struct TaskStatus {
    pub id: i32,
    /// `UNASSIGNED`, `RUNNING`, `PAUSED`, `FAILED`, `RESTARTING`, …
    pub state: String,
    /// Empty while unassigned.
    pub worker_id: String,
    /// Confluent's name for the error message; also tells a scheduled automatic restart.
    pub msg: String,
    /// Upstream Kafka Connect's name for the error.
    pub trace: String,
}

/// The list of connectors, in one of three shapes: without parameters, an
/// array of names; with `expand`, an object keyed by name; with
/// `page_size` or `page_token`, a v2 list page.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConnectorListing {
    Names(Vec<String>),
    Expanded(BTreeMap<String, ExpandedConnector>),
    Page(ConnectorPage),
}

/// A connector with the expansions asked for.
#[derive(Serialize, ToSchema)]
pub struct ExpandedConnector {
    /// `?expand=id`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ConnectorIdInfo>,
    /// `?expand=info`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<ConnectorInfo>,
    /// `?expand=status`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ConnectorStatus>,
    /// In a paginated list only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A connector's id (`lcc-…`).
#[derive(Serialize, ToSchema)]
pub struct ConnectorIdInfo {
    pub id: String,
    /// Always `ID`.
    pub id_type: String,
}

/// A connector's definition, as in `?expand=info`.
#[derive(Serialize, ToSchema)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: ConnectorConfig,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub connector_type: String,
}

/// A page of connectors (opt-in with `page_size` or `page_token`).
#[derive(Serialize, ToSchema)]
pub struct ConnectorPage {
    #[schema(inline)]
    pub api_version: ConnectV1,
    #[schema(inline)]
    pub kind: ConnectorListKind,
    pub metadata: ListMeta,
    pub data: Vec<ConnectorPageItem>,
}

/// A name, or an expanded connector with its `name`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ConnectorPageItem {
    Name(String),
    Expanded(Box<ExpandedConnector>),
}

/// The answer of a delete.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": null}))]
pub struct DeleteConnectorResponse {
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
}

/// One task's config.
#[derive(Serialize, ToSchema)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    /// Secrets masked.
    pub config: ConnectorConfig,
}

/// The topics a connector used since its creation or last reset, keyed by
/// the connector's name.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"orders-gen": {"topics": ["orders"]}}))]
pub struct ConnectorTopics(pub BTreeMap<String, TopicList>);

/// Topic names.
#[derive(Serialize, ToSchema)]
pub struct TopicList {
    pub topics: Vec<String>,
}

/// A connector's current offsets.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "lcc-m4n5b6", "name": "orders-gen",
    "offsets": [{"partition": {"task.id": 0}, "offset": {"current.iteration": 1042}}],
    "metadata": {"observed_at": "2025-01-01 12:00:00+00:00"}
}))]
pub struct ConnectorOffsets {
    /// `lcc-…`
    pub id: String,
    pub name: String,
    pub offsets: Vec<ConnectorOffset>,
    pub metadata: OffsetsMetadata,
}

/// When the offsets were read.
#[derive(Serialize, ToSchema)]
pub struct OffsetsMetadata {
    /// `YYYY-MM-DD HH:MM:SS+00:00`
    pub observed_at: String,
}

/// One partition's offset. Sources: the plugin's own partition and offset
/// objects. Sinks: `{"kafka_topic", "kafka_partition"}` and `{"kafka_offset"}`.
#[derive(Serialize, ToSchema)]
pub struct ConnectorOffset {
    #[schema(value_type = Object)]
    pub partition: Value,
    #[schema(value_type = Object)]
    pub offset: Value,
}

/// Alters (`PATCH`, with offsets) or resets (`DELETE`) a connector's
/// offsets. The reconciler stops the tasks, applies it and starts them again.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "type": "PATCH",
    "offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": 0}, "offset": {"kafka_offset": 1000}}]
}))]
pub struct OffsetsRequest {
    /// `PATCH` or `DELETE`.
    #[serde(rename = "type")]
    pub request_type: String,
    /// Required (non-empty) for `PATCH`; ignored for `DELETE`.
    pub offsets: Option<Vec<ConnectorOffset>>,
}

/// A recorded offsets request.
#[derive(Serialize, ToSchema)]
pub struct OffsetsRequestInfo {
    /// `lcc-…`
    pub id: String,
    pub name: String,
    /// `PATCH` or `DELETE`.
    #[serde(rename = "type")]
    pub request_type: String,
    pub offsets: Vec<ConnectorOffset>,
    /// `YYYY-MM-DD HH:MM:SS+00:00`
    pub requested_at: String,
}

/// Where the last offsets request stands.
#[derive(Serialize, ToSchema)]
pub struct OffsetsRequestStatus {
    pub request: OffsetsRequestInfo,
    pub status: OffsetsRequestPhase,
    /// The offsets before the request was applied.
    pub previous_offsets: Vec<ConnectorOffset>,
    /// When it was applied (`YYYY-MM-DD HH:MM:SS+00:00`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<String>,
}

/// The phase of an offsets request.
#[derive(Serialize, ToSchema)]
pub struct OffsetsRequestPhase {
    /// `PENDING`, `APPLIED` or `FAILED`.
    pub phase: String,
    /// Why it failed, or empty.
    pub message: Option<String>,
}

/// A connector plugin of the catalogue.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"class": "DatagenSource", "type": "source", "version": "0.1.0"}))]
pub struct ConnectorPlugin {
    /// The `connector.class` value.
    pub class: String,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub plugin_type: String,
    pub version: String,
}

/// Kafka Connect's validation answer: every definition with the value given
/// (secrets masked) and its errors.
#[derive(Serialize, ToSchema)]
pub struct ConfigValidation {
    /// The plugin's class.
    pub name: String,
    pub groups: Vec<String>,
    /// 0 when the config is valid.
    pub error_count: usize,
    pub configs: Vec<ConfigInfo>,
}

/// One config key: its definition and the value checked.
#[derive(Serialize, ToSchema)]
pub struct ConfigInfo {
    pub definition: ConfigKeyDefinition,
    pub value: ConfigValue,
    /// Confluent's; absent from the Kafka-Connect-compatible root.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// A config key's definition.
#[derive(Serialize, ToSchema)]
pub struct ConfigKeyDefinition {
    pub name: String,
    /// `STRING`, `INT`, `LONG`, `DOUBLE`, `BOOLEAN`, `LIST`, `CLASS` or
    /// `PASSWORD` (a secret: see the secrets contract).
    #[serde(rename = "type")]
    pub config_type: String,
    pub required: bool,
    pub default_value: String,
    /// `HIGH`, `MEDIUM` or `LOW`.
    pub importance: String,
    pub documentation: String,
    pub group: String,
    pub width: String,
    pub display_name: String,
    pub dependents: Vec<String>,
    pub order: usize,
    /// Confluent's; absent from the Kafka-Connect-compatible root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// The value given for a key, and what is wrong with it.
#[derive(Serialize, ToSchema)]
pub struct ConfigValue {
    pub name: String,
    /// The value given (secrets masked; `[hidden]` in the Kafka-Connect-compatible
    /// root) or the default; null when neither.
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// The cluster of a Connect operation.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ClusterPath {
    /// The environment, `env-…`.
    pub environment_id: String,
    /// The Kafka cluster, `lkc-…`.
    pub kafka_cluster_id: String,
}

/// The connector of a Connect operation.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectorPath {
    /// The environment, `env-…`.
    pub environment_id: String,
    /// The Kafka cluster, `lkc-…`.
    pub kafka_cluster_id: String,
    /// The connector's name (unique in its cluster).
    pub connector_name: String,
}

/// The task of a Connect operation.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The environment, `env-…`.
    pub environment_id: String,
    /// The Kafka cluster, `lkc-…`.
    pub kafka_cluster_id: String,
    /// The connector's name (unique in its cluster).
    pub connector_name: String,
    /// The task number, from 0.
    #[param(minimum = 0)]
    pub task_id: i32,
}

/// The plugin of a validation.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PluginPath {
    /// The environment, `env-…`.
    pub environment_id: String,
    /// The Kafka cluster, `lkc-…`.
    pub kafka_cluster_id: String,
    /// The plugin's class, as `connector-plugins` lists it (e.g. `DatagenSource`).
    pub plugin_name: String,
}
