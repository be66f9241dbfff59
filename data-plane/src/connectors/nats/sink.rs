//! The running NATS sink task: `put` publishes each record's value to its
//! subject; with JetStream (the default) `flush` waits for the stream's
//! acknowledgement of every message, so offsets are committed only for
//! stored messages (at-least-once). Each message carries `Nats-Msg-Id`
//! = topic-partition-offset, so a batch delivered again within the
//! stream's duplicate window is stored once. Core NATS publishing has no
//! acknowledgement (at-most-once).

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::HeaderMap;
use async_trait::async_trait;
use serde_json::Value;

use super::settings::SinkSettings;
use crate::connectors::{Config, ErrantRecord, SinkTask, TaskError};
// Record values as message text the way the HTTP sink renders them.
use crate::connectors::http::template::text;
use crate::record::Record;

pub struct NatsSinkTask {
    settings: SinkSettings,
    task_id: u32,
    client: Option<async_nats::Client>,
    /// Publish acknowledgements still to wait for, with the record each is for.
    pending: Vec<(String, PublishAckFuture)>,
    errant: Vec<ErrantRecord>,
}

impl NatsSinkTask {
    pub fn new(config: &Config, task_id: u32) -> Result<NatsSinkTask, TaskError> {
        let settings = SinkSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid NatsSink config: {e}")))?;
        Ok(NatsSinkTask {
            settings,
            task_id,
            client: None,
            pending: Vec::new(),
            errant: Vec::new(),
        })
    }

    fn subject(&self, record: &Record) -> Result<String, String> {
        let mut subject = self.settings.subject.replace("${topic}", &record.topic);
        if subject.contains("${key}") {
            let key = record
                .key
                .as_ref()
                .filter(|k| !k.is_null())
                .ok_or("the record has no key for ${key} in nats.subject")?;
            subject = subject.replace("${key}", &text(key));
        }
        if subject.is_empty()
            || subject.contains(['*', '>', ' ', '\t', '\r', '\n'])
            || subject.split('.').any(str::is_empty)
        {
            return Err(format!("{subject:?} is not a subject one can publish to"));
        }
        Ok(subject)
    }
}

fn message_id(record: &Record) -> String {
    format!(
        "{}-{}-{}",
        record.topic,
        record.kafka_partition.unwrap_or(-1),
        record.kafka_offset.unwrap_or(-1)
    )
}

#[async_trait]
impl SinkTask for NatsSinkTask {
    async fn open(&mut self) -> Result<(), TaskError> {
        let name = format!("tributary-nats-sink-{}", self.task_id);
        let client = self
            .settings
            .connection
            .connect(&name)
            .await
            .map_err(TaskError::Fatal)?;
        tracing::info!(
            servers = %self.settings.connection.describe(),
            jetstream = self.settings.jetstream,
            "NATS sink connected"
        );
        self.client = Some(client);
        Ok(())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        self.errant.clear();
        self.pending.clear();
        let Some(client) = self.client.clone() else {
            return Err(TaskError::Fatal("put before open".into()));
        };
        let js = async_nats::jetstream::new(client.clone());
        for (index, record) in records.iter().enumerate() {
            let payload = match &record.value {
                // Nothing to publish for a tombstone.
                None | Some(Value::Null) => continue,
                Some(v) => text(v).into_bytes(),
            };
            let subject = match self.subject(record) {
                Ok(s) => s,
                Err(reason) => {
                    self.errant.push(ErrantRecord { index, reason });
                    continue;
                }
            };
            let mut headers = HeaderMap::new();
            for h in &record.headers {
                if let Some(v) = &h.value {
                    headers.append(h.key.as_str(), text(v).as_str());
                }
            }
            if self.settings.jetstream {
                headers.insert("Nats-Msg-Id", message_id(record).as_str());
                let ack = js
                    .publish_with_headers(subject, headers, payload.into())
                    .await
                    .map_err(|e| TaskError::Retriable(format!("JetStream publish failed: {e}")))?;
                self.pending.push((message_id(record), ack));
            } else {
                client
                    .publish_with_headers(subject, headers, payload.into())
                    .await
                    .map_err(|e| TaskError::Retriable(format!("NATS publish failed: {e}")))?;
            }
        }
        Ok(())
    }

    /// Waits until the stream stored every message of the batch (JetStream),
    /// or until the server has the published bytes (core NATS).
    async fn flush(&mut self) -> Result<(), TaskError> {
        for (id, ack) in std::mem::take(&mut self.pending) {
            ack.await.map_err(|e| {
                TaskError::Retriable(format!(
                    "JetStream did not acknowledge message {id} (is there a stream for its subject?): {e}"
                ))
            })?;
        }
        if let Some(client) = &self.client {
            client
                .flush()
                .await
                .map_err(|e| TaskError::Retriable(format!("NATS flush failed: {e}")))?;
        }
        Ok(())
    }

    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        std::mem::take(&mut self.errant)
    }

    async fn close(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.flush().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(subject: &str) -> NatsSinkTask {
        let c: Config = [
            ("topics", "t"),
            ("nats.server.urls", "nats://192.0.2.1:4222"),
            ("nats.subject", subject),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        NatsSinkTask::new(&c, 0).unwrap()
    }

    #[test]
    fn subjects_and_message_ids_from_the_record() {
        let mut r = Record::new("orders", Some(json!("eu")), Some(json!({"a": 1})));
        r.kafka_partition = Some(2);
        r.kafka_offset = Some(9);
        assert_eq!(
            task("shop.${topic}.${key}").subject(&r).unwrap(),
            "shop.orders.eu"
        );
        assert_eq!(message_id(&r), "orders-2-9");
        let spaced = Record::new("orders", Some(json!("a b")), None);
        assert!(task("x.${key}").subject(&spaced).is_err());
        let dotted = Record::new("orders", Some(json!("")), None);
        assert!(task("x.${key}").subject(&dotted).is_err());
    }
}
