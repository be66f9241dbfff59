//! Step: failed tasks restart on their own with capped exponential
//! backoff, unless the connector says `auto.restart.on.user.error=false` or
//! is not meant to run. The schedule is visible in the task status until it
//! fires; attempts reset once a task has run for a minute.

use std::time::Duration;

use sqlx::{Postgres, Transaction};

use crate::store::tasks;

/// `base` is the first delay, doubled per attempt up to `max`. Returns how
/// many tasks restarted.
pub async fn run(
    tx: &mut Transaction<'_, Postgres>,
    base: Duration,
    max: Duration,
) -> Result<u64, sqlx::Error> {
    tasks::schedule_restarts(tx, base, max).await?;
    let restarted = tasks::restart_due(tx).await?;
    if restarted > 0 {
        tracing::info!(tasks = restarted, "failed tasks restarted automatically");
    }
    tasks::reset_restart_attempts(tx).await?;
    Ok(restarted)
}
