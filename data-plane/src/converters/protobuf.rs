//! `io.confluent.connect.protobuf.ProtobufConverter` (`PROTOBUF`): Protobuf
//! in the Schema Registry wire format (magic byte, schema id, message
//! indexes, message). Writing derives a proto3 schema from the value
//! ([`Shape`]: objects → messages whose scalar fields are `optional`,
//! arrays → `repeated`) and registers it under `<topic>-value` /
//! `<topic>-key` once; reading compiles the writer's `.proto` from the
//! registry (cached per id, with Google's well-known imports) and decodes
//! the message the indexes name.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, ReflectMessage,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::{Number, Value};

use super::registry::SchemaRegistry;
use super::shape::{avro_name, Shape};
use super::wire;
use super::{ConvertError, Side};
use crate::schema::{Schema, SchemaAndValue};

pub const CLASS: &str = "io.confluent.connect.protobuf.ProtobufConverter";
/// The name the registry's schema is compiled under.
const FILE: &str = "schema.proto";

pub struct ProtobufConverter {
    side: Side,
    registry: Arc<dyn SchemaRegistry>,
    ids: Mutex<HashMap<(String, Shape), i32>>,
    pools: Mutex<HashMap<i32, Arc<DescriptorPool>>>,
}

impl ProtobufConverter {
    pub fn new(side: Side, registry: Arc<dyn SchemaRegistry>) -> ProtobufConverter {
        ProtobufConverter {
            side,
            registry,
            ids: Mutex::new(HashMap::new()),
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Writes with a schema derived from the value: a record's Connect
    /// schema is not used yet (see the module docs).
    pub async fn from_connect_data(
        &self,
        topic: &str,
        _schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(topic, value).await
    }

    /// Reads the message schemaless.
    pub async fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(topic, bytes)
            .await
            .map(SchemaAndValue::schemaless)
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
        let shape = Shape::of(value);
        let Shape::Struct(fields) = &shape else {
            return Err(err(
                "ProtobufConverter writes structs (JSON objects) only".to_string()
            ));
        };
        let fields = fields.clone();
        let key = (self.side.subject(topic), shape);
        let cached = lock(&self.ids).get(&key).copied();
        let id = match cached {
            Some(id) => id,
            None => {
                let schema = proto_schema(&fields);
                let id = self
                    .registry
                    .register(&key.0, "PROTOBUF", &schema)
                    .await
                    .map_err(|e| {
                        err(format!(
                            "Error registering Protobuf schema under subject {}: {e}",
                            key.0
                        ))
                    })?;
                lock(&self.ids).insert(key, id);
                id
            }
        };
        let mut out = wire::frame(id, &[]);
        wire::write_message_indexes(&mut out, &[0]);
        encode_message(&fields, value, &mut out);
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
        let (id, rest) = wire::unframe(bytes).map_err(|e| err(e.to_string()))?;
        let (indexes, payload) =
            wire::read_message_indexes(rest).map_err(|e| err(e.to_string()))?;
        let pool = self.pool(id).await.map_err(err)?;
        let desc = message_at(&pool, &indexes)
            .ok_or_else(|| err(format!("Schema {id} has no message at indexes {indexes:?}")))?;
        let msg = DynamicMessage::decode(desc, payload).map_err(|e| {
            err(format!(
                "Error deserializing Protobuf message for id {id}: {e}"
            ))
        })?;
        Ok(Some(message_json(&msg)))
    }

    async fn pool(&self, id: i32) -> Result<Arc<DescriptorPool>, String> {
        if let Some(p) = lock(&self.pools).get(&id) {
            return Ok(Arc::clone(p));
        }
        let s = self
            .registry
            .schema_by_id(id)
            .await
            .map_err(|e| format!("Error retrieving Protobuf schema for id {id}: {e}"))?;
        if s.schema_type != "PROTOBUF" {
            return Err(format!(
                "Schema {id} is a {} schema, not Protobuf",
                s.schema_type
            ));
        }
        let pool = Arc::new(compile(&s.schema).map_err(|e| format!("Schema {id}: {e}"))?);
        lock(&self.pools).insert(id, Arc::clone(&pool));
        Ok(pool)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The registry's schema text as its only file, plus Google's well-known types.
struct SchemaText(String);

impl FileResolver for SchemaText {
    fn resolve_path(&self, path: &Path) -> Option<String> {
        (path == Path::new(FILE)).then(|| FILE.to_string())
    }

    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == FILE {
            File::from_source(name, &self.0)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// Compiles a `.proto` text into descriptors.
pub fn compile(schema: &str) -> Result<DescriptorPool, String> {
    let mut resolver = ChainFileResolver::new();
    resolver.add(SchemaText(schema.to_string()));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler
        .open_file(FILE)
        .map_err(|e| format!("invalid Protobuf schema: {e}"))?;
    Ok(compiler.descriptor_pool())
}

/// The message the indexes name: the n-th top-level message, then nested ones.
fn message_at(pool: &DescriptorPool, indexes: &[i32]) -> Option<MessageDescriptor> {
    let file = pool.get_file_by_name(FILE)?;
    let (first, rest) = indexes.split_first()?;
    let top = file.messages().nth(usize::try_from(*first).ok()?)?;
    let mut desc = top;
    for i in rest {
        let child = desc.child_messages().nth(usize::try_from(*i).ok()?)?;
        desc = child;
    }
    Some(desc)
}

// ------------------------------------------------------------ writing

/// The proto3 schema of a struct shape: `ConnectDefault1` with nested
/// messages `ConnectDefault2`, … for nested structs.
pub fn proto_schema(fields: &[(String, Shape)]) -> String {
    let mut counter = 0;
    let mut out = String::from("syntax = \"proto3\";\n\n");
    message_def(fields, &mut counter, 0, &mut out);
    out
}

fn message_def(fields: &[(String, Shape)], counter: &mut u32, depth: usize, out: &mut String) {
    *counter += 1;
    let pad = "  ".repeat(depth);
    out.push_str(&format!("{pad}message ConnectDefault{counter} {{\n"));
    let mut nested = String::new();
    for (i, (name, shape)) in fields.iter().enumerate() {
        let number = i + 1;
        let field = avro_name(name);
        let decl = match field_type(strip(shape)) {
            FieldType::Scalar(t) => format!("optional {t}"),
            FieldType::Message(f) => message_type(f, counter, depth + 1, &mut nested),
            FieldType::Repeated(item) => match field_type(strip(item)) {
                FieldType::Scalar(t) => format!("repeated {t}"),
                FieldType::Message(f) => {
                    format!(
                        "repeated {}",
                        message_type(f, counter, depth + 1, &mut nested)
                    )
                }
                // Arrays of arrays: each inner array as its JSON text.
                FieldType::Repeated(_) => "repeated string".to_string(),
            },
        };
        out.push_str(&format!("{pad}  {decl} {field} = {number};\n"));
    }
    out.push_str(&nested);
    out.push_str(&format!("{pad}}}\n"));
}

fn message_type(
    fields: &[(String, Shape)],
    counter: &mut u32,
    depth: usize,
    out: &mut String,
) -> String {
    let name = format!("ConnectDefault{}", *counter + 1);
    message_def(fields, counter, depth, out);
    name
}

enum FieldType<'a> {
    Scalar(&'static str),
    Message(&'a [(String, Shape)]),
    Repeated(&'a Shape),
}

fn strip(s: &Shape) -> &Shape {
    match s {
        Shape::Optional(inner) => strip(inner),
        other => other,
    }
}

fn field_type(s: &Shape) -> FieldType<'_> {
    match s {
        Shape::Boolean => FieldType::Scalar("bool"),
        Shape::Long => FieldType::Scalar("int64"),
        Shape::Double => FieldType::Scalar("double"),
        Shape::Null | Shape::String | Shape::Optional(_) => FieldType::Scalar("string"),
        Shape::Struct(f) => FieldType::Message(f),
        Shape::Array(item) => FieldType::Repeated(item),
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_tag(out: &mut Vec<u8>, number: usize, wire_type: u8) {
    write_varint(out, ((number as u64) << 3) | u64::from(wire_type));
}

fn write_len(out: &mut Vec<u8>, number: usize, bytes: &[u8]) {
    write_tag(out, number, 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes one value of a scalar type (without its tag).
fn scalar(t: &str, v: &Value, out: &mut Vec<u8>) {
    match t {
        "bool" => out.push(u8::from(v.as_bool().unwrap_or(false))),
        "int64" => write_varint(out, v.as_i64().unwrap_or(0) as u64),
        "double" => out.extend_from_slice(&v.as_f64().unwrap_or(0.0).to_le_bytes()),
        _ => {
            let s = text(v);
            write_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// Encodes `value` as the message of `fields` (the schema of [`proto_schema`]).
pub fn encode_message(fields: &[(String, Shape)], value: &Value, out: &mut Vec<u8>) {
    for (i, (name, shape)) in fields.iter().enumerate() {
        let number = i + 1;
        let v = value.get(name).unwrap_or(&Value::Null);
        if v.is_null() {
            continue;
        }
        match field_type(strip(shape)) {
            FieldType::Scalar(t) => {
                let wire_type = match t {
                    "bool" | "int64" => 0,
                    "double" => 1,
                    _ => 2,
                };
                write_tag(out, number, wire_type);
                scalar(t, v, out);
            }
            FieldType::Message(f) => {
                let mut inner = Vec::new();
                encode_message(f, v, &mut inner);
                write_len(out, number, &inner);
            }
            FieldType::Repeated(item) => {
                let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
                match field_type(strip(item)) {
                    // Packed, as proto3 writes repeated numbers.
                    FieldType::Scalar(t @ ("bool" | "int64" | "double")) => {
                        let mut packed = Vec::new();
                        for x in items.iter().filter(|x| !x.is_null()) {
                            scalar(t, x, &mut packed);
                        }
                        if !packed.is_empty() {
                            write_len(out, number, &packed);
                        }
                    }
                    FieldType::Scalar(_) | FieldType::Repeated(_) => {
                        for x in items.iter().filter(|x| !x.is_null()) {
                            write_len(out, number, text(x).as_bytes());
                        }
                    }
                    FieldType::Message(f) => {
                        for x in items.iter().filter(|x| !x.is_null()) {
                            let mut inner = Vec::new();
                            encode_message(f, x, &mut inner);
                            write_len(out, number, &inner);
                        }
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------ reading

/// A decoded message as the record model's JSON: fields by name; unset
/// messages and unset `optional` scalars are null, other unset scalars their
/// default (as proto3 reads them); enums by name; bytes as base64; Google's
/// wrapper types as their value.
pub fn message_json(msg: &DynamicMessage) -> Value {
    let desc = msg.descriptor();
    if desc.full_name().starts_with("google.protobuf.") && desc.full_name().ends_with("Value") {
        if let Some(f) = desc.get_field_by_name("value") {
            return value_json(&msg.get_field(&f), &f.kind());
        }
    }
    let mut out = serde_json::Map::new();
    for f in desc.fields() {
        let unset = !msg.has_field(&f);
        let v = if unset
            && (f.supports_presence()
                || matches!(f.kind(), Kind::Message(_)) && !f.is_list() && !f.is_map())
        {
            Value::Null
        } else {
            value_json(&msg.get_field(&f), &f.kind())
        };
        out.insert(f.name().to_string(), v);
    }
    Value::Object(out)
}

fn value_json(v: &prost_reflect::Value, kind: &Kind) -> Value {
    use prost_reflect::Value as P;
    let float = |f: f64| Number::from_f64(f).map_or(Value::Null, Value::Number);
    match v {
        P::Bool(b) => Value::Bool(*b),
        P::I32(n) => Value::from(*n),
        P::I64(n) => Value::from(*n),
        P::U32(n) => Value::from(*n),
        P::U64(n) => Value::from(*n),
        P::F32(f) => float(f64::from(*f)),
        P::F64(f) => float(*f),
        P::String(s) => Value::String(s.clone()),
        P::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        P::EnumNumber(n) => match kind {
            Kind::Enum(e) => e
                .get_value(*n)
                .map(|ev| Value::String(ev.name().to_string()))
                .unwrap_or_else(|| Value::from(*n)),
            _ => Value::from(*n),
        },
        P::Message(m) => message_json(m),
        P::List(items) => Value::Array(items.iter().map(|x| value_json(x, kind)).collect()),
        P::Map(m) => {
            let value_kind = match kind {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let mut entries: Vec<(String, Value)> = m
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        MapKey::Bool(b) => b.to_string(),
                        MapKey::I32(n) => n.to_string(),
                        MapKey::I64(n) => n.to_string(),
                        MapKey::U32(n) => n.to_string(),
                        MapKey::U64(n) => n.to_string(),
                        MapKey::String(s) => s.clone(),
                    };
                    (key, value_json(v, &value_kind))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
    }
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
            "address": {"city": "City_61", "state": "State_41", "zipcode": 43_542},
            "tags": ["a", "b"],
            "scores": [1, -2],
            "flag": false
        })
    }

    #[test]
    fn derived_schemas_compile() {
        let Shape::Struct(fields) = Shape::of(&orders()) else {
            panic!()
        };
        let schema = proto_schema(&fields);
        assert!(schema.starts_with("syntax = \"proto3\";"), "{schema}");
        assert!(schema.contains("optional int64 orderid"), "{schema}");
        assert!(schema.contains("ConnectDefault2 address"), "{schema}");
        assert!(schema.contains("repeated int64 scores"), "{schema}");
        let pool = compile(&schema).unwrap();
        let desc = message_at(&pool, &[0]).unwrap();
        assert_eq!(desc.name(), "ConnectDefault1");
        assert_eq!(
            message_at(&pool, &[0, 0]).unwrap().name(),
            "ConnectDefault2"
        );
        assert!(message_at(&pool, &[1]).is_none());
        assert!(compile("message {").is_err());
    }

    #[tokio::test]
    async fn round_trips_with_message_indexes() {
        let registry = MemoryRegistry::new();
        let c = ProtobufConverter::new(Side::Value, registry.clone());
        let bytes = c
            .serialize("orders", Some(&orders()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&bytes[..6], &[0, 0, 0, 0, 1, 0], "magic, id 1, indexes [0]");
        c.serialize("orders", Some(&orders())).await.unwrap();
        assert_eq!(registry.registrations(), 1);
        assert_eq!(
            registry.schema_by_id(1).await.unwrap().schema_type,
            "PROTOBUF"
        );
        let back = c.deserialize("orders", Some(&bytes)).await.unwrap();
        assert_eq!(back, Some(orders()));
        // Missing and null fields read back as null.
        let sparse = json!({"orderid": 0, "itemid": null});
        let b = c.serialize("orders", Some(&sparse)).await.unwrap().unwrap();
        assert_eq!(
            c.deserialize("orders", Some(&b)).await.unwrap(),
            Some(json!({"orderid": 0, "itemid": null}))
        );
        let err = c
            .deserialize("orders", Some(b"{}"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("Unknown magic byte!"), "{err}");
        assert!(c.serialize("orders", Some(&json!("x"))).await.is_err());
    }

    #[tokio::test]
    async fn reads_confluent_bytes_of_a_nested_message() {
        // A schema a Java producer registered: the record is the second
        // top-level message's first nested message (indexes [1, 0]).
        let registry = MemoryRegistry::new();
        let id = registry.insert(
            "PROTOBUF",
            r#"syntax = "proto3";
package shop;
import "google/protobuf/wrappers.proto";
message Unused { string x = 1; }
message Outer {
  message Order { int32 id = 1; Side side = 2; google.protobuf.StringValue note = 3; map<string, int64> counts = 4; }
  enum Side { BUY = 0; SELL = 1; }
}"#,
        );
        let mut bytes = wire::frame(id, &[]);
        wire::write_message_indexes(&mut bytes, &[1, 0]);
        // id = 7, side = SELL, note = "hi", counts {"a": 2}
        bytes.extend_from_slice(&[0x08, 0x07, 0x10, 0x01, 0x1a, 0x04, 0x0a, 0x02, b'h', b'i']);
        bytes.extend_from_slice(&[0x22, 0x05, 0x0a, 0x01, b'a', 0x10, 0x02]);
        let c = ProtobufConverter::new(Side::Value, registry);
        let v = c.deserialize("t", Some(&bytes)).await.unwrap();
        assert_eq!(
            v,
            Some(json!({"id": 7, "side": "SELL", "note": "hi", "counts": {"a": 2}}))
        );
    }
}
