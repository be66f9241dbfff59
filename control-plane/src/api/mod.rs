//! The HTTP API: routers composed per resource, sharing one [`AppState`].

pub mod audit;
pub mod cmk;
pub mod compat;
pub mod connect;
pub mod health;
pub mod iam;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod org;
pub mod schema_registry;
pub mod schemas;
pub mod store_gate;
pub mod v2;
pub mod workers;

use std::sync::Arc;
use std::time::Duration;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use sqlx::PgPool;
use tower_http::trace::TraceLayer;

use crate::auth::{self, api_keys::KeyVerifier};
use crate::error::connect_error_shape;
use crate::service::connectors::ConnectorService;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub keys: Arc<KeyVerifier>,
    /// Base URL for `self` links.
    pub public_url: Arc<str>,
    pub worker_token: Arc<str>,
    pub lease: Duration,
    pub heartbeat: Duration,
    /// Ticks whenever some worker's assignment may have changed (fed by
    /// `LISTEN tributary_assignments`); held heartbeats wait on it.
    pub assignment_changes: Arc<tokio::sync::watch::Sender<u64>>,
    /// Seals secrets at rest (cluster credentials, connector passwords).
    pub secrets: Arc<crate::secrets::SecretBox>,
    /// Rate limits, body limit, quotas, token issuers.
    pub access: Arc<auth::AccessControl>,
    /// Every connector operation, for every face of the API.
    pub connectors: Arc<ConnectorService>,
    /// Whether the store answers; routes that need it answer 503 while not.
    pub store_health: Arc<crate::store::health::StoreHealth>,
}

pub fn router(state: AppState) -> Router {
    let tenant = Router::new()
        .merge(org::routes())
        .merge(cmk::routes())
        .merge(iam::routes())
        .merge(audit::routes())
        .merge(ops::routes())
        .merge(metrics::routes())
        .nest(
            "/connect/v1",
            connect::routes().layer(from_fn(connect_error_shape)),
        )
        .merge(compat::routes())
        .layer(from_fn_with_state(state.clone(), auth::tenant_gate))
        .layer(from_fn_with_state(state.clone(), store_gate::require_store));
    let worker = workers::routes()
        .layer(from_fn_with_state(
            state.clone(),
            auth::require_worker_token,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            store_gate::require_store_for_workers,
        ));
    let store_gate = || from_fn_with_state(state.clone(), store_gate::require_store);
    Router::new()
        .merge(health::routes())
        // The OpenAPI document and the interactive docs: public, like health.
        .merge(openapi::routes())
        .merge(tenant)
        .merge(worker)
        .merge(schema_registry::router(state.clone()).layer(store_gate()))
        .merge(iam::public_routes().layer(store_gate()))
        // Bodies above TRIBUTARY_MAX_BODY_BYTES: 413 with an error body.
        .layer(from_fn_with_state(state.clone(), auth::limits::limit_body))
        // Unauthenticated 401s (and 413s) on /connect and /schema-registry are rendered in their shapes too.
        .layer(from_fn(connect_shape_for_connect_paths))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn connect_shape_for_connect_paths(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.uri().path().starts_with("/connect/") {
        connect_error_shape(req, next).await
    } else if req.uri().path().starts_with("/compat/connect/") {
        // The Kafka-Connect-compatible root: upstream's error bodies, for
        // its handlers' errors, 401s, 413s and unknown routes alike.
        crate::error::upstream_error_shape(req, next).await
    } else if req.uri().path().starts_with("/schema-registry/") {
        // Confluent's `{"error_code","message"}` for 413s and unknown
        // registry paths too, which never reach the registry's own layer.
        schema_registry::error_shape(req, next).await
    } else {
        next.run(req).await
    }
}
