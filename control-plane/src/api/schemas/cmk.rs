//! `/cmk/v2/clusters`: registered Kafka clusters.

use serde::Serialize;
use utoipa::ToSchema;

use super::{constant, ListMeta, ObjectMeta, ObjectReference};

constant!(
    /// `cmk/v2`
    CmkV2 = "cmk/v2"
);
constant!(
    /// `Cluster`
    ClusterKind = "Cluster"
);
constant!(
    /// `ClusterList`
    ClusterListKind = "ClusterList"
);

/// A Kafka cluster registered with Tributary: an existing cluster's
/// bootstrap endpoint and optional SASL/TLS credentials.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "cmk/v2", "kind": "Cluster", "id": "lkc-x1y2z3",
    "metadata": {
        "self": "https://tributary.example/cmk/v2/clusters/lkc-x1y2z3",
        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/environment=env-a1b2c3/cloud-cluster=lkc-x1y2z3",
        "created_at": "2025-01-01T12:00:00.000000Z", "updated_at": "2025-01-01T12:00:00.000000Z"
    },
    "spec": {
        "display_name": "orders", "availability": "SINGLE_ZONE", "cloud": "LOCAL", "region": "local",
        "config": {"kind": "Basic"}, "kafka_bootstrap_endpoint": "broker-1:9092,broker-2:9092",
        "environment": {"id": "env-a1b2c3", "related": "https://tributary.example/org/v2/environments/env-a1b2c3",
                        "resource_name": "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/environment=env-a1b2c3"},
        "credentials": {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "username": "tributary", "has_password": true}
    },
    "status": {"phase": "PROVISIONED"}
}))]
pub struct Cluster {
    #[schema(inline)]
    pub api_version: CmkV2,
    #[schema(inline)]
    pub kind: ClusterKind,
    /// `lkc-…`
    pub id: String,
    pub metadata: ObjectMeta,
    pub spec: ClusterSpec,
    pub status: ClusterStatus,
}

/// What a registered cluster is.
#[derive(Serialize, ToSchema)]
pub struct ClusterSpec {
    pub display_name: String,
    /// Always `SINGLE_ZONE` (a registered cluster's are fixed).
    pub availability: String,
    /// Always `LOCAL`.
    pub cloud: String,
    /// Always `local`.
    pub region: String,
    pub config: ClusterConfig,
    /// `host:port[,host:port…]`.
    pub kafka_bootstrap_endpoint: String,
    pub environment: ObjectReference,
    /// How clients connect; never the password. Absent for PLAINTEXT clusters
    /// registered without credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<ClusterCredentialsView>,
}

/// The cluster's type (always `Basic`).
#[derive(Serialize, ToSchema)]
pub struct ClusterConfig {
    pub kind: String,
}

/// The connection settings of a cluster, as shown.
#[derive(Serialize, ToSchema)]
pub struct ClusterCredentialsView {
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub security_protocol: String,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512` (SASL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Whether a password is stored (it is sealed at rest and never shown).
    pub has_password: bool,
}

/// Registered clusters are always provisioned.
#[derive(Serialize, ToSchema)]
pub struct ClusterStatus {
    /// Always `PROVISIONED`.
    pub phase: String,
}

/// A page of the clusters of an environment that the caller is bound to.
#[derive(Serialize, ToSchema)]
pub struct ClusterList {
    #[schema(inline)]
    pub api_version: CmkV2,
    #[schema(inline)]
    pub kind: ClusterListKind,
    pub metadata: ListMeta,
    pub data: Vec<Cluster>,
}

/// Registers a cluster (POST) or changes one (PATCH: only the given fields change).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"spec": {
    "display_name": "orders",
    "environment": {"id": "env-a1b2c3"},
    "kafka_bootstrap_endpoint": "SASL_SSL://broker-1:9092,broker-2:9092",
    "credentials": {"sasl_mechanism": "SCRAM-SHA-512", "username": "tributary", "password": "s3cret"}
}}))]
pub struct ClusterRequest {
    pub spec: ClusterRequestSpec,
}

/// The fields of a cluster registration.
#[derive(Serialize, ToSchema)]
pub struct ClusterRequestSpec {
    /// Required to register; 1 to 64 characters.
    pub display_name: Option<String>,
    /// The environment (required, also for PATCH).
    pub environment: EnvironmentId,
    /// Required to register: `host:port[,host:port…]`, each optionally
    /// prefixed by a protocol (`SASL_SSL://…`), which then is the security
    /// protocol. Registration and endpoint or credential changes first check
    /// that the cluster answers a metadata request: when it does not, the
    /// answer is a 400 naming this field and the client's error.
    pub kafka_bootstrap_endpoint: Option<String>,
    pub credentials: Option<ClusterCredentials>,
    /// Accepted for compatibility with Confluent clients and ignored.
    #[schema(value_type = Option<Object>)]
    pub availability: Option<serde_json::Value>,
    /// Accepted for compatibility with Confluent clients and ignored.
    #[schema(value_type = Option<Object>)]
    pub cloud: Option<serde_json::Value>,
    /// Accepted for compatibility with Confluent clients and ignored.
    #[schema(value_type = Option<Object>)]
    pub region: Option<serde_json::Value>,
    /// Accepted for compatibility with Confluent clients and ignored.
    #[schema(value_type = Option<Object>)]
    pub config: Option<serde_json::Value>,
}

/// An environment named by id.
#[derive(Serialize, ToSchema)]
pub struct EnvironmentId {
    /// `env-…`
    pub id: String,
}

/// How to connect to the cluster. The password is sealed at rest and never returned.
#[derive(Serialize, ToSchema)]
pub struct ClusterCredentials {
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` (default: from the endpoint's prefix).
    pub security_protocol: Option<String>,
    /// `PLAIN` (default), `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub sasl_mechanism: Option<String>,
    /// Required for SASL.
    pub username: Option<String>,
    /// Required for SASL; write-only.
    #[schema(write_only)]
    pub password: Option<String>,
}
