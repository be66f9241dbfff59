//! The aggregates `GET /metrics` exposes, read at scrape time so that any
//! replica answers the same.

use sqlx::PgPool;

use crate::lifecycle::{TargetState, TaskState};

/// The fleet and reconciler state, counted.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// The reconciler leader's epoch and holder.
    pub leader: Option<(i64, String)>,
    /// Workers by (draining, lease live).
    pub workers: Vec<(bool, bool, i64)>,
    /// Tasks by state.
    pub tasks: Vec<(TaskState, i64)>,
    /// Connectors by target state.
    pub connectors: Vec<(TargetState, i64)>,
    /// Records of each connector's running task incarnations: (id, type, records).
    pub records: Vec<(String, String, i64)>,
    /// Scaling decisions taken.
    pub scaling_decisions: i64,
    /// The worker count the last decision of each pool asked for.
    pub desired_workers: Vec<(Option<String>, i32)>,
    /// Automatic restart attempts of tasks still failing.
    pub restart_attempts: i64,
}

pub async fn fleet(pool: &PgPool) -> Result<Fleet, sqlx::Error> {
    let leader = super::ops::leader(pool).await?.map(|l| (l.epoch, l.holder));
    let workers = sqlx::query_as(
        "SELECT draining, lease_expires_at > now(), count(*) FROM workers GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let tasks = sqlx::query_as("SELECT state, count(*) FROM tasks GROUP BY state ORDER BY state")
        .fetch_all(pool)
        .await?;
    let connectors = sqlx::query_as(
        "SELECT target_state, count(*) FROM connectors GROUP BY target_state ORDER BY target_state",
    )
    .fetch_all(pool)
    .await?;
    let records = sqlx::query_as(
        "SELECT c.id, c.connector_type, COALESCE(sum(t.records), 0)::bigint
         FROM connectors c LEFT JOIN tasks t ON t.connector_id = c.id GROUP BY c.id, c.connector_type ORDER BY c.id",
    )
    .fetch_all(pool)
    .await?;
    let scaling_decisions = sqlx::query_scalar("SELECT count(*) FROM scaling_events")
        .fetch_one(pool)
        .await?;
    // The last decision of each worker pool.
    let desired_workers = sqlx::query_as(
        "SELECT DISTINCT ON (pool) pool, to_count FROM scaling_events ORDER BY pool, id DESC",
    )
    .fetch_all(pool)
    .await?;
    let restart_attempts =
        sqlx::query_scalar("SELECT COALESCE(sum(restart_attempts), 0)::bigint FROM tasks")
            .fetch_one(pool)
            .await?;
    Ok(Fleet {
        leader,
        workers,
        tasks,
        connectors,
        records,
        scaling_decisions,
        desired_workers,
        restart_attempts,
    })
}
