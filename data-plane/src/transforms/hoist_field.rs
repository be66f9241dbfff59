//! `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`: wraps
//! the whole key/value in a single-field map `{field: value}` — a null
//! becomes `{field: null}`, as upstream's `singletonMap` does.

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{check_required, SchemaCache, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{Field, Schema};

#[derive(Debug)]
pub(crate) struct HoistField {
    side: Side,
    field: String,
    schemas: SchemaCache,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let field = props.required("field")?;
    Some(Box::new(HoistField {
        side,
        field,
        schemas: SchemaCache::default(),
    }))
}

impl Transform for HoistField {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record).unwrap_or(Value::Null);
        if let Some(schema) = self.side.schema(&record) {
            // Upstream's schema path: a struct with the one field.
            check_required(&schema, &value, &format!("field: \"{}\"", self.field))?;
            let updated = self.schemas.get_or_build(&schema, |s| {
                Ok(Schema::structure(vec![Field::new(
                    self.field.clone(),
                    s.clone(),
                )]))
            })?;
            self.side.set_schema(&mut record, Some(updated));
        }
        let mut map = Map::new();
        map.insert(self.field.clone(), value);
        self.side.set(&mut record, Some(Value::Object(map)));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain, config_errors};
    use serde_json::json;

    #[test]
    fn wraps_the_value() {
        let c = chain(&[
            ("transforms", "h"),
            (
                "transforms.h.type",
                "org.apache.kafka.connect.transforms.HoistField$Value",
            ),
            ("transforms.h.field", "line"),
        ]);
        assert_eq!(
            apply_value(&c, json!("hello")),
            Some(json!({"line": "hello"}))
        );
        assert_eq!(apply_value(&c, json!(null)), Some(json!({"line": null})));
    }

    #[test]
    fn schemas_are_wrapped_in_a_struct() {
        use crate::record::Record;
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example: field=line on a string value.
        let c = chain(&[
            ("transforms", "h"),
            (
                "transforms.h.type",
                "org.apache.kafka.connect.transforms.HoistField$Value",
            ),
            ("transforms.h.field", "line"),
        ]);
        let r = Record::new("t", None, Some(json!("hello")))
            .with_value_schema(Some(Arc::new(Schema::string().optional())));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.value, Some(json!({"line": "hello"})));
        assert_eq!(
            out.value_schema.as_deref(),
            Some(&Schema::structure(vec![Field::new(
                "line",
                Schema::string().optional()
            )]))
        );
    }

    #[test]
    fn field_is_required() {
        let errors = config_errors(&[
            ("transforms", "h"),
            (
                "transforms.h.type",
                "org.apache.kafka.connect.transforms.HoistField$Key",
            ),
        ]);
        assert_eq!(errors[0].key, "transforms.h.field");
    }
}
