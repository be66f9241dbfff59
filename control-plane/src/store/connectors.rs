//! Connectors (desired state) and the tasks the reconciler derived from them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, PgPool, Postgres, Transaction};

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
    pub target_state: String,
    pub generation: i64,
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
    pub state: String,
    pub trace: String,
    pub records: i64,
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

const COLS: &str = "id, org_id, environment_id, cluster_id, name, class, connector_type, config, target_state, generation, created_at, updated_at";

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

pub async fn list(
    pool: &PgPool,
    org_id: &str,
    cluster_id: &str,
) -> Result<Vec<Connector>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLS} FROM connectors WHERE org_id = $1 AND cluster_id = $2 ORDER BY name"
    ))
    .bind(org_id)
    .bind(cluster_id)
    .fetch_all(pool)
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
    sqlx::query_as(
        "SELECT connector_id, task_id, generation, config, weight, worker_id, epoch, state, trace, records
         FROM tasks WHERE connector_id = ANY($1) ORDER BY connector_id, task_id",
    )
    .bind(connector_ids)
    .fetch_all(pool)
    .await
}
