//! The MQTT source and sink through the worker runtime against the real
//! Mosquitto on loopback (`MQTT_URI`, default tcp://127.0.0.1:1883) and the
//! real broker: messages become records keyed by MQTT topic, a restarted
//! source gets what was published while it was away (persistent session,
//! QoS 1), and records are published to topics built from their keys.

mod catalogue_support;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use catalogue_support::{config, source_assignment};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

fn mqtt_uri() -> String {
    std::env::var("MQTT_URI").unwrap_or_else(|_| "tcp://127.0.0.1:1883".into())
}

fn options(client_id: &str) -> MqttOptions {
    let uri = mqtt_uri();
    let authority = uri.split("://").nth(1).unwrap_or("127.0.0.1:1883");
    let (host, port) = authority.rsplit_once(':').unwrap_or((authority, "1883"));
    let mut o = MqttOptions::new(client_id, host, port.parse().unwrap_or(1883));
    o.set_keep_alive(Duration::from_secs(10));
    o
}

/// Publishes `messages` (topic, payload) at QoS 1 and waits for every ack.
async fn publish(messages: &[(String, String)]) {
    let (client, mut eventloop) = AsyncClient::new(options(&support::unique("pub")), 100);
    for (topic, payload) in messages {
        client
            .publish(topic, QoS::AtLeastOnce, false, payload.clone())
            .await
            .expect("publish");
    }
    let deadline = Instant::now() + support::TIMEOUT;
    let mut acked = 0;
    while acked < messages.len() {
        assert!(
            Instant::now() < deadline,
            "Mosquitto did not ack our publishes"
        );
        match tokio::time::timeout(Duration::from_secs(5), eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("MQTT broker at {} is not reachable: {e}", mqtt_uri()),
            Err(_) => {}
        }
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
}

/// Subscribes to `filter` and forwards (topic, payload, retain) of every message.
async fn subscribe(filter: &str) -> mpsc::UnboundedReceiver<(String, String, bool)> {
    let (client, mut eventloop) = AsyncClient::new(options(&support::unique("sub")), 100);
    client
        .subscribe(filter, QoS::AtLeastOnce)
        .await
        .expect("subscribe");
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, mut ready) = mpsc::channel(1);
    tokio::spawn(async move {
        let _client = client;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = ready_tx.try_send(());
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let payload = String::from_utf8_lossy(&p.payload).into_owned();
                    if tx.send((p.topic.clone(), payload, p.retain)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready.recv())
        .await
        .expect("SUBACK in time");
    rx
}

fn source_config(
    name: &str,
    filter: &str,
    topic: &str,
) -> std::collections::BTreeMap<String, String> {
    config(&[
        ("connector.class", "MqttSource"),
        ("name", name),
        ("mqtt.server.uri", &mqtt_uri()),
        ("mqtt.topics", filter),
        ("kafka.topic", topic),
        ("mqtt.qos", "1"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_writes_messages_keyed_by_mqtt_topic_and_resumes_its_session() {
    catalogue_support::allow_loopback();
    let prefix = support::unique("sensors");
    let kafka_topic = support::unique("mqtt_in");
    let name = support::unique("mqtt-source");
    let connector = support::unique("lcc");
    let config = source_config(&name, &format!("{prefix}/+/temp"), &kafka_topic);

    let handle = support::start(source_assignment(&connector, 0, config.clone(), Vec::new()));
    support::wait_report(&handle, "RUNNING", |r| {
        r.state == tributary_data_plane::protocol::TaskState::Running
    })
    .await;
    // The subscription is in place once a message published now arrives.
    let first: Vec<(String, String)> = (0..5)
        .map(|i| (format!("{prefix}/room{i}/temp"), format!(r#"{{"c":{i}}}"#)))
        .collect();
    let deadline = Instant::now() + support::TIMEOUT;
    let mut got = Vec::new();
    while got.len() < 5 {
        assert!(
            Instant::now() < deadline,
            "messages never reached Kafka: {got:?}"
        );
        publish(&first).await;
        got = catalogue_support::read_topic(&kafka_topic, 5, Duration::from_secs(5));
    }
    let report = support::wait_report(&handle, "acknowledged records", |r| {
        r.records >= 5 && !r.offsets.is_empty()
    })
    .await;
    support::stop(handle).await;

    let r = got
        .iter()
        .find(|m| m.key.as_deref() == Some(&format!("{prefix}/room3/temp")))
        .expect("room3's message, keyed by its MQTT topic");
    assert_eq!(r.value.as_deref(), Some(r#"{"c":3}"#));
    assert_eq!(r.headers["mqtt.qos"], "1");
    assert_eq!(r.headers["mqtt.retained"], "false");
    assert_eq!(
        report.offsets[0].partition,
        serde_json::json!({"mqtt.client.id": format!("tributary-{name}-0")})
    );

    // Published while the task is down: the persistent session keeps them.
    let while_down: Vec<(String, String)> = (0..3)
        .map(|i| (format!("{prefix}/late{i}/temp"), format!("late {i}")))
        .collect();
    publish(&while_down).await;
    let handle = support::start(source_assignment(
        &connector,
        0,
        config,
        report.offsets.clone(),
    ));
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        let all = catalogue_support::read_topic(&kafka_topic, 1000, Duration::from_secs(3));
        let late: BTreeSet<String> = all
            .iter()
            .filter(|m| m.key.as_deref().is_some_and(|k| k.contains("/late")))
            .filter_map(|m| m.value.clone())
            .collect();
        if late.len() == 3 {
            // Non-JSON text is written as a JSON string.
            assert!(late.contains("\"late 1\""), "{late:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages published while down were lost: {late:?}"
        );
    }
    let report = support::wait_report(&handle, "offsets continue", |r| {
        r.offsets
            .iter()
            .any(|o| o.offset["seq"].as_u64() >= Some(7))
    })
    .await;
    assert!(!report.offsets.is_empty());
    support::stop(handle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_publishes_each_record_to_its_key_topic() {
    catalogue_support::allow_loopback();
    let prefix = support::unique("out");
    let mut messages = subscribe(&format!("{prefix}/#")).await;
    let topic = support::unique("mqtt_out");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (0, Some("dev1"), Some(r#"{"on":true}"#)),
            (0, Some("dev2"), Some("text")),
            (0, Some("dev3"), None),
        ],
    )
    .await;
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        config(&[
            ("connector.class", "MqttSink"),
            ("name", &connector),
            ("topics", &topic),
            ("mqtt.server.uri", &mqtt_uri()),
            ("mqtt.topic", &format!("{prefix}/${{key}}/state")),
            ("input.data.format", "STRING"),
            ("mqtt.qos", "1"),
        ]),
    ));
    let mut got = Vec::new();
    while got.len() < 2 {
        match tokio::time::timeout(support::TIMEOUT, messages.recv()).await {
            Ok(Some(m)) => got.push(m),
            _ => panic!("the sink published {got:?} only: {:?}", handle.report()),
        }
    }
    support::wait_report(&handle, "3 records handled", |r| r.records == 3).await;
    support::stop(handle).await;
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                format!("{prefix}/dev1/state"),
                r#"{"on":true}"#.to_string(),
                false
            ),
            (format!("{prefix}/dev2/state"), "text".to_string(), false),
        ]
    );
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![3],
        "committed once the broker acknowledged"
    );
    // The tombstone was skipped (not retained): nothing more arrives.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), messages.recv())
            .await
            .is_err()
    );
}
