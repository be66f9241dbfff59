//! Converters between the structured record model and Kafka bytes.

pub mod json;
pub mod string;

pub use json::JsonConverter;
pub use string::StringConverter;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("failed to serialize a record for topic {topic}: {reason}")]
    Serialize { topic: String, reason: String },
}

/// Turns a record key or value into the bytes written to Kafka, as Kafka
/// Connect's `Converter.fromConnectData` does. `None` (or JSON null) is a
/// Kafka null, so tombstones stay tombstones.
pub trait Converter: Send + Sync {
    fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError>;
}
