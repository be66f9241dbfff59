//! `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`:
//! replaces the key/value with one of its fields. `field.syntax.version=V2`
//! (KIP-821) makes `field` a dotted path into nested maps. Null passes
//! through; a missing field gives null; a non-map is an error (upstream).

use super::field_path::{FieldPath, SyntaxVersion};
use super::props::Props;
use super::util::{not_a_map, require_struct, Side};
use super::Transform;
use crate::record::Record;
use serde_json::Value;

#[derive(Debug)]
pub(crate) struct ExtractField {
    side: Side,
    path: FieldPath,
    /// As configured, for error messages.
    field: String,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let field = props.required("field");
    let version_text = props.string_or("field.syntax.version", "V1");
    let version = SyntaxVersion::parse(&version_text);
    if version.is_none() {
        props.error(
            "field.syntax.version",
            format!("invalid value '{version_text}'; must be one of: V1, V2"),
        );
    }
    props.boolean("replace.null.with.default", true);
    let (field, version) = (field?, version?);
    match FieldPath::new(&field, version) {
        Ok(path) if !props.has_errors() => Some(Box::new(ExtractField { side, path, field })),
        Ok(_) => None,
        Err(e) => {
            props.error("field", e);
            None
        }
    }
}

impl Transform for ExtractField {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            // Upstream's schema path: the record takes the field's schema,
            // even when the value is null.
            let value = self.side.take(&mut record);
            let map = require_struct(&schema, value, "field extraction")?;
            let field_schema = self
                .path
                .schema_from(&schema)
                .ok_or_else(|| format!("Unknown field: {}", self.field))?;
            let extracted = match map {
                Some(map) => self.path.value_from(&map)?.cloned(),
                None => None,
            };
            self.side.set(&mut record, extracted);
            self.side.set_schema(&mut record, Some(field_schema));
            return Ok(Some(record));
        }
        let extracted = match self.side.get(&record) {
            None => None,
            Some(Value::Object(map)) => self.path.value_from(map)?.cloned(),
            Some(other) => return Err(not_a_map(Some(other), "field extraction")),
        };
        self.side.set(&mut record, extracted);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain, config_errors};
    use crate::record::Record;
    use serde_json::json;

    #[test]
    fn extracts_top_level_and_nested_fields() {
        let v1 = chain(&[
            ("transforms", "e"),
            (
                "transforms.e.type",
                "org.apache.kafka.connect.transforms.ExtractField$Value",
            ),
            ("transforms.e.field", "address"),
        ]);
        let value = json!({"address": {"city": "City_1"}, "id": 1});
        assert_eq!(
            apply_value(&v1, value.clone()),
            Some(json!({"city": "City_1"}))
        );
        assert_eq!(apply_value(&v1, json!({"id": 1})), None);
        assert_eq!(apply_value(&v1, json!(null)), None);

        let v2 = chain(&[
            ("transforms", "e"),
            (
                "transforms.e.type",
                "org.apache.kafka.connect.transforms.ExtractField$Value",
            ),
            ("transforms.e.field", "address.city"),
            ("transforms.e.field.syntax.version", "v2"),
        ]);
        assert_eq!(apply_value(&v2, value), Some(json!("City_1")));
    }

    #[test]
    fn schemas_become_the_fields_schema() {
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example: ExtractField$Key with field=id.
        let c = chain(&[
            ("transforms", "e"),
            (
                "transforms.e.type",
                "org.apache.kafka.connect.transforms.ExtractField$Key",
            ),
            ("transforms.e.field", "id"),
        ]);
        let schema = Arc::new(Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("region", Schema::string()),
        ]));
        let r = Record::new("t", Some(json!({"id": 3, "region": "EU"})), None)
            .with_key_schema(Some(Arc::clone(&schema)));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Some(json!(3)));
        assert_eq!(out.key_schema.as_deref(), Some(&Schema::int32()));
        let missing = chain(&[
            ("transforms", "e"),
            (
                "transforms.e.type",
                "org.apache.kafka.connect.transforms.ExtractField$Key",
            ),
            ("transforms.e.field", "nope"),
        ]);
        let r = Record::new("t", Some(json!({"id": 3, "region": "EU"})), None)
            .with_key_schema(Some(schema));
        assert!(missing
            .apply(r)
            .unwrap_err()
            .message
            .contains("Unknown field: nope"));
    }

    #[test]
    fn non_map_is_an_error_naming_the_transform() {
        let c = chain(&[
            ("transforms", "getId"),
            (
                "transforms.getId.type",
                "org.apache.kafka.connect.transforms.ExtractField$Key",
            ),
            ("transforms.getId.field", "id"),
        ]);
        let err = c
            .apply(Record::new("t", Some(json!("k")), None))
            .unwrap_err();
        assert_eq!(err.transform, "getId");
        assert!(err.to_string().contains("ExtractField$Key"), "{err}");
        assert!(err.to_string().contains("found: string"), "{err}");
    }

    #[test]
    fn config_checks() {
        let errors = config_errors(&[
            ("transforms", "e"),
            (
                "transforms.e.type",
                "org.apache.kafka.connect.transforms.ExtractField$Value",
            ),
            ("transforms.e.field.syntax.version", "V3"),
        ]);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["transforms.e.field", "transforms.e.field.syntax.version"]
        );
    }
}
