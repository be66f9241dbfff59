//! The sink runtime around a connector, seen through a JDBC sink on real
//! services: error tolerance and the dead letter queue, retries of Schema
//! Registry outages (`errors.retry.timeout`), pause and resume, restarts
//! from committed offsets, two tasks in one consumer group, regex
//! subscriptions, and the transform chain.

mod support;

use std::time::{Duration, Instant};

use rdkafka::message::Message;
use rdkafka::ClientConfig;
use serde_json::json;
use support::{order, Kind, TestDb};
use tributary_data_plane::protocol::{TargetState, TaskAssignment, TaskState};

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

    let msg = support::first_record(&dlq).await;
    assert_eq!(msg.payload(), Some(&b"{oops"[..]));
    assert_eq!(msg.key(), Some(&b"2"[..]));
    let headers = support::header_map(&msg);
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

/// A Schema Registry as the control plane serves it to workers (one per
/// environment), whose answers the tests script: outages (503) for the
/// first calls or for some schema ids, 404 for unknown ids.
mod registry {
    use std::collections::{HashMap, HashSet};
    use std::sync::{Mutex, MutexGuard, OnceLock};
    use std::time::{Duration, Instant};

    use axum::extract::Path;
    use axum::http::StatusCode;
    use axum::routing::get;
    use axum::{Json, Router};
    use serde_json::{json, Value};
    use tributary_data_plane::converters::registry as client;

    /// `{"id": int, "v": string}`.
    pub const ROW: &str = r#"{"type":"record","name":"row","fields":[{"name":"id","type":"int"},{"name":"v","type":"string"}]}"#;

    #[derive(Default)]
    pub struct Env {
        pub schemas: HashMap<i32, String>,
        /// Calls still to answer 503, whatever they ask.
        pub fail_first: usize,
        /// Schema ids answered with 503.
        pub failing: HashSet<i32>,
        /// Each schema id asked for, and when.
        pub calls: Vec<(i32, Instant)>,
    }

    fn envs() -> &'static Mutex<HashMap<String, Env>> {
        static ENVS: OnceLock<Mutex<HashMap<String, Env>>> = OnceLock::new();
        ENVS.get_or_init(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.set_nonblocking(true).expect("nonblocking");
            let url = format!("http://{}", listener.local_addr().expect("addr"));
            // Its own runtime: each test's runtime ends with the test.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                rt.block_on(async move {
                    let app = Router::new().route(
                        "/internal/v1/schema-registry/environments/{env}/schemas/ids/{id}",
                        get(schema),
                    );
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    axum::serve(listener, app).await.expect("serve");
                });
            });
            // No client-side retries: every outage reaches errors.retry.timeout.
            client::set_endpoint_with(&url, None, Duration::ZERO);
            Mutex::new(HashMap::new())
        })
    }

    async fn schema(Path((env, id)): Path<(String, i32)>) -> (StatusCode, Json<Value>) {
        let mut envs = lock();
        let Some(e) = envs.get_mut(&env) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error_code": 404, "message": "no such environment"})),
            );
        };
        e.calls.push((id, Instant::now()));
        if e.fail_first > 0 || e.failing.contains(&id) {
            e.fail_first = e.fail_first.saturating_sub(1);
            let body = json!({"error_code": 50301, "message": "registry restarting"});
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
        }
        match e.schemas.get(&id) {
            Some(s) => (StatusCode::OK, Json(json!({"schema": s}))),
            None => (
                StatusCode::NOT_FOUND,
                Json(json!({"error_code": 40403, "message": format!("Schema {id} not found")})),
            ),
        }
    }

    pub fn lock() -> MutexGuard<'static, HashMap<String, Env>> {
        envs().lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new environment with `env`'s settings; returns its id.
    pub fn environment(env: Env) -> String {
        let id = crate::support::unique("env");
        lock().insert(id.clone(), env);
        id
    }

    /// When each call for `schema_id` arrived.
    pub fn calls(env: &str, schema_id: i32) -> Vec<Instant> {
        lock()[env]
            .calls
            .iter()
            .filter(|(id, _)| *id == schema_id)
            .map(|(_, at)| *at)
            .collect()
    }

    /// A `ROW` record in the Schema Registry wire format.
    pub fn row(schema_id: i32, id: i32, v: &str) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&schema_id.to_be_bytes());
        let mut zigzag = |n: i64| {
            let mut z = ((n << 1) ^ (n >> 63)) as u64;
            loop {
                let byte = (z & 0x7f) as u8;
                z >>= 7;
                if z == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        };
        zigzag(i64::from(id));
        zigzag(v.len() as i64);
        out.extend_from_slice(v.as_bytes());
        out
    }
}

/// Produces (key, value bytes) to partition 0, in order.
async fn produce_bytes(topic: &str, records: &[(&str, Vec<u8>)]) {
    let producer: rdkafka::producer::FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", support::bootstrap())
        .set("message.timeout.ms", "20000")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for (key, value) in records {
        let r = rdkafka::producer::FutureRecord::to(topic)
            .partition(0)
            .key(*key)
            .payload(value);
        producer
            .send(r, Duration::from_secs(20))
            .await
            .unwrap_or_else(|(e, _)| panic!("producing to {topic} failed: {e}"));
    }
}

/// A sink reading Avro values of `topic` with the registry of `env`.
fn avro_assignment(
    connector: &str,
    db: &TestDb,
    topic: &str,
    env: &str,
    extra: &[(&str, &str)],
) -> TaskAssignment {
    let mut pairs = vec![("auto.create", "true"), ("input.data.format", "AVRO")];
    pairs.extend_from_slice(extra);
    let mut a = support::assignment(connector, db.sink_config(topic, &pairs));
    a.environment_id = env.to_string();
    a
}

fn millis(at: &[Instant]) -> Vec<u128> {
    at.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect()
}

/// A registry that answers 503 three times, then serves the schema: with
/// `errors.retry.timeout` the records are delivered after retries 300 and
/// 600 ms apart, then a random wait below `errors.retry.delay.max.ms`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_outages_are_retried_within_the_retry_timeout() {
    let db = TestDb::create(Kind::Postgres).await;
    let topic = support::unique("rows");
    support::create_topic(&topic, 1).await;
    let env = registry::environment(registry::Env {
        schemas: [(1, registry::ROW.to_string())].into(),
        fail_first: 3,
        ..Default::default()
    });
    produce_bytes(
        &topic,
        &[
            ("1", registry::row(1, 1, "a")),
            ("2", registry::row(1, 2, "b")),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let handle = support::start(avro_assignment(
        &connector,
        &db,
        &topic,
        &env,
        &[
            ("errors.retry.timeout", "10000"),
            ("errors.retry.delay.max.ms", "1000"),
        ],
    ));
    support::wait_rows(&db, &handle, &topic, 2).await;
    let calls = registry::calls(&env, 1);
    // Three failures, one success; the schema is cached from then on.
    assert_eq!(calls.len(), 4, "{:?}", millis(&calls));
    let gaps = millis(&calls);
    assert!((300..600).contains(&gaps[0]), "{gaps:?}");
    assert!((600..1200).contains(&gaps[1]), "{gaps:?}");
    // 1200 would pass errors.retry.delay.max.ms=1000.
    assert!(gaps[2] < 1300, "{gaps:?}");
    let values: Vec<Option<String>> = db
        .rows(&topic, &["v"], "id")
        .await
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect();
    assert_eq!(values, vec![Some("a".into()), Some("b".into())]);
    support::stop(handle).await;
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![2]
    );
    db.cleanup().await;
}

/// An outage longer than `errors.retry.timeout` under `errors.tolerance=none`
/// fails the task, naming the record, the stage and the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_retry_timeout_fails_the_task() {
    let db = TestDb::create(Kind::MySql).await;
    let topic = support::unique("rows");
    support::create_topic(&topic, 1).await;
    let env = registry::environment(registry::Env {
        schemas: [(1, registry::ROW.to_string())].into(),
        fail_first: usize::MAX,
        ..Default::default()
    });
    produce_bytes(&topic, &[("1", registry::row(1, 1, "a"))]).await;
    let connector = support::unique("lcc");
    let started = Instant::now();
    let handle = support::start(avro_assignment(
        &connector,
        &db,
        &topic,
        &env,
        &[("errors.retry.timeout", "1000")],
    ));
    let trace = support::wait_failed(&handle).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    for expected in [
        "Tolerance exceeded in error handler (errors.tolerance=none)",
        &format!("topic {topic} partition 0 offset 0"),
        "VALUE_CONVERTER (io.confluent.connect.avro.AvroConverter) failed",
        "Schema Registry unavailable",
        "registry restarting",
        "errors.retry.timeout exhausted",
    ] {
        assert!(trace.contains(expected), "{expected:?} not in {trace}");
    }
    // Attempts at 0, 300, 900 and at the deadline.
    assert_eq!(registry::calls(&env, 1).len(), 4);
    support::stop(handle).await;
    assert!(support::committed(&format!("connect-{connector}"), &topic, 1)[0] <= 0);
    db.cleanup().await;
}

/// Under `errors.tolerance=all` a record whose schema stays unavailable
/// past the retry timeout goes to the dead letter queue as it was read,
/// and the records after it are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_past_the_retry_timeout_dead_letters_the_record() {
    let db = TestDb::create(Kind::Postgres).await;
    let topic = support::unique("rows");
    let dlq = support::unique("dlq");
    support::create_topic(&topic, 1).await;
    let env = registry::environment(registry::Env {
        schemas: [
            (1, registry::ROW.to_string()),
            (2, registry::ROW.to_string()),
        ]
        .into(),
        failing: [2].into(),
        ..Default::default()
    });
    let stuck = registry::row(2, 2, "b");
    produce_bytes(
        &topic,
        &[
            ("1", registry::row(1, 1, "a")),
            ("2", stuck.clone()),
            ("3", registry::row(1, 3, "c")),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let handle = support::start(avro_assignment(
        &connector,
        &db,
        &topic,
        &env,
        &[
            ("errors.tolerance", "all"),
            ("errors.retry.timeout", "500"),
            ("errors.deadletterqueue.topic.name", dlq.as_str()),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    ));
    support::wait_rows(&db, &handle, &topic, 2).await;
    // Retried at 300 ms and at the deadline, then given up on.
    assert_eq!(registry::calls(&env, 2).len(), 3);

    let msg = support::first_record(&dlq).await;
    assert_eq!(msg.payload(), Some(&stuck[..]));
    assert_eq!(msg.key(), Some(&b"2"[..]));
    let headers = support::header_map(&msg);
    let header = |k: &str| headers.get(k).map(String::as_str).unwrap_or_default();
    assert_eq!(header("__connect.errors.topic"), topic);
    assert_eq!(header("__connect.errors.offset"), "1");
    assert_eq!(header("__connect.errors.stage"), "VALUE_CONVERTER");
    assert_eq!(
        header("__connect.errors.class.name"),
        "io.confluent.connect.avro.AvroConverter"
    );
    assert_eq!(
        header("__connect.errors.exception.class.name"),
        "org.apache.kafka.connect.errors.RetriableException"
    );
    assert!(
        header("__connect.errors.exception.message").contains("Schema Registry unavailable"),
        "{headers:?}"
    );

    support::stop(handle).await;
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![3]
    );
    db.cleanup().await;
}

/// A schema the registry does not have (404) is not retried, however long
/// `errors.retry.timeout` is: the task fails at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_refusals_are_not_retried() {
    let db = TestDb::create(Kind::MySql).await;
    let topic = support::unique("rows");
    support::create_topic(&topic, 1).await;
    let env = registry::environment(registry::Env::default());
    produce_bytes(&topic, &[("1", registry::row(9, 1, "a"))]).await;
    let started = Instant::now();
    let handle = support::start(avro_assignment(
        &support::unique("lcc"),
        &db,
        &topic,
        &env,
        &[("errors.retry.timeout", "60000")],
    ));
    let trace = support::wait_failed(&handle).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(trace.contains("Schema 9 not found"), "{trace}");
    assert!(!trace.contains("retries"), "{trace}");
    assert_eq!(registry::calls(&env, 9).len(), 1);
    support::stop(handle).await;
    db.cleanup().await;
}

/// A pause or stop ends a retry wait at once. After a pause the record is
/// taken up again on resume; after a stop it is not committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_stop_end_a_retry_wait() {
    let db = TestDb::create(Kind::Postgres).await;
    let topic = support::unique("rows");
    support::create_topic(&topic, 1).await;
    let env = registry::environment(registry::Env {
        schemas: [
            (1, registry::ROW.to_string()),
            (2, registry::ROW.to_string()),
        ]
        .into(),
        fail_first: usize::MAX,
        ..Default::default()
    });
    produce_bytes(&topic, &[("1", registry::row(1, 1, "a"))]).await;
    let connector = support::unique("lcc");
    let config = &[("errors.retry.timeout", "-1")];
    let handle = support::start(avro_assignment(&connector, &db, &topic, &env, config));
    // Attempts at 0, 300, 900, 2100 ms; the next wait is 2400 ms.
    let deadline = Instant::now() + support::TIMEOUT;
    while registry::calls(&env, 1).len() < 4 {
        assert!(Instant::now() < deadline, "no retries");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = Instant::now();
    handle.set_target(TargetState::Paused);
    support::wait_report(&handle, "PAUSED", |r| r.state == TaskState::Paused).await;
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(registry::calls(&env, 1).len(), 4, "retried while paused");

    // The registry is back: on resume the held record is delivered.
    registry::lock().get_mut(&env).expect("env").fail_first = 0;
    handle.set_target(TargetState::Running);
    support::wait_rows(&db, &handle, &topic, 1).await;

    registry::lock().get_mut(&env).expect("env").failing = [2].into();
    produce_bytes(&topic, &[("2", registry::row(2, 2, "b"))]).await;
    while registry::calls(&env, 2).len() < 4 {
        assert!(Instant::now() < deadline, "no retries");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = Instant::now();
    support::stop(handle).await;
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![1],
        "the record whose retries were stopped must be read again"
    );
    assert_eq!(db.count(&topic).await, 1);
    db.cleanup().await;
}
