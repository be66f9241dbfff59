//! Kafka clients for tasks: librdkafka settings, missing-topic creation, and
//! the producer context that counts acknowledged records.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;
use rdkafka::{ClientConfig, ClientContext};

use super::task::TaskStatus;
use crate::connectors::Config;
use crate::protocol::KafkaConnection;

/// Kafka Connect's topic-creation keys (KIP-158), with our defaults.
pub const TOPIC_PARTITIONS: &str = "topic.creation.default.partitions";
pub const TOPIC_REPLICATION: &str = "topic.creation.default.replication.factor";
const DEFAULT_PARTITIONS: i32 = 1;
const DEFAULT_REPLICATION: i32 = 1;
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Producer settings a connector may tune through `producer.override.*`, as
/// Confluent Cloud allows; anything else (bootstrap, security, idempotence)
/// stays under the runtime's control.
const PRODUCER_OVERRIDES: &[&str] = &["linger.ms", "batch.size", "compression.type"];

#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    #[error("invalid {key} {value:?}: expected a positive integer")]
    BadTopicSetting { key: &'static str, value: String },
    #[error("cannot create the Kafka {what}: {source}")]
    Client {
        what: &'static str,
        #[source]
        source: KafkaError,
    },
    #[error("reading metadata of topic {topic} failed: {source}")]
    Metadata {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("checking topics did not complete: {0}")]
    Interrupted(String),
    #[error("creating topic {topic} failed: {code}")]
    CreateTopic {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("creating topics {topics:?} failed: {source}")]
    CreateTopics {
        topics: Vec<String>,
        #[source]
        source: KafkaError,
    },
    #[error("creating topics {0:?} timed out after {ADMIN_TIMEOUT:?}")]
    Timeout(Vec<String>),
}

/// Bootstrap servers plus the cluster's client properties (credentials …).
pub fn client_config(kafka: &KafkaConnection, client_id: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("client.id", client_id);
    for (k, v) in &kafka.properties {
        cfg.set(k, v);
    }
    cfg
}

/// The source producer: idempotent with `acks=all` (at-least-once without
/// reordering on retries), batching briefly for throughput, and the Java
/// client's murmur2 partitioner so keys land where Java producers put them.
pub fn producer_config(
    kafka: &KafkaConnection,
    task_config: &Config,
    client_id: &str,
) -> ClientConfig {
    let mut cfg = client_config(kafka, client_id);
    cfg.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("partitioner", "murmur2_random");
    for key in PRODUCER_OVERRIDES {
        if let Some(v) = task_config.get(&format!("producer.override.{key}")) {
            cfg.set(*key, v.trim());
        }
    }
    cfg
}

/// The exactly-once source producer: [`producer_config`] plus a
/// `transactional.id` that stays the same across restarts of the task, so
/// a new instance's `init_transactions` fences the old one.
pub fn transactional_producer_config(
    kafka: &KafkaConnection,
    task_config: &Config,
    client_id: &str,
    transactional_id: &str,
) -> ClientConfig {
    let mut cfg = producer_config(kafka, task_config, client_id);
    cfg.set("transactional.id", transactional_id)
        // The broker aborts a transaction whose producer died after this
        // long, so a crashed task never holds consumers back for longer.
        .set("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS);
    cfg
}

/// `transaction.timeout.ms` of exactly-once source producers.
pub const TRANSACTION_TIMEOUT_MS: &str = "60000";

/// Creates the topics that do not exist yet; existing ones are left alone.
pub async fn ensure_topics(
    kafka: &KafkaConnection,
    task_config: &Config,
    topics: &[String],
    client_id: &str,
) -> Result<(), KafkaSetupError> {
    if topics.is_empty() {
        return Ok(());
    }
    let partitions = topic_setting(task_config, TOPIC_PARTITIONS, DEFAULT_PARTITIONS)?;
    let replication = topic_setting(task_config, TOPIC_REPLICATION, DEFAULT_REPLICATION)?;
    create_missing(kafka, topics, partitions, replication, &[], client_id).await
}

/// Creates the exactly-once offsets topic if missing: one partition (every
/// key's history in order, read in one pass) and compacted, as Kafka
/// Connect's offsets topics are, with the task's replication factor.
pub async fn ensure_offsets_topic(
    kafka: &KafkaConnection,
    task_config: &Config,
    topic: &str,
    client_id: &str,
) -> Result<(), KafkaSetupError> {
    let replication = topic_setting(task_config, TOPIC_REPLICATION, DEFAULT_REPLICATION)?;
    create_missing(
        kafka,
        &[topic.to_string()],
        1,
        replication,
        &[("cleanup.policy", "compact")],
        client_id,
    )
    .await
}

async fn create_missing(
    kafka: &KafkaConnection,
    topics: &[String],
    partitions: i32,
    replication: i32,
    topic_configs: &[(&str, &str)],
    client_id: &str,
) -> Result<(), KafkaSetupError> {
    let mut cfg = client_config(kafka, client_id);
    // Asking for a topic's metadata must not create it with broker defaults.
    cfg.set("allow.auto.create.topics", "false");
    let admin: AdminClient<DefaultClientContext> =
        cfg.create().map_err(|source| KafkaSetupError::Client {
            what: "admin client",
            source,
        })?;

    // Look before creating: a principal allowed to write an existing topic
    // need not be allowed to create topics.
    let wanted = topics.to_vec();
    let (admin, missing) = tokio::task::spawn_blocking(move || {
        let missing = missing_topics(&admin, &wanted);
        (admin, missing)
    })
    .await
    .map_err(|e| KafkaSetupError::Interrupted(e.to_string()))?;
    let missing = missing?;
    if missing.is_empty() {
        return Ok(());
    }

    let new_topics: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| {
            topic_configs.iter().fold(
                NewTopic::new(t, partitions, TopicReplication::Fixed(replication)),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(ADMIN_TIMEOUT));
    let results = tokio::time::timeout(ADMIN_TIMEOUT, admin.create_topics(&new_topics, &opts))
        .await
        .map_err(|_| KafkaSetupError::Timeout(missing.clone()))?
        .map_err(|source| KafkaSetupError::CreateTopics {
            topics: missing.clone(),
            source,
        })?;
    for result in results {
        match result {
            Ok(topic) => tracing::info!(topic, partitions, replication, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(KafkaSetupError::CreateTopic { topic, code }),
        }
    }
    Ok(())
}

/// The topics the cluster does not know (blocking: metadata round trips).
fn missing_topics(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[String],
) -> Result<Vec<String>, KafkaSetupError> {
    let mut missing = Vec::new();
    for topic in topics {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(topic), METADATA_TIMEOUT)
            .map_err(|source| KafkaSetupError::Metadata {
                topic: topic.clone(),
                source,
            })?;
        let exists = metadata
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none());
        if !exists {
            missing.push(topic.clone());
        }
    }
    Ok(missing)
}

fn topic_setting(config: &Config, key: &'static str, default: i32) -> Result<i32, KafkaSetupError> {
    match config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse::<i32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            KafkaSetupError::BadTopicSetting {
                key,
                value: v.to_string(),
            }
        }),
    }
}

/// Producer context: counts a record only once Kafka has acknowledged it,
/// and keeps the first delivery failure for the task loop to act on.
///
/// A transactional producer's acks prove nothing until the transaction
/// commits, and its failures surface from the transaction calls (a failed
/// delivery fails the commit; fencing fails everything): so in
/// transactional mode the tracker only logs, and the transaction counts.
pub struct DeliveryTracker {
    status: Arc<TaskStatus>,
    offsets: Arc<super::offsets::OffsetTracker>,
    failure: Mutex<Option<String>>,
    transactional: bool,
    /// Carried into librdkafka's own log lines, which run on its threads
    /// outside the task's span.
    label: String,
}

impl DeliveryTracker {
    pub fn new(
        status: Arc<TaskStatus>,
        offsets: Arc<super::offsets::OffsetTracker>,
        label: String,
    ) -> DeliveryTracker {
        DeliveryTracker {
            status,
            offsets,
            failure: Mutex::new(None),
            transactional: false,
            label,
        }
    }

    /// The context of a transactional producer (see the type's docs).
    pub fn transactional(mut self) -> DeliveryTracker {
        self.transactional = true;
        self
    }

    /// The first delivery failure since the last call, if any.
    pub fn take_failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

impl DeliveryTracker {
    fn record_failure(&self, failure: String) {
        let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(failure);
        }
    }
}

impl ClientContext for DeliveryTracker {
    fn error(&self, error: KafkaError, reason: &str) {
        // Most errors here are transient (a broker went away) and librdkafka
        // retries them; a fatal one (e.g. the idempotent producer was fenced)
        // leaves the producer unusable, so the task must fail.
        if matches!(error, KafkaError::Global(RDKafkaErrorCode::Fatal)) {
            if self.transactional {
                // Usually a newer instance fenced this one; the transaction
                // calls report it and the task decides what it means.
                tracing::warn!(task = %self.label, %error, "librdkafka: {reason}");
            } else {
                tracing::error!(task = %self.label, %error, "librdkafka: {reason}");
                self.record_failure(format!("fatal producer error: {reason}"));
            }
        } else {
            tracing::warn!(task = %self.label, %error, "librdkafka: {reason}");
        }
    }
}

impl ProducerContext for DeliveryTracker {
    /// The record's sequence number in the task's [`OffsetTracker`](super::offsets::OffsetTracker).
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        if self.transactional {
            return;
        }
        match result {
            Ok(_) => {
                self.status.add_records(1);
                self.offsets.ack(seq);
            }
            Err((error, _)) => self.record_failure(format!("delivery failed: {error}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn kafka() -> KafkaConnection {
        KafkaConnection {
            bootstrap_servers: "127.0.0.1:9092".into(),
            properties: BTreeMap::from([("security.protocol".into(), "SASL_SSL".into())]),
        }
    }

    #[test]
    fn producer_is_idempotent_and_overrides_are_limited() {
        let task: Config = BTreeMap::from([
            ("producer.override.linger.ms".to_string(), "50".to_string()),
            (
                "producer.override.bootstrap.servers".to_string(),
                "evil:9092".to_string(),
            ),
            (
                "producer.override.enable.idempotence".to_string(),
                "false".to_string(),
            ),
        ]);
        let cfg = producer_config(&kafka(), &task, "c");
        assert_eq!(cfg.get("enable.idempotence"), Some("true"));
        assert_eq!(cfg.get("acks"), Some("all"));
        assert_eq!(cfg.get("linger.ms"), Some("50"));
        assert_eq!(cfg.get("bootstrap.servers"), Some("127.0.0.1:9092"));
        assert_eq!(cfg.get("security.protocol"), Some("SASL_SSL"));
    }

    #[test]
    fn the_transactional_producer_keeps_its_id() {
        let cfg = transactional_producer_config(&kafka(), &Config::new(), "c", "tributary-lcc-1-0");
        assert_eq!(cfg.get("transactional.id"), Some("tributary-lcc-1-0"));
        assert_eq!(cfg.get("enable.idempotence"), Some("true"));
        assert_eq!(cfg.get("acks"), Some("all"));
        assert_eq!(
            cfg.get("transaction.timeout.ms"),
            Some(TRANSACTION_TIMEOUT_MS)
        );
    }

    #[test]
    fn topic_settings_default_and_reject_nonsense() {
        let mut c = Config::new();
        assert_eq!(topic_setting(&c, TOPIC_PARTITIONS, 1).ok(), Some(1));
        c.insert(TOPIC_PARTITIONS.into(), "6".into());
        assert_eq!(topic_setting(&c, TOPIC_PARTITIONS, 1).ok(), Some(6));
        c.insert(TOPIC_PARTITIONS.into(), "0".into());
        assert!(topic_setting(&c, TOPIC_PARTITIONS, 1).is_err());
    }
}
