//! `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`: copies
//! (`operation=copy`) or moves (`operation=move`) the listed `fields` into
//! headers named by the matching entry of `headers`. Absent fields give a
//! null header, as upstream; the key/value must be a map.

use serde_json::Value;

use super::props::Props;
use super::util::{field_value, require_map, require_struct, SchemaCache, Side};
use super::Transform;
use crate::record::{Header, Record};

#[derive(Debug)]
pub(crate) struct HeaderFrom {
    side: Side,
    /// (field, header) pairs in config order.
    pairs: Vec<(String, String)>,
    is_move: bool,
    replace_null: bool,
    schemas: SchemaCache,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let fields = props.required_list("fields");
    let headers = props.required_list("headers");
    let operation = props.one_of("operation", &["move", "copy"], None);
    let (fields, headers, operation) = (fields?, headers?, operation?);
    if fields.len() != headers.len() {
        props.error(
            "headers",
            format!(
                "must have the same number of elements as 'fields' ({} vs {})",
                headers.len(),
                fields.len()
            ),
        );
        return None;
    }
    let replace_null = props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(HeaderFrom {
        side,
        pairs: fields.into_iter().zip(headers).collect(),
        is_move: operation == "move",
        replace_null,
        schemas: SchemaCache::default(),
    }))
}

impl HeaderFrom {
    /// Upstream's schema path: a move also removes the fields from the schema.
    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: std::sync::Arc<crate::schema::Schema>,
        purpose: &str,
    ) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record);
        let map = require_struct(&schema, value, purpose)?
            .ok_or_else(|| format!("Only Struct objects supported for [{purpose}], found: null"))?;
        for (field, header) in &self.pairs {
            let f = schema
                .field(field)
                .ok_or_else(|| format!("Field does not exist: {field}"))?;
            let v = field_value(&map, f, self.replace_null);
            record.headers.push(Header {
                key: header.clone(),
                value: Some(v).filter(|v| !v.is_null()),
            });
        }
        if !self.is_move {
            self.side.set(&mut record, Some(Value::Object(map)));
            return Ok(Some(record));
        }
        let moved = |name: &str| self.pairs.iter().any(|(f, _)| f == name);
        let updated = self.schemas.get_or_build(&schema, |s| {
            let fields = s
                .fields()
                .iter()
                .filter(|f| !moved(&f.name))
                .cloned()
                .collect();
            let mut out = s.basics(crate::schema::Kind::Struct(fields));
            out.optional = s.optional;
            Ok(out)
        })?;
        let kept = map.into_iter().filter(|(k, _)| !moved(k)).collect();
        self.side.set(&mut record, Some(Value::Object(kept)));
        self.side.set_schema(&mut record, Some(updated));
        Ok(Some(record))
    }
}

impl Transform for HeaderFrom {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            let purpose = if self.is_move {
                "header move"
            } else {
                "header copy"
            };
            return self.apply_with_schema(record, schema, purpose);
        }
        let purpose = if self.is_move {
            "header move"
        } else {
            "header copy"
        };
        let value = self.side.take(&mut record);
        let mut map = require_map(value, purpose)?;
        for (field, header) in &self.pairs {
            let field_value = map.get(field).filter(|v| !v.is_null()).cloned();
            record.headers.push(Header {
                key: header.clone(),
                value: field_value,
            });
        }
        if self.is_move {
            for (field, _) in &self.pairs {
                map.remove(field);
            }
        }
        self.side.set(&mut record, Some(Value::Object(map)));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{chain, config_errors};
    use crate::record::Record;
    use serde_json::json;

    fn header_from(operation: &str) -> super::super::Chain {
        chain(&[
            ("transforms", "hf"),
            (
                "transforms.hf.type",
                "org.apache.kafka.connect.transforms.HeaderFrom$Value",
            ),
            ("transforms.hf.fields", "id,missing"),
            ("transforms.hf.headers", "x-id,x-missing"),
            ("transforms.hf.operation", operation),
        ])
    }

    #[test]
    fn copy_keeps_and_move_removes_fields() {
        let r = Record::new("t", None, Some(json!({"id": 7, "name": "n"})));
        let copied = header_from("copy").apply(r.clone()).unwrap().unwrap();
        assert_eq!(copied.value, Some(json!({"id": 7, "name": "n"})));
        assert_eq!(
            copied.header("x-id").and_then(|h| h.value.clone()),
            Some(json!(7))
        );
        assert_eq!(
            copied.header("x-missing").map(|h| h.value.clone()),
            Some(None)
        );

        let moved = header_from("move").apply(r).unwrap().unwrap();
        assert_eq!(moved.value, Some(json!({"name": "n"})));
        assert_eq!(moved.headers.len(), 2);
    }

    #[test]
    fn move_drops_the_fields_from_the_schema() {
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        let c = chain(&[
            ("transforms", "hf"),
            (
                "transforms.hf.type",
                "org.apache.kafka.connect.transforms.HeaderFrom$Value",
            ),
            ("transforms.hf.fields", "id"),
            ("transforms.hf.headers", "x-id"),
            ("transforms.hf.operation", "move"),
        ]);
        let schema = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("name", Schema::string()),
        ]);
        let r = Record::new("t", None, Some(json!({"id": 7, "name": "n"})))
            .with_value_schema(Some(Arc::new(schema)));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.value, Some(json!({"name": "n"})));
        assert_eq!(
            out.value_schema.as_deref(),
            Some(&Schema::structure(vec![Field::new(
                "name",
                Schema::string()
            )]))
        );
        assert_eq!(
            out.header("x-id").and_then(|h| h.value.clone()),
            Some(json!(7))
        );
    }

    #[test]
    fn lists_must_line_up_and_operation_is_checked() {
        let errors = config_errors(&[
            ("transforms", "hf"),
            (
                "transforms.hf.type",
                "org.apache.kafka.connect.transforms.HeaderFrom$Key",
            ),
            ("transforms.hf.fields", "a,b"),
            ("transforms.hf.headers", "x"),
            ("transforms.hf.operation", "copy"),
        ]);
        assert_eq!(errors[0].key, "transforms.hf.headers");
        let errors = config_errors(&[
            ("transforms", "hf"),
            (
                "transforms.hf.type",
                "org.apache.kafka.connect.transforms.HeaderFrom$Key",
            ),
            ("transforms.hf.fields", "a"),
            ("transforms.hf.headers", "x"),
            ("transforms.hf.operation", "Copy"),
        ]);
        assert_eq!(errors[0].key, "transforms.hf.operation");
    }
}
