//! Confluent Cloud Connect v1: `/connect/v1/environments/{env}/clusters/{cluster}/…`.
//! Connectors are addressed by name within their cluster, as Confluent does.

mod connectors;
mod view;

use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::tenancy::{self, Cluster};

pub fn routes() -> Router<AppState> {
    let p = "/environments/{env}/clusters/{cluster}";
    Router::new()
        .route(
            &format!("{p}/connectors"),
            get(connectors::list).post(connectors::create),
        )
        .route(
            &format!("{p}/connectors/{{name}}"),
            get(connectors::read).delete(connectors::delete),
        )
        .route(
            &format!("{p}/connectors/{{name}}/status"),
            get(connectors::status),
        )
        .route(&format!("{p}/connector-plugins"), get(connectors::plugins))
}

/// The cluster named in the path, if the caller's organization has it in
/// that environment; anything else is a 404 that names what was not found.
async fn scoped_cluster(
    state: &AppState,
    who: &Principal,
    env: &str,
    cluster: &str,
) -> Result<Cluster, ApiError> {
    if tenancy::get_environment(&state.pool, &who.org_id, env)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!("environment {env} not found")));
    }
    tenancy::get_cluster(&state.pool, &who.org_id, env, cluster)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("cluster {cluster} not found in environment {env}"))
        })
}
