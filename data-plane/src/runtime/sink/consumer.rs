//! The sink's Kafka consumer: Kafka Connect's settings (group
//! `connect-<connector>`, cooperative-sticky assignment, manual commits,
//! earliest reset), a context that tracks rebalances, and commits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::connectors::sink_config::{SinkSettings, Subscription};
use crate::protocol::KafkaConnection;
use crate::runtime::kafka::client_config;

pub type SinkConsumer = StreamConsumer<SinkContext>;

/// Prefetch bound per task consumer (KiB).
const QUEUED_KBYTES: &str = "16384";
/// librdkafka refuses a poll interval below the session timeout.
const SESSION_TIMEOUT_MS: u64 = 45_000;

/// Consumer settings a connector may tune through `consumer.override.*`
/// beyond the ones [`SinkSettings`] reads; group, commits and security stay
/// under the runtime's control.
const CONSUMER_OVERRIDES: &[&str] = &["fetch.min.bytes", "fetch.wait.max.ms", "fetch.max.bytes"];

/// The consumer group of a sink connector, as Kafka Connect names it.
pub fn group_id(connector_id: &str) -> String {
    format!("connect-{connector_id}")
}

pub fn consumer_config(
    kafka: &KafkaConnection,
    settings: &SinkSettings,
    task_config: &BTreeMap<String, String>,
    connector_id: &str,
    client_id: &str,
) -> ClientConfig {
    let mut cfg = client_config(kafka, client_id);
    let poll_interval = settings.max_poll_interval_ms.max(1);
    cfg.set("group.id", group_id(connector_id))
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", &settings.auto_offset_reset)
        .set("max.poll.interval.ms", poll_interval.to_string())
        .set(
            "session.timeout.ms",
            SESSION_TIMEOUT_MS.min(poll_interval).to_string(),
        )
        // A topic that does not exist yet is waited for, not created; it is
        // noticed within seconds (librdkafka's default re-reads metadata
        // every 5 minutes, so a sink created before its source's topic
        // would sit idle that long).
        .set("allow.auto.create.topics", "false")
        .set("topic.metadata.refresh.interval.ms", "3000")
        // librdkafka prefetches up to 64 MiB per consumer by default; a
        // worker runs many tasks, so each prefetches less.
        .set("queued.max.messages.kbytes", QUEUED_KBYTES)
        .set_log_level(RDKafkaLogLevel::Warning);
    if let Some(level) = &settings.isolation_level {
        cfg.set("isolation.level", level);
    }
    for key in CONSUMER_OVERRIDES {
        if let Some(v) = task_config.get(&format!("consumer.override.{key}")) {
            cfg.set(*key, v.trim());
        }
    }
    cfg
}

/// What librdkafka reports through callbacks, for the sink loop to act on.
pub struct SinkContext {
    /// While paused, newly assigned partitions are paused on arrival.
    paused: AtomicBool,
    /// Partitions taken away since the loop last looked: their buffered,
    /// undelivered records are dropped (their next owner reads them again
    /// from the last committed offset).
    revoked: Mutex<Vec<(String, i32)>>,
    /// Carried into librdkafka's own log lines, which run on its threads
    /// outside the task's span.
    label: String,
}

impl SinkContext {
    pub fn new(label: String) -> SinkContext {
        SinkContext {
            paused: AtomicBool::new(false),
            revoked: Mutex::new(Vec::new()),
            label,
        }
    }

    pub fn take_revoked(&self) -> Vec<(String, i32)> {
        std::mem::take(&mut *self.revoked.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}

impl ClientContext for SinkContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(task = %self.label, %error, "librdkafka: {reason}");
    }
}

impl ConsumerContext for SinkContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let parts = partitions(tpl);
                tracing::info!(task = %self.label, partitions = ?parts, "partitions revoked");
                self.revoked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(parts);
            }
            Rebalance::Assign(tpl) => {
                tracing::info!(task = %self.label, partitions = ?partitions(tpl), "partitions assigned");
            }
            Rebalance::Error(e) => {
                tracing::warn!(task = %self.label, error = %e, "rebalance failed")
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            if self.paused.load(Ordering::SeqCst) && tpl.count() > 0 {
                if let Err(e) = consumer.pause(tpl) {
                    tracing::warn!(task = %self.label, error = %e, "pausing newly assigned partitions failed");
                }
            }
        }
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

pub fn subscribe(consumer: &SinkConsumer, subscription: &Subscription) -> Result<(), KafkaError> {
    match subscription {
        Subscription::Topics(topics) => {
            let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
            consumer.subscribe(&topics)
        }
        // librdkafka reads a subscription starting with ^ as a regex; the
        // anchors make it match whole names, as Java's Pattern.matches does
        // (a plain group: librdkafka's regex engine has no `(?:`).
        Subscription::Regex(regex) => {
            let anchored = format!(
                "^({})$",
                regex.trim_start_matches('^').trim_end_matches('$')
            );
            consumer.subscribe(&[&anchored])
        }
    }
}

/// Stops fetching from every assigned partition (and from partitions
/// assigned later, until [`resume`]).
pub fn pause(consumer: &SinkConsumer) -> Result<(), KafkaError> {
    consumer.context().set_paused(true);
    let assignment = consumer.assignment()?;
    if assignment.count() > 0 {
        consumer.pause(&assignment)?;
    }
    Ok(())
}

pub fn resume(consumer: &SinkConsumer) -> Result<(), KafkaError> {
    consumer.context().set_paused(false);
    let assignment = consumer.assignment()?;
    if assignment.count() > 0 {
        consumer.resume(&assignment)?;
    }
    Ok(())
}

/// Pauses one partition (a record arrived for it while paused).
pub fn pause_partition(
    consumer: &SinkConsumer,
    topic: &str,
    partition: i32,
) -> Result<(), KafkaError> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    consumer.pause(&tpl)
}

/// Commits `next` offsets (the offset after the last record handled, per
/// partition) synchronously, off the async threads.
pub async fn commit(
    consumer: &Arc<SinkConsumer>,
    next: &BTreeMap<(String, i32), i64>,
) -> Result<(), KafkaError> {
    if next.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in next {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    let consumer = Arc::clone(consumer);
    match tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync)).await {
        Ok(result) => result,
        Err(e) => {
            tracing::warn!(error = %e, "offset commit did not complete");
            Err(KafkaError::Canceled)
        }
    }
}

/// Leaves the group (handing partitions over at once rather than after a
/// session timeout) and closes the consumer, off the async threads.
pub async fn close(consumer: Arc<SinkConsumer>) {
    let closed = tokio::task::spawn_blocking(move || {
        consumer.unsubscribe();
        drop(consumer);
    })
    .await;
    if let Err(e) = closed {
        tracing::warn!(error = %e, "closing the consumer did not complete");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sink_config::SinkSettings;

    fn settings(pairs: &[(&str, &str)]) -> (SinkSettings, BTreeMap<String, String>) {
        let c: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (SinkSettings::parse(&c).unwrap(), c)
    }

    #[test]
    fn consumer_follows_kafka_connect() {
        let (s, c) = settings(&[("topics", "orders")]);
        let kafka = KafkaConnection {
            bootstrap_servers: "127.0.0.1:9092".into(),
            properties: BTreeMap::new(),
        };
        let cfg = consumer_config(&kafka, &s, &c, "lcc-abc", "connector-lcc-abc-0");
        assert_eq!(cfg.get("group.id"), Some("connect-lcc-abc"));
        assert_eq!(
            cfg.get("partition.assignment.strategy"),
            Some("cooperative-sticky")
        );
        assert_eq!(cfg.get("enable.auto.commit"), Some("false"));
        assert_eq!(cfg.get("auto.offset.reset"), Some("earliest"));
        assert_eq!(cfg.get("isolation.level"), None);
    }

    #[test]
    fn overrides_apply_but_not_to_the_group_or_commits() {
        let (s, c) = settings(&[
            ("topics", "orders"),
            ("consumer.override.auto.offset.reset", "latest"),
            ("consumer.override.isolation.level", "read_committed"),
            ("consumer.override.group.id", "evil"),
            ("consumer.override.enable.auto.commit", "true"),
            ("consumer.override.fetch.min.bytes", "1024"),
            ("max.poll.interval.ms", "10000"),
        ]);
        let kafka = KafkaConnection {
            bootstrap_servers: "b:9092".into(),
            properties: BTreeMap::new(),
        };
        let cfg = consumer_config(&kafka, &s, &c, "lcc-1", "c");
        assert_eq!(cfg.get("auto.offset.reset"), Some("latest"));
        assert_eq!(cfg.get("isolation.level"), Some("read_committed"));
        assert_eq!(cfg.get("group.id"), Some("connect-lcc-1"));
        assert_eq!(cfg.get("enable.auto.commit"), Some("false"));
        assert_eq!(cfg.get("fetch.min.bytes"), Some("1024"));
        assert_eq!(cfg.get("session.timeout.ms"), Some("10000"));
    }
}
