//! `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`: nested
//! maps become top-level fields named `outer<delimiter>inner` (default
//! delimiter `.`). Arrays are left as they are; empty nested maps vanish,
//! as upstream's schemaless recursion emits nothing for them.

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{not_a_map, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct Flatten {
    side: Side,
    delimiter: String,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let delimiter = props.string_or("delimiter", ".");
    Some(Box::new(Flatten { side, delimiter }))
}

impl Flatten {
    fn flatten_into(&self, out: &mut Map<String, Value>, prefix: &str, map: Map<String, Value>) {
        for (name, value) in map {
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}{}{name}", self.delimiter)
            };
            match value {
                Value::Object(inner) => self.flatten_into(out, &key, inner),
                other => {
                    out.insert(key, other);
                }
            }
        }
    }
}

impl Transform for Flatten {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let flattened = match self.side.take(&mut record) {
            None => None,
            Some(Value::Object(map)) => {
                let mut out = Map::new();
                self.flatten_into(&mut out, "", map);
                Some(Value::Object(out))
            }
            Some(other) => return Err(not_a_map(Some(&other), "flattening")),
        };
        self.side.set(&mut record, flattened);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain};
    use serde_json::json;

    #[test]
    fn flattens_nested_maps() {
        let c = chain(&[
            ("transforms", "f"),
            (
                "transforms.f.type",
                "org.apache.kafka.connect.transforms.Flatten$Value",
            ),
            ("transforms.f.delimiter", "_"),
        ]);
        let out = apply_value(
            &c,
            json!({"id": 1, "address": {"city": "C", "geo": {"lat": 1.5}}, "tags": [{"a": 1}], "empty": {}}),
        );
        assert_eq!(
            out,
            Some(json!({"id": 1, "address_city": "C", "address_geo_lat": 1.5, "tags": [{"a": 1}]}))
        );
    }

    #[test]
    fn default_delimiter_is_a_dot() {
        let c = chain(&[
            ("transforms", "f"),
            (
                "transforms.f.type",
                "org.apache.kafka.connect.transforms.Flatten$Value",
            ),
        ]);
        assert_eq!(
            apply_value(&c, json!({"a": {"b": 1}})),
            Some(json!({"a.b": 1}))
        );
        assert!(c
            .apply(crate::record::Record::new("t", None, Some(json!(3))))
            .is_err());
    }
}
