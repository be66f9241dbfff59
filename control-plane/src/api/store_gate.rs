//! The store gate: every route that needs the store answers 503 with
//! `Retry-After` at once while the store is down (see `store::health`),
//! and a request in flight when it goes down is answered then rather than
//! after the pool's 10-s acquire timeout. `/health`, `/ready` and the API
//! documents are outside the gate.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tributary_protocol::StoreUnavailable;

use super::AppState;
use crate::error::ApiError;
use crate::store::health::{StoreHealth, RETRY_AFTER_SECS};

/// The tenant, registry and public routes: the API's error shape (each
/// shape's own layer re-renders the [`ApiError`]).
pub async fn require_store(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match gated(&state.store_health, next.run(req)).await {
        Some(resp) => resp,
        None => ApiError::store_unavailable().into_response(),
    }
}

/// The worker protocol: a store outage is answered with the protocol's
/// typed [`StoreUnavailable`] body, which tells the worker to keep its tasks.
pub async fn require_store_for_workers(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let resp = gated(&state.store_health, next.run(req)).await;
    match resp {
        Some(r)
            if !r
                .extensions()
                .get::<ApiError>()
                .is_some_and(ApiError::is_store_unavailable) =>
        {
            r
        }
        _ => worker_store_unavailable(&state),
    }
}

fn worker_store_unavailable(state: &AppState) -> Response {
    let body = StoreUnavailable {
        store_unavailable: true,
        lease_ms: state.lease.as_millis() as u64,
        heartbeat_ms: state.heartbeat.as_millis() as u64,
        message: Some("the control plane's store is unavailable; keep running your tasks".into()),
    };
    let mut resp = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    resp
}

/// The handler's answer, or `None` when the store is (or goes) down first.
async fn gated(
    health: &StoreHealth,
    handler: impl std::future::Future<Output = Response>,
) -> Option<Response> {
    if !health.is_up() {
        return None;
    }
    tokio::select! {
        r = handler => Some(r),
        _ = health.down() => None,
    }
}
