//! The running MQTT source task. A background tokio task drives the MQTT
//! event loop (connect, subscribe, reconnect) and hands each message over a
//! bounded channel; `poll` takes what is there.
//!
//! Delivery: messages are acknowledged to the broker (PUBACK/PUBREC,
//! manual acks) only when the runtime reports their records committable,
//! that is acknowledged by Kafka ([`SourceTask::commit`]). With QoS 1 or 2
//! and a persistent session (`mqtt.clean.session.enabled=false`, the
//! default), a message lost in flight or while the task restarts is
//! redelivered by the broker: at-least-once (a redelivered message may be
//! written twice). QoS 0, or a clean session, is at-most-once: what the
//! broker sent before a crash, or published while the task was away, is
//! gone. MQTT has no replayable position: the source offset (a per-task
//! sequence number) is what the runtime tracks for the acks, not a place
//! to rewind to. While the task is paused nothing is polled: once the
//! channel is full the event loop stops reading, the broker drops the
//! connection for want of keepalives, and the session (with the messages
//! it queued meanwhile) is picked up again on resume.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS, SubscribeFilter};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::settings::SourceSettings;
use crate::connectors::{payload, Config, SourceRecord, SourceTask, TaskError};
use crate::protocol::SourceOffset;

/// Messages buffered between the event loop and `poll`.
const CHANNEL: usize = 1024;
/// Most records one `poll` returns.
const MAX_BATCH: usize = 500;
/// How long `poll` waits for a first message. Short, because the runtime
/// hands over Kafka's acks between polls, and the broker stops sending
/// once its in-flight window (20 messages on Mosquitto) awaits acks.
const POLL_WAIT: Duration = Duration::from_millis(50);
/// Pause before reconnecting after a connection error.
const RECONNECT_BACKOFF: Duration = Duration::from_secs(1);

pub struct MqttSourceTask {
    settings: SourceSettings,
    task_id: u32,
    /// The sequence number of the next message (continues the stored offset).
    next_seq: u64,
    running: Option<Running>,
    /// Messages handed to the runtime and not yet acknowledged to the
    /// broker, with their sequence numbers, oldest first.
    unacked: VecDeque<(u64, Publish)>,
}

struct Running {
    client: AsyncClient,
    messages: mpsc::Receiver<Publish>,
    driver: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl MqttSourceTask {
    pub fn new(config: &Config, task_id: u32) -> Result<MqttSourceTask, TaskError> {
        let settings = SourceSettings::parse(config, task_id)
            .map_err(|e| TaskError::Fatal(format!("invalid MqttSource config: {e}")))?;
        Ok(MqttSourceTask {
            settings,
            task_id,
            next_seq: 0,
            running: None,
            unacked: VecDeque::new(),
        })
    }

    fn partition(&self) -> Value {
        json!({ "mqtt.client.id": self.settings.connection.client_id })
    }

    /// Continues the message sequence after the last committed one.
    pub fn resume_from(mut self, offsets: &[SourceOffset]) -> MqttSourceTask {
        let partition = self.partition();
        if let Some(seq) = offsets
            .iter()
            .find(|o| o.partition == partition)
            .and_then(|o| o.offset.get("seq"))
            .and_then(Value::as_u64)
        {
            self.next_seq = seq + 1;
        }
        self
    }

    /// Starts the event loop on first use (construction does no I/O).
    fn running(&mut self) -> Result<&mut Running, TaskError> {
        if self.running.is_none() {
            let options = self
                .settings
                .connection
                .options()
                .map_err(TaskError::Fatal)?;
            // Room for every ack of a full window of polled messages.
            let (client, eventloop) = AsyncClient::new(options, 4 * CHANNEL);
            let (tx, messages) = mpsc::channel(CHANNEL);
            let filters: Vec<SubscribeFilter> = self
                .settings
                .filters
                .iter()
                .map(|f| SubscribeFilter::new(f.clone(), self.settings.qos.into()))
                .collect();
            tracing::info!(
                broker = %self.settings.connection.address(),
                client_id = %self.settings.connection.client_id,
                filters = ?self.settings.filters,
                task = self.task_id,
                "MQTT source starting"
            );
            let driver = tokio::spawn(drive(eventloop, client.clone(), filters, tx));
            self.running = Some(Running {
                client,
                messages,
                driver,
            });
        }
        self.running
            .as_mut()
            .ok_or_else(|| TaskError::Fatal("the MQTT client is not running".into()))
    }

    fn record(&mut self, msg: Publish) -> SourceRecord {
        let seq = self.next_seq;
        self.next_seq += 1;
        let record = SourceRecord {
            topic: self.settings.kafka_topic.clone(),
            key: Some(Value::String(msg.topic.clone())),
            value: payload::value(&msg.payload),
            headers: vec![
                ("mqtt.message.id".into(), msg.pkid.to_string()),
                ("mqtt.qos".into(), (msg.qos as u8).to_string()),
                ("mqtt.retained".into(), msg.retain.to_string()),
                ("mqtt.duplicate".into(), msg.dup.to_string()),
            ],
            source_partition: self.partition(),
            source_offset: json!({ "seq": seq }),
            ..SourceRecord::default()
        };
        if msg.qos != QoS::AtMostOnce {
            self.unacked.push_back((seq, msg));
        }
        record
    }
}

/// Drives the event loop: (re)subscribes on every connection, forwards
/// messages, reconnects after errors. Ends when the task is dropped.
async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    filters: Vec<SubscribeFilter>,
    tx: mpsc::Sender<Publish>,
) {
    let mut connected_once = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                if !connected_once || !ack.session_present {
                    if let Err(e) = client.subscribe_many(filters.clone()).await {
                        tracing::warn!(error = %e, "MQTT subscribe request failed");
                    }
                }
                if connected_once {
                    tracing::info!(session_present = ack.session_present, "MQTT reconnected");
                }
                connected_once = true;
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if tx.send(p).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                {
                    tracing::error!("the MQTT broker refused a subscription: {ack:?}");
                }
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
impl SourceTask for MqttSourceTask {
    /// Cancel-safe: a message leaves the channel only inside a
    /// non-suspending section that turns it into a record.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        let running = self.running()?;
        let first = match tokio::time::timeout(POLL_WAIT, running.messages.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(None) => return Err(TaskError::Fatal("the MQTT event loop stopped".into())),
            Ok(Some(m)) => m,
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match running.messages.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        Ok(batch.into_iter().map(|m| self.record(m)).collect())
    }

    fn topics(&self) -> Vec<String> {
        vec![self.settings.kafka_topic.clone()]
    }

    /// Kafka has every record up to the committed sequence number: their
    /// messages are acknowledged to the broker now.
    fn commit(&mut self, offsets: &[SourceOffset]) {
        let partition = self.partition();
        let Some(done) = offsets
            .iter()
            .find(|o| o.partition == partition)
            .and_then(|o| o.offset.get("seq"))
            .and_then(Value::as_u64)
        else {
            return;
        };
        let Some(running) = self.running.as_ref() else {
            return;
        };
        while self.unacked.front().is_some_and(|(seq, _)| *seq <= done) {
            let Some((_, msg)) = self.unacked.pop_front() else {
                break;
            };
            if let Err(e) = running.client.try_ack(&msg) {
                // Unacknowledged, the broker sends it again: a duplicate, not a loss.
                tracing::debug!(error = %e, "could not queue an MQTT ack");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        [
            ("name", "m"),
            ("mqtt.server.uri", "tcp://192.0.2.1:1883"),
            ("mqtt.topics", "a/#"),
            ("kafka.topic", "k"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn records_carry_the_mqtt_topic_headers_and_a_resumed_sequence() {
        let stored = vec![SourceOffset {
            partition: json!({"mqtt.client.id": "tributary-m-0"}),
            offset: json!({"seq": 41}),
        }];
        let mut task = MqttSourceTask::new(&config(), 0)
            .unwrap()
            .resume_from(&stored);
        let mut p = Publish::new("a/b", QoS::AtLeastOnce, "21");
        p.pkid = 7;
        let r = task.record(p);
        assert_eq!(r.topic, "k");
        assert_eq!(r.key, Some(json!("a/b")));
        assert_eq!(r.value, Some(json!(21)));
        assert_eq!(r.source_offset, json!({"seq": 42}));
        assert!(r.headers.contains(&("mqtt.message.id".into(), "7".into())));
        assert!(r.headers.contains(&("mqtt.qos".into(), "1".into())));
        assert_eq!(task.unacked.len(), 1);
        // QoS 0 messages have nothing to acknowledge.
        task.record(Publish::new("a/c", QoS::AtMostOnce, "x"));
        assert_eq!(task.unacked.len(), 1);
    }
}
