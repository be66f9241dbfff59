//! Documentation types of the Schema Registry's operations for the OpenAPI
//! document (`openapi/openapi.json`), in Confluent's wire shapes.
//!
//! Like [`crate::api::schemas`], they describe the bodies the handlers of
//! [`super`] build by hand and are not used to build them: when a handler's
//! output changes, the matching type here must change with it (the
//! end-to-end tests validate real answers against the document).
//!
//! Every answer, errors included, has the content type
//! `application/vnd.schemaregistry.v1+json` ([`super::CONTENT_TYPE`]).

use serde::Serialize;
use utoipa::{IntoParams, IntoResponses, ToResponse, ToSchema};

/// The Schema Registry's error body (Confluent's `ErrorMessage`).
///
/// `error_code` is the HTTP status, or a finer Schema Registry code whose
/// first three digits are the status: 40401 subject not found, 40402
/// version not found, 40403 schema not found, 40404 subject soft-deleted,
/// 40405 subject not soft-deleted before a permanent delete, 40408 no
/// subject-level compatibility, 42201 invalid schema, 42202 invalid
/// version, 42203 invalid compatibility level, 42208 invalid subject,
/// 40301 forbidden, 50001 backend data store.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error_code": 40401, "message": "Subject 'orders-value' not found."}))]
pub struct RegistryError {
    pub error_code: i32,
    /// What went wrong, for people.
    pub message: String,
}

// --- Reusable responses --------------------------------------------------------------------

/// The body is empty or not JSON (`error_code` 400).
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    example = json!({"error_code": 400, "message": "Request body is empty"})
)]
pub struct RegistryBadRequest(pub RegistryError);

/// No valid credentials (missing, unknown or revoked API key, bad secret,
/// expired or invalid token); `error_code` 401.
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tributary\"`")),
    example = json!({"error_code": 401, "message": "Valid authentication credentials must be provided"})
)]
pub struct RegistryUnauthorized(pub RegistryError);

/// The caller sees the environment but lacks a role that may change its
/// registry (OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or
/// ConnectManager on the environment); `error_code` 40301.
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    example = json!({"error_code": 40301, "message": "User:sa-r4d3r1 may not change the schema registry of environment env-a1b2c3: it needs one of the roles OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin, ConnectManager on this resource"})
)]
pub struct RegistryForbidden(pub RegistryError);

/// The environment does not exist, belongs to another tenant or is not
/// visible to the caller (`error_code` 404, the same answer in each case),
/// or the subject (40401), version (40402) or schema (40403) does not
/// exist in it; 40404/40405 for a delete in the wrong state, 40408 for a
/// subject without its own compatibility level.
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    example = json!({"error_code": 40401, "message": "Subject 'orders-value' not found."})
)]
pub struct RegistryNotFound(pub RegistryError);

/// The schema is incompatible with an earlier version of the subject under
/// its compatibility level; the message lists why (`error_code` 409).
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    example = json!({"error_code": 409, "message": "Schema being registered is incompatible with an earlier schema for subject \"orders-value\", details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'region' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'region'}, {oldSchemaVersion: 1}, {oldSchema: '{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}'}, {compatibility: 'BACKWARD'}]"})
)]
pub struct RegistryConflict(pub RegistryError);

/// The request is well-formed JSON but invalid: an invalid schema or
/// schema type, or a reference to a missing version (42201), an invalid
/// version (42202), compatibility level (42203) or subject name (42208),
/// or a field of the wrong type (422).
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    example = json!({"error_code": 42201, "message": "Invalid schema type XML"})
)]
pub struct RegistryUnprocessable(pub RegistryError);

/// Rate limited, per API key or token (`error_code` 429).
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    headers(
        ("Retry-After" = u64, description = "Seconds to wait before retrying"),
        ("X-RateLimit-Limit" = u64, description = "Requests allowed per window"),
        ("X-RateLimit-Remaining" = u64, description = "Requests left in this window"),
        ("X-RateLimit-Reset" = u64, description = "Seconds until the window resets")
    ),
    example = json!({"error_code": 429, "message": "Rate limit exceeded for this API key; retry after 1 second(s)"})
)]
pub struct RegistryTooManyRequests(pub RegistryError);

/// An internal failure (`error_code` 50001 for the backend data store);
/// the details are in the server's log only.
#[derive(ToResponse)]
#[response(
    content_type = "application/vnd.schemaregistry.v1+json",
    example = json!({"error_code": 50001, "message": "Error in the backend data store"})
)]
pub struct RegistryInternalError(pub RegistryError);

/// The errors every Schema Registry operation may answer.
#[derive(IntoResponses)]
pub enum RegistryCommonErrors {
    #[response(status = 401)]
    Unauthorized(#[ref_response] RegistryUnauthorized),
    #[response(status = 404)]
    NotFound(#[ref_response] RegistryNotFound),
    #[response(status = 429)]
    TooManyRequests(#[ref_response] RegistryTooManyRequests),
    #[response(status = 500)]
    InternalError(#[ref_response] RegistryInternalError),
}

// --- Parameters ----------------------------------------------------------------------------

/// The environment whose registry is addressed.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RegistryPath {
    /// The environment, `env-…`: every environment has its own registry.
    pub env: String,
}

/// A subject of an environment's registry.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubjectPath {
    /// The environment, `env-…`.
    pub env: String,
    /// The subject (1–255 characters, no control characters), e.g. `orders-value`.
    pub subject: String,
}

/// A version of a subject.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct VersionPath {
    /// The environment, `env-…`.
    pub env: String,
    /// The subject, e.g. `orders-value`.
    pub subject: String,
    /// A version number (1 to 2^31-1), or `latest` (or `-1`) for the
    /// subject's last version.
    #[param(example = "latest")]
    pub version: String,
}

/// A schema of an environment's registry, by id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SchemaIdPath {
    /// The environment, `env-…`.
    pub env: String,
    /// The schema's id, numbered per environment from 1.
    #[param(minimum = 1, example = 1)]
    pub id: i32,
}

/// Filters of the subject list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct SubjectsQuery {
    /// Only subjects starting with this prefix.
    pub subject_prefix: Option<String>,
    /// `true` also lists soft-deleted subjects.
    pub deleted: Option<bool>,
}

/// Whether soft-deleted versions count.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeletedQuery {
    /// `true` includes soft-deleted versions.
    pub deleted: Option<bool>,
}

/// Soft or permanent delete.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PermanentQuery {
    /// `true` removes a subject that was soft-deleted before; otherwise the
    /// subject is soft-deleted (its versions stay readable with `deleted=true`).
    pub permanent: Option<bool>,
}

/// Whether to explain an incompatibility.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerboseQuery {
    /// `true` adds `messages`: why the schema is incompatible.
    pub verbose: Option<bool>,
}

/// The fallback of a subject's compatibility level.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct DefaultToGlobalQuery {
    /// `true` answers the environment's level when the subject has none of
    /// its own (instead of 404 with `error_code` 40408).
    pub default_to_global: Option<bool>,
}

// --- Bodies --------------------------------------------------------------------------------

/// The type of a schema.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaTypeName {
    Avro,
    Json,
    Protobuf,
}

/// A reference from a schema to another subject's schema (Avro named
/// types, JSON Schema `$ref`s, Protobuf imports).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"name": "com.example.Address", "subject": "address-value", "version": 1}))]
pub struct SchemaReference {
    /// The name the schema uses for it (Avro full name, JSON Schema `$ref`, Protobuf import path).
    pub name: String,
    pub subject: String,
    /// The version of `subject`, or -1 for its latest.
    pub version: i32,
}

/// A schema to register, look up or test (Confluent's
/// `RegisterSchemaRequest`; fields this registry does not use are ignored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"schema": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"region\",\"type\":\"string\",\"default\":\"eu\"}]}"}))]
pub struct RegisterSchemaRequest {
    /// The schema's text: Avro or JSON Schema as a JSON string, Protobuf as
    /// `.proto` source. Required.
    pub schema: String,
    /// `AVRO` when absent; case-insensitive.
    pub schema_type: Option<SchemaTypeName>,
    /// The schemas it refers to, which must be registered already.
    pub references: Option<Vec<SchemaReference>>,
}

/// The id of a registered schema: a new one, or the existing id when the
/// same schema is registered in the environment already.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 1}))]
pub struct RegisterSchemaResponse {
    pub id: i32,
}

/// A version of a subject (Confluent's `Schema`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"subject": "orders-value", "version": 1, "id": 1, "schema": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}))]
pub struct RegistrySchema {
    pub subject: String,
    pub version: i32,
    /// The schema's id in the environment.
    pub id: i32,
    /// Absent for Avro.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<SchemaTypeName>,
    /// Absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<SchemaReference>>,
    /// The schema's text (Avro: its canonical form, without whitespace).
    pub schema: String,
}

/// A schema by id (Confluent's `SchemaString`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"schema": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}))]
pub struct SchemaString {
    /// Absent for Avro.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<SchemaTypeName>,
    /// Absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<SchemaReference>>,
    pub schema: String,
}

/// The schema's text itself, not wrapped in an object: JSON for Avro and
/// JSON Schema (an object, or a string such as `"long"`), `.proto` source
/// for Protobuf.
#[derive(Serialize, ToSchema)]
pub struct RawSchema(pub serde_json::Value);

/// A subject and version that use a schema.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"subject": "orders-value", "version": 1}))]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
}

/// A compatibility level: what a new version of a subject must be able to
/// read (BACKWARD: the last version's data), be read by (FORWARD) or both
/// (FULL); `_TRANSITIVE` checks every earlier version rather than the last;
/// NONE checks nothing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

/// A compatibility level as read (Confluent's `Config`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"compatibilityLevel": "BACKWARD"}))]
pub struct CompatibilityConfig {
    pub compatibility_level: CompatibilityLevel,
}

/// A compatibility level to set (Confluent's `ConfigUpdateRequest`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"compatibility": "FULL"}))]
pub struct CompatibilityUpdate {
    /// One of the [`CompatibilityLevel`]s, case-insensitive.
    pub compatibility: String,
}

/// The level that was set.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"compatibility": "FULL"}))]
pub struct CompatibilityUpdated {
    pub compatibility: CompatibilityLevel,
}

/// Whether a schema may be registered (Confluent's `CompatibilityCheckResponse`).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"is_compatible": false, "messages": [
    "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'region' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'region'}",
    "{oldSchemaVersion: 1}",
    "{oldSchema: '{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}'}",
    "{compatibility: 'BACKWARD'}"
]}))]
pub struct CompatibilityCheck {
    pub is_compatible: bool,
    /// With `verbose=true`: the incompatibilities, then the old version,
    /// its schema and the level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
}
