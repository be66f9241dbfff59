//! Step: workers past their lease are dead. Their tasks are released (they
//! will be placed again under a new epoch) and the workers forgotten.

use sqlx::{Postgres, Transaction};

use crate::store::{tasks, workers};

/// Returns how many workers expired.
pub async fn run(tx: &mut Transaction<'_, Postgres>) -> Result<u64, sqlx::Error> {
    let dead = workers::lock_expired(tx).await?;
    if dead.is_empty() {
        return Ok(0);
    }
    tasks::release_expired(tx, &dead).await?;
    let n = workers::delete(tx, &dead).await?;
    tracing::warn!(workers = ?dead, "worker leases expired; their tasks move");
    Ok(n)
}
