//! Count quotas per tenant. Exceeding one is Confluent's 402
//! `quota_exceeded`, naming the quota and its limit.
//!
//! Checks count before the insert; two concurrent creations may both pass a
//! limit by one, which quotas (unlike invariants) tolerate.

use sqlx::PgPool;

use super::settings::QuotaArgs;
use crate::error::ApiError;

pub type Quotas = QuotaArgs;

/// Why a count quota check refused (or could not decide).
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// Adding one more would pass `limit` (`quota` names it, `what` counts).
    #[error("The request would exceed the quota of {limit} {what}")]
    Exceeded {
        quota: &'static str,
        limit: i64,
        what: &'static str,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<QuotaError> for ApiError {
    fn from(e: QuotaError) -> Self {
        match e {
            QuotaError::Exceeded { quota, .. } => ApiError::quota_exceeded(quota, e.to_string()),
            QuotaError::Db(e) => e.into(),
        }
    }
}

fn exceeded(quota: &'static str, limit: i64, what: &'static str) -> QuotaError {
    QuotaError::Exceeded { quota, limit, what }
}

async fn at_most(
    pool: &PgPool,
    sql: &str,
    binds: &[&str],
    adding: i64,
    limit: i64,
) -> Result<bool, sqlx::Error> {
    let mut q = sqlx::query_scalar::<_, i64>(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let n = q.fetch_one(pool).await?;
    Ok(n + adding <= limit)
}

impl QuotaArgs {
    pub async fn check_environments(&self, pool: &PgPool, org: &str) -> Result<(), QuotaError> {
        let l = self.environments_per_org;
        if !at_most(
            pool,
            "SELECT count(*) FROM environments WHERE org_id = $1",
            &[org],
            1,
            l,
        )
        .await?
        {
            return Err(exceeded(
                "environments_per_org",
                l,
                "environments per organization",
            ));
        }
        Ok(())
    }

    pub async fn check_clusters(
        &self,
        pool: &PgPool,
        org: &str,
        env: &str,
    ) -> Result<(), QuotaError> {
        let l = self.clusters_per_environment;
        let sql = "SELECT count(*) FROM kafka_clusters WHERE org_id = $1 AND environment_id = $2";
        if !at_most(pool, sql, &[org, env], 1, l).await? {
            return Err(exceeded(
                "kafka_clusters_per_environment",
                l,
                "Kafka clusters per environment",
            ));
        }
        Ok(())
    }

    pub async fn check_service_accounts(&self, pool: &PgPool, org: &str) -> Result<(), QuotaError> {
        let l = self.service_accounts_per_org;
        let sql = "SELECT count(*) FROM service_accounts WHERE org_id = $1";
        if !at_most(pool, sql, &[org], 1, l).await? {
            return Err(exceeded(
                "service_accounts_per_org",
                l,
                "service accounts per organization",
            ));
        }
        Ok(())
    }

    pub async fn check_api_keys(&self, pool: &PgPool, org: &str) -> Result<(), QuotaError> {
        let l = self.api_keys_per_org;
        let sql = "SELECT count(*) FROM api_keys WHERE org_id = $1";
        if !at_most(pool, sql, &[org], 1, l).await? {
            return Err(exceeded("apikeys_per_org", l, "API keys per organization"));
        }
        Ok(())
    }

    /// Before a connector is added to `cluster`.
    pub async fn check_connectors(
        &self,
        pool: &PgPool,
        org: &str,
        cluster: &str,
    ) -> Result<(), QuotaError> {
        let l = self.connectors_per_cluster;
        let sql = "SELECT count(*) FROM connectors WHERE org_id = $1 AND cluster_id = $2";
        if !at_most(pool, sql, &[org, cluster], 1, l).await? {
            return Err(exceeded(
                "connectors_per_cluster",
                l,
                "connectors per cluster",
            ));
        }
        Ok(())
    }

    /// Before connectors asking for `adding` more tasks are created (or a
    /// connector's `tasks.max` grows by `adding`). Counts each connector's
    /// `tasks.max` (1 when unset or not a number).
    pub async fn check_tasks(
        &self,
        pool: &PgPool,
        org: &str,
        adding: i64,
    ) -> Result<(), QuotaError> {
        let l = self.tasks_per_org;
        let sql = "SELECT COALESCE(sum(CASE WHEN config->>'tasks.max' ~ '^[0-9]{1,6}$'
                                            THEN (config->>'tasks.max')::bigint ELSE 1 END), 0)::bigint
                   FROM connectors WHERE org_id = $1";
        if !at_most(pool, sql, &[org], adding.max(0), l).await? {
            return Err(exceeded(
                "tasks_per_org",
                l,
                "connector tasks per organization",
            ));
        }
        Ok(())
    }
}
