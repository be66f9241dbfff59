//! Kafka Connect schemas: the types of keys and values that carry one
//! (`org.apache.kafka.connect.data.Schema`), with Connect's logical types.
//!
//! Values stay `serde_json::Value`s; a schema says how to read them. The
//! encoding is the one Kafka's `JsonConverter` writes as the `payload` of
//! its envelope, so a record read from an envelope is written back byte for
//! byte:
//!
//! | Schema | Value |
//! | --- | --- |
//! | `INT8` … `INT64` | JSON integer |
//! | `FLOAT32`, `FLOAT64` | JSON number |
//! | `BOOLEAN`, `STRING` | JSON boolean, string |
//! | `BYTES` | base64 text (standard alphabet, padded) |
//! | `ARRAY` | JSON array |
//! | `MAP` with `STRING` keys | JSON object |
//! | `MAP` with other keys | array of `[key, value]` pairs |
//! | `STRUCT` | JSON object with the fields in schema order |
//! | `Decimal` (`BYTES`, parameter `scale`) | base64 of the unscaled value, big-endian two's complement (`decimal.format=BASE64`); a JSON number is read too (`NUMERIC`) |
//! | `Date` (`INT32`) | days since 1970-01-01 |
//! | `Time` (`INT32`) | milliseconds since midnight |
//! | `Timestamp` (`INT64`) | milliseconds since the epoch |
//!
//! A null (or absent) value fits any optional schema. Records without a
//! schema are schemaless, as Kafka Connect's are with
//! `schemas.enable=false`.
//!
//! [`connect_json`] reads and writes the schema as JsonConverter's envelope
//! carries it; [`avro`] converts to and from Avro schemas as Confluent's
//! `AvroData` does ([`from_avro`]).

pub mod avro;
pub mod connect_json;
pub mod decimal;
pub mod json_schema;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

pub use avro::{from_avro, to_avro};

pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// The Decimal parameter holding the scale (as text).
pub const DECIMAL_SCALE: &str = "scale";
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// Something that is not a valid schema, or a value that does not fit one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

impl SchemaError {
    pub fn new(message: impl Into<String>) -> SchemaError {
        SchemaError(message.into())
    }
}

/// Connect's `Schema.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// Connect's name (`Schema.Type.getName()`): `int8`, …, `float32`, `struct`.
    pub fn name(&self) -> &'static str {
        match self {
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::Float32 => "float32",
            Type::Float64 => "float64",
            Type::Boolean => "boolean",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        }
    }

    pub fn is_primitive(&self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, Type::Int8 | Type::Int16 | Type::Int32 | Type::Int64)
    }
}

/// A schema's type with what it contains.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    /// The element schema.
    Array(Arc<Schema>),
    /// Key and value schemas.
    Map(Arc<Schema>, Arc<Schema>),
    /// Fields in order.
    Struct(Vec<Field>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Arc<Schema>,
}

impl Field {
    pub fn new(name: impl Into<String>, schema: impl Into<Arc<Schema>>) -> Field {
        Field {
            name: name.into(),
            schema: schema.into(),
        }
    }
}

/// A Connect schema (`ConnectSchema`).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub kind: Kind,
    pub optional: bool,
    /// In the value encoding above.
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// In insertion order, as Connect's `SchemaBuilder` keeps them.
    pub parameters: Vec<(String, String)>,
}

/// A logical type, recognised by the schema's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logical {
    Decimal { scale: i32 },
    Date,
    Time,
    Timestamp,
}

impl Schema {
    /// A required schema of `kind` without metadata.
    pub fn new(kind: Kind) -> Schema {
        Schema {
            kind,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
        }
    }

    pub fn of_type(ty: Type) -> Option<Schema> {
        let kind = match ty {
            Type::Int8 => Kind::Int8,
            Type::Int16 => Kind::Int16,
            Type::Int32 => Kind::Int32,
            Type::Int64 => Kind::Int64,
            Type::Float32 => Kind::Float32,
            Type::Float64 => Kind::Float64,
            Type::Boolean => Kind::Boolean,
            Type::String => Kind::String,
            Type::Bytes => Kind::Bytes,
            Type::Array | Type::Map | Type::Struct => return None,
        };
        Some(Schema::new(kind))
    }

    pub fn int8() -> Schema {
        Schema::new(Kind::Int8)
    }
    pub fn int16() -> Schema {
        Schema::new(Kind::Int16)
    }
    pub fn int32() -> Schema {
        Schema::new(Kind::Int32)
    }
    pub fn int64() -> Schema {
        Schema::new(Kind::Int64)
    }
    pub fn float32() -> Schema {
        Schema::new(Kind::Float32)
    }
    pub fn float64() -> Schema {
        Schema::new(Kind::Float64)
    }
    pub fn boolean() -> Schema {
        Schema::new(Kind::Boolean)
    }
    pub fn string() -> Schema {
        Schema::new(Kind::String)
    }
    pub fn bytes() -> Schema {
        Schema::new(Kind::Bytes)
    }
    pub fn array(items: impl Into<Arc<Schema>>) -> Schema {
        Schema::new(Kind::Array(items.into()))
    }
    pub fn map(keys: impl Into<Arc<Schema>>, values: impl Into<Arc<Schema>>) -> Schema {
        Schema::new(Kind::Map(keys.into(), values.into()))
    }
    pub fn structure(fields: Vec<Field>) -> Schema {
        Schema::new(Kind::Struct(fields))
    }

    /// `Decimal.schema(scale)`: bytes named Decimal, version 1.
    pub fn decimal(scale: i32) -> Schema {
        Schema::bytes()
            .named(DECIMAL)
            .with_version(1)
            .with_parameter(DECIMAL_SCALE, scale.to_string())
    }
    pub fn date() -> Schema {
        Schema::int32().named(DATE).with_version(1)
    }
    pub fn time() -> Schema {
        Schema::int32().named(TIME).with_version(1)
    }
    pub fn timestamp() -> Schema {
        Schema::int64().named(TIMESTAMP).with_version(1)
    }

    pub fn optional(mut self) -> Schema {
        self.optional = true;
        self
    }
    pub fn required(mut self) -> Schema {
        self.optional = false;
        self
    }
    pub fn with_optional(mut self, optional: bool) -> Schema {
        self.optional = optional;
        self
    }
    pub fn named(mut self, name: impl Into<String>) -> Schema {
        self.name = Some(name.into());
        self
    }
    pub fn with_version(mut self, version: i32) -> Schema {
        self.version = Some(version);
        self
    }
    pub fn with_doc(mut self, doc: impl Into<String>) -> Schema {
        self.doc = Some(doc.into());
        self
    }
    pub fn with_default(mut self, default: Value) -> Schema {
        self.default = Some(default).filter(|d| !d.is_null());
        self
    }
    /// Sets a parameter, replacing an earlier value of the same key.
    pub fn with_parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Schema {
        let (key, value) = (key.into(), value.into());
        match self.parameters.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.parameters.push((key, value)),
        }
        self
    }

    pub fn ty(&self) -> Type {
        match &self.kind {
            Kind::Int8 => Type::Int8,
            Kind::Int16 => Type::Int16,
            Kind::Int32 => Type::Int32,
            Kind::Int64 => Type::Int64,
            Kind::Float32 => Type::Float32,
            Kind::Float64 => Type::Float64,
            Kind::Boolean => Type::Boolean,
            Kind::String => Type::String,
            Kind::Bytes => Type::Bytes,
            Kind::Array(_) => Type::Array,
            Kind::Map(..) => Type::Map,
            Kind::Struct(_) => Type::Struct,
        }
    }

    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The logical type this schema names, when its type fits it.
    pub fn logical(&self) -> Option<Logical> {
        match (self.name.as_deref()?, &self.kind) {
            (DECIMAL, Kind::Bytes) => Some(Logical::Decimal {
                scale: self
                    .parameter(DECIMAL_SCALE)
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0),
            }),
            (DATE, Kind::Int32) => Some(Logical::Date),
            (TIME, Kind::Int32) => Some(Logical::Time),
            (TIMESTAMP, Kind::Int64) => Some(Logical::Timestamp),
            _ => None,
        }
    }

    pub fn fields(&self) -> &[Field] {
        match &self.kind {
            Kind::Struct(fields) => fields,
            _ => &[],
        }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// A copy with the same name, version, doc and parameters but another
    /// kind (Connect's `SchemaUtil.copySchemaBasics`); required, no default.
    pub fn basics(&self, kind: Kind) -> Schema {
        Schema {
            kind,
            optional: false,
            default: None,
            name: self.name.clone(),
            version: self.version,
            doc: self.doc.clone(),
            parameters: self.parameters.clone(),
        }
    }

    /// Checks that `value` fits this schema (Connect's
    /// `ConnectSchema.validateValue`); `what` names the value in errors.
    pub fn validate(&self, value: &Value, what: &str) -> Result<(), SchemaError> {
        if value.is_null() {
            return if self.optional || self.default.is_some() {
                Ok(())
            } else {
                Err(SchemaError(format!(
                    "Invalid value: null used for required {what}, schema type: {}",
                    self.ty().name().to_ascii_uppercase()
                )))
            };
        }
        let mismatch = || {
            SchemaError(format!(
                "Invalid Java object for schema with type {} of {what}: {}",
                self.ty().name().to_ascii_uppercase(),
                short(value)
            ))
        };
        let int_in = |lo: i64, hi: i64| match value.as_i64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(()),
            _ => Err(mismatch()),
        };
        match &self.kind {
            Kind::Int8 => int_in(i8::MIN.into(), i8::MAX.into()),
            Kind::Int16 => int_in(i16::MIN.into(), i16::MAX.into()),
            Kind::Int32 => int_in(i32::MIN.into(), i32::MAX.into()),
            Kind::Int64 => int_in(i64::MIN, i64::MAX),
            Kind::Float32 | Kind::Float64 => value.is_number().then_some(()).ok_or_else(mismatch),
            Kind::Boolean => value.is_boolean().then_some(()).ok_or_else(mismatch),
            Kind::String => value.is_string().then_some(()).ok_or_else(mismatch),
            Kind::Bytes => match self.logical() {
                Some(Logical::Decimal { scale }) => decimal::unscaled_bytes(value, scale)
                    .map(|_| ())
                    .map_err(|e| SchemaError(format!("Invalid Decimal value of {what}: {e}"))),
                _ => decode_bytes(value).map(|_| ()).ok_or_else(mismatch),
            },
            Kind::Array(items) => {
                let list = value.as_array().ok_or_else(mismatch)?;
                list.iter()
                    .try_for_each(|v| items.validate(v, &format!("element of {what}")))
            }
            Kind::Map(keys, values) => {
                if keys.ty() == Type::String {
                    let map = value.as_object().ok_or_else(mismatch)?;
                    map.values()
                        .try_for_each(|v| values.validate(v, &format!("map value of {what}")))
                } else {
                    let pairs = value.as_array().ok_or_else(mismatch)?;
                    pairs
                        .iter()
                        .try_for_each(|pair| match pair.as_array().map(Vec::as_slice) {
                            Some([k, v]) => {
                                keys.validate(k, &format!("map key of {what}"))?;
                                values.validate(v, &format!("map value of {what}"))
                            }
                            _ => Err(mismatch()),
                        })
                }
            }
            Kind::Struct(fields) => {
                let map = value.as_object().ok_or_else(mismatch)?;
                for f in fields {
                    let v = map.get(&f.name).unwrap_or(&Value::Null);
                    f.schema.validate(v, &format!("field: \"{}\"", f.name))?;
                }
                if let Some(extra) = map.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                    return Err(SchemaError(format!(
                        "{extra} is not a valid field name of {what}"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// `value` as a value of `schema`, the way Connect's converters read and
/// write data: struct fields in schema order (absent ones null, unknown
/// ones dropped), nulls replaced by the schema's default, decimals as
/// base64 and integral floats as integers where the schema says integer.
/// A value that does not fit is an error naming `what`.
pub fn conform(schema: &Schema, value: Value, what: &str) -> Result<Value, SchemaError> {
    if value.is_null() {
        if let Some(default) = &schema.default {
            return Ok(default.clone());
        }
        if schema.optional {
            return Ok(Value::Null);
        }
        return Err(SchemaError(format!(
            "Invalid null value for required {} {what}",
            schema.ty().name().to_ascii_uppercase()
        )));
    }
    let mismatch = |value: &Value| {
        SchemaError(format!(
            "{} does not fit the {} schema of {what}",
            short(value),
            schema.ty().name().to_ascii_uppercase()
        ))
    };
    Ok(match &schema.kind {
        Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64 => {
            let n = match &value {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                }),
                _ => None,
            };
            let n = n.ok_or_else(|| mismatch(&value))?;
            let fits = match schema.kind {
                Kind::Int8 => i8::try_from(n).is_ok(),
                Kind::Int16 => i16::try_from(n).is_ok(),
                Kind::Int32 => i32::try_from(n).is_ok(),
                _ => true,
            };
            if !fits {
                return Err(mismatch(&value));
            }
            Value::from(n)
        }
        Kind::Float32 | Kind::Float64 if value.is_number() => value,
        Kind::Boolean if value.is_boolean() => value,
        Kind::String if value.is_string() => value,
        Kind::Bytes => match schema.logical() {
            Some(Logical::Decimal { scale }) => {
                let bytes = decimal::unscaled_bytes(&value, scale)
                    .map_err(|e| SchemaError(format!("Invalid Decimal value of {what}: {e}")))?;
                encode_bytes(&bytes)
            }
            _ if decode_bytes(&value).is_some() => value,
            _ => return Err(mismatch(&value)),
        },
        Kind::Array(items) => match value {
            Value::Array(list) => Value::Array(
                list.into_iter()
                    .map(|v| conform(items, v, &format!("an element of {what}")))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(mismatch(&other)),
        },
        Kind::Map(keys, values) if keys.ty() == Type::String => match value {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| Ok((k, conform(values, v, &format!("a value of {what}"))?)))
                    .collect::<Result<_, SchemaError>>()?,
            ),
            other => return Err(mismatch(&other)),
        },
        Kind::Map(keys, values) => match value {
            Value::Array(pairs) => Value::Array(
                pairs
                    .into_iter()
                    .map(|pair| match pair {
                        Value::Array(kv) if kv.len() == 2 => {
                            let mut kv = kv.into_iter();
                            let k = kv.next().unwrap_or_default();
                            let v = kv.next().unwrap_or_default();
                            Ok(Value::Array(vec![
                                conform(keys, k, &format!("a key of {what}"))?,
                                conform(values, v, &format!("a value of {what}"))?,
                            ]))
                        }
                        other => Err(mismatch(&other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(mismatch(&other)),
        },
        Kind::Struct(fields) => match value {
            Value::Object(mut map) => {
                let mut out = serde_json::Map::with_capacity(fields.len());
                for f in fields {
                    let v = map.remove(&f.name).unwrap_or(Value::Null);
                    let v = conform(&f.schema, v, &format!("field \"{}\"", f.name))?;
                    out.insert(f.name.clone(), v);
                }
                Value::Object(out)
            }
            other => return Err(mismatch(&other)),
        },
        _ => return Err(mismatch(&value)),
    })
}

/// A value's text for error messages, cut short.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

impl Hash for Schema {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ty().hash(state);
        self.optional.hash(state);
        self.default.as_ref().map(Value::to_string).hash(state);
        self.name.hash(state);
        self.version.hash(state);
        self.doc.hash(state);
        self.parameters.hash(state);
        match &self.kind {
            Kind::Array(items) => items.hash(state),
            Kind::Map(k, v) => {
                k.hash(state);
                v.hash(state);
            }
            Kind::Struct(fields) => {
                for f in fields {
                    f.name.hash(state);
                    f.schema.hash(state);
                }
            }
            _ => {}
        }
    }
}

impl Eq for Schema {}

/// A key or value with its schema (`SchemaAndValue`); `schema: None` is
/// schemaless, `value: None` a Kafka null.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaAndValue {
    pub schema: Option<Arc<Schema>>,
    pub value: Option<Value>,
}

impl SchemaAndValue {
    pub fn schemaless(value: Option<Value>) -> SchemaAndValue {
        SchemaAndValue {
            schema: None,
            value,
        }
    }
}

/// Base64 text (the `BYTES` encoding) as bytes.
pub fn decode_bytes(value: &Value) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str()?)
        .ok()
}

/// Bytes in the `BYTES` encoding.
pub fn encode_bytes(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `Date`/`Time`/`Timestamp` values as epoch milliseconds (a Date is its
/// UTC midnight), the way Java holds them in a `java.util.Date`.
pub fn logical_millis(logical: Logical, value: &Value) -> Option<i64> {
    let n = value.as_i64()?;
    match logical {
        Logical::Date => n.checked_mul(MILLIS_PER_DAY),
        Logical::Time | Logical::Timestamp => Some(n),
        Logical::Decimal { .. } => None,
    }
}

/// Epoch milliseconds as the value of a `Date`, `Time` or `Timestamp`.
pub fn millis_to_logical(logical: Logical, millis: i64) -> Value {
    match logical {
        Logical::Date => Value::from(millis.div_euclid(MILLIS_PER_DAY)),
        Logical::Time => Value::from(millis.rem_euclid(MILLIS_PER_DAY)),
        Logical::Timestamp | Logical::Decimal { .. } => Value::from(millis),
    }
}

/// The schema of a record read by the String converter
/// (`Schema.OPTIONAL_STRING_SCHEMA`).
pub fn optional_string() -> Arc<Schema> {
    Arc::new(Schema::string().optional())
}

/// The schema of a record read by the ByteArray converter
/// (`Schema.OPTIONAL_BYTES_SCHEMA`).
pub fn optional_bytes() -> Arc<Schema> {
    Arc::new(Schema::bytes().optional())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn logical_types_are_named_primitives() {
        assert_eq!(
            Schema::decimal(2).logical(),
            Some(Logical::Decimal { scale: 2 })
        );
        assert_eq!(Schema::date().logical(), Some(Logical::Date));
        assert_eq!(Schema::time().ty(), Type::Int32);
        assert_eq!(Schema::timestamp().ty(), Type::Int64);
        // A Date name on the wrong type is not a Date.
        assert_eq!(Schema::int64().named(DATE).logical(), None);
        assert_eq!(
            logical_millis(Logical::Date, &json!(19_000)),
            Some(19_000 * MILLIS_PER_DAY)
        );
        assert_eq!(
            millis_to_logical(Logical::Date, 1_500_000_000_123),
            json!(17_361)
        );
        assert_eq!(
            millis_to_logical(Logical::Time, 1_500_000_000_123),
            json!(9_600_123)
        );
    }

    #[test]
    fn values_are_validated_like_connect() {
        let s = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("name", Schema::string().optional()),
            Field::new("price", Schema::decimal(2).optional()),
            Field::new("tags", Schema::array(Schema::string())),
        ]);
        assert!(s
            .validate(
                &json!({"id": 1, "name": null, "price": "BOI=", "tags": ["a"]}),
                "value"
            )
            .is_ok());
        let err = s.validate(&json!({"tags": []}), "value").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value: null used for required field: \"id\", schema type: INT32"
        );
        assert!(s
            .validate(&json!({"id": 1i64 << 40, "tags": []}), "value")
            .is_err());
        assert!(s
            .validate(&json!({"id": 1, "tags": [], "x": 1}), "value")
            .is_err());
        assert!(Schema::bytes()
            .validate(&json!("not base64!"), "v")
            .is_err());
        let m = Schema::map(Schema::int32(), Schema::string());
        assert!(m.validate(&json!([[1, "a"], [2, "b"]]), "v").is_ok());
        assert!(m.validate(&json!({"1": "a"}), "v").is_err());
    }
}
