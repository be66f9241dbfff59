//! Optimistic concurrency: connector reads carry an `ETag`; writes with
//! `If-Match` are refused with 412 when the connector changed meanwhile.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::error::ApiError;
use crate::store::connectors::Connector;

pub fn etag(c: &Connector) -> String {
    format!("\"{}.{}\"", c.id, c.version)
}

pub fn etag_header(c: &Connector) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&etag(c)).unwrap_or(HeaderValue::from_static("\"\""));
    [(header::ETAG, value)]
}

/// Checks `If-Match` against the current connector (`None`: it does not exist).
pub fn check_if_match(headers: &HeaderMap, current: Option<&Connector>) -> Result<(), ApiError> {
    let Some(wanted) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let wanted = wanted.to_str().unwrap_or("").trim();
    let ok = match current {
        None => false,
        Some(c) => {
            wanted == "*"
                || wanted
                    .split(',')
                    .map(|t| t.trim().trim_start_matches("W/"))
                    .any(|t| t == etag(c))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(precondition_failed(current))
    }
}

fn precondition_failed(current: Option<&Connector>) -> ApiError {
    let detail = match current {
        Some(c) => format!(
            "If-Match does not match the connector's current version {}; read it again and retry",
            etag(c)
        ),
        None => "If-Match was given but the connector does not exist".to_string(),
    };
    ApiError {
        status: StatusCode::PRECONDITION_FAILED,
        code: "precondition_failed",
        title: "Precondition Failed",
        detail,
        field: Some("If-Match".into()),
    }
}
