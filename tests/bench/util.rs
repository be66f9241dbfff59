//! Helpers shared by the sections: percentiles, /proc, watermarks, and the
//! connector API calls the sections repeat.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use tributary_tests::{kafka_bootstrap, unique, ControlPlane};

/// Nearest-rank percentile of `values` (p in 0..=100).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident memory of a process in KiB (`VmRSS` of /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn environ(pid: u32) -> Option<HashMap<String, String>> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter_map(|kv| {
                let s = String::from_utf8_lossy(kv);
                s.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
    )
}

/// The `data-plane worker` processes serving the control plane at `cp_url`:
/// worker id → pid (found through /proc, as `pgrep -f 'data-plane worker'` would).
pub fn worker_pids(cp_url: &str) -> HashMap<String, u32> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_worker =
            args.len() >= 2 && args[0].ends_with(b"data-plane") && args[1] == b"worker".as_slice();
        if !is_worker {
            continue;
        }
        let Some(env) = environ(pid) else { continue };
        if env.get("TRIBUTARY_CONTROL_PLANE_URL").map(String::as_str) != Some(cp_url) {
            continue;
        }
        if let Some(id) = env.get("TRIBUTARY_WORKER_ID") {
            out.insert(id.clone(), pid);
        }
    }
    out
}

/// The `control-plane serve` process listening at `cp_url`.
pub fn control_plane_pid(cp_url: &str) -> Option<u32> {
    let addr = cp_url.trim_start_matches("http://");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if args.len() < 2 || !args[0].ends_with(b"control-plane") || args[1] != b"serve".as_slice()
        {
            return None;
        }
        (environ(pid)?.get("TRIBUTARY_HTTP_ADDR").map(String::as_str) == Some(addr)).then_some(pid)
    })
}

/// CPU seconds (user + system) of a process, from /proc/<pid>/stat.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Where the machine's CPU went between two snapshots: the control plane,
/// all Postgres processes, and everything else (load generator, broker …).
pub struct CpuSplit {
    at: Instant,
    control_plane: f64,
    postgres: f64,
    busy: f64,
}

impl CpuSplit {
    pub fn now(control_plane: Option<&str>) -> CpuSplit {
        let mut postgres = 0.0;
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for e in dir.flatten() {
                let Some(pid) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if pid.parse::<u32>().is_err() {
                    continue;
                }
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if comm.trim() == "postgres" {
                    postgres += cpu_seconds(&pid).unwrap_or(0.0);
                }
            }
        }
        // Busy time of all CPUs: the first line of /proc/stat less idle and iowait.
        let busy = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let f: Vec<f64> = s
                    .lines()
                    .next()?
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|v| v.parse().ok())
                    .collect();
                let total: f64 = f.iter().take(8).sum();
                Some((total - f.get(3)? - f.get(4)?) / 100.0)
            })
            .unwrap_or(0.0);
        CpuSplit {
            at: Instant::now(),
            control_plane: control_plane.and_then(cpu_seconds).unwrap_or(0.0),
            postgres,
            busy,
        }
    }

    /// "control plane 0.8, Postgres 0.9, other 0.3 of 2 cores" since `before`.
    pub fn since(&self, before: &CpuSplit) -> String {
        let dt = self.at.duration_since(before.at).as_secs_f64();
        let cp = (self.control_plane - before.control_plane) / dt;
        let pg = (self.postgres - before.postgres) / dt;
        let other = ((self.busy - before.busy) / dt - cp - pg).max(0.0);
        format!(
            "control plane {cp:.2}, Postgres {pg:.2}, other {other:.2} of {} cores",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        )
    }
}

/// Reads high watermarks with one long-lived client (cheap enough to poll).
pub struct Watermarks {
    consumer: BaseConsumer,
}

impl Watermarks {
    pub fn new() -> anyhow::Result<Watermarks> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", kafka_bootstrap())
            .set("group.id", unique("bench-hwm"))
            .set("allow.auto.create.topics", "false")
            .create()?;
        Ok(Watermarks { consumer })
    }

    /// Records ever written to `topic` (sum over partitions); 0 while it does not exist.
    pub fn high(&self, topic: &str) -> i64 {
        let Ok(md) = self
            .consumer
            .fetch_metadata(Some(topic), Duration::from_secs(5))
        else {
            return 0;
        };
        let mut total = 0;
        for t in md.topics() {
            if t.error().is_some() {
                return 0;
            }
            for p in t.partitions() {
                if let Ok((_, high)) =
                    self.consumer
                        .fetch_watermarks(topic, p.id(), Duration::from_secs(5))
                {
                    total += high;
                }
            }
        }
        total
    }
}

/// Polls a topic until its first record; returns when it appeared.
pub async fn first_record(topic: &str, since: Instant) -> anyhow::Result<Duration> {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let wm = Watermarks::new()?;
        loop {
            if wm.high(&topic) > 0 {
                return Ok(since.elapsed());
            }
            if since.elapsed() > Duration::from_secs(60) {
                bail!("no record in {topic} after 60 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .await?
}

/// Datagen ORDERS into `topic`, unpaced or every `max_interval_ms` on average.
pub fn datagen(topic: &str, max_interval_ms: u64, iterations: Option<u64>) -> Value {
    let mut c = json!({
        "connector.class": "DatagenSource",
        "kafka.topic": topic,
        "quickstart": "ORDERS",
        "output.data.format": "JSON",
        "max.interval": max_interval_ms.to_string(),
        "tasks.max": "1",
    });
    if let Some(n) = iterations {
        c["iterations"] = json!(n.to_string());
    }
    c
}

pub struct Api<'a> {
    pub cp: &'a ControlPlane,
    pub base: String,
}

impl<'a> Api<'a> {
    pub async fn new(cp: &'a ControlPlane) -> anyhow::Result<Api<'a>> {
        let (env, cluster) = cp.default_cluster().await?;
        Ok(Api {
            cp,
            base: format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors"),
        })
    }

    pub async fn create(&self, name: &str, config: Value) -> anyhow::Result<()> {
        let (code, body) = self
            .cp
            .call(
                "POST",
                &self.base,
                Some(json!({"name": name, "config": config})),
            )
            .await?;
        if code != 201 {
            bail!("create {name}: {code} {body}");
        }
        Ok(())
    }

    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        let (code, body) = self
            .cp
            .call("DELETE", &format!("{}/{name}", self.base), None)
            .await?;
        if code != 200 && code != 404 {
            bail!("delete {name}: {code} {body}");
        }
        Ok(())
    }

    pub async fn status(&self, name: &str) -> anyhow::Result<Value> {
        let (code, body) = self
            .cp
            .call("GET", &format!("{}/{name}/status", self.base), None)
            .await?;
        if code != 200 {
            bail!("status {name}: {code} {body}");
        }
        Ok(body)
    }

    /// `Some(worker ids of the tasks)` when the connector and all its tasks are RUNNING.
    pub async fn running_on(&self, name: &str) -> anyhow::Result<Option<Vec<String>>> {
        let s = self.status(name).await?;
        let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
        let all = s["connector"]["state"] == "RUNNING"
            && !tasks.is_empty()
            && tasks.iter().all(|t| t["state"] == "RUNNING");
        if let Some(failed) = tasks.iter().find(|t| t["state"] == "FAILED") {
            bail!("{name} has a FAILED task: {failed}");
        }
        Ok(all.then(|| {
            tasks
                .iter()
                .map(|t| t["worker_id"].as_str().unwrap_or_default().to_string())
                .collect()
        }))
    }

    /// Polls the status every `every` until RUNNING; returns the elapsed time and workers.
    pub async fn wait_running(
        &self,
        name: &str,
        since: Instant,
        every: Duration,
        timeout: Duration,
    ) -> anyhow::Result<(Duration, Vec<String>)> {
        loop {
            if let Some(w) = self.running_on(name).await? {
                return Ok((since.elapsed(), w));
            }
            if since.elapsed() > timeout {
                bail!(
                    "{name} not RUNNING after {timeout:?}: {}\ncontrol plane log:\n{}",
                    self.status(name).await.unwrap_or_default(),
                    self.cp.log_tail()
                );
            }
            tokio::time::sleep(every).await;
        }
    }

    pub async fn workers(&self) -> anyhow::Result<Vec<Value>> {
        let (code, body) = self.cp.call("GET", "/ops/v1/workers", None).await?;
        if code != 200 {
            bail!("ops/workers: {code} {body}");
        }
        Ok(body["data"].as_array().cloned().unwrap_or_default())
    }

    pub async fn wait_workers(&self, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let w = self.workers().await?;
            if w.len() == n {
                return Ok(());
            }
            if start.elapsed() > timeout {
                bail!("{} workers, not {n}, after {timeout:?}", w.len());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Runs a command and returns its stdout, failing with its stderr.
pub fn run_cmd(cmd: &mut std::process::Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
