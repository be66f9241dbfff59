//! `io.confluent.connect.json.JsonSchemaConverter` (`JSON_SR`): JSON text
//! in the Schema Registry wire format (magic byte, schema id, JSON). Writing
//! uses the record's Connect schema as a JSON Schema
//! ([`crate::schema::json_schema`]), or for a schemaless record one derived
//! from the value ([`Shape`]), and registers it under `<topic>-value` /
//! `<topic>-key` once; reading checks that the id names a JSON schema of
//! the registry (cached), parses the JSON and gives the record the writer's
//! schema as a Connect schema when it has one.

use std::sync::Arc;

use serde_json::Value;

use super::registry::{SchemaRegistry, SchemasById, SubjectIds};
use super::shape::Shape;
use super::wire;
use super::{ConvertError, Side};
use crate::schema::{self, json_schema, Schema, SchemaAndValue};

pub const CLASS: &str = "io.confluent.connect.json.JsonSchemaConverter";

pub struct JsonSchemaConverter {
    side: Side,
    registry: Arc<dyn SchemaRegistry>,
    ids: SubjectIds<Shape>,
    schema_ids: SubjectIds<Schema>,
    /// The writer's Connect schema, if it has one.
    known: SchemasById<Option<Arc<Schema>>>,
}

impl JsonSchemaConverter {
    pub fn new(side: Side, registry: Arc<dyn SchemaRegistry>) -> JsonSchemaConverter {
        JsonSchemaConverter {
            side,
            registry,
            ids: SubjectIds::new(),
            schema_ids: SubjectIds::new(),
            known: SchemasById::new(),
        }
    }

    pub async fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let Some(schema) = schema else {
            return self.serialize(topic, value).await;
        };
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let err = |reason: String| ConvertError::Serialize {
            topic: topic.to_string(),
            reason,
        };
        let value =
            schema::conform(schema, value.clone(), "the value").map_err(|e| err(e.to_string()))?;
        let subject = self.side.subject(topic);
        let id = self
            .schema_ids
            .get_or_register(&subject, schema, || {
                self.register(&subject, json_schema::to_json_schema(schema))
            })
            .await
            .map_err(err)?;
        let json = serde_json::to_vec(&json_schema::to_payload(schema, &value))
            .map_err(|e| err(e.to_string()))?;
        Ok(Some(wire::frame(id, &json)))
    }

    pub async fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        Ok(self.to_connect_data(topic, bytes).await?.value)
    }

    pub async fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let err = |reason: String| ConvertError::Serialize {
            topic: topic.to_string(),
            reason,
        };
        let subject = self.side.subject(topic);
        let shape = Shape::of(value);
        let id = self
            .ids
            .get_or_register(&subject, &shape, || {
                self.register(&subject, shape.to_json_schema())
            })
            .await
            .map_err(err)?;
        let json = serde_json::to_vec(value).map_err(|e| err(e.to_string()))?;
        Ok(Some(wire::frame(id, &json)))
    }

    async fn register(&self, subject: &str, json_schema: Value) -> Result<i32, String> {
        let text = json_schema.to_string();
        self.registry
            .register(subject, "JSON", &text)
            .await
            .map_err(|e| {
                format!("Error registering JSON schema {text} under subject {subject}: {e}")
            })
    }

    pub async fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::default());
        };
        let err = |reason: String| ConvertError::Deserialize {
            topic: topic.to_string(),
            reason,
        };
        let (id, payload) = wire::unframe(bytes).map_err(|e| err(e.to_string()))?;
        let connect = self
            .known
            .get_or_fetch(id, || self.fetch_connect_schema(id))
            .await
            .map_err(err)?;
        let value: Value = serde_json::from_slice(payload)
            .map_err(|e| err(format!("Error deserializing JSON message for id {id}: {e}")))?;
        let value = match &connect {
            Some(c) if !value.is_null() => {
                let v = json_schema::from_payload(c, value);
                schema::conform(c, v, "the value").map_err(|e| {
                    err(format!(
                        "JSON message for id {id} does not fit its schema: {e}"
                    ))
                })?
            }
            _ => value,
        };
        Ok(SchemaAndValue {
            schema: connect,
            value: Some(value).filter(|v| !v.is_null()),
        })
    }

    /// The Connect form of the writer's JSON schema `id`, if it has one.
    async fn fetch_connect_schema(&self, id: i32) -> Result<Option<Arc<Schema>>, String> {
        let s = self
            .registry
            .schema_by_id(id)
            .await
            .map_err(|e| format!("Error retrieving JSON schema for id {id}: {e}"))?;
        if s.schema_type != "JSON" {
            return Err(format!(
                "Schema {id} is a {} schema, not a JSON schema",
                s.schema_type
            ));
        }
        // A JSON Schema without a Connect form is read schemaless.
        Ok(serde_json::from_str::<Value>(&s.schema)
            .ok()
            .and_then(|j| json_schema::from_json_schema(&j).ok())
            .map(Arc::new))
    }
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
    async fn record_schemas_give_field_types_and_read_back() {
        let registry = MemoryRegistry::new();
        let c = JsonSchemaConverter::new(Side::Value, registry.clone());
        let s = Schema::structure(vec![
            crate::schema::Field::new("id", Schema::int32()),
            crate::schema::Field::new("price", Schema::decimal(2).optional()),
            crate::schema::Field::new("note", Schema::string().optional()),
        ])
        .named("Order");
        let v = json!({"id": 7, "price": "BOI="});
        let bytes = c
            .from_connect_data("orders", Some(&s), Some(&v))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&bytes[5..], br#"{"id":7,"price":12.5,"note":null}"#);
        let registered = registry.schema_by_id(1).await.unwrap().schema;
        assert!(
            registered.contains(r#""connect.type":"int32""#),
            "{registered}"
        );
        let read = c.to_connect_data("orders", Some(&bytes)).await.unwrap();
        assert_eq!(
            read.value,
            Some(json!({"id": 7, "price": "BOI=", "note": null}))
        );
        let rs = read.schema.unwrap();
        assert_eq!(rs.name.as_deref(), Some("Order"));
        assert_eq!(
            rs.field("id").unwrap().schema.ty(),
            crate::schema::Type::Int32
        );
        assert!(c
            .from_connect_data("orders", Some(&s), Some(&json!({"price": "BOI="})))
            .await
            .is_err());
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
