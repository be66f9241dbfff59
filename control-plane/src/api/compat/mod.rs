//! The Kafka-Connect-compatible root: per cluster, at
//! `/compat/connect/environments/{env}/clusters/{cluster}`, upstream Apache
//! Kafka Connect's REST API with upstream's shapes, status codes and error
//! bodies (`{"error_code","message"}`), so that existing Kafka Connect
//! clients and tools pointed at that base URL work unchanged.
//!
//! Every operation is the connector service's ([`crate::service::connectors`]),
//! as for Connect v1: this module only adapts shapes and codes.
//! Authentication and authorization are the same as Connect v1's (the
//! tenant gate, then the service's admission to the cluster). Where
//! upstream and this service differ:
//!
//! * Writes record desired state and never answer 409 for a rebalance.
//! * Config values of password-typed keys are returned masked
//!   (`****************`; sending the mask back keeps the stored value),
//!   where upstream returns them as stored.
//! * Connector states are upstream's: PROVISIONING reads UNASSIGNED and
//!   DEGRADED reads RUNNING (the failed tasks show FAILED).
//! * Offsets are altered and reset through the reconciler; PATCH/DELETE
//!   `…/offsets` wait (up to 30 s) for the change to be applied.

// pub(crate): the OpenAPI document (`api::openapi`) names their handlers.
pub(crate) mod connectors;
pub(crate) mod offsets;
pub(crate) mod plugins;

use std::collections::BTreeMap;

use axum::routing::get;
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};

use super::AppState;
use crate::api::connect::view;
use crate::error::ApiError;
use crate::lifecycle::{ConnectorState, TargetState, TaskState};
use crate::service::connectors::Status;
use crate::store::connectors::{ConfigMap, Connector, Task};
use crate::store::tenancy::Cluster;

/// The compatible root of a cluster.
pub const ROOT: &str = "/compat/connect/environments/{env}/clusters/{cluster}";

/// The Kafka Connect REST API level this root implements (`GET /`).
pub const KAFKA_CONNECT_VERSION: &str = "3.9.0";

pub fn routes() -> Router<AppState> {
    let c = format!("{ROOT}/connectors");
    let p = format!("{ROOT}/connector-plugins");
    Router::new()
        .route(ROOT, get(connectors::server_info))
        .route(&format!("{ROOT}/"), get(connectors::server_info))
        .route(&format!("{ROOT}/health"), get(connectors::health))
        .route(&c, get(connectors::list).post(connectors::create))
        .route(
            &format!("{c}/{{name}}"),
            get(connectors::read).delete(connectors::delete),
        )
        .route(
            &format!("{c}/{{name}}/config"),
            get(connectors::read_config)
                .put(connectors::put_config)
                .patch(connectors::patch_config),
        )
        .route(&format!("{c}/{{name}}/status"), get(connectors::status))
        .route(
            &format!("{c}/{{name}}/pause"),
            axum::routing::put(connectors::pause),
        )
        .route(
            &format!("{c}/{{name}}/resume"),
            axum::routing::put(connectors::resume),
        )
        .route(
            &format!("{c}/{{name}}/stop"),
            axum::routing::put(connectors::stop),
        )
        .route(
            &format!("{c}/{{name}}/restart"),
            axum::routing::post(connectors::restart),
        )
        .route(&format!("{c}/{{name}}/tasks"), get(connectors::tasks))
        .route(
            &format!("{c}/{{name}}/tasks/{{task}}/status"),
            get(connectors::task_status),
        )
        .route(
            &format!("{c}/{{name}}/tasks/{{task}}/restart"),
            axum::routing::post(connectors::restart_task),
        )
        .route(&format!("{c}/{{name}}/topics"), get(connectors::topics))
        .route(
            &format!("{c}/{{name}}/topics/reset"),
            axum::routing::put(connectors::reset_topics),
        )
        .route(
            &format!("{c}/{{name}}/offsets"),
            get(offsets::read)
                .patch(offsets::alter)
                .delete(offsets::reset),
        )
        .route(&p, get(plugins::list))
        .route(&format!("{p}/{{plugin}}/config"), get(plugins::config_defs))
        .route(
            &format!("{p}/{{plugin}}/config/validate"),
            axum::routing::put(plugins::validate),
        )
}

type ClusterPath = axum::extract::Path<(String, String)>;
type ConnectorPath = axum::extract::Path<(String, String, String)>;

/// Characters escaped in a connector name placed in a URL path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Absolute URL of a connector under the compatible root (`Location`).
fn connector_url(state: &AppState, env: &str, cluster: &str, name: &str) -> String {
    format!(
        "{}/compat/connect/environments/{}/clusters/{}/connectors/{}",
        state.public_url,
        utf8_percent_encode(env, SEGMENT),
        utf8_percent_encode(cluster, SEGMENT),
        utf8_percent_encode(name, SEGMENT)
    )
}

/// Upstream's 400 when a config's `name` differs from the URL's.
fn name_mismatch(included: &str, url_name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Connector name configuration ({included}) doesn't match connector name in the URL ({url_name})"
    ))
}

/// A config map as upstream reads it: string values, with numbers and
/// booleans taken as their text (Jackson's coercion); `null` only where
/// `nulls` allows it (PATCH removes such keys).
fn config_values(
    raw: BTreeMap<String, Value>,
    nulls: bool,
) -> Result<BTreeMap<String, Option<String>>, ApiError> {
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        let v = match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null if nulls => None,
            other => {
                return Err(ApiError::invalid_field(
                    format!("config/{k}"),
                    format!(
                        "config values must be strings; {k} is {}",
                        match other {
                            Value::Null => "null",
                            Value::Array(_) => "an array",
                            _ => "an object",
                        }
                    ),
                ))
            }
        };
        out.insert(k, v);
    }
    Ok(out)
}

/// [`config_values`] for a full config (no `null`s).
fn full_config(raw: BTreeMap<String, Value>) -> Result<ConfigMap, ApiError> {
    Ok(config_values(raw, false)?
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect())
}

/// Upstream's connector state (its `AbstractStatus.State`, whose names our
/// task states share) for this service's derived one.
fn upstream_state(state: ConnectorState) -> &'static str {
    match state {
        ConnectorState::Running | ConnectorState::Degraded => TaskState::Running.as_str(),
        ConnectorState::Paused => TaskState::Paused.as_str(),
        ConnectorState::Stopped => TargetState::Stopped.as_str(),
        ConnectorState::Failed => TaskState::Failed.as_str(),
        ConnectorState::Provisioning => TaskState::Unassigned.as_str(),
    }
}

/// Upstream's `TaskState`: `{id, state, worker_id, trace?}` (trace only
/// when non-empty). Task states already use upstream's names.
fn task_state_json(t: &Task) -> Value {
    let mut v = json!({
        "id": t.task_id,
        "state": t.state,
        "worker_id": t.worker_id.clone().unwrap_or_default(),
    });
    if !t.trace.is_empty() {
        v["trace"] = json!(t.trace);
    }
    v
}

/// Upstream's `ConnectorStateInfo`: `{name, connector: {state, worker_id,
/// trace?}, tasks: [TaskState], type}`.
fn status_json(c: &Connector, tasks: &[Task]) -> Value {
    let status = Status::of(c, tasks);
    let worker = tasks
        .iter()
        .find_map(|t| t.worker_id.clone())
        .unwrap_or_default();
    let mut connector = json!({"state": upstream_state(status.state), "worker_id": worker});
    if status.state == ConnectorState::Failed && !status.trace.is_empty() {
        connector["trace"] = json!(status.trace);
    }
    // Upstream shows no tasks for a stopped connector.
    let list: Vec<Value> = if status.state == ConnectorState::Stopped {
        Vec::new()
    } else {
        tasks.iter().map(task_state_json).collect()
    };
    json!({
        "name": c.name,
        "connector": connector,
        "tasks": list,
        "type": view::connector_type(c),
    })
}

/// Upstream's `ConnectorInfo`: `{name, config, tasks, type}`.
fn info_json(c: &Connector, cluster: &Cluster, n_tasks: usize) -> Value {
    view::connector_json(c, cluster, n_tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_as_upstream_ones() {
        assert_eq!(upstream_state(ConnectorState::Provisioning), "UNASSIGNED");
        assert_eq!(upstream_state(ConnectorState::Degraded), "RUNNING");
        for s in [
            ConnectorState::Running,
            ConnectorState::Paused,
            ConnectorState::Stopped,
            ConnectorState::Failed,
        ] {
            assert_eq!(upstream_state(s), s.as_str());
        }
        // Task states are upstream's names.
        assert_eq!(
            serde_json::to_value(TaskState::Restarting).unwrap(),
            "RESTARTING"
        );
    }

    #[test]
    fn config_values_coerce_scalars_like_jackson() {
        let raw: BTreeMap<String, Value> = serde_json::from_value(json!({
            "tasks.max": 2, "flag": true, "s": "x", "gone": null
        }))
        .unwrap();
        let v = config_values(raw.clone(), true).unwrap();
        assert_eq!(v["tasks.max"].as_deref(), Some("2"));
        assert_eq!(v["flag"].as_deref(), Some("true"));
        assert_eq!(v["gone"], None);
        let e = config_values(raw, false).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("config/gone"));
        let nested: BTreeMap<String, Value> =
            serde_json::from_value(json!({"a": {"b": 1}})).unwrap();
        assert!(full_config(nested).is_err());
    }
}
