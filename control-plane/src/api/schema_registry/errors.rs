//! Errors in the Schema Registry's shape (`{"error_code", "message"}`),
//! with Confluent's error codes: the registry's domain errors, and the
//! shared machinery's (authentication, rate limits, body limits, unknown
//! routes), each rendered here.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::CONTENT_TYPE;
use crate::error::{keep_headers, ApiError};
use crate::schema_registry::RegistryError;

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

    pub(super) fn bad_request(message: impl Into<String>) -> SrError {
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

/// Confluent's status and error code of each registry error.
fn status_and_code(e: &RegistryError) -> (StatusCode, i32) {
    match e {
        RegistryError::SubjectNotFound(_) => (StatusCode::NOT_FOUND, 40401),
        RegistryError::VersionNotFound(_) => (StatusCode::NOT_FOUND, 40402),
        RegistryError::SchemaIdNotFound(_) | RegistryError::SchemaNotFound => {
            (StatusCode::NOT_FOUND, 40403)
        }
        RegistryError::SubjectSoftDeleted(_) => (StatusCode::NOT_FOUND, 40404),
        RegistryError::SubjectNotSoftDeleted(_) => (StatusCode::NOT_FOUND, 40405),
        RegistryError::NoSubjectLevel(_) => (StatusCode::NOT_FOUND, 40408),
        RegistryError::Incompatible { .. } => (StatusCode::CONFLICT, 409),
        RegistryError::InvalidSchema(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42201),
        RegistryError::InvalidVersion(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42202),
        RegistryError::InvalidLevel => (StatusCode::UNPROCESSABLE_ENTITY, 42203),
        RegistryError::InvalidSubject(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42208),
        RegistryError::Db(_) => (StatusCode::INTERNAL_SERVER_ERROR, 50001),
    }
}

impl From<RegistryError> for SrError {
    fn from(e: RegistryError) -> Self {
        match e {
            // Logged; answered without details.
            RegistryError::Db(e) => e.into(),
            e => {
                let (status, code) = status_and_code(&e);
                SrError::new(status, code, e.to_string())
            }
        }
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
    keep_headers(&resp, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_registry::subjects::VersionId;

    #[test]
    fn versions_parse_like_confluent() {
        assert_eq!(VersionId::parse("latest").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse("-1").unwrap(), VersionId::Latest);
        assert_eq!(VersionId::parse("3").unwrap(), VersionId::Number(3));
        for bad in ["0", "-2", "x", "2147483648"] {
            let e = SrError::from(VersionId::parse(bad).unwrap_err());
            assert_eq!((e.status.as_u16(), e.code), (422, 42202), "{bad}");
        }
    }

    #[test]
    fn errors_have_the_registry_shape() {
        let resp =
            SrError::from(RegistryError::SubjectNotFound("orders-value".into())).into_response();
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

    /// Each domain error keeps the status, code and message the registry
    /// answered before the domain had its own module.
    #[test]
    fn registry_errors_keep_confluents_codes_and_messages() {
        let cases = [
            (RegistryError::SubjectNotFound("s".into()), 404, 40401, "Subject 's' not found."),
            (RegistryError::VersionNotFound(3), 404, 40402, "Version 3 not found."),
            (RegistryError::SchemaIdNotFound("7".into()), 404, 40403, "Schema 7 not found"),
            (RegistryError::SchemaNotFound, 404, 40403, "Schema not found"),
            (RegistryError::SubjectSoftDeleted("s".into()), 404, 40404, "Subject 's' was soft deleted.Set permanent=true to delete permanently"),
            (RegistryError::SubjectNotSoftDeleted("s".into()), 404, 40405, "Subject 's' was not deleted first before being permanently deleted"),
            (RegistryError::NoSubjectLevel("s".into()), 404, 40408, "Subject 's' does not have subject-level compatibility configured"),
            (RegistryError::InvalidSchema("Empty schema".into()), 422, 42201, "Empty schema"),
            (RegistryError::InvalidVersion("x".into()), 422, 42202, "The specified version 'x' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""),
            (RegistryError::InvalidLevel, 422, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"),
            (RegistryError::InvalidSubject("".into()), 422, 42208, "The specified subject '' is not valid"),
            (RegistryError::Incompatible { subject: "s".into(), details: "a, b".into() }, 409, 409, "Schema being registered is incompatible with an earlier schema for subject \"s\", details: [a, b]"),
            (RegistryError::Db(sqlx::Error::RowNotFound), 500, 50001, "Error in the backend data store"),
        ];
        for (e, status, code, message) in cases {
            let e = SrError::from(e);
            assert_eq!(
                (e.status.as_u16(), e.code, e.message.as_str()),
                (status, code, message)
            );
        }
    }
}
