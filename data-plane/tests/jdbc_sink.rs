//! The JDBC sinks end to end: JSON records produced to a real broker are
//! consumed by a sink task run through the worker runtime and land as rows
//! in a real MariaDB or Postgres database of the test's own.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{order, Kind, TestDb};
use tributary_data_plane::connectors;
use tributary_data_plane::protocol::TaskState;
use tributary_data_plane::record::Record;

/// ORDERS from Datagen (keys as the String converter writes them) upserted
/// by key, a later update, a tombstone that deletes, and a record with a
/// new field that adds a column; offsets committed for all of it.
async fn orders_upsert_delete_and_evolve(kind: Kind) {
    let db = TestDb::create(kind).await;
    let topic = support::unique("orders");
    support::create_topic(&topic, 2).await;
    let keys: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let values: Vec<String> = (0..10).map(|i| order(i, 2.5)).collect();
    let first: Vec<(i32, Option<&str>, Option<&str>)> = (0..10)
        .map(|i| {
            (
                (i % 2) as i32,
                Some(keys[i].as_str()),
                Some(values[i].as_str()),
            )
        })
        .collect();
    support::produce(&topic, &first).await;

    let connector = support::unique("lcc");
    let config = db.sink_config(
        &topic,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_key"),
            ("pk.fields", "orderid"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
            ("delete.enabled", "true"),
        ],
    );
    let handle = support::start(support::assignment(&connector, config));
    support::wait_rows(&db, &handle, &topic, 10).await;

    let types: BTreeMap<String, String> = db.column_types(&topic).await.into_iter().collect();
    assert_eq!(types.get("orderid").map(String::as_str), Some("bigint"));
    assert!(
        matches!(
            types.get("orderunits").map(String::as_str),
            Some("double" | "double precision")
        ),
        "{types:?}"
    );
    assert_eq!(types.get("itemid").map(String::as_str), Some("text"));
    // MariaDB's JSON is an alias of LONGTEXT (with a validity check).
    assert!(
        matches!(
            types.get("address").map(String::as_str),
            Some("json" | "jsonb" | "longtext")
        ),
        "{types:?}"
    );

    let row = db
        .rows(
            &topic,
            &["orderid", "itemid", "orderunits", "address"],
            "orderid",
        )
        .await
        .remove(3);
    assert_eq!(row[0].as_deref(), Some("3"));
    assert_eq!(row[1].as_deref(), Some("Item_3"));
    assert_eq!(
        row[2].as_deref().and_then(|v| v.parse::<f64>().ok()),
        Some(2.5)
    );
    let address: Value =
        serde_json::from_str(row[3].as_deref().unwrap_or("null")).expect("address is JSON text");
    assert_eq!(
        address,
        json!({"city": "City_3", "state": "State_4", "zipcode": 50436})
    );

    let update = order(3, 9.5);
    let mut with_note: Value = serde_json::from_str(&order(10, 1.5)).expect("json");
    with_note["note"] = json!("rush");
    let with_note = with_note.to_string();
    support::produce(
        &topic,
        &[
            (1, Some("3"), Some(update.as_str())),
            (0, Some("4"), None),
            (0, Some("10"), Some(with_note.as_str())),
        ],
    )
    .await;

    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        let report = handle.report();
        assert_ne!(report.state, TaskState::Failed, "{:?}", report.trace);
        if db.columns(&topic).await.contains(&"note".to_string()) && db.count(&topic).await == 10 {
            let rows = db
                .rows(&topic, &["orderid", "orderunits", "note"], "orderid")
                .await;
            let ids: Vec<&str> = rows.iter().filter_map(|r| r[0].as_deref()).collect();
            let units_3 = rows
                .iter()
                .find(|r| r[0].as_deref() == Some("3"))
                .and_then(|r| r[1].clone());
            if !ids.contains(&"4") && units_3.as_deref() == Some("9.5") {
                assert_eq!(ids, vec!["0", "1", "2", "3", "5", "6", "7", "8", "9", "10"]);
                let notes: Vec<Option<&str>> = rows.iter().map(|r| r[2].as_deref()).collect();
                assert_eq!(notes.iter().filter(|n| n.is_some()).count(), 1);
                assert_eq!(notes.last().copied().flatten(), Some("rush"));
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "update, delete and new column never all showed up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    support::wait_report(&handle, "13 delivered records", |r| r.records == 13).await;
    support::stop(handle).await;
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 2),
        vec![7, 6]
    );
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_orders_upsert_delete_and_evolve() {
    orders_upsert_delete_and_evolve(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_orders_upsert_delete_and_evolve() {
    orders_upsert_delete_and_evolve(Kind::Postgres).await;
}

/// At-least-once redelivers whole batches: putting one twice (with a key
/// repeated inside it) leaves the same rows as putting it once.
async fn redelivered_batch_is_idempotent(kind: Kind) {
    let db = TestDb::create(kind).await;
    let table = support::unique("users");
    let config = db.sink_config(
        &table,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("auto.create", "true"),
        ],
    );
    let plugin = connectors::find(kind.class()).expect("plugin");
    let mut task = plugin.start_sink_task(&config, 0).expect("task");
    task.open().await.expect("open");
    let batch: Vec<Record> = [(1, "old"), (2, "b"), (3, "c"), (1, "new"), (4, "d")]
        .iter()
        .enumerate()
        .map(|(offset, (id, name))| {
            let mut r = Record::new(
                &table,
                None,
                Some(json!({"id": id, "name": name, "active": true})),
            );
            r.kafka_partition = Some(0);
            r.kafka_offset = Some(offset as i64);
            r
        })
        .collect();
    task.put(batch.clone()).await.expect("first put");
    task.flush().await.expect("flush");
    let once = db.rows(&table, &["id", "name", "active"], "id").await;
    task.put(batch).await.expect("second put");
    task.flush().await.expect("flush");
    let twice = db.rows(&table, &["id", "name", "active"], "id").await;
    task.close().await;

    assert_eq!(once, twice);
    let names: Vec<Option<&str>> = twice.iter().map(|r| r[1].as_deref()).collect();
    assert_eq!(names, vec![Some("new"), Some("b"), Some("c"), Some("d")]);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_redelivered_batch_is_idempotent() {
    redelivered_batch_is_idempotent(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_redelivered_batch_is_idempotent() {
    redelivered_batch_is_idempotent(Kind::Postgres).await;
}

/// A database nobody listens on: the task fails at start, naming the
/// address, and the password appears nowhere.
async fn unreachable_database_fails_naming_the_address(kind: Kind) {
    let config: BTreeMap<String, String> = [
        ("connector.class", kind.class()),
        ("topics", "never-read"),
        ("connection.host", "127.0.0.1"),
        ("connection.port", "1"),
        ("connection.user", "app"),
        ("connection.password", "hunter2-secret"),
        ("db.name", "shop"),
        ("ssl.mode", "disable"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let handle = support::start(support::assignment(&support::unique("lcc"), config));
    let trace = support::wait_failed(&handle).await;
    assert!(trace.contains("cannot connect to"), "{trace}");
    assert!(trace.contains("127.0.0.1:1"), "{trace}");
    assert!(!trace.contains("hunter2"), "{trace}");
    support::stop(handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_unreachable_database_fails_naming_the_address() {
    unreachable_database_fails_naming_the_address(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreachable_database_fails_naming_the_address() {
    unreachable_database_fails_naming_the_address(Kind::Postgres).await;
}

/// A database connection that drops (restart, failover) is retried and
/// reopened; the task stays RUNNING and loses nothing.
async fn lost_connections_are_reopened(kind: Kind) {
    let db = TestDb::create(kind).await;
    let topic = support::unique("events");
    support::create_topic(&topic, 1).await;
    let event = |i: i64| json!({"id": i}).to_string();
    let (e0, e1, e2, e3) = (event(0), event(1), event(2), event(3));
    support::produce(&topic, &[(0, None, Some(&e0)), (0, None, Some(&e1))]).await;
    let config = db.sink_config(
        &topic,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("auto.create", "true"),
            ("retry.backoff.ms", "100"),
        ],
    );
    let handle = support::start(support::assignment(&support::unique("lcc"), config));
    support::wait_rows(&db, &handle, &topic, 2).await;
    assert!(db.kill_sink_sessions().await >= 1, "no sink session to end");
    support::produce(&topic, &[(0, None, Some(&e2)), (0, None, Some(&e3))]).await;
    support::wait_rows(&db, &handle, &topic, 4).await;
    assert_eq!(handle.report().state, TaskState::Running);
    support::stop(handle).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_lost_connections_are_reopened() {
    lost_connections_are_reopened(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_connections_are_reopened() {
    lost_connections_are_reopened(Kind::Postgres).await;
}

/// Without `auto.create` (the default) a missing table fails the task with
/// a trace saying what to do; without `auto.evolve` so does a missing column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_table_or_column_fails_with_a_hint() {
    let db = TestDb::create(Kind::MySql).await;
    let topic = support::unique("orders");
    support::create_topic(&topic, 1).await;
    support::produce(&topic, &[(0, None, Some(r#"{"id":1,"note":"x"}"#))]).await;

    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        db.sink_config(&topic, &[]),
    ));
    let trace = support::wait_failed(&handle).await;
    assert!(
        trace.contains(&format!("table {topic} does not exist")),
        "{trace}"
    );
    assert!(trace.contains("auto.create=true"), "{trace}");
    assert!(
        trace.contains(&format!("topic {topic} partition 0 offset 0")),
        "{trace}"
    );
    support::stop(handle).await;

    db.execute(&format!("CREATE TABLE {topic} (id BIGINT PRIMARY KEY)"))
        .await;
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        db.sink_config(&topic, &[]),
    ));
    let trace = support::wait_failed(&handle).await;
    assert!(trace.contains("has no column note"), "{trace}");
    assert!(trace.contains("auto.evolve=true"), "{trace}");
    support::stop(handle).await;
    db.cleanup().await;
}

/// Records with a Connect schema (as the Avro and JSON-with-schema
/// converters read them) create columns of the schema's types, NOT NULL
/// for required fields, and land with dates, timestamps, decimals and bytes
/// converted.
async fn schema_types_make_the_columns(kind: Kind) {
    use std::sync::Arc;
    use tributary_data_plane::schema::{Field, Schema};
    let db = TestDb::create(kind).await;
    let table = support::unique("payments");
    let config = db.sink_config(
        &table,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
            ("auto.create", "true"),
        ],
    );
    let schema = Arc::new(Schema::structure(vec![
        Field::new("id", Schema::int32()),
        Field::new("amount", Schema::decimal(2)),
        Field::new("day", Schema::date()),
        Field::new("at", Schema::timestamp().optional()),
        Field::new("ratio", Schema::float32().optional()),
        Field::new("raw", Schema::bytes().optional()),
        Field::new("note", Schema::string().optional()),
    ]));
    let plugin = connectors::find(kind.class()).expect("plugin");
    let mut task = plugin.start_sink_task(&config, 0).expect("task");
    task.open().await.expect("open");
    let values = [
        json!({"id": 1, "amount": "BOI=", "day": 19000, "at": 1_500_000_000_123i64, "ratio": 0.5, "raw": "3q0=", "note": "x"}),
        json!({"id": 2, "amount": "+w==", "day": 0}),
    ];
    let batch: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(offset, v)| {
            let mut r = Record::new(&table, None, Some(v.clone()))
                .with_value_schema(Some(Arc::clone(&schema)));
            r.kafka_partition = Some(0);
            r.kafka_offset = Some(offset as i64);
            r
        })
        .collect();
    task.put(batch).await.expect("put");
    task.flush().await.expect("flush");
    task.close().await;

    let types: BTreeMap<String, String> = db.column_types(&table).await.into_iter().collect();
    let ty = |c: &str| types.get(c).cloned().unwrap_or_default();
    assert!(matches!(ty("id").as_str(), "int" | "integer"), "{types:?}");
    assert!(
        matches!(ty("amount").as_str(), "decimal" | "numeric"),
        "{types:?}"
    );
    assert_eq!(ty("day"), "date");
    assert!(
        matches!(
            ty("at").as_str(),
            "datetime" | "timestamp without time zone"
        ),
        "{types:?}"
    );
    assert!(
        matches!(ty("ratio").as_str(), "float" | "real"),
        "{types:?}"
    );
    assert!(matches!(ty("raw").as_str(), "blob" | "bytea"), "{types:?}");
    let rows = db
        .rows(&table, &["id", "amount", "day", "at", "note"], "id")
        .await;
    assert_eq!(rows[0][1].as_deref(), Some("12.50"));
    assert_eq!(rows[0][2].as_deref(), Some("2022-01-08"));
    assert!(
        rows[0][3]
            .as_deref()
            .is_some_and(|t| t.starts_with("2017-07-14") && t.contains("02:40:00.123")),
        "{rows:?}"
    );
    assert_eq!(rows[1][1].as_deref(), Some("-0.05"));
    assert_eq!(rows[1][3], None);
    // Required fields are NOT NULL columns.
    let insert_null = format!("INSERT INTO {table} (id, amount, day) VALUES (3, NULL, NULL)");
    let refused =
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(db.execute(&insert_null)))
            .await;
    assert!(refused.is_err(), "a NULL in a required column was accepted");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_schema_types_make_the_columns() {
    schema_types_make_the_columns(Kind::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_schema_types_make_the_columns() {
    schema_types_make_the_columns(Kind::Postgres).await;
}
