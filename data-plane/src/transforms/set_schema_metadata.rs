//! `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`:
//! sets the key/value schema's name (`schema.name`) and version
//! (`schema.version`).
//!
//! A record with a schema gets the new name and/or version (the rest of
//! the schema and the value stay). A schemaless record passes unchanged —
//! upstream rejects it ("Schema required"), but converters that derive a
//! schema from the value (`JSON_SR`, `AVRO`, `PROTOBUF` with schemaless
//! records) have no name to set.

use super::props::Props;
use super::util::{SchemaCache, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    schemas: SchemaCache,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let name = props.string("schema.name").filter(|n| !n.is_empty());
    let version = props.int("schema.version");
    props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    if name.is_none() && version.is_none() {
        props.error(
            "schema.name",
            "neither schema.name nor schema.version is configured",
        );
        return None;
    }
    Some(Box::new(SetSchemaMetadata {
        side,
        name,
        version,
        schemas: SchemaCache::default(),
    }))
}

impl Transform for SetSchemaMetadata {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let Some(schema) = self.side.schema(&record) else {
            return Ok(Some(record));
        };
        let updated = self.schemas.get_or_build(&schema, |s| {
            let mut out = s.clone();
            if let Some(name) = &self.name {
                out.name = Some(name.clone());
            }
            if let Some(version) = self.version {
                out.version = Some(version);
            }
            Ok(out)
        })?;
        self.side.set_schema(&mut record, Some(updated));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain, config_errors};
    use serde_json::json;

    #[test]
    fn is_a_no_op_on_schemaless_records() {
        let c = chain(&[
            ("transforms", "s"),
            (
                "transforms.s.type",
                "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
            ),
            ("transforms.s.schema.name", "ksql.users"),
            ("transforms.s.schema.version", "3"),
        ]);
        assert_eq!(apply_value(&c, json!({"a": 1})), Some(json!({"a": 1})));
    }

    #[test]
    fn sets_the_name_and_version_of_a_schema() {
        use crate::record::Record;
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example (and Datagen's users_protobuf config): schema.name.
        let c = chain(&[
            ("transforms", "s"),
            (
                "transforms.s.type",
                "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
            ),
            ("transforms.s.schema.name", "ksql.users"),
            ("transforms.s.schema.version", "3"),
        ]);
        let schema = Schema::structure(vec![Field::new("a", Schema::int32())]).named("old");
        let r = Record::new("t", None, Some(json!({"a": 1})))
            .with_value_schema(Some(Arc::new(schema.clone())));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.value, Some(json!({"a": 1})));
        assert_eq!(
            out.value_schema.as_deref(),
            Some(&schema.named("ksql.users").with_version(3))
        );
    }

    #[test]
    fn validates_settings() {
        let base = (
            "transforms.s.type",
            "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
        );
        let errors = config_errors(&[("transforms", "s"), base]);
        assert_eq!(errors[0].key, "transforms.s.schema.name");
        let errors = config_errors(&[
            ("transforms", "s"),
            base,
            ("transforms.s.schema.version", "v1"),
        ]);
        assert_eq!(errors[0].key, "transforms.s.schema.version");
    }
}
