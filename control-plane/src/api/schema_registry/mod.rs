//! Schema Registry: every environment has one, with the subset of
//! Confluent's Schema Registry REST API that converters and users need,
//! in Confluent's shapes (content type `application/vnd.schemaregistry.v1+json`,
//! errors `{"error_code": 40401, "message": "Subject 'x' not found."}`).
//!
//! Base path (tenants, HTTP Basic API keys or Bearer tokens like the rest of
//! the API): **`/schema-registry/v1/environments/{env}`**, so a Confluent
//! client is pointed at `https://<host>/schema-registry/v1/environments/env-…`
//! as its `schema.registry.url`. Workers reach the same handlers with the
//! worker token under `/internal/v1/schema-registry/environments/{env}`.
//!
//! | Method | Path (below the base) | |
//! | --- | --- | --- |
//! | POST | `/subjects/{subject}/versions` | register (the same schema again: its existing id) |
//! | POST | `/subjects/{subject}` | look up a schema under a subject |
//! | GET | `/subjects` | subjects (`subjectPrefix`, `deleted`) |
//! | GET | `/subjects/{subject}/versions` | version numbers (`deleted`) |
//! | GET | `/subjects/{subject}/versions/{version\|latest}[/schema]` | one version |
//! | DELETE | `/subjects/{subject}` | soft delete; `?permanent=true` after that removes it |
//! | GET | `/schemas/ids/{id}[/schema\|/versions\|/subjects]`, `/schemas/types` | schemas by id |
//! | GET, PUT | `/config`, `/config/{subject}` (+ DELETE) | compatibility level |
//! | POST | `/compatibility/subjects/{subject}/versions[/{version\|latest}]` | test compatibility (`verbose`) |
//!
//! What each operation does (compatibility levels and checks, schema
//! parsing, references, soft and permanent deletes) is the registry's
//! domain, [`crate::schema_registry`]; this module parses requests, shapes
//! answers and renders errors with Confluent's codes.
//!
//! Access: any role that sees the environment reads its registry; changes
//! (register, delete, config) need OrganizationAdmin, EnvironmentAdmin,
//! CloudClusterAdmin or ConnectManager on the environment. Another
//! tenant's environment is a 404, and every query filters on the caller's
//! organization and the environment.

// pub(crate): the OpenAPI document (`api::openapi`) names their handlers.
pub(crate) mod compatibility;
pub(crate) mod config;
mod errors;
pub mod openapi_types;
pub(crate) mod schemas;
pub(crate) mod subjects;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::AppState;
use crate::auth::authz::{self, Scope, Target};
use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::schema_registry::Registry;
use crate::store::schemas as store;

pub(crate) use errors::error_shape;
pub use errors::SrError;

/// Where tenants reach an environment's registry.
pub const PUBLIC_BASE: &str = "/schema-registry/v1/environments/{env}";
/// Where workers reach it (worker token).
pub const WORKER_BASE: &str = "/internal/v1/schema-registry/environments/{env}";
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The registry routes for tenants and for workers, each behind its own
/// authentication, with every error in the Schema Registry's shape.
pub fn router(state: AppState) -> Router<AppState> {
    let tenant = routes(PUBLIC_BASE)
        .layer(from_fn_with_state(state.clone(), tenant_registry))
        .layer(from_fn_with_state(state.clone(), auth::tenant_gate))
        .layer(from_fn(error_shape));
    let worker = routes(WORKER_BASE)
        .layer(from_fn_with_state(state.clone(), worker_registry))
        .layer(from_fn_with_state(state, auth::require_worker_token))
        .layer(from_fn(error_shape));
    tenant.merge(worker)
}

fn routes(base: &str) -> Router<AppState> {
    let p = |rest: &str| format!("{base}{rest}");
    Router::new()
        .route(&p("/subjects"), get(subjects::list_subjects))
        .route(
            &p("/subjects/{subject}"),
            post(subjects::lookup).delete(subjects::delete_subject),
        )
        .route(
            &p("/subjects/{subject}/versions"),
            get(subjects::list_versions).post(subjects::register),
        )
        .route(
            &p("/subjects/{subject}/versions/{version}"),
            get(subjects::get_version),
        )
        .route(
            &p("/subjects/{subject}/versions/{version}/schema"),
            get(subjects::get_version_schema),
        )
        .route(&p("/schemas/types"), get(schemas::schema_types))
        .route(&p("/schemas/ids/{id}"), get(schemas::get_schema))
        .route(
            &p("/schemas/ids/{id}/schema"),
            get(schemas::get_schema_text),
        )
        .route(
            &p("/schemas/ids/{id}/versions"),
            get(schemas::schema_versions),
        )
        .route(
            &p("/schemas/ids/{id}/subjects"),
            get(schemas::schema_subjects),
        )
        .route(
            &p("/config"),
            get(config::get_global_config).put(config::put_global_config),
        )
        .route(
            &p("/config/{subject}"),
            get(config::get_subject_config)
                .put(config::put_subject_config)
                .delete(config::delete_subject_config),
        )
        .route(
            &p("/compatibility/subjects/{subject}/versions"),
            post(compatibility::check_all_versions),
        )
        .route(
            &p("/compatibility/subjects/{subject}/versions/{version}"),
            post(compatibility::check_version),
        )
}

fn ok(body: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body.to_string(),
    )
        .into_response()
}

fn ok_text(text: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        text,
    )
        .into_response()
}

// ---------------------------------------------------------------- access

/// The registry a request addresses, once access to it was checked.
#[derive(Debug, Clone)]
pub struct RegistryCaller {
    pub registry: Registry,
    /// The tenant calling; `None` for a worker.
    who: Option<Principal>,
}

impl RegistryCaller {
    /// 403 unless the caller may change this registry (workers may).
    async fn authorize_write(&self, state: &AppState) -> Result<(), SrError> {
        let Some(who) = &self.who else {
            return Ok(());
        };
        let env = &self.registry.env_id;
        authz::require(
            &state.pool,
            who,
            authz::CONNECT_WRITE,
            Target::env(env),
            &format!("change the schema registry of environment {env}"),
        )
        .await
        .map_err(SrError::from)
    }
}

/// The environment segment of a registry path.
fn env_segment(path: &str, base: &str) -> Option<String> {
    let prefix = base.trim_end_matches("{env}");
    let rest = path.strip_prefix(prefix)?;
    let env = rest.split('/').next()?;
    (!env.is_empty()).then(|| env.to_string())
}

fn env_not_found(env: &str) -> Response {
    SrError::new(
        StatusCode::NOT_FOUND,
        404,
        format!("Environment {env} not found"),
    )
    .into_response()
}

/// Tenants: the environment must be visible to the caller.
async fn tenant_registry(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(env) = env_segment(req.uri().path(), PUBLIC_BASE) else {
        return env_not_found("");
    };
    let Some(who) = req.extensions().get::<Principal>().cloned() else {
        return ApiError::unauthenticated().into_response();
    };
    let visible =
        crate::store::tenancy::get_environment_scoped(&state.pool, &Scope::read(&who), &env).await;
    match visible {
        Ok(Some(e)) => {
            req.extensions_mut().insert(RegistryCaller {
                registry: Registry {
                    org_id: e.org_id,
                    env_id: env,
                },
                who: Some(who),
            });
            next.run(req).await
        }
        Ok(None) => env_not_found(&env),
        Err(e) => SrError::from(e).into_response(),
    }
}

/// Workers: any existing environment (the worker token is trusted).
async fn worker_registry(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(env) = env_segment(req.uri().path(), WORKER_BASE) else {
        return env_not_found("");
    };
    match store::environment_org(&state.pool, &env).await {
        Ok(Some(org_id)) => {
            req.extensions_mut().insert(RegistryCaller {
                registry: Registry {
                    org_id,
                    env_id: env,
                },
                who: None,
            });
            next.run(req).await
        }
        Ok(None) => env_not_found(&env),
        Err(e) => SrError::from(e).into_response(),
    }
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Deserialize)]
pub(crate) struct SubjectPath {
    subject: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VersionPath {
    subject: String,
    version: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdPath {
    id: String,
}

fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, SrError> {
    if body.is_empty() {
        return Err(SrError::bad_request("Request body is empty"));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            SrError::new(StatusCode::UNPROCESSABLE_ENTITY, 422, e.to_string())
        } else {
            SrError::bad_request(format!("Malformed JSON: {e}"))
        }
    })
}

fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_segment_of_both_bases() {
        assert_eq!(
            env_segment(
                "/schema-registry/v1/environments/env-1/subjects",
                PUBLIC_BASE
            ),
            Some("env-1".into())
        );
        assert_eq!(
            env_segment(
                "/internal/v1/schema-registry/environments/env-2/schemas/ids/1",
                WORKER_BASE
            ),
            Some("env-2".into())
        );
        assert_eq!(env_segment("/org/v2/environments", PUBLIC_BASE), None);
    }
}
