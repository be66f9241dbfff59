//! Section 8: CDC source throughput: one `PostgresCdcSourceV2` task turning
//! rows and committed changes of a Postgres table into Debezium change
//! events in the broker, events/s.
//!
//! * Snapshot: n rows read into `r` events, against `COPY (SELECT …) TO
//!   STDOUT` of the same rows (reading them at all).
//! * Streaming: a backlog of n committed changes (inserts and updates in
//!   transactions of 100, written while the connector is paused) turned into
//!   `c`/`u` events once it resumes, against `pg_recvlogical` reading the
//!   same changes through its own slot and publication with `pgoutput` to
//!   /dev/null: the rate Postgres decodes and sends them at, a ceiling for
//!   any CDC connector.

use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::TryStreamExt;
use serde_json::json;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tributary_tests::{unique, TestDatabase};

use crate::report::Row;
use crate::source::{sample_until, steady_rate};
use crate::util::{run_cmd, Api, Watermarks};
use crate::Ctx;

const SECTION: &str = "8 CDC source";
/// Changes per transaction of the streaming backlog.
const TX_ROWS: usize = 100;
const REF_SLOT: &str = "bench_ref_slot";
const REF_PUBLICATION: &str = "bench_ref_pub";

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let cp = tributary_tests::ControlPlane::start(ctx.cp_options()).await?;
    let db = TestDatabase::create().await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url)
        .await?;
    let result = measure(ctx, &Api::new(&cp).await?, &db, &pool).await;
    // Whatever happened: no slot may outlive the run (it would hold WAL).
    let _ = sqlx::query(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
         WHERE database = $1 AND active",
    )
    .bind(&db.name)
    .execute(&pool)
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = sqlx::query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
    )
    .bind(&db.name)
    .execute(&pool)
    .await;
    pool.close().await;
    db.drop_database().await?;
    cp.stop().await?;
    result
}

/// Watermark samples of `topic` until it holds `base + n` events, shifted
/// down by `base`.
pub(crate) async fn sample_events(
    topic: &str,
    base: i64,
    n: usize,
) -> anyhow::Result<Vec<(Instant, i64)>> {
    let topic = topic.to_string();
    let samples = tokio::task::spawn_blocking(move || {
        sample_until(
            &topic,
            base + n as i64,
            Duration::from_millis(25),
            Duration::from_secs(300),
            &AtomicBool::new(false),
        )
    })
    .await??;
    Ok(samples
        .into_iter()
        .map(|(t, c)| (t, (c - base).max(0)))
        .collect())
}

pub(crate) async fn high(topic: &str) -> anyhow::Result<i64> {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || Watermarks::new().map(|w| w.high(&topic))).await?
}

pub(crate) async fn wait_state(api: &Api<'_>, name: &str, state: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let s = api.status(name).await?;
        let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
        if s["connector"]["state"] == state
            && !tasks.is_empty()
            && tasks.iter().all(|t| t["state"] == state)
        {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("{name} not {state} after 60 s: {s}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn lifecycle(api: &Api<'_>, name: &str, action: &str) -> anyhow::Result<()> {
    let (code, body) = api
        .cp
        .call("PUT", &format!("{}/{name}/{action}", api.base), None)
        .await?;
    if code != 202 && code != 200 {
        bail!("{action} {name}: {code} {body}");
    }
    Ok(())
}

async fn measure(
    ctx: &Ctx,
    api: &Api<'_>,
    db: &TestDatabase,
    pool: &PgPool,
) -> anyhow::Result<Vec<Row>> {
    let n = ctx.cdc_events;
    sqlx::query(
        "CREATE TABLE bench_cdc (id int PRIMARY KEY, name text, qty int, \
         price numeric(10,2), updated timestamptz)",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO bench_cdc SELECT g, 'item ' || g, g % 100, g * 0.25, \
         '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second' \
         FROM generate_series(1, $1) g",
    )
    .bind(n as i32)
    .execute(pool)
    .await?;

    // Reference for the snapshot: reading the rows out with COPY.
    let t0 = Instant::now();
    {
        let mut conn = pool.acquire().await?;
        let mut out = conn
            .copy_out_raw("COPY (SELECT * FROM bench_cdc ORDER BY id) TO STDOUT")
            .await?;
        while out.try_next().await?.is_some() {}
    }
    let copy_rate = n as f64 / t0.elapsed().as_secs_f64();

    // The reference's own slot, from before the changes.
    // (Two statements: a slot cannot be made in a transaction that wrote.)
    sqlx::query(&format!(
        "CREATE PUBLICATION {REF_PUBLICATION} FOR TABLE bench_cdc"
    ))
    .execute(pool)
    .await?;
    sqlx::query(&format!(
        "SELECT pg_create_logical_replication_slot('{REF_SLOT}', 'pgoutput')::text"
    ))
    .execute(pool)
    .await?;

    let prefix = unique("bench_cdc");
    let topic = format!("{prefix}.public.bench_cdc");
    let name = unique("bench-cdc");
    api.create(
        &name,
        json!({
            "connector.class": "PostgresCdcSourceV2",
            "database.hostname": "127.0.0.1",
            "database.port": "5432",
            "database.user": "postgres",
            "database.password": "unused-with-trust-auth",
            "database.dbname": db.name,
            "database.sslmode": "disable",
            "topic.prefix": prefix,
            "table.include.list": "public\\.bench_cdc",
            "output.data.format": "JSON",
            "tasks.max": "1",
        }),
    )
    .await?;
    let snapshot = sample_events(&topic, 0, n).await?;
    let snapshot_rate = steady_rate(&snapshot, n as i64)?;

    // The streaming backlog, written while the connector is paused.
    lifecycle(api, &name, "pause").await?;
    wait_state(api, &name, "PAUSED").await?;
    let mut conn = pool.acquire().await?;
    sqlx::query("SET synchronous_commit = off")
        .execute(&mut *conn)
        .await?;
    let (inserts, updates) = (n / 2, n - n / 2);
    let t0 = Instant::now();
    // One DO block committing every TX_ROWS changes: no client round trips.
    sqlx::raw_sql(&format!(
        "DO $$ BEGIN \
           FOR b IN 0..{last_insert} LOOP \
             INSERT INTO bench_cdc SELECT g, 'new ' || g, g % 100, g * 0.25, now() \
               FROM generate_series({n} + 1 + b * {TX_ROWS}, {n} + LEAST((b + 1) * {TX_ROWS}, {inserts})) g; \
             COMMIT; \
           END LOOP; \
           FOR b IN 0..{last_update} LOOP \
             UPDATE bench_cdc SET qty = qty + 1, updated = now() \
               WHERE id BETWEEN 1 + b * {TX_ROWS} AND LEAST((b + 1) * {TX_ROWS}, {updates}); \
             COMMIT; \
           END LOOP; \
         END $$",
        last_insert = inserts.div_ceil(TX_ROWS) - 1,
        last_update = updates.div_ceil(TX_ROWS) - 1,
    ))
    .execute(&mut *conn)
    .await?;
    let write_s = t0.elapsed().as_secs_f64();
    let end: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&mut *conn)
        .await?;
    drop(conn);

    // Reference: pg_recvlogical through the same WAL, before the connector
    // resumes, so the two do not share the cores.
    let url = format!("dbname={} host=127.0.0.1 user=postgres", db.name);
    let recv_s = tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        run_cmd(
            Command::new("timeout")
                .args(["120", "pg_recvlogical", "-d", &url, "--slot", REF_SLOT])
                .args(["--start", "--no-loop", "--endpos", &end, "-f", "/dev/null"])
                .args(["-o", "proto_version=1"])
                .args(["-o", &format!("publication_names={REF_PUBLICATION}")]),
        )
        .context("pg_recvlogical (postgresql-client)")?;
        anyhow::Ok(t0.elapsed().as_secs_f64())
    })
    .await??;
    let recv_rate = n as f64 / recv_s;

    let base = high(&topic).await?;
    lifecycle(api, &name, "resume").await?;
    let streaming = sample_events(&topic, base, n).await?;
    let streaming_rate = steady_rate(&streaming, n as i64)?;
    // A connector that read the snapshot again after resuming would have
    // been measured on the wrong events.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = high(&topic).await? - base;
    api.delete(&name).await?;
    if after > n as i64 + n as i64 / 10 {
        bail!("{after} events after resuming, for {n} changes");
    }

    Ok(vec![
        Row::new(
            SECTION,
            "PostgresCdcSourceV2 snapshot, 1 task → broker",
            snapshot_rate,
            "events/s",
        )
        .vs("COPY (SELECT …) TO STDOUT of the same rows", copy_rate)
        .note(format!(
            "{n} rows (int, text, int, numeric, timestamptz), Debezium JSON envelope; \
                 rate between 10 % and 90 % of the events"
        )),
        Row::new(
            SECTION,
            "PostgresCdcSourceV2 streaming, 1 task → broker",
            streaming_rate,
            "events/s",
        )
        .vs(
            "pg_recvlogical (pgoutput) to /dev/null, same changes",
            recv_rate,
        )
        .note(format!(
            "a backlog of {inserts} inserts and {updates} updates in transactions of \
                 {TX_ROWS} ({write_s:.1} s to write), read after resume; \
                 rate between 10 % and 90 % of the events"
        )),
    ])
}
