//! Exactly-once source delivery (KIP-618) with Kafka transactions, and the
//! producer every source task sends through.
//!
//! With `exactly.once.support` (or Confluent Cloud's `exactly.once.enabled`)
//! the task's producer is transactional, with a `transactional.id` derived
//! from the connector id and task number ([`transactional_id`]): stable
//! across restarts, so a new instance's `init_transactions` fences the old
//! one (a zombie on a worker that lost its lease) and aborts whatever it
//! left open. The records of a transaction and the source offsets they
//! reach go to Kafka in one transaction: the offsets to a compacted offsets
//! topic in Kafka Connect's format (key `["<connector name>",{partition}]`,
//! value the offset map), `_tributary-offsets` unless
//! `offsets.storage.topic` names another. A transaction spans one poll
//! batch (`transaction.boundary=poll`) or an interval (`interval`).
//!
//! Before that, a probe transaction (one record, aborted) shows whether the
//! cluster can end transactions at all: tansu 0.6 grants producer ids and
//! takes records into transactions but has no EndTxn, so it can neither
//! commit nor abort one. Then `required` fails the task with a clear
//! message and `requested` falls back to at-least-once with a warning.
//!
//! On start the task reads its committed offsets back from that topic
//! (read_committed, to its end); they win over the control plane's copy,
//! which the task still updates after every commit so the API shows them.
//! A failed commit is aborted and the transaction's records are sent again
//! in a new one; a fenced producer means a newer instance owns the task,
//! which then stops quietly instead of failing.
//!
//! Limits: only the task's own id is fenced (Kafka Connect fences every
//! task id of the connector, which matters when `tasks.max` shrinks), and
//! the records of an open transaction are kept for a retry (bounded by
//! [`MAX_TRANSACTION_BYTES`], which ends an `interval` transaction early).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

use super::kafka::{self, DeliveryTracker, KafkaSetupError};
use super::offsets::OffsetTracker;
use super::task::TaskStatus;
use crate::connectors::source_config::{Boundary, ExactlyOnce, Support};
use crate::connectors::FieldError;
use crate::protocol::{KafkaConnection, SourceOffset, TaskAssignment, TaskId};

pub type TaskProducer = ThreadedProducer<DeliveryTracker>;
/// A record as source tasks send it (the delivery opaque is its sequence
/// number in the [`OffsetTracker`]).
pub type OutRecord<'a> = BaseRecord<'a, [u8], [u8], usize>;

const INIT_TIMEOUT: Duration = Duration::from_secs(30);
/// For aborts.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// One commit call. Short, because a commit resumes where a timed-out call
/// left off, and because librdkafka's commit waits out its timeout flushing
/// records it holds back once the transaction failed during the flush; the
/// next call then reports that failure and the transaction is retried.
const COMMIT_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts at committing one transaction before the task fails.
const MAX_COMMIT_ATTEMPTS: u32 = 5;
const COMMIT_BACKOFF: Duration = Duration::from_millis(500);
/// An open transaction this large commits at the end of its batch whatever
/// the boundary, bounding the copies kept for a retry.
pub const MAX_TRANSACTION_BYTES: usize = 32 << 20;
/// Reading the offsets topic to its end may wait for other producers'
/// open transactions, which the broker aborts after their timeout at worst.
const READ_OFFSETS_TIMEOUT: Duration = Duration::from_secs(120);
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(5);
/// Delivery opaque of offset records (not tracked: the transaction is).
const OFFSET_RECORD: usize = usize::MAX;

#[derive(Debug, thiserror::Error)]
pub enum TransactionError {
    #[error("{0}")]
    Config(FieldError),
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("exactly.once.support=required, but transactions are not available on the Kafka cluster: {0}")]
    Unavailable(KafkaError),
    #[error("producer fenced: a newer instance of this task owns transactional id {0}")]
    Fenced(String),
    #[error("committing the transaction failed after {attempts} attempt(s): {reason}")]
    Commit { attempts: u32, reason: String },
    #[error("{what} failed: {source}")]
    Kafka {
        what: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("reading the offsets topic {topic} failed: {reason}")]
    ReadOffsets { topic: String, reason: String },
}

/// The `transactional.id` of a task's producer: the same for every instance
/// of the task, different for every task.
pub fn transactional_id(id: &TaskId) -> String {
    format!("tributary-{}-{}", id.connector_id, id.task)
}

/// The key of a source partition's record in the offsets topic, as Kafka
/// Connect's `OffsetStorageWriter` writes it (JsonConverter, no schema).
pub fn offset_key(connector: &str, partition: &Value) -> Vec<u8> {
    serde_json::json!([connector, partition])
        .to_string()
        .into_bytes()
}

/// A record of the open transaction, kept to be sent again if the
/// transaction has to be aborted.
struct Sent {
    topic: String,
    partition: Option<i32>,
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    timestamp: Option<i64>,
    headers: Option<OwnedHeaders>,
    seq: usize,
}

impl Sent {
    fn of(r: &OutRecord<'_>) -> Sent {
        Sent {
            topic: r.topic.to_string(),
            partition: r.partition,
            key: r.key.map(<[u8]>::to_vec),
            payload: r.payload.map(<[u8]>::to_vec),
            timestamp: r.timestamp,
            headers: r.headers.clone(),
            seq: r.delivery_opaque,
        }
    }

    fn size(&self) -> usize {
        self.topic.len()
            + self.key.as_ref().map_or(0, Vec::len)
            + self.payload.as_ref().map_or(0, Vec::len)
    }

    fn record(&self) -> OutRecord<'_> {
        BaseRecord {
            topic: &self.topic,
            partition: self.partition,
            payload: self.payload.as_deref(),
            key: self.key.as_deref(),
            timestamp: self.timestamp,
            headers: self.headers.clone(),
            delivery_opaque: self.seq,
        }
    }
}

/// The open transaction.
#[derive(Default)]
struct TxnState {
    /// `begin_transaction` was called and neither commit nor abort since.
    open: bool,
    /// When the transaction's first record came (for `interval`).
    started: Option<Instant>,
    records: Vec<Sent>,
    bytes: usize,
    /// No record was sent since the end of the last batch: the transaction
    /// holds whole batches only and may commit.
    batch_done: bool,
}

struct Transactional {
    id: String,
    connector: String,
    offsets_topic: String,
    boundary: Boundary,
    state: Mutex<TxnState>,
}

impl Transactional {
    fn lock(&self) -> MutexGuard<'_, TxnState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A source task's producer: at-least-once (acks make offsets committable)
/// or transactional (commits do).
pub struct SourceProducer {
    producer: Arc<TaskProducer>,
    txn: Option<Transactional>,
}

/// Creates the task's producer and offset tracker, and the offsets the task
/// resumes from: under exactly-once, after fencing older instances, those
/// of the offsets topic over the control plane's.
pub async fn start(
    assignment: &TaskAssignment,
    status: &Arc<TaskStatus>,
    client_id: &str,
) -> Result<(SourceProducer, Arc<OffsetTracker>), TransactionError> {
    let Some(eos) = ExactlyOnce::parse(&assignment.config).map_err(TransactionError::Config)?
    else {
        return at_least_once(assignment, status, client_id);
    };
    kafka::ensure_offsets_topic(
        &assignment.kafka,
        &assignment.config,
        &eos.offsets_topic,
        client_id,
    )
    .await?;
    let id = transactional_id(&assignment.id);
    let offsets = Arc::new(OffsetTracker::transactional(&assignment.offsets));
    let tracker = DeliveryTracker::new(
        Arc::clone(status),
        Arc::clone(&offsets),
        client_id.to_string(),
    )
    .transactional();
    let producer: TaskProducer =
        kafka::transactional_producer_config(&assignment.kafka, &assignment.config, client_id, &id)
            .create_with_context(tracker)
            .map_err(|source| KafkaSetupError::Client {
                what: "transactional producer",
                source,
            })?;
    let producer = Arc::new(producer);
    let ready = match blocking(&producer, |p| p.init_transactions(INIT_TIMEOUT)).await {
        Ok(()) => probe(&producer, &eos.offsets_topic, &assignment.connector_name).await,
        Err(e) => Err(e),
    };
    if let Err(e) = ready {
        drop_off_thread(producer).await;
        return match eos.support {
            Support::Required => Err(TransactionError::Unavailable(e)),
            Support::Requested => {
                tracing::warn!(error = %e, "exactly.once.support=requested, but transactions are not available on the Kafka cluster; falling back to at-least-once delivery");
                at_least_once(assignment, status, client_id)
            }
        };
    }
    let stored = read_offsets(
        &assignment.kafka,
        &eos.offsets_topic,
        &assignment.connector_name,
        client_id,
    )
    .await?;
    offsets.restore(&stored);
    status.set_offsets(offsets.committed());
    tracing::info!(
        transactional_id = %id,
        offsets_topic = %eos.offsets_topic,
        restored = stored.len(),
        "exactly-once delivery: transactional producer ready"
    );
    let ExactlyOnce {
        boundary,
        offsets_topic,
        ..
    } = eos;
    Ok((
        SourceProducer {
            producer,
            txn: Some(Transactional {
                id,
                connector: assignment.connector_name.clone(),
                offsets_topic,
                boundary,
                state: Mutex::new(TxnState::default()),
            }),
        },
        offsets,
    ))
}

fn at_least_once(
    assignment: &TaskAssignment,
    status: &Arc<TaskStatus>,
    client_id: &str,
) -> Result<(SourceProducer, Arc<OffsetTracker>), TransactionError> {
    let offsets = Arc::new(OffsetTracker::new(&assignment.offsets));
    let tracker = DeliveryTracker::new(
        Arc::clone(status),
        Arc::clone(&offsets),
        client_id.to_string(),
    );
    let producer: TaskProducer =
        kafka::producer_config(&assignment.kafka, &assignment.config, client_id)
            .create_with_context(tracker)
            .map_err(|source| KafkaSetupError::Client {
                what: "producer",
                source,
            })?;
    Ok((
        SourceProducer {
            producer: Arc::new(producer),
            txn: None,
        },
        offsets,
    ))
}

impl SourceProducer {
    pub fn context(&self) -> &DeliveryTracker {
        self.producer.context()
    }

    /// Enqueues a record, opening a transaction first if none is open;
    /// fails as [`ThreadedProducer::send`] does.
    #[allow(clippy::result_large_err)] // the record comes back, as from ThreadedProducer::send
    pub fn send<'a>(&self, record: OutRecord<'a>) -> Result<(), (KafkaError, OutRecord<'a>)> {
        let Some(txn) = &self.txn else {
            return self.producer.send(record);
        };
        let mut state = txn.lock();
        if !state.open {
            if let Err(e) = self.producer.begin_transaction() {
                return Err((e, record));
            }
            state.open = true;
        }
        let sent = Sent::of(&record);
        match self.producer.send(record) {
            Ok(()) => {}
            // After a failed delivery the transaction refuses records until
            // it is aborted: the record is kept, the commit at the end of
            // the batch fails, and the retry sends it with the others.
            // (Any other refusal fails the task: committing the transaction
            // without the record would commit its offset.)
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::State), _)) if !self.fenced() => {
                tracing::debug!(
                    "record refused by a failed transaction; it goes out with the retry"
                );
            }
            Err(refused) => return Err(refused),
        }
        state.started.get_or_insert_with(Instant::now);
        state.bytes += sent.size();
        state.records.push(sent);
        state.batch_done = false;
        Ok(())
    }

    /// Ends a poll batch: commits the open transaction when its boundary is
    /// reached (every batch for `poll`), or at once with `force`.
    pub async fn end_batch(
        &self,
        offsets: &OffsetTracker,
        status: &TaskStatus,
        force: bool,
    ) -> Result<(), TransactionError> {
        let Some(txn) = &self.txn else {
            return Ok(());
        };
        let mut state = std::mem::take(&mut *txn.lock());
        state.batch_done = true;
        // Records dropped by transforms open no transaction, yet their
        // offsets must be committed too.
        if offsets.in_flight() > 0 {
            state.started.get_or_insert_with(Instant::now);
        }
        let due = state.started.is_some_and(|started| {
            force
                || state.bytes >= MAX_TRANSACTION_BYTES
                || match txn.boundary {
                    Boundary::Poll => true,
                    Boundary::Interval(every) => started.elapsed() >= every,
                }
        });
        let result = if due {
            self.commit(txn, &mut state, offsets, status).await
        } else {
            Ok(())
        };
        *txn.lock() = state;
        result
    }

    /// Writes the transaction's offsets and commits it. A commit that fails
    /// for a passing reason is tried again; one that cannot succeed any
    /// more (a record refused, the transaction in error) is aborted and the
    /// transaction's records go out again in a new one, up to
    /// [`MAX_COMMIT_ATTEMPTS`] in all.
    async fn commit(
        &self,
        txn: &Transactional,
        state: &mut TxnState,
        offsets: &OffsetTracker,
        status: &TaskStatus,
    ) -> Result<(), TransactionError> {
        let mut attempt = 0;
        let mut offsets_sent = false;
        loop {
            attempt += 1;
            let failure = match self
                .try_commit(txn, state, offsets, &mut offsets_sent)
                .await
            {
                Ok(()) => {
                    let records = state.records.len() as u64;
                    *state = TxnState {
                        batch_done: state.batch_done,
                        ..TxnState::default()
                    };
                    offsets.commit_batch();
                    status.add_records(records);
                    return Ok(());
                }
                Err(failure) => failure,
            };
            if self.fenced() {
                return Err(TransactionError::Fenced(txn.id.clone()));
            }
            if attempt >= MAX_COMMIT_ATTEMPTS {
                return Err(TransactionError::Commit {
                    attempts: attempt,
                    reason: failure.reason,
                });
            }
            if failure.retry_commit && offsets_sent {
                tracing::warn!(error = %failure.reason, attempt, "transaction commit failed; retrying it");
            } else {
                tracing::warn!(error = %failure.reason, attempt, "transaction failed; aborting it and sending its records again");
                if state.open {
                    blocking(&self.producer, |p| p.abort_transaction(COMMIT_TIMEOUT))
                        .await
                        .map_err(|e| self.classify(txn, "aborting a transaction", e))?;
                }
                state.open = false;
                offsets_sent = false;
            }
            tokio::time::sleep(COMMIT_BACKOFF * attempt).await;
        }
    }

    /// One attempt: (re)opens the transaction with its records if it was
    /// aborted, writes its offsets unless already written, commits.
    async fn try_commit(
        &self,
        txn: &Transactional,
        state: &mut TxnState,
        offsets: &OffsetTracker,
        offsets_sent: &mut bool,
    ) -> Result<(), Failure> {
        if !state.open {
            self.producer.begin_transaction()?;
            state.open = true;
            for sent in &state.records {
                self.resend(sent.record()).await?;
            }
        }
        if !*offsets_sent {
            for o in offsets.batch_offsets() {
                let key = offset_key(&txn.connector, &o.partition);
                let value = o.offset.to_string();
                let r = BaseRecord::with_opaque_to(txn.offsets_topic.as_str(), OFFSET_RECORD)
                    .key(key.as_slice())
                    .payload(value.as_bytes());
                self.resend(r).await?;
            }
            *offsets_sent = true;
        }
        let producer = Arc::clone(&self.producer);
        tokio::task::spawn_blocking(move || commit_transaction(&producer, COMMIT_CALL_TIMEOUT))
            .await
            .unwrap_or_else(|e| {
                Err(Failure {
                    reason: e.to_string(),
                    retry_commit: false,
                })
            })
    }

    /// Sends a record, waiting while the producer queue is full.
    async fn resend(&self, mut record: OutRecord<'_>) -> KafkaResult<()> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    fn classify(
        &self,
        txn: &Transactional,
        what: &'static str,
        source: KafkaError,
    ) -> TransactionError {
        if self.fenced() {
            TransactionError::Fenced(txn.id.clone())
        } else {
            TransactionError::Kafka { what, source }
        }
    }

    /// Whether a newer instance of the task fenced this producer.
    pub fn fenced(&self) -> bool {
        self.txn.is_some()
            && self
                .producer
                .client()
                .fatal_error()
                .is_some_and(|(code, _)| {
                    matches!(
                        code,
                        RDKafkaErrorCode::Fenced
                            | RDKafkaErrorCode::ProducerFenced
                            | RDKafkaErrorCode::InvalidProducerEpoch
                    )
                })
    }

    /// The fencing error, when [`fenced`](Self::fenced).
    pub fn fenced_error(&self) -> Option<TransactionError> {
        let txn = self.txn.as_ref()?;
        self.fenced()
            .then(|| TransactionError::Fenced(txn.id.clone()))
    }

    /// Ends the task's delivery: at-least-once, waits up to `timeout` for
    /// in-flight records; exactly-once, commits an open transaction that
    /// holds whole batches when the task stops cleanly (`clean`), and
    /// aborts it otherwise. The producer is dropped off the async threads.
    pub async fn close(
        self,
        offsets: &OffsetTracker,
        status: &TaskStatus,
        clean: bool,
        timeout: Duration,
    ) {
        if let Some(txn) = &self.txn {
            if !self.fenced() {
                let (open, batch_done) = {
                    let s = txn.lock();
                    (s.open, s.batch_done)
                };
                if clean && (batch_done || !open) {
                    if let Err(e) = self.end_batch(offsets, status, true).await {
                        tracing::warn!(error = %e, "committing the last transaction failed");
                    }
                } else if open {
                    if let Err(e) =
                        blocking(&self.producer, |p| p.abort_transaction(COMMIT_TIMEOUT)).await
                    {
                        tracing::warn!(error = %e, "aborting the open transaction failed");
                    }
                }
            }
        }
        let producer = self.producer;
        let flushed = tokio::task::spawn_blocking(move || {
            let result = producer.flush(timeout);
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
}

/// Makes sure the cluster can end a transaction: some brokers (tansu 0.6)
/// grant producer ids and take records into transactions but cannot commit
/// or abort them (no EndTxn). Aborts a transaction holding one record that
/// no offsets reader takes for an offset (its key is not a pair).
async fn probe(producer: &Arc<TaskProducer>, topic: &str, connector: &str) -> KafkaResult<()> {
    let key = serde_json::json!([connector]).to_string().into_bytes();
    let topic = topic.to_string();
    blocking(producer, move |p| {
        p.begin_transaction()?;
        p.send(OutRecord::with_opaque_to(&topic, OFFSET_RECORD).key(key.as_slice()))
            .map_err(|(e, _)| e)?;
        // Flushed first: a transaction that registered no partition ends
        // without asking the broker anything.
        p.flush(INIT_TIMEOUT)?;
        p.abort_transaction(INIT_TIMEOUT)
    })
    .await
}

/// Why an attempt at committing a transaction failed.
struct Failure {
    reason: String,
    /// Committing again may succeed (the transaction need not be aborted).
    retry_commit: bool,
}

impl From<KafkaError> for Failure {
    fn from(e: KafkaError) -> Failure {
        let retry_commit = matches!(&e, KafkaError::Transaction(te) if te.is_retriable() && !te.txn_requires_abort());
        Failure {
            reason: e.to_string(),
            retry_commit,
        }
    }
}

/// librdkafka's `rd_kafka_commit_transaction` (blocking). Called directly:
/// rust-rdkafka's `commit_transaction` first flushes with its own loop,
/// which waits up to the whole timeout for records the producer holds back
/// once the transaction has failed (and 100 ms per commit besides, polling
/// for delivery reports our producer thread already takes), while
/// librdkafka's commit fails such a transaction at once and otherwise waits
/// only for the outstanding deliveries.
fn commit_transaction(producer: &TaskProducer, timeout: Duration) -> Result<(), Failure> {
    use rdkafka::bindings as rd;
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: the handle is the live rd_kafka_t of `producer`, which we
    // borrow for the whole call (librdkafka's transactional calls are
    // thread-safe, and the producer's own thread serves its events). A
    // non-null error object is ours: its string is never null and lives
    // as long as the object, so it is copied out before the one destroy.
    unsafe {
        let error = rd::rd_kafka_commit_transaction(producer.client().native_ptr(), timeout_ms);
        if error.is_null() {
            return Ok(());
        }
        let reason = std::ffi::CStr::from_ptr(rd::rd_kafka_error_string(error))
            .to_string_lossy()
            .into_owned();
        let retry_commit = rd::rd_kafka_error_is_retriable(error) != 0
            && rd::rd_kafka_error_txn_requires_abort(error) == 0;
        rd::rd_kafka_error_destroy(error);
        Err(Failure {
            reason,
            retry_commit,
        })
    }
}

/// Runs a blocking producer call off the async threads.
async fn blocking<T: Send + 'static>(
    producer: &Arc<TaskProducer>,
    call: impl FnOnce(&TaskProducer) -> KafkaResult<T> + Send + 'static,
) -> KafkaResult<T> {
    let p = Arc::clone(producer);
    tokio::task::spawn_blocking(move || call(&p))
        .await
        .unwrap_or(Err(KafkaError::Canceled))
}

/// Drops a producer off the async threads (dropping may wait for librdkafka).
async fn drop_off_thread(producer: Arc<TaskProducer>) {
    let _ = tokio::task::spawn_blocking(move || drop(producer)).await;
}

/// Reads `connector`'s committed offsets from the offsets topic, to its
/// end: until the read_committed position reaches the end the topic had
/// when reading began (waiting for other producers' open transactions).
pub async fn read_offsets(
    kafka: &KafkaConnection,
    topic: &str,
    connector: &str,
    client_id: &str,
) -> Result<Vec<SourceOffset>, TransactionError> {
    let (kafka, t, c, id) = (
        kafka.clone(),
        topic.to_string(),
        connector.to_string(),
        client_id.to_string(),
    );
    tokio::task::spawn_blocking(move || read_offsets_blocking(&kafka, &t, &c, &id))
        .await
        .map_err(|e| TransactionError::ReadOffsets {
            topic: topic.to_string(),
            reason: e.to_string(),
        })?
        .map_err(|reason| TransactionError::ReadOffsets {
            topic: topic.to_string(),
            reason,
        })
}

fn read_offsets_blocking(
    kafka: &KafkaConnection,
    topic: &str,
    connector: &str,
    client_id: &str,
) -> Result<Vec<SourceOffset>, String> {
    let deadline = Instant::now() + READ_OFFSETS_TIMEOUT;
    let consumer_config = |isolation: &str| {
        let mut cfg = kafka::client_config(kafka, client_id);
        cfg.set("group.id", format!("{client_id}-offsets"))
            .set("enable.auto.commit", "false")
            .set("allow.auto.create.topics", "false")
            .set("isolation.level", isolation)
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", "100");
        cfg
    };
    // The end to reach: high watermarks, which a read_committed client
    // cannot see (its watermark queries answer the last stable offset).
    let probe: BaseConsumer = consumer_config("read_uncommitted")
        .create()
        .map_err(|e| format!("cannot create a consumer: {e}"))?;
    let metadata = probe
        .fetch_metadata(Some(topic), READ_OFFSETS_TIMEOUT)
        .map_err(|e| format!("metadata: {e}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err("the topic has no partitions (does it exist?)".into());
    }
    let mut ends = BTreeMap::new();
    for &p in &partitions {
        let (_, high) = probe
            .fetch_watermarks(topic, p, READ_OFFSETS_TIMEOUT)
            .map_err(|e| format!("end offset of partition {p}: {e}"))?;
        if high > 0 {
            ends.insert(p, high);
        }
    }
    drop(probe);
    let mut found: BTreeMap<String, Option<SourceOffset>> = BTreeMap::new();
    if ends.is_empty() {
        return Ok(Vec::new());
    }

    let consumer: BaseConsumer = consumer_config("read_committed")
        .create()
        .map_err(|e| format!("cannot create a consumer: {e}"))?;
    let mut tpl = TopicPartitionList::new();
    for &p in ends.keys() {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&tpl).map_err(|e| format!("assign: {e}"))?;
    while !ends.is_empty() {
        if Instant::now() >= deadline {
            return Err(format!(
                "did not reach the end of partitions {:?} within {READ_OFFSETS_TIMEOUT:?} (an open transaction holds them back?)",
                ends.keys().collect::<Vec<_>>()
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(msg)) => {
                if let Some((key, offset)) =
                    parse_offset_record(connector, msg.key(), msg.payload())
                {
                    found.insert(key, offset);
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                // At the end of what read_committed may read: done if that
                // is the end the topic had, else another producer's open
                // transaction holds the rest back for now.
                let (_, stable) = consumer
                    .fetch_watermarks(topic, p, READ_OFFSETS_TIMEOUT)
                    .map_err(|e| format!("stable offset of partition {p}: {e}"))?;
                if ends.get(&p).is_some_and(|end| stable >= *end) {
                    ends.remove(&p);
                }
            }
            Some(Err(e)) => return Err(e.to_string()),
        }
    }
    Ok(found.into_values().flatten().collect())
}

/// One record of the offsets topic: `connector`'s partition (as its JSON
/// text) and offset (`None`: a tombstone); `None` for other connectors'
/// records and for anything that is not in Kafka Connect's format.
fn parse_offset_record(
    connector: &str,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Option<(String, Option<SourceOffset>)> {
    let key: Value = serde_json::from_slice(key?).ok()?;
    let [name, partition] = key.as_array()?.as_slice() else {
        return None;
    };
    if name.as_str() != Some(connector) {
        return None;
    }
    let offset = match value {
        None => None,
        Some(v) => Some(serde_json::from_slice::<Value>(v).ok()?),
    };
    Some((
        partition.to_string(),
        offset.map(|offset| SourceOffset {
            partition: partition.clone(),
            offset,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_kafka_connects() {
        assert_eq!(
            offset_key("datagen-users", &json!({"task.id": 0})),
            br#"["datagen-users",{"task.id":0}]"#.to_vec()
        );
        assert_eq!(
            transactional_id(&TaskId {
                connector_id: "lcc-abc".into(),
                task: 2
            }),
            "tributary-lcc-abc-2"
        );
    }

    #[test]
    fn offset_records_of_other_connectors_and_junk_are_skipped() {
        let key = offset_key("mine", &json!({"task.id": 1}));
        let (partition, offset) =
            parse_offset_record("mine", Some(&key), Some(br#"{"current.iteration":7}"#)).unwrap();
        assert_eq!(partition, r#"{"task.id":1}"#);
        assert_eq!(
            offset,
            Some(SourceOffset {
                partition: json!({"task.id": 1}),
                offset: json!({"current.iteration": 7})
            })
        );
        assert_eq!(
            parse_offset_record("mine", Some(&key), None),
            Some((partition, None)),
            "a tombstone forgets the partition"
        );
        assert_eq!(parse_offset_record("other", Some(&key), Some(b"{}")), None);
        assert_eq!(
            parse_offset_record("mine", Some(b"not json"), Some(b"{}")),
            None
        );
        assert_eq!(
            parse_offset_record("mine", Some(br#"["mine"]"#), Some(b"{}")),
            None
        );
        assert_eq!(parse_offset_record("mine", None, Some(b"{}")), None);
    }
}
