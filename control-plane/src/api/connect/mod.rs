//! Confluent Cloud Connect v1: `/connect/v1/environments/{env}/clusters/{cluster}/…`.
//! Connectors are addressed by name within their cluster, as Confluent does.
//! Upstream Kafka Connect's extras (stop, per-task restart, task status,
//! PATCH config) live under the same prefix.

// The handlers of this face adapt shapes and codes around core operations
// (write a config, set the target state, restart, load a connector with its
// tasks, …) that the Kafka-Connect-compatible face (`api::compat`) calls too.
pub(crate) mod config;
pub(crate) mod connectors;
mod idempotency;
pub(crate) mod lifecycle;
pub(crate) mod offsets;
pub(crate) mod plugins;
mod precondition;
pub(crate) mod tasks;
pub(crate) mod view;

use axum::routing::{get, post, put};
use axum::Router;

use super::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::connectors::{self as store, Connector, Task};
use crate::store::tenancy::Cluster;

pub use connectors::check_config;

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

/// The cluster named in the path, if the caller may act on it as this
/// request asks (the one authorization gate of the Connect API, see
/// [`crate::auth::authz::connect_cluster`]): invisible environments,
/// clusters and connectors are 404s that name what was not found; a write
/// without a role that allows it is 403; a new connector over quota is 402.
pub(crate) async fn scoped_cluster(
    state: &AppState,
    who: &Principal,
    env: &str,
    cluster: &str,
) -> Result<Cluster, ApiError> {
    crate::auth::authz::connect_cluster(state, who, env, cluster).await
}

pub(crate) fn connector_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Connector {name} not found"))
}

/// A connector with its cluster and tasks, for reads.
pub(crate) async fn load(
    state: &AppState,
    who: &Principal,
    env: &str,
    cluster_id: &str,
    name: &str,
) -> Result<(Cluster, Connector, Vec<Task>), ApiError> {
    let cluster = scoped_cluster(state, who, env, cluster_id).await?;
    let c = store::get(&state.pool, &who.org_id, &cluster.id, name)
        .await?
        .ok_or_else(|| connector_not_found(name))?;
    let tasks = store::tasks_of(&state.pool, std::slice::from_ref(&c.id)).await?;
    Ok((cluster, c, tasks))
}
