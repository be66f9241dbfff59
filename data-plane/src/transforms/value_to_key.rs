//! `org.apache.kafka.connect.transforms.ValueToKey`: the key becomes a map
//! of the listed value `fields` (absent ones as null, as upstream). The
//! value must be a map; a tombstone is an error upstream and here.

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{not_a_map, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct ValueToKey {
    fields: Vec<String>,
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let fields = props.required_list("fields")?;
    props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(ValueToKey { fields }))
}

impl Transform for ValueToKey {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
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
}
