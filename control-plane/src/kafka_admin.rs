//! What the control plane itself asks of a tenant's Kafka cluster: sink
//! connectors' consumer-group offsets (read, alter, reset). Blocking rdkafka
//! calls run on the blocking pool.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum KafkaAdminError {
    #[error("Kafka cluster at {bootstrap}: {message}")]
    Kafka { bootstrap: String, message: String },
    #[error("consumer group {group} still has {members} active member(s)")]
    GroupActive { group: String, members: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Topics a sink connector consumes (its explicit `topics` list).
pub fn sink_topics(config: &BTreeMap<String, String>) -> Vec<String> {
    config
        .get("topics")
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The consumer group a sink connector commits to (as Kafka Connect names it).
pub fn sink_group(connector_id: &str) -> String {
    format!("connect-{connector_id}")
}

fn config(bootstrap: &str, props: &BTreeMap<String, String>, group: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    for (k, v) in props {
        c.set(k, v);
    }
    c
}

fn err(bootstrap: &str, e: impl std::fmt::Display) -> KafkaAdminError {
    KafkaAdminError::Kafka {
        bootstrap: bootstrap.to_string(),
        message: e.to_string(),
    }
}

async fn blocking<T: Send + 'static>(
    bootstrap: &str,
    f: impl FnOnce() -> Result<T, KafkaAdminError> + Send + 'static,
) -> Result<T, KafkaAdminError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| err(bootstrap, e))?
}

/// Committed offsets of `group` for every partition of `topics`.
pub async fn committed_offsets(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
    topics: &[String],
) -> Result<Vec<SinkOffset>, KafkaAdminError> {
    let (b, props, group, topics) = (
        bootstrap.to_string(),
        props.clone(),
        group.to_string(),
        topics.to_vec(),
    );
    blocking(bootstrap, move || {
        let consumer: BaseConsumer = config(&b, &props, &group)
            .create()
            .map_err(|e| err(&b, e))?;
        let mut tpl = TopicPartitionList::new();
        for topic in &topics {
            let md = consumer
                .fetch_metadata(Some(topic), TIMEOUT)
                .map_err(|e| err(&b, e))?;
            for t in md.topics().iter().filter(|t| t.error().is_none()) {
                for p in t.partitions() {
                    tpl.add_partition(topic, p.id());
                }
            }
        }
        let committed = consumer
            .committed_offsets(tpl, TIMEOUT)
            .map_err(|e| err(&b, e))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(SinkOffset {
                    topic: e.topic().to_string(),
                    partition: e.partition(),
                    offset: o,
                }),
                _ => None,
            })
            .collect())
    })
    .await
}

/// Fails unless the group has no active members (its tasks have stopped).
pub async fn ensure_group_idle(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
) -> Result<(), KafkaAdminError> {
    let (b, props, group) = (bootstrap.to_string(), props.clone(), group.to_string());
    blocking(bootstrap, move || {
        let consumer: BaseConsumer = config(&b, &props, &format!("{group}-admin"))
            .create()
            .map_err(|e| err(&b, e))?;
        let groups = consumer
            .fetch_group_list(Some(&group), TIMEOUT)
            .map_err(|e| err(&b, e))?;
        let members = groups.groups().iter().map(|g| g.members().len()).sum();
        if members > 0 {
            return Err(KafkaAdminError::GroupActive { group, members });
        }
        Ok(())
    })
    .await
}

/// Commits the given offsets for `group` (which must be idle).
pub async fn alter_offsets(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
    offsets: &[SinkOffset],
) -> Result<(), KafkaAdminError> {
    let (b, props, group, offsets) = (
        bootstrap.to_string(),
        props.clone(),
        group.to_string(),
        offsets.to_vec(),
    );
    blocking(bootstrap, move || {
        let consumer: BaseConsumer = config(&b, &props, &group)
            .create()
            .map_err(|e| err(&b, e))?;
        let mut tpl = TopicPartitionList::new();
        for o in &offsets {
            tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.offset))
                .map_err(|e| err(&b, e))?;
        }
        consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| err(&b, e))
    })
    .await
}

/// Forgets every committed offset of `group` (the next consumer starts per
/// `auto.offset.reset`, as a new connector would).
pub async fn reset_offsets(
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    group: &str,
) -> Result<(), KafkaAdminError> {
    let admin: AdminClient<DefaultClientContext> = config(bootstrap, props, group)
        .create()
        .map_err(|e| err(bootstrap, e))?;
    let results = admin
        .delete_groups(
            &[group],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .map_err(|e| err(bootstrap, e))?;
    for r in results {
        match r {
            Ok(_) => {}
            // A group that never committed does not exist: nothing to reset.
            Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((g, code)) => return Err(err(bootstrap, format!("deleting group {g}: {code}"))),
        }
    }
    Ok(())
}
