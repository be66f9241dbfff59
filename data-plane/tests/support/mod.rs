//! Shared pieces of the sink integration tests: unique names, a real broker
//! (`KAFKA_BOOTSTRAP`, default 127.0.0.1:9092), a fresh database per test on
//! the real MariaDB (`MYSQL_URL`, default mysql://root@127.0.0.1:3306/test)
//! or Postgres (`DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres), and running a sink task
//! through the worker runtime.
//!
//! Nothing is skipped when a service is missing: the tests fail, naming it.

#![allow(dead_code)]

pub mod es_standin;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::Row;
use tokio::sync::Notify;
use tributary_data_plane::connectors::egress::{self, EgressPolicy};
use tributary_data_plane::protocol::{
    KafkaConnection, TargetState, TaskAssignment, TaskId, TaskReport, TaskState,
};
use tributary_data_plane::runtime::TaskHandle;

pub const TIMEOUT: Duration = Duration::from_secs(60);

/// An ORDERS record as Datagen's quickstart shapes it.
pub fn order(id: i64, units: f64) -> String {
    json!({
        "ordertime": 1_497_014_222_380i64 + id,
        "orderid": id,
        "itemid": format!("Item_{id}"),
        "orderunits": units,
        "address": {"city": format!("City_{id}"), "state": "State_4", "zipcode": 50436},
    })
    .to_string()
}

pub fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        Alphanumeric
            .sample_string(&mut rand::thread_rng(), 10)
            .to_ascii_lowercase()
    )
}

pub async fn create_topic(topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "creating topic {topic} on {} failed (is the broker up?): {e}",
                bootstrap()
            )
        });
    for r in results {
        r.unwrap_or_else(|(t, code)| panic!("creating topic {t} failed: {code}"));
    }
}

/// Produces records (key, value; `None` value = tombstone) to one
/// partition each, in order per partition, waiting for every acknowledgement.
pub async fn produce(topic: &str, records: &[(i32, Option<&str>, Option<&str>)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("message.timeout.ms", "20000")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    let sends = records.iter().map(|(partition, key, value)| {
        let mut r: FutureRecord<'_, str, str> = FutureRecord::to(topic).partition(*partition);
        if let Some(k) = key {
            r = r.key(k);
        }
        if let Some(v) = value {
            r = r.payload(v);
        }
        producer.send(r, Duration::from_secs(20))
    });
    for result in futures::future::join_all(sends).await {
        result
            .unwrap_or_else(|(e, _)| panic!("producing to {topic} on {} failed: {e}", bootstrap()));
    }
}

/// The offsets the sink's consumer group has committed, per partition.
pub fn committed(group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    (0..partitions)
        .map(
            |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o,
                _ => -1,
            },
        )
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MySql,
    Postgres,
}

impl Kind {
    pub fn class(&self) -> &'static str {
        match self {
            Kind::MySql => "MySqlSink",
            Kind::Postgres => "PostgresSink",
        }
    }
}

/// A database of its own on the test server, dropped by [`TestDb::cleanup`].
pub struct TestDb {
    pub kind: Kind,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pool: Pool,
    admin: Pool,
}

enum Pool {
    My(MySqlPool),
    Pg(PgPool),
}

impl TestDb {
    pub async fn create(kind: Kind) -> TestDb {
        let name = unique("sinktest");
        match kind {
            Kind::MySql => {
                let url = std::env::var("MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
                let opts = MySqlConnectOptions::from_str(&url).expect("MYSQL_URL");
                let admin = MySqlPool::connect_with(opts.clone())
                    .await
                    .unwrap_or_else(|e| panic!("MariaDB at {url} is not reachable: {e}"));
                sqlx::query(&format!("CREATE DATABASE `{name}`"))
                    .execute(&admin)
                    .await
                    .expect("create database");
                let pool = MySqlPool::connect_with(opts.clone().database(&name))
                    .await
                    .expect("connect");
                TestDb {
                    kind,
                    host: opts.get_host().to_string(),
                    port: opts.get_port(),
                    user: opts.get_username().to_string(),
                    name,
                    pool: Pool::My(pool),
                    admin: Pool::My(admin),
                }
            }
            Kind::Postgres => {
                let url = std::env::var("DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let opts = PgConnectOptions::from_str(&url).expect("DATABASE_URL");
                let admin = PgPool::connect_with(opts.clone())
                    .await
                    .unwrap_or_else(|e| panic!("Postgres at {url} is not reachable: {e}"));
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&admin)
                    .await
                    .expect("create database");
                let pool = PgPool::connect_with(opts.clone().database(&name))
                    .await
                    .expect("connect");
                TestDb {
                    kind,
                    host: opts.get_host().to_string(),
                    port: opts.get_port(),
                    user: opts.get_username().to_string(),
                    name,
                    pool: Pool::Pg(pool),
                    admin: Pool::Pg(admin),
                }
            }
        }
    }

    /// A sink connector config writing to this database.
    pub fn sink_config(&self, topic: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let port = self.port.to_string();
        let mut c: BTreeMap<String, String> = [
            ("connector.class", self.kind.class()),
            ("name", "jdbc-sink-test"),
            ("topics", topic),
            ("input.data.format", "JSON"),
            ("connection.host", self.host.as_str()),
            ("connection.port", port.as_str()),
            ("connection.user", self.user.as_str()),
            ("connection.password", ""),
            ("db.name", self.name.as_str()),
            ("ssl.mode", "disable"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    pub async fn execute(&self, sql: &str) {
        match &self.pool {
            Pool::My(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Pool::Pg(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Rows of `table`, 0 when it does not exist yet.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let result = match &self.pool {
            Pool::My(p) => sqlx::query_scalar::<_, i64>(&sql).fetch_one(p).await,
            Pool::Pg(p) => sqlx::query_scalar::<_, i64>(&sql).fetch_one(p).await,
        };
        result.unwrap_or(0)
    }

    /// Every row of `table` ordered by `order`, each column as text (NULL = None).
    pub async fn rows(
        &self,
        table: &str,
        columns: &[&str],
        order: &str,
    ) -> Vec<Vec<Option<String>>> {
        // Aliased: Postgres would name `CAST(c AS TEXT)` "c", and ORDER BY
        // would then sort the text rather than the column.
        let cast = |(i, c): (usize, &&str)| match self.kind {
            Kind::MySql => format!("CAST({c} AS CHAR) AS out_{i}"),
            Kind::Postgres => format!("CAST({c} AS TEXT) AS out_{i}"),
        };
        let list: Vec<String> = columns.iter().enumerate().map(cast).collect();
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", list.join(", "));
        let n = columns.len();
        match &self.pool {
            Pool::My(p) => sqlx::query(&sql)
                .fetch_all(p)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| (0..n).map(|i| r.get::<Option<String>, _>(i)).collect())
                .collect(),
            Pool::Pg(p) => sqlx::query(&sql)
                .fetch_all(p)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| (0..n).map(|i| r.get::<Option<String>, _>(i)).collect())
                .collect(),
        }
    }

    /// Column names of `table`, in table order.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        self.column_types(table)
            .await
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// (column name, data type as information_schema names it), in table order.
    pub async fn column_types(&self, table: &str) -> Vec<(String, String)> {
        let (sql, schema) = match self.kind {
            Kind::MySql => (
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR) FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                self.name.clone(),
            ),
            Kind::Postgres => (
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                "public".to_string(),
            ),
        };
        match &self.pool {
            Pool::My(p) => {
                sqlx::query_as::<_, (String, String)>(sql)
                    .bind(schema)
                    .bind(table)
                    .fetch_all(p)
                    .await
            }
            Pool::Pg(p) => {
                sqlx::query_as::<_, (String, String)>(sql)
                    .bind(schema)
                    .bind(table)
                    .fetch_all(p)
                    .await
            }
        }
        .expect("columns")
    }

    /// Ends the sink's database sessions from the server side, as a
    /// database restart or a failover would.
    pub async fn kill_sink_sessions(&self) -> u64 {
        match &self.admin {
            Pool::Pg(admin) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'tributary-jdbc-sink') t",
            )
            .bind(&self.name)
            .fetch_one(admin)
            .await
            .map(|n| n as u64)
            .expect("terminate sessions"),
            Pool::My(admin) => {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                )
                .bind(&self.name)
                .fetch_all(admin)
                .await
                .expect("processlist");
                for id in &ids {
                    let _ = sqlx::query(&format!("KILL {id}")).execute(admin).await;
                }
                ids.len() as u64
            }
        }
    }

    pub async fn cleanup(self) {
        match (&self.pool, &self.admin) {
            (Pool::My(pool), Pool::My(admin)) => {
                pool.close().await;
                let _ = sqlx::query(&format!("DROP DATABASE `{}`", self.name))
                    .execute(admin)
                    .await;
            }
            (Pool::Pg(pool), Pool::Pg(admin)) => {
                pool.close().await;
                let _ = sqlx::query(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name))
                    .execute(admin)
                    .await;
            }
            _ => {}
        }
    }
}

/// The assignment the control plane would send for task 0 of a connector.
pub fn assignment(connector_id: &str, config: BTreeMap<String, String>) -> TaskAssignment {
    serde_json::from_value(json!({
        "connector_id": connector_id,
        "task": 0,
        "connector_name": "jdbc-sink-test",
        "epoch": 1,
        "target_state": "RUNNING",
        "config": config,
        "kafka": {"bootstrap_servers": bootstrap()},
    }))
    .expect("assignment")
}

pub fn start(assignment: TaskAssignment) -> TaskHandle {
    // The databases and broker of these tests are on loopback, which the
    // worker's default egress policy refuses.
    let _ = egress::install(EgressPolicy::parse("loopback,private").expect("policy"));
    TaskHandle::start(assignment, Arc::new(Notify::new()))
}

/// Waits until `ok` holds for the task's report; fails on FAILED.
pub async fn wait_report(
    handle: &TaskHandle,
    what: &str,
    ok: impl Fn(&TaskReport) -> bool,
) -> TaskReport {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let report = handle.report();
        assert_ne!(
            report.state,
            TaskState::Failed,
            "task failed while waiting for {what}: {:?}",
            report.trace
        );
        if ok(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the task is FAILED and returns its trace.
pub async fn wait_failed(handle: &TaskHandle) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let report = handle.report();
        if report.state == TaskState::Failed {
            return report.trace.unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the task to fail: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `table` has `n` rows; fails early when the task fails.
pub async fn wait_rows(db: &TestDb, handle: &TaskHandle, table: &str, n: i64) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let report = handle.report();
        assert_ne!(
            report.state,
            TaskState::Failed,
            "task failed: {:?}",
            report.trace
        );
        let count = db.count(table).await;
        if count == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} rows in {table}: {count} rows, {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn stop(handle: TaskHandle) {
    handle.stop(Duration::from_secs(10)).await;
}

/// The assignment of task 0 of a Datagen ORDERS source (`max.interval=0`)
/// named `name` writing to `topic`, plus `extra` keys.
pub fn datagen_assignment(
    connector_id: &str,
    name: &str,
    bootstrap: &str,
    topic: &str,
    extra: &[(&str, &str)],
) -> TaskAssignment {
    let config: BTreeMap<String, String> = [
        ("connector.class", "DatagenSource"),
        ("name", name),
        ("kafka.topic", topic),
        ("quickstart", "ORDERS"),
        ("max.interval", "0"),
        ("task.id", "0"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    TaskAssignment {
        id: TaskId {
            connector_id: connector_id.to_string(),
            task: 0,
        },
        connector_name: name.to_string(),
        epoch: 1,
        target_state: TargetState::Running,
        config,
        kafka: KafkaConnection {
            bootstrap_servers: bootstrap.to_string(),
            properties: BTreeMap::new(),
        },
        offsets: Vec::new(),
        environment_id: String::new(),
    }
}

/// A consumer (group `verify`, no commits) assigned partition 0 of `topic`
/// from its beginning; `extra` client settings on top.
pub fn partition_reader(bootstrap: &str, topic: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "verify")
        .set("enable.auto.commit", "false");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// A message's headers, values as (lossy) text; a null value is "".
pub fn header_map(msg: &impl Message) -> BTreeMap<String, String> {
    msg.headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_string(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first record of `topic` on the test broker (e.g. a dead letter
/// queue), waiting for it up to [`TIMEOUT`].
pub async fn first_record(topic: &str) -> OwnedMessage {
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    reader.subscribe(&[topic]).expect("subscribe");
    tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Ok(m) = reader.recv().await {
                return m.detach();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no record in {topic} within {TIMEOUT:?}"))
}

/// A record as read back: key and value as JSON (`None`: null / tombstone).
pub type Read = (Option<serde_json::Value>, Option<serde_json::Value>);

/// Reads `topic` from the start until `n` records came, then a little
/// longer so that extra (repeated) records show too.
pub async fn read(topic: &str, n: usize, handle: &TaskHandle) -> Vec<Read> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("cdc-reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // The task creates the topic after we subscribe.
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    let mut settle: Option<Instant> = None;
    loop {
        let report = handle.report();
        assert_ne!(
            report.state,
            TaskState::Failed,
            "task failed: {:?}",
            report.trace
        );
        if out.len() >= n && settle.is_none() {
            settle = Some(Instant::now() + Duration::from_millis(1500));
        }
        if settle.is_some_and(|s| Instant::now() >= s) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "read {} of {n} records from {topic}: {out:#?}\ntask: {report:?}",
            out.len()
        );
        match tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await {
            Ok(Ok(m)) => {
                let json = |b: Option<&[u8]>| {
                    b.map(|b| serde_json::from_slice::<serde_json::Value>(b).expect("JSON record"))
                };
                out.push((json(m.key()), json(m.payload())));
            }
            // The topic may not exist yet.
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(_) => {}
        }
    }
}
