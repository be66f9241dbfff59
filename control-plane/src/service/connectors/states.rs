//! The store's connector, task and offsets-request states as the
//! lifecycle's enums. The store still reads and writes them as text; these
//! are the only places that convert, so each becomes a one-line change once
//! the store is typed (`Connector.target_state: TargetState`,
//! `Task.state: TaskState`, `OffsetRequest.phase: OffsetRequestPhase`,
//! `set_target_state(…, TargetState)`).

use sqlx::{Postgres, Transaction};

use crate::lifecycle::{OffsetRequestPhase, TargetState, TaskState};
use crate::store::connectors::{self as store, Connector, Task};
use crate::store::offsets::OffsetRequest;

/// What the user wants of the connector.
pub fn target_state(c: &Connector) -> TargetState {
    TargetState::parse(&c.target_state).unwrap_or(TargetState::Running)
}

/// What the task does; a state the lifecycle does not know reads UNASSIGNED.
pub fn task_state(t: &Task) -> TaskState {
    TaskState::parse(&t.state).unwrap_or(TaskState::Unassigned)
}

/// Where an offsets request stands.
pub fn phase(r: &OffsetRequest) -> OffsetRequestPhase {
    OffsetRequestPhase::ALL
        .into_iter()
        .find(|p| p.as_str() == r.phase)
        .unwrap_or(OffsetRequestPhase::Pending)
}

/// Records the connector's target state (a no-op when already there).
pub async fn set_target_state(
    tx: &mut Transaction<'_, Postgres>,
    connector_id: &str,
    target: TargetState,
) -> Result<Connector, sqlx::Error> {
    store::set_target_state(tx, connector_id, target.as_str()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_task_states_read_unassigned() {
        let t = |state: &str| Task {
            connector_id: "lcc-1".into(),
            task_id: 0,
            generation: 1,
            config: sqlx::types::Json(Default::default()),
            weight: 1,
            worker_id: None,
            epoch: 1,
            state: state.into(),
            trace: String::new(),
            records: 0,
            restart_attempts: 0,
            next_restart_at: None,
        };
        for s in TaskState::ALL {
            assert_eq!(task_state(&t(s.as_str())), s);
        }
        assert_eq!(task_state(&t("whatever")), TaskState::Unassigned);
    }
}
