//! What happens to a record that fails conversion, a transform or `put`
//! for good, per `errors.tolerance`: fail the task (`none`), or skip it
//! (`all`), logging it (`errors.log.*`, see [`RetryWithTolerance`]) and
//! sending its original bytes to the dead letter queue with the
//! `__connect.errors.*` context headers.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use super::convert::{RawRecord, RecordError};
use super::SinkError;
use crate::connectors::sink_config::{DeadLetterQueue as DlqSettings, SinkSettings};
use crate::protocol::TaskAssignment;
use crate::runtime::errors::{excerpt, RetryWithTolerance};
use crate::runtime::kafka::{self, KafkaSetupError, TOPIC_PARTITIONS, TOPIC_REPLICATION};

const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct ErrorReporter {
    /// Retries and tolerance of the task's conversions and transforms.
    operator: RetryWithTolerance,
    connector_name: String,
    task: u32,
    dlq: Option<Dlq>,
}

struct Dlq {
    topic: String,
    context_headers: bool,
    producer: FutureProducer,
    /// Sends not yet acknowledged: awaited before the batch's offsets are
    /// committed, so a skipped record is never lost from the queue.
    pending: Vec<(DeliveryFuture, String)>,
}

impl ErrorReporter {
    /// Creates the dead letter queue topic (one partition, as Kafka
    /// Connect does) and its producer, when one is configured.
    pub async fn new(
        assignment: &TaskAssignment,
        settings: &SinkSettings,
        client_id: &str,
    ) -> Result<ErrorReporter, SinkError> {
        let dlq = match (&settings.dead_letter_queue, settings.errors.tolerate) {
            (Some(dlq), true) => Some(Dlq::new(assignment, dlq, client_id).await?),
            (Some(dlq), false) => {
                tracing::warn!(topic = %dlq.topic, "errors.deadletterqueue.topic.name is ignored with errors.tolerance=none");
                None
            }
            (None, _) => None,
        };
        Ok(ErrorReporter {
            operator: RetryWithTolerance::new(settings.errors.clone()),
            connector_name: assignment.connector_name.clone(),
            task: assignment.id.task,
            dlq,
        })
    }

    /// The operator the task's conversions and transforms run through.
    pub fn operator(&self) -> &RetryWithTolerance {
        &self.operator
    }

    /// Handles a record that failed a stage: `Ok` means skip it and go on,
    /// `Err` fails the task (tolerance `none`, or the queue refused it).
    pub async fn report(&mut self, raw: &RawRecord, error: &RecordError) -> Result<(), SinkError> {
        if !self.operator.tolerates() {
            return Err(SinkError::Record {
                topic: raw.topic.clone(),
                partition: raw.partition,
                offset: raw.offset,
                error: error.clone(),
            });
        }
        let origin = format!(
            "topic {} partition {} offset {}",
            raw.topic, raw.partition, raw.offset
        );
        let content = || {
            format!(
                "timestamp={} key={} value={}",
                raw.timestamp
                    .map_or_else(|| "null".to_string(), |t| t.to_string()),
                excerpt(raw.key.as_deref()),
                excerpt(raw.value.as_deref())
            )
        };
        self.operator
            .log_skipped(error, &origin, content, self.dlq.is_some());
        match &mut self.dlq {
            Some(dlq) => dlq.send(raw, error, &self.connector_name, self.task).await,
            None => Ok(()),
        }
    }

    /// Waits until every record sent to the dead letter queue is acknowledged.
    pub async fn flush(&mut self) -> Result<(), SinkError> {
        match &mut self.dlq {
            Some(dlq) => dlq.await_pending().await,
            None => Ok(()),
        }
    }

    pub async fn close(self) {
        if let Some(dlq) = self.dlq {
            let producer = dlq.producer;
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = producer.flush(FLUSH_TIMEOUT) {
                    tracing::warn!(error = %e, "dead letter queue producer flush incomplete");
                }
            })
            .await;
        }
    }
}

impl Dlq {
    async fn new(
        assignment: &TaskAssignment,
        settings: &DlqSettings,
        client_id: &str,
    ) -> Result<Dlq, SinkError> {
        let topic_config = BTreeMap::from([
            (TOPIC_PARTITIONS.to_string(), "1".to_string()),
            (
                TOPIC_REPLICATION.to_string(),
                settings.replication_factor.to_string(),
            ),
        ]);
        kafka::ensure_topics(
            &assignment.kafka,
            &topic_config,
            std::slice::from_ref(&settings.topic),
            client_id,
        )
        .await?;
        let producer: FutureProducer =
            kafka::producer_config(&assignment.kafka, &assignment.config, client_id)
                .create()
                .map_err(|source| KafkaSetupError::Client {
                    what: "dead letter queue producer",
                    source,
                })?;
        Ok(Dlq {
            topic: settings.topic.clone(),
            context_headers: settings.context_headers,
            producer,
            pending: Vec::new(),
        })
    }

    async fn send(
        &mut self,
        raw: &RawRecord,
        error: &RecordError,
        connector: &str,
        task: u32,
    ) -> Result<(), SinkError> {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &raw.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        if self.context_headers {
            for (k, v) in context_headers(raw, error, connector, task) {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
        }
        let origin = format!(
            "topic {} partition {} offset {}",
            raw.topic, raw.partition, raw.offset
        );
        // A local copy: the record borrows it while `self` waits for room.
        let topic = self.topic.clone();
        for attempt in 0..2 {
            let mut record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&topic).headers(headers.clone());
            if let Some(key) = raw.key.as_deref() {
                record = record.key(key);
            }
            if let Some(value) = raw.value.as_deref() {
                record = record.payload(value);
            }
            if let Some(ts) = raw.timestamp {
                record = record.timestamp(ts);
            }
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    self.pending.push((delivery, origin));
                    return Ok(());
                }
                // A full local queue drains as earlier sends are acknowledged.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                    if attempt == 0 =>
                {
                    self.await_pending().await?;
                }
                Err((e, _)) => return Err(self.failed(&origin, e.to_string())),
            }
        }
        Err(self.failed(&origin, "the producer queue stayed full".into()))
    }

    async fn await_pending(&mut self) -> Result<(), SinkError> {
        for (delivery, origin) in std::mem::take(&mut self.pending) {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(self.failed(&origin, e.to_string())),
                Err(_) => return Err(self.failed(&origin, "the producer went away".into())),
            }
        }
        Ok(())
    }

    fn failed(&self, origin: &str, reason: String) -> SinkError {
        SinkError::DeadLetter {
            topic: self.topic.clone(),
            reason: format!("record at {origin}: {reason}"),
        }
    }
}

/// The `__connect.errors.*` headers of Kafka Connect's
/// `DeadLetterQueueReporter`.
pub fn context_headers(
    raw: &RawRecord,
    error: &RecordError,
    connector: &str,
    task: u32,
) -> Vec<(&'static str, String)> {
    vec![
        ("__connect.errors.topic", raw.topic.clone()),
        ("__connect.errors.partition", raw.partition.to_string()),
        ("__connect.errors.offset", raw.offset.to_string()),
        ("__connect.errors.connector.name", connector.to_string()),
        ("__connect.errors.task.id", task.to_string()),
        ("__connect.errors.stage", error.stage.as_str().to_string()),
        ("__connect.errors.class.name", error.class_name.clone()),
        (
            "__connect.errors.exception.class.name",
            error.exception.to_string(),
        ),
        ("__connect.errors.exception.message", error.message.clone()),
        // There is no Java stack; the full error is the closest thing.
        (
            "__connect.errors.exception.stacktrace",
            format!("{}: {error}", error.exception),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::convert::Stage;
    use super::*;

    #[test]
    fn context_headers_name_origin_stage_and_error() {
        let raw = RawRecord {
            topic: "orders".into(),
            partition: 3,
            offset: 42,
            timestamp: None,
            key: None,
            value: Some(b"{oops".to_vec()),
            headers: Vec::new(),
        };
        let error = RecordError {
            stage: Stage::ValueConverter,
            class_name: "org.apache.kafka.connect.json.JsonConverter".into(),
            exception: "org.apache.kafka.connect.errors.DataException",
            message: "not valid JSON".into(),
            retries: 0,
        };
        let headers: BTreeMap<&str, String> = context_headers(&raw, &error, "orders-sink", 1)
            .into_iter()
            .collect();
        assert_eq!(headers["__connect.errors.topic"], "orders");
        assert_eq!(headers["__connect.errors.partition"], "3");
        assert_eq!(headers["__connect.errors.offset"], "42");
        assert_eq!(headers["__connect.errors.connector.name"], "orders-sink");
        assert_eq!(headers["__connect.errors.task.id"], "1");
        assert_eq!(headers["__connect.errors.stage"], "VALUE_CONVERTER");
        assert_eq!(
            headers["__connect.errors.class.name"],
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(
            headers["__connect.errors.exception.class.name"],
            "org.apache.kafka.connect.errors.DataException"
        );
        assert_eq!(
            headers["__connect.errors.exception.message"],
            "not valid JSON"
        );
        assert_eq!(headers.len(), 10);
    }
}
