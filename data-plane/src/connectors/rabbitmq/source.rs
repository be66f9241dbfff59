//! The running RabbitMQ source task: one connection and channel per task,
//! one consumer per queue (manual acknowledgements, `basic.qos` from
//! `rabbitmq.prefetch.count`), the deliveries of all of them merged.
//!
//! Delivery: a message is acknowledged to RabbitMQ only when the runtime
//! reports its record committable, that is acknowledged by Kafka together
//! with everything polled before it ([`SourceTask::commit`]). A message
//! whose record never reached Kafka (a crash, a stop, a lost connection)
//! stays unacknowledged, and RabbitMQ delivers it again once the channel is
//! gone, flagged `rabbitmq.redeliver=true`: at-least-once. Queues have no
//! position to rewind to; the source offset (a per-task sequence number)
//! is what the runtime tracks for the acknowledgements.
//!
//! The record: the message body as value (see `output.data.format`), the
//! message id as key, and the AMQP envelope and properties as
//! `rabbitmq.*` headers, as Confluent's connector writes them; the
//! message's own headers follow as `rabbitmq.headers.<name>`.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use futures::stream::{self, BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Acker, Channel, Connection};
use serde_json::{json, Value};

use super::settings::{first_problem, short, task_error, SourceSettings, QUEUE};
use crate::connectors::{payload, Config, SourceRecord, SourceTask, TaskError};
use crate::protocol::SourceOffset;

/// Most records one `poll` returns.
const MAX_BATCH: usize = 500;
/// How long `poll` waits for a first message. Short, because the runtime
/// hands over Kafka's acknowledgements between polls, and with a prefetch
/// limit the server sends nothing more until they are passed on.
const POLL_WAIT: Duration = Duration::from_millis(50);

pub struct RabbitMqSourceTask {
    settings: SourceSettings,
    task_id: u32,
    /// The sequence number of the next message (continues the stored offset).
    next_seq: u64,
    running: Option<Running>,
    /// Messages handed to the runtime and not yet acknowledged to RabbitMQ,
    /// with their sequence numbers, oldest first.
    unacked: VecDeque<(u64, Acker)>,
}

/// What the merged consumers yield.
enum Event {
    Delivery(String, Box<Delivery>),
    Failed(String, lapin::Error),
    /// The consumer of this queue ended (the server cancelled it, e.g.
    /// because the queue was deleted, or the channel closed).
    Ended(String),
}

struct Running {
    // Held so that the connection lives as long as its consumers; dropping
    // them closes it, and RabbitMQ requeues what was not acknowledged.
    _connection: Connection,
    _channel: Channel,
    events: SelectAll<BoxStream<'static, Event>>,
}

impl RabbitMqSourceTask {
    pub fn new(config: &Config, task_id: u32) -> Result<RabbitMqSourceTask, TaskError> {
        let settings =
            SourceSettings::parse(config).map_err(|e| first_problem("RabbitMQSource", e))?;
        Ok(RabbitMqSourceTask {
            settings,
            task_id,
            next_seq: 0,
            running: None,
            unacked: VecDeque::new(),
        })
    }

    fn partition(&self) -> Value {
        json!({
            "rabbitmq.queue": self.settings.queues.join(","),
            "task": self.task_id,
        })
    }

    /// Continues the message sequence after the last committed one.
    pub fn resume_from(mut self, offsets: &[SourceOffset]) -> RabbitMqSourceTask {
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

    /// Connects and starts the consumers on first use (construction does
    /// no I/O) and again after a failure.
    async fn running(&mut self) -> Result<&mut Running, TaskError> {
        if self.running.is_none() {
            let s = &self.settings;
            let name = format!("tributary-{}-{}", s.name, self.task_id);
            let connection = s.endpoint.connect(&name).await?;
            let channel = connection.create_channel().await.map_err(|e| {
                task_error(
                    &format!("cannot open a channel on {}", s.endpoint.describe()),
                    &e,
                )
            })?;
            channel
                .basic_qos(
                    s.prefetch_count,
                    BasicQosOptions {
                        global: s.prefetch_global,
                    },
                )
                .await
                .map_err(|e| task_error("basic.qos (rabbitmq.prefetch.count) failed", &e))?;
            let mut events = SelectAll::new();
            for (i, queue) in s.queues.iter().enumerate() {
                let consumer_tag = consumer_tag(&name, i);
                let (Some(q), Some(tag)) = (short(queue), short(&consumer_tag)) else {
                    return Err(TaskError::Fatal(format!("{QUEUE}: {queue:?} is too long")));
                };
                let consumer = channel
                    .basic_consume(
                        q,
                        tag,
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .map_err(|e| {
                        task_error(
                            &format!(
                                "cannot consume queue {queue:?} ({QUEUE}) in virtual host {:?}",
                                s.endpoint.virtual_host
                            ),
                            &e,
                        )
                    })?;
                let (q1, q2) = (queue.clone(), queue.clone());
                let tag = consumer_tag.clone();
                events.push(
                    consumer
                        .map(move |d| match d {
                            Ok(d) => Event::Delivery(tag.clone(), Box::new(d)),
                            Err(e) => Event::Failed(q1.clone(), e),
                        })
                        .chain(stream::once(async move { Event::Ended(q2) }))
                        .boxed(),
                );
            }
            tracing::info!(
                server = %s.endpoint.describe(),
                queues = ?s.queues,
                prefetch = s.prefetch_count,
                task = self.task_id,
                "RabbitMQ source consuming"
            );
            self.running = Some(Running {
                _connection: connection,
                _channel: channel,
                events,
            });
        }
        self.running
            .as_mut()
            .ok_or_else(|| TaskError::Fatal("the RabbitMQ consumer is not running".into()))
    }

    fn record(&mut self, consumer_tag: String, d: Delivery) -> SourceRecord {
        let seq = self.next_seq;
        self.next_seq += 1;
        let p = &d.properties;
        let mut headers = vec![("rabbitmq.consumer.tag".to_string(), consumer_tag)];
        let mut add = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                headers.push((format!("rabbitmq.{name}"), v));
            }
        };
        let text = |s: &Option<lapin::types::ShortString>| s.as_ref().map(|s| s.to_string());
        add("content.type", text(p.content_type()));
        add("content.encoding", text(p.content_encoding()));
        add("delivery.mode", p.delivery_mode().map(|m| m.to_string()));
        add("priority", p.priority().map(|m| m.to_string()));
        add("correlation.id", text(p.correlation_id()));
        add("reply.to", text(p.reply_to()));
        add("expiration", text(p.expiration()));
        add("message.id", text(p.message_id()));
        // AMQP timestamps are seconds; Kafka Connect's are milliseconds.
        add(
            "timestamp",
            p.timestamp().map(|t| (t.saturating_mul(1000)).to_string()),
        );
        add("type", text(p.kind()));
        add("user.id", text(p.user_id()));
        add("app.id", text(p.app_id()));
        add("delivery.tag", Some(d.delivery_tag.to_string()));
        add("redeliver", Some(d.redelivered.to_string()));
        add("exchange", Some(d.exchange.to_string()));
        add("routing.key", Some(d.routing_key.to_string()));
        if let Some(table) = p.headers() {
            for (name, value) in table {
                add(&format!("headers.{name}"), Some(amqp_text(value)));
            }
        }
        let (value, value_schema) = if self.settings.bytes_body {
            (
                Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(&d.data),
                )),
                Some(crate::schema::optional_bytes()),
            )
        } else if self.settings.raw_body {
            (Some(Value::String(payload::text(&d.data))), None)
        } else {
            (payload::value(&d.data), None)
        };
        let record = SourceRecord {
            topic: self.settings.kafka_topic.clone(),
            key: p
                .message_id()
                .as_ref()
                .map(|id| Value::String(id.to_string())),
            value,
            headers,
            source_partition: self.partition(),
            source_offset: json!({ "seq": seq }),
            value_schema,
            ..SourceRecord::default()
        };
        self.unacked.push_back((seq, d.acker));
        record
    }
}

/// A consumer tag unique on the task's channel.
fn consumer_tag(connection_name: &str, queue_index: usize) -> String {
    let tag = format!("{connection_name}-{queue_index}");
    if tag.len() <= 255 {
        tag
    } else {
        format!("tributary-{queue_index}")
    }
}

/// An AMQP header value as header text: strings as they are, numbers and
/// booleans as written, arrays and tables as JSON.
fn amqp_text(v: &AMQPValue) -> String {
    match amqp_json(v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn amqp_json(v: &AMQPValue) -> Value {
    match v {
        AMQPValue::Boolean(b) => json!(b),
        AMQPValue::ShortShortInt(n) => json!(n),
        AMQPValue::ShortShortUInt(n) => json!(n),
        AMQPValue::ShortInt(n) => json!(n),
        AMQPValue::ShortUInt(n) => json!(n),
        AMQPValue::LongInt(n) => json!(n),
        AMQPValue::LongUInt(n) => json!(n),
        AMQPValue::LongLongInt(n) => json!(n),
        AMQPValue::Float(n) => json!(n),
        AMQPValue::Double(n) => json!(n),
        AMQPValue::DecimalValue(d) => {
            let scaled = f64::from(d.value) / 10f64.powi(i32::from(d.scale));
            json!(scaled)
        }
        AMQPValue::ShortString(s) => json!(s.as_str()),
        AMQPValue::LongString(s) => json!(payload::text(s.as_bytes())),
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(amqp_json).collect()),
        AMQPValue::Timestamp(t) => json!(t.saturating_mul(1000)),
        AMQPValue::FieldTable(t) => Value::Object(
            t.into_iter()
                .map(|(k, v)| (k.to_string(), amqp_json(v)))
                .collect(),
        ),
        AMQPValue::ByteArray(b) => json!(payload::text(b.as_slice())),
        AMQPValue::Void => Value::Null,
    }
}

#[async_trait]
impl SourceTask for RabbitMqSourceTask {
    /// Cancel-safe: a delivery leaves the merged stream only inside a
    /// non-suspending section that turns it into a record.
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        let running = self.running().await?;
        let first = match tokio::time::timeout(POLL_WAIT, running.events.next()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(Some(e)) => e,
            Ok(None) => {
                self.running = None;
                return Err(TaskError::Retriable(
                    "every RabbitMQ consumer of the task ended; reconnecting".into(),
                ));
            }
        };
        let mut events = vec![first];
        while events.len() < MAX_BATCH {
            match running.events.next().now_or_never() {
                Some(Some(e)) => events.push(e),
                _ => break,
            }
        }
        let mut records = Vec::with_capacity(events.len());
        let mut failure = None;
        for event in events {
            match event {
                Event::Delivery(tag, d) => records.push(self.record(tag, *d)),
                Event::Failed(queue, e) => {
                    failure.get_or_insert_with(|| {
                        task_error(&format!("consuming queue {queue:?} failed"), &e)
                    });
                }
                Event::Ended(queue) => {
                    failure.get_or_insert_with(|| {
                        TaskError::Retriable(format!(
                            "the consumer of queue {queue:?} ended (the server cancelled it, or the connection closed; was the queue deleted?)"
                        ))
                    });
                }
            }
        }
        if let Some(failure) = failure {
            // Everything unacknowledged on the old channel is requeued by
            // the server; the next poll connects again.
            self.running = None;
            if records.is_empty() {
                return Err(failure);
            }
            tracing::warn!(error = %failure, "RabbitMQ consumer failed; reconnecting");
        }
        Ok(records)
    }

    fn topics(&self) -> Vec<String> {
        vec![self.settings.kafka_topic.clone()]
    }

    /// Kafka has every record up to the committed sequence number: their
    /// messages are acknowledged to RabbitMQ now.
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
        while self.unacked.front().is_some_and(|(seq, _)| *seq <= done) {
            let Some((_, acker)) = self.unacked.pop_front() else {
                break;
            };
            // The first poll of the acknowledgement queues its frame on the
            // connection, ahead of a close that dropping the task sends; the
            // server's answer is not needed. An acknowledgement that fails
            // (the channel closed meanwhile) leaves the message to be
            // delivered again: a duplicate, not a loss.
            let _ = acker.ack(BasicAckOptions::default()).now_or_never();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::converters::Converter;
    use lapin::types::{LongString, ShortString};
    use lapin::BasicProperties;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("name", "rmq"),
            ("rabbitmq.host", "192.0.2.1"),
            ("rabbitmq.queue", "a,b"),
            ("kafka.topic", "k"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    fn delivery(tag: u64, body: &[u8], properties: BasicProperties) -> Delivery {
        let mut d = Delivery::mock(tag, "ex".into(), "rk".into(), tag > 1, body.to_vec());
        d.properties = properties;
        d
    }

    #[test]
    fn records_carry_the_body_message_id_and_amqp_headers() {
        let stored = vec![SourceOffset {
            partition: json!({"rabbitmq.queue": "a,b", "task": 0}),
            offset: json!({"seq": 41}),
        }];
        let mut task = RabbitMqSourceTask::new(&config(&[]), 0)
            .unwrap()
            .resume_from(&stored);
        let mut table = FieldTable::default();
        table.insert(
            ShortString::from("tenant"),
            AMQPValue::LongString(LongString::from("acme")),
        );
        table.insert(ShortString::from("tries"), AMQPValue::LongInt(3));
        let props = BasicProperties::default()
            .with_message_id("m-7".into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_timestamp(1_700_000_000)
            .with_headers(table);
        let r = task.record("ctag".into(), delivery(1, br#"{"id": 7}"#, props));
        assert_eq!(r.topic, "k");
        assert_eq!(r.key, Some(json!("m-7")));
        // BYTES by default: the body exactly as it was, spacing included,
        // as a BYTES value (base64 in the record model), which the
        // ByteArrayConverter writes back as the same bytes.
        assert_eq!(r.value_schema, Some(crate::schema::optional_bytes()));
        let bytes = crate::converters::ByteArrayConverter
            .from_connect_data("k", r.value_schema.as_deref(), r.value.as_ref())
            .unwrap();
        assert_eq!(bytes.as_deref(), Some(&br#"{"id": 7}"#[..]));
        assert_eq!(r.source_offset, json!({"seq": 42}));
        let h = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("rabbitmq.consumer.tag"), Some("ctag"));
        assert_eq!(h("rabbitmq.content.type"), Some("application/json"));
        assert_eq!(h("rabbitmq.delivery.mode"), Some("2"));
        assert_eq!(h("rabbitmq.message.id"), Some("m-7"));
        assert_eq!(h("rabbitmq.timestamp"), Some("1700000000000"));
        assert_eq!(h("rabbitmq.delivery.tag"), Some("1"));
        assert_eq!(h("rabbitmq.redeliver"), Some("false"));
        assert_eq!(h("rabbitmq.exchange"), Some("ex"));
        assert_eq!(h("rabbitmq.routing.key"), Some("rk"));
        assert_eq!(h("rabbitmq.headers.tenant"), Some("acme"));
        assert_eq!(h("rabbitmq.headers.tries"), Some("3"));
        assert_eq!(
            h("rabbitmq.correlation.id"),
            None,
            "absent properties are left out"
        );
        assert_eq!(task.unacked.len(), 1);
    }

    #[test]
    fn structured_formats_read_json_bodies() {
        let mut task =
            RabbitMqSourceTask::new(&config(&[("output.data.format", "JSON")]), 0).unwrap();
        let r = task.record(
            "t".into(),
            delivery(1, br#"{"id": 7}"#, BasicProperties::default()),
        );
        assert_eq!(r.value, Some(json!({"id": 7})));
        assert_eq!(r.key, None);
        let r = task.record(
            "t".into(),
            delivery(2, b"plain", BasicProperties::default()),
        );
        assert_eq!(r.value, Some(json!("plain")));
        let r = task.record("t".into(), delivery(3, b"", BasicProperties::default()));
        assert_eq!(r.value, None);
    }

    #[test]
    fn commit_releases_what_kafka_has_in_order() {
        let mut task = RabbitMqSourceTask::new(&config(&[]), 3).unwrap();
        for tag in 1..=4 {
            task.record("t".into(), delivery(tag, b"x", BasicProperties::default()));
        }
        let partition = json!({"rabbitmq.queue": "a,b", "task": 3});
        let other = SourceOffset {
            partition: json!({"rabbitmq.queue": "a,b", "task": 0}),
            offset: json!({"seq": 99}),
        };
        task.commit(std::slice::from_ref(&other));
        assert_eq!(
            task.unacked.len(),
            4,
            "another task's offset releases nothing"
        );
        task.commit(&[
            other,
            SourceOffset {
                partition,
                offset: json!({"seq": 1}),
            },
        ]);
        let left: Vec<u64> = task.unacked.iter().map(|(s, _)| *s).collect();
        assert_eq!(left, vec![2, 3]);
    }
}
