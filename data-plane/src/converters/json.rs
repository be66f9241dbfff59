//! `org.apache.kafka.connect.json.JsonConverter` with `schemas.enable=false`:
//! the value as plain JSON text, no `{"schema":…,"payload":…}` envelope.
//! Reading accepts both: an envelope is unwrapped to its payload, so sinks
//! read topics written with `schemas.enable=true` too.

use serde_json::Value;

use super::{ConvertError, Converter};

#[derive(Debug, Clone, Copy, Default)]
pub struct JsonConverter;

impl Converter for JsonConverter {
    fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::to_vec(v)
                .map(Some)
                .map_err(|e| ConvertError::Serialize {
                    topic: topic.to_string(),
                    reason: e.to_string(),
                }),
        }
    }

    fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        // Java's JsonConverter reads empty bytes as null too.
        let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ConvertError::Deserialize {
                topic: topic.to_string(),
                reason: format!("not valid JSON: {e}"),
            })?;
        Ok(match unwrap_envelope(value) {
            Value::Null => None,
            v => Some(v),
        })
    }

    fn class_name(&self) -> &'static str {
        "org.apache.kafka.connect.json.JsonConverter"
    }
}

/// `{"schema": {...} | null, "payload": P}` (and nothing else) → `P`.
fn unwrap_envelope(value: Value) -> Value {
    match value {
        Value::Object(mut map)
            if map.len() == 2
                && map.contains_key("payload")
                && matches!(map.get("schema"), Some(Value::Object(_) | Value::Null)) =>
        {
            map.remove("payload").unwrap_or(Value::Null)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: Option<&Value>) -> Option<Vec<u8>> {
        JsonConverter.serialize("t", v).unwrap()
    }

    #[test]
    fn writes_plain_json_without_envelope() {
        let v = json!({"orderid": 7, "address": {"city": "City_1"}, "orderunits": 2.5});
        let out = bytes(Some(&v)).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            // Fields keep the value's order (the record's schema order).
            r#"{"orderid":7,"address":{"city":"City_1"},"orderunits":2.5}"#
        );
        let back: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn strings_stay_quoted_json() {
        assert_eq!(bytes(Some(&json!("User_1"))), Some(br#""User_1""#.to_vec()));
    }

    #[test]
    fn null_is_a_kafka_null() {
        assert_eq!(bytes(None), None);
        assert_eq!(bytes(Some(&Value::Null)), None);
    }

    fn read(b: &[u8]) -> Result<Option<Value>, ConvertError> {
        JsonConverter.deserialize("t", Some(b))
    }

    #[test]
    fn reads_plain_json_and_unwraps_the_connect_envelope() {
        let v = json!({"orderid": 7, "address": {"city": "City_1"}});
        assert_eq!(
            read(&serde_json::to_vec(&v).unwrap()).unwrap(),
            Some(v.clone())
        );
        let enveloped = json!({"schema": {"type": "struct", "fields": []}, "payload": v});
        assert_eq!(
            read(&serde_json::to_vec(&enveloped).unwrap()).unwrap(),
            Some(v)
        );
        // A value that merely has a "payload" field is not an envelope.
        let plain = json!({"payload": 1, "schema": "v2", "extra": true});
        assert_eq!(
            read(&serde_json::to_vec(&plain).unwrap()).unwrap(),
            Some(plain)
        );
    }

    #[test]
    fn reads_nulls_and_names_the_topic_on_bad_json() {
        assert_eq!(JsonConverter.deserialize("t", None).unwrap(), None);
        assert_eq!(read(b"").unwrap(), None);
        assert_eq!(read(b"null").unwrap(), None);
        assert_eq!(read(br#"{"schema":null,"payload":null}"#).unwrap(), None);
        let err = read(b"{not json").unwrap_err().to_string();
        assert!(
            err.contains("topic t") && err.contains("not valid JSON"),
            "{err}"
        );
    }
}
