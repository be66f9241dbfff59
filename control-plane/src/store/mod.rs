//! Postgres access. Every tenant-facing query takes the caller's
//! organization and filters on it in SQL, so a forgotten check cannot leak
//! another tenant's rows.

pub mod audit;
pub mod connectors;
pub mod health;
pub mod iam;
pub mod idempotency;
pub mod leadership;
pub mod metrics;
pub mod offsets;
pub mod ops;
pub mod schemas;
pub mod tasks;
pub mod tenancy;
pub mod topics;
pub mod workers;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// The channel API writes and worker changes notify; the reconciler listens.
pub const RECONCILE_CHANNEL: &str = "tributary_reconcile";
/// The channel that says some worker's assignment may have changed; held
/// heartbeats (long polls) listen on every replica.
pub const ASSIGNMENTS_CHANNEL: &str = "tributary_assignments";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to Postgres at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Connects to Postgres, creating the database when it does not exist yet
/// (so a fresh machine needs no manual `createdb`).
pub async fn connect(url: &str) -> Result<PgPool, StoreError> {
    let opts: PgConnectOptions = url.parse().map_err(|e| StoreError::Connect {
        url: redact(url),
        source: e,
    })?;
    let pool_opts = || {
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
    };
    match pool_opts().connect_with(opts.clone()).await {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let db = opts.get_database().unwrap_or("tributary").to_string();
            let admin = pool_opts()
                .max_connections(1)
                .connect_with(opts.clone().database("postgres"))
                .await
                .map_err(|e| StoreError::Connect {
                    url: redact(url),
                    source: e,
                })?;
            let create = format!("CREATE DATABASE \"{}\"", db.replace('"', "\"\""));
            if let Err(e) = sqlx::query(&create).execute(&admin).await {
                // Another replica may have created it meanwhile.
                tracing::debug!(error = %e, "create database");
            }
            pool_opts()
                .connect_with(opts)
                .await
                .map_err(|e| StoreError::Connect {
                    url: redact(url),
                    source: e,
                })
        }
        Err(e) => Err(StoreError::Connect {
            url: redact(url),
            source: e,
        }),
    }
}

pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::migrate!("../migrations").run(pool).await?;
    Ok(())
}

/// Whether the database answers (readiness, a leader's session).
pub async fn ping(exec: impl sqlx::PgExecutor<'_>) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(exec)
        .await?;
    Ok(())
}

/// Wakes the reconciler (on every replica; only the leader acts).
pub async fn notify_reconciler<'e, E>(exec: E, reason: &str) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    // API writes (target state, restarts, deletes) change assignments directly.
    sqlx::query("SELECT pg_notify($1, $3), pg_notify($2, $3)")
        .bind(RECONCILE_CHANNEL)
        .bind(ASSIGNMENTS_CHANNEL)
        .bind(reason)
        .execute(exec)
        .await?;
    Ok(())
}

/// Wakes held heartbeats after the reconciler changed assignments.
pub async fn notify_assignments<'e, E>(exec: E) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query("SELECT pg_notify($1, 'changed')")
        .bind(ASSIGNMENTS_CHANNEL)
        .execute(exec)
        .await?;
    Ok(())
}

/// Hides the password of a connection URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
