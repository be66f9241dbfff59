//! Exactly-once sources (`exactly.once.support`, KIP-618): a Datagen task
//! writes its records and their source offsets in Kafka transactions.
//!
//! Against librdkafka's mock cluster, which implements producer ids,
//! epochs (fencing) and transactions, but not the hiding of aborted records
//! from read_committed consumers: so what the tests read back is the whole
//! log, and "every iteration exactly once" there is a stronger check than a
//! read_committed consumer on a real broker would make. And against the
//! real broker (tansu 0.6, `KAFKA_BOOTSTRAP`), which cannot end
//! transactions (it has no EndTxn): `required` fails there, `requested`
//! falls back to at-least-once.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use serde_json::{json, Value};
use tokio::sync::Notify;
use tributary_data_plane::protocol::{
    SourceOffset, TargetState, TaskAssignment, TaskReport, TaskState,
};
use tributary_data_plane::runtime::TaskHandle;

const CONNECTOR: &str = "orders-eos";
const OFFSETS_TOPIC: &str = "_tributary-offsets";

/// Task 0 of the Datagen connector, a connector id of its own per topic.
fn assignment(bootstrap: &str, topic: &str, extra: &[(&str, &str)]) -> TaskAssignment {
    support::datagen_assignment(&format!("lcc-{topic}"), CONNECTOR, bootstrap, topic, extra)
}

/// A mock cluster with the task's topic and the offsets topic (the mock
/// has no CreateTopics).
fn mock_cluster(topic: &str) -> MockCluster<'static, rdkafka::producer::DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(topic, 1, 1).expect("topic");
    cluster
        .create_topic(OFFSETS_TOPIC, 1, 1)
        .expect("offsets topic");
    cluster
}

/// A record read back: key, value, headers.
type Read = (Option<Vec<u8>>, Option<Vec<u8>>, BTreeMap<String, String>);

/// Every record of partition 0 of `topic` as a read_committed consumer
/// reads it, to the end: (key, value, headers).
fn read_all(bootstrap: &str, topic: &str) -> Vec<Read> {
    let consumer = support::partition_reader(
        bootstrap,
        topic,
        &[
            ("isolation.level", "read_committed"),
            ("enable.partition.eof", "true"),
            ("fetch.wait.max.ms", "100"),
            ("topic.metadata.refresh.interval.ms", "500"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "no end of {topic} within 30s");
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => return out,
            Some(Err(e)) => panic!("consuming {topic}: {e}"),
            Some(Ok(msg)) => {
                let headers = support::header_map(&msg);
                out.push((
                    msg.key().map(<[u8]>::to_vec),
                    msg.payload().map(<[u8]>::to_vec),
                    headers,
                ));
            }
        }
    }
}

/// The `current.iteration` header of every record of `topic`, in order.
fn iterations(bootstrap: &str, topic: &str) -> Vec<u64> {
    read_all(bootstrap, topic)
        .into_iter()
        .map(|(_, _, h)| {
            h.get("current.iteration")
                .and_then(|v| v.parse().ok())
                .expect("current.iteration header")
        })
        .collect()
}

/// Asserts that `seen` is 0, 1, …, n-1: every iteration once, in order.
fn assert_each_once(seen: &[u64], n: u64) {
    let dupes = seen.len() as i64 - n as i64;
    assert_eq!(
        seen,
        (0..n).collect::<Vec<_>>().as_slice(),
        "expected iterations 0..{n} exactly once ({dupes} more records than that)"
    );
}

/// The last offset the offsets topic holds for the task's partition.
fn committed_offset(bootstrap: &str) -> Option<Value> {
    let key = json!([CONNECTOR, {"task.id": 0}]).to_string();
    read_all(bootstrap, OFFSETS_TOPIC)
        .into_iter()
        .filter(|(k, _, _)| k.as_deref() == Some(key.as_bytes()))
        .filter_map(|(_, v, _)| serde_json::from_slice(&v?).ok())
        .next_back()
}

fn iteration_of(offsets: &[SourceOffset]) -> Option<u64> {
    offsets
        .iter()
        .find_map(|o| o.offset.get("current.iteration")?.as_u64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_their_offsets_commit_together() {
    let topic = "orders-eos-atomic";
    let cluster = mock_cluster(topic);
    let bootstrap = cluster.bootstrap_servers();
    let handle = TaskHandle::start(
        assignment(
            &bootstrap,
            topic,
            &[("exactly.once.support", "required"), ("iterations", "1200")],
        ),
        Arc::new(Notify::new()),
    );
    let report =
        support::wait_report(&handle, "1200 committed records", |r| r.records == 1200).await;
    assert_eq!(report.state, TaskState::Running);
    // The control plane's copy follows each commit.
    let reported = support::wait_report(&handle, "the offset reported", |r| {
        iteration_of(&r.offsets) == Some(1200)
    })
    .await;
    assert_eq!(reported.offsets.len(), 1);
    assert_eq!(reported.offsets[0].partition, json!({"task.id": 0}));
    handle.stop(Duration::from_secs(10)).await;

    assert_each_once(&iterations(&bootstrap, topic), 1200);
    // The same offset in the offsets topic, in Kafka Connect's format.
    let committed = committed_offset(&bootstrap).expect("an offset in the offsets topic");
    assert_eq!(committed["current.iteration"], 1200);
    assert_eq!(committed, reported.offsets[0].offset);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_boundary_commits_many_polls_at_once() {
    let topic = "orders-eos-interval";
    let cluster = mock_cluster(topic);
    let bootstrap = cluster.bootstrap_servers();
    let handle = TaskHandle::start(
        assignment(
            &bootstrap,
            topic,
            &[
                ("exactly.once.support", "requested"),
                ("transaction.boundary", "interval"),
                ("transaction.boundary.interval.ms", "700"),
                // One record per poll, about one every millisecond.
                ("max.interval", "2"),
            ],
        ),
        Arc::new(Notify::new()),
    );
    let first = support::wait_report(&handle, "a first commit", |r| r.records > 0).await;
    assert!(
        first.records > 50,
        "one transaction holds ~700 ms of polls, not one: {}",
        first.records
    );
    let started = Instant::now();
    support::wait_report(&handle, "more commits", |r| r.records > first.records).await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "the next commit came after {:?}",
        started.elapsed()
    );
    handle.stop(Duration::from_secs(10)).await;

    // Stopping commits the open transaction: all that was produced counts.
    let key = json!([CONNECTOR, {"task.id": 0}]).to_string();
    let offset_records = read_all(&bootstrap, OFFSETS_TOPIC)
        .into_iter()
        .filter(|(k, _, _)| k.as_deref() == Some(key.as_bytes()))
        .count();
    let last = committed_offset(&bootstrap)
        .and_then(|o| o["current.iteration"].as_u64())
        .expect("an offset in the offsets topic");
    assert!(
        offset_records <= 6,
        "{offset_records} transactions for {last} records"
    );
    assert_each_once(&iterations(&bootstrap, topic), last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transaction_is_aborted_and_its_records_sent_again() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let topic = "orders-eos-retry";
    let cluster = mock_cluster(topic);
    let bootstrap = cluster.bootstrap_servers();
    let handle = TaskHandle::start(
        assignment(
            &bootstrap,
            topic,
            &[
                ("exactly.once.support", "required"),
                ("iterations", "300"),
                ("max.interval", "2"),
            ],
        ),
        Arc::new(Notify::new()),
    );
    support::wait_report(&handle, "records flowing", |r| r.records >= 20).await;
    // The broker refuses the next produce requests for good: the records
    // of the open transaction fail, so its commit fails and must be aborted.
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE; 2],
    );
    let report = support::wait_report(&handle, "300 committed records", |r| r.records == 300).await;
    assert_eq!(report.state, TaskState::Running, "{:?}", report.trace);
    handle.stop(Duration::from_secs(10)).await;

    // Nothing lost, nothing twice: the refused records went out again.
    assert_each_once(&iterations(&bootstrap, topic), 300);
    assert_eq!(
        committed_offset(&bootstrap).and_then(|o| o["current.iteration"].as_u64()),
        Some(300)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_task_resumes_from_the_offsets_topic_without_duplicates() {
    let topic = "orders-eos-restart";
    let cluster = mock_cluster(topic);
    let bootstrap = cluster.bootstrap_servers();
    let config = [("exactly.once.support", "required"), ("iterations", "3000")];
    let first = TaskHandle::start(
        assignment(&bootstrap, topic, &config),
        Arc::new(Notify::new()),
    );
    support::wait_report(&first, "records flowing", |r| r.records >= 600).await;
    first.stop(Duration::from_secs(10)).await;
    let stopped_at = committed_offset(&bootstrap)
        .and_then(|o| o["current.iteration"].as_u64())
        .expect("an offset in the offsets topic");
    assert!(stopped_at < 3000, "stopped mid-way, at {stopped_at}");

    // The control plane's copy is stale (as after a crash between a commit
    // and the next report): the offsets topic wins.
    let mut again = assignment(&bootstrap, topic, &config);
    again.epoch = 2;
    again.offsets = vec![SourceOffset {
        partition: json!({"task.id": 0}),
        offset: json!({"task.generation": 1, "current.iteration": 10}),
    }];
    let second = TaskHandle::start(again, Arc::new(Notify::new()));
    let report = support::wait_report(&second, "the rest of the iterations", |r| {
        iteration_of(&r.offsets) == Some(3000)
    })
    .await;
    assert_eq!(
        report.records,
        3000 - stopped_at,
        "the second instance produced only what the first had not committed"
    );
    second.stop(Duration::from_secs(10)).await;

    assert_each_once(&iterations(&bootstrap, topic), 3000);
}

/// A newer instance's `init_transactions` bumps the producer epoch of the
/// shared transactional id, and the broker answers the older instance's
/// next transactional request with PRODUCER_FENCED. The mock cluster hands
/// every `init_transactions` a new producer id instead of bumping the
/// epoch, so that answer is injected here (on the request that opens the
/// zombie's next transaction, so none of its records reach the mock's log,
/// which would not hide them from read_committed readers); the rest is real.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_instance_stops_quietly_and_its_successor_resumes() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let topic = "orders-eos-zombie";
    let cluster = mock_cluster(topic);
    let bootstrap = cluster.bootstrap_servers();
    // Paced, so the zombie is mid-stream when fenced.
    let config = [("exactly.once.support", "required"), ("max.interval", "2")];
    let zombie = TaskHandle::start(
        assignment(&bootstrap, topic, &config),
        Arc::new(Notify::new()),
    );
    support::wait_report(&zombie, "records flowing", |r| r.records >= 50).await;
    cluster.request_errors(
        RDKafkaApiKey::AddPartitionsToTxn,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_PRODUCER_FENCED],
    );
    let fenced = support::wait_report(&zombie, "the fenced instance to stop", |r| {
        r.state == TaskState::Unassigned
    })
    .await;
    assert_eq!(fenced.trace, None, "a fenced task is not a failed one");
    let zombie_records = fenced.records;
    assert_eq!(
        iteration_of(&fenced.offsets),
        Some(zombie_records),
        "the fenced instance reports only what it committed"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        zombie.report().records,
        zombie_records,
        "the fenced instance commits nothing more"
    );

    // The same task assigned again: the same transactional id.
    let mut newer = assignment(&bootstrap, topic, &config);
    newer.epoch = 2;
    let successor = TaskHandle::start(newer, Arc::new(Notify::new()));
    support::wait_report(&successor, "the successor producing", |r| r.records >= 50).await;
    // Paused, the successor commits what it has and then nothing more.
    successor.set_target(TargetState::Paused);
    let successor_records = wait_for_state(&successor, TaskState::Paused).await.records;
    successor.stop(Duration::from_secs(10)).await;
    zombie.stop(Duration::from_secs(10)).await;

    // The committed transactions of both instances add up to exactly the
    // final offset: the successor started where the zombie's last commit
    // ended, and nothing was committed twice. (The mock cluster keeps the
    // records of the fenced transaction readable, so the log itself is not
    // checked here.)
    let last = committed_offset(&bootstrap)
        .and_then(|o| o["current.iteration"].as_u64())
        .expect("an offset in the offsets topic");
    assert_eq!(zombie_records + successor_records, last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_fails_and_requested_falls_back_without_transactions() {
    let topic = "orders-eos-unsupported";
    let cluster = mock_cluster(topic);
    // A broker that grants producer ids but cannot end a transaction
    // (like tansu 0.6).
    cluster
        .apiversion(RDKafkaApiKey::EndTxn, None, None)
        .expect("disable EndTxn");
    let bootstrap = cluster.bootstrap_servers();

    let required = TaskHandle::start(
        assignment(&bootstrap, topic, &[("exactly.once.support", "required")]),
        Arc::new(Notify::new()),
    );
    let failed = wait_for_state(&required, TaskState::Failed).await;
    let trace = failed.trace.unwrap_or_default();
    assert!(
        trace.contains("exactly.once.support=required")
            && trace.contains("transactions are not available"),
        "{trace}"
    );
    assert_eq!(failed.records, 0);
    required.stop(Duration::from_secs(10)).await;

    let requested = TaskHandle::start(
        assignment(
            &bootstrap,
            topic,
            &[("exactly.once.support", "requested"), ("iterations", "300")],
        ),
        Arc::new(Notify::new()),
    );
    support::wait_report(&requested, "300 records at least once", |r| {
        r.records == 300
    })
    .await;
    requested.stop(Duration::from_secs(10)).await;
    assert_each_once(&iterations(&bootstrap, topic), 300);
}

async fn wait_for_state(handle: &TaskHandle, state: TaskState) -> TaskReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = handle.report();
        if report.state == state {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {state:?}: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// tansu 0.6 (the broker here) grants producer ids but has no EndTxn, so it
/// cannot commit or abort a transaction: `required` must fail with a clear
/// message, `requested` must deliver at-least-once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_real_broker_required_fails_and_requested_delivers() {
    let bootstrap = support::bootstrap();
    let topic = support::unique("orders_eos");
    let offsets_topic = support::unique("offsets_eos");
    let extra = |support: &'static str| {
        vec![
            ("exactly.once.support", support),
            ("offsets.storage.topic", offsets_topic.as_str()),
            ("iterations", "200"),
        ]
    };

    let required = TaskHandle::start(
        assignment(&bootstrap, &topic, &extra("required")),
        Arc::new(Notify::new()),
    );
    let failed = wait_for_state(&required, TaskState::Failed).await;
    let trace = failed.trace.unwrap_or_default();
    assert!(
        trace.contains("exactly.once.support=required")
            && trace.contains("transactions are not available"),
        "{trace}"
    );
    required.stop(Duration::from_secs(10)).await;

    let requested = TaskHandle::start(
        assignment(&bootstrap, &topic, &extra("requested")),
        Arc::new(Notify::new()),
    );
    support::wait_report(&requested, "200 records at least once", |r| {
        r.records == 200
    })
    .await;
    requested.stop(Duration::from_secs(10)).await;
    let seen = read_uncommitted(&bootstrap, &topic, 200);
    assert_eq!(seen, (0..200).collect::<Vec<_>>());
}

/// The `current.iteration` headers of the first `count` records of
/// `topic` (tansu's high watermark lags, so count instead of reading to it).
fn read_uncommitted(bootstrap: &str, topic: &str, count: usize) -> Vec<u64> {
    let consumer = support::partition_reader(
        bootstrap,
        topic,
        &[
            ("fetch.wait.max.ms", "100"),
            ("topic.metadata.refresh.interval.ms", "500"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        if let Some(msg) = consumer.poll(Duration::from_millis(200)) {
            let msg = msg.expect("consume");
            let iteration = msg
                .headers()
                .and_then(|h| {
                    h.iter()
                        .find(|h| h.key == "current.iteration")
                        .and_then(|h| std::str::from_utf8(h.value?).ok()?.parse().ok())
                })
                .expect("current.iteration header");
            out.push(iteration);
        }
    }
    out
}
