//! Reconciler leadership: a Postgres session advisory lock held on a
//! dedicated connection, plus an epoch row that every scheduling pass checks
//! inside its transaction, so a deposed leader's writes change nothing.

use sqlx::{Connection, PgConnection, PgPool, Postgres};

use crate::store::{self, leadership};

pub struct Leadership {
    /// Detached from the pool: dropping it closes the session and frees the lock.
    conn: PgConnection,
    pub epoch: i64,
}

/// Tries to become leader; `None` when another replica holds the lock.
pub async fn try_acquire(pool: &PgPool, holder: &str) -> Result<Option<Leadership>, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    if !leadership::try_lock(&mut conn).await? {
        return Ok(None);
    }
    let epoch = leadership::next_epoch(&mut conn, holder).await?;
    Ok(Some(Leadership { conn, epoch }))
}

impl Leadership {
    /// Is the session that holds the lock still alive? A session that does
    /// not answer within the store probe's timeout counts as dead: after a
    /// store outage the lock is gone with it, and the leader steps down
    /// rather than act beside whoever takes the lock next.
    pub async fn alive(&mut self) -> bool {
        let ping = store::ping(&mut self.conn);
        matches!(
            tokio::time::timeout(store::health::PROBE_TIMEOUT, ping).await,
            Ok(Ok(()))
        )
    }

    /// Gives the lock back and closes the session.
    pub async fn release(mut self) {
        let _ = leadership::unlock(&mut self.conn).await;
        let _ = self.conn.close().await;
    }
}

/// Inside a scheduling transaction: true when `epoch` is still the leader's.
pub async fn still_leader(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    epoch: i64,
) -> Result<bool, sqlx::Error> {
    Ok(leadership::current_epoch(tx).await? == Some(epoch))
}
