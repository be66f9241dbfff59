//! `io.confluent.connect.avro.AvroConverter` (`AVRO`): Avro binary in the
//! Schema Registry wire format. Writing derives the schema from the value
//! ([`Shape`]), registers it under the subject of the TopicNameStrategy
//! (`<topic>-value` / `<topic>-key`) once and caches its id; reading fetches
//! the writer's schema by the id in the bytes (cached) and decodes with it,
//! whoever wrote the record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use apache_avro::schema::{Name, Schema};
use apache_avro::types::Value as AvroValue;
use base64::Engine;
use serde_json::{Number, Value};

use super::registry::SchemaRegistry;
use super::shape::Shape;
use super::wire;
use super::{ConvertError, Side};

pub const CLASS: &str = "io.confluent.connect.avro.AvroConverter";

pub struct AvroConverter {
    side: Side,
    registry: Arc<dyn SchemaRegistry>,
    /// (subject, shape) → registered id.
    ids: Mutex<HashMap<(String, Shape), i32>>,
    /// id → writer schema.
    schemas: Mutex<HashMap<i32, Arc<Schema>>>,
}

impl AvroConverter {
    pub fn new(side: Side, registry: Arc<dyn SchemaRegistry>) -> AvroConverter {
        AvroConverter {
            side,
            registry,
            ids: Mutex::new(HashMap::new()),
            schemas: Mutex::new(HashMap::new()),
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
        let shape = Shape::of(value);
        let subject = self.side.subject(topic);
        let key = (subject, shape);
        let cached = lock(&self.ids).get(&key).copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let schema = key.1.to_avro().to_string();
                let id = self
                    .registry
                    .register(&key.0, "AVRO", &schema)
                    .await
                    .map_err(|e| ConvertError::Serialize {
                        topic: topic.to_string(),
                        reason: format!(
                            "Error registering Avro schema {schema} under subject {}: {e}",
                            key.0
                        ),
                    })?;
                lock(&self.ids).insert(key.clone(), id);
                id
            }
        };
        let mut out = wire::frame(id, &[]);
        key.1.encode_avro(value, &mut out);
        Ok(Some(out))
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
        let (id, mut payload) = wire::unframe(bytes).map_err(|e| err(e.to_string()))?;
        let schema = self.writer_schema(id).await.map_err(err)?;
        let value = apache_avro::from_avro_datum(&schema, &mut payload, None)
            .map_err(|e| err(format!("Error deserializing Avro message for id {id}: {e}")))?;
        let names = named_types(&schema);
        Ok(match to_json(value, Some(&schema), &names) {
            Value::Null => None,
            v => Some(v),
        })
    }

    async fn writer_schema(&self, id: i32) -> Result<Arc<Schema>, String> {
        if let Some(s) = lock(&self.schemas).get(&id) {
            return Ok(Arc::clone(s));
        }
        let registered = self
            .registry
            .schema_by_id(id)
            .await
            .map_err(|e| format!("Error retrieving Avro schema for id {id}: {e}"))?;
        if registered.schema_type != "AVRO" {
            return Err(format!(
                "Schema {id} is a {} schema, not Avro",
                registered.schema_type
            ));
        }
        let schema = Arc::new(
            Schema::parse_str(&registered.schema)
                .map_err(|e| format!("Schema {id} is not a valid Avro schema: {e}"))?,
        );
        lock(&self.schemas).insert(id, Arc::clone(&schema));
        Ok(schema)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Named types by full name, to follow references.
fn named_types(schema: &Schema) -> HashMap<Name, &Schema> {
    apache_avro::schema::ResolvedSchema::try_from(schema)
        .map(|r| r.get_names().clone())
        .unwrap_or_default()
}

/// An Avro value as the record model's JSON: records and maps → objects,
/// unions → their branch, enums → symbols, bytes and fixed → base64 text
/// (as Kafka Connect's JsonConverter writes bytes), decimals → decimal
/// text, logical dates and times → their numbers.
pub fn to_json(value: AvroValue, schema: Option<&Schema>, names: &HashMap<Name, &Schema>) -> Value {
    let schema = match schema {
        Some(Schema::Ref { name }) => names.get(name).copied(),
        s => s,
    };
    let b64 = |b: &[u8]| Value::String(base64::engine::general_purpose::STANDARD.encode(b));
    match value {
        AvroValue::Null => Value::Null,
        AvroValue::Boolean(b) => Value::Bool(b),
        AvroValue::Int(n) | AvroValue::Date(n) | AvroValue::TimeMillis(n) => Value::from(n),
        AvroValue::Long(n)
        | AvroValue::TimeMicros(n)
        | AvroValue::TimestampMillis(n)
        | AvroValue::TimestampMicros(n)
        | AvroValue::TimestampNanos(n)
        | AvroValue::LocalTimestampMillis(n)
        | AvroValue::LocalTimestampMicros(n)
        | AvroValue::LocalTimestampNanos(n) => Value::from(n),
        AvroValue::Float(f) => Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number),
        AvroValue::Double(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        AvroValue::Bytes(b) | AvroValue::Fixed(_, b) => b64(&b),
        AvroValue::String(s) => Value::String(s),
        AvroValue::Enum(_, s) => Value::String(s),
        AvroValue::Uuid(u) => Value::String(u.to_string()),
        AvroValue::Union(i, inner) => {
            let branch = match schema {
                Some(Schema::Union(u)) => u.variants().get(i as usize),
                _ => None,
            };
            to_json(*inner, branch, names)
        }
        AvroValue::Array(items) => {
            let item = match schema {
                Some(Schema::Array(a)) => Some(&*a.items),
                _ => None,
            };
            Value::Array(items.into_iter().map(|v| to_json(v, item, names)).collect())
        }
        AvroValue::Map(m) => {
            let values = match schema {
                Some(Schema::Map(ms)) => Some(&*ms.types),
                _ => None,
            };
            let mut entries: Vec<(String, AvroValue)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, to_json(v, values, names)))
                    .collect(),
            )
        }
        AvroValue::Record(fields) => {
            let record = match schema {
                Some(Schema::Record(r)) => Some(r),
                _ => None,
            };
            Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let fs = record
                            .and_then(|r| r.lookup.get(&k).and_then(|i| r.fields.get(*i)))
                            .map(|f| &f.schema);
                        let json = to_json(v, fs, names);
                        (k, json)
                    })
                    .collect(),
            )
        }
        AvroValue::Decimal(d) => {
            let scale = match schema {
                Some(Schema::Decimal(ds)) => ds.scale,
                _ => 0,
            };
            match <Vec<u8>>::try_from(&d) {
                Ok(bytes) => decimal_text(&bytes, scale).unwrap_or_else(|| b64(&bytes)),
                Err(_) => Value::Null,
            }
        }
        AvroValue::BigDecimal(d) => Value::String(d.to_string()),
        AvroValue::Duration(d) => b64(&<[u8; 12]>::from(d)),
    }
}

/// A big-endian two's-complement unscaled value with `scale` decimals, as
/// text (`12345`, scale 2 → `"123.45"`); `None` past 128 bits.
fn decimal_text(bytes: &[u8], scale: usize) -> Option<Value> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 16] } else { [0u8; 16] };
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    let n = i128::from_be_bytes(buf);
    let digits = n.unsigned_abs().to_string();
    let text = if scale == 0 {
        digits
    } else if digits.len() > scale {
        format!(
            "{}.{}",
            &digits[..digits.len() - scale],
            &digits[digits.len() - scale..]
        )
    } else {
        format!("0.{}{digits}", "0".repeat(scale - digits.len()))
    };
    Some(Value::String(if n < 0 { format!("-{text}") } else { text }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::registry::MemoryRegistry;
    use serde_json::json;

    fn orders() -> Value {
        json!({
            "ordertime": 1_497_014_222_380i64,
            "orderid": 18,
            "itemid": "Item_184",
            "orderunits": 6.2,
            "address": {"city": "City_61", "state": "State_41", "zipcode": 43_542}
        })
    }

    #[tokio::test]
    async fn round_trips_through_the_wire_format_and_caches_the_id() {
        let registry = MemoryRegistry::new();
        let c = AvroConverter::new(Side::Value, registry.clone());
        let bytes = c
            .serialize("orders", Some(&orders()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 1], "magic byte and id 1");
        for i in 0..3 {
            let mut v = orders();
            v["orderid"] = json!(i);
            c.serialize("orders", Some(&v)).await.unwrap();
        }
        assert_eq!(registry.registrations(), 1, "the id is cached");
        assert_eq!(registry.versions("orders-value"), vec![1]);
        let back = c.deserialize("orders", Some(&bytes)).await.unwrap();
        assert_eq!(back, Some(orders()));
        // Keys use the -key subject; nulls stay Kafka nulls.
        let k = AvroConverter::new(Side::Key, registry.clone());
        let kb = k
            .serialize("orders", Some(&json!("18")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(registry.versions("orders-key"), vec![2]);
        assert_eq!(kb[5..], [0x04, b'1', b'8']);
        assert_eq!(k.serialize("orders", None).await.unwrap(), None);
        assert_eq!(c.deserialize("orders", None).await.unwrap(), None);
    }

    #[tokio::test]
    async fn reads_bytes_from_confluents_serializer() {
        // What KafkaAvroSerializer writes for {"id": 7, "name": "Anne",
        // "side": "SELL", "price": 12.50 (decimal(5,2))} with schema id 1.
        let schema = r#"{"type":"record","name":"T","fields":[
            {"name":"id","type":"int"},
            {"name":"name","type":["null","string"],"default":null},
            {"name":"side","type":{"type":"enum","name":"Side","symbols":["BUY","SELL"]}},
            {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}},
            {"name":"raw","type":"bytes"}]}"#;
        let registry = MemoryRegistry::new();
        let id = registry.insert("AVRO", schema);
        let bytes = [
            0x00, 0x00, 0x00, 0x00, 0x01, // magic, id 1
            0x0e, // id 7
            0x02, 0x08, b'A', b'n', b'n', b'e', // union branch 1, "Anne"
            0x02, // enum index 1 = SELL
            0x04, 0x04, 0xe2, // decimal: 2 bytes, 0x04e2 = 1250
            0x04, 0xde, 0xad, // bytes
        ];
        assert_eq!(id, 1);
        let c = AvroConverter::new(Side::Value, registry);
        let v = c.deserialize("t", Some(&bytes)).await.unwrap();
        assert_eq!(
            v,
            Some(json!({"id": 7, "name": "Anne", "side": "SELL", "price": "12.50", "raw": "3q0="}))
        );
    }

    #[tokio::test]
    async fn plain_json_is_an_unknown_magic_byte() {
        let c = AvroConverter::new(Side::Value, MemoryRegistry::new());
        let err = c
            .deserialize("orders", Some(br#"{"orderid":1}"#))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("Unknown magic byte!"), "{err}");
        let err = c
            .deserialize("orders", Some(&[0, 0, 0, 0, 9, 2]))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("Schema 9 not found"), "{err}");
    }

    #[test]
    fn decimals_as_text() {
        assert_eq!(decimal_text(&[0x04, 0xe2], 2), Some(json!("12.50")));
        assert_eq!(decimal_text(&[0xfb, 0x1e], 2), Some(json!("-12.50")));
        assert_eq!(decimal_text(&[0x05], 3), Some(json!("0.005")));
        assert_eq!(decimal_text(&[0x7f], 0), Some(json!("127")));
    }
}
