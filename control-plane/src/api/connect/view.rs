//! Connect v1 response shapes, with secrets masked in one place.

use serde_json::{json, Map, Value};
use tributary_data_plane::connectors::{self, config::password_keys};

use crate::service::connectors::Status;
use crate::store::connectors::{ConfigMap, Connector, Task};
use crate::store::tenancy::Cluster;

/// What Confluent shows in place of a secret.
pub const MASK: &str = "****************";

/// The config as users see it: secrets masked, plus the keys the service injects.
pub fn visible_config(config: &ConfigMap, class: &str, cluster: &Cluster) -> Map<String, Value> {
    let secret_keys = connectors::find(class)
        .map(|p| password_keys(&p.config_defs()))
        .unwrap_or_else(|| password_keys(&[]));
    let mut out = Map::new();
    out.insert("cloud.environment".into(), json!(cluster.environment_id));
    out.insert("cloud.provider".into(), json!("local"));
    out.insert(
        "kafka.endpoint".into(),
        json!(format!("PLAINTEXT://{}", cluster.bootstrap_endpoint)),
    );
    out.insert("kafka.region".into(), json!("local"));
    for (k, v) in config {
        let shown = if secret_keys.contains(&k.as_str()) {
            MASK
        } else {
            v.as_str()
        };
        out.insert(k.clone(), json!(shown));
    }
    out
}

pub fn connector_type(c: &Connector) -> &str {
    &c.connector_type
}

pub fn task_ids(name: &str, n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"connector": name, "task": i}))
            .collect(),
    )
}

/// `connect.v1.Connector`.
pub fn connector_json(c: &Connector, cluster: &Cluster, n_tasks: usize) -> Value {
    json!({
        "name": c.name,
        "config": visible_config(&c.config, &c.class, cluster),
        "tasks": task_ids(&c.name, n_tasks),
        "type": connector_type(c),
    })
}

/// The status object of `GET …/status` and of `?expand=status`.
pub fn status_json(c: &Connector, tasks: &[&Task]) -> Value {
    let status = Status::of(c, tasks.iter().copied());
    let task_list: Vec<Value> = tasks.iter().map(|t| task_status_json(t)).collect();
    json!({
        "name": c.name,
        "connector": { "state": status.state, "worker_id": c.name, "trace": status.trace },
        "tasks": task_list,
        "type": connector_type(c),
    })
}

/// One task's status. Confluent names the message `msg`; upstream Kafka
/// Connect names it `trace`: both are given. A pending automatic restart is
/// shown in the message.
pub fn task_status_json(t: &Task) -> Value {
    let mut msg = t.trace.clone();
    if let Some(at) = t.next_restart_at {
        if !msg.is_empty() {
            msg.push('\n');
        }
        msg.push_str(&format!(
            "automatic restart {} scheduled at {}",
            t.restart_attempts + 1,
            crate::api::v2::timestamp(&at)
        ));
    }
    json!({
        "id": t.task_id,
        "state": t.state,
        "worker_id": t.worker_id.clone().unwrap_or_default(),
        "msg": msg,
        "trace": t.trace,
    })
}
