//! `org.apache.kafka.connect.json.JsonConverter` as configured by class
//! name, with `schemas.enable` (Kafka's default: true).
//!
//! * `schemas.enable=true` writes `{"schema": …, "payload": …}` with the
//!   record's Connect schema ([`crate::schema::connect_json`]), or for a
//!   schemaless record one derived from the value ([`Shape::to_connect`]),
//!   and reads only that envelope (anything else is the upstream
//!   DataException), its schema becoming the record's;
//! * `schemas.enable=false` writes and reads plain JSON, an envelope being
//!   just a value with two fields.
//!
//! (The lenient reader of Confluent's `JSON` data format, which unwraps an
//! envelope when there is one, is [`super::JsonConverter`].)

use serde_json::{json, Value};

use super::shape::Shape;
use super::{ConvertError, Converter};
use crate::schema::{self, connect_json, Schema, SchemaAndValue};

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
        let value = value.cloned().unwrap_or(Value::Null);
        // JsonConverter writes a null value as a Kafka null, whatever the schema.
        if value.is_null() {
            return Ok(None);
        }
        let payload = schema::conform(schema, value, "the value").map_err(|e| {
            err(format!(
                "Converting Kafka Connect data to byte[] failed: {e}"
            ))
        })?;
        let out = if self.schemas_enable {
            serde_json::to_vec(
                &json!({"schema": connect_json::to_json(schema), "payload": payload}),
            )
        } else {
            serde_json::to_vec(&payload)
        };
        out.map(Some).map_err(|e| err(e.to_string()))
    }

    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        if !self.schemas_enable {
            return self
                .deserialize(topic, bytes)
                .map(SchemaAndValue::schemaless);
        }
        let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
            return Ok(SchemaAndValue::default());
        };
        let err = |reason: String| ConvertError::Deserialize {
            topic: topic.to_string(),
            reason,
        };
        match read_envelope(bytes) {
            Ok(Some(read)) => Ok(read),
            Ok(None) => Err(err(ENVELOPE_REQUIRED.to_string())),
            Err(e) => Err(err(e)),
        }
    }
}

/// Reads `{"schema": …, "payload": …}` (and nothing else): the payload as a
/// value of the schema. `Ok(None)` when the bytes are not an envelope.
pub fn read_envelope(bytes: &[u8]) -> Result<Option<SchemaAndValue>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        format!("Converting byte[] to Kafka Connect data failed due to serialization error: {e}")
    })?;
    let Value::Object(mut map) = value else {
        return Ok(None);
    };
    if map.len() != 2
        || !map.contains_key("payload")
        || !matches!(map.get("schema"), Some(Value::Object(_) | Value::Null))
    {
        return Ok(None);
    }
    let payload = map.remove("payload").unwrap_or(Value::Null);
    let schema = connect_json::from_json(map.get("schema").unwrap_or(&Value::Null))
        .map_err(|e| e.to_string())?;
    let Some(schema) = schema else {
        return Ok(Some(SchemaAndValue::schemaless(
            Some(payload).filter(|v| !v.is_null()),
        )));
    };
    let value = schema::conform(&schema, payload, "the payload").map_err(|e| e.to_string())?;
    Ok(Some(SchemaAndValue {
        schema: Some(std::sync::Arc::new(schema)),
        value: Some(value).filter(|v| !v.is_null()),
    }))
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
    fn the_envelope_schema_becomes_the_records_and_round_trips() {
        let c = ConnectJsonConverter {
            schemas_enable: true,
        };
        // What Kafka's JsonConverter writes for a struct with an int32, an
        // optional string, a Decimal(2) of 12.50 and a Date.
        let bytes = concat!(
            r#"{"schema":{"type":"struct","fields":["#,
            r#"{"type":"int32","optional":false,"field":"id"},"#,
            r#"{"type":"string","optional":true,"field":"name"},"#,
            r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},"#,
            r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"day"}],"#,
            r#""optional":false,"name":"customers"},"#,
            r#""payload":{"id":1,"name":"Anne","price":"BOI=","day":19000}}"#
        );
        let read = c.to_connect_data("t", Some(bytes.as_bytes())).unwrap();
        let schema = read.schema.clone().expect("a schema");
        assert_eq!(schema.name.as_deref(), Some("customers"));
        assert_eq!(
            schema.field("id").map(|f| f.schema.ty()),
            Some(crate::schema::Type::Int32)
        );
        assert_eq!(
            schema.field("price").and_then(|f| f.schema.logical()),
            Some(crate::schema::Logical::Decimal { scale: 2 })
        );
        assert_eq!(
            read.value,
            Some(json!({"id": 1, "name": "Anne", "price": "BOI=", "day": 19000}))
        );
        let written = c
            .from_connect_data("t", read.schema.as_deref(), read.value.as_ref())
            .unwrap()
            .unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), bytes);
        // Fields left out read as null; a required one missing is an error.
        let sparse = br#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"a"},{"type":"int64","optional":false,"field":"b","default":7}]},"payload":{}}"#;
        let read = c.to_connect_data("t", Some(sparse)).unwrap();
        assert_eq!(read.value, Some(json!({"a": null, "b": 7})));
        let bad = br#"{"schema":{"type":"int32","optional":false},"payload":"x"}"#;
        let err = c.to_connect_data("t", Some(bad)).unwrap_err().to_string();
        assert!(err.contains("INT32"), "{err}");
        // A value that does not fit its schema is not written.
        let s = Schema::structure(vec![crate::schema::Field::new("id", Schema::int32())]);
        assert!(c
            .from_connect_data("t", Some(&s), Some(&json!({"id": "x"})))
            .is_err());
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
