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

// ---------------------------------------------------------------------------
// Postgres COPY: runs of at least `pg_copy::MIN_ROWS` rows are copied (into
// the table, or into a staging table for UPSERT and UPDATE) instead of
// written with multi-row statements.

use tributary_data_plane::connectors::jdbc::pg_copy::MIN_ROWS;
use tributary_data_plane::connectors::{SinkTask, TaskError};

/// A Postgres sink task writing to `db`, opened.
async fn pg_task(db: &TestDb, table: &str, extra: &[(&str, &str)]) -> Box<dyn SinkTask> {
    let config = db.sink_config(table, extra);
    let plugin = connectors::find(Kind::Postgres.class()).expect("plugin");
    let mut task = plugin.start_sink_task(&config, 0).expect("task");
    task.open().await.expect("open");
    task
}

fn rec(table: &str, offset: i64, key: Option<Value>, value: Option<Value>) -> Record {
    let mut r = Record::new(table, key, value);
    r.kafka_partition = Some(0);
    r.kafka_offset = Some(offset);
    r
}

/// Every row of `table` with every column as text, ordered by `id`.
async fn pg_rows(db: &TestDb, table: &str, columns: &[&str]) -> Vec<Vec<Option<String>>> {
    db.rows(&format!("\"{table}\""), columns, "id").await
}

const TRICKY: &[&str] = &[
    "tab\there",
    "new\nline and\r\ncrlf",
    "back\\slash \\N \\. \\t",
    "\\",
    "\\.",
    "",
    "quotes ' \" and ; DROP TABLE x; --",
    "Grüße, 東京, Ελληνικά, emoji 🚀🦀",
    "\u{7f}\u{1}\u{b}\u{c} control characters",
    "trailing space ",
];

const TYPED_COLUMNS: &[&str] = &[
    "id", "i", "s", "n", "d", "r", "b", "t", "vc", "j", "ts", "dt", "u", "by", "iv",
];

/// Values for every column type the sink writes into, from every JSON type
/// the records carry; NULLs in turn.
fn typed_value(i: usize) -> Value {
    let text = TRICKY[i % TRICKY.len()];
    let mut v = json!({
        "id": i,
        // Doubles into integers round half to even, as the cast does.
        "i": if i.is_multiple_of(2) { json!(i as f64 + 0.5) } else { json!(i) },
        "s": -(i as i64),
        "n": if i.is_multiple_of(3) { json!(0.1 + 0.2) } else { json!(format!("{i}.25")) },
        "d": (i as f64) * 1.5e-7,
        "r": 2.5,
        "b": if i.is_multiple_of(2) { json!(true) } else { json!("false") },
        "t": text,
        "vc": format!("v{i}"),
        "j": {"text": text, "list": [1, 2.5, null, true], "n": i},
        "ts": format!("2024-01-{:02}T03:04:05.123456Z", i % 28 + 1),
        "dt": "2024-02-29",
        "u": format!("00000000-0000-0000-0000-{i:012}"),
        "by": "\\x00ff10",
        "iv": "1 day 02:00:00",
    });
    // Each column is NULL in some row; the key never.
    let nulled = TYPED_COLUMNS[1 + i % (TYPED_COLUMNS.len() - 1)];
    v[nulled] = Value::Null;
    v
}

async fn create_typed_table(db: &TestDb, table: &str) {
    db.execute(&format!(
        "CREATE TABLE \"{table}\" (id bigint PRIMARY KEY, i integer, s smallint, n numeric, \
         d double precision, r real, b boolean, t text, vc varchar(10), j jsonb, \
         ts timestamptz, dt date, u uuid, by bytea, iv interval)"
    ))
    .await;
}

/// COPY writes every type, NULL and special character exactly as the
/// statement path does (short runs), and text comes back byte for byte.
/// The statement path runs one cached statement with a column NULL, a
/// number or a string in turn, which must not confuse its parameter types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copy_writes_what_statements_write() {
    let db = TestDb::create(Kind::Postgres).await;
    let copied = support::unique("copied");
    let stated = support::unique("stated");
    create_typed_table(&db, &copied).await;
    create_typed_table(&db, &stated).await;
    let n = 3 * MIN_ROWS.max(TRICKY.len());

    let mut task = pg_task(&db, &copied, &[]).await;
    let batch: Vec<Record> = (0..n)
        .map(|i| rec(&copied, i as i64, None, Some(typed_value(i))))
        .collect();
    task.put(batch).await.expect("COPY batch");
    task.close().await;

    let mut task = pg_task(&db, &stated, &[]).await;
    for i in 0..n {
        // One record per batch: a multi-row INSERT of one row.
        let r = rec(&stated, i as i64, None, Some(typed_value(i)));
        task.put(vec![r]).await.expect("statement batch");
    }
    task.close().await;

    let by_copy = pg_rows(&db, &copied, TYPED_COLUMNS).await;
    let by_statements = pg_rows(&db, &stated, TYPED_COLUMNS).await;
    assert_eq!(by_copy.len(), n);
    assert_eq!(by_copy, by_statements);

    let texts: Vec<Option<&str>> = by_copy.iter().map(|r| r[7].as_deref()).collect();
    for (i, t) in texts.iter().enumerate() {
        if typed_value(i)["t"].is_null() {
            assert_eq!(*t, None, "row {i}");
        } else {
            assert_eq!(*t, Some(TRICKY[i % TRICKY.len()]), "row {i}");
        }
    }
    assert_eq!(by_copy[2][1].as_deref(), Some("2"), "2.5 rounds to even");
    assert_eq!(by_copy[4][3].as_deref(), Some("4.25"));
    assert_eq!(by_copy[3][3].as_deref(), Some("0.3"));
    assert_eq!(by_copy[3][1].as_deref(), Some("3"));
    let j: Value = serde_json::from_str(by_copy[1][9].as_deref().expect("j")).expect("json");
    assert_eq!(j["text"], json!(TRICKY[1]));
    assert_eq!(by_copy[1][13].as_deref(), Some("\\x00ff10"));
    db.cleanup().await;
}

/// A value the column refuses, late in a COPY, fails the batch: nothing of
/// it is written, not even the rows of an earlier COPY in the same batch;
/// the error names the refused record; the connection writes on afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copy_failure_mid_batch_leaves_nothing() {
    let db = TestDb::create(Kind::Postgres).await;
    let table = support::unique("orders");
    db.execute(&format!(
        "CREATE TABLE \"{table}\" (id bigint PRIMARY KEY, qty bigint, note text)"
    ))
    .await;
    let mut task = pg_task(
        &db,
        &table,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    )
    .await;
    let good = MIN_ROWS as i64 * 2;
    let mut batch: Vec<Record> = (0..good)
        .map(|i| rec(&table, i, None, Some(json!({"id": i, "qty": i}))))
        .collect();
    // A second run (another shape), refused at its tenth row.
    batch.extend((good..good + 20).map(|i| {
        let qty = if i == good + 9 {
            json!("many")
        } else {
            json!(i)
        };
        rec(
            &table,
            i,
            None,
            Some(json!({"id": i, "qty": qty, "note": "x"})),
        )
    }));
    let err = task
        .put(batch)
        .await
        .expect_err("a refused value fails the batch");
    let TaskError::Fatal(message) = err else {
        panic!("a refused value is not worth a retry: {err:?}");
    };
    assert!(
        message.contains(&format!(
            "the record at topic {table} partition 0 offset {}",
            good + 9
        )),
        "{message}"
    );
    assert!(
        message.contains("invalid input syntax for type bigint"),
        "{message}"
    );
    assert_eq!(db.count(&format!("\"{table}\"")).await, 0);

    // The same task and connection go on: the staging table, gone with the
    // rolled-back transaction, comes back.
    let again: Vec<Record> = (100..100 + good)
        .map(|i| {
            rec(
                &table,
                i,
                None,
                Some(json!({"id": i, "qty": i, "note": "y"})),
            )
        })
        .collect();
    task.put(again)
        .await
        .expect("a good batch after a failed one");
    assert_eq!(db.count(&format!("\"{table}\"")).await, good);
    task.close().await;

    // Plain INSERT of a key that exists: the duplicate fails the whole COPY.
    db.execute(&format!("INSERT INTO \"{table}\" VALUES (5, 5, 'kept')"))
        .await;
    let mut task = pg_task(&db, &table, &[]).await;
    let dup: Vec<Record> = (0..good)
        .map(|i| rec(&table, i, None, Some(json!({"id": i, "qty": 0}))))
        .collect();
    task.put(dup)
        .await
        .expect_err("a duplicate key fails an INSERT batch");
    assert_eq!(db.count(&format!("\"{table}\"")).await, good + 1);

    // The same connection goes on writing.
    let ok: Vec<Record> = (10..10 + good)
        .map(|i| rec(&table, i, None, Some(json!({"id": i, "qty": i}))))
        .collect();
    task.put(ok).await.expect("a good batch after a failed one");
    assert_eq!(db.count(&format!("\"{table}\"")).await, 2 * good + 1);
    task.close().await;
    db.cleanup().await;
}

/// UPSERT through COPY: the last write of a key within a batch wins,
/// existing rows are overwritten, and putting the batch again changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copy_upsert_redelivery_is_idempotent() {
    let db = TestDb::create(Kind::Postgres).await;
    let table = support::unique("users");
    let mut task = pg_task(
        &db,
        &table,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("auto.create", "true"),
        ],
    )
    .await;
    let n = 4 * MIN_ROWS as i64;
    let first: Vec<Record> = (0..n)
        .map(|i| {
            rec(
                &table,
                i,
                Some(json!(i)),
                Some(json!({"name": format!("first {i}"), "score": i})),
            )
        })
        .collect();
    task.put(first).await.expect("first batch");

    // Keys 0..n/2 again, each twice: once stale, then the final value.
    let mut batch = Vec::new();
    for round in ["stale", "final"] {
        for i in 0..n / 2 {
            let score = if i == 1 { Value::Null } else { json!(i * 10) };
            batch.push(rec(
                &table,
                n + batch.len() as i64,
                Some(json!(i)),
                Some(json!({"name": format!("{round} {i}\t✓"), "score": score})),
            ));
        }
    }
    task.put(batch.clone()).await.expect("upsert batch");
    let once = pg_rows(&db, &table, &["id", "name", "score"]).await;
    task.put(batch).await.expect("redelivered batch");
    let twice = pg_rows(&db, &table, &["id", "name", "score"]).await;
    task.close().await;

    assert_eq!(once, twice);
    assert_eq!(twice.len(), n as usize);
    assert_eq!(twice[0][1].as_deref(), Some("final 0\t✓"));
    assert_eq!(twice[1][2], None, "a NULL overwrites");
    assert_eq!(twice[2][2].as_deref(), Some("20"));
    let last = &twice[n as usize - 1];
    assert_eq!(
        last[1].as_deref(),
        Some(format!("first {}", n - 1).as_str())
    );
    db.cleanup().await;
}

/// Record order holds across COPYs and deletes in one batch: a key written,
/// deleted, written again and deleted again ends deleted; one deleted then
/// written ends written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copy_insert_then_tombstone_in_one_batch() {
    let db = TestDb::create(Kind::Postgres).await;
    let table = support::unique("items");
    let mut task = pg_task(
        &db,
        &table,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_key"),
            ("pk.fields", "id"),
            ("delete.enabled", "true"),
            ("auto.create", "true"),
        ],
    )
    .await;
    let m = MIN_ROWS as i64;
    let write = |i: i64, v: &str, offset: i64| {
        rec(
            &table,
            offset,
            Some(json!({"id": i})),
            Some(json!({"v": v})),
        )
    };
    let delete = |i: i64, offset: i64| rec(&table, offset, Some(json!({"id": i})), None);
    let mut batch: Vec<Record> = (0..2 * m).map(|i| write(i, "a", i)).collect();
    let mut next = 2 * m;
    batch.push(delete(3, next));
    next += 1;
    batch.push(delete(4, next));
    next += 1;
    // Key 4 comes back in the next COPY run; key 3 is written and deleted again.
    batch.extend((0..m).map(|j| {
        let i = if j == 0 {
            4
        } else if j == 1 {
            3
        } else {
            100 + j
        };
        write(i, "b", next + j)
    }));
    next += m;
    batch.push(delete(3, next));
    task.put(batch).await.expect("batch");
    let rows = pg_rows(&db, &table, &["id", "v"]).await;
    task.close().await;

    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r[0].as_deref().and_then(|s| s.parse().ok()).expect("id"))
        .collect();
    assert!(!ids.contains(&3), "{ids:?}");
    let four = rows
        .iter()
        .find(|r| r[0].as_deref() == Some("4"))
        .expect("key 4");
    assert_eq!(four[1].as_deref(), Some("b"));
    assert_eq!(ids.len() as i64, 2 * m - 1 + (m - 2));
    db.cleanup().await;
}

/// UPDATE through COPY: existing rows change (the last update of a key
/// wins), keys not in the table stay absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_copy_update_changes_only_existing_rows() {
    let db = TestDb::create(Kind::Postgres).await;
    let table = support::unique("stock");
    db.execute(&format!(
        "CREATE TABLE \"{table}\" (id bigint PRIMARY KEY, qty integer NOT NULL, note text)"
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO \"{table}\" SELECT g, 0, 'old' FROM generate_series(0, 9) g"
    ))
    .await;
    let mut task = pg_task(
        &db,
        &table,
        &[
            ("insert.mode", "UPDATE"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id"),
        ],
    )
    .await;
    let mut batch: Vec<Record> = (0..2 * MIN_ROWS as i64)
        .map(|i| {
            rec(
                &table,
                i,
                None,
                Some(json!({"id": i, "qty": i, "note": null})),
            )
        })
        .collect();
    batch.push(rec(
        &table,
        99,
        None,
        Some(json!({"id": 2, "qty": 222, "note": "last"})),
    ));
    task.put(batch).await.expect("update batch");
    let rows = pg_rows(&db, &table, &["id", "qty", "note"]).await;
    task.close().await;
    assert_eq!(rows.len(), 10, "updates insert nothing");
    assert_eq!(rows[5], vec![Some("5".into()), Some("5".into()), None]);
    assert_eq!(
        rows[2],
        vec![Some("2".into()), Some("222".into()), Some("last".into())]
    );
    db.cleanup().await;
}

/// Not a test: rows/s of `put` alone (no broker, no runtime) for 50,000
/// ORDERS records into Postgres in batches of 500 (the default) and 5,000,
/// in INSERT and UPSERT mode, to compare write paths. `cargo test --release
/// -p tributary-data-plane --test jdbc_sink -- --ignored --nocapture put_throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn postgres_put_throughput() {
    let db = TestDb::create(Kind::Postgres).await;
    let values: Vec<Value> = (0..50_000)
        .map(|i| serde_json::from_str(&order(i, 2.5)).expect("json"))
        .collect();
    for batch in [500, 5_000] {
        for (mode, pk) in [("INSERT", "none"), ("UPSERT", "record_value")] {
            let table = support::unique("orders");
            let mut task = pg_task(
                &db,
                &table,
                &[
                    ("insert.mode", mode),
                    ("pk.mode", pk),
                    ("pk.fields", "orderid"),
                    ("auto.create", "true"),
                ],
            )
            .await;
            let batches: Vec<Vec<Record>> = values
                .chunks(batch)
                .map(|b| {
                    b.iter()
                        .enumerate()
                        .map(|(i, v)| rec(&table, i as i64, None, Some(v.clone())))
                        .collect()
                })
                .collect();
            let start = Instant::now();
            for records in batches {
                task.put(records).await.expect("put");
            }
            let secs = start.elapsed().as_secs_f64();
            task.close().await;
            println!(
                "put throughput, {mode}, batches of {batch}: {:.0} rows/s",
                values.len() as f64 / secs
            );
        }
    }
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
