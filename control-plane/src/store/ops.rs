//! What the operator reads of the fleet (the reconciler's leader, its
//! scaling decisions, each worker's load) and the worker pools of
//! organizations.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, Transaction};

/// The reconciler leader of record.
#[derive(Debug, Clone, FromRow)]
pub struct Leader {
    pub epoch: i64,
    pub holder: String,
    pub acquired_at: DateTime<Utc>,
}

pub async fn leader(pool: &PgPool) -> Result<Option<Leader>, sqlx::Error> {
    sqlx::query_as("SELECT epoch, holder, acquired_at FROM reconciler_leader WHERE id = 1")
        .fetch_optional(pool)
        .await
}

/// One scaling decision of the reconciler.
#[derive(Debug, Clone, FromRow)]
pub struct ScalingEvent {
    pub at: DateTime<Utc>,
    pub from_count: i32,
    pub to_count: i32,
    pub reason: String,
    /// The worker pool (`None`: the shared pool).
    pub pool: Option<String>,
}

/// The last `limit` scaling decisions, newest first.
pub async fn scaling_events(pool: &PgPool, limit: i64) -> Result<Vec<ScalingEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, from_count, to_count, reason, pool FROM scaling_events ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many tasks are placed on each worker that has any.
pub async fn worker_loads(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT worker_id, count(*) FROM tasks WHERE worker_id IS NOT NULL GROUP BY worker_id",
    )
    .fetch_all(pool)
    .await
}

/// An organization's name and dedicated worker pool (`None`: the shared pool).
pub async fn organization_pool(
    pool: &PgPool,
    org_id: &str,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as("SELECT display_name, dedicated_pool FROM organizations WHERE id = $1")
        .bind(org_id)
        .fetch_optional(pool)
        .await
}

/// Gives an organization a dedicated worker pool, or the shared one
/// (`None`). Answers its name; `None` when there is no such organization.
pub async fn set_organization_pool(
    tx: &mut Transaction<'_, Postgres>,
    org_id: &str,
    dedicated_pool: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE organizations SET dedicated_pool = $2, updated_at = now() WHERE id = $1
         RETURNING display_name",
    )
    .bind(org_id)
    .bind(dedicated_pool)
    .fetch_optional(&mut **tx)
    .await
}
