//! Clean-up beside the reconciler, outside its fenced pass: forgets expired
//! idempotency keys. Runs on every replica; deleting what has expired is
//! harmless when two replicas do it.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::store::idempotency;

/// How often: keys are kept for a day, so a minute late is no matter.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Runs until `shutdown` flips, once at start and then every `interval`.
pub async fn run(pool: PgPool, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match idempotency::delete_expired(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(keys = n, "expired idempotency keys deleted"),
            Err(e) => tracing::warn!(error = %e, "idempotency key clean-up failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}
