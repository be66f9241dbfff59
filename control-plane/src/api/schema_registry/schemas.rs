//! `/schemas…`: schemas by id, and the schema types.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use super::openapi_types as doc;
use super::subjects::{references_field, schema_type_field};
use super::{ok, ok_text, IdPath, RegistryCaller, SrError};
use crate::api::AppState;
use crate::schema_registry::schemas;

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/schemas/types",
    operation_id = "srGetSchemaTypes",
    tag = "Schema Registry (v1)",
    summary = "List schema types",
    description = "The schema types this registry accepts.",
    params(doc::RegistryPath),
    responses(
        (status = 200, description = "Schema types", body = [doc::SchemaTypeName], content_type = "application/vnd.schemaregistry.v1+json", example = json!(["JSON", "PROTOBUF", "AVRO"])),
        doc::RegistryCommonErrors,
    )
)]
pub async fn schema_types() -> Response {
    ok(json!(["JSON", "PROTOBUF", "AVRO"]))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/schemas/ids/{id}",
    operation_id = "srGetSchema",
    tag = "Schema Registry (v1)",
    summary = "Get a schema by id",
    description = "404 with `error_code` 40403 when the environment has no schema with this id.",
    params(doc::SchemaIdPath),
    responses(
        (status = 200, description = "The schema", body = doc::SchemaString, content_type = "application/vnd.schemaregistry.v1+json"),
        doc::RegistryCommonErrors,
    )
)]
pub async fn get_schema(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let s = schemas::schema(&state.pool, &reg.registry, &p.id).await?;
    let mut body = json!({});
    schema_type_field(&mut body, &s.schema_type);
    references_field(&mut body, &s.refs.0);
    body["schema"] = json!(s.schema_text);
    Ok(ok(body))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/schemas/ids/{id}/schema",
    operation_id = "srGetSchemaText",
    tag = "Schema Registry (v1)",
    summary = "Get a schema's text by id",
    description = "Only the schema itself, unwrapped.",
    params(doc::SchemaIdPath),
    responses(
        (status = 200, description = "The schema", body = doc::RawSchema, content_type = "application/vnd.schemaregistry.v1+json", example = json!({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "long"}]})),
        doc::RegistryCommonErrors,
    )
)]
pub async fn get_schema_text(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let s = schemas::schema(&state.pool, &reg.registry, &p.id).await?;
    Ok(ok_text(s.schema_text))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/schemas/ids/{id}/versions",
    operation_id = "srGetSchemaVersions",
    tag = "Schema Registry (v1)",
    summary = "List the versions that use a schema",
    description = "Every live subject version whose schema has this id.",
    params(doc::SchemaIdPath),
    responses(
        (status = 200, description = "Subjects and versions", body = [doc::SubjectVersion], content_type = "application/vnd.schemaregistry.v1+json"),
        doc::RegistryCommonErrors,
    )
)]
pub async fn schema_versions(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let rows = schemas::usages(&state.pool, &reg.registry, &p.id).await?;
    let body: Vec<Value> = rows
        .into_iter()
        .map(|(subject, version)| json!({"subject": subject, "version": version}))
        .collect();
    Ok(ok(json!(body)))
}

#[utoipa::path(
    get,
    path = "/schema-registry/v1/environments/{env}/schemas/ids/{id}/subjects",
    operation_id = "srGetSchemaSubjects",
    tag = "Schema Registry (v1)",
    summary = "List the subjects that use a schema",
    description = "Every subject with a live version whose schema has this id.",
    params(doc::SchemaIdPath),
    responses(
        (status = 200, description = "Subject names", body = [String], content_type = "application/vnd.schemaregistry.v1+json", example = json!(["orders-value"])),
        doc::RegistryCommonErrors,
    )
)]
pub async fn schema_subjects(
    State(state): State<AppState>,
    Extension(reg): Extension<RegistryCaller>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let rows = schemas::usages(&state.pool, &reg.registry, &p.id).await?;
    let mut subjects: Vec<String> = rows.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    Ok(ok(json!(subjects)))
}
