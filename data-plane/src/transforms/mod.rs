//! Single message transforms with Kafka Connect's config syntax
//! (`transforms`, `transforms.<name>.type`, `predicates`, `negate`).

use crate::connectors::{Config, FieldError};
use crate::record::Record;

#[derive(Debug, thiserror::Error)]
#[error("transform {transform} failed: {message}")]
pub struct TransformError {
    pub transform: String,
    pub message: String,
}

/// The configured chain of a connector, applied in order. An empty chain
/// passes records through unchanged.
#[derive(Default)]
pub struct Chain {
    steps: Vec<Step>,
}

struct Step {
    name: String,
}

impl Chain {
    /// Builds the chain from a connector config; every problem names its key.
    pub fn from_config(config: &Config) -> Result<Chain, Vec<FieldError>> {
        let names = config.get("transforms").map(|s| s.trim()).unwrap_or("");
        if names.is_empty() {
            return Ok(Chain::default());
        }
        Err(vec![FieldError::new("transforms", "transforms are not supported yet")])
    }

    /// Applies every step; `Ok(None)` means a step dropped the record (Filter).
    pub fn apply(&self, record: Record) -> Result<Option<Record>, TransformError> {
        let record = Some(record);
        if let Some(step) = self.steps.first() {
            return Err(TransformError {
                transform: step.name.clone(),
                message: "not implemented".into(),
            });
        }
        Ok(record)
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}
