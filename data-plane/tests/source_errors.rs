//! Error tolerance on the source path, against librdkafka's in-process mock
//! cluster: a record whose transform fails is skipped under
//! `errors.tolerance=all` (the rest are produced and its offset is still
//! committed, as Kafka Connect does) and fails the task under `none`.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tributary_data_plane::connectors::{
    Config, ConfigDef, ConnectorPlugin, ConnectorType, SourceRecord, SourceTask, TaskError,
};
use tributary_data_plane::protocol::{
    KafkaConnection, SourceOffset, TargetState, TaskAssignment, TaskId, TaskState,
};
use tributary_data_plane::runtime::{source, Control, TaskStatus};

/// A source that polls its `values` once, in order (source offsets 0, 1, …).
struct ListSource;

struct ListTask {
    topic: String,
    values: Vec<Value>,
    done: bool,
}

#[async_trait]
impl SourceTask for ListTask {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        if self.done {
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(Vec::new());
        }
        self.done = true;
        Ok(self
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| SourceRecord {
                topic: self.topic.clone(),
                key: Some(json!(i)),
                value: Some(v.clone()),
                headers: Vec::new(),
                source_partition: json!({"list": "values"}),
                source_offset: json!({"index": i}),
                ..SourceRecord::default()
            })
            .collect())
    }

    fn topics(&self) -> Vec<String> {
        vec![self.topic.clone()]
    }
}

impl ConnectorPlugin for ListSource {
    fn class(&self) -> &'static str {
        "ListSource"
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        Vec::new()
    }
    fn task_configs(&self, config: &Config, _max_tasks: usize) -> Vec<Config> {
        vec![config.clone()]
    }
    fn start_source_task(
        &self,
        config: &Config,
        _task_id: u32,
        _offsets: &[SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        let values =
            serde_json::from_str(&config["values"]).map_err(|e| TaskError::Fatal(e.to_string()))?;
        Ok(Box::new(ListTask {
            topic: config["topic"].clone(),
            values,
            done: false,
        }))
    }
}

static PLUGIN: ListSource = ListSource;

/// ExtractField$Value needs a map: a string value fails the transform.
fn assignment(bootstrap: &str, topic: &str, values: &[Value], tolerance: &str) -> TaskAssignment {
    let config: BTreeMap<String, String> = [
        ("connector.class", "ListSource"),
        ("topic", topic),
        ("values", &Value::Array(values.to_vec()).to_string()),
        ("transforms", "id"),
        (
            "transforms.id.type",
            "org.apache.kafka.connect.transforms.ExtractField$Value",
        ),
        ("transforms.id.field", "id"),
        ("errors.tolerance", tolerance),
        ("errors.log.enable", "true"),
        ("errors.log.include.messages", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    TaskAssignment {
        id: TaskId {
            connector_id: "lcc-errors".into(),
            task: 0,
        },
        connector_name: "list-source".into(),
        epoch: 1,
        target_state: TargetState::Running,
        config,
        kafka: KafkaConnection {
            bootstrap_servers: bootstrap.to_string(),
            properties: BTreeMap::new(),
        },
        offsets: Vec::new(),
        environment_id: String::new(),
    }
}

struct Running {
    status: Arc<TaskStatus>,
    control: watch::Sender<Control>,
    join: tokio::task::JoinHandle<()>,
}

fn start(assignment: TaskAssignment) -> Running {
    let status = Arc::new(TaskStatus::new(Arc::new(Notify::new())));
    let (control, rx) = watch::channel(Control::Run);
    let join = tokio::spawn(source::run(assignment, &PLUGIN, Arc::clone(&status), rx));
    Running {
        status,
        control,
        join,
    }
}

impl Running {
    async fn wait_for(&self, what: &str, ok: impl Fn(&TaskStatus) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ok(&self.status) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}, {} records",
                self.status.state(),
                self.status.records()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.control.send_replace(Control::Stop);
        tokio::time::timeout(Duration::from_secs(10), self.join)
            .await
            .expect("task stops")
            .expect("task does not panic");
    }
}

/// Up to `count` records from the start of the topic, read for at most `wait`.
fn read_back(bootstrap: &str, topic: &str, count: usize, wait: Duration) -> Vec<(String, String)> {
    let consumer = support::partition_reader(bootstrap, topic, &[]);
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = msg.expect("consume");
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        out.push((text(msg.key()), text(msg.payload())));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerated_transform_failures_skip_the_record_and_commit_its_offset() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    let topic = "list-tolerant";
    cluster.create_topic(topic, 1, 1).expect("topic");
    let values = [
        json!({"id": 10}),
        json!("not a map"),
        json!({"id": 30}),
        json!("nor this"),
    ];
    let task = start(assignment(&bootstrap, topic, &values, "all"));
    // The last record is skipped: its offset commits once the others are acknowledged.
    task.wait_for("the skipped last record's offset", |s| {
        s.offsets().iter().any(|o| o.offset == json!({"index": 3}))
    })
    .await;
    assert_eq!(task.status.state().0, TaskState::Running);
    assert_eq!(task.status.records(), 2);
    task.stop().await;

    // In order, so a produced bad record would be the second.
    let records = read_back(&bootstrap, topic, 2, Duration::from_secs(10));
    assert_eq!(
        records,
        vec![
            ("0".to_string(), "10".to_string()),
            ("2".to_string(), "30".to_string())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_failures_fail_the_task_under_tolerance_none() {
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    let topic = "list-intolerant";
    cluster.create_topic(topic, 1, 1).expect("topic");
    let values = [json!({"id": 10}), json!("not a map"), json!({"id": 30})];
    let task = start(assignment(&bootstrap, topic, &values, "none"));
    task.wait_for("FAILED", |s| s.state().0 == TaskState::Failed)
        .await;
    let trace = task.status.state().1.unwrap_or_default();
    assert!(
        trace.starts_with("Tolerance exceeded in error handler (errors.tolerance=none)"),
        "{trace}"
    );
    assert!(
        trace.contains(r#"source partition {"list":"values"} offset {"index":1}"#),
        "{trace}"
    );
    assert!(trace.contains("TRANSFORMATION (id) failed"), "{trace}");
    assert!(
        !task
            .status
            .offsets()
            .iter()
            .any(|o| o.offset == json!({"index": 1})),
        "the failed record's offset was committed"
    );
    task.stop().await;
    // Nothing past the failed record was produced.
    let records = read_back(&bootstrap, topic, 2, Duration::from_secs(2));
    assert_eq!(records, vec![("0".to_string(), "10".to_string())]);
}
