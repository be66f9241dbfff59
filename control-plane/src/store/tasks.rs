//! Every write of a task's state. Each function performs one
//! [`TaskTransition`] of the lifecycle table: it binds the transition's end
//! state and its `from` states (`state = ANY(…)`), so the database refuses
//! a move the table does not list, in the same statement, and no state is
//! spelled here. Also the task rows the reconciler reads and its other
//! writes of task rows (splitting, restart backoff).

use std::time::Duration;

use sqlx::postgres::PgArguments;
use sqlx::query::QueryScalar;
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, Postgres, Transaction};
use tributary_protocol::TaskReport;

use super::connectors::ConfigMap;
use crate::lifecycle::{OffsetRequestPhase, TargetState, TaskState, TaskTransition};

/// A task as placement sees it.
#[derive(Debug, Clone, FromRow)]
pub struct Placement {
    pub connector_id: String,
    pub task_id: i32,
    pub worker_id: Option<String>,
    pub weight: i32,
    /// Its organization's dedicated worker pool (`None`: the shared pool).
    pub pool: Option<String>,
}

/// Every task with the pool it must run in, locked for the rest of the
/// transaction (the reconciler's pass).
pub async fn lock_placements(
    tx: &mut Transaction<'_, Postgres>,
) -> Result<Vec<Placement>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.connector_id, t.task_id, t.worker_id, t.weight, o.dedicated_pool AS pool
         FROM tasks t JOIN connectors c ON c.id = t.connector_id
           JOIN organizations o ON o.id = c.org_id
         ORDER BY t.connector_id, t.task_id FOR UPDATE OF t",
    )
    .fetch_all(&mut **tx)
    .await
}

/// [`TaskTransition::Created`]: replaces a connector's tasks with one per
/// task config, of `generation`, each waiting for a worker.
pub async fn replace(
    tx: &mut Transaction<'_, Postgres>,
    connector_id: &str,
    generation: i64,
    task_configs: &[ConfigMap],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tasks WHERE connector_id = $1")
        .bind(connector_id)
        .execute(&mut **tx)
        .await?;
    let created = TaskTransition::Created;
    for (i, config) in task_configs.iter().enumerate() {
        sqlx::query(
            "INSERT INTO tasks (connector_id, task_id, generation, config, state)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(connector_id)
        .bind(i as i32)
        .bind(generation)
        .bind(Json(config))
        .bind(created.to())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Deletes the tasks of connectors that must have none: stopped ones, and
/// those with a pending offset request (applied once their tasks are gone).
pub async fn delete_idle(tx: &mut Transaction<'_, Postgres>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM tasks t USING connectors c WHERE t.connector_id = c.id
           AND (c.target_state = $1
                OR EXISTS (SELECT 1 FROM offset_requests r WHERE r.connector_id = c.id AND r.phase = $2))",
    )
    .bind(TargetState::Stopped)
    .bind(OffsetRequestPhase::Pending)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// [`TaskTransition::Assigned`]: places the task on `worker` (`None`: on no
/// worker) under a new epoch; the worker has not started it yet.
pub async fn assign(
    tx: &mut Transaction<'_, Postgres>,
    connector_id: &str,
    task_id: i32,
    worker: Option<&str>,
) -> Result<(), sqlx::Error> {
    let t = TaskTransition::Assigned;
    sqlx::query(
        "UPDATE tasks SET worker_id = $3, epoch = nextval('task_epochs'), state = $4,
                trace = '', state_updated_at = now()
         WHERE connector_id = $1 AND task_id = $2 AND state = ANY($5)",
    )
    .bind(connector_id)
    .bind(task_id)
    .bind(worker)
    .bind(t.to())
    .bind(t.from())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// [`TaskTransition::Released`] for workers whose lease lapsed: their tasks
/// wait for other workers (and a new epoch). The failure trace is kept.
pub async fn release_expired(
    tx: &mut Transaction<'_, Postgres>,
    workers: &[String],
) -> Result<u64, sqlx::Error> {
    let t = TaskTransition::Released;
    Ok(sqlx::query(
        "UPDATE tasks SET worker_id = NULL, state = $2 WHERE worker_id = ANY($1) AND state = ANY($3)",
    )
    .bind(workers)
    .bind(t.to())
    .bind(t.from())
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// [`TaskTransition::Released`] for a worker that registers (again): a
/// registering process runs nothing.
pub async fn release_registering(
    exec: impl PgExecutor<'_>,
    worker: &str,
) -> Result<u64, sqlx::Error> {
    let t = TaskTransition::Released;
    Ok(sqlx::query(
        "UPDATE tasks SET worker_id = NULL, state = $2, trace = '' WHERE worker_id = $1 AND state = ANY($3)",
    )
    .bind(worker)
    .bind(t.to())
    .bind(t.from())
    .execute(exec)
    .await?
    .rows_affected())
}

/// A restart statement (built from [`RESTART_SET`] and [`RESTART_WHERE`])
/// with its states bound as `$1`–`$4`: a new epoch, and RESTARTING on the
/// task's worker ([`TaskTransition::Restarted`]) or UNASSIGNED when it has
/// none ([`TaskTransition::RestartedUnplaced`]).
fn restart_query(sql: &str) -> QueryScalar<'_, Postgres, i32, PgArguments> {
    let (placed, unplaced) = (TaskTransition::Restarted, TaskTransition::RestartedUnplaced);
    sqlx::query_scalar(sql)
        .bind(unplaced.to())
        .bind(placed.to())
        .bind(unplaced.from())
        .bind(placed.from())
}

/// The `SET` list of a restart.
const RESTART_SET: &str = "epoch = nextval('task_epochs'),
    state = CASE WHEN worker_id IS NULL THEN $1 ELSE $2 END,
    trace = '', next_restart_at = NULL, state_updated_at = now()";
/// The `from` states of a restart, each for its transition.
const RESTART_WHERE: &str =
    "((worker_id IS NULL AND state = ANY($3)) OR (worker_id IS NOT NULL AND state = ANY($4)))";

/// A user's restart of a connector's tasks: `task` narrows to one task,
/// `only_failed` to FAILED ones. Returns the restarted task ids.
pub async fn restart(
    tx: &mut Transaction<'_, Postgres>,
    connector_id: &str,
    task: Option<i32>,
    only_failed: bool,
) -> Result<Vec<i32>, sqlx::Error> {
    let sql = format!(
        "UPDATE tasks SET {RESTART_SET}
         WHERE {RESTART_WHERE} AND connector_id = $5 AND ($6::int IS NULL OR task_id = $6)
           AND (NOT $7 OR state = $8)
         RETURNING task_id"
    );
    restart_query(&sql)
        .bind(connector_id)
        .bind(task)
        .bind(only_failed)
        .bind(TaskState::Failed)
        .fetch_all(&mut **tx)
        .await
}

/// The automatic restart: FAILED tasks whose backoff has run out, counted
/// as one more attempt. Returns how many restarted.
pub async fn restart_due(tx: &mut Transaction<'_, Postgres>) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "UPDATE tasks SET {RESTART_SET}, restart_attempts = restart_attempts + 1
         WHERE {RESTART_WHERE} AND state = $5 AND next_restart_at <= now()
         RETURNING task_id"
    );
    let restarted = restart_query(&sql)
        .bind(TaskState::Failed)
        .fetch_all(&mut **tx)
        .await?;
    Ok(restarted.len() as u64)
}

/// Schedules the automatic restart of newly FAILED tasks with capped
/// exponential backoff (`base` doubled per attempt, at most `max`), unless
/// the connector says `auto.restart.on.user.error=false` or is not meant
/// to run. The schedule shows in the task status until it fires.
pub async fn schedule_restarts(
    tx: &mut Transaction<'_, Postgres>,
    base: Duration,
    max: Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE tasks t SET next_restart_at = now() + make_interval(secs =>
             LEAST($2::float8, $1::float8 * power(2, LEAST(t.restart_attempts, 30))) / 1000.0)
         FROM connectors c
         WHERE c.id = t.connector_id AND t.state = $3 AND t.next_restart_at IS NULL
           AND c.target_state = $4
           AND lower(COALESCE(c.config->>'auto.restart.on.user.error', 'true')) <> 'false'",
    )
    .bind(base.as_millis() as f64)
    .bind(max.as_millis() as f64)
    .bind(TaskState::Failed)
    .bind(TargetState::Running)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Forgets the restart attempts of tasks that have run for a minute.
pub async fn reset_restart_attempts(
    tx: &mut Transaction<'_, Postgres>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE tasks SET restart_attempts = 0
         WHERE restart_attempts > 0 AND state = $1 AND state_updated_at < now() - interval '60 seconds'",
    )
    .bind(TaskState::Running)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// [`TaskTransition::Reported`]: applies a worker's reports, fenced: a
/// report counts only while its task is still assigned to this worker
/// under the reported epoch, and only for a move the table allows. Returns
/// how many tasks changed.
pub async fn apply_reports(
    tx: &mut Transaction<'_, Postgres>,
    worker_id: &str,
    reports: &[TaskReport],
) -> Result<u64, sqlx::Error> {
    let connector_ids: Vec<&str> = reports.iter().map(|r| r.id.connector_id.as_str()).collect();
    let task_ids: Vec<i32> = reports.iter().map(|r| r.id.task as i32).collect();
    let epochs: Vec<i64> = reports.iter().map(|r| r.epoch).collect();
    let states: Vec<TaskState> = reports.iter().map(|r| r.state).collect();
    let traces: Vec<String> = reports
        .iter()
        .map(|r| r.trace.clone().unwrap_or_default())
        .collect();
    let records: Vec<i64> = reports
        .iter()
        .map(|r| r.records.min(i64::MAX as u64) as i64)
        .collect();
    let (move_from, move_to): (Vec<TaskState>, Vec<TaskState>) =
        TaskTransition::report_moves().unzip();
    Ok(sqlx::query(
        "UPDATE tasks t SET state = r.state, trace = r.trace, records = r.records,
             state_updated_at = CASE WHEN t.state <> r.state THEN now() ELSE t.state_updated_at END
         FROM UNNEST($2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])
              AS r(connector_id, task_id, epoch, state, trace, records)
         WHERE t.connector_id = r.connector_id AND t.task_id = r.task_id
           AND t.epoch = r.epoch AND t.worker_id = $1
           AND (t.state <> r.state OR t.trace <> r.trace OR t.records <> r.records)
           AND EXISTS (SELECT 1 FROM UNNEST($8::text[], $9::text[]) AS m(from_state, to_state)
                       WHERE m.from_state = t.state AND m.to_state = r.state)",
    )
    .bind(worker_id)
    .bind(&connector_ids)
    .bind(&task_ids)
    .bind(&epochs)
    .bind(&states)
    .bind(&traces)
    .bind(&records)
    .bind(&move_from)
    .bind(&move_to)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
