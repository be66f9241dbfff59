//! Reading topics back with a real Kafka consumer.

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;

#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub partition: i32,
    pub offset: i64,
}

/// Reads at least `min` records of `topic` from the beginning, or fails after `timeout`.
pub async fn consume(
    bootstrap: &str,
    topic: &str,
    min: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Record>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", crate::unique("test-reader"))
        .set("auto.offset.reset", "earliest")
        // The topic may appear after we subscribe: notice it quickly.
        .set("topic.metadata.refresh.interval.ms", "500")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < min {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            anyhow::bail!(
                "read only {} of {min} records from {topic} in {timeout:?}",
                out.len()
            );
        }
        match tokio::time::timeout(left, consumer.recv()).await {
            Err(_) => continue,
            Ok(Err(e)) => {
                // Unknown topic/partition while the topic is being created is transient.
                tracing_free_log(&format!("consumer: {e}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Ok(m)) => out.push(Record {
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h.key.to_string(),
                                    h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                partition: m.partition(),
                offset: m.offset(),
            }),
        }
    }
    Ok(out)
}

fn tracing_free_log(msg: &str) {
    eprintln!("{msg}");
}

/// Sum of the high watermarks of a topic's partitions (records ever written).
pub fn high_watermark(bootstrap: &str, topic: &str) -> anyhow::Result<i64> {
    let consumer: rdkafka::consumer::BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", crate::unique("test-hwm"))
        .create()?;
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut total = 0;
    for t in md.topics() {
        for p in t.partitions() {
            let (_, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            total += high;
        }
    }
    Ok(total)
}
