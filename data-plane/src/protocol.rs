//! The worker protocol: JSON bodies exchanged between data-plane workers and
//! the control plane over HTTP. Workers never see the database; this is
//! their whole view of the system.
//!
//! * `POST /internal/v1/workers/register` → [`RegisterRequest`] / [`RegisterResponse`]
//! * `POST /internal/v1/workers/{worker_id}/heartbeat` → [`HeartbeatRequest`] / [`HeartbeatResponse`]
//!
//! A heartbeat renews the worker's lease, reports its task states and returns
//! the worker's complete desired assignment (not a delta), so a lost response
//! never leaves a worker out of step. A heartbeat answered with `410 Gone`
//! means the lease lapsed: the worker must stop every task and register again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const REGISTER_PATH: &str = "/internal/v1/workers/register";

pub fn heartbeat_path(worker_id: &str) -> String {
    format!("/internal/v1/workers/{worker_id}/heartbeat")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisterRequest {
    /// Chosen by whoever started the worker (the provider passes it), so the
    /// provider can match processes to workers.
    pub worker_id: String,
    /// How many task weight units this worker accepts.
    pub capacity: u32,
    pub version: String,
    /// The worker pool this worker serves (`None`: the shared pool). Tasks
    /// of an organization with a dedicated pool go only to that pool's workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegisterResponse {
    pub worker_id: String,
    /// Lease length: a worker that has not renewed within it is dead to the reconciler.
    pub lease_ms: u64,
    /// How often to heartbeat.
    pub heartbeat_ms: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    Unassigned,
    Running,
    Paused,
    Failed,
}

impl TaskState {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskState::Unassigned => "UNASSIGNED",
            TaskState::Running => "RUNNING",
            TaskState::Paused => "PAUSED",
            TaskState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<TaskState> {
        Some(match s {
            "UNASSIGNED" => TaskState::Unassigned,
            "RUNNING" => TaskState::Running,
            "PAUSED" => TaskState::Paused,
            "FAILED" => TaskState::Failed,
            _ => return None,
        })
    }
}

/// Identifies one task of one connector.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    pub connector_id: String,
    pub task: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskReport {
    #[serde(flatten)]
    pub id: TaskId,
    /// The epoch of the assignment the task runs under; reports with a stale
    /// epoch are ignored by the control plane.
    pub epoch: i64,
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Records produced (source) or delivered (sink) since the task started.
    #[serde(default)]
    pub records: u64,
    /// Source tasks: the offsets of records Kafka has acknowledged, per
    /// source partition. Stored only while `epoch` is current (fencing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<SourceOffset>,
    /// Topics the task has written to or read from (Kafka Connect's active topics).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
}

/// Kafka Connect's source offset: an opaque partition and offset map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceOffset {
    pub partition: serde_json::Value,
    pub offset: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HeartbeatRequest {
    pub tasks: Vec<TaskReport>,
    /// Long poll: when the assignment still has this digest, the control
    /// plane holds the answer until it changes or `wait_ms` passes, so
    /// changes reach the worker at once instead of at the next beat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default)]
    pub wait_ms: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetState {
    Running,
    Paused,
}

/// How a task reaches its Kafka cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KafkaConnection {
    pub bootstrap_servers: String,
    /// Extra librdkafka client properties (security.protocol, sasl.*, …).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskAssignment {
    #[serde(flatten)]
    pub id: TaskId,
    pub connector_name: String,
    /// Fencing epoch: bumped every time the task is (re)assigned.
    pub epoch: i64,
    pub target_state: TargetState,
    /// The task's config, as split by the connector plugin (secrets in clear).
    pub config: BTreeMap<String, String>,
    pub kafka: KafkaConnection,
    /// Source connectors: the stored offsets of the whole connector; a task
    /// resumes from the ones of its partitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<SourceOffset>,
    /// The connector's environment: whose Schema Registry its converters use
    /// (through the control plane's worker-authenticated registry routes).
    #[serde(default)]
    pub environment_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeartbeatResponse {
    pub lease_ms: u64,
    pub heartbeat_ms: u64,
    /// Every task this worker should run now; tasks not listed must stop.
    pub assignments: Vec<TaskAssignment>,
    /// Digest of the assignment, to send back for a long poll (absent from
    /// control planes that do not long-poll).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// The digest of an assignment: what tasks, under which epochs, in which
/// target state and config. Offsets are left out: they change with every
/// beat and never require the worker to act.
pub fn assignment_digest(assignments: &[TaskAssignment]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for a in assignments {
        a.id.hash(&mut h);
        a.epoch.hash(&mut h);
        (a.target_state == TargetState::Running).hash(&mut h);
        a.config.hash(&mut h);
        a.kafka.bootstrap_servers.hash(&mut h);
        a.kafka.properties.hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_report_wire_shape_is_flat() {
        let r = TaskReport {
            id: TaskId {
                connector_id: "lcc-abc".into(),
                task: 2,
            },
            epoch: 7,
            state: TaskState::Running,
            trace: None,
            records: 3,
            offsets: vec![],
            topics: vec![],
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"connector_id":"lcc-abc","task":2,"epoch":7,"state":"RUNNING","records":3})
        );
    }
}
