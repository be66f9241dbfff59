//! Section 3: end-to-end latency at a moderate fixed rate: a record produced → its
//! row visible in Postgres through a PostgresSink task, p50/p99; against a
//! minimal pipeline on the same machine (an rdkafka consumer inserting each
//! record as it arrives), measured by the same producer and the same poller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;
use serde_json::json;
use sqlx::postgres::PgPool;
use tributary_tests::{kafka_bootstrap, unique, unique_topic, ControlPlane};

use crate::report::Row;
use crate::sink::{Kind, Target};
use crate::source::create_topic;
use crate::util::{ms, percentile, Api};
use crate::Ctx;

const SECTION: &str = "3 latency";
const RATE: u64 = 200;
const SECONDS: u64 = 10;
const POLL: Duration = Duration::from_millis(2);

type Sent = Arc<Mutex<HashMap<i64, Instant>>>;

fn producer() -> anyhow::Result<ThreadedProducer<DefaultProducerContext>> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("acks", "all")
        .set("linger.ms", "0")
        .create()?)
}

fn send(p: &ThreadedProducer<DefaultProducerContext>, topic: &str, seq: i64) -> anyhow::Result<()> {
    let value = json!({"seq": seq, "pad": "x".repeat(100)}).to_string();
    let key = seq.to_string();
    p.send(BaseRecord::to(topic).key(&key).payload(&value))
        .map_err(|(e, _)| e)?;
    Ok(())
}

/// Sends seq 1..=RATE*SECONDS at RATE per second; records when each was sent.
fn paced(topic: String, sent: Sent) -> anyhow::Result<()> {
    let p = producer()?;
    let start = Instant::now();
    for seq in 1..=(RATE * SECONDS) as i64 {
        let due = start + Duration::from_micros(seq as u64 * 1_000_000 / RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        sent.lock().expect("sent").insert(seq, Instant::now());
        send(&p, &topic, seq)?;
    }
    p.flush(Duration::from_secs(30))?;
    Ok(())
}

/// Polls `table` for new seqs until all `expected` arrived; returns latencies in ms.
async fn observe(
    pool: &PgPool,
    table: &str,
    expected: i64,
    sent: &Sent,
) -> anyhow::Result<Vec<f64>> {
    let sql = format!("SELECT seq FROM \"{table}\" WHERE seq > $1 ORDER BY seq");
    let mut seen = 0i64;
    let mut max = 0i64;
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(SECONDS + 60);
    while seen < expected {
        let seqs: Vec<i64> = sqlx::query_scalar(&sql).bind(max).fetch_all(pool).await?;
        let now = Instant::now();
        for s in seqs {
            if let Some(t) = sent.lock().expect("sent").get(&s) {
                latencies.push(ms(now.duration_since(*t)));
            }
            seen += 1;
            max = max.max(s);
        }
        if Instant::now() > deadline {
            bail!("{seen} of {expected} rows arrived");
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(latencies)
}

/// Sends seq 0 and waits for its row: the pipeline is up and the table exists.
async fn warm_up(pool: &PgPool, table: &str, topic: &str) -> anyhow::Result<()> {
    let p = producer()?;
    send(&p, topic, 0)?;
    let sql = format!("SELECT count(*) FROM \"{table}\" WHERE seq = 0");
    let t0 = Instant::now();
    loop {
        if let Ok(1) = sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await {
            return Ok(());
        }
        if t0.elapsed() > Duration::from_secs(90) {
            bail!("the first record's row did not appear in 90 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn measure_pipeline(pool: &PgPool, table: &str, topic: &str) -> anyhow::Result<Vec<f64>> {
    warm_up(pool, table, topic).await?;
    let sent: Sent = Arc::default();
    let producing = {
        let (topic, sent) = (topic.to_string(), Arc::clone(&sent));
        tokio::task::spawn_blocking(move || paced(topic, sent))
    };
    let latencies = observe(pool, table, (RATE * SECONDS) as i64, &sent).await;
    producing.await??;
    latencies
}

/// The minimal pipeline: consume, INSERT each record as it comes (autocommit).
async fn reference_consumer(
    pool: PgPool,
    topic: String,
    fetch_wait_ms: Option<u64>,
) -> anyhow::Result<()> {
    let table = topic.clone();
    let mut cfg = ClientConfig::new();
    if let Some(ms) = fetch_wait_ms {
        cfg.set("fetch.wait.max.ms", ms.to_string());
    }
    let consumer: StreamConsumer = cfg
        .set("bootstrap.servers", kafka_bootstrap())
        .set("group.id", unique("bench-ref-sink"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[&topic])?;
    let sql = format!("INSERT INTO \"{table}\" (seq, pad) VALUES ($1, $2)");
    loop {
        let m = match consumer.recv().await {
            Ok(m) => m,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(payload) = m.payload() else { continue };
        let v: serde_json::Value = serde_json::from_slice(payload)?;
        sqlx::query(&sql)
            .bind(v["seq"].as_i64().context("seq")?)
            .bind(v["pad"].as_str().unwrap_or_default())
            .execute(&pool)
            .await?;
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let cp = ControlPlane::start(ctx.cp_options()).await?;
    let target = Target::create(Kind::Postgres).await?;
    let r = measure(&cp, &target).await;
    target.drop().await?;
    cp.stop().await?;
    r
}

async fn measure(cp: &ControlPlane, target: &Target) -> anyhow::Result<Vec<Row>> {
    let Target::Postgres { pool, .. } = target else {
        bail!("latency is measured on Postgres");
    };
    let api = Api::new(cp).await?;
    let mut rows = Vec::new();
    // librdkafka's defaults, then both consumers told not to wait long for
    // data (the broker's fetch long-poll holds a fetch up to fetch.wait.max.ms).
    for wait in [None, Some(10)] {
        // Tributary: a PostgresSink with the seq as primary key.
        let topic = unique_topic("bench_lat");
        create_topic(&topic).await?;
        let name = unique("bench-lat");
        let mut config = target.sink_config(&topic, Some("seq"));
        if let Some(ms) = wait {
            config["consumer.override.fetch.wait.max.ms"] = json!(ms.to_string());
        }
        api.create(&name, config).await?;
        let tributary = measure_pipeline(pool, &topic, &topic).await;
        api.delete(&name).await?;
        let tributary = tributary?;

        // Reference: the minimal consumer → INSERT pipeline.
        let ref_topic = unique_topic("bench_lat_ref");
        create_topic(&ref_topic).await?;
        sqlx::raw_sql(&format!(
            "CREATE TABLE \"{ref_topic}\" (seq BIGINT PRIMARY KEY, pad TEXT)"
        ))
        .execute(pool)
        .await?;
        let consumer = tokio::spawn(reference_consumer(pool.clone(), ref_topic.clone(), wait));
        let reference = measure_pipeline(pool, &ref_topic, &ref_topic).await;
        consumer.abort();
        let reference = reference?;

        let (setting, label) = match wait {
            None => (
                "consumer defaults".to_string(),
                "rdkafka consumer → 1-row INSERT per record",
            ),
            Some(ms) => (
                format!("fetch.wait.max.ms={ms}"),
                "the same, fetch.wait.max.ms alike",
            ),
        };
        rows.push(
            Row::new(
                SECTION,
                &format!("produce → row in Postgres, {setting}, p50"),
                percentile(&tributary, 50.0),
                "ms",
            )
            .vs(label, percentile(&reference, 50.0))
            .note(format!(
                "{RATE} records/s for {SECONDS} s, ~130-byte JSON; rows polled every {} ms{}",
                POLL.as_millis(),
                if wait.is_some() {
                    "; the sink via consumer.override.fetch.wait.max.ms"
                } else {
                    ""
                }
            )),
        );
        rows.push(
            Row::new(
                SECTION,
                &format!("produce → row in Postgres, {setting}, p99"),
                percentile(&tributary, 99.0),
                "ms",
            )
            .vs(label, percentile(&reference, 99.0)),
        );
    }
    Ok(rows)
}
