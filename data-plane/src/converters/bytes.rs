//! `org.apache.kafka.connect.converters.ByteArrayConverter` (`BYTES`): the
//! bytes as they are. The record model has no byte type, so text stands in:
//! a string value is written as its UTF-8 bytes (anything else as its JSON
//! text), and bytes are read as a string when they are UTF-8, else as
//! base64 text (as Kafka Connect's JsonConverter writes bytes).

use base64::Engine;
use serde_json::Value;

use super::{ConvertError, Converter};
use crate::schema::{Schema, Type};

pub const CLASS: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";

#[derive(Debug, Clone, Copy, Default)]
pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn serialize(
        &self,
        _topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        Ok(match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
            Some(other) => Some(other.to_string().into_bytes()),
        })
    }

    fn deserialize(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        Ok(bytes.map(|b| match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        }))
    }

    fn class_name(&self) -> &'static str {
        CLASS
    }

    /// A `BYTES` value (base64 in the record model) is written as its
    /// bytes; any other schema is refused, as upstream.
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let Some(schema) = schema else {
            return self.serialize(topic, value);
        };
        let err = |reason: String| ConvertError::Serialize {
            topic: topic.to_string(),
            reason,
        };
        if schema.ty() != Type::Bytes || schema.logical().is_some() {
            return Err(err(format!(
                "Invalid schema type for ByteArrayConverter: {}",
                schema.ty().name().to_ascii_uppercase()
            )));
        }
        match value.filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(v) => crate::schema::decode_bytes(v)
                .map(Some)
                .ok_or_else(|| err(format!("{v} is not base64 text of BYTES"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_pass_through() {
        let c = ByteArrayConverter;
        assert_eq!(
            c.serialize("t", Some(&json!("héllo"))).unwrap(),
            Some("héllo".as_bytes().to_vec())
        );
        assert_eq!(
            c.serialize("t", Some(&json!({"a": 1}))).unwrap(),
            Some(br#"{"a":1}"#.to_vec())
        );
        assert_eq!(c.serialize("t", None).unwrap(), None);
        assert_eq!(
            c.deserialize("t", Some(b"plain")).unwrap(),
            Some(json!("plain"))
        );
        assert_eq!(
            c.deserialize("t", Some(&[0xff, 0xfe])).unwrap(),
            Some(json!("//4="))
        );
        assert_eq!(c.deserialize("t", None).unwrap(), None);
    }
}
