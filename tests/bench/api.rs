//! Section 4: control-plane API under concurrent load (wrk): connector status reads
//! and connector creates, against Postgres' own rate for the same shapes of
//! work (pgbench: single-row primary-key selects and single-row inserts)
//! with the same number of connections.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::json;
use sqlx::{ConnectOptions, Connection};
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions, TestDatabase};

use crate::report::Row;
use crate::util::{self, percentile, run_cmd, Api};
use crate::Ctx;

const SECTION: &str = "4 API";
/// Concurrent connections of every load run (wrk and pgbench alike).
const CONNECTIONS: u32 = 16;

/// Throughput and latency percentiles of one load run.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    pub total: u64,
}

fn parse_duration_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, factor) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60_000.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|n| n * factor)
}

/// Reads wrk's `--latency` report.
fn parse_wrk(out: &str) -> anyhow::Result<Load> {
    let mut load = Load {
        per_second: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        errors: 0,
        total: 0,
    };
    for line in out.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            load.per_second = v.trim().parse()?;
        } else if let Some(v) = l.strip_prefix("50%") {
            load.p50_ms = parse_duration_ms(v).context("wrk p50")?;
        } else if let Some(v) = l.strip_prefix("99%") {
            load.p99_ms = parse_duration_ms(v).context("wrk p99")?;
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            load.errors += v.trim().parse::<u64>()?;
        } else if l.starts_with("Socket errors:") {
            for part in l.trim_start_matches("Socket errors:").split(',') {
                if let Some(n) = part.split_whitespace().last() {
                    load.errors += n.parse::<u64>().unwrap_or(0);
                }
            }
        } else if l.contains("requests in") {
            load.total = l
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    if !load.per_second.is_finite() {
        bail!("cannot read wrk's report:\n{out}");
    }
    Ok(load)
}

fn wrk(url: &str, seconds: u32, script: Option<&Path>, auth: &str) -> anyhow::Result<Load> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t", "2", "-c", &CONNECTIONS.to_string()])
        .args([
            "-d",
            &format!("{seconds}s"),
            "--latency",
            "--timeout",
            "10s",
        ])
        .args(["-H", &format!("Authorization: {auth}")]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(url);
    let out = run_cmd(&mut cmd).context("wrk (apt-get install wrk)")?;
    parse_wrk(&out)
}

/// pgbench with a custom script; latencies from its per-transaction log.
fn pgbench(url: &str, script: &str, seconds: u32, dir: &Path) -> anyhow::Result<Load> {
    let file = dir.join(format!("{}.sql", unique("pgbench")));
    std::fs::write(&file, script)?;
    let prefix = dir.join(unique("pglog"));
    let out = run_cmd(
        Command::new("pgbench")
            .args(["-n", "-c", &CONNECTIONS.to_string(), "-j", "2"])
            .args(["-T", &seconds.to_string(), "-l"])
            .arg(format!("--log-prefix={}", prefix.display()))
            .arg("-f")
            .arg(&file)
            .arg(url),
    )
    .context("pgbench")?;
    let tps: f64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("cannot read pgbench's report:\n{out}"))?;
    let mut latencies = Vec::new();
    let stem = prefix
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(&stem) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())?;
        for line in text.lines() {
            // client_id transaction_no time_us script_no epoch epoch_us
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<f64>().ok())
            {
                latencies.push(us / 1000.0);
            }
        }
        let _ = std::fs::remove_file(entry.path());
    }
    let _ = std::fs::remove_file(&file);
    Ok(Load {
        per_second: tps,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        errors: 0,
        total: latencies.len() as u64,
    })
}

/// Committed plus rolled-back transactions of the database at `url` so far
/// (statistics are flushed about once a second, hence the pause).
async fn transactions(url: &str) -> anyhow::Result<i64> {
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut conn = url
        .parse::<sqlx::postgres::PgConnectOptions>()?
        .connect()
        .await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    Ok(n)
}

fn create_script(dir: &Path, base: &str) -> anyhow::Result<std::path::PathBuf> {
    let config = json!({
        "connector.class": "DatagenSource",
        "kafka.topic": "bench-load",
        "quickstart": "ORDERS",
        "output.data.format": "JSON",
        "max.interval": "1000",
        "tasks.max": "1",
    })
    .to_string()
    .replace('"', "\\\"");
    let run = unique("r");
    let script = format!(
        r#"-- POST a connector with a unique name on every request.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
-- wrk.format falls back to wrk.headers (with -H Authorization) when given no headers.
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  local body = string.format("{{\"name\":\"load-{run}-%d-%d\",\"config\":{config}}}", tid, n)
  return wrk.format("POST", "{base}", nil, body)
end
"#
    );
    let path = dir.join(format!("{}.lua", unique("create")));
    std::fs::write(&path, script)?;
    Ok(path)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    if Command::new("wrk").arg("--version").output().is_err() {
        return Ok(vec![Row::missing(
            SECTION,
            "control-plane API under load",
            "wrk is not installed (tests/bench/run installs it: apt-get install wrk)",
        )]);
    }
    // No workers: the API and the database alone (the reconciler still runs).
    let token = unique("tok");
    let mut opts: ControlPlaneOptions = ctx.cp_options();
    opts.extra_env
        .push(("TRIBUTARY_PROVIDER".into(), "static".into()));
    opts.extra_env
        .push(("TRIBUTARY_WORKER_TOKEN".into(), token));
    let cp = ControlPlane::start(opts).await?;
    let result = measure(ctx, &cp).await;
    cp.stop().await?;
    result
}

async fn measure(ctx: &Ctx, cp: &ControlPlane) -> anyhow::Result<Vec<Row>> {
    let api = Api::new(cp).await?;
    let dir = std::env::temp_dir().join(unique("tributary-bench"));
    std::fs::create_dir_all(&dir)?;
    let secs = ctx.api_seconds;
    let auth = cp.basic_auth();

    // Reads: the status of one of 20 connectors.
    let mut first = String::new();
    for i in 0..20 {
        let name = unique("bench-read");
        api.create(
            &name,
            util::datagen(&unique_topic("bench_read"), 1000, None),
        )
        .await?;
        if i == 0 {
            first = name;
        }
    }
    let status_url = format!("{}{}/{first}/status", cp.url, api.base);
    let cp_pid = util::control_plane_pid(&cp.url).map(|p| p.to_string());
    let profile = |name: &str| match (&ctx.profile_dir, &cp_pid) {
        (Some(dir), Some(pid)) => crate::profile::start(dir, name, pid).map(Some),
        _ => Ok(None),
    };
    let x0 = transactions(&cp.db.url).await?;
    let p = profile("api-status")?;
    let c0 = util::CpuSplit::now(cp_pid.as_deref());
    let reads = {
        let (url, auth) = (status_url.clone(), auth.clone());
        tokio::task::spawn_blocking(move || wrk(&url, secs, None, &auth)).await??
    };
    if let Some(p) = p {
        p.finish()?;
    }
    let x1 = transactions(&cp.db.url).await?;
    let cpu_reads = util::CpuSplit::now(cp_pid.as_deref()).since(&c0);
    let p = profile("api-create")?;
    let c1 = util::CpuSplit::now(cp_pid.as_deref());
    let creates = {
        let script = create_script(&dir, &api.base)?;
        let (url, auth) = (format!("{}{}", cp.url, api.base), auth.clone());
        tokio::task::spawn_blocking(move || wrk(&url, secs, Some(&script), &auth)).await??
    };
    if let Some(p) = p {
        p.finish()?;
    }
    let cpu_creates = util::CpuSplit::now(cp_pid.as_deref()).since(&c1);
    let x2 = transactions(&cp.db.url).await?;
    let per_read = (x1 - x0) as f64 / reads.total.max(1) as f64;
    let per_create = (x2 - x1) as f64 / creates.total.max(1) as f64;
    let (code, list) = cp.call("GET", &api.base, None).await?;
    let stored = if code == 200 {
        list.as_array().map_or(0, Vec::len)
    } else {
        0
    };

    // Postgres alone: the same connection count, single-row work.
    let db = TestDatabase::create().await?;
    let mut conn = db
        .url
        .parse::<sqlx::postgres::PgConnectOptions>()?
        .connect()
        .await?;
    sqlx::raw_sql(
        "CREATE TABLE kv (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, config JSONB NOT NULL);
         INSERT INTO kv (name, config) SELECT 'c' || g, '{\"a\":\"b\"}' FROM generate_series(1, 1000) g;",
    )
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    let pg = {
        let (dir, url) = (dir.clone(), db.url.clone());
        tokio::task::spawn_blocking(move || {
            let sel = pgbench(
                &url,
                "\\set id random(1, 1000)\nSELECT id, name, config FROM kv WHERE id = :id;\n",
                secs,
                &dir,
            );
            let ins = pgbench(
                &url,
                "INSERT INTO kv (name, config) VALUES ('bench', '{\"connector.class\":\"DatagenSource\",\"tasks.max\":\"1\"}');\n",
                secs,
                &dir,
            );
            (sel, ins)
        })
        .await?
    };
    db.drop_database().await?;
    let _ = std::fs::remove_dir_all(&dir);
    let (sel, ins) = (pg.0?, pg.1?);

    let err_note = |l: &Load| {
        if l.errors > 0 {
            format!("; {} of {} requests failed", l.errors, l.total)
        } else {
            String::new()
        }
    };
    let label_r = "pgbench: 1-row SELECT by key";
    let label_w = "pgbench: 1-row INSERT (autocommit)";
    Ok(vec![
        Row::new(SECTION, "GET connector status", reads.per_second, "req/s")
            .vs(label_r, sel.per_second)
            .note(format!(
                "wrk, {CONNECTIONS} connections, {secs} s; {per_read:.1} Postgres transactions per request; CPU {}{}",
                cpu_reads,
                err_note(&reads)
            )),
        Row::new(SECTION, "GET connector status, p50", reads.p50_ms, "ms").vs(label_r, sel.p50_ms),
        Row::new(SECTION, "GET connector status, p99", reads.p99_ms, "ms").vs(label_r, sel.p99_ms),
        Row::new(
            SECTION,
            "POST connector (create)",
            creates.per_second,
            "req/s",
        )
        .vs(label_w, ins.per_second)
        .note(format!(
            "wrk, {CONNECTIONS} connections, {secs} s; {stored} connectors stored at the end; {per_create:.1} Postgres transactions per request (reconciler included); CPU {}{}",
            cpu_creates,
            err_note(&creates)
        )),
        Row::new(SECTION, "POST connector, p50", creates.p50_ms, "ms").vs(label_w, ins.p50_ms),
        Row::new(SECTION, "POST connector, p99", creates.p99_ms, "ms").vs(label_w, ins.p99_ms),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_reports() {
        let out = "Running 2s test @ http://127.0.0.1:1/\n  2 threads and 16 connections\n\
  Latency Distribution\n     50%  820.00us\n     75%    1.10ms\n     90%    2.00ms\n     99%    1.20s\n\
  1234 requests in 2.00s, 1.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:    617.00\n";
        let l = parse_wrk(out).unwrap();
        assert_eq!(l.per_second, 617.0);
        assert!((l.p50_ms - 0.82).abs() < 1e-9);
        assert_eq!(l.p99_ms, 1200.0);
        assert_eq!((l.errors, l.total), (3, 1234));
    }
}
