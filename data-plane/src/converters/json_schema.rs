//! `io.confluent.connect.json.JsonSchemaConverter` (`JSON_SR`): JSON text
//! in the Schema Registry wire format (magic byte, schema id, JSON). Writing
//! derives a JSON Schema from the value ([`Shape`]) and registers it under
//! `<topic>-value` / `<topic>-key` once; reading checks that the id names a
//! JSON schema of the registry (cached) and parses the JSON.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::registry::SchemaRegistry;
use super::shape::Shape;
use super::wire;
use super::{ConvertError, Side};

pub const CLASS: &str = "io.confluent.connect.json.JsonSchemaConverter";

pub struct JsonSchemaConverter {
    side: Side,
    registry: Arc<dyn SchemaRegistry>,
    ids: Mutex<HashMap<(String, Shape), i32>>,
    known: Mutex<HashSet<i32>>,
}

impl JsonSchemaConverter {
    pub fn new(side: Side, registry: Arc<dyn SchemaRegistry>) -> JsonSchemaConverter {
        JsonSchemaConverter {
            side,
            registry,
            ids: Mutex::new(HashMap::new()),
            known: Mutex::new(HashSet::new()),
        }
    }

    pub async fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let key = (self.side.subject(topic), Shape::of(value));
        let cached = lock(&self.ids).get(&key).copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let schema = key.1.to_json_schema().to_string();
                let id = self
                    .registry
                    .register(&key.0, "JSON", &schema)
                    .await
                    .map_err(|e| ConvertError::Serialize {
                        topic: topic.to_string(),
                        reason: format!(
                            "Error registering JSON schema {schema} under subject {}: {e}",
                            key.0
                        ),
                    })?;
                lock(&self.ids).insert(key, id);
                id
            }
        };
        let json = serde_json::to_vec(value).map_err(|e| ConvertError::Serialize {
            topic: topic.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Some(wire::frame(id, &json)))
    }

    pub async fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        let err = |reason: String| ConvertError::Deserialize {
            topic: topic.to_string(),
            reason,
        };
        let (id, payload) = wire::unframe(bytes).map_err(|e| err(e.to_string()))?;
        if !lock(&self.known).contains(&id) {
            let s = self
                .registry
                .schema_by_id(id)
                .await
                .map_err(|e| err(format!("Error retrieving JSON schema for id {id}: {e}")))?;
            if s.schema_type != "JSON" {
                return Err(err(format!(
                    "Schema {id} is a {} schema, not a JSON schema",
                    s.schema_type
                )));
            }
            lock(&self.known).insert(id);
        }
        let value: Value = serde_json::from_slice(payload)
            .map_err(|e| err(format!("Error deserializing JSON message for id {id}: {e}")))?;
        Ok(match value {
            Value::Null => None,
            v => Some(v),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::registry::MemoryRegistry;
    use serde_json::json;

    #[tokio::test]
    async fn magic_byte_id_then_json() {
        let registry = MemoryRegistry::new();
        let c = JsonSchemaConverter::new(Side::Value, registry.clone());
        let v = json!({"id": 1, "name": "Anne"});
        let bytes = c.serialize("customers", Some(&v)).await.unwrap().unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 1]);
        assert_eq!(&bytes[5..], br#"{"id":1,"name":"Anne"}"#);
        assert_eq!(registry.versions("customers-value"), vec![1]);
        let schema = registry.schema_by_id(1).await.unwrap();
        assert_eq!(schema.schema_type, "JSON");
        assert!(
            schema.schema.contains(r#""type":"object""#),
            "{}",
            schema.schema
        );
        assert_eq!(
            c.deserialize("customers", Some(&bytes)).await.unwrap(),
            Some(v)
        );
        let err = c
            .deserialize("customers", Some(br#"{"id":1}"#))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("Unknown magic byte!"), "{err}");
    }

    #[tokio::test]
    async fn an_avro_id_is_refused() {
        let registry = MemoryRegistry::new();
        registry.insert("AVRO", "\"long\"");
        let c = JsonSchemaConverter::new(Side::Value, registry);
        let err = c
            .deserialize("t", Some(&[0, 0, 0, 0, 1, b'1']))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a JSON schema"), "{err}");
    }
}
