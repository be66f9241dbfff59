//! Section 2: sink throughput: one PostgresSink / MySqlSink task draining a
//! pre-filled topic of ORDERS records, rows/s, against loading the same rows
//! into a table of the same shape: Postgres `COPY` from a file, MariaDB
//! `LOAD DATA LOCAL INFILE` from the same file, and multi-row `INSERT`s of
//! 500 rows (the sink's batch size) on both. The PostgresSink writes its
//! batches with `COPY … FROM STDIN` (checked in `pg_stat_progress_copy`
//! while it runs), and is measured again in UPSERT mode (COPY into a
//! staging table, then `INSERT … SELECT … ON CONFLICT`).

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row as _;
use tributary_tests::{unique, unique_topic, ControlPlane, TestDatabase};

use crate::report::Row;
use crate::source::{create_topic, prebuild, produce_all, task_producer};
use crate::util::{run_cmd, Api};
use crate::Ctx;

const SECTION: &str = "2 sink";
const INSERT_ROWS: usize = 500;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Postgres,
    MySql,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Postgres => "PostgresSink",
            Kind::MySql => "MySqlSink",
        }
    }
}

pub fn mysql_admin_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

/// A database of its own on either server, with a pool to it.
pub enum Target {
    Postgres { db: Box<TestDatabase>, pool: PgPool },
    MySql { name: String, pool: MySqlPool },
}

impl Target {
    pub async fn create(kind: Kind) -> anyhow::Result<Target> {
        match kind {
            Kind::Postgres => {
                let db = TestDatabase::create().await?;
                let pool = PgPoolOptions::new()
                    .max_connections(2)
                    .connect(&db.url)
                    .await?;
                Ok(Target::Postgres {
                    db: Box::new(db),
                    pool,
                })
            }
            Kind::MySql => {
                let admin = MySqlPoolOptions::new()
                    .max_connections(1)
                    .connect(&mysql_admin_url())
                    .await
                    .context("connect to MariaDB (MYSQL_URL)")?;
                let name = unique("bench_sink");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await?;
                admin.close().await;
                let base = mysql_admin_url();
                let url = format!("{}/{name}", &base[..base.rfind('/').unwrap_or(base.len())]);
                let pool = MySqlPoolOptions::new()
                    .max_connections(2)
                    .connect(&url)
                    .await?;
                Ok(Target::MySql { name, pool })
            }
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Target::Postgres { db, .. } => &db.name,
            Target::MySql { name, .. } => name,
        }
    }

    /// The sink connector's config for this database.
    pub fn sink_config(&self, topic: &str, pk_field: Option<&str>) -> Value {
        let (class, port, user) = match self {
            Target::Postgres { .. } => (Kind::Postgres.class(), "5432", "postgres"),
            Target::MySql { .. } => (Kind::MySql.class(), "3306", "root"),
        };
        let mut c = json!({
            "connector.class": class,
            "topics": topic,
            "input.data.format": "JSON",
            "connection.host": "127.0.0.1",
            "connection.port": port,
            "connection.user": user,
            "connection.password": "",
            "db.name": self.name(),
            "insert.mode": "INSERT",
            "pk.mode": "none",
            "auto.create": "true",
            "tasks.max": "1",
        });
        if let Some(pk) = pk_field {
            c["pk.mode"] = json!("record_value");
            c["pk.fields"] = json!(pk);
        }
        c
    }

    fn quoted(&self, table: &str) -> String {
        match self {
            Target::Postgres { .. } => format!("\"{table}\""),
            Target::MySql { .. } => format!("`{table}`"),
        }
    }

    /// Rows in `table`; 0 while the sink has not created it yet.
    pub async fn count(&self, table: &str) -> anyhow::Result<i64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.quoted(table));
        let r = match self {
            Target::Postgres { pool, .. } => sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(pool)
                .await
                .map_err(missing_table),
            Target::MySql { pool, .. } => sqlx::query_scalar::<_, i64>(&sql)
                .fetch_one(pool)
                .await
                .map_err(missing_table),
        };
        match r {
            Ok(n) => Ok(n),
            Err(None) => Ok(0),
            Err(Some(e)) => Err(e.into()),
        }
    }

    /// Column names of `table`, in order.
    pub async fn columns(&self, table: &str) -> anyhow::Result<Vec<String>> {
        let cols = match self {
            Target::Postgres { pool, .. } => sqlx::query(
                "SELECT column_name::text FROM information_schema.columns
                     WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect(),
            Target::MySql { pool, name } => sqlx::query(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns
                     WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            )
            .bind(name)
            .bind(table)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect(),
        };
        Ok(cols)
    }

    async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Target::Postgres { pool, .. } => {
                sqlx::raw_sql(sql).execute(pool).await?;
            }
            Target::MySql { pool, .. } => {
                sqlx::raw_sql(sql).execute(pool).await?;
            }
        }
        Ok(())
    }

    /// An empty table shaped like `like`.
    async fn clone_table(&self, like: &str, name: &str) -> anyhow::Result<()> {
        let sql = match self {
            Target::Postgres { .. } => {
                format!("CREATE TABLE \"{name}\" (LIKE \"{like}\" INCLUDING ALL)")
            }
            Target::MySql { .. } => format!("CREATE TABLE `{name}` LIKE `{like}`"),
        };
        self.exec(&sql).await
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        match self {
            Target::Postgres { db, pool } => {
                pool.close().await;
                db.drop_database().await
            }
            Target::MySql { name, pool } => {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&pool)
                    .await?;
                pool.close().await;
                Ok(())
            }
        }
    }
}

fn missing_table(e: sqlx::Error) -> Option<sqlx::Error> {
    if let sqlx::Error::Database(d) = &e {
        let code = d.code().unwrap_or_default();
        // Postgres: undefined_table; MariaDB: ER_NO_SUCH_TABLE.
        if code == "42P01" || code == "42S02" || d.message().contains("doesn't exist") {
            return None;
        }
    }
    Some(e)
}

/// One field of a JSON record as a column value in text form (None: NULL).
fn text_value(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(if *b { "1" } else { "0" }.into()),
        Some(other) => Some(other.to_string()),
    }
}

/// Tab-separated text as both COPY (text format) and LOAD DATA read it.
fn tsv(values: &[Value], columns: &[String]) -> String {
    let mut out = String::new();
    for v in values {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            match text_value(v.get(c)) {
                None => out.push_str("\\N"),
                Some(s) => {
                    for ch in s.chars() {
                        match ch {
                            '\\' => out.push_str("\\\\"),
                            '\t' => out.push_str("\\t"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            c => out.push(c),
                        }
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

fn literal(v: Option<&Value>, mysql: bool) -> String {
    match v {
        None | Some(Value::Null) => "NULL".into(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.into(),
        Some(other) => {
            let s = match other {
                Value::String(s) => s.clone(),
                o => o.to_string(),
            };
            let mut q = s.replace('\'', "''");
            if mysql {
                q = q.replace('\\', "\\\\");
            }
            format!("'{q}'")
        }
    }
}

/// Multi-row INSERTs of `INSERT_ROWS` rows, each committed on its own.
async fn multi_row_insert(
    target: &Target,
    table: &str,
    columns: &[String],
    values: &[Value],
) -> anyhow::Result<Duration> {
    let mysql = matches!(target, Target::MySql { .. });
    let cols = columns
        .iter()
        .map(|c| target.quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
    let statements: Vec<String> = values
        .chunks(INSERT_ROWS)
        .map(|chunk| {
            let rows = chunk
                .iter()
                .map(|v| {
                    let vals = columns
                        .iter()
                        .map(|c| literal(v.get(c), mysql))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("({vals})")
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "INSERT INTO {} ({cols}) VALUES {rows}",
                target.quoted(table)
            )
        })
        .collect();
    let t0 = Instant::now();
    for s in &statements {
        target.exec(s).await?;
    }
    Ok(t0.elapsed())
}

/// COPY (Postgres) or LOAD DATA LOCAL INFILE (MariaDB, through the mariadb client) of `file`.
async fn bulk_load(
    target: &Target,
    table: &str,
    file: &std::path::Path,
) -> anyhow::Result<Duration> {
    match target {
        Target::Postgres { pool, .. } => {
            let data = std::fs::read(file)?;
            let mut conn = pool.acquire().await?;
            let t0 = Instant::now();
            let mut copy = conn
                .copy_in_raw(&format!("COPY \"{table}\" FROM STDIN"))
                .await?;
            copy.send(data).await?;
            copy.finish().await?;
            Ok(t0.elapsed())
        }
        Target::MySql { name, .. } => {
            let sql = format!(
                "LOAD DATA LOCAL INFILE '{}' INTO TABLE `{table}`",
                file.display()
            );
            let name = name.clone();
            tokio::task::spawn_blocking(move || {
                let t0 = Instant::now();
                run_cmd(
                    Command::new("mariadb")
                        .args(["--local-infile=1", "-h", "127.0.0.1", "-u", "root"])
                        .args(["-e", &sql, &name]),
                )?;
                Ok(t0.elapsed())
            })
            .await?
        }
    }
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let cp = ControlPlane::start(ctx.cp_options()).await?;
    let r = measure(ctx, &cp).await;
    cp.stop().await?;
    r
}

async fn measure(ctx: &Ctx, cp: &ControlPlane) -> anyhow::Result<Vec<Row>> {
    let n = ctx.sink_records;
    // The topic: n ORDERS records as Datagen writes them.
    let topic = unique_topic("bench_sink");
    let records = prebuild(&topic, n)?;
    create_topic(&topic).await?;
    let values: Vec<Value> = records
        .iter()
        .map(|r| serde_json::from_slice(&r.value))
        .collect::<Result<_, _>>()?;
    {
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || {
            let producer = task_producer("bench-sink-fill")?;
            produce_all(&producer, &topic, &records, n)
        })
        .await??;
    }
    let api = Api::new(cp).await?;
    let mut rows = Vec::new();
    for (kind, upsert) in [
        (Kind::Postgres, false),
        (Kind::Postgres, true),
        (Kind::MySql, false),
    ] {
        match one_sink(ctx, &api, kind, upsert, &topic, &values).await {
            Ok(r) => rows.extend(r),
            Err(e) => rows.push(Row::missing(
                SECTION,
                &metric(kind, upsert),
                &format!(
                    "not measured: {}",
                    format!("{e:#}").lines().next().unwrap_or("")
                ),
            )),
        }
    }
    Ok(rows)
}

fn metric(kind: Kind, upsert: bool) -> String {
    if upsert {
        format!("{} rows/s, UPSERT", kind.class())
    } else {
        format!("{} rows/s", kind.class())
    }
}

/// Whether a COPY into the database runs now (Postgres; always false for MariaDB).
async fn copying(target: &Target) -> anyhow::Result<bool> {
    match target {
        Target::Postgres { pool, db } => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM pg_stat_progress_copy WHERE datname = $1 AND command = 'COPY FROM'",
        )
        .bind(&db.name)
        .fetch_one(pool)
        .await?
            > 0),
        Target::MySql { .. } => Ok(false),
    }
}

async fn one_sink(
    ctx: &Ctx,
    api: &Api<'_>,
    kind: Kind,
    upsert: bool,
    topic: &str,
    values: &[Value],
) -> anyhow::Result<Vec<Row>> {
    let n = values.len() as i64;
    let target = Target::create(kind).await?;
    let result = async {
        let name = unique("bench-sink");
        let mut config = target.sink_config(topic, upsert.then_some("orderid"));
        if upsert {
            config["insert.mode"] = json!("UPSERT");
        }
        api.create(&name, config).await?;
        let t_created = Instant::now();
        // First rows: the task is running and has created the table.
        let (t_first, n_first) = loop {
            let c = target.count(topic).await?;
            if c > 0 {
                break (Instant::now(), c);
            }
            if let Err(e) = api.running_on(&name).await {
                bail!("{e:#}");
            }
            if t_created.elapsed() > Duration::from_secs(120) {
                bail!("no row after 120 s: {}", api.status(&name).await?);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let profile = match &ctx.profile_dir {
            Some(dir) => {
                let (_, workers) = api
                    .wait_running(&name, Instant::now(), Duration::from_millis(50), Duration::from_secs(30))
                    .await?;
                let pid = crate::util::worker_pids(&api.cp.url)
                    .get(&workers[0])
                    .map(|p| p.to_string());
                match pid {
                    Some(pid) => Some(crate::profile::start(
                        dir,
                        &format!("sink-{}", kind.class()),
                        &pid,
                    )?),
                    None => None,
                }
            }
            None => None,
        };
        // Samples that caught the sink in a COPY.
        let (mut copy_seen, mut samples) = (0, 0);
        let t_done = loop {
            let c = target.count(topic).await?;
            if c >= n {
                break Instant::now();
            }
            samples += 1;
            if copying(&target).await? {
                copy_seen += 1;
            }
            if let Err(e) = api.running_on(&name).await {
                bail!("{e:#} after {c} rows");
            }
            if t_first.elapsed() > Duration::from_secs(300) {
                bail!("{c} of {n} rows after 300 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if let Some(p) = profile {
            p.finish()?;
        }
        let rate = (n - n_first) as f64 / t_done.duration_since(t_first).as_secs_f64();
        let startup = t_first.duration_since(t_created);
        api.delete(&name).await?;

        let how = match kind {
            Kind::Postgres => format!(
                "COPY FROM STDIN per batch, caught in {copy_seen} of {samples} samples of pg_stat_progress_copy"
            ),
            Kind::MySql => "multi-row INSERT".to_string(),
        };
        let mode = if upsert {
            "insert.mode=UPSERT, pk.mode=record_value (orderid)"
        } else {
            "insert.mode=INSERT"
        };
        // References: the same rows into a table of the same shape.
        let columns = target.columns(topic).await?;
        let file = std::env::temp_dir().join(format!("{}.tsv", unique("bench-rows")));
        std::fs::write(&file, tsv(values, &columns))?;
        target.clone_table(topic, "bench_bulk").await?;
        let bulk = bulk_load(&target, "bench_bulk", &file).await;
        let _ = std::fs::remove_file(&file);
        let bulk = bulk?;
        let loaded = target.count("bench_bulk").await?;
        if loaded != n {
            bail!("the bulk load wrote {loaded} rows, not {n}");
        }
        let bulk_rate = n as f64 / bulk.as_secs_f64();
        let bulk_label = match kind {
            Kind::Postgres => "COPY FROM a file, same rows",
            Kind::MySql => "LOAD DATA LOCAL INFILE, same rows",
        };
        let mut rows = vec![Row::new(SECTION, &metric(kind, upsert), rate, "rows/s")
            .vs(bulk_label, bulk_rate)
            .note(format!(
                "{n} ORDERS records, {mode}, auto.create, {how}; {:.1} s from POST to the first row",
                startup.as_secs_f64()
            ))];
        if !upsert {
            target.clone_table(topic, "bench_insert").await?;
            let insert = multi_row_insert(&target, "bench_insert", &columns, values).await?;
            let insert_rate = n as f64 / insert.as_secs_f64();
            rows.push(
                Row::new(SECTION, &metric(kind, upsert), rate, "rows/s")
                    .vs(
                        &format!("multi-row INSERT, {INSERT_ROWS} rows per statement"),
                        insert_rate,
                    )
                    .note(format!("columns: {}", columns.join(", "))),
            );
        }
        Ok(rows)
    }
    .await;
    target.drop().await?;
    result
}
