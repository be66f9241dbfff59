//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: adds
//! record metadata (`topic.field`, `partition.field`, `offset.field`,
//! `timestamp.field`) and/or a constant (`static.field` + `static.value`).
//!
//! A field name may end in `!` (required) or `?` (optional, the default);
//! the suffix only shapes the schema upstream, so schemaless we just strip
//! it. The timestamp is inserted as epoch milliseconds, as upstream's
//! schemaless path does. `offset.field` needs a record read from Kafka
//! (upstream: "Only SinkRecord supported").

use serde_json::Value;

use super::props::Props;
use super::util::{require_map, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct InsertField {
    side: Side,
    topic: Option<String>,
    partition: Option<String>,
    offset: Option<String>,
    timestamp: Option<String>,
    static_field: Option<(String, String)>,
}

/// Strips the `!`/`?` suffix; an empty name means "not configured".
fn field_name(props: &Props, key: &str) -> Option<String> {
    let raw = props.get(key)?;
    let name = raw.strip_suffix(['!', '?']).unwrap_or(raw);
    (!name.is_empty()).then(|| name.to_string())
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let static_name = field_name(props, "static.field");
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
        topic: field_name(props, "topic.field"),
        partition: field_name(props, "partition.field"),
        offset: field_name(props, "offset.field"),
        timestamp: field_name(props, "timestamp.field"),
        static_field,
    }))
}

impl Transform for InsertField {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        // Tombstones pass through (KAFKA-8523).
        let Some(value) = self.side.take(&mut record) else {
            return Ok(Some(record));
        };
        let mut map = require_map(Some(value), "field insertion")?;
        if let Some(name) = &self.topic {
            map.insert(name.clone(), Value::from(record.topic.clone()));
        }
        if let (Some(name), Some(p)) = (&self.partition, record.kafka_partition) {
            map.insert(name.clone(), Value::from(p));
        }
        if let Some(name) = &self.offset {
            let offset = record
                .kafka_offset
                .ok_or("offset.field needs a record read from Kafka (sink connectors only)")?;
            map.insert(name.clone(), Value::from(offset));
        }
        if let (Some(name), Some(ts)) = (&self.timestamp, record.timestamp) {
            map.insert(name.clone(), Value::from(ts));
        }
        if let Some((name, value)) = &self.static_field {
            map.insert(name.clone(), Value::from(value.clone()));
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
