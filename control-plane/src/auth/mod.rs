//! Authentication: who is calling. Tenants present an API key (HTTP Basic,
//! `key:secret`); workers present the worker token (Bearer).

pub mod api_keys;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::api::AppState;
use crate::error::ApiError;

/// The authenticated caller, placed in request extensions by [`require_api_key`].
#[derive(Debug, Clone)]
pub struct Principal {
    pub org_id: String,
    /// The service account or user the key belongs to.
    pub principal_id: String,
    pub key_id: String,
    /// Member of the operator's organization (may read fleet state).
    pub operator: bool,
}

fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (key, secret) = decoded.split_once(':')?;
    Some((key.to_string(), secret.to_string()))
}

/// Tenant authentication for every public route: 401 with Confluent's body
/// when the credential is missing or wrong.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some((key, secret)) = basic_credentials(&req) else {
        return ApiError::unauthenticated().into_response();
    };
    match state.keys.verify(&state.pool, &key, &secret).await {
        Ok(Some(principal)) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Ok(None) => ApiError::unauthenticated().into_response(),
        Err(e) => e.into_response(),
    }
}

/// Worker-protocol authentication: the shared worker token as a Bearer token.
pub async fn require_worker_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok: bool = presented
        .as_bytes()
        .ct_eq(state.worker_token.as_bytes())
        .into();
    if !ok || presented.is_empty() {
        return ApiError::unauthenticated().into_response();
    }
    next.run(req).await
}
