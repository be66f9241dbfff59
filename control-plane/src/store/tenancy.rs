//! Organizations, environments and registered Kafka clusters.
//!
//! The `*_scoped` functions take the caller's [`Scope`] and filter on its
//! role bindings in SQL (see [`crate::auth::authz`]); the unscoped ones
//! filter on the organization only and serve internal callers that have
//! already authorized (e.g. the Connect gate).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgExecutor, PgPool, Postgres, Transaction};

use crate::auth::authz::{binding_predicate, Reach, Scope};

#[derive(Debug, Clone, FromRow)]
pub struct Organization {
    pub id: String,
    pub display_name: String,
    pub operator: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

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
    /// Secret client properties (`sasl.password`), sealed with [`crate::secrets::SecretBox`].
    pub secret_properties: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Cluster {
    /// The librdkafka properties to reach the cluster, secrets opened.
    pub fn connection_properties(
        &self,
        secrets: &crate::secrets::SecretBox,
    ) -> Result<BTreeMap<String, String>, crate::secrets::SecretError> {
        connection_properties(
            &self.client_properties,
            self.secret_properties.as_deref(),
            secrets,
        )
    }
}

/// Plain client properties merged with the sealed secret ones (for the
/// worker protocol, which hands workers what they need to connect).
pub fn connection_properties(
    plain: &BTreeMap<String, String>,
    sealed: Option<&str>,
    secrets: &crate::secrets::SecretBox,
) -> Result<BTreeMap<String, String>, crate::secrets::SecretError> {
    let mut props = plain.clone();
    if let Some(sealed) = sealed {
        let opened = secrets.decrypt(sealed)?;
        let extra: BTreeMap<String, String> =
            serde_json::from_str(&opened).map_err(|_| crate::secrets::SecretError::Malformed)?;
        props.extend(extra);
    }
    Ok(props)
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

const CLUSTER_COLS: &str = "id, org_id, environment_id, display_name, bootstrap_endpoint, client_properties, secret_properties, created_at, updated_at";

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

// ---------------------------------------------------------------- organizations

const ORG_COLS: &str = "id, display_name, operator, created_at, updated_at";

/// Organizations the caller may see: its own, or all (`only` None) for the operator.
pub async fn list_organizations(
    pool: &PgPool,
    only: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<Organization>, i64), sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "SELECT {ORG_COLS} FROM organizations
         WHERE ($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3"
    ))
    .bind(only)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM organizations WHERE ($1::text IS NULL OR id = $1)",
    )
    .bind(only)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

pub async fn get_organization(
    pool: &PgPool,
    only: Option<&str>,
    id: &str,
) -> Result<Option<Organization>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ORG_COLS} FROM organizations WHERE id = $2 AND ($1::text IS NULL OR id = $1)"
    ))
    .bind(only)
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn update_organization(
    pool: &PgPool,
    id: &str,
    display_name: &str,
) -> Result<Option<Organization>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE organizations SET display_name = $2, updated_at = now() WHERE id = $1 RETURNING {ORG_COLS}"
    ))
    .bind(id)
    .bind(display_name)
    .fetch_optional(pool)
    .await
}

pub async fn create_organization(
    tx: &mut Transaction<'_, Postgres>,
    display_name: &str,
) -> Result<Organization, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO organizations (id, display_name) VALUES ($1, $2) RETURNING {ORG_COLS}"
    ))
    .bind(crate::ids::organization())
    .bind(display_name)
    .fetch_one(&mut **tx)
    .await
}

// ---------------------------------------------------------------- environments, scoped

const ENV_COLS: &str = "e.id, e.org_id, e.display_name, e.created_at, e.updated_at";

/// Environments the caller can see: bound at, above or below them; a
/// resource key sees only the environment of its cluster.
fn env_visible() -> String {
    format!(
        "e.org_id = $1 AND {} AND ($4::text IS NULL OR EXISTS
           (SELECT 1 FROM kafka_clusters rk WHERE rk.id = $4 AND rk.org_id = $1 AND rk.environment_id = e.id))",
        binding_predicate(Some("e.id"), None, None, Reach::Visible)
    )
}

pub async fn list_environments_scoped(
    pool: &PgPool,
    scope: &Scope,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<Environment>, i64), sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "SELECT {ENV_COLS} FROM environments e WHERE {} AND ($5::text IS NULL OR e.id > $5)
         ORDER BY e.id LIMIT $6",
        env_visible()
    ))
    .bind(&scope.org_id)
    .bind(&scope.principal)
    .bind(&scope.roles)
    .bind(&scope.resource_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM environments e WHERE {}",
        env_visible()
    ))
    .bind(&scope.org_id)
    .bind(&scope.principal)
    .bind(&scope.roles)
    .bind(&scope.resource_id)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

pub async fn get_environment_scoped(
    pool: &PgPool,
    scope: &Scope,
    id: &str,
) -> Result<Option<Environment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENV_COLS} FROM environments e WHERE {} AND e.id = $5",
        env_visible()
    ))
    .bind(&scope.org_id)
    .bind(&scope.principal)
    .bind(&scope.roles)
    .bind(&scope.resource_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn create_environment(
    pool: &PgPool,
    org_id: &str,
    display_name: &str,
) -> Result<Environment, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO environments (id, org_id, display_name) VALUES ($1, $2, $3)
         RETURNING id, org_id, display_name, created_at, updated_at",
    )
    .bind(crate::ids::environment())
    .bind(org_id)
    .bind(display_name)
    .fetch_one(pool)
    .await
}

pub async fn update_environment(
    pool: &PgPool,
    org_id: &str,
    id: &str,
    display_name: &str,
) -> Result<Option<Environment>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE environments SET display_name = $3, updated_at = now() WHERE org_id = $1 AND id = $2
         RETURNING id, org_id, display_name, created_at, updated_at",
    )
    .bind(org_id)
    .bind(id)
    .bind(display_name)
    .fetch_optional(pool)
    .await
}

/// What still lives in an environment that is to be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub clusters: i64,
    pub connectors: i64,
}

/// Deletes an empty environment: Ok(true) when deleted, Ok(false) when it
/// did not exist, Err(holdings) when it still holds clusters or connectors.
pub async fn delete_environment(
    pool: &PgPool,
    org_id: &str,
    id: &str,
) -> Result<Result<bool, Holdings>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let exists: Option<String> =
        sqlx::query_scalar("SELECT id FROM environments WHERE org_id = $1 AND id = $2 FOR UPDATE")
            .bind(org_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if exists.is_none() {
        return Ok(Ok(false));
    }
    let (clusters, connectors): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM kafka_clusters WHERE org_id = $1 AND environment_id = $2),
                (SELECT count(*) FROM connectors WHERE org_id = $1 AND environment_id = $2)",
    )
    .bind(org_id)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if clusters > 0 || connectors > 0 {
        return Ok(Err(Holdings {
            clusters,
            connectors,
        }));
    }
    sqlx::query("DELETE FROM environments WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(true))
}

// ---------------------------------------------------------------- clusters, scoped

/// Clusters the caller can see: bound at, above or below them (a binding on
/// one connector shows its cluster); a resource key sees only its cluster.
fn cluster_visible() -> String {
    format!(
        "c.org_id = $1 AND {} AND ($4::text IS NULL OR c.id = $4)",
        binding_predicate(Some("c.environment_id"), Some("c.id"), None, Reach::Visible)
    )
}

fn cluster_cols() -> String {
    CLUSTER_COLS
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn list_clusters_scoped(
    pool: &PgPool,
    scope: &Scope,
    environment_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<Cluster>, i64), sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "SELECT {} FROM kafka_clusters c WHERE {} AND c.environment_id = $5
         AND ($6::text IS NULL OR c.id > $6) ORDER BY c.id LIMIT $7",
        cluster_cols(),
        cluster_visible()
    ))
    .bind(&scope.org_id)
    .bind(&scope.principal)
    .bind(&scope.roles)
    .bind(&scope.resource_id)
    .bind(environment_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM kafka_clusters c WHERE {} AND c.environment_id = $5",
        cluster_visible()
    ))
    .bind(&scope.org_id)
    .bind(&scope.principal)
    .bind(&scope.roles)
    .bind(&scope.resource_id)
    .bind(environment_id)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// A cluster the caller can see, in the given environment (or any, when None).
pub async fn get_cluster_scoped(
    pool: &PgPool,
    scope: &Scope,
    environment_id: Option<&str>,
    id: &str,
) -> Result<Option<Cluster>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {} FROM kafka_clusters c WHERE {} AND c.id = $5
         AND ($6::text IS NULL OR c.environment_id = $6)",
        cluster_cols(),
        cluster_visible()
    ))
    .bind(&scope.org_id)
    .bind(&scope.principal)
    .bind(&scope.roles)
    .bind(&scope.resource_id)
    .bind(id)
    .bind(environment_id)
    .fetch_optional(pool)
    .await
}

pub struct NewCluster<'a> {
    pub org_id: &'a str,
    pub environment_id: &'a str,
    pub display_name: &'a str,
    pub bootstrap_endpoint: &'a str,
    pub client_properties: &'a BTreeMap<String, String>,
    pub secret_properties: Option<&'a str>,
}

pub async fn create_cluster(pool: &PgPool, c: NewCluster<'_>) -> Result<Cluster, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO kafka_clusters (id, org_id, environment_id, display_name, bootstrap_endpoint,
                                     client_properties, secret_properties)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {CLUSTER_COLS}"
    ))
    .bind(crate::ids::cluster())
    .bind(c.org_id)
    .bind(c.environment_id)
    .bind(c.display_name)
    .bind(c.bootstrap_endpoint)
    .bind(Json(c.client_properties))
    .bind(c.secret_properties)
    .fetch_one(pool)
    .await
}

/// Replaces a cluster's name, endpoint and connection properties.
pub async fn update_cluster(pool: &PgPool, c: &Cluster) -> Result<Option<Cluster>, sqlx::Error> {
    let updated: Option<Cluster> = sqlx::query_as(&format!(
        "UPDATE kafka_clusters SET display_name = $3, bootstrap_endpoint = $4, client_properties = $5,
                secret_properties = $6, updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {CLUSTER_COLS}"
    ))
    .bind(&c.org_id)
    .bind(&c.id)
    .bind(&c.display_name)
    .bind(&c.bootstrap_endpoint)
    .bind(&c.client_properties)
    .bind(&c.secret_properties)
    .fetch_optional(pool)
    .await?;
    if updated.is_some() {
        // Workers pick up new connection settings with their next assignment.
        super::notify_reconciler(pool, "cluster updated").await?;
    }
    Ok(updated)
}

/// Deletes a cluster without connectors: Ok(true) deleted, Ok(false) absent,
/// Err(n) when it still holds n connectors.
pub async fn delete_cluster(
    pool: &PgPool,
    org_id: &str,
    id: &str,
) -> Result<Result<bool, i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT id FROM kafka_clusters WHERE org_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_none() {
        return Ok(Ok(false));
    }
    let connectors: i64 =
        sqlx::query_scalar("SELECT count(*) FROM connectors WHERE org_id = $1 AND cluster_id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if connectors > 0 {
        return Ok(Err(connectors));
    }
    // The cluster's resource keys are of no use without it.
    sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND resource_id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM kafka_clusters WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(true))
}
