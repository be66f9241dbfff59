//! The RabbitMQ source and sink against the real RabbitMQ on loopback
//! (`RABBITMQ_URL`, default amqp://guest:guest@127.0.0.1:5672/%2f) and the
//! real broker: messages are acknowledged to RabbitMQ only once Kafka has
//! their records, and what was not acknowledged comes again (after a stop or
//! a lost connection); records reach a queue bound to the sink's exchange
//! only as confirmed messages, also across a lost connection; bad configs
//! name their keys.
//!
//! Connections are closed from the server side with `rabbitmqctl`, as a
//! broker restart or a network cut would.

mod catalogue_support;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use catalogue_support::{config, source_assignment};
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tributary_data_plane::connectors::{
    find, validate, Config, SinkTask, SourceRecord, SourceTask, TaskError,
};
use tributary_data_plane::record::{Header, Record};

fn rabbitmq_url() -> String {
    std::env::var("RABBITMQ_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The connection keys of a connector reaching the test's RabbitMQ.
fn endpoint() -> Vec<(String, String)> {
    let uri = AMQPUri::from_str(&rabbitmq_url()).expect("RABBITMQ_URL");
    vec![
        ("rabbitmq.host".into(), uri.authority.host),
        ("rabbitmq.port".into(), uri.authority.port.to_string()),
        ("rabbitmq.username".into(), uri.authority.userinfo.username),
        ("rabbitmq.password".into(), uri.authority.userinfo.password),
        ("rabbitmq.virtual.host".into(), uri.vhost),
    ]
}

fn connector_config(pairs: &[(&str, &str)]) -> Config {
    let mut c = config(pairs);
    c.extend(endpoint());
    c
}

async fn channel() -> (Connection, Channel) {
    let conn = Connection::connect(&rabbitmq_url(), ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ at {} is not reachable: {e}", rabbitmq_url()));
    let channel = conn.create_channel().await.expect("channel");
    (conn, channel)
}

async fn declare_queue(ch: &Channel, queue: &str) {
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .expect("declare queue");
}

/// Messages ready for delivery in `queue` (not counting unacknowledged ones).
async fn ready(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .expect("queue exists")
    .message_count()
}

/// Waits until `queue` holds `n` ready messages.
async fn wait_ready(ch: &Channel, queue: &str, n: u32, why: &str) {
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        let got = ready(ch, queue).await;
        if got == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{why}: {got} ready messages in {queue}, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Publishes `(message id, body)` pairs to `queue` through the default
/// exchange, each confirmed, with a `tenant` header.
async fn publish(ch: &Channel, queue: &str, messages: &[(String, String)]) {
    ch.confirm_select(Default::default())
        .await
        .expect("confirms");
    for (id, body) in messages {
        let mut headers = FieldTable::default();
        headers.insert(
            ShortString::from("tenant"),
            AMQPValue::LongString(LongString::from("acme")),
        );
        let confirm = ch
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default()
                    .with_message_id(id.as_str().into())
                    .with_content_type("application/json".into())
                    .with_headers(headers),
            )
            .await
            .expect("publish")
            .await
            .expect("confirm");
        assert!(confirm.is_ack(), "RabbitMQ nacked our publish");
    }
}

/// Takes every message of `queue`: (body, properties).
async fn drain(ch: &Channel, queue: &str) -> Vec<(String, BasicProperties)> {
    let mut out = Vec::new();
    while let Some(m) = ch
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")
    {
        out.push((
            String::from_utf8_lossy(&m.delivery.data).into_owned(),
            m.delivery.properties.clone(),
        ));
    }
    out
}

/// Closes, from the server side, the connections named `name` (what a
/// broker restart or a network cut does to them).
fn close_connections(name: &str) -> usize {
    let list = std::process::Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl (the RabbitMQ CLI) must be installed for this test");
    assert!(
        list.status.success(),
        "rabbitmqctl list_connections: {list:?}"
    );
    // The name is a client property: {"connection_name","NAME"}.
    let quoted = format!("{{\"connection_name\",\"{name}\"}}");
    let mut closed = 0;
    let listed = String::from_utf8_lossy(&list.stdout);
    for line in listed.lines() {
        if !line.contains(&quoted) {
            continue;
        }
        let Some(pid) = line.split('\t').next() else {
            continue;
        };
        let out = std::process::Command::new("rabbitmqctl")
            .args(["close_connection", pid.trim(), "test: connection cut"])
            .output()
            .expect("rabbitmqctl close_connection");
        assert!(
            out.status.success(),
            "rabbitmqctl close_connection: {out:?}"
        );
        closed += 1;
    }
    closed
}

/// Polls `task` until it returned `n` records (retriable errors are what
/// the runtime retries too).
async fn poll_n(task: &mut dyn SourceTask, n: usize) -> Vec<SourceRecord> {
    let deadline = Instant::now() + support::TIMEOUT;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "{} of {n} messages polled",
            got.len()
        );
        match task.poll().await {
            Ok(records) => got.extend(records),
            Err(TaskError::Retriable(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(TaskError::Fatal(e)) => panic!("the source failed: {e}"),
        }
    }
    got
}

fn header<'a>(r: &'a SourceRecord, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn messages(prefix: &str, range: std::ops::Range<u32>) -> Vec<(String, String)> {
    range
        .map(|i| (format!("{prefix}-{i}"), format!(r#"{{"n": {i}}}"#)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_acknowledges_only_what_kafka_has_and_redelivers_the_rest() {
    catalogue_support::allow_loopback();
    let (_conn, ch) = channel().await;
    let queue = support::unique("orders");
    declare_queue(&ch, &queue).await;
    publish(&ch, &queue, &messages("m", 0..5)).await;

    let name = support::unique("rmq-source");
    let topic = support::unique("rabbitmq_in");
    let cfg = connector_config(&[
        ("connector.class", "RabbitMQSource"),
        ("name", &name),
        ("rabbitmq.queue", &queue),
        ("kafka.topic", &topic),
        ("rabbitmq.prefetch.count", "100"),
    ]);
    let plugin = find("RabbitMQSource").expect("plugin");
    let task_cfg = plugin.task_configs(&cfg, 1).remove(0);

    // A task polls the five messages: RabbitMQ holds them for it, unacknowledged.
    let mut task = plugin.start_source_task(&task_cfg, 0, &[]).expect("task");
    let polled = poll_n(task.as_mut(), 5).await;
    assert_eq!(ready(&ch, &queue).await, 0, "delivered, not acknowledged");
    let first = &polled[0];
    assert_eq!(first.key, Some(serde_json::json!("m-0")));
    // The body as it is: a BYTES value, which the ByteArrayConverter
    // writes as the same bytes.
    use tributary_data_plane::converters::{ByteArrayConverter, Converter};
    let body = ByteArrayConverter
        .from_connect_data("t", first.value_schema.as_deref(), first.value.as_ref())
        .expect("bytes");
    assert_eq!(
        body.as_deref(),
        Some(&br#"{"n": 0}"#[..]),
        "the body as it is"
    );
    assert_eq!(header(first, "rabbitmq.routing.key"), Some(queue.as_str()));
    assert_eq!(header(first, "rabbitmq.exchange"), Some(""));
    assert_eq!(header(first, "rabbitmq.redeliver"), Some("false"));
    assert_eq!(header(first, "rabbitmq.headers.tenant"), Some("acme"));

    // Kafka has the first two: only they are acknowledged. The task then
    // stops without committing the others, as a crash would.
    task.commit(&[tributary_data_plane::protocol::SourceOffset {
        partition: polled[1].source_partition.clone(),
        offset: polled[1].source_offset.clone(),
    }]);
    drop(task);
    wait_ready(&ch, &queue, 3, "the three not in Kafka are requeued").await;

    // Through the runtime and the real broker: the three come again
    // (flagged as redelivered), then two published meanwhile.
    publish(&ch, &queue, &messages("m", 5..7)).await;
    let connector = support::unique("lcc");
    let handle = support::start(source_assignment(&connector, 0, task_cfg, Vec::new()));
    let deadline = Instant::now() + support::TIMEOUT;
    let got = loop {
        let got = catalogue_support::read_topic(&topic, 5, Duration::from_secs(5));
        if got.len() >= 5 {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of 5 records in {topic}: {:?}",
            got.len(),
            handle.report()
        );
    };
    support::wait_report(&handle, "all five committed", |r| {
        r.records >= 5 && !r.offsets.is_empty()
    })
    .await;
    support::stop(handle).await;

    let by_key: BTreeMap<String, &catalogue_support::Consumed> = got
        .iter()
        .filter_map(|m| Some((m.key.clone()?, m)))
        .collect();
    assert_eq!(
        by_key.keys().cloned().collect::<Vec<_>>(),
        vec!["m-2", "m-3", "m-4", "m-5", "m-6"],
        "exactly the messages Kafka did not have"
    );
    let m2 = by_key["m-2"];
    assert_eq!(
        m2.value.as_deref(),
        Some(r#"{"n": 2}"#),
        "BYTES: the body verbatim"
    );
    assert_eq!(m2.headers["rabbitmq.redeliver"], "true");
    assert_eq!(m2.headers["rabbitmq.content.type"], "application/json");
    assert_eq!(m2.headers["rabbitmq.message.id"], "m-2");
    assert!(m2.headers["rabbitmq.consumer.tag"].contains(&name));
    assert_eq!(by_key["m-6"].headers["rabbitmq.redeliver"], "false");
    // Acknowledged once Kafka had them: nothing comes back after the stop.
    wait_ready(&ch, &queue, 0, "every record reached Kafka").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ready(&ch, &queue).await, 0);
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_gets_unacknowledged_messages_again_after_a_lost_connection() {
    catalogue_support::allow_loopback();
    let (_conn, ch) = channel().await;
    let queue = support::unique("events");
    declare_queue(&ch, &queue).await;
    publish(&ch, &queue, &messages("e", 0..3)).await;
    let name = support::unique("rmq-cut");
    let cfg = connector_config(&[
        ("connector.class", "RabbitMQSource"),
        ("name", &name),
        ("rabbitmq.queue", &queue),
        ("kafka.topic", "unused"),
    ]);
    let mut task = find("RabbitMQSource")
        .expect("plugin")
        .start_source_task(&cfg, 0, &[])
        .expect("task");
    let before = poll_n(task.as_mut(), 3).await;
    assert!(before
        .iter()
        .all(|r| header(r, "rabbitmq.redeliver") == Some("false")));
    assert_eq!(close_connections(&format!("tributary-{name}-0")), 1);
    // The task notices, connects again, and gets the three again.
    let again = poll_n(task.as_mut(), 3).await;
    let keys: BTreeSet<String> = again
        .iter()
        .filter_map(|r| r.key.as_ref()?.as_str().map(String::from))
        .collect();
    assert_eq!(keys.len(), 3, "{again:?}");
    assert!(again
        .iter()
        .all(|r| header(r, "rabbitmq.redeliver") == Some("true")));
    let last = again.last().expect("records");
    task.commit(&[tributary_data_plane::protocol::SourceOffset {
        partition: last.source_partition.clone(),
        offset: last.source_offset.clone(),
    }]);
    drop(task);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        ready(&ch, &queue).await,
        0,
        "acknowledged on the new channel"
    );
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
}

/// An exchange and a queue bound to it with `routing_key`.
async fn exchange_and_queue(ch: &Channel, routing_key: &str) -> (String, String) {
    let exchange = support::unique("shop");
    let queue = support::unique("bound");
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Direct,
        ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .expect("declare exchange");
    declare_queue(ch, &queue).await;
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        routing_key.into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");
    (exchange, queue)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_publishes_records_to_the_bound_queue_and_sends_tombstones_to_the_dlq() {
    catalogue_support::allow_loopback();
    let (_conn, ch) = channel().await;
    let (exchange, queue) = exchange_and_queue(&ch, "orders.new").await;
    let topic = support::unique("rabbitmq_out");
    let dlq = support::unique("rabbitmq_dlq");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (0, Some("o-1"), Some(r#"{"id":1}"#)),
            (0, Some("o-2"), None),
            (0, Some("o-3"), Some(r#"{"id":3}"#)),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        connector_config(&[
            ("connector.class", "RabbitMQSink"),
            ("name", &connector),
            ("topics", &topic),
            ("input.data.format", "STRING"),
            ("rabbitmq.exchange", &exchange),
            ("rabbitmq.routing.key", "orders.new"),
            ("rabbitmq.forward.kafka.key", "true"),
            ("rabbitmq.forward.kafka.metadata", "true"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
        ]),
    ));
    support::wait_report(&handle, "3 records handled", |r| r.records == 3).await;
    support::stop(handle).await;
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![3],
        "committed once RabbitMQ confirmed"
    );

    let got = drain(&ch, &queue).await;
    let bodies: Vec<&str> = got.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(bodies, vec![r#"{"id":1}"#, r#"{"id":3}"#]);
    let p = &got[1].1;
    assert_eq!(p.delivery_mode(), &Some(2), "PERSISTENT by default");
    assert_eq!(p.correlation_id().as_ref().map(|c| c.as_str()), Some("o-3"));
    let headers = p.headers().clone().unwrap_or_default();
    assert_eq!(
        headers.inner().get("KAFKA_TOPIC"),
        Some(&AMQPValue::LongString(topic.as_str().into()))
    );
    assert_eq!(
        headers.inner().get("KAFKA_OFFSET"),
        Some(&AMQPValue::LongLongInt(2))
    );
    // The tombstone had no body to publish: errors.tolerance=all sent it to the DLQ.
    let dead = catalogue_support::read_topic(&dlq, 1, support::TIMEOUT);
    assert_eq!(dead.len(), 1, "the tombstone in the dead letter queue");
    assert_eq!(dead[0].key.as_deref(), Some("o-2"));
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
}

fn record(topic: &str, offset: i64, body: &str) -> Record {
    let mut r = Record::new(topic, None, Some(serde_json::json!(body)));
    r.kafka_partition = Some(0);
    r.kafka_offset = Some(offset);
    r.headers.push(Header {
        key: "trace".into(),
        value: Some(serde_json::json!(format!("t{offset}"))),
    });
    r
}

/// `put` then `flush` as the runtime does, retrying each retriable failure
/// of the same stage (the runtime retries a failed flush without a new put).
async fn deliver(task: &mut dyn SinkTask, records: Vec<Record>) -> usize {
    let mut failures = 0;
    let deadline = Instant::now() + support::TIMEOUT;
    while let Err(e) = task.put(records.clone()).await {
        assert!(matches!(e, TaskError::Retriable(_)), "put: {e}");
        assert!(Instant::now() < deadline, "put kept failing: {e}");
        failures += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    while let Err(e) = task.flush().await {
        assert!(matches!(e, TaskError::Retriable(_)), "flush: {e}");
        assert!(Instant::now() < deadline, "flush kept failing: {e}");
        failures += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_flush_succeeds_only_once_every_message_is_confirmed_across_a_lost_connection() {
    catalogue_support::allow_loopback();
    let (_conn, ch) = channel().await;
    let (exchange, queue) = exchange_and_queue(&ch, "k").await;
    let name = support::unique("rmq-sink-cut");
    let cfg = connector_config(&[
        ("connector.class", "RabbitMQSink"),
        ("name", &name),
        ("topics", "t"),
        ("rabbitmq.exchange", &exchange),
        ("rabbitmq.routing.key", "k"),
        ("rabbitmq.forward.kafka.headers", "true"),
        ("rabbitmq.delivery.mode", "TRANSIENT"),
    ]);
    let mut task = find("RabbitMQSink")
        .expect("plugin")
        .start_sink_task(&cfg, 0)
        .expect("task");
    task.open().await.expect("open");
    assert_eq!(
        deliver(
            task.as_mut(),
            vec![record("t", 0, "a"), record("t", 1, "b")]
        )
        .await,
        0
    );
    let first = drain(&ch, &queue).await;
    assert_eq!(
        first.iter().map(|(b, _)| b.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(first[0].1.delivery_mode(), &Some(1));
    assert_eq!(
        first[1]
            .1
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("trace").cloned()),
        Some(AMQPValue::LongString("t1".into()))
    );

    // The server cuts the connection; the next batch still arrives whole.
    assert_eq!(close_connections(&format!("tributary-{name}-0")), 1);
    let batch: Vec<Record> = (2..6).map(|i| record("t", i, &format!("m{i}"))).collect();
    let failures = deliver(task.as_mut(), batch).await;
    assert!(failures >= 1, "the cut connection went unnoticed");
    task.close().await;
    let second: BTreeSet<String> = drain(&ch, &queue)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(
        second,
        BTreeSet::from(["m2", "m3", "m4", "m5"].map(String::from)),
        "every message of the batch confirmed (none lost)"
    );
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_name_their_keys_and_missing_queues_or_exchanges_fail_the_task() {
    catalogue_support::allow_loopback();
    let source = find("io.confluent.connect.rabbitmq.RabbitMQSourceConnector").expect("alias");
    let keys = |c: &Config, p: &dyn tributary_data_plane::connectors::ConnectorPlugin| {
        validate(p, c)
            .into_iter()
            .map(|e| e.key)
            .collect::<Vec<_>>()
    };
    let bad = config(&[
        ("connector.class", "RabbitMQSource"),
        ("rabbitmq.host", "127.0.0.1"),
        ("rabbitmq.port", "99999"),
        ("rabbitmq.security.protocol", "TLS"),
        ("kafka.topic", "t"),
    ]);
    assert_eq!(
        keys(&bad, source),
        vec!["rabbitmq.security.protocol", "rabbitmq.queue"]
    );
    let mut bad = bad;
    bad.insert("rabbitmq.queue".into(), "q".into());
    bad.insert("rabbitmq.security.protocol".into(), "SSL".into());
    assert_eq!(keys(&bad, source), vec!["rabbitmq.port"]);
    let sink = find("RabbitMQSink").expect("sink");
    let bad_sink = config(&[
        ("connector.class", "RabbitMQSink"),
        ("topics", "t"),
        ("rabbitmq.host", "127.0.0.1"),
        ("rabbitmq.routing.key", "k"),
        ("rabbitmq.delivery.mode", "FOREVER"),
    ]);
    assert_eq!(
        keys(&bad_sink, sink),
        vec!["rabbitmq.exchange", "rabbitmq.delivery.mode"]
    );

    // Valid configs naming what does not exist: the tasks fail, saying what.
    let missing = support::unique("nosuchqueue");
    let handle = support::start(source_assignment(
        &support::unique("lcc"),
        0,
        connector_config(&[
            ("connector.class", "RabbitMQSource"),
            ("rabbitmq.queue", &missing),
            ("kafka.topic", &support::unique("rabbitmq_none")),
        ]),
        Vec::new(),
    ));
    let trace = support::wait_failed(&handle).await;
    support::stop(handle).await;
    assert!(
        trace.contains(&missing) && trace.contains("rabbitmq.queue"),
        "{trace}"
    );
    let missing = support::unique("nosuchexchange");
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        connector_config(&[
            ("connector.class", "RabbitMQSink"),
            ("topics", &support::unique("rabbitmq_none")),
            ("rabbitmq.exchange", &missing),
            ("rabbitmq.routing.key", "k"),
        ]),
    ));
    let trace = support::wait_failed(&handle).await;
    support::stop(handle).await;
    assert!(
        trace.contains(&missing) && trace.contains("rabbitmq.exchange"),
        "{trace}"
    );
}
