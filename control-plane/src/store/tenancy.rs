//! Organizations, environments, registered Kafka clusters, service accounts,
//! API keys and role bindings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, PgPool};

#[derive(Debug, Clone, FromRow)]
pub struct Environment {
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Cluster {
    pub id: String,
    pub org_id: String,
    pub environment_id: String,
    pub display_name: String,
    pub bootstrap_endpoint: String,
    pub client_properties: Json<BTreeMap<String, String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What authentication needs to know about an API key.
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyAuth {
    pub id: String,
    pub org_id: String,
    pub owner_id: String,
    pub resource_id: Option<String>,
    pub secret_hash: String,
    pub operator: bool,
}

pub async fn list_environments(
    pool: &PgPool,
    org_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Environment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, org_id, display_name, created_at, updated_at FROM environments
         WHERE org_id = $1 AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3",
    )
    .bind(org_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn count_environments(pool: &PgPool, org_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM environments WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(pool)
        .await
}

pub async fn get_environment(
    pool: &PgPool,
    org_id: &str,
    id: &str,
) -> Result<Option<Environment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, org_id, display_name, created_at, updated_at FROM environments
         WHERE org_id = $1 AND id = $2",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

const CLUSTER_COLS: &str = "id, org_id, environment_id, display_name, bootstrap_endpoint, client_properties, created_at, updated_at";

pub async fn list_clusters(
    pool: &PgPool,
    org_id: &str,
    environment_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Cluster>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CLUSTER_COLS} FROM kafka_clusters
         WHERE org_id = $1 AND environment_id = $2 AND ($3::text IS NULL OR id > $3)
         ORDER BY id LIMIT $4"
    ))
    .bind(org_id)
    .bind(environment_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn count_clusters(
    pool: &PgPool,
    org_id: &str,
    environment_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM kafka_clusters WHERE org_id = $1 AND environment_id = $2",
    )
    .bind(org_id)
    .bind(environment_id)
    .fetch_one(pool)
    .await
}

/// A cluster, only if it is in the caller's organization and the given environment.
pub async fn get_cluster(
    exec: impl PgExecutor<'_>,
    org_id: &str,
    environment_id: &str,
    id: &str,
) -> Result<Option<Cluster>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CLUSTER_COLS} FROM kafka_clusters WHERE org_id = $1 AND environment_id = $2 AND id = $3"
    ))
    .bind(org_id)
    .bind(environment_id)
    .bind(id)
    .fetch_optional(exec)
    .await
}

pub async fn find_api_key(pool: &PgPool, id: &str) -> Result<Option<ApiKeyAuth>, sqlx::Error> {
    sqlx::query_as(
        "SELECT k.id, k.org_id, k.owner_id, k.resource_id, k.secret_hash, o.operator
         FROM api_keys k JOIN organizations o ON o.id = k.org_id WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}
