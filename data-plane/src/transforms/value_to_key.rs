//! `org.apache.kafka.connect.transforms.ValueToKey`: the key becomes a map
//! of the listed value `fields` (absent ones as null, as upstream). The
//! value must be a map; a tombstone is an error upstream and here.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{field_value, not_a_map, require_struct, SchemaCache, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{Field, Schema};

#[derive(Debug)]
pub(crate) struct ValueToKey {
    fields: Vec<String>,
    replace_null: bool,
    schemas: SchemaCache,
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let fields = props.required_list("fields")?;
    let replace_null = props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(ValueToKey {
        fields,
        replace_null,
        schemas: SchemaCache::default(),
    }))
}

impl ValueToKey {
    /// Upstream's schema path: the key is a struct of the listed fields,
    /// with their schemas.
    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let purpose = "copying fields from value to key";
        let map = require_struct(&schema, record.value.clone(), purpose)?
            .ok_or_else(|| format!("Only Struct objects supported for [{purpose}], found: null"))?;
        let key_schema = self.schemas.get_or_build(&schema, |s| {
            let fields = self
                .fields
                .iter()
                .map(|name| {
                    s.field(name)
                        .cloned()
                        .ok_or_else(|| format!("Field does not exist: {name}"))
                })
                .collect::<Result<Vec<Field>, String>>()?;
            Ok(Schema::structure(fields))
        })?;
        let key: Map<String, Value> = key_schema
            .fields()
            .iter()
            .map(|f| (f.name.clone(), field_value(&map, f, self.replace_null)))
            .collect();
        record.key = Some(Value::Object(key));
        record.key_schema = Some(key_schema);
        Ok(Some(record))
    }
}

impl Transform for ValueToKey {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = Side::Value.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
        let Some(Value::Object(value)) = Side::Value.get(&record) else {
            return Err(not_a_map(
                Side::Value.get(&record),
                "copying fields from value to key",
            ));
        };
        let key: Map<String, Value> = self
            .fields
            .iter()
            .map(|f| (f.clone(), value.get(f).cloned().unwrap_or(Value::Null)))
            .collect();
        record.key = Some(Value::Object(key));
        // A schemaless value gives a schemaless key.
        record.key_schema = None;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::chain;
    use crate::record::Record;
    use serde_json::json;

    #[test]
    fn copies_fields_into_the_key() {
        let c = chain(&[
            ("transforms", "k"),
            (
                "transforms.k.type",
                "org.apache.kafka.connect.transforms.ValueToKey",
            ),
            ("transforms.k.fields", "userid,missing"),
        ]);
        let r = Record::new(
            "t",
            Some(json!("old")),
            Some(json!({"userid": "User_1", "x": 1})),
        );
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Some(json!({"userid": "User_1", "missing": null})));
        assert_eq!(out.value, Some(json!({"userid": "User_1", "x": 1})));
        assert!(c.apply(Record::new("t", None, None)).is_err());
    }

    #[test]
    fn the_key_schema_is_a_struct_of_the_fields() {
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example: fields=userid.
        let c = chain(&[
            ("transforms", "k"),
            (
                "transforms.k.type",
                "org.apache.kafka.connect.transforms.ValueToKey",
            ),
            ("transforms.k.fields", "userid"),
        ]);
        let schema = Schema::structure(vec![
            Field::new("userid", Schema::int32()),
            Field::new("name", Schema::string()),
        ]);
        let r = Record::new("t", None, Some(json!({"userid": 3, "name": "x"})))
            .with_value_schema(Some(Arc::new(schema)));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Some(json!({"userid": 3})));
        assert_eq!(
            out.key_schema.as_deref(),
            Some(&Schema::structure(vec![Field::new(
                "userid",
                Schema::int32()
            )]))
        );
        let bad = chain(&[
            ("transforms", "k"),
            (
                "transforms.k.type",
                "org.apache.kafka.connect.transforms.ValueToKey",
            ),
            ("transforms.k.fields", "nope"),
        ]);
        let r = Record::new("t", None, Some(json!({"userid": 3, "name": "x"}))).with_value_schema(
            Some(Arc::new(Schema::structure(vec![Field::new(
                "userid",
                Schema::int32(),
            )]))),
        );
        assert!(bad
            .apply(r)
            .unwrap_err()
            .message
            .contains("Field does not exist: nope"));
    }
}
