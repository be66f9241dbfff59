//! `/compatibility…`: would a schema be accepted under a subject?

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde_json::json;

use super::openapi_types as doc;
use super::{flag, ok, parse_body, RegistryCaller, SrError, SubjectPath, VersionPath};
use crate::api::AppState;
use crate::schema_registry::compatibility;
use crate::schema_registry::references::SchemaInput;
use crate::schema_registry::subjects::VersionId;

/// `{"is_compatible": …}`, with `messages` when `verbose=true`.
async fn compatibility_answer(
    state: &AppState,
    reg: &RegistryCaller,
    subject: &str,
    version: Option<VersionId>,
    q: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Response, SrError> {
    let input: SchemaInput = parse_body(body)?;
    let verdict =
        compatibility::check(&state.pool, &reg.registry, subject, version, &input).await?;
    let mut body = json!({ "is_compatible": verdict.compatible });
    if flag(q, "verbose") {
        body["messages"] = json!(verdict.messages);
    }
    Ok(ok(body))
}

#[utoipa::path(
    post,
    path = "/schema-registry/v1/environments/{env}/compatibility/subjects/{subject}/versions/{version}",
    operation_id = "srCheckCompatibilityWithVersion",
    tag = "Schema Registry (v1)",
    summary = "Test compatibility with one version",
    description = "Whether the schema could follow this version under the subject's compatibility level; with `latest` and no versions yet, it is compatible. 404 with `error_code` 40401 (subject) or 40402 (version).",
    params(doc::VersionPath, doc::VerboseQuery),
    request_body(description = "The schema to test", content(
        (doc::RegisterSchemaRequest = "application/vnd.schemaregistry.v1+json"),
        (doc::RegisterSchemaRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The verdict", body = doc::CompatibilityCheck, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 400, response = doc::RegistryBadRequest),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn check_version(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<VersionPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SrError> {
    let v = VersionId::parse(&p.version)?;
    compatibility_answer(&state, &reg, &p.subject, Some(v), &q, &body).await
}

#[utoipa::path(
    post,
    path = "/schema-registry/v1/environments/{env}/compatibility/subjects/{subject}/versions",
    operation_id = "srCheckCompatibility",
    tag = "Schema Registry (v1)",
    summary = "Test compatibility with a subject",
    description = "Whether the schema could be registered under the subject: checked against the versions its compatibility level names (the last one, or all of them for `_TRANSITIVE` levels).",
    params(doc::SubjectPath, doc::VerboseQuery),
    request_body(description = "The schema to test", content(
        (doc::RegisterSchemaRequest = "application/vnd.schemaregistry.v1+json"),
        (doc::RegisterSchemaRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The verdict", body = doc::CompatibilityCheck, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 400, response = doc::RegistryBadRequest),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn check_all_versions(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SrError> {
    compatibility_answer(&state, &reg, &p.subject, None, &q, &body).await
}
