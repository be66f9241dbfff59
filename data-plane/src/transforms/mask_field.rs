//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces
//! the listed `fields` with their type's "empty" value (0, false, "", [] or
//! {}) or, with `replacement`, with that text converted to the field's type.
//!
//! Like upstream schemaless: listed fields that are absent come back as
//! null, null fields stay null, and a tombstone is an error (requireMap).
//! With a schema the field's schema decides the empty value (`Decimal` 0,
//! `Date`/`Time`/`Timestamp` the epoch, empty bytes) and how the
//! replacement parses; the schema itself is unchanged.

use std::sync::Arc;

use serde_json::Value;

use super::cast::{cast_value, CastType};
use super::props::Props;
use super::util::{field_value, require_map, require_struct, type_name, Num, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{self, Kind, Logical, Schema};

#[derive(Debug)]
pub(crate) struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null: bool,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let fields = props.required_list("fields");
    let replacement = props.string("replacement");
    if replacement.as_deref() == Some("") {
        props.error("replacement", "must be a non-empty string");
    }
    let replace_null = props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(MaskField {
        side,
        fields: fields?,
        replacement,
        replace_null,
    }))
}

impl MaskField {
    fn masked(&self, value: &Value) -> Result<Value, String> {
        let Some(replacement) = &self.replacement else {
            return Ok(match value {
                Value::Null => Value::Null,
                Value::Bool(_) => Value::Bool(false),
                Value::Number(n) => match Num::of(n) {
                    Num::Long(_) => Value::from(0),
                    Num::Double(_) => Value::from(0.0),
                },
                Value::String(_) => Value::from(""),
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Object(_) => Value::Object(Default::default()),
            });
        };
        // With a replacement, numbers parse it as their own type and strings
        // take it verbatim; other types cannot be masked (upstream).
        let replacement = Value::String(replacement.clone());
        match value {
            Value::Null => Ok(Value::Null),
            Value::String(_) => Ok(replacement),
            Value::Number(n) => {
                let target = match Num::of(n) {
                    Num::Long(_) => CastType::Int64,
                    Num::Double(_) => CastType::Float64,
                };
                cast_value(&replacement, target).map_err(|_| {
                    format!(
                        "Unable to convert {} to a number",
                        replacement.as_str().unwrap_or_default()
                    )
                })
            }
            other => Err(format!(
                "Cannot mask value of type {} with custom replacement",
                type_name(other)
            )),
        }
    }
}

impl MaskField {
    /// The masked value of a field of `schema` (upstream's schema path).
    fn masked_typed(&self, value: &Value, schema: &Schema) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let cannot = || {
            format!(
                "Cannot mask value of type {}",
                schema.ty().name().to_ascii_uppercase()
            )
        };
        let Some(replacement) = &self.replacement else {
            return Ok(match (&schema.kind, schema.logical()) {
                (_, Some(Logical::Decimal { .. })) => schema::encode_bytes(&[0]),
                (_, Some(_)) => Value::from(0),
                (Kind::Boolean, _) => Value::Bool(false),
                (Kind::Int8 | Kind::Int16 | Kind::Int32 | Kind::Int64, _) => Value::from(0),
                (Kind::Float32 | Kind::Float64, _) => Value::from(0.0),
                (Kind::String, _) => Value::from(""),
                (Kind::Bytes, _) => schema::encode_bytes(&[]),
                (Kind::Array(_), _) => Value::Array(Vec::new()),
                (Kind::Map(k, _), _) if k.ty() != schema::Type::String => Value::Array(Vec::new()),
                (Kind::Map(..), _) => Value::Object(Default::default()),
                (Kind::Struct(_), _) => return Err(cannot()),
            });
        };
        let unable = || format!("Unable to convert {replacement} to a number");
        let text = Value::String(replacement.clone());
        match (&schema.kind, schema.logical()) {
            (_, Some(Logical::Decimal { scale })) => schema::decimal::from_text(replacement, scale)
                .map(|b| schema::encode_bytes(&b))
                .map_err(|_| unable()),
            (Kind::String, None) => Ok(text),
            (Kind::Int8, None) => cast_value(&text, CastType::Int8).map_err(|_| unable()),
            (Kind::Int16, None) => cast_value(&text, CastType::Int16).map_err(|_| unable()),
            (Kind::Int32, None) => cast_value(&text, CastType::Int32).map_err(|_| unable()),
            (Kind::Int64, None) => cast_value(&text, CastType::Int64).map_err(|_| unable()),
            (Kind::Float32, None) => cast_value(&text, CastType::Float32).map_err(|_| unable()),
            (Kind::Float64, None) => cast_value(&text, CastType::Float64).map_err(|_| unable()),
            _ => Err(format!("{} with custom replacement", cannot())),
        }
    }

    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record);
        let map = require_struct(&schema, value, "mask fields")?.ok_or_else(|| {
            "Only Struct objects supported for [mask fields], found: null".to_string()
        })?;
        let mut out = serde_json::Map::with_capacity(map.len());
        for field in schema.fields() {
            let v = field_value(&map, field, self.replace_null);
            let v = if self.fields.contains(&field.name) {
                self.masked_typed(&v, &field.schema)
                    .map_err(|e| format!("field '{}': {e}", field.name))?
            } else {
                v
            };
            out.insert(field.name.clone(), v);
        }
        self.side.set(&mut record, Some(Value::Object(out)));
        Ok(Some(record))
    }
}

impl Transform for MaskField {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
        let value = self.side.take(&mut record);
        let mut map = require_map(value, "mask fields")?;
        for field in &self.fields {
            let masked = match map.get(field) {
                None => Value::Null,
                Some(v) => self
                    .masked(v)
                    .map_err(|e| format!("field '{field}': {e}"))?,
            };
            map.insert(field.clone(), masked);
        }
        self.side.set(&mut record, Some(Value::Object(map)));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain, config_errors};
    use serde_json::json;

    const TYPE: (&str, &str) = (
        "transforms.m.type",
        "org.apache.kafka.connect.transforms.MaskField$Value",
    );

    #[test]
    fn masks_by_type() {
        let c = chain(&[
            ("transforms", "m"),
            TYPE,
            ("transforms.m.fields", "n,f,b,s,a,o,z"),
        ]);
        let out = apply_value(
            &c,
            json!({"n": 7, "f": 2.5, "b": true, "s": "secret", "a": [1], "o": {"x": 1}, "z": null, "keep": 1}),
        );
        assert_eq!(
            out,
            Some(
                json!({"n": 0, "f": 0.0, "b": false, "s": "", "a": [], "o": {}, "z": null, "keep": 1})
            )
        );
    }

    #[test]
    fn custom_replacement() {
        let c = chain(&[
            ("transforms", "m"),
            TYPE,
            ("transforms.m.fields", "ssn,card"),
            ("transforms.m.replacement", "****"),
        ]);
        assert_eq!(
            apply_value(&c, json!({"ssn": "123-45", "card": "4111"})),
            Some(json!({"ssn": "****", "card": "****"}))
        );
        let err = c
            .apply(crate::record::Record::new(
                "t",
                None,
                Some(json!({"ssn": 5})),
            ))
            .unwrap_err();
        assert!(err.message.contains("Unable to convert ****"), "{err}");

        let numeric = chain(&[
            ("transforms", "m"),
            TYPE,
            ("transforms.m.fields", "n"),
            ("transforms.m.replacement", "9"),
        ]);
        assert_eq!(
            apply_value(&numeric, json!({"n": 5})),
            Some(json!({"n": 9}))
        );
    }

    #[test]
    fn schema_types_decide_the_mask() {
        use crate::record::Record;
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        let c = chain(&[
            ("transforms", "m"),
            TYPE,
            ("transforms.m.fields", "ssn,amount,born,n"),
        ]);
        let schema = Arc::new(Schema::structure(vec![
            Field::new("ssn", Schema::string()),
            Field::new("amount", Schema::decimal(2)),
            Field::new("born", Schema::date().optional()),
            Field::new("n", Schema::int32()),
            Field::new("keep", Schema::string()),
        ]));
        let r = Record::new(
            "t",
            None,
            Some(json!({"ssn": "123", "amount": "BOI=", "born": 9000, "n": 5, "keep": "k"})),
        )
        .with_value_schema(Some(Arc::clone(&schema)));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(json!({"ssn": "", "amount": "AA==", "born": 0, "n": 0, "keep": "k"}))
        );
        assert_eq!(out.value_schema, Some(schema));
        let numeric = chain(&[
            ("transforms", "m"),
            TYPE,
            ("transforms.m.fields", "n"),
            ("transforms.m.replacement", "99999999999"),
        ]);
        let s = Arc::new(Schema::structure(vec![Field::new("n", Schema::int32())]));
        let r = Record::new("t", None, Some(json!({"n": 5}))).with_value_schema(Some(s));
        let err = numeric.apply(r).unwrap_err();
        assert!(err.message.contains("Unable to convert"), "{err}");
    }

    #[test]
    fn config_needs_fields_and_non_empty_replacement() {
        let errors = config_errors(&[("transforms", "m"), TYPE, ("transforms.m.replacement", " ")]);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["transforms.m.fields", "transforms.m.replacement"]
        );
    }
}
