//! The running NATS JetStream source task: a durable pull consumer the
//! connector's tasks share (the server spreads messages over them), with
//! explicit acks sent only once Kafka has the records
//! ([`SourceTask::commit`]). A message whose ack does not come within
//! `nats.ack.wait.ms` (a crash, a lost record) is delivered again:
//! at-least-once. The server keeps the consumer's position; the source
//! offset (the stream sequence) is the fallback: when the durable consumer
//! is gone, it is created again to start after the lowest committed
//! sequence of the connector's tasks.

use std::collections::VecDeque;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::Consumer;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::message::Acker;
use async_trait::async_trait;
use futures::StreamExt;
use serde_json::{json, Value};

use super::settings::{Deliver, SourceSettings};
use crate::connectors::{payload, Config, SourceRecord, SourceTask, TaskError};
use crate::protocol::SourceOffset;

/// How long one `poll` waits for messages. Short, so that the runtime's
/// acks (handed over between polls) reach the server soon.
const POLL_WAIT: Duration = Duration::from_millis(200);

pub struct NatsSourceTask {
    settings: SourceSettings,
    task_id: u32,
    /// The lowest sequence committed by any task of the connector, when
    /// the stored offsets hold one: where a re-created consumer starts.
    resume_after: Option<u64>,
    consumer: Option<Consumer<PullConfig>>,
    /// How many messages this task has polled (continued across restarts):
    /// the order in which the runtime commits, which redeliveries make
    /// differ from the stream sequence.
    polled: u64,
    /// Acks of records handed to the runtime, with their `polled` number.
    unacked: VecDeque<(u64, Acker)>,
}

impl NatsSourceTask {
    pub fn new(config: &Config, task_id: u32) -> Result<NatsSourceTask, TaskError> {
        let settings = SourceSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid NatsSource config: {e}")))?;
        Ok(NatsSourceTask {
            settings,
            task_id,
            resume_after: None,
            consumer: None,
            polled: 0,
            unacked: VecDeque::new(),
        })
    }

    fn partition(&self, task: u32) -> Value {
        json!({
            "nats.stream": self.settings.stream,
            "nats.consumer": self.settings.consumer,
            "task": task,
        })
    }

    pub fn resume_from(mut self, offsets: &[SourceOffset]) -> NatsSourceTask {
        let stream = &self.settings.stream;
        let consumer = &self.settings.consumer;
        self.resume_after = offsets
            .iter()
            .filter(|o| {
                o.partition.get("nats.stream").and_then(Value::as_str) == Some(stream)
                    && o.partition.get("nats.consumer").and_then(Value::as_str) == Some(consumer)
            })
            .filter_map(|o| o.offset.get("stream.sequence").and_then(Value::as_u64))
            .min();
        let mine = self.partition(self.task_id);
        if let Some(n) = offsets
            .iter()
            .find(|o| o.partition == mine)
            .and_then(|o| o.offset.get("polled"))
            .and_then(Value::as_u64)
        {
            self.polled = n + 1;
        }
        self
    }

    async fn consumer(&mut self) -> Result<Consumer<PullConfig>, TaskError> {
        if let Some(c) = &self.consumer {
            return Ok(c.clone());
        }
        let s = &self.settings;
        let client = s
            .connection
            .connect(&format!("{}-{}", s.consumer, self.task_id))
            .await
            .map_err(TaskError::Retriable)?;
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(&s.stream).await.map_err(|e| {
            TaskError::Retriable(format!(
                "cannot open the JetStream stream {}: {e}",
                s.stream
            ))
        })?;
        let deliver_policy = match (self.resume_after, s.deliver) {
            (Some(seq), _) => DeliverPolicy::ByStartSequence {
                start_sequence: seq + 1,
            },
            (None, Deliver::All) => DeliverPolicy::All,
            (None, Deliver::New) => DeliverPolicy::New,
        };
        let config = PullConfig {
            durable_name: Some(s.consumer.clone()),
            description: Some("Tributary NatsSource".into()),
            deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: s.ack_wait,
            filter_subjects: s.subjects.clone(),
            max_ack_pending: 10_000,
            ..Default::default()
        };
        // An existing durable consumer keeps its position (and config).
        let consumer = stream
            .get_or_create_consumer(&s.consumer, config)
            .await
            .map_err(|e| {
                TaskError::Retriable(format!(
                    "cannot open the durable consumer {} on {}: {e}",
                    s.consumer, s.stream
                ))
            })?;
        tracing::info!(
            servers = %s.connection.describe(),
            stream = %s.stream,
            consumer = %s.consumer,
            task = self.task_id,
            "NATS JetStream source started"
        );
        self.consumer = Some(consumer.clone());
        Ok(consumer)
    }
}

#[async_trait]
impl SourceTask for NatsSourceTask {
    /// Messages fetched but not returned when a poll is cancelled are not
    /// acknowledged: the server delivers them again after the ack wait.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        let consumer = self.consumer().await?;
        let mut batch = match consumer
            .batch()
            .max_messages(self.settings.batch_size)
            .expires(POLL_WAIT)
            .messages()
            .await
        {
            Ok(b) => b,
            Err(e) => {
                // A new connection and consumer handle next time.
                self.consumer = None;
                return Err(TaskError::Retriable(format!(
                    "fetching from JetStream failed: {e}"
                )));
            }
        };
        let mut records = Vec::new();
        while let Some(message) = batch.next().await {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!(error = %e, "JetStream fetch ended");
                    break;
                }
            };
            let (sequence, delivered) = match message.info() {
                Ok(info) => (info.stream_sequence, info.delivered),
                Err(e) => {
                    tracing::warn!(error = %e, "a JetStream message without metadata; skipping it");
                    continue;
                }
            };
            let (msg, acker) = message.split();
            let mut headers = vec![
                ("nats.subject".to_string(), msg.subject.to_string()),
                ("nats.stream.sequence".to_string(), sequence.to_string()),
                ("nats.delivered".to_string(), delivered.to_string()),
            ];
            if let Some(h) = &msg.headers {
                for (name, values) in h.iter() {
                    for v in values {
                        headers.push((name.to_string(), v.to_string()));
                    }
                }
            }
            records.push(SourceRecord {
                topic: self.settings.kafka_topic.clone(),
                key: Some(Value::String(msg.subject.to_string())),
                value: payload::value(&msg.payload),
                headers,
                source_partition: self.partition(self.task_id),
                source_offset: json!({ "stream.sequence": sequence, "polled": self.polled }),
                ..SourceRecord::default()
            });
            self.unacked.push_back((self.polled, acker));
            self.polled += 1;
        }
        Ok(records)
    }

    fn topics(&self) -> Vec<String> {
        vec![self.settings.kafka_topic.clone()]
    }

    /// Kafka has every record this task polled up to the committed one:
    /// their messages are acknowledged to the server now.
    fn commit(&mut self, offsets: &[SourceOffset]) {
        let mine = self.partition(self.task_id);
        let Some(done) = offsets
            .iter()
            .find(|o| o.partition == mine)
            .and_then(|o| o.offset.get("polled"))
            .and_then(Value::as_u64)
        else {
            return;
        };
        let mut ready = Vec::new();
        while self.unacked.front().is_some_and(|(n, _)| *n <= done) {
            if let Some((_, acker)) = self.unacked.pop_front() {
                ready.push(acker);
            }
        }
        if ready.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            for acker in ready {
                if let Err(e) = acker.ack().await {
                    // Unacknowledged, it comes again: a duplicate, not a loss.
                    tracing::debug!(error = %e, "a JetStream ack failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        [
            ("name", "ev"),
            ("nats.server.urls", "nats://192.0.2.1:4222"),
            ("nats.stream", "EV"),
            ("kafka.topic", "ev"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn resumes_after_the_lowest_sequence_of_the_connector() {
        let offset = |task: u32, seq: u64| SourceOffset {
            partition: json!({"nats.stream": "EV", "nats.consumer": "tributary-ev", "task": task}),
            offset: json!({"stream.sequence": seq, "polled": 7}),
        };
        let other = SourceOffset {
            partition: json!({"nats.stream": "OTHER", "nats.consumer": "tributary-ev", "task": 0}),
            offset: json!({"stream.sequence": 1}),
        };
        let t = NatsSourceTask::new(&config(), 1).unwrap().resume_from(&[
            offset(0, 40),
            offset(1, 12),
            other,
        ]);
        assert_eq!(t.resume_after, Some(12));
        assert_eq!(t.polled, 8);
        assert_eq!(
            NatsSourceTask::new(&config(), 0).unwrap().resume_after,
            None
        );
    }
}
