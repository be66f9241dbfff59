//! `io.confluent.connect.protobuf.ProtobufConverter` (`PROTOBUF`): Protobuf
//! in the Schema Registry wire format (magic byte, schema id, message
//! indexes, message). Writing a record with a Connect struct schema gives a
//! proto3 message of the schema's field types (`INT8`…`INT32`, `Date` and
//! `Time` → `int32`, `INT64` → `int64`, `FLOAT32` → `float`, `FLOAT64` →
//! `double`, `BYTES` → `bytes`, `Timestamp` → `google.protobuf.Timestamp`,
//! `Decimal` → its decimal text as a `string`, arrays → `repeated`, maps →
//! `map`, structs → nested messages, optional fields → proto3 `optional`);
//! a schemaless record gets one derived from the value ([`Shape`]: objects →
//! messages whose scalar fields are `optional`, arrays → `repeated`). The
//! schema is registered under `<topic>-value` / `<topic>-key` once. Reading
//! compiles the writer's `.proto` from the registry (cached per id, with
//! Google's well-known imports), decodes the message the indexes name and
//! gives the record the message's Connect schema (every field optional, as
//! proto3 fields may be absent; map keys as strings; wrapper types as their
//! optional primitive; `google.protobuf.Timestamp` as `Timestamp`). A
//! message using other well-known types is read schemaless.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, ReflectMessage,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use serde_json::{Number, Value};

use super::registry::{SchemaRegistry, SchemasById, SubjectIds};
use super::shape::{avro_name, Shape};
use super::wire;
use super::{ConvertError, Side};
use crate::schema::{self as cs, Logical, Schema, SchemaAndValue};

pub const CLASS: &str = "io.confluent.connect.protobuf.ProtobufConverter";
/// The name the registry's schema is compiled under.
const FILE: &str = "schema.proto";

pub struct ProtobufConverter {
    side: Side,
    registry: Arc<dyn SchemaRegistry>,
    ids: SubjectIds<Shape>,
    schema_ids: SubjectIds<Schema>,
    pools: SchemasById<Arc<DescriptorPool>>,
}

impl ProtobufConverter {
    pub fn new(side: Side, registry: Arc<dyn SchemaRegistry>) -> ProtobufConverter {
        ProtobufConverter {
            side,
            registry,
            ids: SubjectIds::new(),
            schema_ids: SubjectIds::new(),
            pools: SchemasById::new(),
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
        if schema.ty() != cs::Type::Struct {
            return Err(err(format!(
                "ProtobufConverter writes structs only, not {}",
                schema.ty().name().to_ascii_uppercase()
            )));
        }
        let value =
            cs::conform(schema, value.clone(), "the value").map_err(|e| err(e.to_string()))?;
        let subject = self.side.subject(topic);
        let id = self
            .schema_ids
            .get_or_register(&subject, schema, || async {
                self.register(&subject, connect_proto(schema)?).await
            })
            .await
            .map_err(err)?;
        let mut out = wire::frame(id, &[]);
        wire::write_message_indexes(&mut out, &[0]);
        encode_struct(schema, &value, &mut out).map_err(err)?;
        Ok(Some(out))
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
        let (id, rest) = wire::unframe(bytes).map_err(|e| err(e.to_string()))?;
        let (indexes, payload) =
            wire::read_message_indexes(rest).map_err(|e| err(e.to_string()))?;
        let pool = self.pool(id).await.map_err(err)?;
        let desc = message_at(&pool, &indexes)
            .ok_or_else(|| err(format!("Schema {id} has no message at indexes {indexes:?}")))?;
        let msg = DynamicMessage::decode(desc.clone(), payload).map_err(|e| {
            err(format!(
                "Error deserializing Protobuf message for id {id}: {e}"
            ))
        })?;
        let schema = message_schema(&desc, 0).ok().map(std::sync::Arc::new);
        Ok(SchemaAndValue {
            schema,
            value: Some(message_json(&msg)),
        })
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
        let shape = Shape::of(value);
        let Shape::Struct(fields) = &shape else {
            return Err(err(
                "ProtobufConverter writes structs (JSON objects) only".to_string()
            ));
        };
        let subject = self.side.subject(topic);
        let id = self
            .ids
            .get_or_register(&subject, &shape, || {
                self.register(&subject, proto_schema(fields))
            })
            .await
            .map_err(err)?;
        let mut out = wire::frame(id, &[]);
        wire::write_message_indexes(&mut out, &[0]);
        encode_message(fields, value, &mut out);
        Ok(Some(out))
    }

    async fn register(&self, subject: &str, proto: String) -> Result<i32, String> {
        self.registry
            .register(subject, "PROTOBUF", &proto)
            .await
            .map_err(|e| format!("Error registering Protobuf schema under subject {subject}: {e}"))
    }

    async fn pool(&self, id: i32) -> Result<Arc<DescriptorPool>, String> {
        self.pools.get_or_fetch(id, || self.fetch_pool(id)).await
    }

    async fn fetch_pool(&self, id: i32) -> Result<Arc<DescriptorPool>, String> {
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
        Ok(Arc::new(
            compile(&s.schema).map_err(|e| format!("Schema {id}: {e}"))?,
        ))
    }
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

// ------------------------------------------------------------ Connect schemas

const TIMESTAMP: &str = "google.protobuf.Timestamp";

/// A proto3 schema for a Connect struct schema.
fn connect_proto(schema: &Schema) -> Result<String, String> {
    let full = schema
        .name
        .clone()
        .unwrap_or_else(|| "ConnectDefault1".into());
    let (package, name) = match full.rsplit_once('.') {
        Some((p, n)) => (Some(p.to_string()), n.to_string()),
        None => (None, full),
    };
    let mut body = String::new();
    let mut counter = 1;
    let mut uses_timestamp = false;
    proto_message(
        schema,
        &avro_name(&name),
        0,
        &mut counter,
        &mut uses_timestamp,
        &mut body,
    )?;
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(p) = package {
        let p: Vec<String> = p.split('.').map(avro_name).collect();
        out.push_str(&format!("package {};\n", p.join(".")));
    }
    if uses_timestamp {
        out.push_str("import \"google/protobuf/timestamp.proto\";\n");
    }
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}

fn proto_message<'s>(
    schema: &'s Schema,
    name: &str,
    depth: usize,
    counter: &mut u32,
    uses_timestamp: &mut bool,
    out: &mut String,
) -> Result<(), String> {
    let pad = "  ".repeat(depth);
    out.push_str(&format!("{pad}message {name} {{\n"));
    let mut nested = String::new();
    // The messages defined in this scope: a struct schema used by several
    // fields (a change event's `before` and `after`) is defined once.
    let mut defined: Vec<(String, &'s Schema)> = Vec::new();
    for (i, f) in schema.fields().iter().enumerate() {
        let mut message = |s: &'s Schema, nested: &mut String| -> Result<String, String> {
            if let Some((n, _)) = defined.iter().find(|(_, d)| *d == s) {
                return Ok(n.clone());
            }
            *counter += 1;
            // Message names share their scope with the fields: a struct field
            // `address` of type `…orders.address` needs another name, so
            // message names are upper camel case (`Address`), which field
            // names (lower snake case by convention) do not collide with.
            let n = match &s.name {
                Some(full) => upper_camel(&avro_name(full.rsplit('.').next().unwrap_or(full))),
                None => format!("ConnectDefault{counter}"),
            };
            // Another struct of the same name in this scope gets a name of its own.
            let n = if defined.iter().any(|(d, _)| *d == n) {
                format!("{n}{counter}")
            } else {
                n
            };
            proto_message(s, &n, depth + 1, counter, uses_timestamp, nested)?;
            defined.push((n.clone(), s));
            Ok(n)
        };
        let decl = match &f.schema.kind {
            cs::Kind::Array(items) => match &items.kind {
                cs::Kind::Struct(_) => format!("repeated {}", message(items, &mut nested)?),
                cs::Kind::Array(_) | cs::Kind::Map(..) => {
                    return Err(format!(
                        "field {}: Protobuf has no repeated {}",
                        f.name,
                        items.ty().name()
                    ))
                }
                _ => format!("repeated {}", proto_scalar(items, uses_timestamp)),
            },
            cs::Kind::Map(k, v) => {
                let key = match k.kind {
                    cs::Kind::String => "string",
                    cs::Kind::Int8 | cs::Kind::Int16 | cs::Kind::Int32 => "int32",
                    cs::Kind::Int64 => "int64",
                    cs::Kind::Boolean => "bool",
                    _ => {
                        return Err(format!(
                            "field {}: a Protobuf map key cannot be {}",
                            f.name,
                            k.ty().name()
                        ))
                    }
                };
                let value = match &v.kind {
                    cs::Kind::Struct(_) => message(v, &mut nested)?,
                    cs::Kind::Array(_) | cs::Kind::Map(..) => {
                        return Err(format!(
                            "field {}: a Protobuf map value cannot be {}",
                            f.name,
                            v.ty().name()
                        ))
                    }
                    _ => proto_scalar(v, uses_timestamp),
                };
                format!("map<{key}, {value}>")
            }
            cs::Kind::Struct(_) => message(&f.schema, &mut nested)?,
            _ if f.schema.optional && f.schema.logical() != Some(Logical::Timestamp) => {
                format!("optional {}", proto_scalar(&f.schema, uses_timestamp))
            }
            _ => proto_scalar(&f.schema, uses_timestamp),
        };
        out.push_str(&format!(
            "{pad}  {decl} {} = {};\n",
            avro_name(&f.name),
            i + 1
        ));
    }
    out.push_str(&nested);
    out.push_str(&format!("{pad}}}\n"));
    Ok(())
}

/// `address` → `Address`, `line_item` → `LineItem`.
fn upper_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'M');
    }
    out
}

fn proto_scalar(schema: &Schema, uses_timestamp: &mut bool) -> String {
    match (schema.logical(), &schema.kind) {
        (Some(Logical::Timestamp), _) => {
            *uses_timestamp = true;
            TIMESTAMP.to_string()
        }
        (Some(Logical::Decimal { .. }), _) => "string".into(),
        (_, cs::Kind::Int8 | cs::Kind::Int16 | cs::Kind::Int32) => "int32".into(),
        (_, cs::Kind::Int64) => "int64".into(),
        (_, cs::Kind::Float32) => "float".into(),
        (_, cs::Kind::Float64) => "double".into(),
        (_, cs::Kind::Boolean) => "bool".into(),
        (_, cs::Kind::Bytes) => "bytes".into(),
        _ => "string".into(),
    }
}

/// Encodes a struct value (conformed to `schema`) as the message of
/// [`connect_proto`]; proto3 leaves out non-optional scalars at their
/// default, as Java's serializer does.
fn encode_struct(schema: &Schema, value: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    for (i, f) in schema.fields().iter().enumerate() {
        let number = i + 1;
        let v = value.get(&f.name).unwrap_or(&Value::Null);
        if v.is_null() {
            continue;
        }
        match &f.schema.kind {
            cs::Kind::Array(items) => {
                let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
                let packed = matches!(
                    items.kind,
                    cs::Kind::Int8
                        | cs::Kind::Int16
                        | cs::Kind::Int32
                        | cs::Kind::Int64
                        | cs::Kind::Float32
                        | cs::Kind::Float64
                        | cs::Kind::Boolean
                ) && items
                    .logical()
                    .is_none_or(|l| matches!(l, Logical::Date | Logical::Time));
                if packed {
                    let mut buf = Vec::new();
                    for x in list.iter().filter(|x| !x.is_null()) {
                        write_scalar(items, x, &mut buf)?;
                    }
                    if !buf.is_empty() {
                        write_len(out, number, &buf);
                    }
                } else {
                    for x in list.iter().filter(|x| !x.is_null()) {
                        write_field(number, items, x, out)?;
                    }
                }
            }
            cs::Kind::Map(k, mv) => {
                let entries: Vec<(Value, &Value)> = match v {
                    Value::Object(m) => m
                        .iter()
                        .map(|(key, x)| (Value::String(key.clone()), x))
                        .collect(),
                    Value::Array(pairs) => pairs
                        .iter()
                        .filter_map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([key, x]) => Some((key.clone(), x)),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                for (key, x) in entries {
                    let mut entry = Vec::new();
                    write_field(1, k, &key, &mut entry)?;
                    if !x.is_null() {
                        write_field(2, mv, x, &mut entry)?;
                    }
                    write_len(out, number, &entry);
                }
            }
            _ => {
                let is_default = match v {
                    Value::Bool(b) => !b,
                    Value::Number(n) => n.as_f64() == Some(0.0),
                    Value::String(s) => s.is_empty(),
                    _ => false,
                };
                let scalar = !matches!(f.schema.kind, cs::Kind::Struct(_))
                    && f.schema.logical() != Some(Logical::Timestamp);
                if scalar && is_default && !f.schema.optional {
                    continue;
                }
                write_field(number, &f.schema, v, out)?;
            }
        }
    }
    Ok(())
}

/// One field: tag and value.
fn write_field(number: usize, schema: &Schema, v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    match (&schema.kind, schema.logical()) {
        (cs::Kind::Struct(_), _) => {
            let mut inner = Vec::new();
            encode_struct(schema, v, &mut inner)?;
            write_len(out, number, &inner);
        }
        (_, Some(Logical::Timestamp)) => {
            let millis = v
                .as_i64()
                .ok_or_else(|| format!("{v} is not a Timestamp"))?;
            let mut inner = Vec::new();
            let (secs, nanos) = (millis.div_euclid(1000), millis.rem_euclid(1000) * 1_000_000);
            if secs != 0 {
                write_tag(&mut inner, 1, 0);
                write_varint(&mut inner, secs as u64);
            }
            if nanos != 0 {
                write_tag(&mut inner, 2, 0);
                write_varint(&mut inner, nanos as u64);
            }
            write_len(out, number, &inner);
        }
        (cs::Kind::Float32, _) => {
            write_tag(out, number, 5);
            write_scalar(schema, v, out)?;
        }
        (cs::Kind::Float64, _) => {
            write_tag(out, number, 1);
            write_scalar(schema, v, out)?;
        }
        (cs::Kind::String | cs::Kind::Bytes, _) => {
            let mut buf = Vec::new();
            write_scalar(schema, v, &mut buf)?;
            write_len(out, number, &buf);
        }
        _ => {
            write_tag(out, number, 0);
            write_scalar(schema, v, out)?;
        }
    }
    Ok(())
}

/// A scalar's bytes without tag (strings and bytes without length).
fn write_scalar(schema: &Schema, v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    let bad = || format!("{v} is not a valid {} value", schema.ty().name());
    match (&schema.kind, schema.logical()) {
        (_, Some(Logical::Decimal { scale })) => {
            out.extend_from_slice(cs::decimal::to_string(v, scale)?.as_bytes())
        }
        (cs::Kind::Int8 | cs::Kind::Int16 | cs::Kind::Int32 | cs::Kind::Int64, _) => {
            write_varint(out, v.as_i64().ok_or_else(bad)? as u64)
        }
        (cs::Kind::Float32, _) => {
            out.extend_from_slice(&(v.as_f64().ok_or_else(bad)? as f32).to_le_bytes())
        }
        (cs::Kind::Float64, _) => out.extend_from_slice(&v.as_f64().ok_or_else(bad)?.to_le_bytes()),
        (cs::Kind::Boolean, _) => out.push(u8::from(v.as_bool().ok_or_else(bad)?)),
        (cs::Kind::Bytes, _) => out.extend_from_slice(&cs::decode_bytes(v).ok_or_else(bad)?),
        _ => out.extend_from_slice(text(v).as_bytes()),
    }
    Ok(())
}

/// The Connect schema of a message (after Confluent's `ProtobufData`).
fn message_schema(desc: &MessageDescriptor, depth: usize) -> Result<Schema, String> {
    if depth > 32 {
        return Err(format!(
            "message {} nests too deep (recursive?)",
            desc.full_name()
        ));
    }
    let mut fields = Vec::new();
    for f in desc.fields() {
        let s = if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                return Err("map without entry".into());
            };
            let value = kind_schema(&entry.map_entry_value_field().kind(), depth)?;
            Schema::map(Schema::string(), value.optional())
        } else if f.is_list() {
            Schema::array(kind_schema(&f.kind(), depth)?)
        } else {
            kind_schema(&f.kind(), depth)?
        };
        fields.push(cs::Field::new(f.name(), s.optional()));
    }
    Ok(Schema::structure(fields).named(desc.full_name()))
}

fn kind_schema(kind: &Kind, depth: usize) -> Result<Schema, String> {
    Ok(match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Schema::int32(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint32 | Kind::Fixed32 => {
            Schema::int64()
        }
        Kind::Uint64 | Kind::Fixed64 => Schema::int64(),
        Kind::Float => Schema::float32(),
        Kind::Double => Schema::float64(),
        Kind::Bool => Schema::boolean(),
        Kind::String => Schema::string(),
        Kind::Bytes => Schema::bytes(),
        Kind::Enum(e) => {
            Schema::string().with_parameter("io.confluent.connect.protobuf.Enum", e.full_name())
        }
        Kind::Message(m) => match m.full_name() {
            TIMESTAMP => Schema::timestamp().optional(),
            n if n.starts_with("google.protobuf.") && n.ends_with("Value") => {
                let inner = m
                    .get_field_by_name("value")
                    .ok_or_else(|| format!("{n} has no value"))?;
                kind_schema(&inner.kind(), depth)?.optional()
            }
            n if n.starts_with("google.") => {
                return Err(format!("{n} has no Connect form"));
            }
            _ => message_schema(m, depth + 1)?.optional(),
        },
    })
}

// ------------------------------------------------------------ reading

/// A decoded message as the record model's JSON: fields by name; unset
/// messages and unset `optional` scalars are null, other unset scalars their
/// default (as proto3 reads them); enums by name; bytes as base64; Google's
/// wrapper types as their value.
pub fn message_json(msg: &DynamicMessage) -> Value {
    let desc = msg.descriptor();
    if desc.full_name() == TIMESTAMP {
        // Connect's Timestamp: epoch milliseconds.
        let get = |n: &str| match desc
            .get_field_by_name(n)
            .map(|f| msg.get_field(&f).into_owned())
        {
            Some(prost_reflect::Value::I64(v)) => v,
            Some(prost_reflect::Value::I32(v)) => i64::from(v),
            _ => 0,
        };
        return Value::from(get("seconds") * 1000 + get("nanos") / 1_000_000);
    }
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
    async fn record_schemas_give_field_types_and_read_back() {
        use crate::schema::{Field, Schema, Type};
        let registry = MemoryRegistry::new();
        let c = ProtobufConverter::new(Side::Value, registry.clone());
        let s = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("total", Schema::int64()),
            Field::new("ratio", Schema::float32().optional()),
            Field::new("at", Schema::timestamp().optional()),
            Field::new("tags", Schema::array(Schema::string())),
            Field::new(
                "address",
                Schema::structure(vec![Field::new("city", Schema::string())]).optional(),
            ),
        ])
        .named("shop.Order");
        let v = json!({"id": -1, "total": 0, "ratio": 0.5, "at": 1_500_000_000_123i64,
            "tags": ["a"], "address": {"city": "C"}});
        let bytes = c
            .from_connect_data("orders", Some(&s), Some(&v))
            .await
            .unwrap()
            .unwrap();
        let proto = registry.schema_by_id(1).await.unwrap().schema;
        assert!(proto.contains("package shop;"), "{proto}");
        assert!(proto.contains("int32 id = 1;"), "{proto}");
        assert!(proto.contains("optional float ratio = 3;"), "{proto}");
        assert!(
            proto.contains("google.protobuf.Timestamp at = 4;"),
            "{proto}"
        );
        // id -1 as a ten-byte varint; total 0 left out (proto3 default).
        assert_eq!(
            &bytes[6..17],
            &[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        let read = c.to_connect_data("orders", Some(&bytes)).await.unwrap();
        assert_eq!(
            read.value,
            Some(
                json!({"id": -1, "total": 0, "ratio": 0.5, "at": 1_500_000_000_123i64,
                "tags": ["a"], "address": {"city": "C"}})
            )
        );
        let rs = read.schema.unwrap();
        assert_eq!(rs.name.as_deref(), Some("shop.Order"));
        let ty = |n: &str| rs.field(n).map(|f| (f.schema.ty(), f.schema.logical()));
        assert_eq!(ty("id"), Some((Type::Int32, None)));
        assert_eq!(ty("ratio"), Some((Type::Float32, None)));
        assert_eq!(ty("at"), Some((Type::Int64, Some(Logical::Timestamp))));
        assert_eq!(
            rs.field("address").map(|f| f.schema.ty()),
            Some(Type::Struct)
        );
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
