//! Pause, resume, stop and restart. Each records desired state and answers
//! at once; workers converge within a heartbeat. Never a conflict.

use super::{precondition, Admitted, ConnectorService, Expected, Result, ServiceError};
use crate::lifecycle::{target_transition_allowed, TargetState};
use crate::store::connectors::{self as store, Connector, Task};
use crate::store::notify_reconciler;
use crate::store::tasks;

/// What [`ConnectorService::restart`] did.
#[derive(Debug, Clone)]
pub struct Restarted {
    pub connector: Connector,
    /// The connector's tasks after the restart.
    pub tasks: Vec<Task>,
    /// The ids of the tasks restarted.
    pub restarted: Vec<i32>,
}

impl ConnectorService {
    /// Records the target state of connector `name` (pause, resume, stop;
    /// idempotent) and wakes the reconciler. Answers the connector as it
    /// now is.
    pub async fn set_target_state(
        &self,
        at: &Admitted<'_>,
        name: &str,
        target: TargetState,
        expected: Option<&Expected>,
    ) -> Result<Connector> {
        let mut tx = self.pool.begin().await?;
        let current = store::lock(&mut tx, at.org_id(), &at.cluster().id, name)
            .await?
            .ok_or_else(|| ServiceError::connector_not_found(name))?;
        precondition::check(expected, Some(&current))?;
        let from = current.target_state;
        if !target_transition_allowed(from, target) {
            return Err(ServiceError::IllegalTransition { from, to: target });
        }
        let c = store::set_target_state(&mut tx, &current.id, target).await?;
        notify_reconciler(&mut *tx, "target state").await?;
        tx.commit().await?;
        tracing::info!(connector = %c.id, %target, "connector target state set");
        Ok(c)
    }

    /// Restarts connector `name`: with `include_tasks`, its tasks (only the
    /// FAILED ones with `only_failed`) get a new epoch, which restarts them
    /// where they run; the reconciler is woken either way.
    pub async fn restart(
        &self,
        at: &Admitted<'_>,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<Restarted> {
        let mut tx = self.pool.begin().await?;
        let c = store::lock(&mut tx, at.org_id(), &at.cluster().id, name)
            .await?
            .ok_or_else(|| ServiceError::connector_not_found(name))?;
        let restarted = if include_tasks {
            tasks::restart(&mut tx, &c.id, None, only_failed).await?
        } else {
            Vec::new()
        };
        notify_reconciler(&mut *tx, "restart").await?;
        tx.commit().await?;
        tracing::info!(connector = %c.id, tasks = ?restarted, "connector restart requested");
        let tasks = store::tasks_of(&self.pool, std::slice::from_ref(&c.id)).await?;
        Ok(Restarted {
            connector: c,
            tasks,
            restarted,
        })
    }

    /// Restarts task `task` of connector `name` under a new epoch, where it
    /// runs. False when the connector has no such task.
    pub async fn restart_task(&self, at: &Admitted<'_>, name: &str, task: i32) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let c = store::lock(&mut tx, at.org_id(), &at.cluster().id, name)
            .await?
            .ok_or_else(|| ServiceError::connector_not_found(name))?;
        let restarted = tasks::restart(&mut tx, &c.id, Some(task), false).await?;
        if restarted.is_empty() {
            return Ok(false);
        }
        notify_reconciler(&mut *tx, "task restart").await?;
        tx.commit().await?;
        tracing::info!(connector = %c.id, task, "task restart requested");
        Ok(true)
    }
}
