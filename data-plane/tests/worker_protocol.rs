//! The worker against a fake control plane (and librdkafka's mock cluster):
//! it registers, runs what heartbeats assign, re-registers when its lease is
//! gone, keeps its tasks while the control plane says its store is down,
//! fences itself when it cannot heartbeat, and says goodbye on shutdown.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use rdkafka::mocking::MockCluster;
use tokio::sync::oneshot;
use tributary_data_plane::protocol::{
    HeartbeatRequest, HeartbeatResponse, KafkaConnection, RegisterRequest, RegisterResponse,
    StoreUnavailable, TargetState, TaskAssignment, TaskId, TaskState,
};
use tributary_data_plane::runtime::{Worker, WorkerConfig};

const LEASE_MS: u64 = 1_500;
const HEARTBEAT_MS: u64 = 100;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Normal,
    Gone,
    Down,
    /// Reachable, but its store is not (protocol revision 2).
    StoreDown,
}

#[derive(Default)]
struct Plane {
    registrations: Vec<RegisterRequest>,
    heartbeats: Vec<HeartbeatRequest>,
    auth: Vec<Option<String>>,
    assignments: Vec<TaskAssignment>,
    mode: Option<Mode>,
}

type Shared = Arc<Mutex<Plane>>;

async fn register(
    State(plane): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<RegisterRequest>,
) -> Json<RegisterResponse> {
    let mut p = plane.lock().unwrap();
    // A fresh registration gets a fresh lease.
    if p.mode == Some(Mode::Gone) {
        p.mode = None;
    }
    p.auth.push(
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    );
    p.registrations.push(req.clone());
    Json(RegisterResponse {
        worker_id: req.worker_id,
        lease_ms: LEASE_MS,
        heartbeat_ms: HEARTBEAT_MS,
    })
}

async fn heartbeat(
    State(plane): State<Shared>,
    Path(worker): Path<String>,
    Json(req): Json<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, axum::response::Response> {
    use axum::response::IntoResponse;
    let mut p = plane.lock().unwrap();
    assert_eq!(worker, "w-test");
    match p.mode.unwrap_or(Mode::Normal) {
        Mode::Gone => return Err(StatusCode::GONE.into_response()),
        Mode::Down => return Err(StatusCode::SERVICE_UNAVAILABLE.into_response()),
        Mode::StoreDown => {
            let body = StoreUnavailable {
                store_unavailable: true,
                lease_ms: LEASE_MS,
                heartbeat_ms: HEARTBEAT_MS,
                message: None,
            };
            return Err((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response());
        }
        Mode::Normal => {}
    }
    p.heartbeats.push(req);
    Ok(Json(HeartbeatResponse {
        lease_ms: LEASE_MS,
        heartbeat_ms: HEARTBEAT_MS,
        assignments: p.assignments.clone(),
        // This fake control plane does not long-poll.
        digest: None,
    }))
}

fn orders_task(bootstrap: &str, epoch: i64, target_state: TargetState) -> TaskAssignment {
    let config: BTreeMap<String, String> = [
        ("connector.class", "DatagenSource"),
        ("kafka.topic", "worker-orders"),
        ("quickstart", "ORDERS"),
        ("max.interval", "10"),
        ("task.id", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    TaskAssignment {
        id: TaskId {
            connector_id: "lcc-w".into(),
            task: 0,
        },
        connector_name: "orders".into(),
        epoch,
        target_state,
        config,
        kafka: KafkaConnection {
            bootstrap_servers: bootstrap.to_string(),
            properties: BTreeMap::new(),
        },
        offsets: Vec::new(),
        environment_id: String::new(),
    }
}

async fn eventually(plane: &Shared, what: &str, ok: impl Fn(&Plane) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok(&plane.lock().unwrap()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn last_report(p: &Plane) -> Option<(i64, TaskState, u64)> {
    let hb = p.heartbeats.last()?;
    hb.tasks.first().map(|t| (t.epoch, t.state, t.records))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_follows_the_control_plane() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let cluster = MockCluster::new(1).expect("mock cluster");
    let bootstrap = cluster.bootstrap_servers();
    cluster.create_topic("worker-orders", 1, 1).expect("topic");

    let plane: Shared = Arc::default();
    let app = Router::new()
        .route("/internal/v1/workers/register", post(register))
        .route("/internal/v1/workers/{id}/heartbeat", post(heartbeat))
        .with_state(Arc::clone(&plane));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let worker = Worker::new(WorkerConfig {
        control_plane_url: url,
        worker_id: "w-test".into(),
        capacity: 4,
        token: Some("tok".into()),
        pool: None,
    })
    .unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stop_rx.await;
    }));

    // Registers with its bearer token and capacity.
    eventually(&plane, "registration", |p| p.registrations.len() == 1).await;
    {
        let p = plane.lock().unwrap();
        assert_eq!(p.auth[0].as_deref(), Some("Bearer tok"));
        assert_eq!(p.registrations[0].capacity, 4);
    }

    // Runs what it is assigned and reports it RUNNING with acknowledged records.
    plane.lock().unwrap().assignments = vec![orders_task(&bootstrap, 1, TargetState::Running)];
    eventually(
        &plane,
        "task running with records",
        |p| matches!(last_report(p), Some((1, TaskState::Running, n)) if n > 0),
    )
    .await;

    // A paused target is applied in place.
    plane.lock().unwrap().assignments = vec![orders_task(&bootstrap, 1, TargetState::Paused)];
    eventually(&plane, "task paused", |p| {
        matches!(last_report(p), Some((1, TaskState::Paused, _)))
    })
    .await;

    // Lease gone: stops everything and registers again; a new epoch restarts the task.
    {
        let mut p = plane.lock().unwrap();
        p.mode = Some(Mode::Gone);
        p.assignments = vec![orders_task(&bootstrap, 2, TargetState::Running)];
    }
    eventually(&plane, "re-registration", |p| p.registrations.len() == 2).await;
    eventually(&plane, "epoch 2 running", |p| {
        matches!(last_report(p), Some((2, TaskState::Running, _)))
    })
    .await;

    // The store is down for three leases: the worker keeps its task, which
    // keeps producing, and reports it (with its records) once the store is back.
    let before = last_report(&plane.lock().unwrap()).map_or(0, |r| r.2);
    plane.lock().unwrap().mode = Some(Mode::StoreDown);
    tokio::time::sleep(Duration::from_millis(3 * LEASE_MS)).await;
    {
        let mut p = plane.lock().unwrap();
        p.heartbeats.clear();
        p.mode = Some(Mode::Normal);
    }
    eventually(&plane, "a heartbeat after the store outage", |p| {
        !p.heartbeats.is_empty()
    })
    .await;
    let after = plane.lock().unwrap().heartbeats[0].tasks.first().cloned();
    let after = after.expect("the task still runs after a store outage of three leases");
    assert_eq!((after.epoch, after.state), (2, TaskState::Running));
    assert!(
        after.records > before,
        "{} records, {before} before the outage",
        after.records
    );

    // Control plane unreachable past lease - interval: the worker stops its
    // tasks, so its first heartbeat afterwards reports none.
    plane.lock().unwrap().mode = Some(Mode::Down);
    let down_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 1_000)).await;
    {
        let mut p = plane.lock().unwrap();
        p.heartbeats.clear();
        p.assignments.clear();
        p.mode = Some(Mode::Normal);
    }
    eventually(&plane, "a heartbeat after the outage", |p| {
        !p.heartbeats.is_empty()
    })
    .await;
    assert!(
        plane.lock().unwrap().heartbeats[0].tasks.is_empty(),
        "tasks still ran {:?} after the control plane went away",
        down_at.elapsed()
    );

    // Shutdown: a final heartbeat with no tasks, then the worker returns.
    plane.lock().unwrap().assignments = vec![orders_task(&bootstrap, 3, TargetState::Running)];
    eventually(&plane, "epoch 3 running", |p| {
        matches!(last_report(p), Some((3, TaskState::Running, _)))
    })
    .await;
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("worker exits")
        .unwrap();
    let p = plane.lock().unwrap();
    assert!(
        p.heartbeats.last().is_some_and(|hb| hb.tasks.is_empty()),
        "final heartbeat lists no tasks"
    );
}
