//! The audit log, the operator's fleet views and the health probes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{constant, ListMeta};

constant!(
    /// `audit/v1`
    AuditV1 = "audit/v1"
);
constant!(
    /// `AuditEvent`
    AuditEventKind = "AuditEvent"
);
constant!(
    /// `AuditEventList`
    AuditEventListKind = "AuditEventList"
);
constant!(
    /// `WorkerList`
    WorkerListKind = "WorkerList"
);
constant!(
    /// `OrganizationPool`
    OrganizationPoolKind = "OrganizationPool"
);

/// One mutating call (or console sign-in): who, what, when, outcome.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "api_version": "audit/v1", "kind": "AuditEvent", "id": "1042",
    "time": "2025-01-01T12:00:00.000000Z", "principal": "User:sa-k3m9p2", "credential": "ABCDEFGHIJKLMNOP",
    "method": "POST", "path": "/org/v2/environments", "action": "POST /org/v2/environments",
    "status": 201, "outcome": "SUCCESS"
}))]
pub struct AuditEvent {
    #[schema(inline)]
    pub api_version: AuditV1,
    #[schema(inline)]
    pub kind: AuditEventKind,
    /// Increasing with time.
    pub id: String,
    pub time: DateTime<Utc>,
    /// `User:<sa-… or u-…>`
    pub principal: String,
    /// The API key id, `token` for a Bearer token, or `password` for a sign-in.
    pub credential: String,
    pub method: String,
    pub path: String,
    /// The method and the route template.
    pub action: String,
    /// The HTTP status of the answer.
    pub status: i32,
    /// `SUCCESS`, `DENIED` (401, 403, 404, 429) or `FAILURE`.
    pub outcome: String,
    /// The error's `code`, for failed calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The request's `x-request-id`, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A page of audit events, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditEventList {
    #[schema(inline)]
    pub api_version: AuditV1,
    #[schema(inline)]
    pub kind: AuditEventListKind,
    pub metadata: ListMeta,
    pub data: Vec<AuditEvent>,
}

/// The registered workers.
#[derive(Serialize, ToSchema)]
pub struct WorkerList {
    #[schema(inline)]
    pub kind: WorkerListKind,
    pub data: Vec<Worker>,
}

/// A data-plane worker with its lease.
#[derive(Serialize, ToSchema)]
pub struct Worker {
    pub id: String,
    /// Task weight the worker takes.
    pub capacity: i32,
    pub version: String,
    pub registered_at: DateTime<Utc>,
    pub last_heartbeat: DateTime<Utc>,
    /// When the worker is dead to the reconciler unless it heartbeats.
    pub lease_expires_at: DateTime<Utc>,
    /// Being emptied before scale-in.
    pub draining: bool,
    /// The worker pool it belongs to; null for the shared pool.
    pub pool: Option<String>,
    /// Tasks assigned to it.
    pub tasks: i64,
}

/// The reconciler's leader and its recent scaling decisions.
#[derive(Serialize, ToSchema)]
pub struct ReconcilerState {
    /// Null before any replica has led.
    pub leader: Option<ReconcilerLeader>,
    /// The last 20, newest first.
    pub scaling_events: Vec<ScalingEvent>,
}

/// The replica holding the reconciler's leadership.
#[derive(Serialize, ToSchema)]
pub struct ReconcilerLeader {
    /// Fences every scheduling write of older leaders.
    pub epoch: i64,
    /// `host:pid`
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
}

/// A change of the desired worker count.
#[derive(Serialize, ToSchema)]
pub struct ScalingEvent {
    pub at: DateTime<Utc>,
    pub from: i32,
    pub to: i32,
    pub reason: String,
    /// The worker pool scaled; null for the shared pool.
    pub pool: Option<String>,
}

/// Liveness or readiness.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthStatus {
    /// `ok` (`/health`), `ready` or `unavailable` (`/ready`).
    pub status: String,
    /// Why the control plane is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where an organization's tasks run.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"kind": "OrganizationPool", "id": "0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10",
                         "display_name": "acme", "dedicated_pool": "acme"}))]
pub struct OrganizationPool {
    #[schema(inline)]
    pub kind: OrganizationPoolKind,
    /// The organization's id.
    pub id: String,
    pub display_name: String,
    /// The organization's own pool; null for the shared pool.
    pub dedicated_pool: Option<String>,
}

/// Sets or clears an organization's dedicated worker pool.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"dedicated_pool": "acme"}))]
pub struct OrganizationPoolUpdate {
    /// Required: 1 to 40 lowercase letters, digits or `-`, starting and
    /// ending with a letter or digit, not `shared`; or null for the shared pool.
    pub dedicated_pool: Option<String>,
}
