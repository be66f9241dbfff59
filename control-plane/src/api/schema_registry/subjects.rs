//! `/subjects…`: register, look up, list, read and delete subject versions.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use super::openapi_types as doc;
use super::{flag, ok, ok_text, parse_body, RegistryCaller, SrError, SubjectPath, VersionPath};
use crate::api::AppState;
use crate::schema_registry::check_subject;
use crate::schema_registry::references::SchemaInput;
use crate::schema_registry::subjects::{self, VersionId};
use crate::store::schemas::SubjectVersion;

pub(super) fn schema_type_field(body: &mut Value, schema_type: &str) {
    if schema_type != "AVRO" {
        body["schemaType"] = json!(schema_type);
    }
}

pub(super) fn references_field(body: &mut Value, refs: &Value) {
    if refs.as_array().is_some_and(|a| !a.is_empty()) {
        body["references"] = refs.clone();
    }
}

fn version_body(v: &SubjectVersion) -> Value {
    let mut body = json!({
        "subject": v.subject,
        "version": v.version,
        "id": v.id,
    });
    schema_type_field(&mut body, &v.schema_type);
    references_field(&mut body, &v.refs.0);
    body["schema"] = json!(v.schema_text);
    body
}

#[utoipa::path(
    post,
    path = "/schema-registry/v1/environments/{env}/subjects/{subject}/versions",
    operation_id = "srRegisterSchema",
    tag = "Schema Registry (v1)",
    summary = "Register a schema under a subject",
    description = "Adds the schema as the subject's next version when it is compatible with the subject's earlier versions under the subject's compatibility level (else the environment's, else BACKWARD). The same schema registered again answers its existing id and adds no version; a schema already registered under another subject of the environment keeps its id. Needs OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or ConnectManager on the environment.",
    params(doc::SubjectPath),
    request_body(description = "The schema, its type and references", content(
        (doc::RegisterSchemaRequest = "application/vnd.schemaregistry.v1+json"),
        (doc::RegisterSchemaRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The schema's id", body = doc::RegisterSchemaResponse, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 400, response = doc::RegistryBadRequest),
        (status = 403, response = doc::RegistryForbidden),
        (status = 409, response = doc::RegistryConflict),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    body: Bytes,
) -> Result<Response, SrError> {
    check_subject(&p.subject)?;
    reg.authorize_write(&state).await?;
    let input: SchemaInput = parse_body(&body)?;
    let id = subjects::register(&state.pool, &reg.registry, &p.subject, &input).await?;
    Ok(ok(json!({ "id": id })))
}

#[utoipa::path(
    post,
    path = "/schema-registry/v1/environments/{env}/subjects/{subject}",
    operation_id = "srLookUpSchema",
    tag = "Schema Registry (v1)",
    summary = "Look up a schema under a subject",
    description = "The latest version of the subject that holds this schema (the same type and normalized text). 404 with `error_code` 40401 when the subject does not exist, 40403 when the schema is not registered under it.",
    params(doc::SubjectPath, doc::DeletedQuery),
    request_body(description = "The schema to look for", content(
        (doc::RegisterSchemaRequest = "application/vnd.schemaregistry.v1+json"),
        (doc::RegisterSchemaRequest = "application/json"),
    )),
    responses(
        (status = 200, description = "The version holding the schema", body = doc::RegistrySchema, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 400, response = doc::RegistryBadRequest),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn lookup(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SrError> {
    let input: SchemaInput = parse_body(&body)?;
    let deleted = flag(&q, "deleted");
    let v = subjects::lookup(&state.pool, &reg.registry, &p.subject, &input, deleted).await?;
    Ok(ok(version_body(&v)))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/subjects",
    operation_id = "srListSubjects",
    tag = "Schema Registry (v1)",
    summary = "List subjects",
    description = "The environment's subjects, sorted.",
    params(doc::RegistryPath, doc::SubjectsQuery),
    responses(
        (status = 200, description = "Subject names", body = [String], content_type = "application/vnd.schemaregistry.v1+json", example = json!(["orders-key", "orders-value"])),
        doc::RegistryCommonErrors,
    )
)]
pub async fn list_subjects(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let prefix = q.get("subjectPrefix").map(String::as_str).unwrap_or("");
    let deleted = flag(&q, "deleted");
    let list = subjects::subjects(&state.pool, &reg.registry, prefix, deleted).await?;
    Ok(ok(json!(list)))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/subjects/{subject}/versions",
    operation_id = "srListVersions",
    tag = "Schema Registry (v1)",
    summary = "List a subject's versions",
    description = "The subject's version numbers, ascending; 404 with `error_code` 40401 when it has none.",
    params(doc::SubjectPath, doc::DeletedQuery),
    responses(
        (status = 200, description = "Version numbers", body = [i32], content_type = "application/vnd.schemaregistry.v1+json", example = json!([1, 2, 3])),
        doc::RegistryCommonErrors,
    )
)]
pub async fn list_versions(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let deleted = flag(&q, "deleted");
    let numbers = subjects::versions(&state.pool, &reg.registry, &p.subject, deleted).await?;
    Ok(ok(json!(numbers)))
}

/// The version a path names.
async fn find_version(
    state: &AppState,
    reg: &RegistryCaller,
    p: &VersionPath,
    q: &HashMap<String, String>,
) -> Result<SubjectVersion, SrError> {
    let v = VersionId::parse(&p.version)?;
    let deleted = flag(q, "deleted");
    Ok(subjects::version(&state.pool, &reg.registry, &p.subject, v, deleted).await?)
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/subjects/{subject}/versions/{version}",
    operation_id = "srGetVersion",
    tag = "Schema Registry (v1)",
    summary = "Get a version of a subject",
    description = "One version with its schema; `latest` is the last one. 404 with `error_code` 40401 (subject) or 40402 (version); 422 with 42202 for an invalid version.",
    params(doc::VersionPath, doc::DeletedQuery),
    responses(
        (status = 200, description = "The version", body = doc::RegistrySchema, content_type = "application/vnd.schemaregistry.v1+json"),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn get_version(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<VersionPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let v = find_version(&state, &reg, &p, &q).await?;
    Ok(ok(version_body(&v)))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/subjects/{subject}/versions/{version}/schema",
    operation_id = "srGetVersionSchema",
    tag = "Schema Registry (v1)",
    summary = "Get a version's schema text",
    description = "Only the schema itself, unwrapped: what a `schema` field would hold, as the body.",
    params(doc::VersionPath, doc::DeletedQuery),
    responses(
        (status = 200, description = "The schema", body = doc::RawSchema, content_type = "application/vnd.schemaregistry.v1+json", example = json!({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]})),
        (status = 422, response = doc::RegistryUnprocessable),
        doc::RegistryCommonErrors,
    )
)]
pub async fn get_version_schema(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<VersionPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let v = find_version(&state, &reg, &p, &q).await?;
    Ok(ok_text(v.schema_text))
}

#[utoipa::path(
    delete,
    path = "/schema-registry/v1/environments/{env}/subjects/{subject}",
    operation_id = "srDeleteSubject",
    tag = "Schema Registry (v1)",
    summary = "Delete a subject",
    description = "Soft-deletes the subject's versions (their schemas stay readable by id, and `deleted=true` lists them); then `permanent=true` removes them. 404 with `error_code` 40404 when soft-deleting a subject that already is, 40405 when permanently deleting one that is not soft-deleted yet. Needs OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or ConnectManager on the environment.",
    params(doc::SubjectPath, doc::PermanentQuery),
    responses(
        (status = 200, description = "The versions deleted", body = [i32], content_type = "application/vnd.schemaregistry.v1+json", example = json!([1, 2])),
        (status = 403, response = doc::RegistryForbidden),
        doc::RegistryCommonErrors,
    )
)]
pub async fn delete_subject(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    reg.authorize_write(&state).await?;
    let permanent = flag(&q, "permanent");
    let removed =
        subjects::delete_subject(&state.pool, &reg.registry, &p.subject, permanent).await?;
    Ok(ok(json!(removed)))
}
