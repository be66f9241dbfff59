//! `org.apache.kafka.connect.json.JsonConverter` as configured by class
//! name, with `schemas.enable` (Kafka's default: true).
//!
//! * `schemas.enable=true` writes `{"schema": …, "payload": …}` with the
//!   Connect schema derived from the value ([`Shape::to_connect`]) and reads
//!   only that envelope (anything else is the upstream DataException);
//! * `schemas.enable=false` writes and reads plain JSON, an envelope being
//!   just a value with two fields.
//!
//! (The lenient reader of Confluent's `JSON` data format, which unwraps an
//! envelope when there is one, is [`super::JsonConverter`].)

use serde_json::{json, Value};

use super::shape::Shape;
use super::{ConvertError, Converter};

pub const CLASS: &str = "org.apache.kafka.connect.json.JsonConverter";

/// The upstream message for plain JSON read with `schemas.enable=true`.
pub const ENVELOPE_REQUIRED: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

#[derive(Debug, Clone, Copy)]
pub struct ConnectJsonConverter {
    pub schemas_enable: bool,
}

impl Converter for ConnectJsonConverter {
    fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let out = if self.schemas_enable {
            let schema = Shape::of(value).to_connect();
            serde_json::to_vec(&json!({"schema": schema, "payload": value}))
        } else {
            serde_json::to_vec(value)
        };
        out.map(Some).map_err(|e| ConvertError::Serialize {
            topic: topic.to_string(),
            reason: e.to_string(),
        })
    }

    fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let err = |reason: String| ConvertError::Deserialize {
            topic: topic.to_string(),
            reason,
        };
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            err(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
            ))
        })?;
        let value = if self.schemas_enable {
            match value {
                Value::Object(mut map)
                    if map.len() == 2
                        && map.contains_key("schema")
                        && map.contains_key("payload") =>
                {
                    map.remove("payload").unwrap_or(Value::Null)
                }
                _ => return Err(err(ENVELOPE_REQUIRED.to_string())),
            }
        } else {
            value
        };
        Ok(match value {
            Value::Null => None,
            v => Some(v),
        })
    }

    fn class_name(&self) -> &'static str {
        CLASS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_enable_writes_and_requires_the_envelope() {
        let c = ConnectJsonConverter {
            schemas_enable: true,
        };
        let v = json!({"id": 1, "name": "Anne"});
        let bytes = c.serialize("t", Some(&v)).unwrap().unwrap();
        let written: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            written,
            json!({"schema": {"type": "struct", "optional": false, "fields": [
                {"type": "int64", "optional": true, "field": "id"},
                {"type": "string", "optional": true, "field": "name"}]},
                "payload": {"id": 1, "name": "Anne"}})
        );
        assert_eq!(c.deserialize("t", Some(&bytes)).unwrap(), Some(v));
        let err = c
            .deserialize("t", Some(br#"{"id":1}"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("requires \"schema\" and \"payload\""), "{err}");
        assert_eq!(c.serialize("t", None).unwrap(), None);
        assert_eq!(
            c.deserialize("t", Some(br#"{"schema":null,"payload":null}"#))
                .unwrap(),
            None
        );
    }

    #[test]
    fn schemas_disabled_is_plain_json_both_ways() {
        let c = ConnectJsonConverter {
            schemas_enable: false,
        };
        let env = json!({"schema": {"type": "int64"}, "payload": 1});
        let bytes = serde_json::to_vec(&env).unwrap();
        assert_eq!(c.deserialize("t", Some(&bytes)).unwrap(), Some(env));
        assert_eq!(
            c.serialize("t", Some(&json!({"a": 1}))).unwrap(),
            Some(br#"{"a":1}"#.to_vec())
        );
    }
}
