//! Section 5: provisioning (POST → RUNNING, with a worker up and from zero workers)
//! and failover (`kill -9` of a worker → its tasks RUNNING elsewhere), p50
//! and p99 over many runs, against the floor of what a task must do to start
//! (a producer, its topic, a first acknowledged record) and the worker lease.

use std::time::{Duration, Instant};

use anyhow::bail;
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions};

use crate::report::Row;
use crate::source::{create_topic, task_producer};
use crate::util::{self, first_record, ms, percentile, Api};
use crate::Ctx;

const SECTION: &str = "5 lifecycle";
const POLL: Duration = Duration::from_millis(20);

/// The floor of starting a source task, in-process: create its topic, a
/// producer with the task's settings, and get a first record acknowledged.
pub async fn task_start_floor() -> anyhow::Result<Duration> {
    let topic = unique_topic("bench_floor");
    let t0 = Instant::now();
    create_topic(&topic).await?;
    let producer = task_producer(&unique("bench-floor"))?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use rdkafka::producer::{BaseRecord, Producer};
        producer
            .send(BaseRecord::<'_, [u8], [u8]>::to(&topic).payload(b"x".as_slice()))
            .map_err(|(e, _)| e)?;
        producer.flush(Duration::from_secs(30))?;
        Ok(())
    })
    .await??;
    Ok(t0.elapsed())
}

async fn floor_p50(runs: usize) -> anyhow::Result<f64> {
    let mut v = Vec::new();
    for _ in 0..runs {
        v.push(ms(task_start_floor().await?));
    }
    Ok(percentile(&v, 50.0))
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let floor = floor_p50(5).await?;

    // Provisioning, with the product's default lease and heartbeat.
    let opts = ControlPlaneOptions {
        lease_ms: 10_000,
        heartbeat_ms: 2_000,
        scale_down_cooldown_ms: 1_000,
        ..ctx.cp_options()
    };
    let cp = ControlPlane::start(opts).await?;
    let r = provisioning(ctx, &cp, floor).await;
    cp.stop().await?;
    rows.extend(r?);

    // Failover: a short lease, so that ten runs fit in the time budget.
    let lease = 4_000;
    let opts = ControlPlaneOptions {
        lease_ms: lease,
        heartbeat_ms: 1_000,
        scale_down_cooldown_ms: 30_000,
        worker_capacity: 2,
        ..ctx.cp_options()
    };
    let cp = ControlPlane::start(opts).await?;
    let r = failover(ctx, &cp, lease).await;
    cp.stop().await?;
    rows.extend(r?);
    Ok(rows)
}

/// One provisioning run: POST → RUNNING and POST → first record, in ms.
async fn provision(api: &Api<'_>, prefix: &str) -> anyhow::Result<(f64, f64)> {
    let name = unique(prefix);
    let topic = unique_topic(prefix);
    let t0 = Instant::now();
    let first = {
        let topic = topic.clone();
        tokio::spawn(async move { first_record(&topic, t0).await })
    };
    // 100 records at once: the first poll produces, then the task idles.
    api.create(&name, util::datagen(&topic, 0, Some(100)))
        .await?;
    let (running, _) = api
        .wait_running(&name, t0, POLL, Duration::from_secs(60))
        .await?;
    let first = first.await??;
    api.delete(&name).await?;
    Ok((ms(running), ms(first)))
}

async fn provisioning(ctx: &Ctx, cp: &ControlPlane, floor: f64) -> anyhow::Result<Vec<Row>> {
    let api = Api::new(cp).await?;
    // From zero workers: the provider spawns one for the connector.
    let mut cold = Vec::new();
    for _ in 0..ctx.runs.max(10) {
        api.wait_workers(0, Duration::from_secs(60)).await?;
        cold.push(provision(&api, "bench_cold").await?);
    }
    // With a worker up (an anchor connector keeps it).
    let anchor = unique("bench-anchor");
    api.create(
        &anchor,
        util::datagen(&unique_topic("bench_anchor"), 1000, None),
    )
    .await?;
    api.wait_running(&anchor, Instant::now(), POLL, Duration::from_secs(60))
        .await?;
    let mut warm = Vec::new();
    for _ in 0..ctx.runs.max(10) {
        warm.push(provision(&api, "bench_warm").await?);
    }
    api.delete(&anchor).await?;
    let floor_label = "floor: new topic + producer + first ack, in-process (p50)";
    let mut rows = Vec::new();
    for (what, runs) in [("worker up", &warm), ("from 0 workers", &cold)] {
        let running: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let first: Vec<f64> = runs.iter().map(|r| r.1).collect();
        let spawn = if what == "from 0 workers" {
            "; includes spawning the worker"
        } else {
            ""
        };
        rows.push(
            Row::new(
                SECTION,
                &format!("provisioning POST → RUNNING, {what}, p50"),
                percentile(&running, 50.0),
                "ms",
            )
            .vs(floor_label, floor)
            .note(format!(
                "{} runs; status polled every {} ms; heartbeat 2 s, lease 10 s (defaults){spawn}",
                runs.len(),
                POLL.as_millis()
            )),
        );
        rows.push(
            Row::new(
                SECTION,
                &format!("provisioning POST → RUNNING, {what}, p99"),
                percentile(&running, 99.0),
                "ms",
            )
            .vs(floor_label, floor),
        );
        rows.push(
            Row::new(
                SECTION,
                &format!("provisioning POST → first record in the topic, {what}, p50"),
                percentile(&first, 50.0),
                "ms",
            )
            .vs(floor_label, floor)
            .note("high watermark polled every 5 ms"),
        );
        rows.push(
            Row::new(
                SECTION,
                &format!("provisioning POST → first record in the topic, {what}, p99"),
                percentile(&first, 99.0),
                "ms",
            )
            .vs(floor_label, floor),
        );
    }
    Ok(rows)
}

/// Connector → workers of its tasks, when every connector is RUNNING.
async fn placement(
    api: &Api<'_>,
    names: &[String],
) -> anyhow::Result<Option<Vec<(String, Vec<String>)>>> {
    let mut out = Vec::new();
    for n in names {
        match api.running_on(n).await {
            Ok(Some(w)) => out.push((n.clone(), w)),
            _ => return Ok(None),
        }
    }
    Ok(Some(out))
}

async fn failover(ctx: &Ctx, cp: &ControlPlane, lease_ms: u64) -> anyhow::Result<Vec<Row>> {
    let api = Api::new(cp).await?;
    let timeout = Duration::from_secs(60);
    // Four one-task connectors on workers of capacity 2: at least two workers.
    let names: Vec<String> = (0..4).map(|_| unique("bench-fo")).collect();
    for n in &names {
        api.create(n, util::datagen(&unique_topic("bench_fo"), 200, None))
            .await?;
    }
    let mut samples = Vec::new();
    let mut moved = 0usize;
    for _ in 0..ctx.runs.max(10) {
        // A stable start: everything RUNNING.
        let start = Instant::now();
        let before = loop {
            if let Some(p) = placement(&api, &names).await? {
                break p;
            }
            if start.elapsed() > timeout {
                bail!("connectors not all RUNNING before a failover run");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let victim = before[0].1[0].clone();
        let pids = util::worker_pids(&cp.url);
        let Some(pid) = pids.get(&victim) else {
            bail!("no process found for worker {victim} (have {pids:?})");
        };
        let affected: Vec<String> = before
            .iter()
            .filter(|(_, w)| w.contains(&victim))
            .map(|(n, _)| n.clone())
            .collect();
        // SAFETY: plain syscall on a worker process this run's control plane spawned.
        unsafe {
            libc::kill(*pid as libc::pid_t, libc::SIGKILL);
        }
        let t0 = Instant::now();
        'wait: loop {
            if t0.elapsed() > timeout {
                bail!("tasks of {victim} not RUNNING elsewhere after {timeout:?}");
            }
            tokio::time::sleep(POLL).await;
            for n in &affected {
                match api.running_on(n).await {
                    Ok(Some(w)) if !w.contains(&victim) => {}
                    _ => continue 'wait,
                }
            }
            break;
        }
        samples.push(ms(t0.elapsed()));
        moved += affected.len();
    }
    for n in &names {
        api.delete(n).await?;
    }
    let lease = lease_ms as f64;
    Ok(vec![
        Row::new(
            SECTION,
            "failover kill -9 worker → its tasks RUNNING elsewhere, p50",
            percentile(&samples, 50.0),
            "ms",
        )
        .vs("worker lease", lease)
        .note(format!(
            "{} runs, {moved} task moves; lease {} s, heartbeat 1 s",
            samples.len(),
            lease_ms / 1000
        )),
        Row::new(
            SECTION,
            "failover kill -9 worker → its tasks RUNNING elsewhere, p99",
            percentile(&samples, 99.0),
            "ms",
        )
        .vs("worker lease", lease),
    ])
}
