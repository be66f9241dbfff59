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
    #[error("failed to deserialize data for topic {topic}: {reason}")]
    Deserialize { topic: String, reason: String },
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

    /// Reads a record key or value from Kafka bytes, as Kafka Connect's
    /// `Converter.toConnectData` does. A Kafka null is `None`.
    fn deserialize(&self, topic: &str, bytes: Option<&[u8]>)
        -> Result<Option<Value>, ConvertError>;

    /// The Java class this converter stands for, named in error reports
    /// (`__connect.errors.class.name`).
    fn class_name(&self) -> &'static str;
}

/// Reads a key whose format is not configured: JSON when the bytes parse as
/// JSON, else a UTF-8 string. Keys written by the String converter (`42`,
/// `User_1`) and by the JSON converter (`"User_1"`, `{"id":1}`) both come
/// back as they were meant.
pub fn deserialize_json_or_string(
    topic: &str,
    bytes: Option<&[u8]>,
) -> Result<Option<Value>, ConvertError> {
    match JsonConverter.deserialize(topic, bytes) {
        Ok(v) => Ok(v),
        Err(_) => StringConverter.deserialize(topic, bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_read_as_json_when_they_parse_else_as_strings() {
        let read = |b: &[u8]| deserialize_json_or_string("t", Some(b)).unwrap();
        assert_eq!(read(b"42"), Some(json!(42)));
        assert_eq!(read(b"User_1"), Some(json!("User_1")));
        assert_eq!(read(br#""User_1""#), Some(json!("User_1")));
        assert_eq!(read(br#"{"id":1}"#), Some(json!({"id": 1})));
        assert_eq!(deserialize_json_or_string("t", None).unwrap(), None);
        assert!(deserialize_json_or_string("t", Some(&[0xff, 0xfe])).is_err());
    }
}
