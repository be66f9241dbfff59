//! The Postgres CDC source end to end: a task run through the worker
//! runtime against the real Postgres (`DATABASE_URL`, which needs
//! `wal_level=logical`; `tests/run` sets it) and the real broker
//! (`KAFKA_BOOTSTRAP`), each test on a database, slot, publication and
//! topics of its own.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{Kind, TestDb};
use tributary_data_plane::connectors::egress::{self, EgressPolicy};
use tributary_data_plane::connectors::postgres_cdc;
use tributary_data_plane::protocol::{SourceOffset, TaskAssignment};
use tributary_data_plane::runtime::TaskHandle;

use support::{read, Read};

fn allow_loopback() {
    // The worker's egress policy refuses loopback unless told otherwise.
    egress::install(EgressPolicy::parse("loopback").expect("policy"));
}

fn cdc_config(db: &TestDb, prefix: &str, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let port = db.port.to_string();
    let mut c: BTreeMap<String, String> = [
        ("connector.class", "PostgresCdcSourceV2"),
        ("name", prefix),
        ("database.hostname", db.host.as_str()),
        ("database.port", port.as_str()),
        ("database.user", db.user.as_str()),
        ("database.password", ""),
        ("database.dbname", db.name.as_str()),
        ("database.sslmode", "disable"),
        ("topic.prefix", prefix),
        ("table.include.list", "public\\.orders"),
        ("poll.interval.ms", "100"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    c
}

fn assignment(config: BTreeMap<String, String>, offsets: Vec<SourceOffset>) -> TaskAssignment {
    let mut a = support::assignment("lcc-cdc", config);
    a.offsets = offsets;
    a
}

fn op(r: &Read) -> Option<&str> {
    r.1.as_ref().and_then(|v| v["op"].as_str())
}

/// Offsets the task has reported committable, once they cover `what`.
async fn offsets_when(
    handle: &TaskHandle,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Vec<SourceOffset> {
    support::wait_report(handle, what, |r| r.offsets.iter().any(|o| ok(&o.offset)))
        .await
        .offsets
}

async fn slot(db: &TestDb, name: &str) -> Option<(bool, Option<String>)> {
    let admin = support_admin(db).await;
    let row: Option<(bool, Option<String>)> = sqlx::query_as(
        "SELECT active, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind(name)
    .fetch_optional(&admin)
    .await
    .expect("slots");
    admin.close().await;
    row
}

async fn support_admin(db: &TestDb) -> sqlx::PgPool {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let opts: sqlx::postgres::PgConnectOptions = url.parse().expect("DATABASE_URL");
    sqlx::PgPool::connect_with(opts.database(&db.name))
        .await
        .expect("connect")
}

/// Drops a failed test's slot (ending the session that holds it) and its
/// database, so that failures do not use up the server's replication slots.
struct Leftovers {
    slot: String,
    db: String,
    armed: bool,
}

impl Leftovers {
    fn new(db: &TestDb, config: &BTreeMap<String, String>) -> Leftovers {
        Leftovers {
            slot: postgres_cdc::settings::slot_name(config),
            db: db.name.clone(),
            armed: true,
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (slot, db) = (self.slot.clone(), self.db.clone());
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let url = std::env::var("DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let Ok(admin) = sqlx::PgPool::connect(&url).await else {
                    return;
                };
                for _ in 0..20 {
                    let _ = sqlx::query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active")
                        .bind(&slot)
                        .execute(&admin)
                        .await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if sqlx::query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1")
                        .bind(&slot)
                        .execute(&admin)
                        .await
                        .is_ok()
                    {
                        break;
                    }
                }
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                    .execute(&admin)
                    .await;
            });
        });
        let _ = cleanup.join();
    }
}

/// Stops the task, drops the slot and publication as the control plane does
/// after a delete, and drops the database.
async fn finish(
    db: TestDb,
    handle: TaskHandle,
    config: &BTreeMap<String, String>,
    mut leftovers: Leftovers,
) {
    support::stop(handle).await;
    let slot_name = postgres_cdc::settings::slot_name(config);
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        match postgres_cdc::release(config).await {
            Ok(_) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "releasing the slot: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(slot(&db, &slot_name).await, None, "the slot is dropped");
    leftovers.armed = false;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_inserts_updates_and_deletes_stream_as_debezium_events() {
    allow_loopback();
    let db = TestDb::create(Kind::Postgres).await;
    db.execute("CREATE TABLE orders (id int PRIMARY KEY, item text, qty int, placed date)")
        .await;
    db.execute("CREATE TABLE items (sku text PRIMARY KEY, price numeric(10,2))")
        .await;
    db.execute("ALTER TABLE items REPLICA IDENTITY FULL").await;
    db.execute("CREATE TABLE audit (id serial PRIMARY KEY, note text)")
        .await;
    db.execute("INSERT INTO orders VALUES (1, 'apple', 5, '1970-01-11'), (2, 'pear', 7, NULL), (3, 'fig', 1, NULL)")
        .await;
    db.execute("INSERT INTO items VALUES ('a-1', 9.99)").await;

    let prefix = support::unique("cdct");
    let config = cdc_config(
        &db,
        &prefix,
        &[("table.include.list", "public\\.orders,public\\.items")],
    );
    let leftovers = Leftovers::new(&db, &config);
    let handle = support::start(assignment(config.clone(), Vec::new()));
    let orders_topic = format!("{prefix}.public.orders");
    let items_topic = format!("{prefix}.public.items");

    let snapshot = read(&orders_topic, 3, &handle).await;
    assert_eq!(snapshot.len(), 3, "{snapshot:#?}");
    for (i, r) in snapshot.iter().enumerate() {
        let id = i as i64 + 1;
        assert_eq!(r.0, Some(json!({"id": id})));
        let v = r.1.as_ref().expect("value");
        assert_eq!(v["op"], "r");
        assert_eq!(v["before"], Value::Null);
        assert_eq!(v["after"]["id"], id);
        assert_eq!(v["source"]["connector"], "postgresql");
        assert_eq!(v["source"]["name"], prefix.as_str());
        assert_eq!(v["source"]["db"], db.name.as_str());
        assert_eq!(v["source"]["schema"], "public");
        assert_eq!(v["source"]["table"], "orders");
    }
    assert_eq!(
        snapshot[0].1.as_ref().unwrap()["after"],
        json!({"id": 1, "item": "apple", "qty": 5, "placed": 10})
    );
    // Tables are read in name order: items, then orders.
    assert_eq!(
        snapshot[2].1.as_ref().unwrap()["source"]["snapshot"],
        "last"
    );
    let items = read(&items_topic, 1, &handle).await;
    assert_eq!(
        items[0].1.as_ref().unwrap()["after"],
        json!({"sku": "a-1", "price": "9.99"})
    );
    assert_eq!(items[0].1.as_ref().unwrap()["source"]["snapshot"], "true");

    db.execute("INSERT INTO orders VALUES (4, 'kiwi', 2, NULL)")
        .await;
    db.execute("UPDATE orders SET qty = 6 WHERE id = 1").await;
    db.execute("DELETE FROM orders WHERE id = 2").await;
    db.execute("INSERT INTO audit (note) VALUES ('not captured')")
        .await;
    db.execute("UPDATE items SET price = 10.5 WHERE sku = 'a-1'")
        .await;
    db.execute("UPDATE orders SET id = 30 WHERE id = 3").await;

    let all = read(&orders_topic, 3 + 4 + 3, &handle).await;
    let changes = &all[3..];
    let summary: Vec<(Option<Value>, Option<&str>)> =
        changes.iter().map(|r| (r.0.clone(), op(r))).collect();
    assert_eq!(
        summary,
        vec![
            (Some(json!({"id": 4})), Some("c")),
            (Some(json!({"id": 1})), Some("u")),
            (Some(json!({"id": 2})), Some("d")),
            (Some(json!({"id": 2})), None),
            (Some(json!({"id": 3})), Some("d")),
            (Some(json!({"id": 3})), None),
            (Some(json!({"id": 30})), Some("c")),
        ],
        "{changes:#?}"
    );
    let update = changes[1].1.as_ref().unwrap();
    assert_eq!(
        update["before"],
        Value::Null,
        "default replica identity: no before image"
    );
    assert_eq!(update["after"]["qty"], 6);
    assert!(update["source"]["lsn"].as_u64().is_some());
    assert!(update["source"]["txId"].as_u64().is_some());
    assert_eq!(update["source"]["snapshot"], "false");
    let delete = changes[2].1.as_ref().unwrap();
    assert_eq!(delete["before"]["id"], 2);
    assert_eq!(delete["after"], Value::Null);

    let items = read(&items_topic, 2, &handle).await;
    let price = items[1].1.as_ref().unwrap();
    assert_eq!(price["op"], "u");
    assert_eq!(
        price["before"]["price"], "9.99",
        "REPLICA IDENTITY FULL: before image"
    );
    assert_eq!(price["after"]["price"], "10.50");
    assert_eq!(items[1].0, Some(json!({"sku": "a-1"})));

    // Committed offsets are LSNs under the server partition, and the slot
    // is told about them.
    // 4 snapshot records, 7 changes of orders, 1 of items.
    let offsets = support::wait_report(&handle, "everything acknowledged", |r| r.records >= 12)
        .await
        .offsets;
    assert_eq!(offsets[0].partition, json!({"server": prefix}));
    let slot_name = postgres_cdc::settings::slot_name(&config);
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        let (active, confirmed) = slot(&db, &slot_name).await.expect("slot exists");
        assert!(active);
        let confirmed = confirmed.and_then(|l| pgwire_lsn(&l)).unwrap_or_default();
        let committed = offsets[0].offset["lsn_commit"].as_u64().unwrap_or(u64::MAX);
        if confirmed >= committed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slot confirmed {confirmed}, committed {committed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    finish(db, handle, &config, leftovers).await;
}

fn pgwire_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_task_resumes_from_its_offset_without_loss() {
    allow_loopback();
    let db = TestDb::create(Kind::Postgres).await;
    db.execute("CREATE TABLE orders (id int PRIMARY KEY, qty int)")
        .await;
    db.execute("INSERT INTO orders VALUES (1, 1), (2, 2)").await;
    let prefix = support::unique("cdct");
    let config = cdc_config(&db, &prefix, &[]);
    let topic = format!("{prefix}.public.orders");

    let leftovers = Leftovers::new(&db, &config);
    let first = support::start(assignment(config.clone(), Vec::new()));
    assert_eq!(read(&topic, 2, &first).await.len(), 2);
    let after_snapshot = offsets_when(&first, "the snapshot committed", |o| {
        o["last_snapshot_record"] == true
    })
    .await;
    for id in 3..=7 {
        db.execute(&format!("INSERT INTO orders VALUES ({id}, {id})"))
            .await;
    }
    // One transaction of several changes.
    db.execute("UPDATE orders SET qty = qty + 100 WHERE id IN (1, 2, 3)")
        .await;
    let read_before = read(&topic, 2 + 5 + 3, &first).await;
    assert_eq!(read_before.len(), 10);
    let last = support::wait_report(&first, "everything acknowledged", |r| r.records >= 10)
        .await
        .offsets;
    assert_eq!(last[0].offset["event"], 3, "{last:?}");
    support::stop(first).await;

    // Changes while no task runs.
    db.execute("INSERT INTO orders VALUES (8, 8)").await;
    db.execute("DELETE FROM orders WHERE id = 4").await;

    // Restarted from the last committed offset: no snapshot, nothing lost,
    // nothing repeated.
    let second = support::start(assignment(config.clone(), last.clone()));
    let all = read(&topic, 10 + 3, &second).await;
    let tail: Vec<(Option<Value>, Option<&str>)> =
        all[10..].iter().map(|r| (r.0.clone(), op(r))).collect();
    assert_eq!(
        tail,
        vec![
            (Some(json!({"id": 8})), Some("c")),
            (Some(json!({"id": 4})), Some("d")),
            (Some(json!({"id": 4})), None),
        ],
        "{all:#?}"
    );
    support::wait_report(&second, "everything acknowledged", |r| r.records >= 3).await;
    support::stop(second).await;

    // Restarted from an older offset (its later commits lost): the slot has
    // moved on with what Kafka acknowledged, so nothing is lost and at most
    // the unconfirmed tail repeats.
    db.execute("INSERT INTO orders VALUES (9, 9)").await;
    let third = support::start(assignment(config.clone(), after_snapshot));
    let all = read(&topic, 13 + 1, &third).await;
    let ids_created: Vec<i64> = all
        .iter()
        .filter(|r| matches!(op(r), Some("c" | "r")))
        .filter_map(|r| r.0.as_ref().and_then(|k| k["id"].as_i64()))
        .collect();
    for id in 1..=9 {
        assert!(ids_created.contains(&id), "row {id} missing: {all:#?}");
    }
    assert_eq!(all.last().and_then(|r| r.0.clone()), Some(json!({"id": 9})));
    assert!(
        all.len() <= 13 + 1 + 3,
        "repeated more than the unconfirmed tail: {all:#?}"
    );
    finish(db, third, &config, leftovers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_mode_never_streams_only_new_changes() {
    allow_loopback();
    let db = TestDb::create(Kind::Postgres).await;
    db.execute("CREATE TABLE orders (id int PRIMARY KEY)").await;
    db.execute("INSERT INTO orders VALUES (1)").await;
    let prefix = support::unique("cdct");
    let config = cdc_config(
        &db,
        &prefix,
        &[
            ("snapshot.mode", "never"),
            ("tombstones.on.delete", "false"),
        ],
    );
    let topic = format!("{prefix}.public.orders");
    let leftovers = Leftovers::new(&db, &config);
    let handle = support::start(assignment(config.clone(), Vec::new()));
    // Streaming has started once the slot is held.
    let slot_name = postgres_cdc::settings::slot_name(&config);
    let deadline = Instant::now() + support::TIMEOUT;
    while !slot(&db, &slot_name)
        .await
        .is_some_and(|(active, _)| active)
    {
        assert!(Instant::now() < deadline, "the slot is not streamed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    db.execute("INSERT INTO orders VALUES (2)").await;
    db.execute("DELETE FROM orders WHERE id = 1").await;
    let all = read(&topic, 2, &handle).await;
    let summary: Vec<(Option<Value>, Option<&str>)> =
        all.iter().map(|r| (r.0.clone(), op(r))).collect();
    assert_eq!(
        summary,
        vec![
            (Some(json!({"id": 2})), Some("c")),
            (Some(json!({"id": 1})), Some("d"))
        ]
    );
    finish(db, handle, &config, leftovers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_only_needs_no_slot_and_when_needed_snapshots_again_without_one() {
    allow_loopback();
    let db = TestDb::create(Kind::Postgres).await;
    db.execute("CREATE TABLE orders (id int PRIMARY KEY)").await;
    db.execute("INSERT INTO orders VALUES (1), (2)").await;

    let prefix = support::unique("cdct");
    let config = cdc_config(&db, &prefix, &[("snapshot.mode", "initial_only")]);
    let leftovers = Leftovers::new(&db, &config);
    let handle = support::start(assignment(config.clone(), Vec::new()));
    let rows = read(&format!("{prefix}.public.orders"), 2, &handle).await;
    assert_eq!(
        rows.iter().map(op).collect::<Vec<_>>(),
        vec![Some("r"), Some("r")]
    );
    let slot_name = postgres_cdc::settings::slot_name(&config);
    assert_eq!(
        slot(&db, &slot_name).await,
        None,
        "initial_only streams nothing"
    );
    support::stop(handle).await;

    // A stored position whose slot is gone: when_needed takes a new snapshot.
    let prefix = support::unique("cdct");
    let config = cdc_config(&db, &prefix, &[("snapshot.mode", "when_needed")]);
    let stale = SourceOffset {
        partition: json!({"server": prefix}),
        offset: json!({"lsn": 1, "lsn_commit": 1, "txId": 1, "event": 0}),
    };
    let handle = support::start(assignment(config.clone(), vec![stale]));
    let rows = read(&format!("{prefix}.public.orders"), 2, &handle).await;
    assert_eq!(
        rows.iter().map(op).collect::<Vec<_>>(),
        vec![Some("r"), Some("r")]
    );
    let mut leftovers = leftovers;
    leftovers.slot = postgres_cdc::settings::slot_name(&config);
    finish(db, handle, &config, leftovers).await;
}
