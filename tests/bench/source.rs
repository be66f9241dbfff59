//! Section 1: source throughput: one Datagen task (ORDERS, JSON, `max.interval=0`)
//! into the broker, against a plain rdkafka producer sending the same
//! records, pre-built, with the same producer settings, to the same broker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use tributary_data_plane::connectors::datagen::DatagenTask;
use tributary_data_plane::connectors::Config;
use tributary_data_plane::converters::{Converter, JsonConverter, StringConverter};
use tributary_data_plane::protocol::KafkaConnection;
use tributary_data_plane::runtime::kafka as dp_kafka;
use tributary_tests::{kafka_bootstrap, unique, unique_topic, ControlPlane};

use crate::report::Row;
use crate::util::{self, Api, Watermarks};
use crate::Ctx;

const SECTION: &str = "1 source";

/// A record as the Datagen task hands it to its producer.
#[derive(Clone)]
pub struct Prebuilt {
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Prebuilt {
    pub fn size(&self) -> usize {
        self.key.as_ref().map_or(0, Vec::len)
            + self.value.len()
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
    }
}

fn datagen_config(topic: &str) -> Config {
    [
        ("kafka.topic", topic),
        ("quickstart", "ORDERS"),
        ("max.interval", "0"),
        ("output.data.format", "JSON"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `n` ORDERS records exactly as the Datagen task would produce them
/// (same generator, same converters, same headers).
pub fn prebuild(topic: &str, n: usize) -> anyhow::Result<Vec<Prebuilt>> {
    let mut task = DatagenTask::new(&datagen_config(topic), 0)
        .map_err(|e| anyhow::anyhow!("datagen: {e:?}"))?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let r = task.next_record();
        let key = StringConverter.serialize(topic, r.key.as_ref())?;
        let value = JsonConverter
            .serialize(topic, r.value.as_ref())?
            .context("a Datagen record has a value")?;
        out.push(Prebuilt {
            key,
            value,
            headers: r.headers,
        });
    }
    Ok(out)
}

pub fn connection() -> KafkaConnection {
    KafkaConnection {
        bootstrap_servers: kafka_bootstrap(),
        properties: Default::default(),
    }
}

/// The producer a source task uses (idempotent, acks=all, lz4, linger 5 ms).
pub fn task_producer(client_id: &str) -> anyhow::Result<ThreadedProducer<DefaultProducerContext>> {
    Ok(dp_kafka::producer_config(&connection(), &Config::new(), client_id).create()?)
}

pub async fn create_topic(topic: &str) -> anyhow::Result<()> {
    dp_kafka::ensure_topics(
        &connection(),
        &Config::new(),
        &[topic.to_string()],
        &unique("bench-admin"),
    )
    .await?;
    Ok(())
}

/// Sends `records` (cycling) `n` times from a plain thread, as fast as the
/// producer's queue takes them, then flushes.
pub fn produce_all(
    producer: &ThreadedProducer<DefaultProducerContext>,
    topic: &str,
    records: &[Prebuilt],
    n: usize,
) -> anyhow::Result<()> {
    for i in 0..n {
        let r = &records[i % records.len()];
        let mut headers = OwnedHeaders::new_with_capacity(r.headers.len());
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v.as_str()),
            });
        }
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .payload(r.value.as_slice())
            .headers(headers);
        if let Some(k) = r.key.as_deref() {
            rec = rec.key(k);
        }
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => bail!("produce: {e}"),
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    Ok(())
}

/// High-watermark samples of `topic` every `every` until it reaches `target`.
pub fn sample_until(
    topic: &str,
    target: i64,
    every: Duration,
    timeout: Duration,
    stop: &AtomicBool,
) -> anyhow::Result<Vec<(Instant, i64)>> {
    let wm = Watermarks::new()?;
    let start = Instant::now();
    let mut samples: Vec<(Instant, i64)> = Vec::new();
    let mut changed = Instant::now();
    loop {
        let n = wm.high(topic);
        if samples.last().is_none_or(|(_, last)| *last != n) {
            changed = Instant::now();
        }
        samples.push((Instant::now(), n));
        // tansu's high watermark leaves out the records of the last batch
        // (it is the last batch's base offset + 1), so the very end may
        // never show: a still watermark past 90 % ends the run too.
        let settled = n as f64 >= 0.9 * target as f64 && changed.elapsed() > Duration::from_secs(1);
        if n >= target || settled || stop.load(Ordering::Relaxed) {
            return Ok(samples);
        }
        if start.elapsed() > timeout {
            bail!("{topic}: {n} of {target} records after {timeout:?}");
        }
        std::thread::sleep(every);
    }
}

/// Steady-state rate: records between the samples that first pass 10 % and
/// 90 % of `target`, over the time between them.
pub fn steady_rate(samples: &[(Instant, i64)], target: i64) -> anyhow::Result<f64> {
    let first = |frac: f64| {
        samples
            .iter()
            .find(|(_, n)| *n as f64 >= frac * target as f64)
            .copied()
    };
    let (Some((ta, na)), Some((tb, nb))) = (first(0.1), first(0.9)) else {
        bail!("too few samples to compute a rate");
    };
    let dt = tb.duration_since(ta).as_secs_f64();
    if dt <= 0.0 || nb <= na {
        bail!("too few samples to compute a rate");
    }
    Ok((nb - na) as f64 / dt)
}

pub use crate::util::cpu_seconds;

/// The broker process (tansu) listening for us, if it runs on this machine.
pub fn broker_pid() -> Option<String> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_str()?.to_string();
        pid.parse::<u32>().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let first = cmd.split(|b| *b == 0).next()?;
        first.ends_with(b"tansu").then_some(pid)
    })
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let n = ctx.source_records;
    let cp = ControlPlane::start(ctx.cp_options()).await?;
    let result = measure(ctx, &cp, n).await;
    cp.stop().await?;
    result
}

/// One producing run: steady rate, first-to-last time, CPU per 100k records
/// of the producing process and of the broker.
struct Run {
    rate: f64,
    total_s: f64,
    cpu: f64,
    broker_cpu: f64,
}

fn per_100k(a: Option<f64>, b: Option<f64>, records: i64) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) if records > 0 => (b - a) / records as f64 * 100_000.0,
        _ => f64::NAN,
    }
}

fn sampler(
    topic: &str,
    n: usize,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<Vec<(Instant, i64)>>> {
    let (topic, stop) = (topic.to_string(), Arc::clone(stop));
    tokio::task::spawn_blocking(move || {
        sample_until(
            &topic,
            n as i64,
            Duration::from_millis(25),
            Duration::from_secs(240),
            &stop,
        )
    })
}

fn first_to_last(samples: &[(Instant, i64)]) -> f64 {
    let last = samples.last().map_or(0, |(_, c)| *c);
    samples
        .iter()
        .find(|(_, c)| *c == last)
        .zip(samples.iter().find(|(_, c)| *c > 0))
        .map(|((t1, _), (t0, _))| t1.duration_since(*t0).as_secs_f64())
        .unwrap_or(f64::NAN)
}

/// Tributary: one unpaced Datagen task stopping after n records.
async fn datagen_run(
    ctx: &Ctx,
    api: &Api<'_>,
    n: usize,
    broker: Option<&str>,
    profile: bool,
) -> anyhow::Result<Run> {
    let topic = unique_topic("bench_src");
    let name = unique("bench-src");
    api.create(&name, util::datagen(&topic, 0, Some(n as u64)))
        .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampling = sampler(&topic, n, &stop);
    // CPU of the worker and the broker during the run.
    let (_, workers) = api
        .wait_running(
            &name,
            Instant::now(),
            Duration::from_millis(50),
            Duration::from_secs(60),
        )
        .await?;
    let worker_pid = util::worker_pids(&api.cp.url)
        .get(&workers[0])
        .map(|p| p.to_string());
    let cpu0 = (
        worker_pid.as_deref().and_then(cpu_seconds),
        broker.and_then(cpu_seconds),
    );
    let before = {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || Watermarks::new().map(|w| w.high(&topic))).await??
    };
    let perf = match (&ctx.profile_dir, &worker_pid, profile) {
        (Some(dir), Some(pid), true) => Some(crate::profile::start(dir, "source-datagen", pid)?),
        _ => None,
    };
    let samples = sampling.await??;
    let cpu1 = (
        worker_pid.as_deref().and_then(cpu_seconds),
        broker.and_then(cpu_seconds),
    );
    if let Some(p) = perf {
        p.finish()?;
    }
    api.delete(&name).await?;
    let during = samples.last().map_or(0, |(_, c)| *c) - before;
    Ok(Run {
        rate: steady_rate(&samples, n as i64)?,
        total_s: first_to_last(&samples),
        cpu: per_100k(cpu0.0, cpu1.0, during),
        broker_cpu: per_100k(cpu0.1, cpu1.1, during),
    })
}

/// Reference: the same records, pre-built, from a plain producer in this process.
async fn reference_run(
    records: &Arc<Vec<Prebuilt>>,
    n: usize,
    broker: Option<&str>,
) -> anyhow::Result<Run> {
    let topic = unique_topic("bench_src_ref");
    create_topic(&topic).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let sampling = sampler(&topic, n, &stop);
    let me = std::process::id().to_string();
    let cpu0 = (cpu_seconds(&me), broker.and_then(cpu_seconds));
    let produced = {
        let (topic, records) = (topic.clone(), Arc::clone(records));
        tokio::task::spawn_blocking(move || {
            let producer = task_producer("bench-reference")?;
            produce_all(&producer, &topic, &records, n)
        })
        .await?
    };
    if produced.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    let samples = sampling.await??;
    produced?;
    let cpu1 = (cpu_seconds(&me), broker.and_then(cpu_seconds));
    let total = samples.last().map_or(0, |(_, c)| *c);
    Ok(Run {
        rate: steady_rate(&samples, n as i64)?,
        total_s: first_to_last(&samples),
        cpu: per_100k(cpu0.0, cpu1.0, total),
        broker_cpu: per_100k(cpu0.1, cpu1.1, total),
    })
}

async fn measure(ctx: &Ctx, cp: &ControlPlane, n: usize) -> anyhow::Result<Vec<Row>> {
    let api = Api::new(cp).await?;
    let broker = broker_pid();
    let records = Arc::new(prebuild("bench_src", 10_000)?);
    let avg = records.iter().map(Prebuilt::size).sum::<usize>() as f64 / records.len() as f64;
    // Alternating rounds, the best of each kept: other work on a shared
    // machine only ever slows a run down.
    let mut trib: Vec<Run> = Vec::new();
    let mut refs: Vec<Run> = Vec::new();
    for round in 0..ctx.rounds {
        trib.push(datagen_run(ctx, &api, n, broker.as_deref(), round == 0).await?);
        refs.push(reference_run(&records, n, broker.as_deref()).await?);
    }
    let best = |runs: &[Run]| -> usize {
        (0..runs.len())
            .max_by(|a, b| runs[*a].rate.total_cmp(&runs[*b].rate))
            .unwrap_or(0)
    };
    let (t, r) = (&trib[best(&trib)], &refs[best(&refs)]);
    let all = |runs: &[Run]| {
        runs.iter()
            .map(|r| format!("{:.0}k", r.rate / 1000.0))
            .collect::<Vec<_>>()
            .join("/")
    };
    let ref_label = "rdkafka producer, same pre-built records and producer settings";
    let mut rows = vec![
        Row::new(SECTION, "Datagen ORDERS, 1 task → broker", t.rate, "rec/s")
            .vs(ref_label, r.rate)
            .note(format!(
                "best of {} rounds (Datagen {}, reference {} rec/s); {n} records each, rate between 10 % and 90 % of them; {:.1} s first to last record",
                ctx.rounds,
                all(&trib),
                all(&refs),
                t.total_s
            )),
        Row::new(
            SECTION,
            "same, payload bytes (key + value + headers)",
            t.rate * avg / 1e6,
            "MB/s",
        )
        .vs(ref_label, r.rate * avg / 1e6)
        .note(format!("{avg:.0} bytes per record on average, before lz4")),
    ];
    if t.cpu.is_finite() && r.cpu.is_finite() {
        rows.push(
            Row::new(
                SECTION,
                "CPU of the producing process per 100k records",
                t.cpu,
                "CPU s",
            )
            .vs("the reference producer (this process)", r.cpu)
            .note("utime + stime from /proc/<pid>/stat, in the best rounds"),
        );
    }
    if t.broker_cpu.is_finite() && r.broker_cpu.is_finite() {
        rows.push(
            Row::new(
                SECTION,
                "broker (tansu) CPU per 100k records",
                t.broker_cpu,
                "CPU s",
            )
            .vs("broker CPU during the reference run", r.broker_cpu)
            .note("the broker shares the 2 cores with the producer"),
        );
    }
    Ok(rows)
}
