//! Section 9: MySQL CDC source throughput: one `MySqlCdcSourceV2` task
//! turning rows and committed changes of a MariaDB table into Debezium
//! change events in the broker, events/s.
//!
//! * Snapshot: n rows read into `r` events, against `SELECT … INTO OUTFILE`
//!   of the same rows (the server reading and writing them out at all).
//! * Streaming: a backlog of n committed changes (inserts and updates in
//!   transactions of 100, written while the connector is paused) turned into
//!   `c`/`u` events once it resumes, against `mysqlbinlog
//!   --read-from-remote-server` reading the same binlog range to /dev/null:
//!   the rate the server sends the row events at, a ceiling for any
//!   binlog reader.

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use rand::Rng;
use serde_json::json;
use sqlx::{MySqlPool, Row as _};
use tributary_tests::mysql::MySqlDatabase;
use tributary_tests::unique;

use crate::cdc::{high, lifecycle, sample_events, wait_state};
use crate::report::Row;
use crate::source::steady_rate;
use crate::util::{run_cmd, Api};
use crate::Ctx;

const SECTION: &str = "9 MySQL CDC source";
/// Changes per transaction of the streaming backlog.
const TX_ROWS: usize = 100;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let cp = tributary_tests::ControlPlane::start(ctx.cp_options()).await?;
    let db = MySqlDatabase::create("bench_mycdc").await?;
    let result = measure(ctx, &Api::new(&cp).await?, &db.name, &db.pool).await;
    db.drop().await?;
    cp.stop().await?;
    result
}

/// The server's current binlog file and position.
async fn binlog_position(pool: &MySqlPool) -> anyhow::Result<(String, u64)> {
    let row = sqlx::query("SHOW MASTER STATUS")
        .fetch_one(pool)
        .await
        .context("SHOW MASTER STATUS (is the binlog on?)")?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

async fn measure(ctx: &Ctx, api: &Api<'_>, db: &str, pool: &MySqlPool) -> anyhow::Result<Vec<Row>> {
    let n = ctx.cdc_events;
    sqlx::query(
        "CREATE TABLE bench_cdc (id INT PRIMARY KEY, name VARCHAR(64), qty INT, \
         price DECIMAL(10,2), updated DATETIME(6))",
    )
    .execute(pool)
    .await?;
    // MariaDB's sequence engine: seq_1_to_<n>.
    sqlx::query(&format!(
        "INSERT INTO bench_cdc SELECT seq, CONCAT('item ', seq), seq % 100, seq * 0.25, \
         TIMESTAMP('2024-01-01') + INTERVAL seq SECOND FROM seq_1_to_{n}"
    ))
    .execute(pool)
    .await?;

    // Reference for the snapshot: the server writing the rows to a file.
    let outfile = format!("/tmp/{}.tsv", unique("bench_mycdc_outfile"));
    let t0 = Instant::now();
    sqlx::query(&format!(
        "SELECT * FROM bench_cdc ORDER BY id INTO OUTFILE '{outfile}'"
    ))
    .execute(pool)
    .await
    .context("SELECT … INTO OUTFILE (secure_file_priv must allow /tmp)")?;
    let outfile_rate = n as f64 / t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&outfile);

    let prefix = unique("bench_mycdc");
    let topic = format!("{prefix}.{db}.bench_cdc");
    let name = unique("bench-mycdc");
    let server_id = rand::thread_rng().gen_range(10_000..4_000_000_000u32);
    api.create(
        &name,
        json!({
            "connector.class": "MySqlCdcSourceV2",
            "database.hostname": "127.0.0.1",
            "database.port": "3306",
            "database.user": "root",
            "database.password": "",
            "database.server.id": server_id.to_string(),
            "topic.prefix": prefix,
            "table.include.list": format!("{db}\\.bench_cdc"),
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
    let (start_file, start_pos) = binlog_position(pool).await?;
    let (inserts, updates) = (n / 2, n - n / 2);
    let t0 = Instant::now();
    // One statement per transaction (autocommit), TX_ROWS rows each.
    for b in 0..inserts.div_ceil(TX_ROWS) {
        let (from, to) = (n + 1 + b * TX_ROWS, n + ((b + 1) * TX_ROWS).min(inserts));
        sqlx::query(&format!(
            "INSERT INTO bench_cdc SELECT seq, CONCAT('new ', seq), seq % 100, seq * 0.25, \
             NOW(6) FROM seq_{from}_to_{to}"
        ))
        .execute(pool)
        .await?;
    }
    for b in 0..updates.div_ceil(TX_ROWS) {
        let (from, to) = (1 + b * TX_ROWS, ((b + 1) * TX_ROWS).min(updates));
        sqlx::query(&format!(
            "UPDATE bench_cdc SET qty = qty + 1, updated = NOW(6) WHERE id BETWEEN {from} AND {to}"
        ))
        .execute(pool)
        .await?;
    }
    let write_s = t0.elapsed().as_secs_f64();
    let (end_file, end_pos) = binlog_position(pool).await?;
    if end_file != start_file {
        bail!("the binlog rotated from {start_file} to {end_file} during the backlog; run again");
    }

    // Reference: mysqlbinlog reading the same range from the server, before
    // the connector resumes, so the two do not share the cores.
    let recv_s = tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        run_cmd(
            Command::new("timeout")
                .args(["120", "mysqlbinlog", "--read-from-remote-server"])
                .args(["--host=127.0.0.1", "--port=3306", "--user=root"])
                .arg(format!("--start-position={start_pos}"))
                .arg(format!("--stop-position={end_pos}"))
                .args(["--result-file=/dev/null", &start_file]),
        )
        .context("mysqlbinlog (mariadb-client)")?;
        anyhow::Ok(t0.elapsed().as_secs_f64())
    })
    .await??;
    let recv_rate = n as f64 / recv_s;

    let base = high(&topic).await?;
    lifecycle(api, &name, "resume").await?;
    let streaming = sample_events(&topic, base, n).await?;
    let streaming_rate = steady_rate(&streaming, n as i64)?;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let after = high(&topic).await? - base;
    api.delete(&name).await?;
    if after > n as i64 + n as i64 / 10 {
        bail!("{after} events after resuming, for {n} changes");
    }

    Ok(vec![
        Row::new(
            SECTION,
            "MySqlCdcSourceV2 snapshot, 1 task → broker",
            snapshot_rate,
            "events/s",
        )
        .vs("SELECT … INTO OUTFILE of the same rows", outfile_rate)
        .note(format!(
            "{n} rows (int, varchar, int, decimal, datetime(6)) on MariaDB, Debezium JSON \
             envelope; rate between 10 % and 90 % of the events"
        )),
        Row::new(
            SECTION,
            "MySqlCdcSourceV2 streaming, 1 task → broker",
            streaming_rate,
            "events/s",
        )
        .vs(
            "mysqlbinlog --read-from-remote-server to /dev/null, same changes",
            recv_rate,
        )
        .note(format!(
            "a backlog of {inserts} inserts and {updates} updates in transactions of \
             {TX_ROWS} ({write_s:.1} s to write), read after resume; \
             rate between 10 % and 90 % of the events"
        )),
    ])
}
