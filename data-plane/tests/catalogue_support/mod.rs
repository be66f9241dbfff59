//! Pieces the integration tests of the HTTP, Redis and MQTT connectors
//! share (beside `support`): the egress policy opened to loopback (every
//! service runs there), reading a topic back, source assignments, and a
//! recording HTTP endpoint.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::ClientConfig;
use serde_json::json;
use tributary_data_plane::connectors::egress::{self, EgressPolicy};
use tributary_data_plane::protocol::{SourceOffset, TaskAssignment};

/// The services of these tests run on loopback, which the default egress
/// policy refuses.
pub fn allow_loopback() {
    let _ = egress::install(EgressPolicy::parse("loopback").expect("policy"));
}

/// A message read back from Kafka.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: BTreeMap<String, String>,
}

/// Reads `topic` from the beginning until `n` messages arrived (or the
/// timeout passed), and returns them in partition order.
pub fn read_topic(topic: &str, n: usize, timeout: Duration) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", super::support::bootstrap())
        .set("group.id", super::support::unique("reader"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // The topic may be created after we subscribe (the DLQ is created
        // by the task): notice it in half a second, not five minutes.
        .set("topic.metadata.refresh.interval.ms", "500")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let Ok(msg) = msg else { continue };
        let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
        let headers = msg
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_string(), text(h.value).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Consumed {
            key: text(msg.key()),
            value: text(msg.payload()),
            headers,
        });
    }
    out
}

/// A task assignment for a source connector resuming from `offsets`.
pub fn source_assignment(
    connector_id: &str,
    task: u32,
    config: BTreeMap<String, String>,
    offsets: Vec<SourceOffset>,
) -> TaskAssignment {
    let mut a: TaskAssignment = serde_json::from_value(json!({
        "connector_id": connector_id,
        "task": task,
        "connector_name": "catalogue-test",
        "epoch": 1,
        "target_state": "RUNNING",
        "config": config,
        "kafka": {"bootstrap_servers": super::support::bootstrap()},
    }))
    .expect("assignment");
    a.offsets = offsets;
    a
}

pub fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

/// What the endpoint answers: status, extra headers.
pub type Answer = (StatusCode, Vec<(&'static str, String)>);

/// Decides each answer from the request number (from 0) and the request.
pub type Behaviour = Arc<dyn Fn(usize, &Received) -> Answer + Send + Sync>;

#[derive(Clone)]
struct Endpoint {
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Behaviour,
}

/// An HTTP endpoint on loopback that records every request.
pub struct Recorder {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn start(behaviour: Behaviour) -> Recorder {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = Endpoint {
            received: Arc::clone(&received),
            behaviour,
        };
        let app = axum::Router::new().fallback(record).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Recorder {
            url,
            received,
            server,
        }
    }

    /// Answers 200 to everything.
    pub async fn ok() -> Recorder {
        Recorder::start(Arc::new(|_, _| (StatusCode::OK, Vec::new()))).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Waits until `ok` holds for what was received.
    pub async fn wait(&self, what: &str, ok: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + super::support::TIMEOUT;
        loop {
            let r = self.received();
            if ok(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received {} requests: {:?}",
                r.len(),
                r.iter()
                    .map(|r| (&r.method, &r.path, &r.body))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(endpoint): State<Endpoint>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Received {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    let n = {
        let mut r = endpoint.received.lock().unwrap_or_else(|p| p.into_inner());
        r.push(request.clone());
        r.len() - 1
    };
    let (status, headers) = (endpoint.behaviour)(n, &request);
    let mut response = (status, format!("answer {}", status.as_u16())).into_response();
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            response.headers_mut().insert(k, v);
        }
    }
    response
}
