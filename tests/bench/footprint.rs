//! Section 6: worker footprint: resident memory idle and per running task, and cold
//! start (process spawned → first record in the topic), against a minimal
//! reference process (`bench ref-producer`: a tokio runtime plus rdkafka
//! producers with the task settings) measured the same way.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tributary_tests::{bin_dir, unique, unique_topic, ControlPlane};

use crate::report::Row;
use crate::source::{create_topic, task_producer};
use crate::util::{self, first_record, ms, percentile, rss_kib, Api};
use crate::Ctx;

const SECTION: &str = "6 footprint";
const TASK_COUNTS: &[usize] = &[1, 2, 4, 8];
const COLD_RUNS: usize = 5;
const SETTLE: Duration = Duration::from_millis(1500);

/// `bench ref-producer`: prints `ready`, then for every `add TOPIC` line
/// creates the topic and one more producer, gets one record acknowledged and
/// prints `ok`. Exits when stdin closes.
pub async fn reference_process(_args: &[String]) -> anyhow::Result<()> {
    let mut producers = Vec::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    println!("ready");
    while let Some(line) = lines.next_line().await? {
        let Some(topic) = line.strip_prefix("add ") else {
            continue;
        };
        let topic = topic.trim().to_string();
        create_topic(&topic).await?;
        let producer = task_producer(&unique("bench-ref"))?;
        let producer = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            use rdkafka::producer::{BaseRecord, Producer};
            producer
                .send(BaseRecord::<'_, [u8], [u8]>::to(&topic).payload(b"x".as_slice()))
                .map_err(|(e, _)| e)?;
            producer.flush(Duration::from_secs(30))?;
            Ok(producer)
        })
        .await??;
        producers.push(producer);
        println!("ok");
    }
    Ok(())
}

struct RefProc {
    child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl RefProc {
    fn spawn() -> anyhow::Result<RefProc> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("ref-producer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
        Ok(RefProc {
            child,
            stdin,
            stdout,
        })
    }

    async fn expect(&mut self, what: &str) -> anyhow::Result<()> {
        let line = tokio::time::timeout(Duration::from_secs(60), self.stdout.next_line())
            .await
            .context("reference process timed out")??;
        if line.as_deref() != Some(what) {
            bail!("reference process said {line:?}, not {what}");
        }
        Ok(())
    }

    async fn add(&mut self, topic: &str) -> anyhow::Result<()> {
        self.stdin
            .write_all(format!("add {topic}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        Ok(())
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    async fn stop(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// A worker process this section starts itself (the control plane runs
/// with the static provider, so it only assigns).
fn spawn_worker(cp: &ControlPlane, token: &str, id: &str) -> anyhow::Result<Child> {
    let log = std::fs::File::create(cp.log_dir.join(format!("worker-{id}.log")))?;
    let child = Command::new(bin_dir().join("data-plane"))
        .arg("worker")
        .env("TRIBUTARY_CONTROL_PLANE_URL", &cp.url)
        .env("TRIBUTARY_WORKER_ID", id)
        .env("TRIBUTARY_WORKER_TOKEN", token)
        .env("TRIBUTARY_WORKER_CAPACITY", "16")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("spawn data-plane worker")?;
    Ok(child)
}

async fn stop_worker(mut child: Child) {
    if let Some(pid) = child.id() {
        // SAFETY: plain syscall on our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let num: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    num / den
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let token = unique("tok");
    let mut opts = ctx.cp_options();
    opts.lease_ms = 3_000;
    opts.extra_env
        .push(("TRIBUTARY_PROVIDER".into(), "static".into()));
    opts.extra_env
        .push(("TRIBUTARY_WORKER_TOKEN".into(), token.clone()));
    let cp = ControlPlane::start(opts).await?;
    let result = measure(&cp, &token).await;
    cp.stop().await?;
    result
}

async fn measure(cp: &ControlPlane, token: &str) -> anyhow::Result<Vec<Row>> {
    let api = Api::new(cp).await?;
    let mut rows = Vec::new();

    // Resident memory: idle, then with 1, 2, 4, 8 Datagen tasks (10 records/s each).
    let worker = spawn_worker(cp, token, &unique("w-bench"))?;
    let pid = worker.id().context("worker pid")?;
    api.wait_workers(1, Duration::from_secs(30)).await?;
    tokio::time::sleep(SETTLE).await;
    let idle = rss_kib(pid).context("worker RSS")? as f64 / 1024.0;
    let mut names = Vec::new();
    let mut points = vec![(0.0, idle)];
    for &k in TASK_COUNTS {
        while names.len() < k {
            let name = unique("bench-rss");
            api.create(&name, util::datagen(&unique_topic("bench_rss"), 100, None))
                .await?;
            names.push(name);
        }
        for n in &names {
            api.wait_running(
                n,
                Instant::now(),
                Duration::from_millis(50),
                Duration::from_secs(60),
            )
            .await?;
        }
        tokio::time::sleep(SETTLE).await;
        points.push((
            k as f64,
            rss_kib(pid).context("worker RSS")? as f64 / 1024.0,
        ));
    }
    for n in &names {
        api.delete(n).await?;
    }
    stop_worker(worker).await;

    // The reference process: idle, then with 1, 2, 4, 8 producers.
    let mut rp = RefProc::spawn()?;
    rp.expect("ready").await?;
    tokio::time::sleep(SETTLE).await;
    let ref_idle = rss_kib(rp.pid()).context("reference RSS")? as f64 / 1024.0;
    let mut ref_points = vec![(0.0, ref_idle)];
    let mut added = 0;
    for &k in TASK_COUNTS {
        while added < k {
            rp.add(&unique_topic("bench_rss_ref")).await?;
            rp.expect("ok").await?;
            added += 1;
        }
        tokio::time::sleep(SETTLE).await;
        ref_points.push((
            k as f64,
            rss_kib(rp.pid()).context("reference RSS")? as f64 / 1024.0,
        ));
    }
    rp.stop().await;

    let per_task = slope(&points);
    let ref_per = slope(&ref_points);
    let fmt = |p: &[(f64, f64)]| {
        p.iter()
            .map(|(k, m)| format!("{k:.0}: {m:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    rows.push(
        Row::new(SECTION, "worker RSS, registered, no task", idle, "MiB")
            .vs("reference process RSS, no producer", ref_idle)
            .note("VmRSS after 1.5 s settled"),
    );
    rows.push(
        Row::new(SECTION, "worker RSS per running task", per_task, "MiB")
            .vs("reference RSS per producer", ref_per)
            .note(format!(
                "slope over tasks → MiB: worker {}; reference {}",
                fmt(&points),
                fmt(&ref_points)
            )),
    );

    // Cold start: worker process spawned → first record of an already assigned connector.
    api.wait_workers(0, Duration::from_secs(30)).await?;
    let mut cold = Vec::new();
    for _ in 0..COLD_RUNS {
        let topic = unique_topic("bench_cold");
        let name = unique("bench-cold");
        api.create(&name, util::datagen(&topic, 0, Some(1000)))
            .await?;
        let t0 = Instant::now();
        let w = spawn_worker(cp, token, &unique("w-cold"))?;
        cold.push(ms(first_record(&topic, t0).await?));
        api.delete(&name).await?;
        stop_worker(w).await;
        api.wait_workers(0, Duration::from_secs(30)).await?;
    }
    let mut ref_cold = Vec::new();
    for _ in 0..COLD_RUNS {
        let topic = unique_topic("bench_cold_ref");
        let t0 = Instant::now();
        let mut rp = RefProc::spawn()?;
        rp.add(&topic).await?;
        ref_cold.push(ms(first_record(&topic, t0).await?));
        rp.stop().await;
    }
    rows.push(
        Row::new(
            SECTION,
            "worker cold start → first record, p50",
            percentile(&cold, 50.0),
            "ms",
        )
        .vs("reference process start → first record, p50", percentile(&ref_cold, 50.0))
        .note(format!(
            "{COLD_RUNS} runs each; worker: spawn, register, get the assignment, start the task; runs {}",
            cold.iter()
                .map(|v| format!("{v:.0}"))
                .collect::<Vec<_>>()
                .join("/")
        )),
    );
    Ok(rows)
}
