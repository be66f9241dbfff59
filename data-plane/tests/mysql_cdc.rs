//! The MySQL CDC source end to end: a task run through the worker runtime
//! against the real MariaDB (`MYSQL_URL`, which needs the row-based binlog;
//! `tests/run` turns it on) and the real broker (`KAFKA_BOOTSTRAP`), each
//! test on a database and topics of its own.

mod support;

use std::collections::BTreeMap;

use serde_json::{json, Value};
use support::{read, Kind, Read, TestDb};
use tributary_data_plane::protocol::{SourceOffset, TaskAssignment};

fn cdc_config(db: &TestDb, prefix: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let port = db.port.to_string();
    let include = format!("{}\\.customers", db.name);
    let mut c: BTreeMap<String, String> = [
        ("connector.class", "MySqlCdcSourceV2"),
        ("name", prefix),
        ("database.hostname", db.host.as_str()),
        ("database.port", port.as_str()),
        ("database.user", db.user.as_str()),
        ("database.password", ""),
        ("topic.prefix", prefix),
        ("table.include.list", include.as_str()),
        ("poll.interval.ms", "100"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    c
}

fn assignment(config: BTreeMap<String, String>, offsets: Vec<SourceOffset>) -> TaskAssignment {
    let mut a = support::assignment("lcc-mycdc", config);
    a.offsets = offsets;
    a
}

fn op(r: &Read) -> Option<&str> {
    r.1.as_ref().and_then(|v| v["op"].as_str())
}

fn summary(records: &[Read]) -> Vec<(Option<Value>, Option<&str>)> {
    records.iter().map(|r| (r.0.clone(), op(r))).collect()
}

const CUSTOMERS: &str = "CREATE TABLE customers (
    id INT UNSIGNED PRIMARY KEY,
    email VARCHAR(100) NOT NULL,
    secret VARCHAR(20),
    balance DECIMAL(10,2),
    born DATE,
    seen DATETIME(6),
    changed TIMESTAMP NULL,
    opens TIME,
    size ENUM('s','m','l'),
    tags SET('a','b','c'),
    doc JSON,
    raw BLOB,
    flag TINYINT UNSIGNED
)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_binlog_changes_stream_as_debezium_events() {
    let db = TestDb::create(Kind::MySql).await;
    db.execute(CUSTOMERS).await;
    db.execute("CREATE TABLE audit (id INT PRIMARY KEY, note TEXT)")
        .await;
    db.execute(
        "INSERT INTO customers VALUES
         (1, 'a@x', 'pw', 12.34, '1970-01-11', '1970-01-01 00:00:01.5', '1970-01-02 00:00:00',
          '-25:00:00', 'm', 'a,c', '{\"k\": 1}', x'0102', 255),
         (2, 'b@x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    .await;
    let prefix = support::unique("mycdc");
    let excluded = format!("{}\\.customers\\.secret", db.name);
    let config = cdc_config(&db, &prefix, &[("column.exclude.list", excluded.as_str())]);
    let handle = support::start(assignment(config, Vec::new()));
    let topic = format!("{prefix}.{}.customers", db.name);

    let snapshot = read(&topic, 2, &handle).await;
    assert_eq!(summary(&snapshot)[0], (Some(json!({"id": 1})), Some("r")));
    let first = snapshot[0].1.as_ref().unwrap();
    assert_eq!(first["before"], Value::Null);
    let after = &first["after"];
    assert!(
        after.get("secret").is_none(),
        "column.exclude.list: {after}"
    );
    assert_eq!(after["email"], "a@x");
    assert_eq!(after["born"], 10, "io.debezium.time.Date: days");
    assert_eq!(after["seen"], 1_500_000, "MicroTimestamp: µs");
    assert_eq!(after["changed"], "1970-01-02T00:00:00Z", "ZonedTimestamp");
    assert_eq!(after["opens"], -90_000_000_000_i64, "MicroTime: µs");
    assert_eq!(after["size"], "m");
    assert_eq!(after["tags"], "a,c");
    assert_eq!(after["raw"], "AQI=");
    assert_eq!(after["flag"], 255);
    let source = &first["source"];
    assert_eq!(source["connector"], "mysql");
    assert_eq!(source["name"], prefix.as_str());
    assert_eq!(source["db"], db.name.as_str());
    assert_eq!(source["table"], "customers");
    assert_eq!(
        snapshot[1].1.as_ref().unwrap()["source"]["snapshot"],
        "last"
    );

    db.execute(
        "INSERT INTO customers (id, email, flag, tags, size) VALUES (3, 'c@x', 200, 'b', 'l')",
    )
    .await;
    db.execute("UPDATE customers SET email = 'a2@x' WHERE id = 1")
        .await;
    db.execute("DELETE FROM customers WHERE id = 2").await;
    db.execute("INSERT INTO audit VALUES (1, 'not captured')")
        .await;
    db.execute("UPDATE customers SET id = 30 WHERE id = 3")
        .await;
    db.execute("ALTER TABLE customers ADD COLUMN city VARCHAR(20)")
        .await;
    db.execute("INSERT INTO customers (id, email, city) VALUES (4, 'd@x', 'Oslo')")
        .await;

    let all = read(&topic, 2 + 8, &handle).await;
    let changes = &all[2..];
    assert_eq!(
        summary(changes),
        vec![
            (Some(json!({"id": 3})), Some("c")),
            (Some(json!({"id": 1})), Some("u")),
            (Some(json!({"id": 2})), Some("d")),
            (Some(json!({"id": 2})), None),
            (Some(json!({"id": 3})), Some("d")),
            (Some(json!({"id": 3})), None),
            (Some(json!({"id": 30})), Some("c")),
            (Some(json!({"id": 4})), Some("c")),
        ],
        "{changes:#?}"
    );
    let insert = changes[0].1.as_ref().unwrap();
    assert_eq!(insert["after"]["flag"], 200, "unsigned from the binlog");
    assert_eq!(insert["after"]["tags"], "b");
    assert_eq!(insert["after"]["size"], "l");
    let update = changes[1].1.as_ref().unwrap();
    assert_eq!(update["before"]["email"], "a@x", "full before image");
    assert_eq!(update["after"]["email"], "a2@x");
    assert_eq!(update["after"]["seen"], 1_500_000);
    assert_eq!(update["after"]["changed"], "1970-01-02T00:00:00Z");
    assert_eq!(update["after"]["opens"], -90_000_000_000_i64);
    assert_eq!(update["after"]["tags"], "a,c");
    assert!(update["after"].get("secret").is_none());
    let src = &update["source"];
    assert_eq!(src["snapshot"], "false");
    assert!(src["file"].as_str().is_some_and(|f| !f.is_empty()), "{src}");
    assert!(src["pos"].as_u64().is_some_and(|p| p > 4), "{src}");
    assert!(
        src["gtid"]
            .as_str()
            .is_some_and(|g| g.split('-').count() == 3),
        "MariaDB GTID domain-server-seq: {src}"
    );
    let delete = changes[2].1.as_ref().unwrap();
    assert_eq!(delete["before"]["id"], 2);
    assert_eq!(delete["after"], Value::Null);
    let added = changes[7].1.as_ref().unwrap();
    assert_eq!(added["after"]["city"], "Oslo", "DDL picked up: {added}");

    let offsets = support::wait_report(&handle, "everything acknowledged", |r| r.records >= 10)
        .await
        .offsets;
    assert_eq!(offsets[0].partition, json!({"server": prefix}));
    assert!(offsets[0].offset["file"].as_str().is_some());
    support::stop(handle).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_task_resumes_from_its_offset_without_loss() {
    let db = TestDb::create(Kind::MySql).await;
    db.execute("CREATE TABLE customers (id INT PRIMARY KEY, qty INT)")
        .await;
    db.execute("INSERT INTO customers VALUES (1, 1), (2, 2)")
        .await;
    let prefix = support::unique("mycdc");
    let config = cdc_config(&db, &prefix, &[]);
    let topic = format!("{prefix}.{}.customers", db.name);

    let first = support::start(assignment(config.clone(), Vec::new()));
    assert_eq!(read(&topic, 2, &first).await.len(), 2);
    for id in 3..=5 {
        db.execute(&format!("INSERT INTO customers VALUES ({id}, {id})"))
            .await;
    }
    // One transaction of several row changes.
    db.execute("UPDATE customers SET qty = qty + 100 WHERE id IN (1, 2, 3)")
        .await;
    assert_eq!(read(&topic, 2 + 3 + 3, &first).await.len(), 8);
    let last = support::wait_report(&first, "everything acknowledged", |r| r.records >= 8)
        .await
        .offsets;
    assert_eq!(last[0].offset["event"], 3, "{last:?}");
    support::stop(first).await;

    // Changes while no task runs.
    db.execute("INSERT INTO customers VALUES (6, 6)").await;
    db.execute("DELETE FROM customers WHERE id = 4").await;

    let second = support::start(assignment(config, last));
    let all = read(&topic, 8 + 3, &second).await;
    assert_eq!(
        summary(&all[8..]),
        vec![
            (Some(json!({"id": 6})), Some("c")),
            (Some(json!({"id": 4})), Some("d")),
            (Some(json!({"id": 4})), None),
        ],
        "nothing lost, nothing repeated: {all:#?}"
    );
    support::stop(second).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_modes_never_and_initial_only() {
    let db = TestDb::create(Kind::MySql).await;
    db.execute("CREATE TABLE customers (id INT PRIMARY KEY, qty INT)")
        .await;
    db.execute("INSERT INTO customers VALUES (1, 1)").await;

    // never: only what changes after the start.
    let prefix = support::unique("mycdc");
    let topic = format!("{prefix}.{}.customers", db.name);
    let never = support::start(assignment(
        cdc_config(&db, &prefix, &[("snapshot.mode", "never")]),
        Vec::new(),
    ));
    support::wait_report(&never, "streaming", |r| {
        r.state == tributary_data_plane::protocol::TaskState::Running
    })
    .await;
    // The task streams from the position it reads when it starts.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    db.execute("INSERT INTO customers VALUES (2, 2)").await;
    let records = read(&topic, 1, &never).await;
    assert_eq!(summary(&records), vec![(Some(json!({"id": 2})), Some("c"))]);
    support::stop(never).await;

    // initial_only: the rows, then nothing.
    let prefix = support::unique("mycdc");
    let topic = format!("{prefix}.{}.customers", db.name);
    let only = support::start(assignment(
        cdc_config(&db, &prefix, &[("snapshot.mode", "initial_only")]),
        Vec::new(),
    ));
    assert_eq!(read(&topic, 2, &only).await.len(), 2);
    db.execute("INSERT INTO customers VALUES (3, 3)").await;
    let records = read(&topic, 2, &only).await;
    assert_eq!(
        summary(&records),
        vec![
            (Some(json!({"id": 1})), Some("r")),
            (Some(json!({"id": 2})), Some("r")),
        ]
    );
    support::stop(only).await;
    db.cleanup().await;
}
