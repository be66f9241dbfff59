//! The one API error type, rendered in Confluent's error shapes in one place:
//! the v2 APIs' `{"errors":[…]}` by default, and Connect v1's
//! `{"error":{"code","message"}}` under `/connect/` (see [`connect_error_shape`]).

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

    fn connect_body(&self) -> serde_json::Value {
        let message = match &self.field {
            Some(f) if !self.detail.contains(f.as_str()) => format!("{f}: {}", self.detail),
            _ => self.detail.clone(),
        };
        json!({ "error": { "code": self.status.as_u16(), "message": message } })
    }

    fn render(&self, body: serde_json::Value) -> Response {
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tributary\", error=\"invalid_key\""),
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
        ApiError::internal(format!("database: {e}"))
    }
}

/// Middleware for the Connect v1 routes: re-renders any [`ApiError`] in the
/// Connect error shape, which Confluent's Connect clients parse.
pub async fn connect_error_shape(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    match resp.extensions().get::<ApiError>() {
        Some(err) => {
            let err = err.clone();
            let mut out = err.render(err.connect_body());
            // Keep what middleware added (Retry-After, X-RateLimit-*, …).
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
        None => resp,
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
    fn connect_error_shape_has_code_and_message() {
        let b = ApiError::not_found("connector x not found").connect_body();
        assert_eq!(
            b,
            json!({"error":{"code":404,"message":"connector x not found"}})
        );
    }
}
