//! `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`: wraps
//! the whole key/value in a single-field map `{field: value}` — a null
//! becomes `{field: null}`, as upstream's `singletonMap` does.

use serde_json::{Map, Value};

use super::props::Props;
use super::util::Side;
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct HoistField {
    side: Side,
    field: String,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let field = props.required("field")?;
    Some(Box::new(HoistField { side, field }))
}

impl Transform for HoistField {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record).unwrap_or(Value::Null);
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
