//! The source runner against librdkafka's in-process mock cluster: a Datagen
//! task's records reach Kafka with the keys, values and headers a user
//! would read back, and the task pauses, resumes and stops on command.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::Notify;
use tributary_data_plane::protocol::{TargetState, TaskAssignment, TaskReport, TaskState};
use tributary_data_plane::runtime::TaskHandle;

mod support;

fn assignment(bootstrap: &str, topic: &str, extra: &[(&str, &str)]) -> TaskAssignment {
    support::datagen_assignment("lcc-test", "orders-gen", bootstrap, topic, extra)
}

async fn wait_for(handle: &TaskHandle, what: &str, ok: impl Fn(&TaskReport) -> bool) -> TaskReport {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = handle.report();
        assert_ne!(
            report.state,
            TaskState::Failed,
            "task failed: {:?}",
            report.trace
        );
        if ok(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn read_back(
    bootstrap: &str,
    topic: &str,
    count: usize,
) -> Vec<(String, serde_json::Value, BTreeMap<String, String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "verify")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = msg.expect("consume");
        let key = String::from_utf8(msg.key().expect("key").to_vec()).expect("utf-8 key");
        let value = serde_json::from_slice(msg.payload().expect("value")).expect("JSON value");
        let headers = msg
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((key, value, headers));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_orders_reach_kafka_keyed_by_orderid() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    let topic = "orders-keyed";
    // librdkafka's mock cluster has no CreateTopics; the runner finds it exists.
    cluster.create_topic(topic, 1, 1).expect("topic");

    let handle = TaskHandle::start(
        assignment(
            &bootstrap,
            topic,
            &[("iterations", "200"), ("random.seed", "11")],
        ),
        Arc::new(Notify::new()),
    );
    let report = wait_for(&handle, "200 acknowledged records", |r| r.records == 200).await;
    assert_eq!(
        report.state,
        TaskState::Running,
        "a task done with its iterations keeps running"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handle.report().records, 200, "no records past iterations");

    let started = Instant::now();
    handle.stop(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        started.elapsed()
    );

    let records = read_back(&bootstrap, topic, 200);
    assert_eq!(records.len(), 200);
    for (i, (key, value, headers)) in records.iter().enumerate() {
        assert_eq!(
            key,
            &value["orderid"].to_string(),
            "key is the orderid as text"
        );
        assert_eq!(
            value["orderid"],
            serde_json::json!(i),
            "orderids count from 0 in order"
        );
        assert!(value["address"]["zipcode"].is_i64(), "{value}");
        assert_eq!(headers.get("task.id").map(String::as_str), Some("0"));
        assert_eq!(headers.get("current.iteration"), Some(&i.to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_task_pauses_resumes_and_stops_promptly() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic("orders-paced", 1, 1).expect("topic");
    let handle = TaskHandle::start(
        assignment(&bootstrap, "orders-paced", &[]),
        Arc::new(Notify::new()),
    );

    let first = wait_for(&handle, "records flowing", |r| r.records >= 1000).await;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rate = (handle.report().records - first.records) as f64 / t0.elapsed().as_secs_f64();
    eprintln!("unpaced Datagen ORDERS into the mock cluster: {rate:.0} records/s");

    handle.set_target(TargetState::Paused);
    wait_for(&handle, "PAUSED", |r| r.state == TaskState::Paused).await;
    // Records already in flight may still be acknowledged; then nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused = handle.report().records;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        handle.report().records,
        paused,
        "a paused task produces nothing"
    );

    handle.set_target(TargetState::Running);
    wait_for(&handle, "resumed", |r| {
        r.state == TaskState::Running && r.records > paused
    })
    .await;

    let started = Instant::now();
    handle.stop(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        started.elapsed()
    );
}
