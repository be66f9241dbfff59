//! JSON Schemas ↔ Connect schemas, after Confluent's `JsonSchemaData`:
//! integers and numbers carry `connect.type` (`int8` … `int64`, `float32`,
//! `float64`, `bytes` for decimals), bytes are strings with
//! `connect.type: bytes`, maps are objects with `additionalProperties`
//! (`connect.type: map`; arrays of `{key, value}` objects for non-string
//! keys), structs are objects whose properties carry `connect.index`, an
//! optional schema is `oneOf: [null, …]`, and `title`, `description`,
//! `default`, `connect.version` and `connect.parameters` carry the
//! metadata.
//!
//! Reading also takes JSON Schemas written by hand: an integer without
//! `connect.type` is `INT64`, a number `FLOAT64`, a `"type": [T, "null"]`
//! optional; properties are optional unless listed in `required` (or, in
//! schemas Confluent wrote, unless they are `oneOf` null). Constructs
//! Connect has no form for (`$ref`, `allOf`, …) make the schema
//! unreadable; the converter then reads the record schemaless.

use serde_json::{json, Map, Value};

use super::{decimal, Field, Kind, Logical, Schema, SchemaError, Type};

const CONNECT_TYPE: &str = "connect.type";
const CONNECT_INDEX: &str = "connect.index";
const ENUM: &str = "io.confluent.connect.json.Enum";
const NAMESPACE: &str = "io.confluent.connect.json";

/// The JSON Schema of a Connect schema.
pub fn to_json_schema(schema: &Schema) -> Value {
    convert(schema, None)
}

fn convert(schema: &Schema, index: Option<usize>) -> Value {
    let mut out = Map::new();
    let typed = |out: &mut Map<String, Value>, t: &str, connect: Option<&str>| {
        out.insert("type".into(), json!(t));
        if let Some(c) = connect {
            out.insert(CONNECT_TYPE.into(), json!(c));
        }
    };
    match &schema.kind {
        Kind::Int8 => typed(&mut out, "integer", Some("int8")),
        Kind::Int16 => typed(&mut out, "integer", Some("int16")),
        Kind::Int32 => typed(&mut out, "integer", Some("int32")),
        Kind::Int64 => typed(&mut out, "integer", Some("int64")),
        Kind::Float32 => typed(&mut out, "number", Some("float32")),
        Kind::Float64 => typed(&mut out, "number", Some("float64")),
        Kind::Boolean => typed(&mut out, "boolean", None),
        Kind::String => {
            typed(&mut out, "string", None);
            if schema.parameter(ENUM).is_some() {
                let prefix = format!("{ENUM}.");
                let symbols: Vec<&str> = schema
                    .parameters
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, v)| v.as_str())
                    .collect();
                out.insert("enum".into(), json!(symbols));
            }
        }
        Kind::Bytes if matches!(schema.logical(), Some(Logical::Decimal { .. })) => {
            typed(&mut out, "number", Some("bytes"))
        }
        Kind::Bytes => typed(&mut out, "string", Some("bytes")),
        Kind::Array(items) => {
            typed(&mut out, "array", None);
            out.insert("items".into(), convert(items, None));
        }
        Kind::Map(keys, values) if keys.ty() == Type::String && !keys.optional => {
            typed(&mut out, "object", Some("map"));
            out.insert("additionalProperties".into(), convert(values, None));
        }
        Kind::Map(keys, values) => {
            typed(&mut out, "array", Some("map"));
            out.insert(
                "items".into(),
                json!({"type": "object", "properties": {
                    "key": convert(keys, Some(0)),
                    "value": convert(values, Some(1)),
                }}),
            );
        }
        Kind::Struct(fields) => {
            typed(&mut out, "object", None);
            let props: Map<String, Value> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name.clone(), convert(&f.schema, Some(i))))
                .collect();
            out.insert("properties".into(), Value::Object(props));
        }
    }
    if let Some(name) = &schema.name {
        out.insert("title".into(), json!(name));
    }
    if let Some(v) = schema.version {
        out.insert("connect.version".into(), json!(v));
    }
    if let Some(doc) = &schema.doc {
        out.insert("description".into(), json!(doc));
    }
    let params: Map<String, Value> = schema
        .parameters
        .iter()
        .filter(|(k, _)| !k.starts_with(NAMESPACE))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !params.is_empty() {
        out.insert("connect.parameters".into(), Value::Object(params));
    }
    if let Some(d) = &schema.default {
        out.insert("default".into(), to_payload(schema, d));
    }
    if schema.optional {
        let mut one_of = Map::new();
        one_of.insert(
            "oneOf".into(),
            json!([{"type": "null"}, Value::Object(out)]),
        );
        if let Some(i) = index {
            one_of.insert(CONNECT_INDEX.into(), json!(i));
        }
        return Value::Object(one_of);
    }
    if let Some(i) = index {
        out.insert(CONNECT_INDEX.into(), json!(i));
    }
    Value::Object(out)
}

/// The Connect schema of a JSON Schema.
pub fn from_json_schema(node: &Value) -> Result<Schema, SchemaError> {
    parse(node, false)
}

fn unsupported(node: &Value) -> SchemaError {
    SchemaError::new(format!(
        "JSON Schema construct without a Connect form: {node}"
    ))
}

fn parse(node: &Value, force_optional: bool) -> Result<Schema, SchemaError> {
    let obj = match node {
        Value::Bool(true) => return Err(unsupported(node)),
        Value::Object(o) => o,
        _ => return Err(unsupported(node)),
    };
    if let Some(Value::Array(options)) = obj.get("oneOf").or_else(|| obj.get("anyOf")) {
        let is_null = |o: &Value| o.get("type").and_then(Value::as_str) == Some("null");
        if options.len() == 2 && options.iter().any(is_null) {
            if let Some(other) = options.iter().find(|o| !is_null(o)) {
                return parse(other, true);
            }
        }
        return Err(unsupported(node));
    }
    let (type_name, nullable) = match obj.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(types)) => {
            let non_null: Vec<&str> = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            match non_null.as_slice() {
                [t] => (*t, non_null.len() < types.len()),
                _ => return Err(unsupported(node)),
            }
        }
        _ if obj.contains_key("properties") => ("object", false),
        _ => return Err(unsupported(node)),
    };
    let connect_type = obj.get(CONNECT_TYPE).and_then(Value::as_str);
    let mut schema = match (type_name, connect_type) {
        ("boolean", _) => Schema::boolean(),
        ("integer", Some("int8")) => Schema::int8(),
        ("integer", Some("int16")) => Schema::int16(),
        ("integer", Some("int32")) => Schema::int32(),
        ("integer", _) => Schema::int64(),
        ("number", Some("float32")) => Schema::float32(),
        ("number", Some("bytes")) => Schema::bytes(),
        ("number", _) => Schema::float64(),
        ("string", Some("bytes")) => Schema::bytes(),
        ("string", _) => {
            let mut s = Schema::string();
            if let Some(symbols) = obj.get("enum").and_then(Value::as_array) {
                s = s.with_parameter(ENUM, "");
                for sym in symbols.iter().filter_map(Value::as_str) {
                    s = s.with_parameter(format!("{ENUM}.{sym}"), sym);
                }
            }
            s
        }
        ("array", Some("map")) => {
            let items = obj.get("items").ok_or_else(|| unsupported(node))?;
            let props = items.get("properties").ok_or_else(|| unsupported(node))?;
            let k = props.get("key").ok_or_else(|| unsupported(node))?;
            let v = props.get("value").ok_or_else(|| unsupported(node))?;
            Schema::map(parse(k, false)?, parse(v, false)?)
        }
        ("array", _) => {
            let items = obj
                .get("items")
                .ok_or_else(|| SchemaError::new("Array schema did not specify the items type"))?;
            Schema::array(parse(items, false)?)
        }
        ("object", Some("map")) => {
            let values = obj
                .get("additionalProperties")
                .ok_or_else(|| unsupported(node))?;
            Schema::map(Schema::string(), parse(values, false)?)
        }
        ("object", _) => {
            let props = obj
                .get("properties")
                .and_then(Value::as_object)
                .ok_or_else(|| unsupported(node))?;
            let required: Option<Vec<&str>> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect());
            let confluent = props.values().any(|p| p.get(CONNECT_INDEX).is_some());
            let mut indexed: Vec<(i64, Field)> = Vec::with_capacity(props.len());
            for (i, (name, p)) in props.iter().enumerate() {
                let optional = match &required {
                    Some(r) => !r.contains(&name.as_str()),
                    None => !confluent,
                };
                let fs = parse(p, false)?;
                let fs = if optional { fs.optional() } else { fs };
                let index = p
                    .get(CONNECT_INDEX)
                    .and_then(Value::as_i64)
                    .unwrap_or(i as i64);
                indexed.push((index, Field::new(name.clone(), fs)));
            }
            indexed.sort_by_key(|(i, _)| *i);
            Schema::structure(indexed.into_iter().map(|(_, f)| f).collect())
        }
        _ => return Err(unsupported(node)),
    };
    if let Some(title) = obj.get("title").and_then(Value::as_str) {
        schema.name = Some(title.to_string());
    }
    if let Some(v) = obj.get("connect.version").and_then(Value::as_i64) {
        schema.version = Some(v as i32);
    }
    if let Some(d) = obj.get("description").and_then(Value::as_str) {
        schema.doc = Some(d.to_string());
    }
    if let Some(params) = obj.get("connect.parameters").and_then(Value::as_object) {
        for (k, v) in params {
            if let Some(v) = v.as_str() {
                schema = schema.with_parameter(k.clone(), v);
            }
        }
    }
    if let Some(d) = obj.get("default").filter(|d| !d.is_null()) {
        let d = from_payload(&schema, d.clone());
        schema.default = super::conform(&schema, d, "the default")
            .ok()
            .filter(|d| !d.is_null());
    }
    if force_optional || nullable {
        schema.optional = true;
    }
    Ok(schema)
}

/// A record-model value as the JSON Schema payload: decimals as numbers,
/// maps with non-string keys as `{key, value}` objects.
pub fn to_payload(schema: &Schema, value: &Value) -> Value {
    match (&schema.kind, value) {
        (_, Value::Null) => Value::Null,
        (Kind::Bytes, v) => match schema.logical() {
            Some(Logical::Decimal { scale }) => decimal::to_string(v, scale)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Number>(&t).ok())
                .map(Value::Number)
                .unwrap_or_else(|| v.clone()),
            _ => v.clone(),
        },
        (Kind::Array(items), Value::Array(list)) => {
            Value::Array(list.iter().map(|v| to_payload(items, v)).collect())
        }
        (Kind::Map(k, v), Value::Object(map)) if k.ty() == Type::String => Value::Object(
            map.iter()
                .map(|(key, x)| (key.clone(), to_payload(v, x)))
                .collect(),
        ),
        (Kind::Map(k, v), Value::Array(pairs)) => Value::Array(
            pairs
                .iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([key, x]) => json!({"key": to_payload(k, key), "value": to_payload(v, x)}),
                    _ => p.clone(),
                })
                .collect(),
        ),
        (Kind::Struct(fields), Value::Object(map)) => Value::Object(
            fields
                .iter()
                .map(|f| {
                    let v = map.get(&f.name).unwrap_or(&Value::Null);
                    (f.name.clone(), to_payload(&f.schema, v))
                })
                .collect(),
        ),
        (_, v) => v.clone(),
    }
}

/// A JSON Schema payload in the record model (the inverse of
/// [`to_payload`]; decimals are left to [`super::conform`]).
pub fn from_payload(schema: &Schema, value: Value) -> Value {
    match (&schema.kind, value) {
        (Kind::Array(items), Value::Array(list)) => {
            Value::Array(list.into_iter().map(|v| from_payload(items, v)).collect())
        }
        (Kind::Map(k, v), Value::Object(map)) if k.ty() == Type::String => Value::Object(
            map.into_iter()
                .map(|(key, x)| (key, from_payload(v, x)))
                .collect(),
        ),
        (Kind::Map(k, v), Value::Array(entries)) => Value::Array(
            entries
                .into_iter()
                .map(|mut e| {
                    let key = e.get_mut("key").map(Value::take).unwrap_or_default();
                    let x = e.get_mut("value").map(Value::take).unwrap_or_default();
                    Value::Array(vec![from_payload(k, key), from_payload(v, x)])
                })
                .collect(),
        ),
        (Kind::Struct(fields), Value::Object(mut map)) => Value::Object(
            fields
                .iter()
                .map(|f| {
                    let v = map.remove(&f.name).unwrap_or(Value::Null);
                    (f.name.clone(), from_payload(&f.schema, v))
                })
                .collect(),
        ),
        (_, v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_schemas_round_trip_through_json_schema() {
        let s = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("name", Schema::string().optional()),
            Field::new("price", Schema::decimal(2)),
            Field::new("raw", Schema::bytes().optional()),
            Field::new("counts", Schema::map(Schema::string(), Schema::int64())),
        ])
        .named("Customer");
        let j = to_json_schema(&s);
        assert_eq!(j["title"], "Customer");
        assert_eq!(
            j["properties"]["id"],
            json!({"type": "integer", "connect.type": "int32", "connect.index": 0})
        );
        assert_eq!(j["properties"]["name"]["oneOf"][0], json!({"type": "null"}));
        assert_eq!(j["properties"]["name"]["connect.index"], json!(1));
        assert_eq!(j["properties"]["price"]["type"], "number");
        let back = from_json_schema(&j).unwrap();
        assert_eq!(back.field("id").unwrap().schema.ty(), Type::Int32);
        assert!(back.field("name").unwrap().schema.optional);
        assert!(!back.field("id").unwrap().schema.optional);
        assert_eq!(
            back.field("price").unwrap().schema.logical(),
            Some(Logical::Decimal { scale: 2 })
        );
        let v = json!({"id": 1, "name": null, "price": "BOI=", "raw": null, "counts": {"a": 1}});
        assert_eq!(
            to_payload(&s, &v),
            json!({"id": 1, "name": null, "price": 12.5, "raw": null, "counts": {"a": 1}})
        );
    }

    #[test]
    fn hand_written_schemas_read_with_required_lists() {
        let j = json!({"type": "object", "properties": {
            "id": {"type": "integer"}, "email": {"type": ["string", "null"]},
            "score": {"type": "number"}}, "required": ["id"]});
        let s = from_json_schema(&j).unwrap();
        assert_eq!(*s.field("id").unwrap().schema, Schema::int64());
        assert_eq!(
            *s.field("email").unwrap().schema,
            Schema::string().optional()
        );
        assert_eq!(
            *s.field("score").unwrap().schema,
            Schema::float64().optional()
        );
        assert!(from_json_schema(&json!({"$ref": "#/definitions/x"})).is_err());
    }
}
