//! Documentation types for the OpenAPI document (`openapi/openapi.json`).
//!
//! The handlers build most bodies as `serde_json::Value` by hand; the types
//! here describe those wire shapes (field names, optionality, constant
//! `api_version`/`kind` values) for the document only. They are not used to
//! build responses: when a handler's output changes, the matching type here
//! must change with it (the end-to-end tests validate real responses against
//! the document).
//!
//! One module per API family; the error bodies and the shared v2 envelope
//! parts are here.

pub mod cmk;
pub mod compat;
pub mod connect;
pub mod iam;
pub mod ops;
pub mod org;

pub use cmk::*;
pub use compat::*;
pub use connect::*;
pub use iam::*;
pub use ops::*;
pub use org::*;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::{IntoResponses, ToResponse, ToSchema};

/// Declares a string type whose only value is `$value` (an `api_version` or
/// `kind`), documented as a one-value enum.
macro_rules! constant {
    ($(#[$doc:meta])* $name:ident = $value:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
        pub enum $name {
            #[serde(rename = $value)]
            Value,
        }
    };
}
pub(crate) use constant;

/// Metadata of a v2 object.
#[derive(Serialize, ToSchema)]
pub struct ObjectMeta {
    /// The canonical URL of this object.
    #[serde(rename = "self")]
    #[schema(example = "https://tributary.example/org/v2/environments/env-a1b2c3")]
    pub self_url: String,
    /// The object's CRN.
    #[schema(
        example = "crn://confluent.cloud/organization=0b0c5b4e-7e2b-4e62-8a52-0d6b7f1f9a10/environment=env-a1b2c3"
    )]
    pub resource_name: String,
    pub created_at: DateTime<Utc>,
    /// Absent for objects that are never updated (role bindings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Metadata of a list page. `next` is present only when the page is full;
/// follow it (or pass its `page_token`) for the next page.
#[derive(Serialize, ToSchema)]
pub struct ListMeta {
    /// The first page, with the list's filters.
    pub first: String,
    /// The next page, when there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// How many objects match the filters, over all pages.
    pub total_size: i64,
}

/// A reference to an object in another API.
#[derive(Serialize, ToSchema)]
pub struct ObjectReference {
    pub id: String,
    /// The object's URL.
    pub related: String,
    /// The object's CRN.
    pub resource_name: String,
}

/// Confluent's v2 error body (org, cmk, iam, audit, ops APIs).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"errors": [{
    "id": "5b1f0c1e8d2a4c7e9f3a6b2d4e8f1a3c",
    "status": "404",
    "code": "resource_not_found",
    "title": "Not Found",
    "detail": "environment env-zz9zz9 not found"
}]}))]
pub struct Failure {
    /// Always exactly one error.
    pub errors: Vec<ErrorItem>,
}

/// One error of a [`Failure`].
#[derive(Serialize, ToSchema)]
pub struct ErrorItem {
    /// Unique id of this occurrence.
    pub id: String,
    /// The HTTP status, as a string.
    #[schema(example = "400")]
    pub status: String,
    /// Application error code: `bad_request`, `invalid_configuration`,
    /// `resource_not_found`, `resource_already_exists`, `conflict`,
    /// `user_unauthenticated`, `user_unauthorized`, `quota_exceeded`,
    /// `too_many_requests`, `request_too_large`, `unavailable`,
    /// `internal_error`.
    #[schema(example = "invalid_configuration")]
    pub code: String,
    pub title: String,
    /// What went wrong, for people.
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
}

/// Where in the request an error is.
#[derive(Serialize, ToSchema)]
pub struct ErrorSource {
    /// JSON pointer to the field or name of the parameter (`/display_name`, `/environment`).
    #[schema(example = "/spec/kafka_bootstrap_endpoint")]
    pub pointer: String,
}

/// Kafka Connect's error body (all `/connect/v1` operations).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": 404, "message": "Connector orders-gen not found"}}))]
pub struct ConnectFailure {
    pub error: ConnectError,
}

/// The error of a [`ConnectFailure`].
#[derive(Serialize, ToSchema)]
pub struct ConnectError {
    /// The HTTP status, as a number.
    pub code: u16,
    /// What went wrong; a field-specific problem starts with the field
    /// (`config/kafka.topic: …`).
    pub message: String,
}

// --- Reusable responses: the v2 shape -----------------------------------------------------

/// The request is malformed or a field is invalid (`source.pointer` names it).
#[derive(ToResponse)]
pub struct BadRequest(pub Failure);

/// No valid credentials (missing, unknown or revoked API key, bad secret,
/// expired or invalid token).
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tributary\"`")))]
pub struct Unauthorized(pub Failure);

/// The caller may see this resource but lacks a role that allows the action.
#[derive(ToResponse)]
pub struct Forbidden(pub Failure);

/// No such resource, or it belongs to another tenant, or the caller may not
/// see it: the same answer in each case.
#[derive(ToResponse)]
pub struct NotFound(pub Failure);

/// A resource with this name already exists, or the resource's state
/// forbids the request (deleting an environment or cluster that is not empty).
#[derive(ToResponse)]
pub struct Conflict(pub Failure);

/// An organization quota is reached (`code`: `quota_exceeded`, the quota named in `detail`).
#[derive(ToResponse)]
pub struct QuotaExceeded(pub Failure);

/// The request body is larger than the control plane accepts (`TRIBUTARY_MAX_BODY_BYTES`).
#[derive(ToResponse)]
pub struct PayloadTooLarge(pub Failure);

/// Rate limited, per API key or token (and per address before authentication).
#[derive(ToResponse)]
#[response(headers(
    ("Retry-After" = u64, description = "Seconds to wait before retrying"),
    ("X-RateLimit-Limit" = u64, description = "Requests allowed per window"),
    ("X-RateLimit-Remaining" = u64, description = "Requests left in this window"),
    ("X-RateLimit-Reset" = u64, description = "Seconds until the window resets")
))]
pub struct TooManyRequests(pub Failure);

/// An internal failure; the details are in the server's log only.
#[derive(ToResponse)]
pub struct InternalError(pub Failure);

/// The errors every authenticated v2 operation may answer.
#[derive(IntoResponses)]
pub enum CommonErrors {
    #[response(status = 401)]
    Unauthorized(#[ref_response] Unauthorized),
    #[response(status = 429)]
    TooManyRequests(#[ref_response] TooManyRequests),
    #[response(status = 500)]
    InternalError(#[ref_response] InternalError),
}

// --- Reusable responses: the Connect shape ------------------------------------------------

/// The request is malformed or the connector config is invalid; the message
/// names the field (`config/<key>: …`) and lists every problem.
#[derive(ToResponse)]
pub struct ConnectBadRequest(pub ConnectFailure);

/// No valid credentials.
#[derive(ToResponse)]
#[response(headers(("WWW-Authenticate" = String, description = "`Basic realm=\"tributary\"`")))]
pub struct ConnectUnauthorized(pub ConnectFailure);

/// The caller may see the cluster but lacks a role that allows the action
/// (ConnectManager, CloudClusterAdmin or above for writes).
#[derive(ToResponse)]
pub struct ConnectForbidden(pub ConnectFailure);

/// The environment, cluster, connector, task or plugin does not exist, or
/// belongs to another tenant, or the caller may not see it: the same answer
/// in each case, naming what was not found.
#[derive(ToResponse)]
pub struct ConnectNotFound(pub ConnectFailure);

/// A connector with this name already exists in the cluster, or an offsets
/// request is still being applied.
#[derive(ToResponse)]
pub struct ConnectConflict(pub ConnectFailure);

/// The organization's connector or task quota is reached.
#[derive(ToResponse)]
pub struct ConnectQuotaExceeded(pub ConnectFailure);

/// `If-Match` does not match the connector's current `ETag` (or the
/// connector does not exist): read it again and retry.
#[derive(ToResponse)]
pub struct ConnectPreconditionFailed(pub ConnectFailure);

/// The `Idempotency-Key` was used for a different request.
#[derive(ToResponse)]
pub struct ConnectIdempotencyKeyReused(pub ConnectFailure);

/// The request body is too large.
#[derive(ToResponse)]
pub struct ConnectPayloadTooLarge(pub ConnectFailure);

/// Rate limited, per API key or token.
#[derive(ToResponse)]
#[response(headers(
    ("Retry-After" = u64, description = "Seconds to wait before retrying"),
    ("X-RateLimit-Limit" = u64, description = "Requests allowed per window"),
    ("X-RateLimit-Remaining" = u64, description = "Requests left in this window"),
    ("X-RateLimit-Reset" = u64, description = "Seconds until the window resets")
))]
pub struct ConnectTooManyRequests(pub ConnectFailure);

/// The Kafka cluster did not answer (reading sink offsets).
#[derive(ToResponse)]
pub struct ConnectUnavailable(pub ConnectFailure);

/// An internal failure; the details are in the server's log only.
#[derive(ToResponse)]
pub struct ConnectInternalError(pub ConnectFailure);

/// The errors every Connect operation may answer.
#[derive(IntoResponses)]
pub enum ConnectCommonErrors {
    #[response(status = 401)]
    Unauthorized(#[ref_response] ConnectUnauthorized),
    #[response(status = 429)]
    TooManyRequests(#[ref_response] ConnectTooManyRequests),
    #[response(status = 500)]
    InternalError(#[ref_response] ConnectInternalError),
}
