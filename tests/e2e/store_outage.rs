//! Issue 19: a store outage does not stop the data. The control plane's
//! store is a PostgreSQL cluster of the test's own, stopped for three
//! leases while a Datagen source and a Postgres sink (on the machine's main
//! PostgreSQL, which stays up) run.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tributary_tests::pg_cluster::PgCluster;
use tributary_tests::{
    kafka, kafka_bootstrap, unique_topic, ControlPlane, ControlPlaneOptions, TestDatabase,
};

const LEASE: Duration = Duration::from_secs(3);

/// (name, task id, epoch, worker) of every task, from the store.
async fn placements(
    store: &sqlx::PgPool,
) -> anyhow::Result<Vec<(String, i32, i64, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT c.name, t.task_id, t.epoch, t.worker_id FROM tasks t JOIN connectors c ON c.id = t.connector_id
         ORDER BY c.name, t.task_id",
    )
    .fetch_all(store)
    .await?)
}

async fn sink_rows(sink: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM \"{table}\""))
        .fetch_one(sink)
        .await
        .unwrap_or(0)
}

/// One API request during the outage: its status, `Retry-After` and time.
async fn timed(
    http: &reqwest::Client,
    cp: &ControlPlane,
    path: &str,
) -> anyhow::Result<(u16, Option<String>, Value, Duration)> {
    let started = Instant::now();
    let r = http
        .get(format!("{}{path}", cp.url))
        .header("Authorization", cp.basic_auth())
        .timeout(Duration::from_secs(15))
        .send()
        .await?;
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, retry, body, started.elapsed()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_of_three_leases_moves_every_record_and_runs_no_task_twice() -> anyhow::Result<()>
{
    let cluster = PgCluster::start()?;
    let db = TestDatabase::create_on(&cluster.url()).await?;
    let store_url = db.url.clone();
    let opts = ControlPlaneOptions {
        lease_ms: LEASE.as_millis() as u64,
        heartbeat_ms: 500,
        ..ControlPlaneOptions::default()
    };
    let cp = ControlPlane::start_on(opts.clone(), db).await?;
    // A second replica on the same store: both must answer 503, one leads after.
    let replica = cp.replica(opts).await?;
    let (env, cluster_id) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster_id}/connectors");
    let topic = unique_topic("outage");
    let sink_db = TestDatabase::create().await?;
    for (name, config) in [
        (
            "orders",
            json!({"connector.class": "DatagenSource", "kafka.topic": topic, "quickstart": "ORDERS", "max.interval": "10"}),
        ),
        (
            "orders-pg",
            json!({
                "connector.class": "PostgresSink", "topics": topic, "input.data.format": "JSON",
                "connection.host": "127.0.0.1", "connection.port": "5432", "connection.user": "postgres",
                "connection.password": "", "db.name": sink_db.name, "insert.mode": "UPSERT",
                "pk.mode": "record_value", "pk.fields": "orderid", "auto.create": "true",
            }),
        ),
    ] {
        let (code, body) = cp
            .call("PUT", &format!("{base}/{name}/config"), Some(config))
            .await?;
        anyhow::ensure!(code == 200, "{name}: {body}");
    }
    let sink = sqlx::PgPool::connect(&sink_db.url).await?;
    cp.eventually(
        "both connectors RUNNING and the sink writing",
        Duration::from_secs(60),
        || async {
            for name in ["orders", "orders-pg"] {
                let (_, s) = cp
                    .call("GET", &format!("{base}/{name}/status"), None)
                    .await?;
                if s["tasks"][0]["state"] != "RUNNING" {
                    return Ok(None);
                }
            }
            Ok((sink_rows(&sink, &topic).await > 0).then_some(()))
        },
    )
    .await?;
    let store = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&store_url)
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = placements(&store).await?;
    let leader_before: String =
        sqlx::query_scalar("SELECT holder FROM reconciler_leader WHERE id = 1")
            .fetch_one(&store)
            .await?;
    store.close().await;
    eprintln!("before the outage: {before:?}");
    anyhow::ensure!(
        before.len() == 2 && before.iter().all(|p| p.3.is_some()),
        "{before:?}"
    );

    // The outage: three leases.
    cluster.down()?;
    let down_at = Instant::now();
    let http = reqwest::Client::new();
    let mut answers = 0;
    let mut marks = vec![(
        kafka::high_watermark(&kafka_bootstrap(), &topic)?,
        sink_rows(&sink, &topic).await,
    )];
    let mut next_mark = down_at + LEASE;
    while down_at.elapsed() < 3 * LEASE {
        for (node, path) in [
            (&cp, format!("{base}/orders/status")),
            (&replica, "/org/v2/environments".to_string()),
            (
                &cp,
                format!("/compat/connect/environments/{env}/clusters/{cluster_id}/connectors"),
            ),
        ] {
            let (status, retry, body, took) = timed(&http, node, &path).await?;
            answers += 1;
            assert_eq!(status, 503, "{path} during the outage: {status} {body}");
            assert!(took < Duration::from_secs(1), "{path} took {took:?}");
            assert_eq!(retry.as_deref(), Some("1"), "{path}: Retry-After");
            assert!(body.is_object(), "{path}: error body {body}");
        }
        let (ready, ..) = timed(&http, &cp, "/ready").await?;
        assert_eq!(ready, 503, "/ready during the outage");
        let (health, ..) = timed(&http, &replica, "/health").await?;
        assert_eq!(health, 200, "/health during the outage");
        if Instant::now() >= next_mark {
            marks.push((
                kafka::high_watermark(&kafka_bootstrap(), &topic)?,
                sink_rows(&sink, &topic).await,
            ));
            next_mark += LEASE;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let produced_in_outage = kafka::high_watermark(&kafka_bootstrap(), &topic)?;
    marks.push((produced_in_outage, sink_rows(&sink, &topic).await));
    eprintln!("outage of {:?}: {answers} API answers, all 503 under 1 s; (topic, sink) per lease: {marks:?}", down_at.elapsed());
    for w in marks.windows(2) {
        assert!(
            w[1].0 > w[0].0,
            "the source stalled during the outage: {marks:?}"
        );
        assert!(
            w[1].1 > w[0].1,
            "the sink stalled during the outage: {marks:?}"
        );
    }
    cluster.up()?;
    let back = Instant::now();
    cp.eventually("/ready again", Duration::from_secs(10), || async {
        let (s, ..) = timed(&http, &cp, "/ready").await?;
        Ok((s == 200).then_some(()))
    })
    .await?;
    eprintln!("ready {:?} after the store returned", back.elapsed());

    // Every source offset produced during the outage is committed.
    let store = sqlx::PgPool::connect(&store_url).await?;
    let committed: i64 = cp
        .eventually(
            "the outage's source offsets committed",
            Duration::from_secs(10),
            || async {
                let it: Option<i64> = sqlx::query_scalar(
                "SELECT max((o.source_offset->>'current.iteration')::bigint) FROM source_offsets o
                 JOIN connectors c ON c.id = o.connector_id WHERE c.name = 'orders'",
            )
            .fetch_one(&store)
            .await?;
                Ok(it.filter(|i| *i >= produced_in_outage))
            },
        )
        .await?;
    eprintln!("committed current.iteration {committed} >= {produced_in_outage} produced by the end of the outage");

    // Two more leases: nothing expires, nothing moves, no epoch changes.
    tokio::time::sleep(2 * LEASE).await;
    let after = placements(&store).await?;
    assert_eq!(after, before, "tasks were reassigned across the outage");
    for node in [&cp, &replica] {
        let log = std::fs::read_dir(&node.log_dir)?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("control-plane"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect::<String>();
        assert!(
            !log.contains("worker leases expired"),
            "a lease expired across the outage"
        );
    }
    // The leader lock (`store::leadership::LEADER_LOCK`, split into its halves).
    let leaders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND classid = 29810::oid AND objid = 1768030210::oid AND objsubid = 1",
    )
    .fetch_one(&store)
    .await?;
    assert_eq!(leaders, 1, "exactly one reconciler leader after the outage");
    let leader_after: String =
        sqlx::query_scalar("SELECT holder FROM reconciler_leader WHERE id = 1")
            .fetch_one(&store)
            .await?;
    assert_eq!(
        leader_after, leader_before,
        "the leader of before leads again"
    );
    for name in ["orders", "orders-pg"] {
        let (_, s) = cp
            .call("GET", &format!("{base}/{name}/status"), None)
            .await?;
        assert_eq!(s["tasks"][0]["state"], "RUNNING", "{name}: {s}");
    }

    // No record lost: orderids contiguous in the topic and in the table.
    let (code, _) = cp
        .call("PUT", &format!("{base}/orders/pause"), None)
        .await?;
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
        "{} records, orderids 0..={max}, {} missing, {duplicates} duplicates",
        records.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "missing orderids: {:?}",
        &missing[..missing.len().min(20)]
    );
    assert_eq!(
        duplicates, 0,
        "no task ran twice, so no record was produced twice"
    );
    let table = topic.clone();
    let (count, top): (i64, Option<i64>) = cp
        .eventually(
            "the sink to hold every orderid",
            Duration::from_secs(60),
            || async {
                let r: Result<(i64, Option<i64>), _> = sqlx::query_as(&format!(
                    "SELECT count(DISTINCT orderid), max(orderid)::bigint FROM \"{table}\""
                ))
                .fetch_one(&sink)
                .await;
                Ok(r.ok()
                    .filter(|(n, top)| top.is_some_and(|t| t >= max && *n == t + 1)))
            },
        )
        .await?;
    eprintln!("sink rows: {count} distinct orderids up to {top:?}");
    sink.close().await;
    store.close().await;
    sink_db.drop_database().await?;
    replica.stop().await?;
    cp.stop().await?;
    drop(cluster);
    Ok(())
}
