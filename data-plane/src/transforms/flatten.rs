//! `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`: nested
//! maps become top-level fields named `outer<delimiter>inner` (default
//! delimiter `.`). Arrays are left as they are; empty nested maps vanish,
//! as upstream's schemaless recursion emits nothing for them.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{not_a_map, require_struct, SchemaCache, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{Field, Kind, Schema};

#[derive(Debug)]
pub(crate) struct Flatten {
    side: Side,
    delimiter: String,
    schemas: SchemaCache,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let delimiter = props.string_or("delimiter", ".");
    Some(Box::new(Flatten {
        side,
        delimiter,
        schemas: SchemaCache::default(),
    }))
}

impl Flatten {
    fn name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    /// Upstream's `buildUpdatedSchema`: nested struct fields become
    /// top-level fields, optional when any struct above them is.
    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        optional: bool,
        out: &mut Vec<Field>,
    ) -> Result<(), String> {
        for f in schema.fields() {
            let name = self.name(prefix, &f.name);
            let field_optional = optional || f.schema.optional;
            match &f.schema.kind {
                Kind::Struct(_) => self.flatten_schema(&f.schema, &name, field_optional, out)?,
                _ => {
                    if out.iter().any(|x| x.name == name) {
                        return Err(format!(
                            "Cannot create field because of field name duplication {name}"
                        ));
                    }
                    let mut fs = (*f.schema).clone();
                    fs.optional = field_optional;
                    out.push(Field::new(name, fs));
                }
            }
        }
        Ok(())
    }

    /// Upstream's `buildWithSchema`: a null nested struct leaves its
    /// flattened fields null.
    fn flatten_value(
        &self,
        schema: &Schema,
        prefix: &str,
        map: Option<&Map<String, Value>>,
        out: &mut Map<String, Value>,
    ) {
        for f in schema.fields() {
            let name = self.name(prefix, &f.name);
            let v = map.and_then(|m| m.get(&f.name)).filter(|v| !v.is_null());
            match &f.schema.kind {
                Kind::Struct(_) => {
                    self.flatten_value(&f.schema, &name, v.and_then(Value::as_object), out)
                }
                _ => {
                    out.insert(name, v.cloned().unwrap_or(Value::Null));
                }
            }
        }
    }

    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record);
        let map = require_struct(&schema, value, "flattening")?;
        let updated = self.schemas.get_or_build(&schema, |s| {
            let mut fields = Vec::new();
            self.flatten_schema(s, "", false, &mut fields)?;
            let mut out = s.basics(Kind::Struct(fields));
            out.optional = s.optional;
            Ok(out)
        })?;
        let value = map.map(|m| {
            let mut out = Map::new();
            self.flatten_value(&schema, "", Some(&m), &mut out);
            Value::Object(out)
        });
        self.side.set(&mut record, value);
        self.side.set_schema(&mut record, Some(updated));
        Ok(Some(record))
    }

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
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
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
    fn nested_struct_schemas_are_flattened() {
        use crate::record::Record;
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example: delimiter=_ on a nested struct.
        let c = chain(&[
            ("transforms", "f"),
            (
                "transforms.f.type",
                "org.apache.kafka.connect.transforms.Flatten$Value",
            ),
            ("transforms.f.delimiter", "_"),
        ]);
        let address = Schema::structure(vec![
            Field::new("city", Schema::string()),
            Field::new("zip", Schema::int32()),
        ])
        .optional();
        let schema = Schema::structure(vec![
            Field::new("id", Schema::int64()),
            Field::new("address", address),
            Field::new("tags", Schema::array(Schema::string())),
        ])
        .named("Order");
        let r = Record::new(
            "t",
            None,
            Some(json!({"id": 1, "address": {"city": "C", "zip": 9}, "tags": ["a"]})),
        )
        .with_value_schema(Some(Arc::new(schema.clone())));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(json!({"id": 1, "address_city": "C", "address_zip": 9, "tags": ["a"]}))
        );
        assert_eq!(
            *out.value_schema.unwrap(),
            Schema::structure(vec![
                Field::new("id", Schema::int64()),
                Field::new("address_city", Schema::string().optional()),
                Field::new("address_zip", Schema::int32().optional()),
                Field::new("tags", Schema::array(Schema::string())),
            ])
            .named("Order")
        );
        let r = Record::new(
            "t",
            None,
            Some(json!({"id": 2, "address": null, "tags": []})),
        )
        .with_value_schema(Some(Arc::new(schema)));
        assert_eq!(
            c.apply(r).unwrap().unwrap().value,
            Some(json!({"id": 2, "address_city": null, "address_zip": null, "tags": []}))
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
