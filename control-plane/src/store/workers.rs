//! The worker side of the store: registration, leases, task reports and
//! assignments. Reports are fenced: a report is applied only when its epoch
//! and worker still match the task's current assignment.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgPool};
use sqlx::{Postgres, Transaction};
use tributary_protocol::{SourceOffset, TaskReport};

use super::tasks;
use crate::lifecycle::TargetState;

#[derive(Debug, Clone, FromRow)]
pub struct Worker {
    pub id: String,
    pub capacity: i32,
    pub version: String,
    pub registered_at: DateTime<Utc>,
    pub last_heartbeat: DateTime<Utc>,
    pub lease_expires_at: DateTime<Utc>,
    pub draining: bool,
    /// Its worker pool (`None`: the shared pool).
    pub pool: Option<String>,
}

/// One task as its worker must see it.
#[derive(Debug, Clone, FromRow)]
pub struct AssignmentRow {
    pub connector_id: String,
    pub task_id: i32,
    pub epoch: i64,
    pub config: Json<BTreeMap<String, String>>,
    pub connector_name: String,
    pub target_state: TargetState,
    pub bootstrap_endpoint: String,
    pub client_properties: Json<BTreeMap<String, String>>,
    pub connector_type: String,
    /// The cluster's sealed credentials.
    pub secret_properties: Option<String>,
    /// The connector's environment (its Schema Registry).
    pub environment_id: String,
    #[sqlx(skip)]
    pub offsets: Vec<SourceOffset>,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Registers (or re-registers) a worker. A registering process runs nothing,
/// so whatever was still assigned to this id is released for reassignment
/// under a new epoch.
pub async fn register(
    pool: &PgPool,
    id: &str,
    capacity: i32,
    version: &str,
    worker_pool: Option<&str>,
    lease: Duration,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    tasks::release_registering(&mut *tx, id).await?;
    sqlx::query(
        "INSERT INTO workers (id, capacity, version, lease_expires_at, pool)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4 / 1000.0), $5)
         ON CONFLICT (id) DO UPDATE SET capacity = $2, version = $3, registered_at = now(),
           last_heartbeat = now(), lease_expires_at = now() + make_interval(secs => $4 / 1000.0), draining = false,
           pool = $5",
    )
    .bind(id)
    .bind(capacity)
    .bind(version)
    .bind(millis(lease))
    .bind(worker_pool)
    .execute(&mut *tx)
    .await?;
    super::notify_reconciler(&mut *tx, "worker registered").await?;
    tx.commit().await
}

/// Renews the lease and applies the reports; `None` when the worker has no
/// live lease (it must stop its tasks and register again).
pub async fn heartbeat(
    pool: &PgPool,
    id: &str,
    reports: &[TaskReport],
    lease: Duration,
) -> Result<Option<Vec<AssignmentRow>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let renewed = sqlx::query(
        "UPDATE workers SET last_heartbeat = now(), lease_expires_at = now() + make_interval(secs => $2 / 1000.0)
         WHERE id = $1 AND lease_expires_at > now()",
    )
    .bind(id)
    .bind(millis(lease))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if renewed == 0 {
        return Ok(None);
    }
    if !reports.is_empty() {
        let changed = tasks::apply_reports(&mut tx, id, reports).await?;
        if changed > 0 {
            super::notify_reconciler(&mut *tx, "task state").await?;
        }
        store_source_offsets(&mut tx, id, reports).await?;
        store_topics(&mut tx, id, reports).await?;
    }
    let assignments = assignments_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Some(assignments))
}

/// What [`credit_outage`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutageCredit {
    /// Seconds added to each live lease (0: already credited).
    pub credited_secs: f64,
    /// Leases extended.
    pub leases: i64,
}

/// Credits a store outage that began `outage` ago and ends now: every lease
/// that was live when it began is extended by its length, since no worker
/// could renew during it. Each replica that saw the outage calls this; the
/// part already credited (`lease_credit`) is not credited again.
pub async fn credit_outage(pool: &PgPool, outage: Duration) -> Result<OutageCredit, sqlx::Error> {
    let (leases, credited_secs): (i64, f64) = sqlx::query_as(
        "WITH w AS (
           SELECT GREATEST(now() - make_interval(secs => $1 / 1000.0), credited_until) AS from_at,
                  now() AS to_at
           FROM lease_credit WHERE id = 1 FOR UPDATE),
         ext AS (
           UPDATE workers SET lease_expires_at = lease_expires_at + (w.to_at - w.from_at)
           FROM w WHERE w.to_at > w.from_at AND workers.lease_expires_at > w.from_at
           RETURNING workers.id),
         -- Runs although nothing reads it (Postgres runs every data-modifying WITH).
         mark AS (
           UPDATE lease_credit SET credited_until = w.to_at
           FROM w WHERE lease_credit.id = 1 AND w.to_at > w.from_at
           RETURNING 1)
         SELECT (SELECT count(*) FROM ext),
                COALESCE((SELECT EXTRACT(EPOCH FROM (w.to_at - w.from_at))::float8
                          FROM w WHERE w.to_at > w.from_at), 0)",
    )
    .bind(millis(outage))
    .fetch_one(pool)
    .await?;
    Ok(OutageCredit {
        credited_secs,
        leases,
    })
}

/// A worker as placement sees it.
#[derive(Debug, Clone, FromRow)]
pub struct Capacity {
    pub id: String,
    pub capacity: i32,
    pub draining: bool,
    pub pool: Option<String>,
}

/// Every registered worker's capacity, by id.
pub async fn capacities(tx: &mut Transaction<'_, Postgres>) -> Result<Vec<Capacity>, sqlx::Error> {
    sqlx::query_as("SELECT id, capacity, draining, pool FROM workers ORDER BY id")
        .fetch_all(&mut **tx)
        .await
}

/// Workers past their lease, locked for the rest of the transaction.
pub async fn lock_expired(tx: &mut Transaction<'_, Postgres>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workers WHERE lease_expires_at < now() FOR UPDATE")
        .fetch_all(&mut **tx)
        .await
}

/// Forgets workers; returns how many there were.
pub async fn delete(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[String],
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM workers WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Ends the leases of workers whose process is gone, so their tasks move
/// on the next pass instead of when the lease would run out.
pub async fn expire_now(pool: &PgPool, ids: &[String]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE workers SET lease_expires_at = now() - interval '1 millisecond' WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(())
}

/// Those of `ids` that are registered.
pub async fn registered(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workers WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// Those of `ids` that hold a live lease.
pub async fn leased(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workers WHERE id = ANY($1) AND lease_expires_at > now()")
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// Up to `n` of `ids` holding the fewest tasks, least loaded first.
pub async fn least_loaded(
    pool: &PgPool,
    ids: &[String],
    n: usize,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT w.id FROM workers w LEFT JOIN tasks t ON t.worker_id = w.id
         WHERE w.id = ANY($1) GROUP BY w.id ORDER BY count(t.task_id), w.id LIMIT $2",
    )
    .bind(ids)
    .bind(n as i64)
    .fetch_all(pool)
    .await
}

/// Marks workers for draining (their tasks move, then they stop) or takes
/// the mark back.
pub async fn set_draining(
    pool: &PgPool,
    ids: &[String],
    draining: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workers SET draining = $2 WHERE draining <> $2 AND id = ANY($1)")
        .bind(ids)
        .bind(draining)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets those of `ids` that are draining and hold no task any more;
/// returns them, to be stopped.
pub async fn delete_drained(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM workers w WHERE w.draining AND w.id = ANY($1)
           AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = w.id)
         RETURNING w.id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// Records a scaling decision of a worker pool (`None`: the shared pool).
pub async fn record_scaling(
    pool: &PgPool,
    worker_pool: Option<&str>,
    from: u32,
    to: u32,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scaling_events (from_count, to_count, reason, pool) VALUES ($1, $2, $3, $4)",
    )
    .bind(from as i32)
    .bind(to as i32)
    .bind(reason)
    .bind(worker_pool)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn list(pool: &PgPool) -> Result<Vec<Worker>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, capacity, version, registered_at, last_heartbeat, lease_expires_at, draining, pool
         FROM workers ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Stores reported source offsets, fenced: only rows whose task is still
/// assigned to this worker under the reported epoch are written.
async fn store_source_offsets(
    tx: &mut Transaction<'_, Postgres>,
    worker_id: &str,
    reports: &[TaskReport],
) -> Result<(), sqlx::Error> {
    let mut connector_ids = Vec::new();
    let mut task_ids = Vec::new();
    let mut epochs = Vec::new();
    let mut partitions = Vec::new();
    let mut offsets = Vec::new();
    for r in reports {
        for o in &r.offsets {
            connector_ids.push(r.id.connector_id.as_str());
            task_ids.push(r.id.task as i32);
            epochs.push(r.epoch);
            partitions.push(Json(&o.partition));
            offsets.push(Json(&o.offset));
        }
    }
    if connector_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO source_offsets (connector_id, source_partition, source_offset)
         SELECT r.connector_id, r.source_partition, r.source_offset
         FROM UNNEST($2::text[], $3::int[], $4::bigint[], $5::jsonb[], $6::jsonb[])
              AS r(connector_id, task_id, epoch, source_partition, source_offset)
         JOIN tasks t ON t.connector_id = r.connector_id AND t.task_id = r.task_id
                     AND t.epoch = r.epoch AND t.worker_id = $1
         ON CONFLICT (connector_id, source_partition) DO UPDATE
           SET source_offset = EXCLUDED.source_offset, updated_at = now()
           WHERE source_offsets.source_offset IS DISTINCT FROM EXCLUDED.source_offset",
    )
    .bind(worker_id)
    .bind(&connector_ids)
    .bind(&task_ids)
    .bind(&epochs)
    .bind(&partitions)
    .bind(&offsets)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives each source task the stored offsets of its connector.
async fn attach_offsets(
    tx: &mut Transaction<'_, Postgres>,
    mut rows: Vec<AssignmentRow>,
) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    let ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.connector_type == "source")
        .map(|r| r.connector_id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(rows);
    }
    let stored: Vec<(String, serde_json::Value, serde_json::Value)> = sqlx::query_as(
        "SELECT connector_id, source_partition, source_offset FROM source_offsets WHERE connector_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows.iter_mut() {
        row.offsets = stored
            .iter()
            .filter(|(c, _, _)| *c == row.connector_id)
            .map(|(_, p, o)| SourceOffset {
                partition: p.clone(),
                offset: o.clone(),
            })
            .collect();
    }
    Ok(rows)
}

async fn assignments_in(
    tx: &mut Transaction<'_, Postgres>,
    worker_id: &str,
) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT t.connector_id, t.task_id, t.epoch, t.config, c.name AS connector_name, c.target_state,
                k.bootstrap_endpoint, k.client_properties, c.connector_type, k.secret_properties,
                c.environment_id
         FROM tasks t JOIN connectors c ON c.id = t.connector_id JOIN kafka_clusters k ON k.id = c.cluster_id
         WHERE t.worker_id = $1 ORDER BY t.connector_id, t.task_id",
    )
    .bind(worker_id)
    .fetch_all(&mut **tx)
    .await?;
    attach_offsets(tx, rows).await
}

/// The worker's current assignment, read-only (for long polls).
pub async fn assignments(
    pool: &PgPool,
    worker_id: &str,
) -> Result<Vec<AssignmentRow>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = assignments_in(&mut tx, worker_id).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Records the topics tasks report, fenced like offsets.
async fn store_topics(
    tx: &mut Transaction<'_, Postgres>,
    worker_id: &str,
    reports: &[TaskReport],
) -> Result<(), sqlx::Error> {
    let (mut connector_ids, mut task_ids, mut epochs, mut topics) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in reports {
        for t in &r.topics {
            connector_ids.push(r.id.connector_id.as_str());
            task_ids.push(r.id.task as i32);
            epochs.push(r.epoch);
            topics.push(t.as_str());
        }
    }
    if topics.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO connector_topics (connector_id, topic)
         SELECT r.connector_id, r.topic
         FROM UNNEST($2::text[], $3::int[], $4::bigint[], $5::text[]) AS r(connector_id, task_id, epoch, topic)
         JOIN tasks t ON t.connector_id = r.connector_id AND t.task_id = r.task_id
                     AND t.epoch = r.epoch AND t.worker_id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(worker_id)
    .bind(&connector_ids)
    .bind(&task_ids)
    .bind(&epochs)
    .bind(&topics)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
