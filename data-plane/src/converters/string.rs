//! `org.apache.kafka.connect.storage.StringConverter` (UTF-8): a string is
//! written as its raw bytes, without JSON quotes. Datagen's keys go through
//! it, as on Confluent Cloud where managed Datagen keys are strings, so an
//! ORDERS key reads `42`, not `"42"`.

use serde_json::Value;

use super::{ConvertError, Converter};
use crate::schema::{Logical, Schema, SchemaAndValue};

#[derive(Debug, Clone, Copy, Default)]
pub struct StringConverter;

impl Converter for StringConverter {
    fn serialize(
        &self,
        _topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        Ok(match value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
            // Numbers print as decimal text and booleans as true/false; structs
            // and arrays as compact JSON (Java would print its toString()).
            Some(other) => Some(other.to_string().into_bytes()),
        })
    }

    fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        bytes
            .map(|b| {
                std::str::from_utf8(b)
                    .map(|s| Value::String(s.to_string()))
                    .map_err(|e| ConvertError::Deserialize {
                        topic: topic.to_string(),
                        reason: format!("not valid UTF-8: {e}"),
                    })
            })
            .transpose()
    }

    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.storage.StringConverter"
    }

    /// Any schema: the value's text (a Decimal as its decimal text, as
    /// `BigDecimal.toString` prints it).
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        if let (Some(Logical::Decimal { scale }), Some(v)) = (
            schema.and_then(Schema::logical),
            value.filter(|v| !v.is_null()),
        ) {
            let text = crate::schema::decimal::to_string(v, scale).map_err(|reason| {
                ConvertError::Serialize {
                    topic: topic.to_string(),
                    reason,
                }
            })?;
            return Ok(Some(text.into_bytes()));
        }
        self.serialize(topic, value)
    }

    /// Strings come with Connect's optional string schema, as upstream.
    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        Ok(SchemaAndValue {
            schema: Some(crate::schema::optional_string()),
            value: self.deserialize(topic, bytes)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: Value) -> Option<String> {
        StringConverter
            .serialize("t", Some(&v))
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn strings_are_raw_utf8() {
        assert_eq!(text(json!("User_7")), Some("User_7".to_string()));
        assert_eq!(text(json!("zürich")).map(|s| s.len()), Some(7));
    }

    #[test]
    fn numbers_are_decimal_text() {
        assert_eq!(text(json!(42)), Some("42".to_string()));
        assert_eq!(
            text(json!(-1_519_273_364_600i64)),
            Some("-1519273364600".to_string())
        );
        assert_eq!(text(json!(2.5)), Some("2.5".to_string()));
        assert_eq!(text(json!(true)), Some("true".to_string()));
    }

    #[test]
    fn null_is_a_kafka_null() {
        assert_eq!(text(Value::Null), None);
        assert_eq!(StringConverter.serialize("t", None).unwrap(), None);
    }

    #[test]
    fn reads_utf8_text_as_a_string() {
        let read = |b: &[u8]| StringConverter.deserialize("t", Some(b));
        assert_eq!(read(b"42").unwrap(), Some(json!("42")));
        assert_eq!(read("zürich".as_bytes()).unwrap(), Some(json!("zürich")));
        assert_eq!(StringConverter.deserialize("t", None).unwrap(), None);
        assert!(read(&[0xc3, 0x28]).is_err());
    }
}
