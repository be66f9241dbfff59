//! The running RabbitMQ sink task: `put` publishes each record's value to
//! `rabbitmq.exchange` with `rabbitmq.routing.key` on a channel in
//! publisher-confirm mode; `flush` succeeds only once the server confirmed
//! every message of the batch, so offsets are committed only for stored
//! messages (at-least-once). A message the server nacks, or whose
//! confirmation is lost with the connection or does not come within
//! `rabbitmq.publish.ack.timeout`, makes `flush` fail as retriable, and the
//! next `flush` (or `put`) sends it again on a fresh channel.

use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ExchangeKind, PublisherConfirm};
use serde_json::Value;

use super::settings::{first_problem, task_error, SinkSettings, EXCHANGE};
use crate::connectors::{Config, ErrantRecord, SinkTask, TaskError};
// Record values as message text the way the HTTP sink renders them.
use crate::connectors::http::template::text;
use crate::record::Record;

pub struct RabbitMqSinkTask {
    settings: SinkSettings,
    task_id: u32,
    link: Option<Link>,
    exchange: ShortString,
    routing_key: ShortString,
    /// The messages of the last `put`, kept until the server confirmed them.
    batch: Vec<Vec<u8>>,
    properties: Vec<BasicProperties>,
    /// Messages of the batch to publish (again).
    to_publish: Vec<usize>,
    /// Published messages awaiting the server's confirmation.
    in_flight: Vec<(usize, PublisherConfirm)>,
    errant: Vec<ErrantRecord>,
}

/// A connection and its channel in confirm mode.
struct Link {
    connection: Connection,
    channel: Channel,
}

impl RabbitMqSinkTask {
    pub fn new(config: &Config, task_id: u32) -> Result<RabbitMqSinkTask, TaskError> {
        let settings = SinkSettings::parse(config).map_err(|e| first_problem("RabbitMQSink", e))?;
        let name = |s: &str| {
            ShortString::try_new(s)
                .map_err(|e| TaskError::Fatal(format!("invalid RabbitMQSink config: {e}")))
        };
        Ok(RabbitMqSinkTask {
            exchange: name(&settings.exchange)?,
            routing_key: name(&settings.routing_key)?,
            settings,
            task_id,
            link: None,
            batch: Vec::new(),
            properties: Vec::new(),
            to_publish: Vec::new(),
            in_flight: Vec::new(),
            errant: Vec::new(),
        })
    }

    /// The connection and confirm-mode channel, opened on first use and
    /// again after a failure; checks that the exchange exists.
    async fn link(&mut self) -> Result<&Channel, TaskError> {
        if self.link.is_none() {
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
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(|e| task_error("cannot enable publisher confirms", &e))?;
            channel
                .exchange_declare(
                    self.exchange.clone(),
                    ExchangeKind::Direct,
                    ExchangeDeclareOptions {
                        passive: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    task_error(
                        &format!(
                            "exchange {:?} ({EXCHANGE}) is not usable in virtual host {:?}",
                            s.exchange, s.endpoint.virtual_host
                        ),
                        &e,
                    )
                })?;
            tracing::info!(
                server = %s.endpoint.describe(),
                exchange = %s.exchange,
                routing_key = %s.routing_key,
                task = self.task_id,
                "RabbitMQ sink connected"
            );
            self.link = Some(Link {
                connection,
                channel,
            });
        }
        self.link
            .as_ref()
            .map(|l| &l.channel)
            .ok_or_else(|| TaskError::Fatal("the RabbitMQ channel is not open".into()))
    }

    /// Publishes the messages in `to_publish`; on failure keeps the ones
    /// not yet published there and drops the link.
    async fn publish(&mut self) -> Result<(), TaskError> {
        if self.to_publish.is_empty() {
            return Ok(());
        }
        let channel = self.link().await?.clone();
        let pending = std::mem::take(&mut self.to_publish);
        for (n, &i) in pending.iter().enumerate() {
            let published = channel
                .basic_publish(
                    self.exchange.clone(),
                    self.routing_key.clone(),
                    BasicPublishOptions::default(),
                    &self.batch[i],
                    self.properties[i].clone(),
                )
                .await;
            match published {
                Ok(confirm) => self.in_flight.push((i, confirm)),
                Err(e) => {
                    self.to_publish.extend_from_slice(&pending[n..]);
                    self.link = None;
                    return Err(task_error(
                        &format!("publishing to exchange {:?} failed", self.settings.exchange),
                        &e,
                    ));
                }
            }
        }
        Ok(())
    }

    /// The message of one record, or why it has none.
    fn message(&self, record: &Record) -> Result<(Vec<u8>, BasicProperties), String> {
        let payload = match &record.value {
            None | Some(Value::Null) => {
                return Err(
                    "the record has a null value: there is no message body to publish".into(),
                )
            }
            Some(v) => text(v).into_bytes(),
        };
        let s = &self.settings;
        let mut properties = BasicProperties::default().with_delivery_mode(s.delivery_mode.amqp());
        if s.forward_key {
            if let Some(key) = record.key.as_ref().filter(|k| !k.is_null()) {
                let key = text(key);
                let id = ShortString::try_new(key.clone()).map_err(|_| {
                    format!(
                        "the key is {} bytes long; a correlation id (rabbitmq.forward.kafka.key) holds at most 255",
                        key.len()
                    )
                })?;
                properties = properties.with_correlation_id(id);
            }
        }
        let mut headers = FieldTable::default();
        if s.forward_headers {
            for h in &record.headers {
                let name = ShortString::try_new(h.key.clone()).map_err(|_| {
                    let start: String = h.key.chars().take(32).collect();
                    format!("header name {start:?}… is longer than AMQP's 255 bytes")
                })?;
                let value = match &h.value {
                    None | Some(Value::Null) => AMQPValue::Void,
                    Some(v) => AMQPValue::LongString(LongString::from(text(v))),
                };
                headers.insert(name, value);
            }
        }
        if s.forward_metadata {
            headers.insert(
                "KAFKA_TOPIC".into(),
                AMQPValue::LongString(LongString::from(record.topic.as_str())),
            );
            if let Some(p) = record.kafka_partition {
                headers.insert("KAFKA_PARTITION".into(), AMQPValue::LongInt(p));
            }
            if let Some(o) = record.kafka_offset {
                headers.insert("KAFKA_OFFSET".into(), AMQPValue::LongLongInt(o));
            }
        }
        if !headers.inner().is_empty() {
            properties = properties.with_headers(headers);
        }
        Ok((payload, properties))
    }
}

#[async_trait]
impl SinkTask for RabbitMqSinkTask {
    async fn open(&mut self) -> Result<(), TaskError> {
        self.link().await.map(|_| ())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        self.errant.clear();
        self.batch.clear();
        self.properties.clear();
        self.to_publish.clear();
        // Confirmations of an earlier attempt no longer matter: it is all sent again.
        self.in_flight.clear();
        for (index, record) in records.iter().enumerate() {
            match self.message(record) {
                Ok((payload, properties)) => {
                    self.to_publish.push(self.batch.len());
                    self.batch.push(payload);
                    self.properties.push(properties);
                }
                Err(reason) => self.errant.push(ErrantRecord { index, reason }),
            }
        }
        self.publish().await
    }

    /// Waits until the server confirmed every message of the batch.
    async fn flush(&mut self) -> Result<(), TaskError> {
        // What an earlier flush could not get confirmed is sent again.
        self.publish().await?;
        let total = self.batch.len();
        let timeout = self.settings.ack_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let (mut nacked, mut unanswered) = (0usize, 0usize);
        let mut lost = None;
        for (i, confirm) in std::mem::take(&mut self.in_flight) {
            // A confirmation already in is taken even past the deadline.
            match tokio::time::timeout_at(deadline, confirm).await {
                Ok(Ok(c)) if c.is_ack() => continue,
                Ok(Ok(_)) => nacked += 1,
                Ok(Err(e)) => {
                    lost.get_or_insert_with(|| e.to_string());
                }
                Err(_) => unanswered += 1,
            }
            self.to_publish.push(i);
        }
        if self.to_publish.is_empty() {
            return Ok(());
        }
        if lost.is_some() || unanswered > 0 {
            // Confirmations of the old channel can no longer come: a fresh one.
            self.link = None;
        }
        let mut why = Vec::new();
        if nacked > 0 {
            why.push(format!("{nacked} nacked by the server"));
        }
        if unanswered > 0 {
            why.push(format!("{unanswered} not confirmed within {timeout:?}"));
        }
        if let Some(e) = lost {
            why.push(format!("connection lost: {e}"));
        }
        Err(TaskError::Retriable(format!(
            "RabbitMQ at {} confirmed {} of {total} messages to exchange {:?} ({}); they are sent again",
            self.settings.endpoint.describe(),
            total - self.to_publish.len(),
            self.settings.exchange,
            why.join(", ")
        )))
    }

    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        std::mem::take(&mut self.errant)
    }

    async fn close(&mut self) {
        if let Some(link) = self.link.take() {
            let closing = async {
                let _ = link.channel.close(200, "OK".into()).await;
                let _ = link.connection.close(200, "OK".into()).await;
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(extra: &[(&str, &str)]) -> RabbitMqSinkTask {
        let mut c: Config = [
            ("topics", "t"),
            ("rabbitmq.host", "192.0.2.1"),
            ("rabbitmq.exchange", "shop"),
            ("rabbitmq.routing.key", "orders"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        RabbitMqSinkTask::new(&c, 0).unwrap()
    }

    fn record() -> Record {
        let mut r = Record::new("orders", Some(json!(42)), Some(json!({"id": 42})));
        r.kafka_partition = Some(1);
        r.kafka_offset = Some(7);
        r.headers.push(crate::record::Header {
            key: "trace".into(),
            value: Some(json!("abc")),
        });
        r
    }

    #[test]
    fn messages_are_persistent_and_forward_only_what_is_asked() {
        let (payload, p) = task(&[]).message(&record()).unwrap();
        assert_eq!(payload, br#"{"id":42}"#.to_vec());
        assert_eq!(p.delivery_mode(), &Some(2));
        assert_eq!(p.correlation_id(), &None);
        assert_eq!(p.headers(), &None);

        let t = task(&[
            ("rabbitmq.delivery.mode", "TRANSIENT"),
            ("rabbitmq.forward.kafka.key", "true"),
            ("rabbitmq.forward.kafka.metadata", "true"),
            ("rabbitmq.forward.kafka.headers", "true"),
        ]);
        let (_, p) = t.message(&record()).unwrap();
        assert_eq!(p.delivery_mode(), &Some(1));
        assert_eq!(p.correlation_id().as_ref().map(|c| c.as_str()), Some("42"));
        let headers = p.headers().clone().unwrap_or_default();
        let h = headers.inner();
        assert_eq!(h.get("trace"), Some(&AMQPValue::LongString("abc".into())));
        assert_eq!(
            h.get("KAFKA_TOPIC"),
            Some(&AMQPValue::LongString("orders".into()))
        );
        assert_eq!(h.get("KAFKA_PARTITION"), Some(&AMQPValue::LongInt(1)));
        assert_eq!(h.get("KAFKA_OFFSET"), Some(&AMQPValue::LongLongInt(7)));
    }

    #[test]
    fn records_without_a_message_are_errant() {
        let t = task(&[("rabbitmq.forward.kafka.key", "true")]);
        let tombstone = Record::new("orders", Some(json!(1)), None);
        assert!(t.message(&tombstone).unwrap_err().contains("null value"));
        let long_key = Record::new("orders", Some(json!("k".repeat(300))), Some(json!("v")));
        assert!(t.message(&long_key).unwrap_err().contains("correlation id"));
        let text = Record::new("orders", None, Some(json!("plain text")));
        assert_eq!(t.message(&text).unwrap().0, b"plain text".to_vec());
    }
}
