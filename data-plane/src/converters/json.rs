//! `org.apache.kafka.connect.json.JsonConverter` with `schemas.enable=false`:
//! the value as plain JSON text, no `{"schema":…,"payload":…}` envelope.

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
            r#"{"address":{"city":"City_1"},"orderid":7,"orderunits":2.5}"#
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
}
