//! The record model between Kafka and connectors: Kafka Connect's
//! schemaless form (keys and values as JSON-like values), plus where the
//! record came from. Transforms and sink tasks see typed fields through it.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    /// `None` is a header with a null value.
    pub value: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub topic: String,
    /// Set for records read from Kafka (sinks); `None` lets the producer choose.
    pub kafka_partition: Option<i32>,
    /// Set for records read from Kafka (sinks).
    pub kafka_offset: Option<i64>,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    pub key: Option<Value>,
    pub value: Option<Value>,
    pub headers: Vec<Header>,
}

impl Record {
    pub fn new(topic: impl Into<String>, key: Option<Value>, value: Option<Value>) -> Record {
        Record {
            topic: topic.into(),
            kafka_partition: None,
            kafka_offset: None,
            timestamp: None,
            key,
            value,
            headers: Vec::new(),
        }
    }

    /// A tombstone: a record whose value is null (deletes under compaction
    /// and in sinks with `delete.enabled`).
    pub fn is_tombstone(&self) -> bool {
        matches!(self.value, None | Some(Value::Null))
    }

    pub fn header(&self, key: &str) -> Option<&Header> {
        self.headers.iter().rev().find(|h| h.key == key)
    }
}
