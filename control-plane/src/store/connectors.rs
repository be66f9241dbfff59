//! Connectors (desired state) and the tasks the reconciler derived from them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, PgPool, Postgres, Transaction};

use crate::lifecycle::{OffsetRequestPhase, TargetState, TaskState};

pub type ConfigMap = BTreeMap<String, String>;

#[derive(Debug, Clone, FromRow)]
pub struct Connector {
    pub id: String,
    pub org_id: String,
    pub environment_id: String,
    pub cluster_id: String,
    pub name: String,
    pub class: String,
    pub connector_type: String,
    pub config: Json<ConfigMap>,
    pub target_state: TargetState,
    pub generation: i64,
    /// Bumped on every change of config or target state (the ETag).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Task {
    pub connector_id: String,
    pub task_id: i32,
    pub generation: i64,
    pub config: Json<ConfigMap>,
    pub weight: i32,
    pub worker_id: Option<String>,
    pub epoch: i64,
    pub state: TaskState,
    pub trace: String,
    pub records: i64,
    pub restart_attempts: i32,
    pub next_restart_at: Option<DateTime<Utc>>,
}

pub struct NewConnector<'a> {
    pub org_id: &'a str,
    pub environment_id: &'a str,
    pub cluster_id: &'a str,
    pub name: &'a str,
    pub class: &'a str,
    pub connector_type: &'a str,
    pub config: &'a ConfigMap,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("connector {0} already exists")]
    AlreadyExists(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const COLS: &str = "id, org_id, environment_id, cluster_id, name, class, connector_type, config, target_state, generation, version, created_at, updated_at";
const TASK_COLS: &str = "connector_id, task_id, generation, config, weight, worker_id, epoch, state, trace, records, restart_attempts, next_restart_at";

pub async fn create(
    tx: &mut Transaction<'_, Postgres>,
    c: NewConnector<'_>,
) -> Result<Connector, CreateError> {
    let res = sqlx::query_as(&format!(
        "INSERT INTO connectors (id, org_id, environment_id, cluster_id, name, class, connector_type, config)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLS}"
    ))
    .bind(crate::ids::connector())
    .bind(c.org_id)
    .bind(c.environment_id)
    .bind(c.cluster_id)
    .bind(c.name)
    .bind(c.class)
    .bind(c.connector_type)
    .bind(Json(c.config))
    .fetch_one(&mut **tx)
    .await;
    match res {
        Ok(row) => Ok(row),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(CreateError::AlreadyExists(c.name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Connectors of a cluster by name; `after`/`limit` page through them.
pub async fn list(
    pool: &PgPool,
    org_id: &str,
    cluster_id: &str,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<Connector>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM connectors WHERE org_id = $1 AND cluster_id = $2
           AND ($3::text IS NULL OR name > $3) ORDER BY name LIMIT $4"
    ))
    .bind(org_id)
    .bind(cluster_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn count(pool: &PgPool, org_id: &str, cluster_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM connectors WHERE org_id = $1 AND cluster_id = $2")
        .bind(org_id)
        .bind(cluster_id)
        .fetch_one(pool)
        .await
}

pub async fn get(
    exec: impl PgExecutor<'_>,
    org_id: &str,
    cluster_id: &str,
    name: &str,
) -> Result<Option<Connector>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM connectors WHERE org_id = $1 AND cluster_id = $2 AND name = $3"
    ))
    .bind(org_id)
    .bind(cluster_id)
    .bind(name)
    .fetch_optional(exec)
    .await
}

/// Deletes a connector (its tasks go with it); true when it existed.
pub async fn delete(
    tx: &mut Transaction<'_, Postgres>,
    org_id: &str,
    cluster_id: &str,
    name: &str,
) -> Result<bool, sqlx::Error> {
    let n =
        sqlx::query("DELETE FROM connectors WHERE org_id = $1 AND cluster_id = $2 AND name = $3")
            .bind(org_id)
            .bind(cluster_id)
            .bind(name)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(n > 0)
}

/// Tasks of the given connectors, in task order.
pub async fn tasks_of(pool: &PgPool, connector_ids: &[String]) -> Result<Vec<Task>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TASK_COLS} FROM tasks WHERE connector_id = ANY($1) ORDER BY connector_id, task_id"
    ))
    .bind(connector_ids)
    .fetch_all(pool)
    .await
}

/// The connector, locked for the rest of the transaction (read-modify-write).
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    org_id: &str,
    cluster_id: &str,
    name: &str,
) -> Result<Option<Connector>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM connectors WHERE org_id = $1 AND cluster_id = $2 AND name = $3 FOR UPDATE"
    ))
    .bind(org_id)
    .bind(cluster_id)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await
}

/// Creates the connector or replaces its config. An identical config
/// changes nothing (no new generation, no task restart), so retried and
/// concurrent identical PUTs converge on one unchanged connector.
/// Returns the row and whether it was created.
pub async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    c: NewConnector<'_>,
) -> Result<(Connector, bool), sqlx::Error> {
    #[derive(FromRow)]
    struct Row {
        #[sqlx(flatten)]
        connector: Connector,
        inserted: bool,
    }
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO connectors (id, org_id, environment_id, cluster_id, name, class, connector_type, config)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (cluster_id, name) DO UPDATE SET
           config = EXCLUDED.config, class = EXCLUDED.class, connector_type = EXCLUDED.connector_type,
           generation = connectors.generation + (connectors.config IS DISTINCT FROM EXCLUDED.config)::int,
           version = connectors.version + (connectors.config IS DISTINCT FROM EXCLUDED.config)::int,
           updated_at = CASE WHEN connectors.config IS DISTINCT FROM EXCLUDED.config THEN now() ELSE connectors.updated_at END
         RETURNING {COLS}, (xmax = 0) AS inserted"
    ))
    .bind(crate::ids::connector())
    .bind(c.org_id)
    .bind(c.environment_id)
    .bind(c.cluster_id)
    .bind(c.name)
    .bind(c.class)
    .bind(c.connector_type)
    .bind(Json(c.config))
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.connector, row.inserted))
}

/// Sets the target state; a no-op when already there (every change is
/// legal: `lifecycle::TARGET_TRANSITIONS`).
pub async fn set_target_state(
    tx: &mut Transaction<'_, Postgres>,
    id: &str,
    state: TargetState,
) -> Result<Connector, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE connectors SET target_state = $2,
           version = version + (target_state <> $2)::int,
           updated_at = CASE WHEN target_state <> $2 THEN now() ELSE updated_at END
         WHERE id = $1 RETURNING {COLS}"
    ))
    .bind(id)
    .bind(state)
    .fetch_one(&mut **tx)
    .await
}

/// A connector by id, in whichever organization.
pub async fn by_id(exec: impl PgExecutor<'_>, id: &str) -> Result<Option<Connector>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLS} FROM connectors WHERE id = $1"))
        .bind(id)
        .fetch_optional(exec)
        .await
}

/// A connector whose tasks lag behind its generation.
#[derive(Debug, Clone, FromRow)]
pub struct Unsplit {
    pub id: String,
    pub class: String,
    pub config: Json<ConfigMap>,
    pub generation: i64,
}

/// Connectors to split into tasks (again), locked for the rest of the
/// transaction: their tasks lag behind their generation, and they are meant
/// to have tasks (not stopped, no offset request pending).
pub async fn lock_unsplit(tx: &mut Transaction<'_, Postgres>) -> Result<Vec<Unsplit>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.id, c.class, c.config, c.generation FROM connectors c
         WHERE c.target_state <> $1
           AND NOT EXISTS (SELECT 1 FROM offset_requests r WHERE r.connector_id = c.id AND r.phase = $2)
           AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.connector_id = c.id AND t.generation = c.generation)
         FOR UPDATE OF c",
    )
    .bind(TargetState::Stopped)
    .bind(OffsetRequestPhase::Pending)
    .fetch_all(&mut **tx)
    .await
}
