//! Optimistic concurrency: every connector has a version (bumped on each
//! change of its config or target state), named by an ETag; a write may
//! say which version it expects, and is refused when the connector changed
//! meanwhile.

use super::{Result, ServiceError};
use crate::store::connectors::Connector;

/// The connector's version as an ETag: `"<id>.<version>"`.
pub fn etag(c: &Connector) -> String {
    format!("\"{}.{}\"", c.id, c.version)
}

/// The version a write expects to act on (HTTP's `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Whatever version exists (`*`).
    Any,
    /// One of these ETags (weak ones compare as strong).
    OneOf(Vec<String>),
}

impl Expected {
    fn admits(&self, current: &Connector) -> bool {
        match self {
            Expected::Any => true,
            Expected::OneOf(tags) => {
                let mine = etag(current);
                tags.iter().any(|t| t.trim_start_matches("W/") == mine)
            }
        }
    }
}

/// Checks what a write expects against the current connector (`None`: it
/// does not exist, which no expectation admits).
pub(super) fn check(expected: Option<&Expected>, current: Option<&Connector>) -> Result<()> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match current {
        Some(c) if expected.admits(c) => Ok(()),
        _ => Err(ServiceError::PreconditionFailed {
            current: current.map(etag),
        }),
    }
}
