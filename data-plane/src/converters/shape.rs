//! Schemas derived from schemaless values. The record model carries JSON
//! values without a schema, so the schema-bearing converters (Avro, JSON
//! Schema, JsonConverter's envelope) derive one from each value:
//!
//! * integers → `long` (`int64`), other numbers → `double` (`float64`),
//!   strings, booleans;
//! * objects → records (structs) whose fields are all **optional** (a union
//!   with null, default null): one value says nothing about which fields
//!   other records leave out or null, and optional fields keep the schemas
//!   derived for one topic backward and forward compatible as fields come
//!   and go;
//! * arrays → arrays of the merged shape of their elements (`long` and
//!   `double` merge to `double`; elements of unrelated shapes fall back to
//!   their JSON text as strings; an empty array holds strings).
//!
//! Records are named as Confluent's AvroData names schemas without a name:
//! `io.confluent.connect.avro.ConnectDefault`, nested ones `ConnectDefault2`,
//! `ConnectDefault3`, … in depth-first order. Field names that are not valid
//! Avro names are made valid (`user-id` → `user_id`, `1st` → `_1st`).

use serde_json::{json, Map, Value};

/// The shape of a value, as far as a schemaless value tells.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Only seen as null (a field's type then defaults to string).
    Null,
    Boolean,
    Long,
    Double,
    String,
    Array(Box<Shape>),
    /// Fields in the value's order; every field is optional.
    Struct(Vec<(String, Shape)>),
    /// A nullable shape (array elements that were sometimes null).
    Optional(Box<Shape>),
}

pub const AVRO_NAMESPACE: &str = "io.confluent.connect.avro";
pub const DEFAULT_RECORD_NAME: &str = "ConnectDefault";

impl Shape {
    /// The shape of one value.
    pub fn of(value: &Value) -> Shape {
        match value {
            Value::Null => Shape::Null,
            Value::Bool(_) => Shape::Boolean,
            Value::Number(n) if n.is_i64() => Shape::Long,
            Value::Number(_) => Shape::Double,
            Value::String(_) => Shape::String,
            Value::Array(items) => {
                let item = items
                    .iter()
                    .map(Shape::of)
                    .reduce(merge)
                    .unwrap_or(Shape::String);
                Shape::Array(Box::new(concrete(item)))
            }
            Value::Object(map) => Shape::Struct(
                map.iter()
                    .map(|(k, v)| (k.clone(), field_shape(Shape::of(v))))
                    .collect(),
            ),
        }
    }

    /// The Avro schema (JSON) of this shape.
    pub fn to_avro(&self) -> Value {
        let mut counter = 0;
        self.avro(&mut counter)
    }

    fn avro(&self, records: &mut u32) -> Value {
        match self {
            Shape::Null => json!("null"),
            Shape::Boolean => json!("boolean"),
            Shape::Long => json!("long"),
            Shape::Double => json!("double"),
            Shape::String => json!("string"),
            Shape::Array(item) => json!({"type": "array", "items": item.avro(records)}),
            Shape::Optional(inner) => json!(["null", inner.avro(records)]),
            Shape::Struct(fields) => {
                *records += 1;
                let name = if *records == 1 {
                    DEFAULT_RECORD_NAME.to_string()
                } else {
                    format!("{DEFAULT_RECORD_NAME}{records}")
                };
                let fields: Vec<Value> = fields
                    .iter()
                    .map(|(n, s)| {
                        let mut f = json!({"name": avro_name(n), "type": s.avro(records)});
                        if matches!(s, Shape::Optional(_)) {
                            f["default"] = Value::Null;
                        }
                        f
                    })
                    .collect();
                json!({"type": "record", "name": name, "namespace": AVRO_NAMESPACE, "fields": fields})
            }
        }
    }

    /// The JSON Schema of this shape (with Confluent's `connect.type`
    /// annotations for numbers).
    pub fn to_json_schema(&self) -> Value {
        match self {
            Shape::Null => json!({"type": "null"}),
            Shape::Boolean => json!({"type": "boolean"}),
            Shape::Long => json!({"type": "integer", "connect.type": "int64"}),
            Shape::Double => json!({"type": "number", "connect.type": "float64"}),
            Shape::String => json!({"type": "string"}),
            Shape::Array(item) => json!({"type": "array", "items": item.to_json_schema()}),
            Shape::Optional(inner) => {
                json!({"oneOf": [{"type": "null"}, inner.to_json_schema()]})
            }
            Shape::Struct(fields) => {
                let mut props = Map::new();
                for (i, (n, s)) in fields.iter().enumerate() {
                    let mut p = s.to_json_schema();
                    p["connect.index"] = json!(i);
                    props.insert(n.clone(), p);
                }
                json!({"type": "object", "properties": props})
            }
        }
    }

    /// Kafka Connect's schema (JsonConverter's envelope `schema`).
    pub fn to_connect(&self) -> Value {
        self.connect(false)
    }

    fn connect(&self, optional: bool) -> Value {
        let mut s = match self {
            Shape::Null | Shape::String => json!({"type": "string"}),
            Shape::Boolean => json!({"type": "boolean"}),
            Shape::Long => json!({"type": "int64"}),
            Shape::Double => json!({"type": "double"}),
            Shape::Array(item) => json!({"type": "array", "items": item.connect(false)}),
            Shape::Optional(inner) => return inner.connect(true),
            Shape::Struct(fields) => {
                let fields: Vec<Value> = fields
                    .iter()
                    .map(|(n, s)| {
                        let mut f = s.connect(false);
                        f["field"] = json!(n);
                        f
                    })
                    .collect();
                json!({"type": "struct", "fields": fields})
            }
        };
        s["optional"] = json!(optional || matches!(self, Shape::Null));
        s
    }

    /// Writes `value` in Avro's binary encoding of this shape's schema.
    pub fn encode_avro(&self, value: &Value, out: &mut Vec<u8>) {
        match self {
            Shape::Null => {}
            Shape::Boolean => out.push(u8::from(value.as_bool().unwrap_or(false))),
            Shape::Long => write_long(out, value.as_i64().unwrap_or(0)),
            Shape::Double => out.extend_from_slice(&value.as_f64().unwrap_or(0.0).to_le_bytes()),
            Shape::String => match value {
                Value::String(s) => write_bytes(out, s.as_bytes()),
                other => write_bytes(out, other.to_string().as_bytes()),
            },
            Shape::Array(item) => {
                let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
                if !items.is_empty() {
                    write_long(out, items.len() as i64);
                    for v in items {
                        item.encode_avro(v, out);
                    }
                }
                write_long(out, 0);
            }
            Shape::Optional(inner) => match value {
                Value::Null => write_long(out, 0),
                v => {
                    write_long(out, 1);
                    inner.encode_avro(v, out);
                }
            },
            Shape::Struct(fields) => {
                for (name, shape) in fields {
                    shape.encode_avro(value.get(name).unwrap_or(&Value::Null), out);
                }
            }
        }
    }
}

/// A field's shape: optional, and a string when only null was seen.
fn field_shape(s: Shape) -> Shape {
    match s {
        Shape::Optional(_) => s,
        other => Shape::Optional(Box::new(concrete(other))),
    }
}

/// A shape that was only null becomes a string.
fn concrete(s: Shape) -> Shape {
    match s {
        Shape::Null => Shape::String,
        Shape::Optional(inner) if *inner == Shape::Null => Shape::Optional(Box::new(Shape::String)),
        other => other,
    }
}

/// The shape that holds values of both shapes.
fn merge(a: Shape, b: Shape) -> Shape {
    use Shape::*;
    match (a, b) {
        (a, b) if a == b => a,
        (Null, x) | (x, Null) => match x {
            Optional(_) => x,
            x => Optional(Box::new(x)),
        },
        (Optional(x), y) | (y, Optional(x)) => match merge(*x, y) {
            Optional(m) => Optional(m),
            m => Optional(Box::new(m)),
        },
        (Long, Double) | (Double, Long) => Double,
        (Array(x), Array(y)) => Array(Box::new(merge(*x, *y))),
        (Struct(x), Struct(y)) => {
            let mut fields = x;
            for (name, s) in y {
                match fields.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, existing)) => {
                        let e = std::mem::replace(existing, Null);
                        *existing = field_shape(merge(e, s));
                    }
                    None => fields.push((name, field_shape(s))),
                }
            }
            Struct(fields)
        }
        _ => String,
    }
}

/// A valid Avro name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn avro_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Avro's `long`: zig-zag, then a base-128 varint.
pub fn write_long(out: &mut Vec<u8>, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        if z < 0x80 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> Value {
        json!({
            "ordertime": 1_497_014_222_380i64,
            "orderid": 18,
            "itemid": "Item_184",
            "orderunits": 6.2,
            "address": {"city": "City_61", "state": "State_41", "zipcode": 43_542}
        })
    }

    #[test]
    fn orders_derive_a_record_of_optional_fields() {
        let avro = Shape::of(&orders()).to_avro();
        let parsed = apache_avro::Schema::parse(&avro).expect("valid Avro");
        assert!(matches!(parsed, apache_avro::Schema::Record(_)));
        assert_eq!(avro["name"], "ConnectDefault");
        assert_eq!(avro["namespace"], "io.confluent.connect.avro");
        let field = |name: &str| -> Value {
            avro["fields"]
                .as_array()
                .and_then(|f| f.iter().find(|f| f["name"] == name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(field("orderid")["type"], json!(["null", "long"]));
        assert_eq!(field("orderid")["default"], Value::Null);
        assert_eq!(field("orderunits")["type"], json!(["null", "double"]));
        assert_eq!(field("itemid")["type"], json!(["null", "string"]));
        let address = &field("address")["type"][1];
        assert_eq!(address["type"], "record");
        assert_eq!(address["name"], "ConnectDefault2");
        assert_eq!(address["fields"][2]["name"], "zipcode");
    }

    #[test]
    fn arrays_nulls_and_odd_names() {
        let v = json!({"tags": ["a", null], "nums": [1, 2.5], "mixed": [1, "x"], "none": [], "n": null, "user-id": 1, "1st": true});
        let s = Shape::of(&v);
        let Shape::Struct(fields) = &s else {
            panic!("{s:?}")
        };
        let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, s)| s.clone());
        let opt = |s: Shape| Shape::Optional(Box::new(s));
        assert_eq!(
            get("tags"),
            Some(opt(Shape::Array(Box::new(opt(Shape::String)))))
        );
        assert_eq!(
            get("nums"),
            Some(opt(Shape::Array(Box::new(Shape::Double))))
        );
        assert_eq!(
            get("mixed"),
            Some(opt(Shape::Array(Box::new(Shape::String))))
        );
        assert_eq!(
            get("none"),
            Some(opt(Shape::Array(Box::new(Shape::String))))
        );
        assert_eq!(get("n"), Some(opt(Shape::String)));
        let avro = s.to_avro();
        apache_avro::Schema::parse(&avro).expect("valid Avro");
        let names: Vec<&str> = avro["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(
            names.contains(&"user_id") && names.contains(&"_1st"),
            "{names:?}"
        );
        // Primitive values have primitive schemas.
        assert_eq!(Shape::of(&json!("User_1")).to_avro(), json!("string"));
        assert_eq!(Shape::of(&json!(42)).to_avro(), json!("long"));
    }

    #[test]
    fn avro_encoding_matches_apache_avro() {
        let v = orders();
        let shape = Shape::of(&v);
        let schema = apache_avro::Schema::parse(&shape.to_avro()).unwrap();
        let mut ours = Vec::new();
        shape.encode_avro(&v, &mut ours);
        let decoded = apache_avro::from_avro_datum(&schema, &mut ours.as_slice(), None).unwrap();
        let theirs = apache_avro::to_avro_datum(&schema, decoded).unwrap();
        assert_eq!(ours, theirs);
        // Known bytes: zig-zag varints and a union index.
        let mut b = Vec::new();
        for n in [0i64, -1, 1, 63, -64, 64, 300] {
            write_long(&mut b, n);
        }
        assert_eq!(
            b,
            vec![0x00, 0x01, 0x02, 0x7e, 0x7f, 0x80, 0x01, 0xd8, 0x04]
        );
        let mut b = Vec::new();
        Shape::of(&json!({"a": 1})).encode_avro(&json!({"a": 1}), &mut b);
        assert_eq!(b, vec![0x02, 0x02], "branch 1 (long), then 1");
        let mut b = Vec::new();
        Shape::of(&json!({"a": 1})).encode_avro(&json!({}), &mut b);
        assert_eq!(b, vec![0x00], "a missing field is null");
    }

    #[test]
    fn connect_and_json_schemas() {
        let c = Shape::of(&json!({"id": 1, "name": "Anne"})).to_connect();
        assert_eq!(
            c,
            json!({"type": "struct", "optional": false, "fields": [
                {"type": "int64", "optional": true, "field": "id"},
                {"type": "string", "optional": true, "field": "name"}
            ]})
        );
        let j = Shape::of(&json!({"id": 1})).to_json_schema();
        assert_eq!(j["type"], "object");
        assert_eq!(
            j["properties"]["id"]["oneOf"][1],
            json!({"type": "integer", "connect.type": "int64"})
        );
    }
}
