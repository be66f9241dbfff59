//! A running task as the worker sees it: the assignment it runs under, a
//! control channel (run / pause / stop) and the status its runner keeps up
//! to date for heartbeats.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument;

pub use super::control::Control;
use super::{sink, source};
use crate::connectors::{self, ConnectorType};
use crate::protocol::{TargetState, TaskAssignment, TaskReport, TaskState};

/// A task's observed state, written by its runner and read for heartbeats.
#[derive(Debug)]
pub struct TaskStatus {
    state: Mutex<(TaskState, Option<String>)>,
    records: AtomicU64,
    offsets: Mutex<Vec<crate::protocol::SourceOffset>>,
    topics: Mutex<std::collections::BTreeSet<String>>,
    /// Wakes the worker so state changes reach the control plane before the
    /// next regular heartbeat.
    changed: Arc<Notify>,
}

impl TaskStatus {
    pub fn new(changed: Arc<Notify>) -> TaskStatus {
        TaskStatus {
            state: Mutex::new((TaskState::Unassigned, None)),
            records: AtomicU64::new(0),
            offsets: Mutex::new(Vec::new()),
            topics: Mutex::new(std::collections::BTreeSet::new()),
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, (TaskState, Option<String>)> {
        // A panic elsewhere must not take status reporting down with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, state: TaskState) {
        let mut s = self.lock();
        if s.0 != state {
            *s = (state, None);
            drop(s);
            self.changed.notify_one();
        }
    }

    /// Marks the task FAILED; the trace is what users see in the status API.
    pub fn fail(&self, trace: impl Into<String>) {
        *self.lock() = (TaskState::Failed, Some(trace.into()));
        self.changed.notify_one();
    }

    pub fn state(&self) -> (TaskState, Option<String>) {
        self.lock().clone()
    }

    /// Committable source offsets (acknowledged by Kafka), reported with
    /// every heartbeat until the task ends.
    pub fn set_offsets(&self, offsets: Vec<crate::protocol::SourceOffset>) {
        *self
            .offsets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = offsets;
    }

    pub fn offsets(&self) -> Vec<crate::protocol::SourceOffset> {
        self.offsets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Records that the task used `topic` (cheap when already known).
    pub fn add_topic(&self, topic: &str) {
        let mut t = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if !t.contains(topic) {
            t.insert(topic.to_string());
        }
    }

    pub fn topics(&self) -> Vec<String> {
        self.topics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn add_records(&self, n: u64) {
        self.records.fetch_add(n, Ordering::Relaxed);
    }

    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }
}

pub struct TaskHandle {
    assignment: TaskAssignment,
    control: watch::Sender<Control>,
    status: Arc<TaskStatus>,
    join: JoinHandle<()>,
}

impl TaskHandle {
    /// Starts the task on its own tokio task, inside a span that carries the
    /// connector id, task number and epoch.
    pub fn start(assignment: TaskAssignment, changed: Arc<Notify>) -> TaskHandle {
        let status = Arc::new(TaskStatus::new(changed));
        let (control, control_rx) = watch::channel(Control::from(assignment.target_state));
        let span = tracing::info_span!(
            "task",
            connector = %assignment.id.connector_id,
            task = assignment.id.task,
            epoch = assignment.epoch,
        );
        let run = run_task(assignment.clone(), Arc::clone(&status), control_rx);
        let join = tokio::spawn(run.instrument(span));
        TaskHandle {
            assignment,
            control,
            status,
            join,
        }
    }

    pub fn assignment(&self) -> &TaskAssignment {
        &self.assignment
    }

    /// Applies a target state from a later assignment of the same epoch.
    pub fn set_target(&self, target: TargetState) {
        let want = Control::from(target);
        self.control.send_if_modified(|c| {
            let changed = *c != want && *c != Control::Stop;
            if changed {
                *c = want;
            }
            changed
        });
    }

    pub fn report(&self) -> TaskReport {
        let (state, trace) = self.status.state();
        TaskReport {
            id: self.assignment.id.clone(),
            epoch: self.assignment.epoch,
            state,
            trace,
            records: self.status.records(),
            offsets: self.status.offsets(),
            topics: self.status.topics(),
        }
    }

    /// Stops the task and waits for it to flush, up to `timeout`; a task
    /// still running then is aborted.
    pub async fn stop(mut self, timeout: Duration) {
        self.control.send_replace(Control::Stop);
        if tokio::time::timeout(timeout, &mut self.join).await.is_err() {
            tracing::warn!(
                connector = %self.assignment.id.connector_id,
                task = self.assignment.id.task,
                epoch = self.assignment.epoch,
                "task did not stop within {timeout:?}; aborting it"
            );
            self.join.abort();
        }
    }
}

/// Stops many tasks at once, so each waits only for its own flush.
pub async fn stop_all(handles: impl IntoIterator<Item = TaskHandle>, timeout: Duration) {
    futures::future::join_all(handles.into_iter().map(|h| h.stop(timeout))).await;
}

async fn run_task(
    assignment: TaskAssignment,
    status: Arc<TaskStatus>,
    control: watch::Receiver<Control>,
) {
    let class = assignment
        .config
        .get("connector.class")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(plugin) = connectors::find(class) else {
        tracing::error!(class, "unknown connector class");
        status.fail(format!("unknown connector.class {class:?}"));
        return;
    };
    // Defence in depth: the control plane checked the hosts when the config
    // was written; names may resolve elsewhere by now.
    let refused = connectors::egress::process_policy()
        .check_config(plugin, &assignment.config)
        .await;
    if let Some(e) = refused.first() {
        tracing::error!(key = %e.key, error = %e.message, "task refused by the egress policy");
        status.fail(e.to_string());
        return;
    }
    match plugin.connector_type() {
        ConnectorType::Source => source::run(assignment, plugin, status, control).await,
        ConnectorType::Sink => sink::run(assignment, plugin, status, control).await,
    }
}
