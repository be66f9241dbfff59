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
//! Compatibility levels BACKWARD (the default), BACKWARD_TRANSITIVE,
//! FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE and NONE are enforced
//! for all three schema types, by Confluent's rules and with its error
//! types: Avro schema resolution ([`avro_compat`]), JSON Schema content
//! models, types and constraints ([`json_schema_compat`]) and Protobuf
//! messages, field numbers, kinds, labels and oneofs ([`protobuf_compat`]).
//! A schema never follows one of another type. Protobuf schemas are
//! compiled on registration (an invalid one is a 422); one that imports
//! other subjects is not compiled, so only its type is checked.
//!
//! Access: any role that sees the environment reads its registry; changes
//! (register, delete, config) need OrganizationAdmin, EnvironmentAdmin,
//! CloudClusterAdmin or ConnectManager on the environment. Another
//! tenant's environment is a 404, and every query filters on the caller's
//! organization and the environment.

pub mod avro_compat;
pub mod json_schema_compat;
pub mod openapi_types;
pub mod protobuf_compat;
pub mod schema;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgConnection;

use self::avro_compat::{Incompatibility, Labels, NEW_READS_OLD, OLD_READS_NEW};
use self::schema::{ParsedSchema, SchemaType};
// The documentation types of the `#[utoipa::path]` annotations.
use self::openapi_types as doc;
use super::AppState;
use crate::auth::authz::{self, Scope, Target};
use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::store::schemas::{self as store, SubjectVersion};

/// Where tenants reach an environment's registry.
pub const PUBLIC_BASE: &str = "/schema-registry/v1/environments/{env}";
/// Where workers reach it (worker token).
pub const WORKER_BASE: &str = "/internal/v1/schema-registry/environments/{env}";
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";
/// The level of an environment where none was set.
pub const DEFAULT_COMPATIBILITY: &str = "BACKWARD";
pub const LEVELS: &[&str] = &[
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
];
/// Subject names longer than this are refused.
const MAX_SUBJECT_LEN: usize = 255;

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
        .route(&p("/subjects"), get(list_subjects))
        .route(
            &p("/subjects/{subject}"),
            post(lookup).delete(delete_subject),
        )
        .route(
            &p("/subjects/{subject}/versions"),
            get(list_versions).post(register),
        )
        .route(
            &p("/subjects/{subject}/versions/{version}"),
            get(get_version),
        )
        .route(
            &p("/subjects/{subject}/versions/{version}/schema"),
            get(get_version_schema),
        )
        .route(&p("/schemas/types"), get(schema_types))
        .route(&p("/schemas/ids/{id}"), get(get_schema))
        .route(&p("/schemas/ids/{id}/schema"), get(get_schema_text))
        .route(&p("/schemas/ids/{id}/versions"), get(schema_versions))
        .route(&p("/schemas/ids/{id}/subjects"), get(schema_subjects))
        .route(&p("/config"), get(get_global_config).put(put_global_config))
        .route(
            &p("/config/{subject}"),
            get(get_subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route(
            &p("/compatibility/subjects/{subject}/versions"),
            post(check_all_versions),
        )
        .route(
            &p("/compatibility/subjects/{subject}/versions/{version}"),
            post(check_version),
        )
}

// ---------------------------------------------------------------- errors

/// An error in the Schema Registry's shape.
#[derive(Debug, Clone)]
pub struct SrError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
}

impl SrError {
    pub fn new(status: StatusCode, code: i32, message: impl Into<String>) -> SrError {
        SrError {
            status,
            code,
            message: message.into(),
        }
    }
    fn subject_not_found(subject: &str) -> SrError {
        Self::new(
            StatusCode::NOT_FOUND,
            40401,
            format!("Subject '{subject}' not found."),
        )
    }
    fn version_not_found(version: i32) -> SrError {
        Self::new(
            StatusCode::NOT_FOUND,
            40402,
            format!("Version {version} not found."),
        )
    }
    fn schema_not_found(id: Option<&str>) -> SrError {
        let message = match id {
            Some(id) => format!("Schema {id} not found"),
            None => "Schema not found".to_string(),
        };
        Self::new(StatusCode::NOT_FOUND, 40403, message)
    }
    fn invalid_schema(message: impl Into<String>) -> SrError {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, 42201, message)
    }
    fn invalid_version(v: &str) -> SrError {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42202,
            format!("The specified version '{v}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""),
        )
    }
    fn invalid_level() -> SrError {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42203,
            "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
        )
    }
    fn bad_request(message: impl Into<String>) -> SrError {
        Self::new(StatusCode::BAD_REQUEST, 400, message)
    }
}

impl IntoResponse for SrError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.code, "message": self.message});
        (
            self.status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            body.to_string(),
        )
            .into_response()
    }
}

impl From<sqlx::Error> for SrError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "schema registry store");
        SrError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            50001,
            "Error in the backend data store",
        )
    }
}

impl From<ApiError> for SrError {
    fn from(e: ApiError) -> Self {
        let code = match e.status.as_u16() {
            403 => 40301,
            s => i32::from(s),
        };
        SrError::new(e.status, code, e.detail)
    }
}

/// Renders errors of the shared machinery (authentication, rate limits,
/// body limits, unknown routes) in the Schema Registry's shape, keeping
/// their headers. Answers already in the registry's shape pass through.
pub(crate) async fn error_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let err = match resp.extensions().get::<ApiError>().cloned() {
        Some(err) => SrError::from(err),
        None if (status.is_client_error() || status.is_server_error())
            && resp.headers().get(header::CONTENT_TYPE)
                != Some(&HeaderValue::from_static(CONTENT_TYPE)) =>
        {
            // Confluent's answer to an unknown path or method.
            SrError::new(
                status,
                i32::from(status.as_u16()),
                format!(
                    "HTTP {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("Error")
                ),
            )
        }
        None => return resp,
    };
    let mut out = err.into_response();
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
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
pub struct Registry {
    pub org_id: String,
    pub env_id: String,
    /// The tenant calling; `None` for a worker.
    who: Option<Principal>,
}

impl Registry {
    /// 403 unless the caller may change this registry (workers may).
    async fn authorize_write(&self, state: &AppState) -> Result<(), SrError> {
        let Some(who) = &self.who else {
            return Ok(());
        };
        authz::require(
            &state.pool,
            who,
            authz::CONNECT_WRITE,
            Target::env(&self.env_id),
            &format!("change the schema registry of environment {}", self.env_id),
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
            req.extensions_mut().insert(Registry {
                org_id: e.org_id,
                env_id: env,
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
            req.extensions_mut().insert(Registry {
                org_id,
                env_id: env,
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
struct SubjectPath {
    subject: String,
}

#[derive(Debug, Deserialize)]
struct VersionPath {
    subject: String,
    version: String,
}

#[derive(Debug, Deserialize)]
struct IdPath {
    id: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
struct Reference {
    name: String,
    subject: String,
    version: i32,
}

/// `RegisterSchemaRequest` (fields this registry does not use are ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaRequest {
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
}

#[derive(Debug, Deserialize)]
struct ConfigRequest {
    #[serde(default)]
    compatibility: Option<String>,
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

fn check_subject(subject: &str) -> Result<(), SrError> {
    if subject.is_empty()
        || subject.len() > MAX_SUBJECT_LEN
        || subject.chars().any(|c| c.is_control())
    {
        return Err(SrError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42208,
            format!("The specified subject '{subject}' is not valid"),
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VersionId {
    Latest,
    Number(i32),
}

fn parse_version(v: &str) -> Result<VersionId, SrError> {
    if v.eq_ignore_ascii_case("latest") || v == "-1" {
        return Ok(VersionId::Latest);
    }
    match v.parse::<i32>() {
        Ok(n) if n >= 1 => Ok(VersionId::Number(n)),
        _ => Err(SrError::invalid_version(v)),
    }
}

fn pick(versions: &[SubjectVersion], v: VersionId) -> Option<&SubjectVersion> {
    match v {
        VersionId::Latest => versions.last(),
        VersionId::Number(n) => versions.iter().find(|sv| sv.version == n),
    }
}

/// The schemas a request's references name, as texts (for parsing).
async fn resolve_references(
    conn: &mut PgConnection,
    reg: &Registry,
    refs: &[Reference],
) -> Result<Vec<String>, SrError> {
    let mut texts = Vec::with_capacity(refs.len());
    for r in refs {
        let versions = store::versions(conn, &reg.org_id, &reg.env_id, &r.subject, false).await?;
        let v = if r.version == -1 {
            VersionId::Latest
        } else {
            VersionId::Number(r.version)
        };
        let found = pick(&versions, v).ok_or_else(|| {
            SrError::invalid_schema(format!(
                "Invalid schema: reference {} to subject {} version {} not found",
                r.name, r.subject, r.version
            ))
        })?;
        texts.push(found.schema_text.clone());
    }
    Ok(texts)
}

/// Parses the schema of a request (422 when invalid).
async fn parse_request(
    conn: &mut PgConnection,
    reg: &Registry,
    req: &SchemaRequest,
) -> Result<(ParsedSchema, Vec<Reference>), SrError> {
    let text = req
        .schema
        .as_deref()
        .ok_or_else(|| SrError::invalid_schema("Empty schema"))?;
    let schema_type = SchemaType::parse(req.schema_type.as_deref()).ok_or_else(|| {
        SrError::invalid_schema(format!(
            "Invalid schema type {}",
            req.schema_type.as_deref().unwrap_or_default()
        ))
    })?;
    let refs = req.references.clone().unwrap_or_default();
    let texts = resolve_references(conn, reg, &refs).await?;
    let parsed = schema::parse(schema_type, text, &texts).map_err(SrError::invalid_schema)?;
    Ok((parsed, refs))
}

/// The schema of a stored version, parsed again (for compatibility checks).
async fn parse_stored(
    conn: &mut PgConnection,
    reg: &Registry,
    v: &SubjectVersion,
) -> Result<Option<ParsedSchema>, SrError> {
    let Some(schema_type) = SchemaType::parse(Some(&v.schema_type)) else {
        return Ok(None);
    };
    let refs: Vec<Reference> = serde_json::from_value(v.refs.0.clone()).unwrap_or_default();
    let texts = resolve_references(conn, reg, &refs)
        .await
        .unwrap_or_default();
    Ok(schema::parse(schema_type, &v.schema_text, &texts).ok())
}

/// The level that applies to a subject: its own, else the environment's,
/// else BACKWARD.
async fn level_for(
    conn: &mut PgConnection,
    reg: &Registry,
    subject: &str,
) -> Result<String, SrError> {
    if let Some(l) = store::compatibility(conn, &reg.org_id, &reg.env_id, subject).await? {
        return Ok(l);
    }
    global_level(conn, reg).await
}

async fn global_level(conn: &mut PgConnection, reg: &Registry) -> Result<String, SrError> {
    Ok(store::compatibility(conn, &reg.org_id, &reg.env_id, "")
        .await?
        .unwrap_or_else(|| DEFAULT_COMPATIBILITY.to_string()))
}

/// Which ways a level checks: BACKWARD has the new schema read the old
/// one's data, FORWARD the old one read the new one's, FULL both.
#[derive(Clone, Copy)]
struct Directions {
    backward: bool,
    forward: bool,
}

impl Directions {
    /// The rendered reasons of `check(reader, writer, labels)` in each
    /// direction the level asks for, backward first.
    fn check<S>(
        self,
        new: &S,
        old: &S,
        check: impl Fn(&S, &S, Labels) -> Vec<String>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if self.backward {
            out.extend(check(new, old, NEW_READS_OLD));
        }
        if self.forward {
            out.extend(check(old, new, OLD_READS_NEW));
        }
        out
    }
}

/// Why `new` may not follow `against` under `level`: one entry per old
/// version that fails, with its incompatibilities.
async fn incompatibilities(
    conn: &mut PgConnection,
    reg: &Registry,
    level: &str,
    new: &ParsedSchema,
    against: &[SubjectVersion],
) -> Result<Vec<(SubjectVersion, Vec<String>)>, SrError> {
    if level == "NONE" {
        return Ok(Vec::new());
    }
    let directions = Directions {
        backward: level.starts_with("BACKWARD") || level.starts_with("FULL"),
        forward: level.starts_with("FORWARD") || level.starts_with("FULL"),
    };
    let mut failures = Vec::new();
    for old in against {
        let mut issues: Vec<String> = Vec::new();
        if old.schema_type != new.schema_type.as_str() {
            issues.push(format!(
                "{{errorType:'TYPE_MISMATCH', description:'Incompatible schema type {} (old) and {} (new)', additionalInfo:''}}",
                old.schema_type,
                new.schema_type.as_str()
            ));
        } else if let Some(old_parsed) = parse_stored(conn, reg, old).await? {
            if let (Some(n), Some(o)) = (&new.avro, &old_parsed.avro) {
                issues.extend(directions.check(n, o, |reader, writer, labels| {
                    let found = avro_compat::check(reader, writer, labels);
                    found.iter().map(Incompatibility::render).collect()
                }));
            }
            if let (Some(n), Some(o)) = (&new.json, &old_parsed.json) {
                issues.extend(directions.check(n, o, |reader, writer, labels| {
                    let found = json_schema_compat::check(reader, writer);
                    found.iter().map(|d| d.render(labels)).collect()
                }));
            }
            if let (Some(n), Some(o)) = (&new.protobuf, &old_parsed.protobuf) {
                issues.extend(directions.check(n, o, |reader, writer, labels| {
                    let found = protobuf_compat::check(reader, writer);
                    found.iter().map(|d| d.render(labels)).collect()
                }));
            }
        }
        if !issues.is_empty() {
            failures.push((old.clone(), issues));
        }
    }
    Ok(failures)
}

/// Confluent's detail list: the incompatibilities, then which old version,
/// its schema and the level.
fn details(level: &str, old: &SubjectVersion, issues: &[String]) -> Vec<String> {
    let mut out = issues.to_vec();
    out.push(format!("{{oldSchemaVersion: {}}}", old.version));
    out.push(format!("{{oldSchema: '{}'}}", old.schema_text));
    out.push(format!("{{compatibility: '{level}'}}"));
    out
}

/// The versions a new schema is checked against under `level`.
fn checked_against(level: &str, versions: &[SubjectVersion]) -> Vec<SubjectVersion> {
    if level.ends_with("_TRANSITIVE") {
        versions.to_vec()
    } else {
        versions.last().cloned().into_iter().collect()
    }
}

fn schema_type_field(body: &mut Value, schema_type: &str) {
    if schema_type != "AVRO" {
        body["schemaType"] = json!(schema_type);
    }
}

fn references_field(body: &mut Value, refs: &Value) {
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

// ---------------------------------------------------------------- handlers

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
async fn register(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
    body: Bytes,
) -> Result<Response, SrError> {
    check_subject(&p.subject)?;
    reg.authorize_write(&state).await?;
    let req: SchemaRequest = parse_body(&body)?;
    let mut tx = state.pool.begin().await?;
    store::lock_environment(&mut tx, &reg.env_id).await?;
    let (parsed, refs) = parse_request(&mut tx, &reg, &req).await?;
    let versions = store::versions(&mut tx, &reg.org_id, &reg.env_id, &p.subject, false).await?;
    let existing =
        store::schema_by_fingerprint(&mut tx, &reg.org_id, &reg.env_id, &parsed.fingerprint)
            .await?;
    if let Some(id) = existing {
        if versions.iter().any(|v| v.id == id) {
            return Ok(ok(json!({ "id": id })));
        }
    }
    let level = level_for(&mut tx, &reg, &p.subject).await?;
    let against = checked_against(&level, &versions);
    let failures = incompatibilities(&mut tx, &reg, &level, &parsed, &against).await?;
    if let Some((old, issues)) = failures.first() {
        return Err(SrError::new(
            StatusCode::CONFLICT,
            409,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{}\", details: [{}]",
                p.subject,
                details(&level, old, issues).join(", ")
            ),
        ));
    }
    let id = match existing {
        Some(id) => id,
        None => {
            let refs = serde_json::to_value(&refs).unwrap_or_else(|_| json!([]));
            store::insert_schema(
                &mut tx,
                &reg.org_id,
                &reg.env_id,
                parsed.schema_type.as_str(),
                &parsed.text,
                &parsed.fingerprint,
                &refs,
            )
            .await?
        }
    };
    let version = store::insert_version(&mut tx, &reg.org_id, &reg.env_id, &p.subject, id).await?;
    tx.commit().await?;
    tracing::info!(
        environment = %reg.env_id, subject = %p.subject, id, version,
        schema_type = parsed.schema_type.as_str(), "schema registered"
    );
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
async fn lookup(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SrError> {
    let req: SchemaRequest = parse_body(&body)?;
    let mut conn = state.pool.acquire().await?;
    let (parsed, _) = parse_request(&mut conn, &reg, &req).await?;
    let versions = store::versions(
        &mut conn,
        &reg.org_id,
        &reg.env_id,
        &p.subject,
        flag(&q, "deleted"),
    )
    .await?;
    if versions.is_empty() {
        return Err(SrError::subject_not_found(&p.subject));
    }
    let id = store::schema_by_fingerprint(&mut conn, &reg.org_id, &reg.env_id, &parsed.fingerprint)
        .await?;
    let found = id.and_then(|id| versions.iter().rev().find(|v| v.id == id));
    match found {
        Some(v) => Ok(ok(version_body(v))),
        None => Err(SrError::schema_not_found(None)),
    }
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
async fn list_subjects(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let mut conn = state.pool.acquire().await?;
    let prefix = q.get("subjectPrefix").map(String::as_str).unwrap_or("");
    let subjects = store::subjects(
        &mut conn,
        &reg.org_id,
        &reg.env_id,
        prefix,
        flag(&q, "deleted"),
    )
    .await?;
    Ok(ok(json!(subjects)))
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
async fn list_versions(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let mut conn = state.pool.acquire().await?;
    let versions = store::versions(
        &mut conn,
        &reg.org_id,
        &reg.env_id,
        &p.subject,
        flag(&q, "deleted"),
    )
    .await?;
    if versions.is_empty() {
        return Err(SrError::subject_not_found(&p.subject));
    }
    let numbers: Vec<i32> = versions.iter().map(|v| v.version).collect();
    Ok(ok(json!(numbers)))
}

async fn find_version(
    state: &AppState,
    reg: &Registry,
    p: &VersionPath,
    q: &HashMap<String, String>,
) -> Result<SubjectVersion, SrError> {
    let v = parse_version(&p.version)?;
    let mut conn = state.pool.acquire().await?;
    let versions = store::versions(
        &mut conn,
        &reg.org_id,
        &reg.env_id,
        &p.subject,
        flag(q, "deleted"),
    )
    .await?;
    if versions.is_empty() {
        return Err(SrError::subject_not_found(&p.subject));
    }
    pick(&versions, v).cloned().ok_or_else(|| match v {
        VersionId::Number(n) => SrError::version_not_found(n),
        VersionId::Latest => SrError::subject_not_found(&p.subject),
    })
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
async fn get_version(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
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
async fn get_version_schema(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
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
async fn delete_subject(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    reg.authorize_write(&state).await?;
    let permanent = flag(&q, "permanent");
    let mut tx = state.pool.begin().await?;
    store::lock_environment(&mut tx, &reg.env_id).await?;
    let all = store::versions(&mut tx, &reg.org_id, &reg.env_id, &p.subject, true).await?;
    if all.is_empty() {
        return Err(SrError::subject_not_found(&p.subject));
    }
    let live = all.iter().any(|v| !v.deleted);
    let removed = if permanent {
        if live {
            return Err(SrError::new(
                StatusCode::NOT_FOUND,
                40405,
                format!(
                    "Subject '{}' was not deleted first before being permanently deleted",
                    p.subject
                ),
            ));
        }
        store::hard_delete_subject(&mut tx, &reg.org_id, &reg.env_id, &p.subject).await?
    } else {
        if !live {
            return Err(SrError::new(
                StatusCode::NOT_FOUND,
                40404,
                format!(
                    "Subject '{}' was soft deleted.Set permanent=true to delete permanently",
                    p.subject
                ),
            ));
        }
        store::soft_delete_subject(&mut tx, &reg.org_id, &reg.env_id, &p.subject).await?
    };
    tx.commit().await?;
    Ok(ok(json!(removed)))
}

fn parse_id(id: &str) -> Result<i32, SrError> {
    id.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| SrError::schema_not_found(Some(id)))
}

async fn load_schema(
    state: &AppState,
    reg: &Registry,
    id: &str,
) -> Result<store::StoredSchema, SrError> {
    let n = parse_id(id)?;
    let mut conn = state.pool.acquire().await?;
    store::schema_by_id(&mut conn, &reg.org_id, &reg.env_id, n)
        .await?
        .ok_or_else(|| SrError::schema_not_found(Some(id)))
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
async fn get_schema(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let s = load_schema(&state, &reg, &p.id).await?;
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
async fn get_schema_text(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let s = load_schema(&state, &reg, &p.id).await?;
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
async fn schema_versions(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let s = load_schema(&state, &reg, &p.id).await?;
    let mut conn = state.pool.acquire().await?;
    let rows = store::versions_of_schema(&mut conn, &reg.org_id, &reg.env_id, s.id).await?;
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
async fn schema_subjects(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<IdPath>,
) -> Result<Response, SrError> {
    let s = load_schema(&state, &reg, &p.id).await?;
    let mut conn = state.pool.acquire().await?;
    let rows = store::versions_of_schema(&mut conn, &reg.org_id, &reg.env_id, s.id).await?;
    let mut subjects: Vec<String> = rows.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    Ok(ok(json!(subjects)))
}

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
async fn schema_types() -> Response {
    ok(json!(["JSON", "PROTOBUF", "AVRO"]))
}

/// Sets the level of `subject` (`""`: the environment's) from a config
/// request body.
async fn set_level(
    state: &AppState,
    reg: &Registry,
    subject: &str,
    body: &Bytes,
) -> Result<Response, SrError> {
    reg.authorize_write(state).await?;
    let req: ConfigRequest = parse_body(body)?;
    let level = req
        .compatibility
        .map(|l| l.trim().to_ascii_uppercase())
        .ok_or_else(SrError::invalid_level)?;
    if !LEVELS.contains(&level.as_str()) {
        return Err(SrError::invalid_level());
    }
    let mut conn = state.pool.acquire().await?;
    store::set_compatibility(&mut conn, &reg.org_id, &reg.env_id, subject, &level).await?;
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
async fn get_global_config(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
) -> Result<Response, SrError> {
    let mut conn = state.pool.acquire().await?;
    let level = global_level(&mut conn, &reg).await?;
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
async fn put_global_config(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
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
async fn get_subject_config(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SrError> {
    let mut conn = state.pool.acquire().await?;
    let level = match store::compatibility(&mut conn, &reg.org_id, &reg.env_id, &p.subject).await? {
        Some(l) => l,
        None if flag(&q, "defaultToGlobal") => global_level(&mut conn, &reg).await?,
        None => {
            return Err(SrError::new(
                StatusCode::NOT_FOUND,
                40408,
                format!(
                    "Subject '{}' does not have subject-level compatibility configured",
                    p.subject
                ),
            ))
        }
    };
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
async fn put_subject_config(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
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
async fn delete_subject_config(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
) -> Result<Response, SrError> {
    reg.authorize_write(&state).await?;
    let mut conn = state.pool.acquire().await?;
    match store::delete_compatibility(&mut conn, &reg.org_id, &reg.env_id, &p.subject).await? {
        Some(old) => Ok(ok(json!({ "compatibilityLevel": old }))),
        None => Err(SrError::subject_not_found(&p.subject)),
    }
}

/// `{"is_compatible": …}`, with `messages` when `verbose=true`.
async fn compatibility_answer(
    state: &AppState,
    reg: &Registry,
    subject: &str,
    version: Option<VersionId>,
    q: &HashMap<String, String>,
    body: &Bytes,
) -> Result<Response, SrError> {
    let req: SchemaRequest = parse_body(body)?;
    let mut conn = state.pool.acquire().await?;
    let (parsed, _) = parse_request(&mut conn, reg, &req).await?;
    let versions = store::versions(&mut conn, &reg.org_id, &reg.env_id, subject, false).await?;
    let level = level_for(&mut conn, reg, subject).await?;
    let against = match version {
        None => checked_against(&level, &versions),
        Some(v) => match pick(&versions, v) {
            Some(found) => vec![found.clone()],
            // Nothing registered yet: anything is compatible with nothing.
            None if v == VersionId::Latest => Vec::new(),
            None if versions.is_empty() => return Err(SrError::subject_not_found(subject)),
            None => {
                let VersionId::Number(n) = v else {
                    return Err(SrError::subject_not_found(subject));
                };
                return Err(SrError::version_not_found(n));
            }
        },
    };
    let failures = incompatibilities(&mut conn, reg, &level, &parsed, &against).await?;
    let mut body = json!({ "is_compatible": failures.is_empty() });
    if flag(q, "verbose") {
        let messages: Vec<String> = failures
            .iter()
            .flat_map(|(old, issues)| details(&level, old, issues))
            .collect();
        body["messages"] = json!(messages);
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
async fn check_version(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<VersionPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SrError> {
    let v = parse_version(&p.version)?;
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
async fn check_all_versions(
    State(state): State<AppState>,
    Extension(reg): Extension<Registry>,
    Path(p): Path<SubjectPath>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, SrError> {
    compatibility_answer(&state, &reg, &p.subject, None, &q, &body).await
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

    #[test]
    fn versions_parse_like_confluent() {
        assert_eq!(parse_version("latest").unwrap(), VersionId::Latest);
        assert_eq!(parse_version("-1").unwrap(), VersionId::Latest);
        assert_eq!(parse_version("3").unwrap(), VersionId::Number(3));
        for bad in ["0", "-2", "x", "2147483648"] {
            let e = parse_version(bad).unwrap_err();
            assert_eq!((e.status.as_u16(), e.code), (422, 42202), "{bad}");
        }
    }

    #[test]
    fn errors_have_the_registry_shape() {
        let resp = SrError::subject_not_found("orders-value").into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/vnd.schemaregistry.v1+json"
        );
        let e = SrError::from(ApiError::forbidden("no"));
        assert_eq!((e.status.as_u16(), e.code), (403, 40301));
        let e = SrError::from(ApiError::unauthenticated());
        assert_eq!(e.code, 401);
    }

    #[test]
    fn transitive_levels_check_every_version() {
        let v = |n: i32| SubjectVersion {
            subject: "s".into(),
            version: n,
            deleted: false,
            id: n,
            schema_type: "AVRO".into(),
            schema_text: "\"long\"".into(),
            refs: sqlx::types::Json(json!([])),
        };
        let all = vec![v(1), v(2), v(3)];
        assert_eq!(checked_against("BACKWARD", &all).len(), 1);
        assert_eq!(checked_against("BACKWARD", &all)[0].version, 3);
        assert_eq!(checked_against("FULL_TRANSITIVE", &all).len(), 3);
        assert!(checked_against("FORWARD", &[]).is_empty());
    }
}
