//! From a consumed Kafka message to a [`Record`]: the raw message kept as
//! read (the dead letter queue sends it on unchanged), then its key and
//! value read by the configured converters, then the transform chain.

use std::fmt;

use rdkafka::message::{BorrowedMessage, Headers, Message};
use serde_json::Value;

use crate::connectors::sink_config::DataFormat;
use crate::converters::{self, Converter, JsonConverter, StringConverter};
use crate::record::{Header, Record};
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
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
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
    pub key_format: DataFormat,
    pub value_format: DataFormat,
    pub chain: Chain,
}

impl Pipeline {
    /// The record the task receives, `Ok(None)` when a transform dropped it.
    pub fn process(&self, raw: &RawRecord) -> Result<Option<Record>, RecordError> {
        let key = read(self.key_format, &raw.topic, raw.key.as_deref())
            .map_err(|e| e.at(Stage::KeyConverter))?;
        let value = read(self.value_format, &raw.topic, raw.value.as_deref())
            .map_err(|e| e.at(Stage::ValueConverter))?;
        let record = Record {
            topic: raw.topic.clone(),
            kafka_partition: Some(raw.partition),
            kafka_offset: Some(raw.offset),
            timestamp: raw.timestamp,
            key,
            value,
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

fn read(format: DataFormat, topic: &str, bytes: Option<&[u8]>) -> Result<Option<Value>, ReadError> {
    let (result, class_name) = match format {
        DataFormat::Json => (
            JsonConverter.deserialize(topic, bytes),
            JsonConverter.class_name(),
        ),
        DataFormat::String => (
            StringConverter.deserialize(topic, bytes),
            StringConverter.class_name(),
        ),
        DataFormat::JsonOrString => (
            converters::deserialize_json_or_string(topic, bytes),
            JsonConverter.class_name(),
        ),
    };
    result.map_err(|e| ReadError {
        class_name,
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

    fn pipeline(value_format: DataFormat) -> Pipeline {
        Pipeline {
            key_format: DataFormat::JsonOrString,
            value_format,
            chain: Chain::default(),
        }
    }

    #[test]
    fn json_values_and_string_keys_become_a_record() {
        let r = pipeline(DataFormat::Json)
            .process(&raw(
                Some(b"7"),
                Some(br#"{"orderid":7,"address":{"city":"City_1"}}"#),
            ))
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

    #[test]
    fn tombstones_and_string_values() {
        let r = pipeline(DataFormat::Json)
            .process(&raw(Some(b"User_1"), None))
            .unwrap()
            .unwrap();
        assert_eq!(r.key, Some(json!("User_1")));
        assert!(r.is_tombstone());
        let r = pipeline(DataFormat::String)
            .process(&raw(None, Some(b"{not json")))
            .unwrap()
            .unwrap();
        assert_eq!(r.value, Some(json!("{not json")));
    }

    #[test]
    fn bad_values_name_the_stage_and_converter() {
        let err = pipeline(DataFormat::Json)
            .process(&raw(None, Some(b"{oops")))
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
        let err = pipeline(DataFormat::Json)
            .process(&raw(Some(&[0xff]), Some(b"{}")))
            .unwrap_err();
        assert_eq!(err.stage, Stage::KeyConverter);
    }
}
