//! Runs one sink task: consume → convert → transform → `put` (batched) →
//! `flush` → commit offsets. Offsets are committed only after the task has
//! flushed the records before them, so delivery is at-least-once; a batch
//! is collected only while the previous one is not being written, so at
//! most one batch is held beyond what librdkafka prefetches.
//!
//! * [`consumer`]: the Kafka consumer, its rebalance context and commits.
//! * [`convert`]: message → [`Record`](crate::record::Record) through converters and transforms.
//! * [`dlq`]: `errors.tolerance`, error logging and the dead letter queue.
//! * [`retry`]: retrying `put`/`flush` on retriable failures.
//!
//! Conversions and transforms run through the task's
//! [`RetryWithTolerance`](super::errors::RetryWithTolerance) operator
//! (`errors.retry.timeout`). A stop or pause that ends one of its retry
//! waits leaves the record unprocessed: it is held, with every message
//! consumed after it, and taken up again on resume; on stop it is simply
//! not committed, so it is read again after the restart.

pub mod consumer;
pub mod convert;
pub mod dlq;
pub mod retry;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tokio::sync::watch;
use tokio::time::Instant;

use self::consumer::SinkConsumer;
use self::convert::{Pipeline, RawRecord, RecordError, Stage as RecordStage};
use self::dlq::ErrorReporter;
use self::retry::{retry, Stage};
use super::errors::Halt;
use super::kafka::KafkaSetupError;
use super::task::{Control, TaskStatus};
use crate::connectors::sink_config::SinkSettings;
use crate::connectors::{ConnectorPlugin, ConnectorType, SinkTask};
use crate::converters::{registry, Converters};
use crate::protocol::{TaskAssignment, TaskState};
use crate::record::Record;
use crate::transforms::Chain;

/// How long a batch waits for more records after its first one.
pub const LINGER: Duration = Duration::from_millis(100);
/// Repeated consumer warnings (a missing topic …) are logged this often.
const WARN_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("invalid sink config: {0}")]
    Config(String),
    #[error("{0}")]
    Task(String),
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("cannot subscribe to {subscription}: {source}")]
    Subscribe {
        subscription: String,
        #[source]
        source: KafkaError,
    },
    #[error("consuming from Kafka failed: {0}")]
    Consume(#[source] KafkaError),
    #[error("Tolerance exceeded in error handler (errors.tolerance=none): record at topic {topic} partition {partition} offset {offset}: {error}")]
    Record {
        topic: String,
        partition: i32,
        offset: i64,
        error: RecordError,
    },
    #[error("{stage} failed for {records} records (first at {first}): {reason}")]
    Deliver {
        stage: &'static str,
        records: usize,
        first: String,
        reason: String,
    },
    #[error("sending to the dead letter queue {topic} failed: {reason}")]
    DeadLetter { topic: String, reason: String },
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
) -> Result<(), SinkError> {
    let config = &assignment.config;
    let client_id = format!(
        "connector-{}-{}",
        assignment.id.connector_id, assignment.id.task
    );
    let settings = SinkSettings::parse(config).map_err(|e| SinkError::Config(e.to_string()))?;
    let chain = Chain::from_config(config).map_err(|errors| {
        SinkError::Config(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let mut task = plugin
        .start_sink_task(config, assignment.id.task)
        .map_err(|e| SinkError::Task(e.to_string()))?;
    tokio::select! {
        opened = task.open() => opened.map_err(|e| SinkError::Task(e.to_string()))?,
        _ = stopped(&mut control) => return Ok(()),
    }

    let result = async {
        let reporter = tokio::select! {
            r = ErrorReporter::new(assignment, &settings, &client_id) => r?,
            _ = stopped(&mut control) => return Ok(()),
        };
        let connector_id = &assignment.id.connector_id;
        let consumer_config = consumer::consumer_config(
            &assignment.kafka,
            &settings,
            config,
            connector_id,
            &client_id,
        );
        let consumer: Arc<SinkConsumer> = Arc::new(
            consumer_config
                .create_with_context(consumer::SinkContext::new(client_id.clone()))
                .map_err(|source| KafkaSetupError::Client {
                    what: "consumer",
                    source,
                })?,
        );
        consumer::subscribe(&consumer, &settings.subscription).map_err(|source| {
            SinkError::Subscribe {
                subscription: format!("{:?}", settings.subscription),
                source,
            }
        })?;
        tracing::info!(
            group = %consumer::group_id(connector_id),
            subscription = ?settings.subscription,
            "sink task started"
        );
        let mut runner = Runner {
            settings: &settings,
            pipeline: Pipeline {
                converters: Converters::from_config(
                    config,
                    ConnectorType::Sink,
                    registry::for_environment(&assignment.environment_id),
                )
                .map_err(|e| SinkError::Config(e.to_string()))?,
                chain,
            },
            task: task.as_mut(),
            class_name: plugin.class(),
            consumer: Arc::clone(&consumer),
            reporter,
            status,
            control: &mut control,
            last_warning: None,
            held: VecDeque::new(),
        };
        let result = runner.consume_loop().await;
        let reporter = runner.reporter;
        reporter.close().await;
        consumer::close(consumer).await;
        result
    }
    .await;
    task.close().await;
    result
}

/// Records consumed since the last commit.
#[derive(Default)]
struct Batch {
    /// What `put` gets (converted, transformed, not dropped by a filter),
    /// each with the message as read: its partition (a transform may have
    /// renamed the record's topic) and the bytes the dead letter queue
    /// forwards should `put` refuse the record.
    records: Vec<(RawRecord, Record)>,
    /// Per partition, the offset after the last record consumed (delivered,
    /// filtered or skipped alike): what the commit stores.
    next_offsets: BTreeMap<(String, i32), i64>,
    consumed: usize,
    started: Option<Instant>,
}

impl Batch {
    fn track(&mut self, raw: &RawRecord) {
        self.next_offsets
            .insert((raw.topic.clone(), raw.partition), raw.offset + 1);
        self.consumed += 1;
        self.started.get_or_insert_with(Instant::now);
    }

    /// Forgets records of partitions this task no longer owns.
    fn drop_partitions(&mut self, revoked: &[(String, i32)]) {
        if revoked.is_empty() {
            return;
        }
        self.records.retain(|(raw, _)| {
            !revoked
                .iter()
                .any(|(t, p)| *t == raw.topic && *p == raw.partition)
        });
        self.next_offsets.retain(|k, _| !revoked.contains(k));
        if self.next_offsets.is_empty() {
            *self = Batch::default();
        }
    }

    fn is_empty(&self) -> bool {
        self.next_offsets.is_empty()
    }
}

struct Runner<'a> {
    settings: &'a SinkSettings,
    pipeline: Pipeline,
    task: &'a mut dyn SinkTask,
    /// The plugin's class, named in errant-record reports.
    class_name: &'static str,
    consumer: Arc<SinkConsumer>,
    reporter: ErrorReporter,
    status: &'a TaskStatus,
    control: &'a mut watch::Receiver<Control>,
    last_warning: Option<Instant>,
    /// Messages not processed yet because a stop or pause ended a retry
    /// wait (the first one) or came after it, in consumption order.
    held: VecDeque<RawRecord>,
}

impl Runner<'_> {
    async fn consume_loop(&mut self) -> Result<(), SinkError> {
        let mut batch = Batch::default();
        loop {
            // Copied out so the channel's read lock is not held across an await.
            let desired = *self.control.borrow_and_update();
            match desired {
                Control::Stop => {
                    self.deliver(&mut batch).await?;
                    return Ok(());
                }
                Control::Pause => {
                    if !self.deliver(&mut batch).await? {
                        return Ok(());
                    }
                    if !self.while_paused(&mut batch).await? {
                        self.deliver(&mut batch).await?;
                        return Ok(());
                    }
                    continue;
                }
                Control::Run => self.status.set(TaskState::Running),
            }
            // Held messages go first, one per turn, so stop, pause and
            // full batches are noticed between them.
            if let Some(raw) = self.held.pop_front() {
                if self.control.has_changed().is_err() {
                    // The handle is gone: nothing will resume the task.
                    self.deliver(&mut batch).await?;
                    return Ok(());
                }
                let full = self.process(raw, &mut batch).await?
                    && batch.consumed >= self.settings.batch_size;
                if full && !self.deliver(&mut batch).await? {
                    return Ok(());
                }
                continue;
            }
            // A local handle: the message borrows it, not `self`.
            let consumer = Arc::clone(&self.consumer);
            let linger_until = batch
                .started
                .map_or_else(|| Instant::now() + WARN_EVERY, |t| t + LINGER);
            let full = tokio::select! {
                biased;
                changed = self.control.changed() => {
                    if changed.is_err() {
                        self.deliver(&mut batch).await?;
                        return Ok(());
                    }
                    continue;
                }
                msg = consumer.recv() => {
                    let raw = match msg {
                        Ok(msg) => Some(RawRecord::from_message(&msg)),
                        Err(e) => {
                            self.consume_error(e)?;
                            None
                        }
                    };
                    if let Some(raw) = raw {
                        self.accept(raw, &mut batch).await?;
                    }
                    self.drop_revoked(&mut batch);
                    batch.consumed >= self.settings.batch_size
                }
                _ = tokio::time::sleep_until(linger_until) => !batch.is_empty(),
            };
            if full && !self.deliver(&mut batch).await? {
                return Ok(());
            }
        }
    }

    /// Converts and transforms one message into the batch, unless earlier
    /// messages are held: then it waits behind them.
    async fn accept(&mut self, raw: RawRecord, batch: &mut Batch) -> Result<(), SinkError> {
        if self.held.is_empty() {
            self.process(raw, batch).await?;
        } else {
            self.held.push_back(raw);
        }
        Ok(())
    }

    /// Converts and transforms one message into the batch; a failure is
    /// tolerated (skipped) or fails the task, per `errors.tolerance`.
    /// Returns `false` when a stop or pause ended a retry wait: the message
    /// is held, untracked, so its offset is not committed.
    async fn process(&mut self, raw: RawRecord, batch: &mut Batch) -> Result<bool, SinkError> {
        let processed = self
            .pipeline
            .process(&raw, self.reporter.operator(), self.control)
            .await;
        match processed {
            Ok(Some(record)) => {
                batch.track(&raw);
                batch.records.push((raw, record));
            }
            Ok(None) => batch.track(&raw),
            Err(Halt::Failed(error)) => {
                self.reporter.report(&raw, &error).await?;
                batch.track(&raw);
            }
            Err(Halt::Interrupted) => {
                self.held.push_front(raw);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Forgets batched and held records of partitions this task no longer owns.
    fn drop_revoked(&mut self, batch: &mut Batch) {
        let revoked = self.consumer.context().take_revoked();
        if !revoked.is_empty() {
            self.held.retain(|raw| {
                !revoked
                    .iter()
                    .any(|(t, p)| *t == raw.topic && *p == raw.partition)
            });
        }
        batch.drop_partitions(&revoked);
    }

    /// Paused: no fetching, but the consumer is still polled so it keeps
    /// its group membership and serves rebalances. Returns `false` when
    /// told to stop.
    async fn while_paused(&mut self, batch: &mut Batch) -> Result<bool, SinkError> {
        consumer::pause(&self.consumer).map_err(SinkError::Consume)?;
        self.status.set(TaskState::Paused);
        tracing::info!("task paused");
        let consumer = Arc::clone(&self.consumer);
        let keep_running = loop {
            tokio::select! {
                biased;
                changed = self.control.changed() => {
                    if changed.is_err() {
                        break false;
                    }
                    match *self.control.borrow_and_update() {
                        Control::Pause => {}
                        Control::Run => break true,
                        Control::Stop => break false,
                    }
                }
                msg = consumer.recv() => {
                    // Fetched before the pause took hold: keep it for after.
                    let raw = match msg {
                        Ok(msg) => Some(RawRecord::from_message(&msg)),
                        Err(e) => {
                            self.consume_error(e)?;
                            None
                        }
                    };
                    if let Some(raw) = raw {
                        let paused =
                            consumer::pause_partition(&self.consumer, &raw.topic, raw.partition);
                        if let Err(e) = paused {
                            tracing::warn!(
                                error = %e, topic = %raw.topic, partition = raw.partition,
                                "pausing a partition failed"
                            );
                        }
                        self.accept(raw, batch).await?;
                    }
                    self.drop_revoked(batch);
                }
            }
        };
        consumer::resume(&self.consumer).map_err(SinkError::Consume)?;
        if keep_running {
            tracing::info!("task resumed");
        }
        Ok(keep_running)
    }

    /// `put` + `flush` the batch, then commit its offsets. Returns `false`
    /// when told to stop while retrying (nothing is committed then; the
    /// records are delivered again later).
    async fn deliver(&mut self, batch: &mut Batch) -> Result<bool, SinkError> {
        if batch.is_empty() {
            return Ok(true);
        }
        let (raws, records): (Vec<RawRecord>, Vec<Record>) =
            std::mem::take(&mut batch.records).into_iter().unzip();
        let count = records.len();
        let first = records.first().map(describe).unwrap_or_default();
        if !records.is_empty()
            && !retry(
                self.settings,
                self.control,
                &mut *self.task,
                Stage::Put(&records),
                &first,
            )
            .await?
        {
            return Ok(false);
        }
        if !retry(
            self.settings,
            self.control,
            &mut *self.task,
            Stage::Flush(count),
            &first,
        )
        .await?
        {
            return Ok(false);
        }
        // Records the destination refused for good: skipped or fatal, per
        // errors.tolerance, like records that failed conversion.
        for errant in self.task.take_errant_records() {
            let Some(raw) = raws.get(errant.index) else {
                tracing::warn!(
                    index = errant.index,
                    "the task reported an errant record it was not given"
                );
                continue;
            };
            let error = RecordError {
                stage: RecordStage::TaskPut,
                class_name: self.class_name.to_string(),
                exception: "org.apache.kafka.connect.errors.ConnectException",
                message: errant.reason,
                retries: 0,
            };
            self.reporter.report(raw, &error).await?;
        }
        self.reporter.flush().await?;
        match consumer::commit(&self.consumer, &batch.next_offsets).await {
            Ok(()) => {}
            // Already written: these records come again after a restart or
            // rebalance, which at-least-once allows.
            Err(e) => tracing::warn!(
                error = %e,
                "committing offsets failed; the records may be delivered again"
            ),
        }
        self.status.add_records(count as u64);
        *batch = Batch::default();
        Ok(true)
    }

    /// Most consumer errors are passing (a broker restarts, a topic is
    /// being created) and librdkafka recovers by itself; only errors that
    /// leave the consumer useless fail the task.
    fn consume_error(&mut self, e: KafkaError) -> Result<(), SinkError> {
        let code = e.rdkafka_error_code();
        if matches!(
            code,
            Some(
                RDKafkaErrorCode::Fatal
                    | RDKafkaErrorCode::GroupAuthorizationFailed
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::Authentication
            )
        ) {
            return Err(SinkError::Consume(e));
        }
        if code == Some(RDKafkaErrorCode::PartitionEOF) {
            return Ok(());
        }
        let now = Instant::now();
        if self.last_warning.is_none_or(|t| now >= t + WARN_EVERY) {
            self.last_warning = Some(now);
            tracing::warn!(error = %e, "consumer error; retrying");
        }
        Ok(())
    }
}

fn describe(r: &Record) -> String {
    format!(
        "topic {} partition {} offset {}",
        r.topic,
        r.kafka_partition.unwrap_or(-1),
        r.kafka_offset.unwrap_or(-1)
    )
}

/// Resolves once the task is told to stop (or its handle is gone).
async fn stopped(control: &mut watch::Receiver<Control>) {
    let _ = control.wait_for(|c| *c == Control::Stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(topic: &str, partition: i32, offset: i64) -> RawRecord {
        RawRecord {
            topic: topic.into(),
            partition,
            offset,
            timestamp: None,
            key: None,
            value: None,
            headers: Vec::new(),
        }
    }

    #[test]
    fn batches_commit_the_offset_after_the_last_record_of_each_partition() {
        let mut b = Batch::default();
        for (p, o) in [(0, 5), (1, 7), (0, 6)] {
            let r = raw("t", p, o);
            b.track(&r);
            // A transform renamed the topic; the source partition still counts.
            let mut rec = Record::new("renamed", None, None);
            rec.kafka_partition = Some(p);
            rec.kafka_offset = Some(o);
            b.records.push((r, rec));
        }
        assert_eq!(
            b.next_offsets,
            BTreeMap::from([(("t".to_string(), 0), 7), (("t".to_string(), 1), 8)])
        );
        b.drop_partitions(&[("t".to_string(), 0)]);
        assert_eq!(b.records.len(), 1);
        assert_eq!(b.next_offsets, BTreeMap::from([(("t".to_string(), 1), 8)]));
        b.drop_partitions(&[("t".to_string(), 1)]);
        assert!(b.is_empty() && b.started.is_none() && b.consumed == 0);
    }
}
