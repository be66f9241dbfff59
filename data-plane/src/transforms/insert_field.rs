//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: adds
//! record metadata (`topic.field`, `partition.field`, `offset.field`,
//! `timestamp.field`) and/or a constant (`static.field` + `static.value`).
//!
//! A field name may end in `!` (required) or `?` (optional, the default);
//! the suffix shapes the inserted field's schema (upstream's schema path:
//! `topic` and `static` are strings, `partition` an `int32`, `offset` an
//! `int64`, `timestamp` a Connect `Timestamp`). The timestamp is inserted as
//! epoch milliseconds. `offset.field` needs a record read from Kafka
//! (upstream: "Only SinkRecord supported").

use std::sync::Arc;

use serde_json::Value;

use super::props::Props;
use super::util::{check_required, require_map, require_struct, SchemaCache, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{Field, Kind, Schema};

/// An inserted field: its name and whether it is optional.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

#[derive(Debug)]
pub(crate) struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<(Spec, String)>,
    schemas: SchemaCache,
}

/// Reads the `!`/`?` suffix; an empty name means "not configured".
fn field_spec(props: &Props, key: &str) -> Option<Spec> {
    let raw = props.get(key)?;
    let (name, optional) = match raw.strip_suffix('!') {
        Some(n) => (n, false),
        None => (raw.strip_suffix('?').unwrap_or(raw), true),
    };
    (!name.is_empty()).then(|| Spec {
        name: name.to_string(),
        optional,
    })
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let static_name = field_spec(props, "static.field");
    let static_value = props.string("static.value");
    let static_field = match (static_name, static_value) {
        (Some(name), Some(value)) => Some((name, value)),
        // Upstream silently ignores a static field without a value; a
        // config error is kinder than never inserting anything.
        (Some(_), None) => {
            props.error("static.value", "required when static.field is set");
            None
        }
        _ => None,
    };
    props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(InsertField {
        side,
        topic: field_spec(props, "topic.field"),
        partition: field_spec(props, "partition.field"),
        offset: field_spec(props, "offset.field"),
        timestamp: field_spec(props, "timestamp.field"),
        static_field,
        schemas: SchemaCache::default(),
    }))
}

impl InsertField {
    /// The inserted fields with their schemas and values, in upstream's order.
    fn inserted(&self, record: &Record) -> Result<Vec<(&Spec, Schema, Value)>, String> {
        let mut out = Vec::new();
        if let Some(spec) = &self.topic {
            out.push((spec, Schema::string(), Value::from(record.topic.clone())));
        }
        if let Some(spec) = &self.partition {
            let p = record.kafka_partition.map(Value::from).unwrap_or_default();
            out.push((spec, Schema::int32(), p));
        }
        if let Some(spec) = &self.offset {
            let offset = record
                .kafka_offset
                .ok_or("offset.field needs a record read from Kafka (sink connectors only)")?;
            out.push((spec, Schema::int64(), Value::from(offset)));
        }
        if let Some(spec) = &self.timestamp {
            let ts = record.timestamp.map(Value::from).unwrap_or_default();
            out.push((spec, Schema::timestamp(), ts));
        }
        if let Some((spec, value)) = &self.static_field {
            out.push((spec, Schema::string(), Value::from(value.clone())));
        }
        Ok(out)
    }

    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record);
        let Some(mut map) = require_struct(&schema, value, "field insertion")? else {
            // Tombstones pass through (KAFKA-8523).
            return Ok(Some(record));
        };
        let inserted = self.inserted(&record)?;
        let updated = self.schemas.get_or_build(&schema, |s| {
            let mut fields = s.fields().to_vec();
            for (spec, fs, _) in &inserted {
                if fields.iter().any(|f| f.name == spec.name) {
                    return Err(format!(
                        "Cannot create field because of field name duplication {}",
                        spec.name
                    ));
                }
                fields.push(Field::new(
                    spec.name.clone(),
                    fs.clone().with_optional(spec.optional),
                ));
            }
            let mut out = s.basics(Kind::Struct(fields));
            out.optional = s.optional;
            Ok(out)
        })?;
        for (spec, fs, v) in inserted {
            check_required(
                &fs.with_optional(spec.optional),
                &v,
                &format!("field: \"{}\"", spec.name),
            )?;
            map.insert(spec.name.clone(), v);
        }
        self.side.set(&mut record, Some(Value::Object(map)));
        self.side.set_schema(&mut record, Some(updated));
        Ok(Some(record))
    }
}

impl Transform for InsertField {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
        // Tombstones pass through (KAFKA-8523).
        let Some(value) = self.side.take(&mut record) else {
            return Ok(Some(record));
        };
        let mut map = require_map(Some(value), "field insertion")?;
        for (spec, _, v) in self.inserted(&record)? {
            // Schemaless, only the metadata the record has is inserted.
            if !v.is_null() {
                map.insert(spec.name.clone(), v);
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

    #[test]
    fn inserts_metadata_and_static_value() {
        let c = chain(&[
            ("transforms", "i"),
            (
                "transforms.i.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.i.topic.field", "_topic!"),
            ("transforms.i.partition.field", "_partition"),
            ("transforms.i.offset.field", "_offset?"),
            ("transforms.i.timestamp.field", "_ts"),
            ("transforms.i.static.field", "src"),
            ("transforms.i.static.value", "datagen"),
        ]);
        let mut r = Record::new("orders", None, Some(json!({"id": 1})));
        r.kafka_partition = Some(2);
        r.kafka_offset = Some(42);
        r.timestamp = Some(1000);
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(
                json!({"id": 1, "_topic": "orders", "_partition": 2, "_offset": 42, "_ts": 1000, "src": "datagen"})
            )
        );
    }

    #[test]
    fn offset_needs_a_kafka_record_and_tombstones_pass() {
        let c = chain(&[
            ("transforms", "i"),
            (
                "transforms.i.type",
                "org.apache.kafka.connect.transforms.InsertField$Key",
            ),
            ("transforms.i.offset.field", "off"),
        ]);
        let err = c
            .apply(Record::new("t", Some(json!({})), None))
            .unwrap_err();
        assert_eq!(err.transform, "i");
        assert!(err.message.contains("offset.field"), "{err}");
        let out = c.apply(Record::new("t", None, None)).unwrap().unwrap();
        assert_eq!(out.key, None);
    }

    #[test]
    fn schemas_gain_the_inserted_fields() {
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example: topic.field=_topic!, static.field=src, static.value=datagen.
        let c = chain(&[
            ("transforms", "i"),
            (
                "transforms.i.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.i.topic.field", "_topic!"),
            ("transforms.i.timestamp.field", "_ts"),
            ("transforms.i.static.field", "src"),
            ("transforms.i.static.value", "datagen"),
        ]);
        let schema = Schema::structure(vec![Field::new("id", Schema::int32())]).named("V");
        let mut r = Record::new("orders", None, Some(json!({"id": 1})))
            .with_value_schema(Some(Arc::new(schema)));
        r.timestamp = Some(1000);
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(json!({"id": 1, "_topic": "orders", "_ts": 1000, "src": "datagen"}))
        );
        assert_eq!(
            *out.value_schema.unwrap(),
            Schema::structure(vec![
                Field::new("id", Schema::int32()),
                Field::new("_topic", Schema::string()),
                Field::new("_ts", Schema::timestamp().optional()),
                Field::new("src", Schema::string().optional()),
            ])
            .named("V")
        );
        // A field that already exists cannot be added to the schema.
        let dup = Schema::structure(vec![Field::new("src", Schema::string())]);
        let r = Record::new("orders", None, Some(json!({"src": "x"})))
            .with_value_schema(Some(Arc::new(dup)));
        assert!(c.apply(r).unwrap_err().message.contains("duplication"));
    }

    #[test]
    fn static_field_needs_a_value() {
        let errors = config_errors(&[
            ("transforms", "i"),
            (
                "transforms.i.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.i.static.field", "src"),
        ]);
        assert_eq!(errors[0].key, "transforms.i.static.value");
    }
}
