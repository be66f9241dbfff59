//! Confluent Cloud Connect v1: `/connect/v1/environments/{env}/clusters/{cluster}/…`.
//! Connectors are addressed by name within their cluster, as Confluent does.
//! Upstream Kafka Connect's extras (stop, per-task restart, task status,
//! PATCH config) live under the same prefix.

// The handlers of this face parse requests and shape answers around the
// connector service's operations (`crate::service::connectors`), which the
// Kafka-Connect-compatible face (`api::compat`) calls too.
pub(crate) mod config;
pub(crate) mod connectors;
pub(crate) mod lifecycle;
pub(crate) mod offsets;
pub(crate) mod plugins;
mod precondition;
pub(crate) mod tasks;
pub(crate) mod view;

use axum::routing::{get, post, put};
use axum::Router;

use super::AppState;

pub(crate) use precondition::{etag_header, if_match};

pub fn routes() -> Router<AppState> {
    let c = "/environments/{env}/clusters/{cluster}/connectors";
    let p = "/environments/{env}/clusters/{cluster}/connector-plugins";
    Router::new()
        .route(c, get(connectors::list).post(connectors::create))
        .route(
            &format!("{c}/{{name}}"),
            get(connectors::read).delete(connectors::delete),
        )
        .route(
            &format!("{c}/{{name}}/config"),
            get(config::read).put(config::put).patch(config::patch),
        )
        .route(&format!("{c}/{{name}}/status"), get(connectors::status))
        .route(&format!("{c}/{{name}}/pause"), put(lifecycle::pause))
        .route(&format!("{c}/{{name}}/resume"), put(lifecycle::resume))
        .route(&format!("{c}/{{name}}/stop"), put(lifecycle::stop))
        .route(&format!("{c}/{{name}}/restart"), post(lifecycle::restart))
        .route(&format!("{c}/{{name}}/tasks"), get(tasks::list))
        .route(&format!("{c}/{{name}}/topics"), get(tasks::topics))
        .route(
            &format!("{c}/{{name}}/topics/reset"),
            put(tasks::reset_topics),
        )
        .route(
            &format!("{c}/{{name}}/tasks/{{task}}/status"),
            get(tasks::status),
        )
        .route(
            &format!("{c}/{{name}}/tasks/{{task}}/restart"),
            post(tasks::restart),
        )
        .route(&format!("{c}/{{name}}/offsets"), get(offsets::read))
        .route(
            &format!("{c}/{{name}}/offsets/request"),
            post(offsets::request),
        )
        .route(
            &format!("{c}/{{name}}/offsets/request/status"),
            get(offsets::request_status),
        )
        .route(p, get(plugins::list))
        .route(
            &format!("{p}/{{plugin}}/config/validate"),
            put(plugins::validate),
        )
}
