//! The one API error type, rendered in Confluent's error shapes in one place:
//! the v2 APIs' `{"errors":[…]}` by default, and Connect v1's
//! `{"error":{"code","message"}}` under `/connect/` (see [`connect_error_shape`]).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::lifecycle::TargetState;
use crate::service::connectors::ServiceError;

/// The error code of [`ApiError::store_unavailable`].
pub const STORE_UNAVAILABLE: &str = "store_unavailable";

#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    /// Confluent's application error code, e.g. `invalid_configuration`.
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The request field or parameter at fault, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            field: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Bad Request",
            detail,
        )
    }

    /// A client mistake in one named field.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_configuration",
            "Validation Failed",
            detail,
        );
        e.field = Some(field.into());
        e
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "Not Found",
            detail,
        )
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "resource_already_exists",
            "Resource Already Exists",
            detail,
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "user_unauthenticated",
            "Authentication Required",
            "Valid authentication credentials must be provided",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "user_unauthorized",
            "User Access Unauthorized",
            detail,
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service Unavailable",
            detail,
        )
    }

    /// The store is down (see `store::health`): answered at once, with
    /// `Retry-After`, instead of waiting on the pool.
    pub fn store_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            STORE_UNAVAILABLE,
            "Service Unavailable",
            "The service's database is unavailable; retry shortly",
        )
    }

    pub fn is_store_unavailable(&self) -> bool {
        self.code == STORE_UNAVAILABLE
    }

    /// A count limit of the organization was reached (Confluent's 402 `quota_exceeded`).
    pub fn quota_exceeded(quota: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYMENT_REQUIRED,
            "quota_exceeded",
            "Quota Exceeded",
            format!("{} (quota: {quota})", detail.into()),
        )
    }

    /// Rate limited; the caller adds `Retry-After` and the `X-RateLimit-*` headers.
    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "Too Many Requests",
            detail,
        )
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            "Request Entity Too Large",
            detail,
        )
    }

    /// A request that conflicts with the resource's state (e.g. deleting a
    /// non-empty environment), as opposed to a duplicate.
    pub fn conflict_state(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// An internal failure: logged in full, answered without details.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal Server Error",
            "Oops, something went wrong",
        )
    }

    fn v2_body(&self) -> serde_json::Value {
        let mut e = json!({
            "id": uuid::Uuid::new_v4().simple().to_string(),
            "status": self.status.as_u16().to_string(),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        });
        if let Some(f) = &self.field {
            e["source"] =
                json!({ "pointer": format!("/{}", f.replace('~', "~0").replace('/', "~1")) });
        }
        json!({ "errors": [e] })
    }

    /// The detail, prefixed with the field at fault unless it names it.
    fn message(&self) -> String {
        match &self.field {
            Some(f) if !self.detail.contains(f.as_str()) => format!("{f}: {}", self.detail),
            _ => self.detail.clone(),
        }
    }

    fn connect_body(&self) -> serde_json::Value {
        json!({ "error": { "code": self.status.as_u16(), "message": self.message() } })
    }

    /// Upstream Kafka Connect's `ErrorMessage`. Upstream messages name
    /// config keys plainly, so the field is named by its last segment
    /// (`connection.host`, not `config/connection.host`), and only when the
    /// detail does not already name it.
    fn upstream_body(&self) -> serde_json::Value {
        let message = match &self.field {
            Some(f) => {
                let key = f.rsplit('/').next().unwrap_or(f);
                if self.detail.contains(key) {
                    self.detail.clone()
                } else {
                    format!("{key}: {}", self.detail)
                }
            }
            None => self.detail.clone(),
        };
        json!({ "error_code": self.status.as_u16(), "message": message })
    }

    fn render(&self, body: serde_json::Value) -> Response {
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tributary\", error=\"invalid_key\""),
            );
        }
        if self.is_store_unavailable() {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::store::health::RETRY_AFTER_SECS),
            );
        }
        resp.extensions_mut().insert(self.clone());
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.render(self.v2_body())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // The store went away under the request (before the health probe
        // noticed): a 503 to retry, not a 500.
        if matches!(
            e,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
        ) {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::store_unavailable();
        }
        ApiError::internal(format!("database: {e}"))
    }
}

/// The one rendering of connector operations' errors, whichever face
/// (Connect v1, the Kafka-Connect-compatible root) asked.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let internal_error = |code: &'static str, detail: String| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                code,
                "Internal Server Error",
                detail,
            )
        };
        match e {
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::AlreadyExists(_) | ServiceError::Conflict(_) => {
                ApiError::conflict(e.to_string())
            }
            ServiceError::Invalid { field, message } => ApiError::invalid_field(field, message),
            ServiceError::BadRequest(detail) => ApiError::bad_request(detail),
            ServiceError::PreconditionFailed { current } => {
                let detail = match current {
                    Some(etag) => format!(
                        "If-Match does not match the connector's current version {etag}; read it again and retry"
                    ),
                    None => "If-Match was given but the connector does not exist".to_string(),
                };
                let mut err = ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "precondition_failed",
                    "Precondition Failed",
                    detail,
                );
                err.field = Some("If-Match".into());
                err
            }
            ServiceError::IdempotencyKeyReused => {
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "Idempotency Key Reused",
                    e.to_string(),
                );
                err.field = Some("Idempotency-Key".into());
                err
            }
            ServiceError::Forbidden(detail) => ApiError::forbidden(detail),
            ServiceError::QuotaExceeded { quota, message } => {
                ApiError::quota_exceeded(quota, message)
            }
            ServiceError::IllegalTransition { .. } => ApiError::conflict_state(e.to_string()),
            // Upstream Kafka Connect's words (only its face asks for this).
            ServiceError::NotStopped(name) => ApiError::bad_request(format!(
                "Connectors must be in the {} state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint",
                TargetState::Stopped
            )),
            ServiceError::Unavailable(detail) => ApiError::unavailable(detail),
            ServiceError::OffsetsRequestFailed(message) => {
                internal_error("offsets_request_failed", message)
            }
            ServiceError::TimedOut => internal_error("request_timed_out", e.to_string()),
            ServiceError::Db(e) => e.into(),
            ServiceError::Internal(detail) => ApiError::internal(detail),
        }
    }
}

/// Middleware for the Connect v1 routes: re-renders any [`ApiError`] in the
/// Connect error shape, which Confluent's Connect clients parse.
pub async fn connect_error_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    match resp.extensions().get::<ApiError>() {
        Some(err) => {
            let err = err.clone();
            rerender(resp, &err, err.connect_body())
        }
        None => resp,
    }
}

/// Middleware for the Kafka-Connect-compatible routes (`/compat/connect/…`):
/// re-renders any [`ApiError`] in upstream Kafka Connect's
/// `{"error_code","message"}`, and gives error answers that carry none (an
/// unknown route or method) upstream's body too (`HTTP 404 Not Found`).
pub async fn upstream_error_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let err = match resp.extensions().get::<ApiError>() {
        Some(err) => err.clone(),
        None if resp.status().is_client_error() || resp.status().is_server_error() => {
            let status = resp.status();
            ApiError::new(
                status,
                "http_error",
                "HTTP Error",
                format!(
                    "HTTP {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("Error")
                ),
            )
        }
        None => return resp,
    };
    rerender(resp, &err, err.upstream_body())
}

/// `err` rendered with `body`, keeping the headers middleware added to
/// `resp` (Retry-After, X-RateLimit-*, …).
fn rerender(resp: Response, err: &ApiError, body: serde_json::Value) -> Response {
    let mut out = err.render(body);
    keep_headers(&resp, &mut out);
    out
}

/// Copies onto `out` the headers of `resp` it lacks, but for the body's
/// type and length: an error answer rendered again keeps what middleware
/// added (Retry-After, X-RateLimit-*, …).
pub(crate) fn keep_headers(resp: &Response, out: &mut Response) {
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_error_names_the_field() {
        let e = ApiError::invalid_field("config/kafka.topic", "missing");
        let b = e.v2_body();
        assert_eq!(b["errors"][0]["status"], "400");
        assert_eq!(b["errors"][0]["source"]["pointer"], "/config~1kafka.topic");
    }

    #[test]
    fn upstream_error_shape_has_error_code_and_message() {
        let b = ApiError::conflict("Connector x already exists").upstream_body();
        assert_eq!(
            b,
            json!({"error_code": 409, "message": "Connector x already exists"})
        );
        let b = ApiError::invalid_field("config/connection.host", "refused").upstream_body();
        assert_eq!(b["message"], "connection.host: refused");
        let b =
            ApiError::invalid_field("config/kafka.topic", "kafka.topic: missing").upstream_body();
        assert_eq!(b["message"], "kafka.topic: missing");
    }

    /// Each connector service error renders as the API answered before the
    /// service existed: same status, code, title, detail and field, so the
    /// same body in all three shapes.
    #[test]
    fn service_errors_render_as_before() {
        fn same(got: ServiceError, want: ApiError) {
            let got = ApiError::from(got);
            assert_eq!(
                (got.status, got.code, got.title, &got.detail, &got.field),
                (
                    want.status,
                    want.code,
                    want.title,
                    &want.detail,
                    &want.field
                )
            );
            assert_eq!(got.connect_body(), want.connect_body());
            assert_eq!(got.upstream_body(), want.upstream_body());
            let (mut g, mut w) = (got.v2_body(), want.v2_body());
            g["errors"][0]["id"] = json!("");
            w["errors"][0]["id"] = json!("");
            assert_eq!(g, w);
        }
        same(
            ServiceError::connector_not_found("orders"),
            ApiError::not_found("Connector orders not found"),
        );
        same(
            ServiceError::NotFound("environment env-9 not found".into()),
            ApiError::not_found("environment env-9 not found"),
        );
        same(
            ServiceError::AlreadyExists("orders".into()),
            ApiError::conflict("Connector orders already exists"),
        );
        same(
            ServiceError::invalid("config/kafka.topic", "missing"),
            ApiError::invalid_field("config/kafka.topic", "missing"),
        );
        same(
            ServiceError::BadRequest("no".into()),
            ApiError::bad_request("no"),
        );
        same(
            ServiceError::Forbidden("User:sa-1 may not change connector x".into()),
            ApiError::forbidden("User:sa-1 may not change connector x"),
        );
        same(
            ServiceError::from(crate::auth::quotas::QuotaError::Exceeded {
                quota: "connectors_per_cluster",
                limit: 2,
                what: "connectors per cluster",
            }),
            ApiError::quota_exceeded(
                "connectors_per_cluster",
                "The request would exceed the quota of 2 connectors per cluster",
            ),
        );
        same(
            ServiceError::Conflict("an offsets request is pending".into()),
            ApiError::conflict("an offsets request is pending"),
        );
        same(
            ServiceError::Unavailable("broker down".into()),
            ApiError::unavailable("broker down"),
        );
        let precondition = |detail: &str| ApiError {
            status: StatusCode::PRECONDITION_FAILED,
            code: "precondition_failed",
            title: "Precondition Failed",
            detail: detail.into(),
            field: Some("If-Match".into()),
        };
        same(
            ServiceError::PreconditionFailed {
                current: Some("\"lcc-1.3\"".into()),
            },
            precondition("If-Match does not match the connector's current version \"lcc-1.3\"; read it again and retry"),
        );
        same(
            ServiceError::PreconditionFailed { current: None },
            precondition("If-Match was given but the connector does not exist"),
        );
        same(
            ServiceError::IdempotencyKeyReused,
            ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_key_reused",
                title: "Idempotency Key Reused",
                detail: "this Idempotency-Key was used for a different request; use a new key"
                    .into(),
                field: Some("Idempotency-Key".into()),
            },
        );
        same(
            ServiceError::NotStopped("c".into()),
            ApiError::bad_request("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/c/stop' endpoint"),
        );
        same(
            ServiceError::OffsetsRequestFailed("no such topic".into()),
            ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "offsets_request_failed",
                title: "Internal Server Error",
                detail: "no such topic".into(),
                field: None,
            },
        );
        same(
            ServiceError::TimedOut,
            ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "request_timed_out",
                title: "Internal Server Error",
                detail: "Request timed out".into(),
                field: None,
            },
        );
        same(
            ServiceError::Db(sqlx::Error::RowNotFound),
            ApiError::internal("database"),
        );
        same(
            ServiceError::Internal("sealed secret is malformed".into()),
            ApiError::internal("sealed secret is malformed"),
        );
        // Never reached (every move of a target state is legal), but a
        // conflict with the connector's state if the table ever says no.
        let e = ApiError::from(ServiceError::IllegalTransition {
            from: TargetState::Stopped,
            to: TargetState::Paused,
        });
        assert_eq!((e.status, e.code), (StatusCode::CONFLICT, "conflict"));
    }

    #[test]
    fn store_unavailable_is_a_503_with_retry_after_in_every_shape() {
        let e = ApiError::store_unavailable();
        let r = e.clone().into_response();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert_eq!(e.v2_body()["errors"][0]["code"], STORE_UNAVAILABLE);
        assert_eq!(e.upstream_body()["error_code"], 503);
        assert_eq!(e.connect_body()["error"]["code"], 503);
        assert!(ApiError::from(sqlx::Error::PoolTimedOut).is_store_unavailable());
        assert!(!ApiError::from(sqlx::Error::RowNotFound).is_store_unavailable());
    }

    #[test]
    fn connect_error_shape_has_code_and_message() {
        let b = ApiError::not_found("connector x not found").connect_body();
        assert_eq!(
            b,
            json!({"error":{"code":404,"message":"connector x not found"}})
        );
    }
}
