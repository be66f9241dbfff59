//! The connector lifecycle, in one place: what a user wants ([`TargetState`]),
//! what each task does ([`TaskState`]), what the user is shown for the
//! connector ([`ConnectorState`], derived), where an offset change stands
//! ([`OffsetRequestPhase`]), and the legal moves between them, each listed
//! once in a table below. Kafka Connect keeps `TargetState` apart from
//! `AbstractStatus.State` the same way; Arroyo lists its job transitions once.
//!
//! Every write of a task's state goes through `store::tasks`, which names the
//! [`TaskTransition`] it performs and lets the database enforce its `from`
//! states in the same statement. Outside this module and the migrations, no
//! code spells a state as a string.

use serde::Serialize;

pub use tributary_protocol::{TargetState, TaskState};

/// The connector state a user sees (Confluent Cloud's and Kafka Connect's
/// status), derived from the target state and the tasks' states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectorState {
    /// Wanted RUNNING, but no task has run yet.
    Provisioning,
    Running,
    /// Some tasks run, others do not.
    Degraded,
    Paused,
    Stopped,
    /// Every task failed.
    Failed,
}

impl ConnectorState {
    pub const ALL: [ConnectorState; 6] = [
        ConnectorState::Provisioning,
        ConnectorState::Running,
        ConnectorState::Degraded,
        ConnectorState::Paused,
        ConnectorState::Stopped,
        ConnectorState::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectorState::Provisioning => "PROVISIONING",
            ConnectorState::Running => "RUNNING",
            ConnectorState::Degraded => "DEGRADED",
            ConnectorState::Paused => "PAUSED",
            ConnectorState::Stopped => "STOPPED",
            ConnectorState::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectorState> {
        ConnectorState::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Confluent Cloud's rules: RUNNING when all tasks run, FAILED when all
    /// failed, DEGRADED when some run or failed and others do not, and
    /// PROVISIONING while nothing has run yet. PAUSED and STOPPED follow the
    /// target state at once.
    pub fn derive(target: TargetState, tasks: &[TaskState]) -> ConnectorState {
        match target {
            TargetState::Stopped => return ConnectorState::Stopped,
            TargetState::Paused => return ConnectorState::Paused,
            TargetState::Running => {}
        }
        if tasks.is_empty() {
            return ConnectorState::Provisioning;
        }
        let running = tasks.iter().filter(|t| **t == TaskState::Running).count();
        let failed = tasks.iter().filter(|t| **t == TaskState::Failed).count();
        if running == tasks.len() {
            ConnectorState::Running
        } else if failed == tasks.len() {
            ConnectorState::Failed
        } else if running == 0 && failed == 0 {
            // Nothing has run yet (tasks unassigned or still starting).
            ConnectorState::Provisioning
        } else {
            ConnectorState::Degraded
        }
    }
}

impl std::fmt::Display for ConnectorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The legal changes of a connector's target state. Every change is legal
/// and idempotent (pause a paused connector: nothing happens, 202), as in
/// Kafka Connect; listed so that adding a state forces a decision here.
pub const TARGET_TRANSITIONS: &[(TargetState, TargetState)] = &[
    (TargetState::Running, TargetState::Paused),
    (TargetState::Running, TargetState::Stopped),
    (TargetState::Paused, TargetState::Running),
    (TargetState::Paused, TargetState::Stopped),
    (TargetState::Stopped, TargetState::Running),
    // A stopped connector that is paused starts its tasks paused.
    (TargetState::Stopped, TargetState::Paused),
];

/// Whether a connector may go from `from` to `to` (staying put is always legal).
pub fn target_transition_allowed(from: TargetState, to: TargetState) -> bool {
    from == to || TARGET_TRANSITIONS.contains(&(from, to))
}

/// Why a task's state changes. Every write of `tasks.state` names one, and
/// [`TaskTransition::rule`] is the one table of where each may start and
/// where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskTransition {
    /// The reconciler split the connector into tasks: each waits for a worker.
    Created,
    /// Placed on (or moved to) a worker under a new epoch; the worker has
    /// not started it yet.
    Assigned,
    /// Its worker's lease lapsed: it waits for another worker.
    Released,
    /// Restarted by a user or by the automatic restart of failed tasks, on
    /// the worker it is placed on, under a new epoch.
    Restarted,
    /// Restarted while placed on no worker: it waits for one.
    RestartedUnplaced,
    /// Its worker reported this state under the task's current epoch.
    Reported(TaskState),
}

/// Tasks in any state.
const ANY: &[TaskState] = &TaskState::ALL;

impl TaskTransition {
    /// The table: the states a transition may start from, and its end state.
    ///
    /// A worker's report under the task's current epoch is taken from any
    /// state: a worker restarts a task in place, under the same epoch, when
    /// its config or its cluster's connection changes (the data plane's
    /// `needs_restart`), so a FAILED task may report UNASSIGNED, RUNNING or
    /// PAUSED again after its cluster's credentials are fixed. Stale
    /// incarnations are fenced by the epoch, not by this table.
    pub fn rule(self) -> (&'static [TaskState], TaskState) {
        use TaskState::*;
        match self {
            TaskTransition::Created => (&[], Unassigned),
            TaskTransition::Assigned => (ANY, Unassigned),
            TaskTransition::Released => (ANY, Unassigned),
            TaskTransition::Restarted => (ANY, Restarting),
            TaskTransition::RestartedUnplaced => (ANY, Unassigned),
            TaskTransition::Reported(Running) => (ANY, Running),
            TaskTransition::Reported(Paused) => (ANY, Paused),
            TaskTransition::Reported(Unassigned) => (ANY, Unassigned),
            TaskTransition::Reported(Failed) => (ANY, Failed),
            // Only the control plane restarts tasks: a worker saying RESTARTING
            // changes nothing.
            TaskTransition::Reported(Restarting) => (&[Restarting], Restarting),
        }
    }

    /// The states this transition may start from.
    pub fn from(self) -> &'static [TaskState] {
        self.rule().0
    }

    /// The state this transition ends in.
    pub fn to(self) -> TaskState {
        self.rule().1
    }

    /// Whether a task in `state` may take this transition.
    pub fn allowed_from(self, state: TaskState) -> bool {
        self.from().contains(&state)
    }

    /// Every (from, to) move a worker's report may make, read off the table.
    pub fn report_moves() -> impl Iterator<Item = (TaskState, TaskState)> {
        TaskState::ALL.into_iter().flat_map(|to| {
            let report = TaskTransition::Reported(to);
            report.from().iter().map(move |from| (*from, report.to()))
        })
    }
}

/// Where an offset alter/reset request (`POST …/offsets/request`) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sqlx(type_name = "text", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OffsetRequestPhase {
    /// Waiting for the connector's tasks to stop; the reconciler applies it then.
    Pending,
    Applied,
    Failed,
}

impl OffsetRequestPhase {
    pub const ALL: [OffsetRequestPhase; 3] = [
        OffsetRequestPhase::Pending,
        OffsetRequestPhase::Applied,
        OffsetRequestPhase::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OffsetRequestPhase::Pending => "PENDING",
            OffsetRequestPhase::Applied => "APPLIED",
            OffsetRequestPhase::Failed => "FAILED",
        }
    }

    /// A new request replaces a finished one, never a pending one.
    pub fn accepts_new_request(self) -> bool {
        self != OffsetRequestPhase::Pending
    }
}

impl std::fmt::Display for OffsetRequestPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskState::*;

    fn derive(target: TargetState, tasks: &[TaskState]) -> ConnectorState {
        ConnectorState::derive(target, tasks)
    }

    #[test]
    fn derives_connector_states() {
        use ConnectorState as C;
        let run = TargetState::Running;
        assert_eq!(derive(run, &[]), C::Provisioning);
        assert_eq!(derive(run, &[Unassigned]), C::Provisioning);
        assert_eq!(derive(run, &[Restarting]), C::Provisioning);
        assert_eq!(derive(run, &[Running, Running]), C::Running);
        assert_eq!(derive(run, &[Running, Unassigned]), C::Degraded);
        assert_eq!(derive(run, &[Running, Failed]), C::Degraded);
        assert_eq!(derive(run, &[Failed, Failed]), C::Failed);
        assert_eq!(derive(TargetState::Paused, &[Running]), C::Paused);
        assert_eq!(derive(TargetState::Stopped, &[]), C::Stopped);
    }

    #[test]
    fn a_restart_leaves_a_failed_task_for_a_new_epoch() {
        assert!(TaskTransition::Restarted.allowed_from(Failed));
        assert_eq!(TaskTransition::Restarted.to(), Restarting);
        assert!(TaskTransition::RestartedUnplaced.allowed_from(Failed));
        assert_eq!(TaskTransition::RestartedUnplaced.to(), Unassigned);
    }

    #[test]
    fn a_task_restarted_in_place_by_its_worker_may_leave_failed() {
        for report in [Running, Paused, Unassigned, Failed] {
            assert!(TaskTransition::Reported(report).allowed_from(Failed));
            assert_eq!(TaskTransition::Reported(report).to(), report);
        }
    }

    #[test]
    fn workers_cannot_claim_a_restart() {
        assert!(!TaskTransition::Reported(Restarting).allowed_from(Running));
        let moves: Vec<_> = TaskTransition::report_moves().collect();
        assert!(moves.contains(&(Failed, Running)));
        assert!(moves.contains(&(Restarting, Restarting)));
        assert!(!moves.contains(&(Running, Restarting)));
        assert!(moves
            .iter()
            .all(|(from, to)| from == to || *to != Restarting));
    }

    #[test]
    fn a_reported_state_is_the_state_the_task_ends_in() {
        for s in TaskState::ALL {
            assert_eq!(TaskTransition::Reported(s).to(), s);
        }
        assert!(TaskTransition::Created.from().is_empty());
        assert_eq!(TaskTransition::Created.to(), Unassigned);
    }

    #[test]
    fn every_target_state_is_reachable_from_every_other() {
        for from in TargetState::ALL {
            for to in TargetState::ALL {
                assert!(target_transition_allowed(from, to), "{from} → {to}");
            }
        }
    }

    #[test]
    fn the_schema_checks_every_state() {
        let checks = include_str!("../../migrations/20261124000400_lifecycle_checks.sql");
        let check = |name: &str| checks.contains(&format!("'{name}'"));
        assert!(TaskState::ALL.iter().all(|s| check(s.as_str())));
        assert!(OffsetRequestPhase::ALL.iter().all(|p| check(p.as_str())));
        let init = include_str!("../../migrations/20261124000001_init.sql");
        for t in TargetState::ALL {
            assert!(init.contains(&format!("'{t}'")), "{t}");
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for c in ConnectorState::ALL {
            assert_eq!(ConnectorState::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for p in OffsetRequestPhase::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
    }
}
