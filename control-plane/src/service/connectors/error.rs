//! What a connector operation can fail with. The API renders each variant
//! in one place (`impl From<ServiceError> for ApiError` in `crate::error`).

use crate::auth::quotas::QuotaError;
use crate::lifecycle::TargetState;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// What was not found, named as the caller named it.
    #[error("{0}")]
    NotFound(String),
    /// A connector of this name exists already.
    #[error("Connector {0} already exists")]
    AlreadyExists(String),
    /// A request value at fault, named by its field (`config/kafka.topic`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A request that is wrong as a whole.
    #[error("{0}")]
    BadRequest(String),
    /// The write expected another version of the connector; `current` is
    /// the ETag of the one there is (`None`: there is none).
    #[error("the connector is not at the expected version")]
    PreconditionFailed { current: Option<String> },
    /// An idempotency key sent again with a different request.
    #[error("this Idempotency-Key was used for a different request; use a new key")]
    IdempotencyKeyReused,
    /// The caller sees the resource but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// A count quota of the organization would be exceeded.
    #[error("{message} (quota: {quota})")]
    QuotaExceeded {
        quota: &'static str,
        message: String,
    },
    /// The request conflicts with what is under way (an offsets request
    /// still being applied).
    #[error("{0}")]
    Conflict(String),
    /// The lifecycle's transition table has no move from `from` to `to`.
    #[error("a connector cannot go from {from} to {to}")]
    IllegalTransition { from: TargetState, to: TargetState },
    /// Offsets may only be changed this way while the connector is STOPPED.
    #[error("connector {0} is not stopped")]
    NotStopped(String),
    /// Something the operation needs did not answer (the Kafka cluster).
    #[error("{0}")]
    Unavailable(String),
    /// The reconciler could not apply an offsets request.
    #[error("the offsets request failed: {0}")]
    OffsetsRequestFailed(String),
    /// An offsets request was not applied in time (it still will be).
    #[error("Request timed out")]
    TimedOut,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A failure of ours (a secret that does not open, …).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn connector_not_found(name: &str) -> ServiceError {
        ServiceError::NotFound(format!("Connector {name} not found"))
    }
}

impl From<QuotaError> for ServiceError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::Exceeded { quota, .. } => ServiceError::QuotaExceeded {
                quota,
                message: e.to_string(),
            },
            QuotaError::Db(e) => ServiceError::Db(e),
        }
    }
}

impl From<crate::secrets::SecretError> for ServiceError {
    fn from(e: crate::secrets::SecretError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
