//! The sink runtime around a connector, seen through a JDBC sink on real
//! services: error tolerance and the dead letter queue, pause and resume,
//! restarts from committed offsets, two tasks in one consumer group, regex
//! subscriptions, and the transform chain.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::json;
use support::{order, Kind, TestDb};
use tributary_data_plane::protocol::{TargetState, TaskState};

/// `errors.tolerance=none` (the default): a value that is not JSON fails
/// the task, naming topic, partition and offset; nothing past it is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_fails_the_task_naming_the_record() {
    let db = TestDb::create(Kind::MySql).await;
    let topic = support::unique("events");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (0, None, Some(r#"{"id":1}"#)),
            (0, None, Some("{oops")),
            (0, None, Some(r#"{"id":3}"#)),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        db.sink_config(&topic, &[("auto.create", "true")]),
    ));
    let trace = support::wait_failed(&handle).await;
    assert!(
        trace.contains(&format!("topic {topic} partition 0 offset 1")),
        "{trace}"
    );
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    support::stop(handle).await;
    let committed = support::committed(&format!("connect-{connector}"), &topic, 1);
    assert!(
        committed[0] <= 1,
        "committed past the bad record: {committed:?}"
    );
    db.cleanup().await;
}

/// `errors.tolerance=all` with a dead letter queue: the bad record is
/// skipped, the good ones land, and the original bytes reach the queue with
/// the `__connect.errors.*` headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerated_errors_go_to_the_dead_letter_queue() {
    let db = TestDb::create(Kind::Postgres).await;
    let topic = support::unique("events");
    let dlq = support::unique("dlq");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (0, Some("1"), Some(r#"{"id":1,"v":"a"}"#)),
            (0, Some("2"), Some("{oops")),
            (0, Some("3"), Some(r#"{"id":3,"v":"c"}"#)),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let config = db.sink_config(
        &topic,
        &[
            ("auto.create", "true"),
            ("errors.tolerance", "all"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", dlq.as_str()),
        ],
    );
    let handle = support::start(support::assignment(&connector, config));
    support::wait_rows(&db, &handle, &topic, 2).await;
    support::wait_report(&handle, "2 delivered records", |r| r.records == 2).await;

    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", support::bootstrap())
        .set("group.id", support::unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    reader.subscribe(&[&dlq]).expect("subscribe");
    let msg = tokio::time::timeout(support::TIMEOUT, async {
        loop {
            if let Ok(m) = reader.recv().await {
                return m.detach();
            }
        }
    })
    .await
    .expect("a record in the dead letter queue");
    assert_eq!(msg.payload(), Some(&b"{oops"[..]));
    assert_eq!(msg.key(), Some(&b"2"[..]));
    let headers: BTreeMap<String, String> = msg
        .headers()
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
        .unwrap_or_default();
    assert_eq!(headers.get("__connect.errors.topic"), Some(&topic));
    assert_eq!(
        headers
            .get("__connect.errors.partition")
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        headers.get("__connect.errors.offset").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        headers.get("__connect.errors.stage").map(String::as_str),
        Some("VALUE_CONVERTER")
    );
    assert_eq!(
        headers
            .get("__connect.errors.connector.name")
            .map(String::as_str),
        Some("jdbc-sink-test")
    );
    assert!(headers
        .get("__connect.errors.exception.message")
        .is_some_and(|m| m.contains("not valid JSON")));

    support::stop(handle).await;
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![3]
    );
    db.cleanup().await;
}

/// Paused, the task writes nothing and reports PAUSED; resumed, it catches
/// up; restarted, it goes on from its committed offsets without writing a
/// record twice (plain INSERT would show any duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_restart_without_duplicates() {
    let db = TestDb::create(Kind::MySql).await;
    let topic = support::unique("clicks");
    support::create_topic(&topic, 1).await;
    let event = |i: i64| json!({"seq": i, "page": format!("Page_{i}")}).to_string();
    let (e0, e1, e2, e3, e4, e5) = (event(0), event(1), event(2), event(3), event(4), event(5));
    support::produce(
        &topic,
        &[
            (0, None, Some(&e0)),
            (0, None, Some(&e1)),
            (0, None, Some(&e2)),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let config = db.sink_config(&topic, &[("auto.create", "true")]);

    let handle = support::start(support::assignment(&connector, config.clone()));
    support::wait_rows(&db, &handle, &topic, 3).await;
    handle.set_target(TargetState::Paused);
    support::wait_report(&handle, "PAUSED", |r| r.state == TaskState::Paused).await;
    support::produce(&topic, &[(0, None, Some(&e3)), (0, None, Some(&e4))]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(db.count(&topic).await, 3, "a paused task wrote rows");
    handle.set_target(TargetState::Running);
    support::wait_rows(&db, &handle, &topic, 5).await;
    support::stop(handle).await;

    let handle = support::start(support::assignment(&connector, config));
    support::produce(&topic, &[(0, None, Some(&e5))]).await;
    support::wait_rows(&db, &handle, &topic, 6).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let seqs: Vec<Option<String>> = db
        .rows(&topic, &["seq"], "seq")
        .await
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect();
    let expected: Vec<Option<String>> = (0..6).map(|i| Some(i.to_string())).collect();
    assert_eq!(seqs, expected);
    support::stop(handle).await;
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![6]
    );
    db.cleanup().await;
}

/// Two tasks of one connector share the topic's partitions through the
/// consumer group; with `pk.mode=kafka` every record is one row, however
/// the partitions move between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tasks_share_the_partitions() {
    let db = TestDb::create(Kind::Postgres).await;
    let topic = support::unique("views");
    support::create_topic(&topic, 4).await;
    let connector = support::unique("lcc");
    let config = db.sink_config(
        &topic,
        &[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "kafka"),
            ("auto.create", "true"),
            ("tasks.max", "2"),
        ],
    );
    let first = support::start(support::assignment(&connector, config.clone()));
    let mut second_assignment = support::assignment(&connector, config);
    second_assignment.id.task = 1;
    let second = support::start(second_assignment);

    // Keep producing until both tasks have written something.
    let deadline = Instant::now() + support::TIMEOUT;
    let mut produced = 0i64;
    while first.report().records == 0 || second.report().records == 0 {
        assert!(
            Instant::now() < deadline,
            "one task never got a partition: {:?} {:?}",
            first.report(),
            second.report()
        );
        let values: Vec<String> = (0..8)
            .map(|i| json!({"view": produced + i}).to_string())
            .collect();
        let records: Vec<(i32, Option<&str>, Option<&str>)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| ((i % 4) as i32, None, Some(v.as_str())))
            .collect();
        support::produce(&topic, &records).await;
        produced += 8;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    support::wait_rows(&db, &first, &topic, produced).await;
    assert_ne!(
        second.report().state,
        TaskState::Failed,
        "{:?}",
        second.report().trace
    );
    let columns = db.columns(&topic).await;
    assert_eq!(
        &columns[..3],
        ["__connect_topic", "__connect_partition", "__connect_offset"]
    );
    support::stop(first).await;
    support::stop(second).await;
    db.cleanup().await;
}

/// `topics.regex` reads every topic whose whole name matches, and
/// `table.name.format` sends them all to one table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_subscription_and_table_name_format() {
    let db = TestDb::create(Kind::MySql).await;
    let base = support::unique("shop");
    let (a, b, other) = (
        format!("{base}_eu"),
        format!("{base}_us"),
        format!("{base}x_eu"),
    );
    for t in [&a, &b, &other] {
        support::create_topic(t, 1).await;
    }
    let config = db.sink_config(
        "",
        &[("auto.create", "true"), ("table.name.format", "all_orders")],
    );
    let mut config = config;
    config.remove("topics");
    config.insert("topics.regex".into(), format!("{base}_.*"));
    let handle = support::start(support::assignment(&support::unique("lcc"), config));
    support::produce(&a, &[(0, None, Some(r#"{"region":"eu"}"#))]).await;
    support::produce(&b, &[(0, None, Some(r#"{"region":"us"}"#))]).await;
    support::produce(&other, &[(0, None, Some(r#"{"region":"other"}"#))]).await;
    support::wait_rows(&db, &handle, "all_orders", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let regions: Vec<Option<String>> = db
        .rows("all_orders", &["region"], "region")
        .await
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect();
    assert_eq!(
        regions,
        vec![Some("eu".to_string()), Some("us".to_string())]
    );
    support::stop(handle).await;
    db.cleanup().await;
}

/// Nested values are stored as JSON text unless a Flatten transform
/// spreads them into columns first: the sink applies the connector's chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flatten_transform_spreads_nested_fields_into_columns() {
    let db = TestDb::create(Kind::Postgres).await;
    let topic = support::unique("orders");
    support::create_topic(&topic, 1).await;
    let value = order(1, 2.5);
    support::produce(&topic, &[(0, Some("1"), Some(&value))]).await;
    let config = db.sink_config(
        &topic,
        &[
            ("auto.create", "true"),
            ("transforms", "flat"),
            (
                "transforms.flat.type",
                "org.apache.kafka.connect.transforms.Flatten$Value",
            ),
            ("transforms.flat.delimiter", "_"),
        ],
    );
    let handle = support::start(support::assignment(&support::unique("lcc"), config));
    support::wait_rows(&db, &handle, &topic, 1).await;
    let columns = db.columns(&topic).await;
    assert!(columns.contains(&"address_city".to_string()), "{columns:?}");
    assert!(!columns.contains(&"address".to_string()), "{columns:?}");
    let city = db
        .rows(&topic, &["address_city"], "orderid")
        .await
        .remove(0)
        .remove(0);
    assert_eq!(city.as_deref(), Some("City_1"));
    support::stop(handle).await;
    db.cleanup().await;
}
