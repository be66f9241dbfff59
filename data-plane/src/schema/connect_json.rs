//! Schemas as Kafka's `JsonConverter` writes them in the `schema` of its
//! envelope (`JsonConverter.asJsonSchema` / `asConnectSchema`): `type`
//! (`int8` … `int64`, `float`, `double`, `boolean`, `string`, `bytes`,
//! `array`, `map`, `struct`), `items`, `keys` + `values`, `fields` (each
//! carrying its `field` name), then `optional`, `name`, `version`, `doc`,
//! `parameters` and `default`, in that order.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{Field, Kind, Schema, SchemaError};

/// The envelope form of `schema`.
pub fn to_json(schema: &Schema) -> Value {
    let mut out = Map::new();
    let type_name = match &schema.kind {
        Kind::Int8 => "int8",
        Kind::Int16 => "int16",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Float32 => "float",
        Kind::Float64 => "double",
        Kind::Boolean => "boolean",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Array(_) => "array",
        Kind::Map(..) => "map",
        Kind::Struct(_) => "struct",
    };
    out.insert("type".into(), json!(type_name));
    match &schema.kind {
        Kind::Array(items) => {
            out.insert("items".into(), to_json(items));
        }
        Kind::Map(keys, values) => {
            out.insert("keys".into(), to_json(keys));
            out.insert("values".into(), to_json(values));
        }
        Kind::Struct(fields) => {
            let fields: Vec<Value> = fields
                .iter()
                .map(|f| {
                    let mut s = to_json(&f.schema);
                    if let Value::Object(m) = &mut s {
                        m.insert("field".into(), json!(f.name));
                    }
                    s
                })
                .collect();
            out.insert("fields".into(), Value::Array(fields));
        }
        _ => {}
    }
    out.insert("optional".into(), json!(schema.optional));
    if let Some(name) = &schema.name {
        out.insert("name".into(), json!(name));
    }
    if let Some(version) = schema.version {
        out.insert("version".into(), json!(version));
    }
    if let Some(doc) = &schema.doc {
        out.insert("doc".into(), json!(doc));
    }
    if !schema.parameters.is_empty() {
        let params: Map<String, Value> = schema
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        out.insert("parameters".into(), Value::Object(params));
    }
    if let Some(default) = &schema.default {
        out.insert("default".into(), default.clone());
    }
    Value::Object(out)
}

/// Reads the envelope form; errors carry JsonConverter's messages.
/// `null` is no schema.
pub fn from_json(node: &Value) -> Result<Option<Schema>, SchemaError> {
    if node.is_null() {
        return Ok(None);
    }
    parse(node).map(Some)
}

fn parse(node: &Value) -> Result<Schema, SchemaError> {
    let err = |m: &str| SchemaError::new(m);
    let type_name = node
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| err("Schema must contain 'type' field"))?;
    let child = |key: &str, missing: &str| -> Result<Arc<Schema>, SchemaError> {
        match node.get(key) {
            None | Some(Value::Null) => Err(err(missing)),
            Some(n) => parse(n).map(Arc::new),
        }
    };
    let kind = match type_name {
        "boolean" => Kind::Boolean,
        "int8" => Kind::Int8,
        "int16" => Kind::Int16,
        "int32" => Kind::Int32,
        "int64" => Kind::Int64,
        "float" | "float32" => Kind::Float32,
        "double" | "float64" => Kind::Float64,
        "bytes" => Kind::Bytes,
        "string" => Kind::String,
        "array" => Kind::Array(child(
            "items",
            "Array schema did not specify the element type",
        )?),
        "map" => Kind::Map(
            child("keys", "Map schema did not specify the key type")?,
            child("values", "Map schema did not specify the value type")?,
        ),
        "struct" => {
            let fields = node
                .get("fields")
                .and_then(Value::as_array)
                .ok_or_else(|| err("Struct schema's \"fields\" argument is not an array."))?;
            let mut out: Vec<Field> = Vec::with_capacity(fields.len());
            for f in fields {
                let name = f
                    .get("field")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err("Struct schema's field name not specified properly"))?;
                if out.iter().any(|x| x.name == name) {
                    return Err(SchemaError(format!(
                        "Cannot create field because of field name duplication {name}"
                    )));
                }
                out.push(Field::new(name, parse(f)?));
            }
            Kind::Struct(out)
        }
        other => return Err(SchemaError(format!("Unknown schema type: {other}"))),
    };
    let mut schema = Schema::new(kind);
    schema.optional = node.get("optional").and_then(Value::as_bool) == Some(true);
    schema.name = node.get("name").and_then(Value::as_str).map(str::to_string);
    schema.version = node
        .get("version")
        .and_then(Value::as_i64)
        .and_then(|v| i32::try_from(v).ok());
    schema.doc = node.get("doc").and_then(Value::as_str).map(str::to_string);
    if let Some(params) = node.get("parameters") {
        let params = params
            .as_object()
            .ok_or_else(|| err("Schema parameters must be a JSON object."))?;
        for (k, v) in params {
            let v = v
                .as_str()
                .ok_or_else(|| err("Schema parameters must have string values."))?;
            schema.parameters.push((k.clone(), v.to_string()));
        }
    }
    if let Some(default) = node.get("default").filter(|d| !d.is_null()) {
        let conformed = super::conform(&schema, default.clone(), "default value")?;
        schema.default = Some(conformed).filter(|d| !d.is_null());
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_jsonconverters_shape_and_reads_it_back() {
        let s = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("name", Schema::string().optional()),
            Field::new("price", Schema::decimal(2)),
            Field::new("day", Schema::date().optional()),
            Field::new("ratio", Schema::float32().with_default(json!(1.5))),
            Field::new(
                "counts",
                Schema::map(Schema::string(), Schema::int64()).optional(),
            ),
            Field::new("tags", Schema::array(Schema::string())),
        ])
        .named("customers")
        .with_version(2)
        .with_doc("A customer");
        let j = to_json(&s);
        assert_eq!(
            j.to_string(),
            concat!(
                r#"{"type":"struct","fields":["#,
                r#"{"type":"int32","optional":false,"field":"id"},"#,
                r#"{"type":"string","optional":true,"field":"name"},"#,
                r#"{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"price"},"#,
                r#"{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"day"},"#,
                r#"{"type":"float","optional":false,"default":1.5,"field":"ratio"},"#,
                r#"{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"int64","optional":false},"optional":true,"field":"counts"},"#,
                r#"{"type":"array","items":{"type":"string","optional":false},"optional":false,"field":"tags"}],"#,
                r#""optional":false,"name":"customers","version":2,"doc":"A customer"}"#
            )
        );
        assert_eq!(from_json(&j).unwrap(), Some(s));
        assert_eq!(from_json(&Value::Null).unwrap(), None);
    }

    #[test]
    fn errors_carry_jsonconverters_messages() {
        let e = |v: Value| from_json(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"optional": true})),
            "Schema must contain 'type' field"
        );
        assert_eq!(e(json!({"type": "uuid"})), "Unknown schema type: uuid");
        assert_eq!(
            e(json!({"type": "array"})),
            "Array schema did not specify the element type"
        );
        assert_eq!(
            e(json!({"type": "struct", "fields": [{"type": "int32"}]})),
            "Struct schema's field name not specified properly"
        );
        assert_eq!(
            e(json!({"type": "int32", "parameters": {"a": 1}})),
            "Schema parameters must have string values."
        );
    }
}
