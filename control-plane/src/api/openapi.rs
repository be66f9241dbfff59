//! The OpenAPI document of the public API, generated from the handlers'
//! `#[utoipa::path]` annotations and the documentation types of
//! [`super::schemas`], and the unauthenticated routes that serve it:
//! `GET /openapi.json` and interactive docs (Swagger UI, its assets embedded
//! in the binary) at `GET /docs`.
//!
//! The worker protocol (`/internal/v1/…`, including the workers' door to
//! the Schema Registry) is not public and not in it.
//! `openapi/openapi.json` is this document, checked in; regenerate it with
//! `cargo run -p tributary-control-plane -- openapi > openapi/openapi.json`
//! (a test fails while it is stale).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::schema_registry::{self, openapi_types as registry};
use super::{audit, cmk, compat, connect, health, iam, metrics, ops, org, schemas, AppState};

const DESCRIPTION: &str = "\
Tributary is a multi-tenant managed connector service for Apache Kafka. Its API follows Confluent \
Cloud's paths and shapes: organizations and environments (`/org/v2`), Kafka clusters (`/cmk/v2`), \
service accounts, users, API keys and role bindings (`/iam/v2`), and connectors (`/connect/v1`), \
plus upstream Kafka Connect's extras (stop, per-task restart, topics, offsets, PATCH config) under \
the same prefix. Every environment has a Confluent-compatible Schema Registry \
(`/schema-registry/v1/environments/{env}`).

**Authentication.** HTTP Basic with an API key and its secret (`cloud-api-key`), or a Bearer JWT \
(`bearer`): a console token from `POST /auth/v1/login` or a token of the configured single-sign-on \
provider. A cloud key acts for its owner across the organization; a resource key reaches only its \
cluster.

**Tenancy.** Every read and write is scoped by the caller's role bindings. A resource of another \
organization, or one the caller may not see, is a 404 (never a 403, never data).

**Desired state.** Writes record desired state and answer at once; the reconciler converges. \
Nothing answers 409 because a rebalance is in progress.

**Errors.** `/org`, `/cmk`, `/iam`, `/audit` and `/ops` answer Confluent's v2 error body \
`{\"errors\": [{\"status\", \"code\", \"title\", \"detail\", \"source\"}]}`; `/connect` answers \
Confluent Connect's `{\"error\": {\"code\", \"message\"}}`; the Kafka-Connect-compatible root \
(`/compat/connect/…`) answers upstream's `{\"error_code\", \"message\"}`; the Schema Registry \
answers Confluent's `{\"error_code\", \"message\"}` with its finer codes (40401: subject not \
found, …). Lists page with `page_size` (1–100) and `page_token`, following `metadata.next`.

**Secrets.** Password-typed connector config values are encrypted at rest and returned masked as \
`****************`; writing the mask back keeps the stored value.

**Limits.** Requests are rate limited per API key or token (429 with `Retry-After` and \
`X-RateLimit-*` headers); bodies are size-limited (413); organizations have quotas (402).";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tributary API",
        description = DESCRIPTION,
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        org::list_organizations,
        org::create_organization,
        org::read_organization,
        org::update_organization,
        org::list,
        org::create,
        org::read,
        org::update,
        org::delete,
        cmk::list,
        cmk::create,
        cmk::read,
        cmk::update,
        cmk::delete,
        iam::service_accounts::list,
        iam::service_accounts::create,
        iam::service_accounts::read,
        iam::service_accounts::update,
        iam::service_accounts::delete,
        iam::users::list,
        iam::users::create,
        iam::users::read,
        iam::users::update,
        iam::users::delete,
        iam::api_keys::list,
        iam::api_keys::create,
        iam::api_keys::read,
        iam::api_keys::update,
        iam::api_keys::delete,
        iam::role_bindings::list,
        iam::role_bindings::create,
        iam::role_bindings::read,
        iam::role_bindings::delete,
        iam::users::login,
        connect::connectors::list,
        connect::connectors::create,
        connect::connectors::read,
        connect::connectors::delete,
        connect::config::read,
        connect::config::put,
        connect::config::patch,
        connect::connectors::status,
        connect::tasks::list,
        connect::tasks::status,
        connect::tasks::topics,
        connect::tasks::reset_topics,
        connect::lifecycle::pause,
        connect::lifecycle::resume,
        connect::lifecycle::stop,
        connect::lifecycle::restart,
        connect::tasks::restart,
        connect::offsets::read,
        connect::offsets::request,
        connect::offsets::request_status,
        connect::plugins::list,
        connect::plugins::validate,
        compat::connectors::server_info,
        compat::connectors::health,
        compat::connectors::list,
        compat::connectors::create,
        compat::connectors::read,
        compat::connectors::delete,
        compat::connectors::read_config,
        compat::connectors::put_config,
        compat::connectors::patch_config,
        compat::connectors::status,
        compat::connectors::pause,
        compat::connectors::resume,
        compat::connectors::stop,
        compat::connectors::restart,
        compat::connectors::tasks,
        compat::connectors::task_status,
        compat::connectors::restart_task,
        compat::connectors::topics,
        compat::connectors::reset_topics,
        compat::offsets::read,
        compat::offsets::alter,
        compat::offsets::reset,
        compat::plugins::list,
        compat::plugins::config_defs,
        compat::plugins::validate,
        schema_registry::subjects::register,
        schema_registry::subjects::lookup,
        schema_registry::subjects::list_subjects,
        schema_registry::subjects::list_versions,
        schema_registry::subjects::get_version,
        schema_registry::subjects::get_version_schema,
        schema_registry::subjects::delete_subject,
        schema_registry::schemas::schema_types,
        schema_registry::schemas::get_schema,
        schema_registry::schemas::get_schema_text,
        schema_registry::schemas::schema_versions,
        schema_registry::schemas::schema_subjects,
        schema_registry::config::get_global_config,
        schema_registry::config::put_global_config,
        schema_registry::config::get_subject_config,
        schema_registry::config::put_subject_config,
        schema_registry::config::delete_subject_config,
        schema_registry::compatibility::check_all_versions,
        schema_registry::compatibility::check_version,
        audit::list,
        ops::list_workers,
        ops::reconciler,
        ops::read_organization_pool,
        ops::update_organization_pool,
        metrics::metrics,
        health::health,
        health::ready,
    ),
    components(
        schemas(schemas::Failure, schemas::ConnectFailure, schemas::UpstreamError, registry::RegistryError),
        responses(
        schemas::BadRequest,
        schemas::Unauthorized,
        schemas::Forbidden,
        schemas::NotFound,
        schemas::Conflict,
        schemas::QuotaExceeded,
        schemas::PayloadTooLarge,
        schemas::TooManyRequests,
        schemas::InternalError,
        schemas::ConnectBadRequest,
        schemas::ConnectUnauthorized,
        schemas::ConnectForbidden,
        schemas::ConnectNotFound,
        schemas::ConnectConflict,
        schemas::ConnectQuotaExceeded,
        schemas::ConnectPreconditionFailed,
        schemas::ConnectIdempotencyKeyReused,
        schemas::ConnectPayloadTooLarge,
        schemas::ConnectTooManyRequests,
        schemas::ConnectUnavailable,
        schemas::ConnectInternalError,
        schemas::CompatBadRequest,
        schemas::CompatUnauthorized,
        schemas::CompatForbidden,
        schemas::CompatNotFound,
        schemas::CompatConflict,
        schemas::CompatQuotaExceeded,
        schemas::CompatPreconditionFailed,
        schemas::CompatPayloadTooLarge,
        schemas::CompatTooManyRequests,
        schemas::CompatUnavailable,
        schemas::CompatInternalError,
        registry::RegistryBadRequest,
        registry::RegistryUnauthorized,
        registry::RegistryForbidden,
        registry::RegistryNotFound,
        registry::RegistryConflict,
        registry::RegistryUnprocessable,
        registry::RegistryTooManyRequests,
        registry::RegistryInternalError,
        )
    ),
    modifiers(&SecuritySchemes),
    security(("cloud-api-key" = []), ("bearer" = [])),
    tags(
        (name = "Organizations (org/v2)", description = "Tenants. The operator onboards an organization with its first administrator."),
        (name = "Environments (org/v2)", description = "Folders of Kafka clusters and their connectors."),
        (name = "Clusters (cmk/v2)", description = "Existing Kafka clusters registered with their bootstrap endpoint and credentials."),
        (name = "Service Accounts (iam/v2)", description = "Identities for applications."),
        (name = "Users (iam/v2)", description = "People who sign in to the console."),
        (name = "API Keys (iam/v2)", description = "Cloud keys (across the organization) and resource keys (one cluster)."),
        (name = "Role Bindings (iam/v2)", description = "Roles granted to principals on CRN patterns."),
        (name = "Sign-in", description = "Console sign-in: a Bearer token for a user's email and password."),
        (name = "Connectors (connect/v1)", description = "Managed connectors, addressed by name within their cluster."),
        (name = "Connector lifecycle (connect/v1)", description = "Pause, resume, stop, restart: desired state, answered at once."),
        (name = "Offsets (connect/v1)", description = "Read, alter and reset a connector's offsets."),
        (name = "Connector plugins (connect/v1)", description = "The plugin catalogue and config validation."),
        (name = "Kafka Connect compatible", description = "Upstream Apache Kafka Connect's REST API, per cluster at `/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}`: existing Kafka Connect clients and tools pointed at that URL work unchanged. Errors are upstream's `{\"error_code\", \"message\"}`. Differences: writes record desired state and never answer 409 for a rebalance; password-typed config values are returned masked (`****************`, sending the mask back keeps the stored value); PROVISIONING reads UNASSIGNED and DEGRADED reads RUNNING."),
        (name = "Schema Registry (v1)", description = "Every environment's own Schema Registry, at `/schema-registry/v1/environments/{env}`: Confluent's Schema Registry REST API for the operations converters and users need, so Confluent serializers and tools pointed at that URL (`schema.registry.url`, with an API key and secret as `basic.auth.user.info`) work unchanged. Answers and errors have the content type `application/vnd.schemaregistry.v1+json`; errors are Confluent's `{\"error_code\", \"message\"}`. Schema ids are numbered per environment from 1. Compatibility levels are enforced for Avro, JSON Schema and Protobuf. Any role that sees the environment reads its registry; changes need OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin or ConnectManager on it."),
        (name = "Audit", description = "Who did what, when, with what outcome."),
        (name = "Operations", description = "The operator's views of the fleet (tenants get 404)."),
        (name = "Health", description = "Liveness and readiness probes."),
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some(
            "An API key as the user name and its secret as the password. A cloud key acts for its \
             owner across the organization; a resource key reaches only its cluster."
                .into(),
        );
        components.add_security_scheme("cloud-api-key", SecurityScheme::Http(basic));
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some(
            "A console token from `POST /auth/v1/login`, or a token of the configured single-sign-on \
             provider (validated against its JWKS, issuer and audience)."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline: the bytes of
/// `openapi/openapi.json` and of `GET /openapi.json`.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut s = serde_json::to_string_pretty(&document())
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the document: {e}\"}}"));
        s.push('\n');
        s
    })
}

/// `GET /openapi.json` and the docs at `GET /docs`; no credentials needed.
pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(serve_json)).merge(
        SwaggerUi::new("/docs").config(
            Config::new(["/openapi.json"])
                .try_it_out_enabled(true)
                .persist_authorization(false),
        ),
    )
}

async fn serve_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
