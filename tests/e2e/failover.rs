//! Workers die and hang; tasks move fast and nothing is lost. Real worker
//! processes, real signals.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tributary_tests::{
    alive, kafka, kafka_bootstrap, signal, unique_topic, worker_pid, ControlPlane,
    ControlPlaneOptions,
};

async fn task_placement(cp: &ControlPlane, path: &str) -> anyhow::Result<Option<(String, String)>> {
    let (code, s) = cp.call("GET", &format!("{path}/status"), None).await?;
    anyhow::ensure!(code == 200, "{code} {s}");
    let t = &s["tasks"][0];
    Ok(t["worker_id"]
        .as_str()
        .filter(|w| !w.is_empty())
        .map(|w| (w.to_string(), t["state"].as_str().unwrap_or("").to_string())))
}

/// Waits until task 0 runs on a worker other than `not_on`; returns it.
async fn running_elsewhere(
    cp: &ControlPlane,
    path: &str,
    not_on: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    cp.eventually("the task RUNNING on another worker", timeout, || async {
        Ok(match task_placement(cp, path).await? {
            Some((w, state)) if w != not_on && state == "RUNNING" => Some(w),
            _ => None,
        })
    })
    .await
}

async fn start_orders(cp: &ControlPlane, topic: &str) -> anyhow::Result<String> {
    let (env, cluster) = cp.default_cluster().await?;
    let path = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors/orders");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{path}/config"),
            Some(json!({
                "connector.class": "DatagenSource",
                "kafka.topic": topic,
                "quickstart": "ORDERS",
                "max.interval": "5",
            })),
        )
        .await?;
    anyhow::ensure!(code == 200, "{body}");
    cp.eventually("RUNNING", Duration::from_secs(60), || async {
        Ok(match task_placement(cp, &path).await? {
            Some((_, s)) if s == "RUNNING" => Some(()),
            _ => None,
        })
    })
    .await?;
    Ok(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_moves_tasks_within_seconds_and_loses_no_record() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let topic = unique_topic("failover");
    let path = start_orders(&cp, &topic).await?;
    // …and a Postgres sink from the topic: the pipeline under test.
    let sink_db = tributary_tests::TestDatabase::create().await?;
    let sink = path.replace("/connectors/orders", "/connectors/orders-pg");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{sink}/config"),
            Some(json!({
                "connector.class": "PostgresSink",
                "topics": topic,
                "input.data.format": "JSON",
                "connection.host": "127.0.0.1",
                "connection.port": "5432",
                "connection.user": "postgres",
                "connection.password": "",
                "db.name": sink_db.name,
                "insert.mode": "UPSERT",
                "pk.mode": "record_value",
                "pk.fields": "orderid",
                "auto.create": "true",
            })),
        )
        .await?;
    anyhow::ensure!(code == 200, "{body}");

    let mut failovers = Vec::new();
    for round in 0..10 {
        let (worker, _) = task_placement(&cp, &path).await?.expect("placed");
        let pid = worker_pid(&worker).ok_or_else(|| anyhow::anyhow!("no process for {worker}"))?;
        // Let it produce (and commit offsets) for a moment.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        signal(pid, "KILL")?;
        let killed = Instant::now();
        let next = running_elsewhere(&cp, &path, &worker, Duration::from_secs(15)).await?;
        failovers.push(killed.elapsed());
        eprintln!(
            "round {round}: {worker} killed, task RUNNING on {next} after {:?}",
            killed.elapsed()
        );
    }
    failovers.sort();
    eprintln!(
        "failover p50 {:?}, max {:?}",
        failovers[failovers.len() / 2],
        failovers[failovers.len() - 1]
    );

    // Stop producing, then check the sequence: every orderid up to the last one is there.
    let (code, _) = cp.call("PUT", &format!("{path}/pause"), None).await?;
    assert_eq!(code, 202);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let total = kafka::high_watermark(&kafka_bootstrap(), &topic)? as usize;
    let records =
        kafka::consume(&kafka_bootstrap(), &topic, total, Duration::from_secs(60)).await?;
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    for r in &records {
        let v: Value = serde_json::from_slice(r.value.as_deref().unwrap_or(b"null"))?;
        *seen
            .entry(v["orderid"].as_i64().expect("orderid"))
            .or_default() += 1;
    }
    let max = *seen.keys().last().expect("records");
    let missing: Vec<i64> = (0..=max).filter(|i| !seen.contains_key(i)).collect();
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!(
        "{} records, orderids 0..={max}, {} missing, {duplicates} duplicates over 10 kills",
        records.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "missing orderids: {:?}",
        &missing[..missing.len().min(20)]
    );
    // At most about one offset-commit interval (a heartbeat) of records per kill is repeated.
    assert!(duplicates < 10 * 400, "{duplicates} duplicates");

    // The sink's output: every orderid up to the last one is a row.
    let rows = sqlx::PgPool::connect(&sink_db.url).await?;
    let table = topic.clone();
    let (count, min, top): (i64, Option<i64>, Option<i64>) = cp
        .eventually("the sink to hold every orderid", Duration::from_secs(90), || async {
            let r: Result<(i64, Option<i64>, Option<i64>), _> = sqlx::query_as(&format!(
                "SELECT count(DISTINCT orderid), min(orderid)::bigint, max(orderid)::bigint FROM \"{table}\""
            ))
            .fetch_one(&rows)
            .await;
            // Contiguous from 0, and at least as far as the topic read above.
            Ok(r.ok().filter(|(n, _, top)| top.is_some_and(|t| t >= max && *n == t + 1)))
        })
        .await?;
    eprintln!("sink rows: {count} distinct orderids {min:?}..={top:?}");
    rows.close().await;
    sink_db.drop_database().await?;

    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_worker_past_its_lease_is_fenced_and_stops_its_tasks() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions {
        lease_ms: 4_000,
        ..ControlPlaneOptions::default()
    })
    .await?;
    let topic = unique_topic("zombie");
    let path = start_orders(&cp, &topic).await?;
    let (zombie, _) = task_placement(&cp, &path).await?.expect("placed");
    let pid = worker_pid(&zombie).ok_or_else(|| anyhow::anyhow!("no process for {zombie}"))?;

    signal(pid, "STOP")?;
    let stopped = Instant::now();
    let successor = running_elsewhere(&cp, &path, &zombie, Duration::from_secs(15)).await?;
    eprintln!(
        "tasks moved from stopped {zombie} to {successor} after {:?}",
        stopped.elapsed()
    );

    let pool = sqlx::PgPool::connect(&cp.db.url).await?;
    let before: (i64, Option<String>) = sqlx::query_as("SELECT epoch, worker_id FROM tasks")
        .fetch_one(&pool)
        .await?;
    assert_eq!(before.1.as_deref(), Some(successor.as_str()));

    // The zombie wakes up: nothing it says is accepted, and it stops its stale task.
    signal(pid, "CONT")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: (i64, Option<String>, String) =
        sqlx::query_as("SELECT epoch, worker_id, state FROM tasks")
            .fetch_one(&pool)
            .await?;
    assert_eq!(
        (after.0, after.1.clone()),
        before,
        "the zombie changed nothing"
    );
    assert_eq!(after.2, "RUNNING");
    let (code, s) = cp.call("GET", "/ops/v1/workers", None).await?;
    assert_eq!(code, 200);
    assert!(
        !s["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == zombie.as_str() && w["tasks"].as_i64() > Some(0)),
        "the zombie holds no task: {s}"
    );
    let log = std::fs::read_to_string(cp.log_dir.join(format!("worker-{zombie}.log")))
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log_after =
        std::fs::read_to_string(cp.log_dir.join(format!("worker-{zombie}.log"))).unwrap_or(log);
    assert!(
        log_after.contains("stopping all tasks") || log_after.contains("stopping task"),
        "the zombie stopped its tasks; its log:\n{log_after}"
    );
    assert!(!alive(pid), "the replaced zombie process exits");
    pool.close().await;
    cp.stop().await
}
