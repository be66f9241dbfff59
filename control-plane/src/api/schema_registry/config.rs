//! `/config…`: compatibility levels of the registry and of subjects.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde_json::json;

use super::openapi_types as doc;
use super::{flag, ok, parse_body, RegistryCaller, SrError, SubjectPath};
use crate::api::AppState;
use serde::Deserialize;

use crate::schema_registry::{check_subject, config};

#[derive(Debug, Deserialize)]
struct ConfigRequest {
    #[serde(default)]
    compatibility: Option<String>,
}

/// Sets the level of `subject` (`""`: the registry's) from a config
/// request body.
async fn set_level(
    state: &AppState,
    reg: &RegistryCaller,
    subject: &str,
    body: &Bytes,
) -> Result<Response, SrError> {
    reg.authorize_write(state).await?;
    let req: ConfigRequest = parse_body(body)?;
    let level = config::set_level(
        &state.pool,
        &reg.registry,
        subject,
        req.compatibility.as_deref(),
    )
    .await?;
    Ok(ok(json!({ "compatibility": level })))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/config",
    operation_id = "srGetConfig",
    tag = "Schema Registry (v1)",
    summary = "Get the environment's compatibility level",
    description = "The level of subjects without their own; BACKWARD unless set.",
    params(doc::RegistryPath),
    responses(
        (status = 200, description = "The level", body = doc::CompatibilityConfig, content_type = "application/vnd.schemaregistry.v1+json"),
        doc::RegistryCommonErrors,
    )
)]
pub async fn get_global_config(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
) -> Result<Response, SrError> {
    let level = config::registry_level(&state.pool, &reg.registry).await?;
    Ok(ok(json!({ "compatibilityLevel": level })))
}

#[utoipa::path(
    put,
    path = "/schema-registry/v1/environments/{env}/config",
    operation_id = "srUpdateConfig",
    tag = "Schema Registry (v1)",
    summary = "Set the environment's compatibility level",
    description = "Needs OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or ConnectManager on the environment. 422 with `error_code` 42203 for an unknown level.",
    params(doc::RegistryPath),
    request_body(description = "The level", content(
        (doc::CompatibilityUpdate = "application/vnd.schemaregistry.v1+json"),
        (doc::CompatibilityUpdate = "application/json"),
    )),
    responses(
        (status = 200, description = "The level set", body = doc::CompatibilityUpdated, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 400, response = doc::RegistryBadRequest),
        (status = 403, response = doc::RegistryForbidden),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn put_global_config(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    body: Bytes,
) -> Result<Response, SrError> {
    set_level(&state, &reg, "", &body).await
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/config/{subject}",
    operation_id = "srGetSubjectConfig",
    tag = "Schema Registry (v1)",
    summary = "Get a subject's compatibility level",
    description = "The subject's own level; 404 with `error_code` 40408 when it has none, unless `defaultToGlobal=true`.",
    params(doc::SubjectPath, doc::DefaultToGlobalQuery),
    responses(
        (status = 200, description = "The level", body = doc::CompatibilityConfig, content_type = "application/vnd.schemaregistry.v1+json"),
        doc::RegistryCommonErrors,
    )
)]
pub async fn get_subject_config(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let default_to_registry = flag(&q, "defaultToGlobal");
    let level =
        config::subject_level(&state.pool, &reg.registry, &p.subject, default_to_registry).await?;
    Ok(ok(json!({ "compatibilityLevel": level })))
}

#[utoipa::path(
    put,
    path = "/schema-registry/v1/environments/{env}/config/{subject}",
    operation_id = "srUpdateSubjectConfig",
    tag = "Schema Registry (v1)",
    summary = "Set a subject's compatibility level",
    description = "Overrides the environment's level for this subject (which need not exist yet). Needs OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or ConnectManager on the environment.",
    params(doc::SubjectPath),
    request_body(description = "The level", content(
        (doc::CompatibilityUpdate = "application/vnd.schemaregistry.v1+json"),
        (doc::CompatibilityUpdate = "application/json"),
    )),
    responses(
        (status = 200, description = "The level set", body = doc::CompatibilityUpdated, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 400, response = doc::RegistryBadRequest),
        (status = 403, response = doc::RegistryForbidden),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn put_subject_config(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    body: Bytes,
) -> Result<Response, SrError> {
    check_subject(&p.subject)?;
    set_level(&state, &reg, &p.subject, &body).await
}

#[utoipa::path(
    delete,
    path = "/schema-registry/v1/environments/{env}/config/{subject}",
    operation_id = "srDeleteSubjectConfig",
    tag = "Schema Registry (v1)",
    summary = "Remove a subject's compatibility level",
    description = "The subject follows the environment's level again. 404 with `error_code` 40401 when it had no level of its own. Needs OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or ConnectManager on the environment.",
    params(doc::SubjectPath),
    responses(
        (status = 200, description = "The level removed", body = doc::CompatibilityConfig, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 403, response = doc::RegistryForbidden),
        doc::RegistryCommonErrors,
    )
)]
pub async fn delete_subject_config(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
) -> Result<Response, SrError> {
    reg.authorize_write(&state).await?;
    let old = config::delete_subject_level(&state.pool, &reg.registry, &p.subject).await?;
    Ok(ok(json!({ "compatibilityLevel": old })))
}
