//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces
//! the listed `fields` with their type's "empty" value (0, false, "", [] or
//! {}) or, with `replacement`, with that text converted to the field's type.
//!
//! Like upstream schemaless: listed fields that are absent come back as
//! null, null fields stay null, and a tombstone is an error (requireMap).

use serde_json::Value;

use super::cast::{cast_value, CastType};
use super::props::Props;
use super::util::{require_map, type_name, Num, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let fields = props.required_list("fields");
    let replacement = props.string("replacement");
    if replacement.as_deref() == Some("") {
        props.error("replacement", "must be a non-empty string");
    }
    props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(MaskField {
        side,
        fields: fields?,
        replacement,
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

impl Transform for MaskField {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
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
    fn config_needs_fields_and_non_empty_replacement() {
        let errors = config_errors(&[("transforms", "m"), TYPE, ("transforms.m.replacement", " ")]);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["transforms.m.fields", "transforms.m.replacement"]
        );
    }
}
