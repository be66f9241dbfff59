//! Runs one source task: poll → convert → produce, counting records as Kafka
//! acknowledges them. Many records stay in flight (librdkafka queues them and
//! a delivery callback counts acks), so one task is not bound by round trips.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tokio::sync::watch;

use super::kafka::{self, DeliveryTracker, KafkaSetupError};
use super::offsets::OffsetTracker;
use super::task::{Control, TaskStatus};
use crate::connectors::{ConnectorPlugin, ConnectorType, SourceRecord, SourceTask, TaskError};
use crate::converters::{registry, ConvertError, Converters};
use crate::protocol::{TaskAssignment, TaskState};
use crate::record::{Header as RecordHeader, Record};
use crate::transforms::Chain;

/// How long a stopping task waits for in-flight records to be acknowledged.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a paused task publishes offsets acknowledged since it paused.
const PAUSED_OFFSET_CHECK: Duration = Duration::from_millis(200);
/// Pause before polling again after a retriable task error.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Wait before retrying a send that found librdkafka's queue full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(5);

type TaskProducer = ThreadedProducer<DeliveryTracker>;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Task(String),
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    #[error("producing to {topic} failed: {source}")]
    Produce {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("{0}")]
    Delivery(String),
}

/// Runs the task until it is told to stop or fails; failures end up in
/// `status` as FAILED with the error as trace.
pub async fn run(
    assignment: TaskAssignment,
    plugin: &'static dyn ConnectorPlugin,
    status: Arc<TaskStatus>,
    control: watch::Receiver<Control>,
) {
    match run_inner(&assignment, plugin, &status, control).await {
        Ok(()) => tracing::info!(records = status.records(), "task stopped"),
        Err(e) => {
            tracing::error!(error = %e, records = status.records(), "task failed");
            status.fail(e.to_string());
        }
    }
}

async fn run_inner(
    assignment: &TaskAssignment,
    plugin: &'static dyn ConnectorPlugin,
    status: &Arc<TaskStatus>,
    mut control: watch::Receiver<Control>,
) -> Result<(), SourceError> {
    let client_id = format!(
        "connector-{}-{}",
        assignment.id.connector_id, assignment.id.task
    );
    let mut task = plugin
        .start_source_task(&assignment.config, assignment.id.task, &assignment.offsets)
        .map_err(|e| SourceError::Task(e.to_string()))?;

    // Keys and values as `key.converter` / `value.converter` or
    // `output.data.format` say (default: string keys, JSON values).
    let converters = Converters::from_config(
        &assignment.config,
        ConnectorType::Source,
        registry::for_environment(&assignment.environment_id),
    )
    .map_err(|e| SourceError::Task(e.to_string()))?;

    let topics = task.topics();
    tokio::select! {
        created = kafka::ensure_topics(&assignment.kafka, &assignment.config, &topics, &client_id) => created?,
        _ = stopped(&mut control) => return Ok(()),
    }

    let offsets = Arc::new(OffsetTracker::new(&assignment.offsets));
    let tracker = DeliveryTracker::new(Arc::clone(status), Arc::clone(&offsets), client_id.clone());
    let producer: TaskProducer =
        kafka::producer_config(&assignment.kafka, &assignment.config, &client_id)
            .create_with_context(tracker)
            .map_err(|source| KafkaSetupError::Client {
                what: "producer",
                source,
            })?;
    tracing::info!(?topics, "task started");

    let chain = Chain::from_config(&assignment.config).map_err(|errors| {
        SourceError::Task(
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let mut created = TopicCreator {
        assignment,
        client_id: &client_id,
        known: topics.iter().cloned().collect(),
    };
    let result = produce_loop(
        task.as_mut(),
        &mut created,
        &producer,
        &chain,
        &converters,
        &offsets,
        status,
        &mut control,
    )
    .await;
    flush(producer).await;
    // The last acknowledged offsets reach the control plane with the final report.
    if let Some(o) = offsets.take_changed() {
        task.commit(&o);
        status.set_offsets(o);
    }
    result
}

#[allow(clippy::too_many_arguments)] // the loop's whole context, borrowed from run_inner
async fn produce_loop(
    task: &mut dyn SourceTask,
    created: &mut TopicCreator<'_>,
    producer: &TaskProducer,
    chain: &Chain,
    converters: &Converters,
    offsets: &OffsetTracker,
    status: &TaskStatus,
    control: &mut watch::Receiver<Control>,
) -> Result<(), SourceError> {
    loop {
        if let Some(o) = offsets.take_changed() {
            task.commit(&o);
            status.set_offsets(o);
        }
        if let Some(failure) = producer.context().take_failure() {
            return Err(SourceError::Delivery(failure));
        }
        // Copied out so the channel's read lock is not held across an await.
        let desired = *control.borrow_and_update();
        match desired {
            Control::Stop => return Ok(()),
            Control::Run => status.set(TaskState::Running),
            Control::Pause => {
                // Paused: poll nothing; in-flight records still get
                // acknowledged, and their offsets must still be committed.
                status.set(TaskState::Paused);
                if let Ok(Err(_)) =
                    tokio::time::timeout(PAUSED_OFFSET_CHECK, control.changed()).await
                {
                    return Ok(());
                }
                continue;
            }
        }
        // A stop or pause drops a poll in progress: polls must not lose
        // records they have not returned yet when cancelled.
        let polled = tokio::select! {
            biased;
            changed = control.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                continue;
            }
            polled = task.poll() => polled,
        };
        match polled {
            Ok(records) => {
                for record in records {
                    let SourceRecord {
                        topic,
                        key,
                        value,
                        headers,
                        source_partition,
                        source_offset,
                        key_schema,
                        value_schema,
                    } = record;
                    let mut r = Record::new(topic, key, value)
                        .with_key_schema(key_schema)
                        .with_value_schema(value_schema);
                    r.headers = headers
                        .into_iter()
                        .map(|(key, v)| RecordHeader {
                            key,
                            value: Some(serde_json::Value::String(v)),
                        })
                        .collect();
                    let transformed = chain
                        .apply(r)
                        .map_err(|e| SourceError::Task(e.to_string()))?;
                    let seq = offsets.submit(source_partition, source_offset);
                    let Some(r) = transformed else {
                        // Dropped by a transform: nothing to deliver, so the offset is done.
                        offsets.ack(seq);
                        continue;
                    };
                    created.ensure(&r.topic).await?;
                    status.add_topic(&r.topic);
                    if !send(producer, converters, &r, seq, control).await? {
                        return Ok(());
                    }
                }
            }
            Err(TaskError::Retriable(reason)) => {
                tracing::warn!(%reason, "poll failed; retrying in {RETRY_BACKOFF:?}");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_BACKOFF) => {}
                    _ = control.changed() => {}
                }
            }
            Err(TaskError::Fatal(reason)) => return Err(SourceError::Task(reason)),
        }
    }
}

/// Converts and enqueues one record. Returns `Ok(false)` when told to stop
/// while waiting for room in a full producer queue.
async fn send(
    producer: &TaskProducer,
    converters: &Converters,
    record: &Record,
    seq: usize,
    control: &mut watch::Receiver<Control>,
) -> Result<bool, SourceError> {
    let topic = record.topic.as_str();
    let key = converters
        .key
        .from_connect_data(topic, record.key_schema.as_deref(), record.key.as_ref())
        .await?;
    let value = converters
        .value
        .from_connect_data(topic, record.value_schema.as_deref(), record.value.as_ref())
        .await?;
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    let header_values: Vec<Option<String>> = record
        .headers
        .iter()
        .map(|h| match &h.value {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        })
        .collect();
    for (h, v) in record.headers.iter().zip(&header_values) {
        headers = headers.insert(Header {
            key: &h.key,
            value: v.as_deref(),
        });
    }
    let mut out: BaseRecord<'_, [u8], [u8], usize> =
        BaseRecord::with_opaque_to(topic, seq).headers(headers);
    if let Some(partition) = record.kafka_partition {
        out = out.partition(partition);
    }
    if let Some(key) = key.as_deref() {
        out = out.key(key);
    }
    if let Some(value) = value.as_deref() {
        out = out.payload(value);
    }
    loop {
        match producer.send(out) {
            Ok(()) => return Ok(true),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                out = back;
                tokio::select! {
                    _ = tokio::time::sleep(QUEUE_FULL_BACKOFF) => {}
                    _ = control.changed() => {}
                }
                if *control.borrow() == Control::Stop {
                    return Ok(false);
                }
            }
            Err((source, _)) => {
                return Err(SourceError::Produce {
                    topic: topic.to_string(),
                    source,
                })
            }
        }
    }
}

/// Creates a record's topic the first time the task writes to it, as Kafka
/// Connect does for source tasks (`topic.creation`): some tasks (CDC) learn
/// their topics only as they read.
struct TopicCreator<'a> {
    assignment: &'a TaskAssignment,
    client_id: &'a str,
    known: std::collections::HashSet<String>,
}

impl TopicCreator<'_> {
    async fn ensure(&mut self, topic: &str) -> Result<(), SourceError> {
        if !self.known.contains(topic) {
            let a = self.assignment;
            kafka::ensure_topics(&a.kafka, &a.config, &[topic.to_string()], self.client_id).await?;
            self.known.insert(topic.to_string());
        }
        Ok(())
    }
}

/// Resolves once the task is told to stop (or its handle is gone).
async fn stopped(control: &mut watch::Receiver<Control>) {
    let _ = control.wait_for(|c| *c == Control::Stop).await;
}

/// Waits for in-flight records off the async threads, then drops the
/// producer there too (dropping purges whatever is still queued).
async fn flush(producer: TaskProducer) {
    let flushed = tokio::task::spawn_blocking(move || {
        let result = producer.flush(FLUSH_TIMEOUT);
        drop(producer);
        result
    })
    .await;
    match flushed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "producer flush incomplete; unacknowledged records are dropped")
        }
        Err(e) => tracing::warn!(error = %e, "producer flush did not complete"),
    }
}
