//! The running MQTT sink task: `put` publishes each record's value to its
//! MQTT topic; `flush` waits until the broker acknowledged every QoS 1/2
//! message of the batch, so offsets are committed only for delivered
//! messages (at-least-once; QoS 0 is fire and forget). A background tokio
//! task drives the event loop and counts the acknowledgements.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rumqttc::{AsyncClient, Event, EventLoop, Packet};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::settings::{Qos, SinkSettings};
use crate::connectors::{Config, ErrantRecord, SinkTask, TaskError};
// Record values as message text the way the HTTP sink renders them.
use crate::connectors::http::template::text;
use crate::record::Record;

/// Requests queued towards the event loop.
const REQUEST_CHANNEL: usize = 1024;
/// Longest wait for the broker to acknowledge a batch before it is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);
const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

pub struct MqttSinkTask {
    settings: SinkSettings,
    running: Option<Running>,
    /// QoS 1/2 messages published by this task, and acknowledgements
    /// expected before the current batch counts as delivered.
    published: u64,
    /// The acknowledgement count when the current batch started.
    batch_base: u64,
    errant: Vec<ErrantRecord>,
}

struct Running {
    client: AsyncClient,
    acks: Arc<Acks>,
    driver: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

#[derive(Default)]
struct Acks {
    count: AtomicU64,
    changed: Notify,
}

impl MqttSinkTask {
    pub fn new(config: &Config, task_id: u32) -> Result<MqttSinkTask, TaskError> {
        let settings = SinkSettings::parse(config, task_id)
            .map_err(|e| TaskError::Fatal(format!("invalid MqttSink config: {e}")))?;
        Ok(MqttSinkTask {
            settings,
            running: None,
            published: 0,
            batch_base: 0,
            errant: Vec::new(),
        })
    }

    fn topic(&self, record: &Record) -> Result<String, String> {
        let mut topic = self.settings.topic.replace("${topic}", &record.topic);
        if topic.contains("${key}") {
            let key = record
                .key
                .as_ref()
                .filter(|k| !k.is_null())
                .ok_or("the record has no key for ${key} in mqtt.topic")?;
            topic = topic.replace("${key}", &text(key));
        }
        if topic.is_empty() || topic.contains(['+', '#', '\0']) {
            return Err(format!("{topic:?} is not a topic one can publish to"));
        }
        Ok(topic)
    }
}

async fn drive(mut eventloop: EventLoop, acks: Arc<Acks>) {
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                acks.count.fetch_add(1, Ordering::SeqCst);
                acks.changed.notify_waiters();
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "MQTT connection error; reconnecting in {RECONNECT_BACKOFF:?}");
                tokio::time::sleep(RECONNECT_BACKOFF).await;
            }
        }
    }
}

#[async_trait]
impl SinkTask for MqttSinkTask {
    async fn open(&mut self) -> Result<(), TaskError> {
        let options = self
            .settings
            .connection
            .options()
            .map_err(TaskError::Fatal)?;
        let (client, eventloop) = AsyncClient::new(options, REQUEST_CHANNEL);
        let acks = Arc::new(Acks::default());
        let driver = tokio::spawn(drive(eventloop, Arc::clone(&acks)));
        tracing::info!(
            broker = %self.settings.connection.address(),
            client_id = %self.settings.connection.client_id,
            "MQTT sink started"
        );
        self.running = Some(Running {
            client,
            acks,
            driver,
        });
        Ok(())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        self.errant.clear();
        let Some((client, acked)) = self
            .running
            .as_ref()
            .map(|r| (r.client.clone(), r.acks.count.load(Ordering::SeqCst)))
        else {
            return Err(TaskError::Fatal("put before open".into()));
        };
        // Acknowledgements of an earlier, failed attempt of this batch are
        // for the same records: they may count.
        let base = acked.min(self.published);
        let mut expected = 0u64;
        for (index, record) in records.iter().enumerate() {
            let payload = match &record.value {
                None | Some(Value::Null) if !self.settings.retained => continue,
                // An empty retained message clears the topic's retained one.
                None | Some(Value::Null) => Vec::new(),
                Some(v) => text(v).into_bytes(),
            };
            let topic = match self.topic(record) {
                Ok(t) => t,
                Err(reason) => {
                    self.errant.push(ErrantRecord { index, reason });
                    continue;
                }
            };
            client
                .publish(
                    topic,
                    self.settings.qos.into(),
                    self.settings.retained,
                    payload,
                )
                .await
                .map_err(|e| TaskError::Retriable(format!("MQTT publish failed: {e}")))?;
            if self.settings.qos != Qos::AtMostOnce {
                expected += 1;
            }
        }
        self.batch_base = base;
        self.published = base + expected;
        Ok(())
    }

    /// Waits for the broker's acknowledgement of every QoS 1/2 message.
    async fn flush(&mut self) -> Result<(), TaskError> {
        let Some(running) = self.running.as_ref() else {
            return Ok(());
        };
        let acks = Arc::clone(&running.acks);
        let target = self.published;
        let wait = async {
            loop {
                let notified = acks.changed.notified();
                if acks.count.load(Ordering::SeqCst) >= target {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(ACK_TIMEOUT, wait).await.map_err(|_| {
            let got = acks
                .count
                .load(Ordering::SeqCst)
                .saturating_sub(self.batch_base);
            TaskError::Retriable(format!(
                "the MQTT broker at {} acknowledged {got} of {} messages within {ACK_TIMEOUT:?}",
                self.settings.connection.address(),
                target - self.batch_base
            ))
        })
    }

    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        std::mem::take(&mut self.errant)
    }

    async fn close(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.client.try_disconnect();
            // Let the event loop send the DISCONNECT before it is aborted.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(topic: &str) -> MqttSinkTask {
        let c: Config = [
            ("topics", "t"),
            ("mqtt.server.uri", "tcp://192.0.2.1"),
            ("mqtt.topic", topic),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        MqttSinkTask::new(&c, 0).unwrap()
    }

    #[test]
    fn topics_from_the_record() {
        let r = Record::new("orders", Some(json!(42)), Some(json!("v")));
        assert_eq!(task("${topic}").topic(&r).unwrap(), "orders");
        assert_eq!(
            task("shop/${topic}/${key}").topic(&r).unwrap(),
            "shop/orders/42"
        );
        let keyless = Record::new("orders", None, Some(json!("v")));
        assert!(task("x/${key}").topic(&keyless).is_err());
        let wild = Record::new("orders", Some(json!("+")), Some(json!("v")));
        assert!(task("x/${key}").topic(&wild).is_err());
    }
}
