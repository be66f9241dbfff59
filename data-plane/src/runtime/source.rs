//! Runs one source task: poll → convert → produce, counting records as Kafka
//! acknowledges them. Many records stay in flight (librdkafka queues them and
//! a delivery callback counts acks), so one task is not bound by round trips.

mod convert;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use tokio::sync::watch;

use super::errors::{ErrorSettings, Halt, RecordError, RetryWithTolerance};
use super::kafka::{self, KafkaSetupError};
use super::offsets::OffsetTracker;
use super::task::{Control, TaskStatus};
use super::transactions::{self, SourceProducer, TransactionError};
use crate::connectors::{ConnectorPlugin, ConnectorType, SourceRecord, SourceTask, TaskError};
use crate::converters::{registry, ConvertError, Converters};
use crate::protocol::{TaskAssignment, TaskState};
use crate::record::Record;
use crate::transforms::Chain;

/// How long a stopping task waits for in-flight records to be acknowledged.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a paused task publishes offsets acknowledged since it paused.
const PAUSED_OFFSET_CHECK: Duration = Duration::from_millis(200);
/// Pause before polling again after a retriable task error.
const RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// Wait before retrying a send that found librdkafka's queue full.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(5);

type TaskProducer = SourceProducer;

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
    #[error(
        "Tolerance exceeded in error handler (errors.tolerance=none): record at {origin}: {error}"
    )]
    Record { origin: String, error: RecordError },
    #[error(transparent)]
    Transaction(#[from] TransactionError),
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
        Err(SourceError::Transaction(e @ TransactionError::Fenced(_))) => {
            // A newer instance of the task owns it now: this one is done,
            // not failed.
            tracing::warn!(error = %e, records = status.records(), "task stopped");
            status.set(TaskState::Unassigned);
        }
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
    // The producer first: under exactly-once it fences older instances of
    // the task and reads the offsets the task resumes from.
    let (producer, offsets) = tokio::select! {
        started = transactions::start(assignment, status, &client_id) => started?,
        _ = stopped(&mut control) => return Ok(()),
    };
    let mut task = plugin
        .start_source_task(&assignment.config, assignment.id.task, &offsets.committed())
        .map_err(|e| SourceError::Task(e.to_string()))?;

    // Keys and values as `key.converter` / `value.converter` or
    // `output.data.format` say (default: string keys, JSON values).
    let converters = Converters::from_config(
        &assignment.config,
        ConnectorType::Source,
        registry::for_environment(&assignment.environment_id),
    )
    .map_err(|e| SourceError::Task(e.to_string()))?;
    // errors.tolerance, errors.retry.*, errors.log.* for conversions and transforms.
    let errors = RetryWithTolerance::new(
        ErrorSettings::parse(&assignment.config)
            .map_err(|e| SourceError::Task(format!("invalid source config: {e}")))?,
    );

    let topics = task.topics();
    tokio::select! {
        created = kafka::ensure_topics(&assignment.kafka, &assignment.config, &topics, &client_id) => created?,
        _ = stopped(&mut control) => return Ok(()),
    }

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
        &errors,
        &offsets,
        status,
        &mut control,
    )
    .await;
    // Errors of a fenced producer mean a newer instance took over.
    let result = result.map_err(|e| producer.fenced_error().map_or(e, SourceError::from));
    producer
        .close(&offsets, status, result.is_ok(), FLUSH_TIMEOUT)
        .await;
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
    errors: &RetryWithTolerance,
    offsets: &OffsetTracker,
    status: &TaskStatus,
    control: &mut watch::Receiver<Control>,
) -> Result<(), SourceError> {
    // Polled records not processed yet: a stop or pause ended a retry wait
    // of the first one (errors.retry.timeout). They go before new polls.
    let mut held: VecDeque<SourceRecord> = VecDeque::new();
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
                // An open transaction commits, so its records show.
                producer.end_batch(offsets, status, true).await?;
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
        let polled = if held.is_empty() {
            tokio::select! {
                biased;
                changed = control.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    continue;
                }
                polled = task.poll() => polled,
            }
        } else if control.has_changed().is_err() {
            // The handle is gone: nothing will resume the task.
            return Ok(());
        } else {
            Ok(Vec::new())
        };
        match polled {
            Ok(records) => {
                held.extend(records);
                while let Some(polled) = held.pop_front() {
                    let outgoing =
                        match convert::convert(&polled, chain, converters, errors, control).await {
                            Ok(outgoing) => outgoing,
                            Err(Halt::Interrupted) => {
                                // Taken up after a resume; after a stop it is
                                // polled again (its offset was never submitted).
                                held.push_front(polled);
                                break;
                            }
                            Err(Halt::Failed(error)) => {
                                let origin = convert::origin(&polled);
                                if !errors.tolerates() {
                                    return Err(SourceError::Record { origin, error });
                                }
                                // Sources have no dead letter queue: always logged.
                                errors.log_skipped(
                                    &error,
                                    &origin,
                                    || convert::content(&polled),
                                    false,
                                );
                                None
                            }
                        };
                    let seq = offsets.submit(polled.source_partition, polled.source_offset);
                    let Some(out) = outgoing else {
                        // Dropped by a transform or skipped (errors.tolerance=all):
                        // nothing to deliver, so the offset is done.
                        offsets.ack(seq);
                        continue;
                    };
                    created.ensure(&out.record.topic).await?;
                    status.add_topic(&out.record.topic);
                    if !send(producer, &out, seq, control).await? {
                        return Ok(());
                    }
                }
                // Exactly-once: the batch's transaction commits here.
                producer.end_batch(offsets, status, false).await?;
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

/// Enqueues one converted record. Returns `Ok(false)` when told to stop
/// while waiting for room in a full producer queue.
async fn send(
    producer: &TaskProducer,
    outgoing: &convert::Outgoing,
    seq: usize,
    control: &mut watch::Receiver<Control>,
) -> Result<bool, SourceError> {
    let (record, key, value): (&Record, _, _) = (&outgoing.record, &outgoing.key, &outgoing.value);
    let topic = record.topic.as_str();
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
