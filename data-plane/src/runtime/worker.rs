//! The worker loop: register, then heartbeat on the lease's cadence. Each
//! heartbeat reports task states and returns the full desired assignment,
//! which the worker converges to by starting, stopping, pausing and resuming
//! tasks. A worker that cannot renew its lease stops its own tasks before
//! the lease can lapse (self-fencing), so a task never runs twice for long.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::client::{ClientError, ControlPlaneClient};
use super::source::FLUSH_TIMEOUT;
use super::task::{self, TaskHandle};
use crate::protocol::{HeartbeatRequest, RegisterRequest, TaskAssignment, TaskId, TaskReport};

/// A stopping task gets its flush time plus this margin before it is aborted.
const STOP_MARGIN: Duration = Duration::from_secs(2);
const REGISTER_TIMEOUT: Duration = Duration::from_secs(10);
const REGISTER_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// First wait before registering again after a lost lease.
const RELAPSE_BACKOFF_MIN: Duration = Duration::from_millis(100);
const FINAL_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);
/// Bounds on one heartbeat request (the control plane may long-poll).
const HEARTBEAT_TIMEOUT_MIN: Duration = Duration::from_secs(1);
const HEARTBEAT_TIMEOUT_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub control_plane_url: String,
    pub worker_id: String,
    /// Task weight units this worker accepts.
    pub capacity: u32,
    /// Bearer token for the worker protocol.
    pub token: Option<String>,
    /// The worker pool this worker serves (`None`: the shared pool).
    pub pool: Option<String>,
}

pub struct Worker {
    config: WorkerConfig,
    client: ControlPlaneClient,
    tasks: BTreeMap<TaskId, TaskHandle>,
    /// Tasks signal state changes here so they are reported without waiting
    /// for the next regular heartbeat.
    changed: Arc<Notify>,
}

/// The lease as last renewed, and when to give up on it.
#[derive(Debug, Clone, Copy)]
struct Lease {
    renewed_at: Instant,
    lease: Duration,
    interval: Duration,
}

impl Lease {
    fn new(renewed_at: Instant, lease_ms: u64, heartbeat_ms: u64) -> Lease {
        Lease {
            renewed_at,
            lease: Duration::from_millis(lease_ms),
            // Never spin, whatever the control plane says.
            interval: Duration::from_millis(heartbeat_ms.max(100)),
        }
    }

    /// Tasks must be stopped by then: one heartbeat interval before the
    /// control plane may hand them to another worker.
    fn fence_at(&self) -> Instant {
        self.renewed_at + self.lease.saturating_sub(self.interval)
    }

    /// The control plane said its store is down at `at`, and it was
    /// already down at `since` (the previous such answer): nobody could
    /// renew or reassign anything in between, and the control plane will
    /// credit at least that time to the lease when the store returns
    /// (protocol revision 2), so the deadline moves on by as much.
    fn credit_outage(&mut self, since: Instant, at: Instant) {
        self.renewed_at += at.saturating_duration_since(since);
    }

    fn request_timeout(&self, now: Instant) -> Duration {
        self.fence_at()
            .saturating_duration_since(now)
            .clamp(HEARTBEAT_TIMEOUT_MIN, HEARTBEAT_TIMEOUT_MAX)
    }
}

/// How a heartbeat session ended.
enum SessionEnd {
    Shutdown,
    /// `renewed`: at least one heartbeat of the session succeeded.
    LeaseLost {
        renewed: bool,
    },
}

impl Worker {
    pub fn new(config: WorkerConfig) -> Result<Worker, ClientError> {
        let client = ControlPlaneClient::new(&config.control_plane_url, config.token.clone())?;
        // Converters reach their environment's Schema Registry through the control plane.
        crate::converters::registry::set_endpoint(&config.control_plane_url, config.token.clone());
        Ok(Worker {
            config,
            client,
            tasks: BTreeMap::new(),
            changed: Arc::new(Notify::new()),
        })
    }

    /// Runs until `shutdown` resolves; then stops every task (flushing its
    /// producer), tells the control plane it holds none, and returns.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(
            worker = %self.config.worker_id,
            control_plane = %self.config.control_plane_url,
            capacity = self.config.capacity,
            pool = self.config.pool.as_deref().unwrap_or("shared"),
            "worker starting"
        );
        // Grows while the control plane keeps refusing fresh leases, so a
        // confused control plane is not hammered with registrations.
        let mut relapse_backoff = Duration::ZERO;
        loop {
            if !relapse_backoff.is_zero() {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(relapse_backoff) => {}
                }
            }
            let Some(lease) = self.register(&mut shutdown).await else {
                tracing::info!("worker stopped before registering");
                return;
            };
            match self.heartbeat_session(lease, &mut shutdown).await {
                SessionEnd::Shutdown => break,
                SessionEnd::LeaseLost { renewed } => {
                    relapse_backoff = if renewed {
                        RELAPSE_BACKOFF_MIN
                    } else {
                        (relapse_backoff * 2).clamp(RELAPSE_BACKOFF_MIN, REGISTER_BACKOFF_MAX)
                    };
                }
            }
        }
        tracing::info!(
            tasks = self.tasks.len(),
            "shutting down: stopping all tasks"
        );
        self.stop_all().await;
        let goodbye = self
            .client
            .heartbeat(
                &self.config.worker_id,
                &HeartbeatRequest::default(),
                FINAL_HEARTBEAT_TIMEOUT,
            )
            .await;
        if let Err(e) = goodbye {
            tracing::warn!(error = %e, "final heartbeat failed");
        }
        tracing::info!("worker stopped");
    }

    /// Registers, retrying with capped backoff; `None` on shutdown.
    async fn register(
        &mut self,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> Option<Lease> {
        let req = RegisterRequest {
            worker_id: self.config.worker_id.clone(),
            capacity: self.config.capacity,
            version: env!("CARGO_PKG_VERSION").to_string(),
            pool: self.config.pool.clone(),
        };
        let mut backoff = Duration::from_millis(250);
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                _ = &mut *shutdown => return None,
                r = self.client.register(&req, REGISTER_TIMEOUT) => r,
            };
            match result {
                Ok(resp) => {
                    tracing::info!(
                        worker = %resp.worker_id,
                        lease_ms = resp.lease_ms,
                        heartbeat_ms = resp.heartbeat_ms,
                        "registered with the control plane"
                    );
                    if resp.worker_id != self.config.worker_id {
                        // Heartbeats must go to the id the control plane knows.
                        self.config.worker_id = resp.worker_id;
                    }
                    return Some(Lease::new(started, resp.lease_ms, resp.heartbeat_ms));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "registration failed; retrying in {backoff:?}");
                    tokio::select! {
                        _ = &mut *shutdown => return None,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(REGISTER_BACKOFF_MAX);
                }
            }
        }
    }

    async fn heartbeat_session(
        &mut self,
        mut lease: Lease,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> SessionEnd {
        let changed = Arc::clone(&self.changed);
        let mut renewed = false;
        let mut failures: u32 = 0;
        // The digest of the assignment we run, for long polls.
        let mut digest: Option<String> = None;
        // When the control plane first (then last) said its store is down,
        // in the outage under way.
        let mut store_down_since: Option<Instant> = None;
        loop {
            let started = Instant::now();
            let req = HeartbeatRequest {
                tasks: self.reports(),
                digest: digest.clone(),
                wait_ms: lease.interval.as_millis() as u64,
            };
            // A local state change cancels a long poll so it is reported at once.
            let result = tokio::select! {
                _ = &mut *shutdown => return SessionEnd::Shutdown,
                _ = changed.notified(), if digest.is_some() => continue,
                r = self.client.heartbeat(&self.config.worker_id, &req, lease.request_timeout(started) + lease.interval) => r,
            };
            let mut long_polled = false;
            match result {
                Ok(resp) => {
                    lease = Lease::new(started, resp.lease_ms, resp.heartbeat_ms);
                    renewed = true;
                    if failures > 0 {
                        tracing::info!(failures, "heartbeats succeed again");
                        failures = 0;
                    }
                    if store_down_since.take().is_some() {
                        tracing::info!(
                            tasks = self.tasks.len(),
                            "control plane's store is back; lease renewed, offsets reported"
                        );
                    }
                    long_polled = resp.digest.is_some();
                    digest = resp.digest;
                    self.apply(resp.assignments).await;
                }
                Err(ClientError::LeaseLost(status)) => {
                    tracing::warn!(%status, tasks = self.tasks.len(), "lease lost: stopping all tasks and registering again");
                    self.stop_all().await;
                    return SessionEnd::LeaseLost { renewed };
                }
                Err(ClientError::StoreUnavailable(u)) => {
                    digest = None;
                    match store_down_since {
                        None => tracing::warn!(
                            tasks = self.tasks.len(),
                            "control plane's store is unavailable: keeping our tasks past the lease while it says so"
                        ),
                        Some(since) => lease.credit_outage(since, started),
                    }
                    store_down_since = Some(started);
                    lease.interval = Duration::from_millis(u.heartbeat_ms.max(100));
                }
                Err(e) => {
                    digest = None;
                    // Only consecutive store-down answers extend the lease.
                    store_down_since = None;
                    // Warn at the 1st, 2nd, 4th, 8th… failure: an outage logs a few lines, not one per beat.
                    failures += 1;
                    if failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "heartbeat failed");
                    } else {
                        tracing::debug!(error = %e, failures, "heartbeat failed");
                    }
                }
            }
            if Instant::now() >= lease.fence_at() && !self.tasks.is_empty() {
                tracing::error!(
                    tasks = self.tasks.len(),
                    "no heartbeat succeeded for {:?}: stopping all tasks before the lease lapses",
                    lease.lease.saturating_sub(lease.interval)
                );
                self.stop_all().await;
            }
            if long_polled {
                // The control plane already waited; ask again right away.
                continue;
            }
            tokio::select! {
                _ = &mut *shutdown => return SessionEnd::Shutdown,
                _ = tokio::time::sleep_until(started + lease.interval) => {}
                _ = changed.notified() => {}
            }
        }
    }

    fn reports(&self) -> Vec<TaskReport> {
        self.tasks.values().map(TaskHandle::report).collect()
    }

    /// Converges running tasks to the desired assignment: stops tasks no
    /// longer listed or listed under a new epoch (or changed config), starts
    /// new ones, and applies target states to the rest.
    async fn apply(&mut self, assignments: Vec<TaskAssignment>) {
        let desired: BTreeMap<TaskId, TaskAssignment> =
            assignments.into_iter().map(|a| (a.id.clone(), a)).collect();
        let stale: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(id, handle)| {
                desired
                    .get(*id)
                    .is_none_or(|a| needs_restart(handle.assignment(), a))
            })
            .map(|(id, _)| id.clone())
            .collect();
        if !stale.is_empty() {
            let handles: Vec<TaskHandle> = stale
                .iter()
                .filter_map(|id| self.tasks.remove(id))
                .collect();
            for h in &handles {
                let a = h.assignment();
                tracing::info!(connector = %a.id.connector_id, task = a.id.task, epoch = a.epoch, "stopping task");
            }
            task::stop_all(handles, FLUSH_TIMEOUT + STOP_MARGIN).await;
        }
        for (id, assignment) in desired {
            match self.tasks.get(&id) {
                Some(handle) => handle.set_target(assignment.target_state),
                None => {
                    tracing::info!(
                        connector = %id.connector_id,
                        task = id.task,
                        epoch = assignment.epoch,
                        target = ?assignment.target_state,
                        "starting task"
                    );
                    let handle = TaskHandle::start(assignment, Arc::clone(&self.changed));
                    self.tasks.insert(id, handle);
                }
            }
        }
    }

    async fn stop_all(&mut self) {
        let handles = std::mem::take(&mut self.tasks).into_values();
        task::stop_all(handles, FLUSH_TIMEOUT + STOP_MARGIN).await;
    }
}

/// A task restarts when it was reassigned (new epoch) or its config or
/// cluster changed; a target state change alone is applied in place.
fn needs_restart(running: &TaskAssignment, desired: &TaskAssignment) -> bool {
    running.epoch != desired.epoch
        || running.config != desired.config
        || running.kafka != desired.kafka
        || running.connector_name != desired.connector_name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{KafkaConnection, TargetState};

    fn assignment(epoch: i64) -> TaskAssignment {
        TaskAssignment {
            id: TaskId {
                connector_id: "lcc-1".into(),
                task: 0,
            },
            connector_name: "orders".into(),
            epoch,
            target_state: TargetState::Running,
            config: [("connector.class".to_string(), "DatagenSource".to_string())].into(),
            kafka: KafkaConnection {
                bootstrap_servers: "127.0.0.1:9092".into(),
                properties: Default::default(),
            },
            offsets: Vec::new(),
            environment_id: String::new(),
        }
    }

    #[test]
    fn restart_on_new_epoch_or_config_but_not_on_pause() {
        let a = assignment(1);
        let mut paused = a.clone();
        paused.target_state = TargetState::Paused;
        assert!(!needs_restart(&a, &paused));
        assert!(needs_restart(&a, &assignment(2)));
        let mut reconfigured = a.clone();
        reconfigured
            .config
            .insert("max.interval".into(), "0".into());
        assert!(needs_restart(&a, &reconfigured));
    }

    #[test]
    fn store_down_answers_move_the_fence_by_the_time_between_them() {
        let t0 = Instant::now();
        let mut lease = Lease::new(t0, 3_000, 500);
        let fence = lease.fence_at();
        // Answers at 1 s, 2 s … 9 s: the deadline moves on by 8 s.
        for s in 1..9 {
            lease.credit_outage(t0 + Duration::from_secs(s), t0 + Duration::from_secs(s + 1));
        }
        assert_eq!(lease.fence_at(), fence + Duration::from_secs(8));
        // A clock that went backwards credits nothing.
        lease.credit_outage(t0 + Duration::from_secs(5), t0);
        assert_eq!(lease.fence_at(), fence + Duration::from_secs(8));
    }

    #[test]
    fn fences_one_interval_before_the_lease_ends() {
        let t0 = Instant::now();
        let lease = Lease::new(t0, 10_000, 3_000);
        assert_eq!(lease.fence_at(), t0 + Duration::from_secs(7));
        assert_eq!(lease.request_timeout(t0), Duration::from_secs(7));
        assert_eq!(
            lease.request_timeout(t0 + Duration::from_secs(9)),
            HEARTBEAT_TIMEOUT_MIN
        );
    }
}
