//! From a consumed Kafka message to a [`Record`]: the raw message kept as
//! read (the dead letter queue sends it on unchanged), then its key and
//! value read by the configured converters, then the transform chain.

use std::fmt;

use rdkafka::message::{BorrowedMessage, Headers, Message};
use serde_json::Value;

use crate::converters::{ConvertError, Converters, RecordConverter};
use crate::record::{Header, Record};
use crate::schema::SchemaAndValue;
use crate::transforms::Chain;

/// A message as consumed: the bytes the dead letter queue forwards.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl RawRecord {
    pub fn from_message(msg: &BorrowedMessage<'_>) -> RawRecord {
        RawRecord {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            timestamp: msg.timestamp().to_millis(),
            key: msg.key().map(<[u8]>::to_vec),
            value: msg.payload().map(<[u8]>::to_vec),
            headers: msg
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Kafka Connect's `Stage` names, as reported in `__connect.errors.stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    KeyConverter,
    ValueConverter,
    Transformation,
    /// The task's `put` refused the record for good (an errant record).
    TaskPut,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
        }
    }
}

/// A record that failed a stage before reaching the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub stage: Stage,
    /// What was executing (`__connect.errors.class.name`).
    pub class_name: String,
    /// The error's kind (`__connect.errors.exception.class.name`).
    pub exception: &'static str,
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) failed: {}",
            self.stage.as_str(),
            self.class_name,
            self.message
        )
    }
}

/// How keys and values are read, and what transforms them.
pub struct Pipeline {
    /// The configured key and value converters (`key.converter`,
    /// `value.converter`, `input.data.format`, `input.key.format`).
    pub converters: Converters,
    pub chain: Chain,
}

impl Pipeline {
    /// The record the task receives, `Ok(None)` when a transform dropped it.
    /// A converter failure ("Unknown magic byte!" for plain data read with a
    /// Schema Registry format) is a record error, tolerated or not per
    /// `errors.tolerance`.
    pub async fn process(&self, raw: &RawRecord) -> Result<Option<Record>, RecordError> {
        let key = read(&self.converters.key, &raw.topic, raw.key.as_deref())
            .await
            .map_err(|e| e.at(Stage::KeyConverter))?;
        let value = read(&self.converters.value, &raw.topic, raw.value.as_deref())
            .await
            .map_err(|e| e.at(Stage::ValueConverter))?;
        let record = Record {
            topic: raw.topic.clone(),
            kafka_partition: Some(raw.partition),
            kafka_offset: Some(raw.offset),
            timestamp: raw.timestamp,
            key: key.value,
            value: value.value,
            key_schema: key.schema,
            value_schema: value.schema,
            headers: raw
                .headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.clone(),
                    // Header values are read as text (Connect's SimpleHeaderConverter
                    // would also parse numbers and booleans).
                    value: v
                        .as_deref()
                        .map(|b| Value::String(String::from_utf8_lossy(b).into_owned())),
                })
                .collect(),
        };
        self.chain.apply(record).map_err(|e| RecordError {
            stage: Stage::Transformation,
            class_name: e.transform.clone(),
            exception: "org.apache.kafka.connect.errors.DataException",
            message: e.to_string(),
        })
    }
}

struct ReadError {
    class_name: &'static str,
    message: String,
}

impl ReadError {
    fn at(self, stage: Stage) -> RecordError {
        RecordError {
            stage,
            class_name: self.class_name.to_string(),
            exception: "org.apache.kafka.connect.errors.DataException",
            message: self.message,
        }
    }
}

async fn read(
    converter: &RecordConverter,
    topic: &str,
    bytes: Option<&[u8]>,
) -> Result<SchemaAndValue, ReadError> {
    converter
        .to_connect_data(topic, bytes)
        .await
        .map_err(|e: ConvertError| ReadError {
            class_name: converter.class_name(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(key: Option<&[u8]>, value: Option<&[u8]>) -> RawRecord {
        RawRecord {
            topic: "orders".into(),
            partition: 1,
            offset: 9,
            timestamp: Some(1_700_000_000_000),
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: vec![
                ("task.id".into(), Some(b"0".to_vec())),
                ("empty".into(), None),
            ],
        }
    }

    fn pipeline(value_format: &str) -> Pipeline {
        pipeline_with(&[("input.data.format", value_format)], None)
    }

    fn pipeline_with(
        pairs: &[(&str, &str)],
        registry: Option<std::sync::Arc<dyn crate::converters::registry::SchemaRegistry>>,
    ) -> Pipeline {
        let config = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Pipeline {
            converters: Converters::from_config(
                &config,
                crate::connectors::ConnectorType::Sink,
                registry,
            )
            .unwrap_or_else(|e| panic!("{e}")),
            chain: Chain::default(),
        }
    }

    #[tokio::test]
    async fn json_values_and_string_keys_become_a_record() {
        let r = pipeline("JSON")
            .process(&raw(
                Some(b"7"),
                Some(br#"{"orderid":7,"address":{"city":"City_1"}}"#),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.key, Some(json!(7)));
        assert_eq!(
            r.value,
            Some(json!({"orderid": 7, "address": {"city": "City_1"}}))
        );
        assert_eq!(
            (r.topic.as_str(), r.kafka_partition, r.kafka_offset),
            ("orders", Some(1), Some(9))
        );
        assert_eq!(r.timestamp, Some(1_700_000_000_000));
        assert_eq!(
            r.header("task.id").and_then(|h| h.value.clone()),
            Some(json!("0"))
        );
        assert_eq!(r.header("empty").map(|h| h.value.clone()), Some(None));
    }

    #[tokio::test]
    async fn tombstones_and_string_values() {
        let r = pipeline("JSON")
            .process(&raw(Some(b"User_1"), None))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.key, Some(json!("User_1")));
        assert!(r.is_tombstone());
        let r = pipeline("STRING")
            .process(&raw(None, Some(b"{not json")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.value, Some(json!("{not json")));
    }

    #[tokio::test]
    async fn bad_values_name_the_stage_and_converter() {
        let err = pipeline("JSON")
            .process(&raw(None, Some(b"{oops")))
            .await
            .unwrap_err();
        assert_eq!(err.stage, Stage::ValueConverter);
        assert_eq!(
            err.class_name,
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert!(
            err.to_string().starts_with(
                "VALUE_CONVERTER (org.apache.kafka.connect.json.JsonConverter) failed"
            ),
            "{err}"
        );
        let err = pipeline("JSON")
            .process(&raw(Some(&[0xff]), Some(b"{}")))
            .await
            .unwrap_err();
        assert_eq!(err.stage, Stage::KeyConverter);
    }

    #[tokio::test]
    async fn avro_values_decode_and_plain_data_is_an_unknown_magic_byte() {
        use crate::converters::registry::MemoryRegistry;
        let registry = MemoryRegistry::new();
        let id = registry.insert(
            "AVRO",
            r#"{"type":"record","name":"r","fields":[{"name":"orderid","type":"int"}]}"#,
        );
        let p = pipeline_with(&[("input.data.format", "AVRO")], Some(registry));
        let mut bytes = crate::converters::wire::frame(id, &[]);
        bytes.push(0x0e); // 7
        let r = p
            .process(&raw(Some(b"7"), Some(&bytes)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.value, Some(json!({"orderid": 7})));
        let err = p
            .process(&raw(None, Some(br#"{"orderid":7}"#)))
            .await
            .unwrap_err();
        assert_eq!(err.stage, Stage::ValueConverter);
        assert_eq!(err.class_name, "io.confluent.connect.avro.AvroConverter");
        assert!(
            err.message.contains("Unknown magic byte!"),
            "{}",
            err.message
        );
    }
}
