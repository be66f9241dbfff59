//! The worker protocol: JSON bodies exchanged between data-plane workers and
//! the control plane over HTTP. Workers never see the database; this is
//! their whole view of the system. Both binaries depend on this crate, so
//! the wire format is defined, and versioned, in one place.
//!
//! * `POST /internal/v1/workers/register` → [`RegisterRequest`] / [`RegisterResponse`]
//! * `POST /internal/v1/workers/{worker_id}/heartbeat` → [`HeartbeatRequest`] / [`HeartbeatResponse`]
//!
//! A heartbeat renews the worker's lease, reports its task states and returns
//! the worker's complete desired assignment (not a delta), so a lost response
//! never leaves a worker out of step. A heartbeat answered with `410 Gone`
//! means the lease lapsed: the worker must stop every task and register again.
//!
//! Protocol revision 2 (store outages): a heartbeat may be answered
//! `503 Service Unavailable` with a [`StoreUnavailable`] body
//! (`{"store_unavailable": true, …}`) and a `Retry-After` header: the control
//! plane is reachable but its store is not, so nothing can be reassigned.
//! The worker keeps running what it runs past its lease, moving its fencing
//! deadline on by the time such answers keep coming, and keeps its source
//! offsets (one committable offset per source partition, the latest, so the
//! backlog is bounded by the partitions a task reads) until a heartbeat
//! succeeds and carries them. When the store returns, the control plane
//! credits the outage to every lease that was live when it began, so the
//! worker is not declared dead. A worker that gets no answer at all, or any
//! other error, fences itself as before. Revision-1 workers treat the 503 as
//! a failed heartbeat and fence themselves, which stays safe.

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

/// The state of one task (Kafka Connect's `AbstractStatus.State`): what runs,
/// as workers report it and the status API shows it. The legal moves
/// between states are listed once, in the control plane's lifecycle module.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")
)]
pub enum TaskState {
    /// Not placed on a worker yet, or placed and not started yet.
    Unassigned,
    Running,
    Paused,
    Failed,
    /// Restarted on its worker (by a user or the automatic restart) under a
    /// new epoch, until the worker reports it again. Set by the control
    /// plane only; workers never report it.
    Restarting,
}

impl TaskState {
    pub const ALL: [TaskState; 5] = [
        TaskState::Unassigned,
        TaskState::Running,
        TaskState::Paused,
        TaskState::Failed,
        TaskState::Restarting,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TaskState::Unassigned => "UNASSIGNED",
            TaskState::Running => "RUNNING",
            TaskState::Paused => "PAUSED",
            TaskState::Failed => "FAILED",
            TaskState::Restarting => "RESTARTING",
        }
    }

    pub fn parse(s: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

/// What the user wants a connector and its tasks to do (Kafka Connect's
/// `TargetState`), kept apart from [`TaskState`], what actually runs.
/// Workers are sent RUNNING or PAUSED: a STOPPED connector has no tasks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")
)]
pub enum TargetState {
    Running,
    Paused,
    /// Tasks shut down and release their resources; offsets can be changed.
    Stopped,
}

impl TargetState {
    pub const ALL: [TargetState; 3] = [
        TargetState::Running,
        TargetState::Paused,
        TargetState::Stopped,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TargetState::Running => "RUNNING",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<TargetState> {
        TargetState::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for TargetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// The body of a `503` heartbeat answer while the control plane's store is
/// down (protocol revision 2, see the crate docs). It extends the API's
/// error shape, so generic clients still read an error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoreUnavailable {
    /// Always true; what tells this answer from any other 503.
    pub store_unavailable: bool,
    pub lease_ms: u64,
    pub heartbeat_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
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

    #[test]
    fn store_unavailable_wire_shape() {
        let b = StoreUnavailable {
            store_unavailable: true,
            lease_ms: 3000,
            heartbeat_ms: 500,
            message: None,
        };
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::json!({"store_unavailable": true, "lease_ms": 3000, "heartbeat_ms": 500})
        );
    }

    #[test]
    fn states_spell_as_on_the_wire() {
        for s in TaskState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
        }
        for s in TargetState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(TargetState::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskState::parse("running"), None);
    }
}
