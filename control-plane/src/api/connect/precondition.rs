//! Optimistic concurrency on the wire: connector reads carry an `ETag`;
//! writes with `If-Match` are refused with 412 when the connector changed
//! meanwhile (the connector service checks).

use axum::http::{header, HeaderMap, HeaderValue};

use crate::service::connectors::{etag, Expected};
use crate::store::connectors::Connector;

pub fn etag_header(c: &Connector) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&etag(c)).unwrap_or(HeaderValue::from_static("\"\""));
    [(header::ETAG, value)]
}

/// The version a write expects, from `If-Match` (`*` or a list of ETags).
pub fn if_match(headers: &HeaderMap) -> Option<Expected> {
    let wanted = headers.get(header::IF_MATCH)?;
    let wanted = wanted.to_str().unwrap_or("").trim();
    Some(if wanted == "*" {
        Expected::Any
    } else {
        Expected::OneOf(wanted.split(',').map(|t| t.trim().to_string()).collect())
    })
}
