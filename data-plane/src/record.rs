//! The record model between Kafka and connectors: keys and values as
//! JSON-like values, each with an optional Connect schema
//! ([`crate::schema`]), plus where the record came from. Without schemas a
//! record is schemaless, as Kafka Connect's are with `schemas.enable=false`;
//! with them, transforms and sinks see typed fields.

use std::sync::Arc;

use serde_json::Value;

use crate::schema::Schema;

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
    /// The key's schema; `None` is schemaless.
    pub key_schema: Option<Arc<Schema>>,
    /// The value's schema; `None` is schemaless.
    pub value_schema: Option<Arc<Schema>>,
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
            key_schema: None,
            value_schema: None,
        }
    }

    pub fn with_key_schema(mut self, schema: Option<Arc<Schema>>) -> Record {
        self.key_schema = schema;
        self
    }

    pub fn with_value_schema(mut self, schema: Option<Arc<Schema>>) -> Record {
        self.value_schema = schema;
        self
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
