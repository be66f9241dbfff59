//! `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`:
//! sets the key/value schema's name (`schema.name`) and version
//! (`schema.version`).
//!
//! Tributary records are schemaless (converters own schemas), so applying
//! it leaves the record as is — upstream would reject a schemaless record.
//! The settings are still validated so a config that works elsewhere is
//! checked the same way here.

use super::props::Props;
use super::util::Side;
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct SetSchemaMetadata;

pub(crate) fn build(props: &mut Props, _side: Side) -> Option<Box<dyn Transform>> {
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
    Some(Box::new(SetSchemaMetadata))
}

impl Transform for SetSchemaMetadata {
    fn apply(&self, record: Record) -> Result<Option<Record>, String> {
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
