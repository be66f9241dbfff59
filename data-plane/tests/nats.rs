//! The NATS JetStream source and sink through the worker runtime against
//! the real nats-server on loopback (`NATS_URL`, default
//! nats://127.0.0.1:4222) and the real broker: a durable consumer that a
//! restarted task continues, re-created from the stored stream sequence
//! when it is gone; records published to JetStream once, even when a
//! batch is delivered twice.

mod catalogue_support;
mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use catalogue_support::{config, source_assignment};
use futures::StreamExt;

fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

async fn js() -> jetstream::Context {
    let client = async_nats::connect(nats_url())
        .await
        .unwrap_or_else(|e| panic!("NATS at {} is not reachable: {e}", nats_url()));
    jetstream::new(client)
}

/// A stream of its own capturing `<prefix>.>`.
async fn create_stream(js: &jetstream::Context, name: &str, prefix: &str) {
    js.create_stream(stream::Config {
        name: name.to_string(),
        subjects: vec![format!("{prefix}.>")],
        ..Default::default()
    })
    .await
    .expect("create stream");
}

async fn publish(js: &jetstream::Context, messages: &[(String, String)]) {
    for (subject, payload) in messages {
        js.publish(subject.clone(), payload.clone().into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    }
}

/// Stream sequences (from the headers) of what reached `topic`.
async fn sequences(topic: &str, at_least: usize) -> Vec<u64> {
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        let got = catalogue_support::read_topic(topic, 10_000, Duration::from_secs(3));
        let seqs: Vec<u64> = got
            .iter()
            .filter_map(|m| m.headers.get("nats.stream.sequence")?.parse().ok())
            .collect();
        if seqs.len() >= at_least {
            return seqs;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {at_least} messages reached {topic}",
            seqs.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_continues_its_durable_consumer_and_recreates_it_from_offsets() {
    catalogue_support::allow_loopback();
    let js = js().await;
    let prefix = support::unique("ev");
    let stream_name = prefix.to_ascii_uppercase();
    create_stream(&js, &stream_name, &prefix).await;
    let first: Vec<(String, String)> = (0..5)
        .map(|i| (format!("{prefix}.dev{i}"), format!(r#"{{"n":{i}}}"#)))
        .collect();
    publish(&js, &first).await;

    let topic = support::unique("nats_in");
    let connector = support::unique("lcc");
    let name = support::unique("nats-source");
    let cfg = config(&[
        ("connector.class", "NatsSource"),
        ("name", &name),
        ("nats.server.urls", &nats_url()),
        ("nats.stream", &stream_name),
        ("nats.subjects", &format!("{prefix}.>")),
        ("kafka.topic", &topic),
    ]);
    let handle = support::start(source_assignment(&connector, 0, cfg.clone(), Vec::new()));
    let seqs = sequences(&topic, 5).await;
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    let got = catalogue_support::read_topic(&topic, 5, support::TIMEOUT);
    assert_eq!(
        got[2].key.as_deref(),
        Some(format!("{prefix}.dev2").as_str())
    );
    assert_eq!(got[2].value.as_deref(), Some(r#"{"n":2}"#));
    let report = support::wait_report(&handle, "offsets of the five", |r| {
        r.offsets
            .iter()
            .any(|o| o.offset["stream.sequence"].as_u64() == Some(5))
    })
    .await;
    // Acks go out right after the commit; give them a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    support::stop(handle).await;

    // Restart: the durable consumer continues after what was acknowledged.
    publish(&js, &[(format!("{prefix}.dev5"), "six".to_string())]).await;
    let handle = support::start(source_assignment(
        &connector,
        0,
        cfg.clone(),
        report.offsets.clone(),
    ));
    let seqs = sequences(&topic, 6).await;
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6], "no message twice, none lost");
    let report = support::wait_report(&handle, "offset of the sixth", |r| {
        r.offsets
            .iter()
            .any(|o| o.offset["stream.sequence"].as_u64() == Some(6))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    support::stop(handle).await;

    // The consumer is gone: it is created again after the stored sequence.
    let stream = js.get_stream(&stream_name).await.expect("stream");
    stream
        .delete_consumer(&format!("tributary-{name}"))
        .await
        .expect("delete consumer");
    publish(&js, &[(format!("{prefix}.dev6"), "seven".to_string())]).await;
    let handle = support::start(source_assignment(&connector, 0, cfg, report.offsets));
    let seqs = sequences(&topic, 7).await;
    support::stop(handle).await;
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6, 7]);
    let _ = js.delete_stream(&stream_name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_publishes_to_jetstream_once_even_when_delivered_twice() {
    catalogue_support::allow_loopback();
    let js = js().await;
    let prefix = support::unique("out");
    let stream_name = prefix.to_ascii_uppercase();
    create_stream(&js, &stream_name, &prefix).await;
    let topic = support::unique("nats_out");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (0, Some("a"), Some(r#"{"v":1}"#)),
            (0, Some("b"), Some(r#"{"v":2}"#)),
            (0, Some("a"), Some(r#"{"v":3}"#)),
        ],
    )
    .await;
    let sink = |connector: &str| {
        config(&[
            ("connector.class", "NatsSink"),
            ("name", connector),
            ("topics", &topic),
            ("nats.server.urls", &nats_url()),
            ("nats.subject", &format!("{prefix}.${{key}}")),
        ])
    };
    // Two connectors (two consumer groups) deliver the same records twice.
    for _ in 0..2 {
        let connector = support::unique("lcc");
        let handle = support::start(support::assignment(&connector, sink(&connector)));
        support::wait_report(&handle, "3 records", |r| r.records == 3).await;
        support::stop(handle).await;
        assert_eq!(
            support::committed(&format!("connect-{connector}"), &topic, 1),
            vec![3]
        );
    }
    let mut stream = js.get_stream(&stream_name).await.expect("stream");
    let info = stream.info().await.expect("info");
    assert_eq!(
        info.state.messages, 3,
        "Nats-Msg-Id de-duplicated the second delivery"
    );

    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config::default())
        .await
        .expect("consumer");
    let mut messages = consumer
        .fetch()
        .max_messages(10)
        .messages()
        .await
        .expect("fetch");
    let mut got = BTreeSet::new();
    while let Some(Ok(m)) = messages.next().await {
        got.insert((
            m.subject.to_string(),
            String::from_utf8_lossy(&m.payload).into_owned(),
        ));
    }
    assert_eq!(
        got,
        BTreeSet::from([
            (format!("{prefix}.a"), r#"{"v":1}"#.to_string()),
            (format!("{prefix}.b"), r#"{"v":2}"#.to_string()),
            (format!("{prefix}.a"), r#"{"v":3}"#.to_string()),
        ])
    );
    let _ = js.delete_stream(&stream_name).await;
}
