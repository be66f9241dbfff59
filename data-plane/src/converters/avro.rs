//! `io.confluent.connect.avro.AvroConverter` (`AVRO`): Avro binary in the
//! Schema Registry wire format.
//!
//! Writing a record with a Connect schema converts it to Avro as
//! Confluent's `AvroData` does ([`crate::schema::to_avro`]); a schemaless
//! record gets a schema derived from its value ([`Shape`]). The schema is
//! registered under the subject of the TopicNameStrategy (`<topic>-value` /
//! `<topic>-key`) once and its id cached. Reading fetches the writer's
//! schema by the id in the bytes (cached), decodes with it, whoever wrote
//! the record, and gives the record the writer's schema as a Connect schema
//! ([`crate::schema::from_avro`]).

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::schema::{Name, Schema as AvroSchema};
use apache_avro::types::Value as AvroValue;
use serde_json::{Number, Value};

use super::registry::{SchemaRegistry, SchemasById, SubjectIds};
use super::shape::{write_long, Shape};
use super::wire;
use super::{ConvertError, Side};
use crate::schema::{self, decimal, Kind, Logical, Schema, SchemaAndValue, Type};

pub const CLASS: &str = "io.confluent.connect.avro.AvroConverter";

/// A registered writer schema, parsed once.
struct Writer {
    avro: AvroSchema,
    connect: Option<Arc<Schema>>,
    /// `avro`'s named types, resolved once rather than per record.
    names: HashMap<Name, AvroSchema>,
}

pub struct AvroConverter {
    side: Side,
    registry: Arc<dyn SchemaRegistry>,
    /// Registered ids of shapes, for schemaless records.
    ids: SubjectIds<Shape>,
    /// Registered ids of Connect schemas.
    schema_ids: SubjectIds<Schema>,
    schemas: SchemasById<Arc<Writer>>,
}

impl AvroConverter {
    pub fn new(side: Side, registry: Arc<dyn SchemaRegistry>) -> AvroConverter {
        AvroConverter {
            side,
            registry,
            ids: SubjectIds::new(),
            schema_ids: SubjectIds::new(),
            schemas: SchemasById::new(),
        }
    }

    /// Writes a schemaless value.
    pub async fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.from_connect_data(topic, None, value).await
    }

    pub async fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        Ok(self.to_connect_data(topic, bytes).await?.value)
    }

    pub async fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
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
        let Some(schema) = schema else {
            let shape = Shape::of(value);
            let id = self
                .ids
                .get_or_register(&subject, &shape, || {
                    self.register(&subject, shape.to_avro())
                })
                .await
                .map_err(err)?;
            let mut out = wire::frame(id, &[]);
            shape.encode_avro(value, &mut out);
            return Ok(Some(out));
        };
        let value =
            schema::conform(schema, value.clone(), "the value").map_err(|e| err(e.to_string()))?;
        let id = self
            .schema_ids
            .get_or_register(&subject, schema, || async {
                let avro = schema::to_avro(schema).map_err(|e| e.to_string())?;
                self.register(&subject, avro).await
            })
            .await
            .map_err(err)?;
        let mut out = wire::frame(id, &[]);
        encode(schema, &value, false, &mut out).map_err(err)?;
        Ok(Some(out))
    }

    async fn register(&self, subject: &str, avro: Value) -> Result<i32, String> {
        let text = avro.to_string();
        self.registry
            .register(subject, "AVRO", &text)
            .await
            .map_err(|e| {
                format!("Error registering Avro schema {text} under subject {subject}: {e}")
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
        let (id, mut payload) = wire::unframe(bytes).map_err(|e| err(e.to_string()))?;
        let writer = self.writer_schema(id).await.map_err(err)?;
        let value = apache_avro::from_avro_datum(&writer.avro, &mut payload, None)
            .map_err(|e| err(format!("Error deserializing Avro message for id {id}: {e}")))?;
        let value = to_json(
            value,
            Some(&writer.avro),
            writer.connect.as_deref(),
            &writer.names,
        );
        Ok(SchemaAndValue {
            schema: writer.connect.clone(),
            value: Some(value).filter(|v| !v.is_null()),
        })
    }

    async fn writer_schema(&self, id: i32) -> Result<Arc<Writer>, String> {
        self.schemas
            .get_or_fetch(id, || self.fetch_writer_schema(id))
            .await
    }

    async fn fetch_writer_schema(&self, id: i32) -> Result<Arc<Writer>, String> {
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
        let avro = AvroSchema::parse_str(&registered.schema)
            .map_err(|e| format!("Schema {id} is not a valid Avro schema: {e}"))?;
        // A schema Connect cannot represent (a recursive record) is still
        // read, schemaless.
        let connect = serde_json::from_str::<Value>(&registered.schema)
            .ok()
            .and_then(|json| match schema::from_avro(&json) {
                Ok(s) => Some(Arc::new(s)),
                Err(e) => {
                    tracing::warn!(id, error = %e, "Avro schema has no Connect form; reading its records schemaless");
                    None
                }
            });
        let names = named_types(&avro);
        Ok(Arc::new(Writer {
            avro,
            connect,
            names,
        }))
    }
}

/// Named types by full name, to follow references.
fn named_types(schema: &AvroSchema) -> HashMap<Name, AvroSchema> {
    apache_avro::schema::ResolvedSchema::try_from(schema)
        .map(|r| {
            r.get_names()
                .iter()
                .map(|(n, s)| (n.clone(), (*s).clone()))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------ reading

/// An Avro value in the record model's encoding ([`crate::schema`]):
/// records and maps → objects, unions of null and a type → the value,
/// other unions → Confluent's union struct (one field per branch), enums →
/// symbols, bytes, fixed and decimals → base64, dates and times → their
/// numbers. `connect` is the Connect form of `schema`, when there is one.
pub fn to_json(
    value: AvroValue,
    schema: Option<&AvroSchema>,
    connect: Option<&Schema>,
    names: &HashMap<Name, AvroSchema>,
) -> Value {
    let schema = match schema {
        Some(AvroSchema::Ref { name }) => names.get(name),
        s => s,
    };
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
        AvroValue::Bytes(b) | AvroValue::Fixed(_, b) => schema::encode_bytes(&b),
        AvroValue::String(s) => Value::String(s),
        AvroValue::Enum(_, s) => Value::String(s),
        AvroValue::Uuid(u) => Value::String(u.to_string()),
        AvroValue::Union(i, inner) => {
            let variants = match schema {
                Some(AvroSchema::Union(u)) => u.variants(),
                _ => &[],
            };
            let branch = variants.get(i as usize);
            match connect.filter(|c| c.name.as_deref() == Some(schema::avro::UNION)) {
                // Confluent's union struct: the branch's field set, the others null.
                Some(c) if variants.len() > 2 || !variants.iter().any(is_null) => {
                    let member = branch.map(|b| member_name(b, names)).unwrap_or_default();
                    let mut out = serde_json::Map::new();
                    for f in c.fields() {
                        let v = if f.name == member {
                            to_json((*inner).clone(), branch, Some(&f.schema), names)
                        } else {
                            Value::Null
                        };
                        out.insert(f.name.clone(), v);
                    }
                    if matches!(*inner, AvroValue::Null) {
                        Value::Null
                    } else {
                        Value::Object(out)
                    }
                }
                _ => to_json(*inner, branch, connect, names),
            }
        }
        AvroValue::Array(items) => {
            let item = match schema {
                Some(AvroSchema::Array(a)) => Some(&*a.items),
                _ => None,
            };
            match connect.map(|c| &c.kind) {
                // Confluent's MapEntry records: a map with non-string keys.
                Some(Kind::Map(k, v)) => {
                    let (ks, vs) = (Arc::clone(k), Arc::clone(v));
                    let entry = item.map(|i| match i {
                        AvroSchema::Ref { name } => names.get(name).unwrap_or(i),
                        other => other,
                    });
                    let field_schema = |n: &str| match entry {
                        Some(AvroSchema::Record(r)) => r
                            .lookup
                            .get(n)
                            .and_then(|i| r.fields.get(*i))
                            .map(|f| &f.schema),
                        _ => None,
                    };
                    let (kas, vas) = (field_schema("key"), field_schema("value"));
                    let pairs = items.into_iter().map(|e| {
                        let mut key = Value::Null;
                        let mut val = Value::Null;
                        if let AvroValue::Record(fields) = e {
                            for (n, x) in fields {
                                match n.as_str() {
                                    "key" => key = to_json(x, kas, Some(&ks), names),
                                    "value" => val = to_json(x, vas, Some(&vs), names),
                                    _ => {}
                                }
                            }
                        }
                        (key, val)
                    });
                    if ks.ty() == Type::String {
                        Value::Object(
                            pairs
                                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
                                .collect(),
                        )
                    } else {
                        Value::Array(pairs.map(|(k, v)| Value::Array(vec![k, v])).collect())
                    }
                }
                _ => {
                    let citem = match connect.map(|c| &c.kind) {
                        Some(Kind::Array(i)) => Some(&**i),
                        _ => None,
                    };
                    Value::Array(
                        items
                            .into_iter()
                            .map(|v| to_json(v, item, citem, names))
                            .collect(),
                    )
                }
            }
        }
        AvroValue::Map(m) => {
            let values = match schema {
                Some(AvroSchema::Map(ms)) => Some(&*ms.types),
                _ => None,
            };
            let cvalues = match connect.map(|c| &c.kind) {
                Some(Kind::Map(_, v)) => Some(&**v),
                _ => None,
            };
            let mut entries: Vec<(String, AvroValue)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, to_json(v, values, cvalues, names)))
                    .collect(),
            )
        }
        AvroValue::Record(fields) => {
            let record = match schema {
                Some(AvroSchema::Record(r)) => Some(r),
                _ => None,
            };
            Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let fs = record
                            .and_then(|r| r.lookup.get(&k).and_then(|i| r.fields.get(*i)))
                            .map(|f| &f.schema);
                        let cs = connect.and_then(|c| c.field(&k)).map(|f| &*f.schema);
                        let json = to_json(v, fs, cs, names);
                        (k, json)
                    })
                    .collect(),
            )
        }
        AvroValue::Decimal(d) => match <Vec<u8>>::try_from(&d) {
            Ok(bytes) => schema::encode_bytes(&bytes),
            Err(_) => Value::Null,
        },
        AvroValue::BigDecimal(d) => {
            let scale = match connect.and_then(Schema::logical) {
                Some(Logical::Decimal { scale }) => scale,
                _ => 0,
            };
            decimal::from_text(&d.to_string(), scale)
                .map(|b| schema::encode_bytes(&b))
                .unwrap_or_else(|_| Value::String(d.to_string()))
        }
        AvroValue::Duration(d) => schema::encode_bytes(&<[u8; 12]>::from(d)),
    }
}

fn is_null(s: &AvroSchema) -> bool {
    matches!(s, AvroSchema::Null)
}

/// The Connect union field a branch maps to (AvroData's
/// `unionMemberFieldName`): a record's or enum's name, else the Avro type.
fn member_name(schema: &AvroSchema, names: &HashMap<Name, AvroSchema>) -> String {
    match schema {
        AvroSchema::Ref { name } => names
            .get(name)
            .map(|s| member_name(s, names))
            .unwrap_or_else(|| name.name.clone()),
        AvroSchema::Record(r) => r.name.name.clone(),
        AvroSchema::Enum(e) => e.name.name.clone(),
        AvroSchema::Null => "null".into(),
        AvroSchema::Boolean => "boolean".into(),
        AvroSchema::Int | AvroSchema::Date | AvroSchema::TimeMillis => "int".into(),
        AvroSchema::Long
        | AvroSchema::TimeMicros
        | AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros
        | AvroSchema::TimestampNanos
        | AvroSchema::LocalTimestampMillis
        | AvroSchema::LocalTimestampMicros
        | AvroSchema::LocalTimestampNanos => "long".into(),
        AvroSchema::Float => "float".into(),
        AvroSchema::Double => "double".into(),
        AvroSchema::Bytes | AvroSchema::BigDecimal => "bytes".into(),
        AvroSchema::String | AvroSchema::Uuid => "string".into(),
        AvroSchema::Decimal(d) => match *d.inner {
            AvroSchema::Fixed(_) => "fixed".into(),
            _ => "bytes".into(),
        },
        AvroSchema::Array(_) => "array".into(),
        AvroSchema::Map(_) => "map".into(),
        _ => "fixed".into(),
    }
}

// ------------------------------------------------------------ writing

/// Writes `value` (conformed to `schema`) in the Avro binary encoding of
/// [`schema::to_avro`]`(schema)`. `ignore_optional` leaves out the null
/// union (for the branches of a union struct).
pub fn encode(
    schema: &Schema,
    value: &Value,
    ignore_optional: bool,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let is_union =
        schema.ty() == Type::Struct && schema.name.as_deref() == Some(schema::avro::UNION);
    if is_union {
        let offset = i64::from(schema.optional);
        if value.is_null() {
            if schema.optional {
                write_long(out, 0);
                return Ok(());
            }
            return Err("a null value for a required Avro union".into());
        }
        let set = schema
            .fields()
            .iter()
            .enumerate()
            .find(|(_, f)| value.get(&f.name).is_some_and(|v| !v.is_null()));
        let Some((i, f)) = set else {
            return Err(format!("no branch of the union is set in {value}"));
        };
        write_long(out, i as i64 + offset);
        return encode(
            &f.schema,
            value.get(&f.name).unwrap_or(&Value::Null),
            true,
            out,
        );
    }
    if schema.optional && !ignore_optional {
        // ["null", T], or [T, "null"] when the schema has a default.
        let (null_index, value_index) = if schema.default.is_some() {
            (1, 0)
        } else {
            (0, 1)
        };
        if value.is_null() {
            write_long(out, null_index);
            return Ok(());
        }
        write_long(out, value_index);
    } else if value.is_null() {
        return Err(format!(
            "a null value for a required {} field",
            schema.ty().name().to_ascii_uppercase()
        ));
    }
    let mismatch = || {
        format!(
            "{value} is not a valid {} value",
            schema.ty().name().to_ascii_uppercase()
        )
    };
    match &schema.kind {
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => {
            write_long(out, value.as_i64().ok_or_else(mismatch)?)
        }
        Kind::Float32 => {
            let f = value.as_f64().ok_or_else(mismatch)? as f32;
            out.extend_from_slice(&f.to_le_bytes());
        }
        Kind::Float64 => out.extend_from_slice(&value.as_f64().ok_or_else(mismatch)?.to_le_bytes()),
        Kind::Boolean => out.push(u8::from(value.as_bool().ok_or_else(mismatch)?)),
        Kind::String => {
            let s = value.as_str().ok_or_else(mismatch)?;
            match schema.parameter(schema::avro::ENUM) {
                Some(enum_name) => {
                    let prefix = format!("{}.", schema::avro::ENUM);
                    let index = schema
                        .parameters
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .position(|(_, v)| v == s)
                        .ok_or_else(|| format!("{s:?} is not a symbol of enum {enum_name}"))?;
                    write_long(out, index as i64);
                }
                None => write_bytes(out, s.as_bytes()),
            }
        }
        Kind::Bytes => {
            let bytes = match schema.logical() {
                Some(Logical::Decimal { scale }) => decimal::unscaled_bytes(value, scale)?,
                _ => schema::decode_bytes(value).ok_or_else(mismatch)?,
            };
            match schema
                .parameter("connect.fixed.size")
                .and_then(|s| s.parse::<usize>().ok())
            {
                Some(size) => {
                    let fixed = if schema.logical().is_some() {
                        decimal::fit(&bytes, size)
                    } else {
                        Some(bytes).filter(|b| b.len() == size)
                    };
                    out.extend_from_slice(&fixed.ok_or_else(|| {
                        format!("{value} does not fit an Avro fixed of {size} bytes")
                    })?);
                }
                None => write_bytes(out, &bytes),
            }
        }
        Kind::Array(items) => {
            let list = value.as_array().ok_or_else(mismatch)?;
            if !list.is_empty() {
                write_long(out, list.len() as i64);
                for v in list {
                    encode(items, v, false, out)?;
                }
            }
            write_long(out, 0);
        }
        Kind::Map(keys, values) if keys.ty() == Type::String && !keys.optional => {
            let map = value.as_object().ok_or_else(mismatch)?;
            if !map.is_empty() {
                write_long(out, map.len() as i64);
                for (k, v) in map {
                    write_bytes(out, k.as_bytes());
                    encode(values, v, false, out)?;
                }
            }
            write_long(out, 0);
        }
        Kind::Map(keys, values) => {
            // An array of MapEntry records.
            let pairs: Vec<(Value, &Value)> = match value {
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| (Value::String(k.clone()), v))
                    .collect(),
                Value::Array(list) => list
                    .iter()
                    .map(|p| match p.as_array().map(Vec::as_slice) {
                        Some([k, v]) => Ok((k.clone(), v)),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(mismatch()),
            };
            if !pairs.is_empty() {
                write_long(out, pairs.len() as i64);
                for (k, v) in pairs {
                    encode(keys, &k, false, out)?;
                    encode(values, v, false, out)?;
                }
            }
            write_long(out, 0);
        }
        Kind::Struct(fields) => {
            let map = value.as_object().ok_or_else(mismatch)?;
            for f in fields {
                encode(
                    &f.schema,
                    map.get(&f.name).unwrap_or(&Value::Null),
                    false,
                    out,
                )
                .map_err(|e| format!("field {}: {e}", f.name))?;
            }
        }
    }
    Ok(())
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
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
            Some(json!({"id": 7, "name": "Anne", "side": "SELL", "price": "BOI=", "raw": "3q0="}))
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

    #[tokio::test]
    async fn schemas_round_trip_to_confluents_bytes() {
        // A record with an int32, a date, a timestamp, a decimal, an enum
        // and an optional long, as KafkaAvroSerializer writes it. Deriving
        // the schema from the value would have written longs, text and no
        // union: the Connect schema read with the record keeps the bytes.
        let schema = r#"{"type":"record","name":"Payment","namespace":"shop","fields":[
            {"name":"id","type":"int"},
            {"name":"day","type":{"type":"int","logicalType":"date"}},
            {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
            {"name":"side","type":{"type":"enum","name":"Side","symbols":["BUY","SELL"]}},
            {"name":"ref","type":["null","long"],"default":null},
            {"name":"either","type":["int","string"]}]}"#;
        let registry = MemoryRegistry::new();
        let id = registry.insert("AVRO", schema);
        let mut bytes = wire::frame(id, &[]);
        bytes.extend_from_slice(&[
            0x0e, // id 7
            0xf0, 0xa8, 0x02, // day 19000
            0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, // at 1_700_000_000_000
            0x04, 0x04, 0xe2, // amount 12.50
            0x02, // SELL
            0x00, // ref null
            0x02, 0x04, b'h', b'i', // either: branch 1 (string) "hi"
        ]);
        let c = AvroConverter::new(Side::Value, registry.clone());
        let read = c.to_connect_data("payments", Some(&bytes)).await.unwrap();
        let s = read
            .schema
            .clone()
            .expect("the writer's schema as a Connect schema");
        assert_eq!(s.name.as_deref(), Some("shop.Payment"));
        let ty = |n: &str| s.field(n).map(|f| (f.schema.ty(), f.schema.logical()));
        assert_eq!(ty("id"), Some((Type::Int32, None)));
        assert_eq!(ty("day"), Some((Type::Int32, Some(Logical::Date))));
        assert_eq!(ty("at"), Some((Type::Int64, Some(Logical::Timestamp))));
        assert_eq!(
            ty("amount"),
            Some((Type::Bytes, Some(Logical::Decimal { scale: 2 })))
        );
        assert!(s.field("ref").unwrap().schema.optional);
        assert_eq!(
            read.value,
            Some(json!({
                "id": 7, "day": 19000, "at": 1_700_000_000_000i64, "amount": "BOI=",
                "side": "SELL", "ref": null, "either": {"int": null, "string": "hi"}
            }))
        );
        let written = c
            .from_connect_data("copy", read.schema.as_deref(), read.value.as_ref())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(written[5..], bytes[5..], "the same Avro datum");
        let registered = registry
            .schema_by_id(i32::from_be_bytes([
                written[1], written[2], written[3], written[4],
            ]))
            .await
            .unwrap();
        let parsed = AvroSchema::parse_str(&registered.schema).unwrap();
        assert_eq!(
            parsed.canonical_form(),
            AvroSchema::parse_str(schema).unwrap().canonical_form()
        );
        // Read back with Confluent's own view of the written schema.
        let again = c.to_connect_data("copy", Some(&written)).await.unwrap();
        assert_eq!(again.value, read.value);
        // Values that do not fit the schema are refused, naming the field.
        let mut bad = read.value.clone().unwrap();
        bad["side"] = json!("HOLD");
        let err = c
            .from_connect_data("copy", read.schema.as_deref(), Some(&bad))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("side") && err.contains("HOLD"), "{err}");
    }
}
