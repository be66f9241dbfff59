//! Avro schemas ↔ Connect schemas, by the rules of Confluent's `AvroData`
//! (`connect.meta.data=true`):
//!
//! * `int` → `INT32` (`INT8`/`INT16` with `connect.type`), `long` →
//!   `INT64`, `float`/`double` → `FLOAT32`/`FLOAT64`, `bytes` → `BYTES`,
//!   `fixed` → `BYTES` with parameter `connect.fixed.size`;
//! * logical `date`, `time-millis`, `timestamp-millis`, `decimal` → Connect
//!   `Date`, `Time`, `Timestamp`, `Decimal` (precision kept as
//!   `connect.decimal.precision` unless it is 64); other logical types
//!   keep their underlying type;
//! * records → `STRUCT` named by the record's full name (the default name
//!   `io.confluent.connect.avro.ConnectDefault*` is no name), record and
//!   field docs as `io.confluent.connect.avro.record.doc` /
//!   `…field.doc.<field>` parameters, field defaults as schema defaults
//!   (flagged `io.confluent.connect.avro.field.default`);
//! * a union of `null` and one type → that type, optional; other unions →
//!   a `STRUCT` named `io.confluent.connect.avro.Union` with one optional
//!   field per branch (named by the branch's type or record name);
//! * enums → `STRING` named by the enum's full name, with parameters
//!   `io.confluent.connect.avro.Enum` (the full name) and
//!   `io.confluent.connect.avro.Enum.<symbol>`;
//! * `map` → `MAP` with `STRING` keys; arrays of
//!   `io.confluent.connect.avro.MapEntry` records → `MAP`;
//! * `connect.name`, `connect.version`, `connect.doc`, `connect.parameters`,
//!   `connect.default` and `avro*` properties carry Connect's metadata.
//!
//! [`to_avro`] goes back the same way, with Confluent's
//! `enhanced.avro.schema.support` for enums (a `STRING` with the enum
//! parameters becomes the Avro enum again, so an enum read from Avro is
//! written as one). The schema version a registry would add on read is not
//! looked up.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map, Value};

use super::{decimal, Field, Kind, Logical, Schema, SchemaError, DATE, DECIMAL, TIME, TIMESTAMP};

pub const NAMESPACE: &str = "io.confluent.connect.avro";
pub const DEFAULT_NAME: &str = "ConnectDefault";
pub const UNION: &str = "io.confluent.connect.avro.Union";
pub const ENUM: &str = "io.confluent.connect.avro.Enum";
pub const MAP_ENTRY: &str = "MapEntry";
const RECORD_DOC: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const ENUM_DOC_PREFIX: &str = "io.confluent.connect.avro.enum.doc.";
const ENUM_DEFAULT_PREFIX: &str = "io.confluent.connect.avro.enum.default.";
const FIELD_DEFAULT_FLAG: &str = "io.confluent.connect.avro.field.default";
const DECIMAL_PRECISION: &str = "connect.decimal.precision";
const DECIMAL_PRECISION_DEFAULT: i64 = 64;
const FIXED_SIZE: &str = "connect.fixed.size";
const INTERNAL_TYPE: &str = "connect.internal.type";

// ------------------------------------------------------------ Avro → Connect

/// The Connect schema of an Avro schema (JSON, as the registry stores it).
pub fn from_avro(avro: &Value) -> Result<Schema, SchemaError> {
    FromAvro::default().convert(avro, None, false, None)
}

/// What a full name stands for while converting.
#[derive(Clone)]
enum Named {
    /// A record still being converted: a reference to it is a cycle.
    InProgress,
    Done {
        avro_type: &'static str,
        schema: Schema,
    },
}

#[derive(Default)]
struct FromAvro {
    named: HashMap<String, Named>,
}

const PRIMITIVES: &[&str] = &[
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

fn full_name(name: &str, namespace: Option<&str>) -> String {
    match namespace.filter(|ns| !ns.is_empty()) {
        Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
        _ => name.to_string(),
    }
}

fn simple_name(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}

fn is_null_schema(node: &Value) -> bool {
    node.as_str() == Some("null") || node.get("type").and_then(Value::as_str) == Some("null")
}

impl FromAvro {
    /// `force_optional` makes the result optional (union members);
    /// `field_default` is the record field's `default`, when it has one.
    fn convert(
        &mut self,
        node: &Value,
        ns: Option<&str>,
        force_optional: bool,
        field_default: Option<&Value>,
    ) -> Result<Schema, SchemaError> {
        let empty = Map::new();
        let (type_name, props) = match node {
            Value::String(s) => (s.as_str(), &empty),
            Value::Array(members) => return self.union(members, ns),
            Value::Object(map) => match map.get("type") {
                Some(Value::String(s)) => (s.as_str(), map),
                Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                    return self.convert(inner, ns, force_optional, field_default)
                }
                _ => {
                    return Err(SchemaError::new(format!(
                        "Avro schema without a type: {node}"
                    )))
                }
            },
            other => return Err(SchemaError::new(format!("not an Avro schema: {other}"))),
        };
        let logical = props.get("logicalType").and_then(Value::as_str);
        let connect_type = props.get("connect.type").and_then(Value::as_str);
        let mut name_from_avro: Option<String> = None;
        let mut schema = match type_name {
            "null" => {
                return Err(SchemaError::new(
                    "Standalone null schemas are not supported by this converter",
                ))
            }
            "boolean" => Schema::boolean(),
            "int" => match (logical, connect_type) {
                (Some("date"), _) => Schema::date(),
                (Some("time-millis"), _) => Schema::time(),
                (Some(_), _) | (None, None) => Schema::int32(),
                (None, Some("int8")) => Schema::int8(),
                (None, Some("int16")) => Schema::int16(),
                (None, Some(other)) => {
                    return Err(SchemaError::new(format!(
                        "Connect type annotation {other} for an Avro int field is not int8 or int16"
                    )))
                }
            },
            "long" if logical == Some("timestamp-millis") => Schema::timestamp(),
            "long" => Schema::int64(),
            "float" => Schema::float32(),
            "double" => Schema::float64(),
            "string" => Schema::string(),
            "bytes" | "fixed" => {
                let mut s = if logical == Some("decimal") {
                    let scale = props.get("scale").and_then(Value::as_i64).ok_or_else(|| {
                        SchemaError::new("scale must be specified and must be a number.")
                    })?;
                    let mut s = Schema::decimal(scale as i32);
                    if let Some(p) = props.get("precision") {
                        let p = p.as_i64().ok_or_else(|| {
                            SchemaError::new("precision property must be a JSON Integer.")
                        })?;
                        if p != DECIMAL_PRECISION_DEFAULT {
                            s = s.with_parameter(DECIMAL_PRECISION, p.to_string());
                        }
                    }
                    s
                } else {
                    Schema::bytes()
                };
                if type_name == "fixed" {
                    let (full, _) = self.define_name(props, ns)?;
                    let size = props
                        .get("size")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| SchemaError::new(format!("fixed {full} has no size")))?;
                    s = s.with_parameter(FIXED_SIZE, size.to_string());
                    if s.name.is_none() {
                        name_from_avro = Some(full);
                    }
                }
                s
            }
            "array" => {
                let items = props
                    .get("items")
                    .ok_or_else(|| SchemaError::new("Avro array without items"))?;
                match self.map_entry(items, ns)? {
                    Some((k, v)) => Schema::map(k, v),
                    None => Schema::array(self.convert(items, ns, false, None)?),
                }
            }
            "map" => {
                let values = props
                    .get("values")
                    .ok_or_else(|| SchemaError::new("Avro map without values"))?;
                Schema::map(Schema::string(), self.convert(values, ns, false, None)?)
            }
            "record" | "error" => {
                let (full, inner_ns) = self.define_name(props, ns)?;
                if self.named.contains_key(&full) {
                    return Err(SchemaError::new(format!("Can't redefine: {full}")));
                }
                self.named.insert(full.clone(), Named::InProgress);
                let mut s = Schema::structure(Vec::new());
                if let Some(doc) = props.get("doc").and_then(Value::as_str) {
                    s = s.with_parameter(RECORD_DOC, doc);
                }
                let avro_fields = props
                    .get("fields")
                    .and_then(Value::as_array)
                    .ok_or_else(|| SchemaError::new(format!("record {full} has no fields")))?;
                let mut fields = Vec::with_capacity(avro_fields.len());
                for f in avro_fields {
                    let name = f.get("name").and_then(Value::as_str).ok_or_else(|| {
                        SchemaError::new(format!("a field of record {full} has no name"))
                    })?;
                    if let Some(doc) = f.get("doc").and_then(Value::as_str) {
                        s = s.with_parameter(format!("{FIELD_DOC_PREFIX}{name}"), doc);
                    }
                    let ty = f.get("type").ok_or_else(|| {
                        SchemaError::new(format!("field {name} of record {full} has no type"))
                    })?;
                    let fs = self.convert(ty, inner_ns.as_deref(), false, f.get("default"))?;
                    fields.push(Field::new(name, fs));
                }
                s.kind = Kind::Struct(fields);
                name_from_avro = Some(full.clone());
                // Registered once complete, so later references reuse it.
                let done = s.clone();
                self.named.insert(
                    full,
                    Named::Done {
                        avro_type: "record",
                        schema: done,
                    },
                );
                s
            }
            "enum" => {
                let (full, _) = self.define_name(props, ns)?;
                let short = simple_name(&full).to_string();
                let mut s = Schema::string();
                if let Some(doc) = props.get("doc").and_then(Value::as_str) {
                    s = s.with_parameter(format!("{ENUM_DOC_PREFIX}{short}"), doc);
                }
                if let Some(d) = props.get("default").and_then(Value::as_str) {
                    s = s.with_parameter(format!("{ENUM_DEFAULT_PREFIX}{short}"), d);
                }
                s = s.with_parameter(ENUM, full.clone());
                for sym in props
                    .get("symbols")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    s = s.with_parameter(format!("{ENUM}.{sym}"), sym);
                }
                name_from_avro = Some(full.clone());
                let mut done = s.clone();
                done.name = Some(full.clone());
                self.named.insert(
                    full,
                    Named::Done {
                        avro_type: "enum",
                        schema: done,
                    },
                );
                s
            }
            reference => {
                let full = full_name(reference, ns);
                let found = self.named.get(&full).or_else(|| self.named.get(reference));
                return match found {
                    Some(Named::Done { schema, .. }) => {
                        let mut s = schema.clone();
                        s.optional = force_optional;
                        Ok(s)
                    }
                    Some(Named::InProgress) => Err(SchemaError::new(format!(
                        "recursive Avro schemas are not supported (record {full} refers to itself)"
                    ))),
                    None => Err(SchemaError::new(format!(
                        "Unknown Avro type name {reference}"
                    ))),
                };
            }
        };

        // Connect metadata carried in properties, in AvroData's order.
        if let Some(doc) = props.get("connect.doc").and_then(Value::as_str) {
            schema.doc = Some(doc.to_string());
        }
        if let Some(v) = props.get("connect.version") {
            let v = v
                .as_i64()
                .ok_or_else(|| SchemaError::new(format!("Invalid Connect version found: {v}")))?;
            schema.version = Some(v as i32);
        }
        if let Some(params) = props.get("connect.parameters") {
            let params = params.as_object().ok_or_else(|| {
                SchemaError::new(format!(
                    "Expected JSON object for schema parameters but found: {params}"
                ))
            })?;
            for (k, v) in params {
                let v = v.as_str().ok_or_else(|| {
                    SchemaError::new(format!(
                        "Expected schema parameter values to be strings but found: {v}"
                    ))
                })?;
                schema = schema.with_parameter(k.clone(), v);
            }
        }
        for (k, v) in props {
            if k.starts_with("avro") {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                schema = schema.with_parameter(k.clone(), text);
            }
        }
        let connect_default = props.get("connect.default");
        let default = match (field_default, connect_default) {
            (Some(d), None) => {
                schema = schema.with_parameter(FIELD_DEFAULT_FLAG, "true");
                Some(d)
            }
            (Some(d), Some(_)) => Some(d),
            (None, d) => d,
        };
        if let Some(d) = default {
            schema.default = avro_default(&schema, node, d);
        }
        let name = props
            .get("connect.name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(name_from_avro);
        if let Some(name) = name {
            if !name.starts_with(&format!("{NAMESPACE}.{DEFAULT_NAME}")) {
                schema.name = Some(name);
            }
        }
        if force_optional {
            schema.optional = true;
        }
        // References must see the final metadata of a named type.
        if let (Some(n), "record" | "error" | "enum") = (&schema.name, type_name) {
            let full = self.named.keys().find(|k| *k == n).cloned();
            if let Some(full) = full {
                let mut stored = schema.clone();
                stored.optional = false;
                let avro_type = if type_name == "enum" {
                    "enum"
                } else {
                    "record"
                };
                self.named.insert(
                    full,
                    Named::Done {
                        avro_type,
                        schema: stored,
                    },
                );
            }
        }
        Ok(schema)
    }

    /// The full name and the namespace nested definitions inherit.
    fn define_name(
        &self,
        props: &Map<String, Value>,
        ns: Option<&str>,
    ) -> Result<(String, Option<String>), SchemaError> {
        let name = props
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| SchemaError::new("a named Avro type has no name"))?;
        let own_ns = props.get("namespace").and_then(Value::as_str).or(ns);
        let full = full_name(name, own_ns);
        let inner = full.rsplit_once('.').map(|(ns, _)| ns.to_string());
        Ok((full, inner))
    }

    fn union(&mut self, members: &[Value], ns: Option<&str>) -> Result<Schema, SchemaError> {
        if members.len() == 2 && members.iter().any(is_null_schema) {
            if let Some(other) = members.iter().find(|m| !is_null_schema(m)) {
                return self.convert(other, ns, true, None);
            }
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut optional = false;
        for m in members {
            if is_null_schema(m) {
                optional = true;
                continue;
            }
            let name = self.member_name(m, ns);
            if fields.iter().any(|f| f.name == name) {
                return Err(SchemaError::new(
                    "Multiple union schemas map to the Connect union field name",
                ));
            }
            let s = self.convert(m, ns, true, None)?;
            fields.push(Field::new(name, s));
        }
        Ok(Schema::structure(fields)
            .named(UNION)
            .with_optional(optional))
    }

    /// AvroData's `unionMemberFieldName`: a record's or enum's name, else
    /// the Avro type name.
    fn member_name(&self, node: &Value, ns: Option<&str>) -> String {
        let type_name = match node {
            Value::String(s) => s.as_str(),
            Value::Object(m) => m.get("type").and_then(Value::as_str).unwrap_or(""),
            _ => "",
        };
        match type_name {
            "record" | "error" | "enum" => node
                .get("name")
                .and_then(Value::as_str)
                .map(|n| simple_name(n).to_string())
                .unwrap_or_default(),
            t if PRIMITIVES.contains(&t) || matches!(t, "array" | "map" | "fixed") => t.to_string(),
            reference => match self.named.get(&full_name(reference, ns)) {
                Some(Named::Done {
                    avro_type: "record" | "enum",
                    ..
                }) => simple_name(reference).to_string(),
                _ => "fixed".to_string(),
            },
        }
    }

    /// An array of Confluent's MapEntry records is a map with any key type.
    fn map_entry(
        &mut self,
        items: &Value,
        ns: Option<&str>,
    ) -> Result<Option<(Schema, Schema)>, SchemaError> {
        let Some(map) = items.as_object() else {
            return Ok(None);
        };
        if map.get("type").and_then(Value::as_str) != Some("record") {
            return Ok(None);
        }
        let name = map.get("name").and_then(Value::as_str).unwrap_or("");
        let full = full_name(name, map.get("namespace").and_then(Value::as_str).or(ns));
        let is_entry = full.starts_with(&format!("{NAMESPACE}.{MAP_ENTRY}"))
            || map.get(INTERNAL_TYPE).and_then(Value::as_str) == Some(MAP_ENTRY);
        if !is_entry {
            return Ok(None);
        }
        let fields = map.get("fields").and_then(Value::as_array);
        let field = |n: &str| {
            fields
                .into_iter()
                .flatten()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(n))
                .and_then(|f| f.get("type"))
        };
        match (field("key"), field("value"), fields.map(Vec::len)) {
            (Some(k), Some(v), Some(2)) => {
                let inner = full.rsplit_once('.').map(|(ns, _)| ns.to_string());
                let k = self.convert(k, inner.as_deref(), false, None)?;
                let v = self.convert(v, inner.as_deref(), false, None)?;
                Ok(Some((k, v)))
            }
            _ => Err(SchemaError::new(
                "Found map encoded as array of key-value pairs, but array elements do not match the expected format.",
            )),
        }
    }
}

/// An Avro default (JSON in the Avro schema) in the record model's encoding.
fn avro_default(schema: &Schema, avro: &Value, default: &Value) -> Option<Value> {
    if default.is_null() {
        return None;
    }
    let latin1_base64 = |s: &str| -> Option<Value> {
        let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
        bytes.map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b)))
    };
    let avro_child = |key: &str| avro.get(key).unwrap_or(&Value::Null);
    match &schema.kind {
        Kind::Bytes => latin1_base64(default.as_str()?),
        Kind::Array(items) => Some(Value::Array(
            default
                .as_array()?
                .iter()
                .map(|d| avro_default(items, avro_child("items"), d).unwrap_or(Value::Null))
                .collect(),
        )),
        Kind::Map(_, values) if default.is_object() => Some(Value::Object(
            default
                .as_object()?
                .iter()
                .map(|(k, d)| {
                    let v = avro_default(values, avro_child("values"), d);
                    (k.clone(), v.unwrap_or(Value::Null))
                })
                .collect(),
        )),
        Kind::Struct(fields) if schema.name.as_deref() != Some(UNION) => {
            let obj = default.as_object()?;
            let avro_fields = avro.get("fields").and_then(Value::as_array);
            Some(Value::Object(
                fields
                    .iter()
                    .map(|f| {
                        let af = avro_fields
                            .into_iter()
                            .flatten()
                            .find(|a| a.get("name").and_then(Value::as_str) == Some(&f.name))
                            .and_then(|a| a.get("type"))
                            .unwrap_or(&Value::Null);
                        let v = obj
                            .get(&f.name)
                            .and_then(|d| avro_default(&f.schema, af, d))
                            .unwrap_or(Value::Null);
                        (f.name.clone(), v)
                    })
                    .collect(),
            ))
        }
        Kind::Struct(_) | Kind::Map(..) => None,
        _ => Some(default.clone()),
    }
}

// ------------------------------------------------------------ Connect → Avro

/// The Avro schema (JSON) of a Connect schema, as AvroData writes it.
pub fn to_avro(schema: &Schema) -> Result<Value, SchemaError> {
    let mut ctx = ToAvro::default();
    ctx.convert(schema, None, false)
}

#[derive(Default)]
struct ToAvro {
    /// Named types already written, by full name.
    defined: HashMap<String, Schema>,
    unnamed_records: u32,
    unnamed_entries: u32,
}

fn split_name(full: &str) -> (Option<&str>, &str) {
    match full.rsplit_once('.') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, full),
    }
}

impl ToAvro {
    /// `ns` is the enclosing namespace (names are written relative to it);
    /// `ignore_optional` writes the schema without its null union.
    fn convert(
        &mut self,
        schema: &Schema,
        ns: Option<&str>,
        ignore_optional: bool,
    ) -> Result<Value, SchemaError> {
        if schema.name.as_deref() == Some(UNION) && schema.ty() == super::Type::Struct {
            let mut members = Vec::new();
            if schema.optional {
                members.push(json!("null"));
            }
            for f in schema.fields() {
                members.push(self.convert(&f.schema, ns, true)?);
            }
            return Ok(Value::Array(members));
        }
        let base = self.base(schema, ns)?;
        if schema.optional && !ignore_optional {
            return Ok(if schema.default.is_some() {
                json!([base, "null"])
            } else {
                json!(["null", base])
            });
        }
        Ok(base)
    }

    fn base(&mut self, schema: &Schema, ns: Option<&str>) -> Result<Value, SchemaError> {
        let mut out = Map::new();
        let mut connect_type = None;
        let enum_name = schema
            .parameter(ENUM)
            .filter(|_| schema.ty() == super::Type::String);
        let fixed_size = schema
            .parameter(FIXED_SIZE)
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|_| schema.ty() == super::Type::Bytes);
        match &schema.kind {
            Kind::Int8 => {
                out.insert("type".into(), json!("int"));
                connect_type = Some("int8");
            }
            Kind::Int16 => {
                out.insert("type".into(), json!("int"));
                connect_type = Some("int16");
            }
            Kind::Int32 => {
                out.insert("type".into(), json!("int"));
            }
            Kind::Int64 => {
                out.insert("type".into(), json!("long"));
            }
            Kind::Float32 => {
                out.insert("type".into(), json!("float"));
            }
            Kind::Float64 => {
                out.insert("type".into(), json!("double"));
            }
            Kind::Boolean => {
                out.insert("type".into(), json!("boolean"));
            }
            Kind::String => match enum_name {
                Some(full) => {
                    if let Some(existing) = self.reuse(full, schema)? {
                        return Ok(existing);
                    }
                    let (enum_ns, name) = split_name(full);
                    out.insert("type".into(), json!("enum"));
                    out.insert("name".into(), json!(name));
                    if enum_ns != ns {
                        out.insert("namespace".into(), json!(enum_ns.unwrap_or("")));
                    }
                    if let Some(doc) = schema.parameter(&format!("{ENUM_DOC_PREFIX}{name}")) {
                        out.insert("doc".into(), json!(doc));
                    }
                    let prefix = format!("{ENUM}.");
                    let symbols: Vec<&str> = schema
                        .parameters
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(_, v)| v.as_str())
                        .collect();
                    out.insert("symbols".into(), json!(symbols));
                    if let Some(d) = schema.parameter(&format!("{ENUM_DEFAULT_PREFIX}{name}")) {
                        out.insert("default".into(), json!(d));
                    }
                }
                None => {
                    out.insert("type".into(), json!("string"));
                }
            },
            Kind::Bytes => match fixed_size {
                Some(size) => {
                    let full = schema
                        .name
                        .clone()
                        .filter(|n| n != DECIMAL)
                        .unwrap_or_else(|| format!("{NAMESPACE}.{DEFAULT_NAME}"));
                    if let Some(existing) = self.reuse(&full, schema)? {
                        return Ok(existing);
                    }
                    let (fixed_ns, name) = split_name(&full);
                    out.insert("type".into(), json!("fixed"));
                    out.insert("name".into(), json!(name));
                    if fixed_ns != ns {
                        out.insert("namespace".into(), json!(fixed_ns.unwrap_or("")));
                    }
                    out.insert("size".into(), json!(size));
                }
                None => {
                    out.insert("type".into(), json!("bytes"));
                }
            },
            Kind::Array(items) => {
                out.insert("type".into(), json!("array"));
                out.insert("items".into(), self.convert(items, ns, false)?);
            }
            Kind::Map(keys, values) if keys.ty() == super::Type::String && !keys.optional => {
                out.insert("type".into(), json!("map"));
                out.insert("values".into(), self.convert(values, ns, false)?);
            }
            Kind::Map(keys, values) => {
                let mut entry = Map::new();
                entry.insert("type".into(), json!("record"));
                let full = match &schema.name {
                    Some(n) => n.clone(),
                    None => {
                        self.unnamed_entries += 1;
                        match self.unnamed_entries {
                            1 => format!("{NAMESPACE}.{MAP_ENTRY}"),
                            n => format!("{NAMESPACE}.{MAP_ENTRY}{n}"),
                        }
                    }
                };
                let (entry_ns, name) = split_name(&full);
                entry.insert("name".into(), json!(name));
                if entry_ns != ns {
                    entry.insert("namespace".into(), json!(entry_ns.unwrap_or("")));
                }
                let k = self.field(&Field::new("key", Arc::clone(keys)), entry_ns, None)?;
                let v = self.field(&Field::new("value", Arc::clone(values)), entry_ns, None)?;
                entry.insert("fields".into(), json!([k, v]));
                if schema.name.is_some() {
                    entry.insert(INTERNAL_TYPE.into(), json!(MAP_ENTRY));
                }
                out.insert("type".into(), json!("array"));
                out.insert("items".into(), Value::Object(entry));
            }
            Kind::Struct(fields) => {
                let full = match &schema.name {
                    Some(n) => n.clone(),
                    None => {
                        self.unnamed_records += 1;
                        match self.unnamed_records {
                            1 => format!("{NAMESPACE}.{DEFAULT_NAME}"),
                            n => format!("{NAMESPACE}.{DEFAULT_NAME}{n}"),
                        }
                    }
                };
                if let Some(existing) = self.reuse(&full, schema)? {
                    return Ok(existing);
                }
                let (record_ns, name) = split_name(&full);
                out.insert("type".into(), json!("record"));
                out.insert("name".into(), json!(name));
                if record_ns != ns {
                    out.insert("namespace".into(), json!(record_ns.unwrap_or("")));
                }
                if let Some(doc) = schema.parameter(RECORD_DOC) {
                    out.insert("doc".into(), json!(doc));
                }
                let mut avro_fields = Vec::with_capacity(fields.len());
                for f in fields {
                    let doc = schema.parameter(&format!("{FIELD_DOC_PREFIX}{}", f.name));
                    avro_fields.push(self.field(f, record_ns, doc)?);
                }
                out.insert("fields".into(), Value::Array(avro_fields));
            }
        }

        if let Some(doc) = &schema.doc {
            out.insert("connect.doc".into(), json!(doc));
        }
        if let Some(v) = schema.version {
            out.insert("connect.version".into(), json!(v));
        }
        if !schema.parameters.is_empty() {
            let params: Map<String, Value> = schema
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            out.insert("connect.parameters".into(), Value::Object(params));
        }
        if let Some(d) = &schema.default {
            if schema.parameter(FIELD_DEFAULT_FLAG).is_none() {
                out.insert("connect.default".into(), connect_default(schema, d));
            }
        }
        if let Some(name) = &schema.name {
            out.insert("connect.name".into(), json!(name));
        }
        if let Some(t) = connect_type {
            out.insert("connect.type".into(), json!(t));
        }
        match schema.logical() {
            Some(Logical::Decimal { scale }) => {
                let precision = schema
                    .parameter(DECIMAL_PRECISION)
                    .and_then(|p| p.parse::<i64>().ok())
                    .unwrap_or(DECIMAL_PRECISION_DEFAULT);
                // `scale` and `precision` come right after `type`, as
                // AvroData adds them first.
                let mut with_scale = Map::new();
                for (k, v) in std::mem::take(&mut out) {
                    let is_type = k == "type";
                    with_scale.insert(k, v);
                    if is_type {
                        with_scale.insert("scale".into(), json!(scale));
                        with_scale.insert("precision".into(), json!(precision));
                    }
                }
                out = with_scale;
                out.insert("logicalType".into(), json!("decimal"));
            }
            Some(Logical::Date) => {
                out.insert("logicalType".into(), json!("date"));
            }
            Some(Logical::Time) => {
                out.insert("logicalType".into(), json!("time-millis"));
            }
            Some(Logical::Timestamp) => {
                out.insert("logicalType".into(), json!("timestamp-millis"));
            }
            None => {}
        }
        for (k, v) in &schema.parameters {
            if k.starts_with("avro") {
                out.insert(k.clone(), json!(v));
            }
        }
        if out.len() == 1 {
            // A primitive without properties is written as its name.
            if let Some(t @ Value::String(_)) = out.get("type") {
                if PRIMITIVES.contains(&t.as_str().unwrap_or("")) {
                    return Ok(t.clone());
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// A named type written before is referenced by name; the same name for
    /// a different schema cannot be written.
    fn reuse(&mut self, full: &str, schema: &Schema) -> Result<Option<Value>, SchemaError> {
        let mut key = schema.clone();
        key.optional = false;
        match self.defined.get(full) {
            Some(existing) if *existing == key => Ok(Some(json!(full))),
            Some(_) => Err(SchemaError::new(format!(
                "Can't redefine: {full} (two different schemas share this name)"
            ))),
            None => {
                self.defined.insert(full.to_string(), key);
                Ok(None)
            }
        }
    }

    fn field(
        &mut self,
        field: &Field,
        ns: Option<&str>,
        doc: Option<&str>,
    ) -> Result<Value, SchemaError> {
        let mut out = Map::new();
        out.insert("name".into(), json!(field.name));
        out.insert("type".into(), self.convert(&field.schema, ns, false)?);
        if let Some(doc) = doc {
            out.insert("doc".into(), json!(doc));
        }
        match &field.schema.default {
            Some(d) => {
                out.insert("default".into(), avro_json(&field.schema, d));
            }
            None if field.schema.optional => {
                out.insert("default".into(), Value::Null);
            }
            None => {}
        }
        Ok(Value::Object(out))
    }
}

/// A record-model value as Avro's JSON encoding of defaults: bytes as
/// ISO-8859-1 text, everything else as it is.
fn avro_json(schema: &Schema, value: &Value) -> Value {
    let latin1 = |b: Vec<u8>| Value::String(b.into_iter().map(char::from).collect());
    match (&schema.kind, value) {
        (_, Value::Null) => Value::Null,
        (Kind::Bytes, v) => match schema.logical() {
            Some(Logical::Decimal { scale }) => decimal::unscaled_bytes(v, scale)
                .map(latin1)
                .unwrap_or(Value::Null),
            _ => super::decode_bytes(v).map(latin1).unwrap_or(Value::Null),
        },
        (Kind::Array(items), Value::Array(list)) => {
            Value::Array(list.iter().map(|v| avro_json(items, v)).collect())
        }
        (Kind::Map(_, values), Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), avro_json(values, v)))
                .collect(),
        ),
        (Kind::Struct(fields), Value::Object(map)) => Value::Object(
            fields
                .iter()
                .map(|f| {
                    let v = map.get(&f.name).unwrap_or(&Value::Null);
                    (f.name.clone(), avro_json(&f.schema, v))
                })
                .collect(),
        ),
        (_, v) => v.clone(),
    }
}

/// `connect.default`: AvroData's `defaultValueFromConnect`, which writes
/// bytes as base64 like JsonConverter.
fn connect_default(_schema: &Schema, value: &Value) -> Value {
    value.clone()
}

/// Whether a Connect schema is one of the logical types AvroData knows.
pub fn is_logical_name(name: &str) -> bool {
    matches!(name, DECIMAL | DATE | TIME | TIMESTAMP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn records_ints_logical_types_unions_and_enums() {
        let s = from_avro(&avro(
            r#"{"type":"record","name":"Order","namespace":"shop","doc":"An order","fields":[
                {"name":"id","type":"int","doc":"the id"},
                {"name":"total","type":"long"},
                {"name":"qty","type":"int","default":1},
                {"name":"note","type":["null","string"],"default":null},
                {"name":"day","type":{"type":"int","logicalType":"date"}},
                {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
                {"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}},
                {"name":"side","type":{"type":"enum","name":"Side","symbols":["BUY","SELL"]}},
                {"name":"small","type":{"type":"int","connect.type":"int16"}},
                {"name":"either","type":["int","string","null"]},
                {"name":"tags","type":{"type":"map","values":"Side"}}
            ]}"#,
        ))
        .unwrap();
        assert_eq!(s.name.as_deref(), Some("shop.Order"));
        assert_eq!(s.parameter(RECORD_DOC), Some("An order"));
        assert_eq!(
            s.parameter("io.confluent.connect.avro.field.doc.id"),
            Some("the id")
        );
        let f = |n: &str| s.field(n).unwrap().schema.clone();
        assert_eq!(*f("id"), Schema::int32());
        assert_eq!(*f("total"), Schema::int64());
        assert_eq!(
            *f("qty"),
            Schema::int32()
                .with_parameter(FIELD_DEFAULT_FLAG, "true")
                .with_default(json!(1))
        );
        assert_eq!(*f("note"), Schema::string().optional());
        assert_eq!(*f("day"), Schema::date());
        assert_eq!(*f("at"), Schema::timestamp());
        assert_eq!(
            *f("price"),
            Schema::decimal(2).with_parameter(DECIMAL_PRECISION, "5")
        );
        let side = f("side");
        assert_eq!(side.ty(), super::super::Type::String);
        assert_eq!(side.name.as_deref(), Some("shop.Side"));
        assert_eq!(side.parameter(ENUM), Some("shop.Side"));
        assert_eq!(
            side.parameter("io.confluent.connect.avro.Enum.SELL"),
            Some("SELL")
        );
        assert_eq!(*f("small"), Schema::int16());
        let either = f("either");
        assert_eq!(either.name.as_deref(), Some(UNION));
        assert!(either.optional);
        let names: Vec<&str> = either.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["int", "string"]);
        // A reference to the enum reuses its schema.
        match &f("tags").kind {
            Kind::Map(k, v) => {
                assert_eq!(**k, Schema::string());
                assert_eq!(v.name.as_deref(), Some("shop.Side"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn connect_schemas_become_confluents_avro() {
        let s = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("name", Schema::string().optional()),
            Field::new("price", Schema::decimal(2)),
            Field::new("day", Schema::date().optional()),
            Field::new("at", Schema::timestamp()),
            Field::new("small", Schema::int8()),
            Field::new(
                "nested",
                Schema::structure(vec![Field::new("x", Schema::int64())]),
            ),
            Field::new("counts", Schema::map(Schema::int32(), Schema::string())),
        ]);
        let a = to_avro(&s).unwrap();
        assert_eq!(
            a.to_string(),
            concat!(
                r#"{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":["#,
                r#"{"name":"id","type":"int"},"#,
                r#"{"name":"name","type":["null","string"],"default":null},"#,
                r#"{"name":"price","type":{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}},"#,
                r#"{"name":"day","type":["null",{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}],"default":null},"#,
                r#"{"name":"at","type":{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}},"#,
                r#"{"name":"small","type":{"type":"int","connect.type":"int8"}},"#,
                r#"{"name":"nested","type":{"type":"record","name":"ConnectDefault2","fields":[{"name":"x","type":"long"}]}},"#,
                r#"{"name":"counts","type":{"type":"array","items":{"type":"record","name":"MapEntry","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}}"#,
                r#"]}"#
            )
        );
        apache_avro::Schema::parse(&a).expect("valid Avro");
        // And back: the same Connect schema.
        assert_eq!(from_avro(&a).unwrap(), s);
    }

    #[test]
    fn avro_round_trips_through_connect() {
        let original = avro(
            r#"{"type":"record","name":"T","namespace":"n","fields":[
                {"name":"id","type":"int"},
                {"name":"side","type":{"type":"enum","name":"Side","symbols":["BUY","SELL"]}},
                {"name":"opt","type":["null",{"type":"record","name":"Inner","fields":[{"name":"a","type":"string"}]}],"default":null},
                {"name":"again","type":["null","Inner"],"default":null},
                {"name":"f","type":{"type":"fixed","name":"Four","size":4}}
            ]}"#,
        );
        let connect = from_avro(&original).unwrap();
        let back = to_avro(&connect).unwrap();
        let parsed = apache_avro::Schema::parse(&back).expect("valid Avro");
        let canonical = |s: &apache_avro::Schema| s.canonical_form();
        assert_eq!(
            canonical(&parsed),
            canonical(&apache_avro::Schema::parse(&original).unwrap()),
            "{back}"
        );
        assert!(from_avro(&avro(
            r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}"#
        ))
        .unwrap_err()
        .to_string()
        .contains("recursive"));
    }
}
