//! First start: the operator's organization, a default environment, an
//! OrganizationAdmin service account with a cloud API key, and the local
//! Kafka cluster registered in that environment.

use sqlx::PgPool;

use crate::auth::api_keys::hash_secret;
use crate::error::ApiError;
use crate::ids;

pub struct BootstrapSettings<'a> {
    pub kafka_bootstrap: &'a str,
    pub api_key: Option<&'a str>,
    pub api_secret: Option<&'a str>,
}

/// What bootstrap did; `generated_secret` is set only when a key was made up
/// here and must be shown to the operator once.
#[derive(Debug)]
pub struct BootstrapOutcome {
    pub org_id: String,
    pub created: bool,
    pub api_key: Option<String>,
    pub generated_secret: Option<String>,
}

/// Serialises concurrent first starts of several replicas.
const BOOTSTRAP_LOCK: i64 = 0x7472_6962_0001;

pub async fn run(pool: &PgPool, s: BootstrapSettings<'_>) -> Result<BootstrapOutcome, ApiError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(BOOTSTRAP_LOCK)
        .execute(&mut *tx)
        .await?;
    let existing: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT o.id, (SELECT regexp_replace(principal, '^User:', '') FROM role_bindings b WHERE b.org_id = o.id
                         AND b.role_name = 'OrganizationAdmin' ORDER BY created_at LIMIT 1)
         FROM organizations o WHERE o.operator",
    )
    .fetch_optional(&mut *tx)
    .await?;

    let (org_id, admin, created) = match existing {
        Some((org, Some(admin))) => (org, admin, false),
        Some((org, None)) => {
            let admin = create_admin(&mut tx, &org).await?;
            (org, admin, false)
        }
        None => {
            let org = ids::organization();
            sqlx::query("INSERT INTO organizations (id, display_name, operator) VALUES ($1, 'default', true)")
                .bind(&org)
                .execute(&mut *tx)
                .await?;
            let env = ids::environment();
            sqlx::query(
                "INSERT INTO environments (id, org_id, display_name) VALUES ($1, $2, 'default')",
            )
            .bind(&env)
            .bind(&org)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO kafka_clusters (id, org_id, environment_id, display_name, bootstrap_endpoint)
                 VALUES ($1, $2, $3, 'local', $4)",
            )
            .bind(ids::cluster())
            .bind(&org)
            .bind(&env)
            .bind(s.kafka_bootstrap)
            .execute(&mut *tx)
            .await?;
            let admin = create_admin(&mut tx, &org).await?;
            (org, admin, true)
        }
    };

    // A key given by the operator is ensured to exist; otherwise one is
    // generated, but only when the organization was just created.
    let mut outcome = BootstrapOutcome {
        org_id: org_id.clone(),
        created,
        api_key: None,
        generated_secret: None,
    };
    let wanted = match (s.api_key, s.api_secret) {
        (Some(k), Some(sec)) if !k.is_empty() && !sec.is_empty() => {
            Some((k.to_string(), sec.to_string(), false))
        }
        _ if created => Some((ids::api_key(), ids::api_secret(), true)),
        _ => None,
    };
    if let Some((key, secret, generated)) = wanted {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)")
                .bind(&key)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            let hash = hash_secret(&secret)?;
            sqlx::query(
                "INSERT INTO api_keys (id, org_id, owner_id, secret_hash, display_name, description)
                 VALUES ($1, $2, $3, $4, 'bootstrap', 'OrganizationAdmin key created on first start')",
            )
            .bind(&key)
            .bind(&org_id)
            .bind(&admin)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        }
        outcome.api_key = Some(key);
        if generated {
            outcome.generated_secret = Some(secret);
        }
    }
    tx.commit().await?;
    Ok(outcome)
}

async fn create_admin(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    org: &str,
) -> Result<String, ApiError> {
    let sa = ids::service_account();
    sqlx::query(
        "INSERT INTO service_accounts (id, org_id, display_name, description)
         VALUES ($1, $2, 'bootstrap-admin', 'Organization administrator created on first start')",
    )
    .bind(&sa)
    .bind(org)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO role_bindings (id, org_id, principal, role_name, crn_pattern)
         VALUES ($1, $2, $3, 'OrganizationAdmin', $4)",
    )
    .bind(ids::role_binding())
    .bind(org)
    .bind(format!("User:{sa}"))
    .bind(format!("crn://confluent.cloud/organization={org}"))
    .execute(&mut **tx)
    .await?;
    Ok(sa)
}
