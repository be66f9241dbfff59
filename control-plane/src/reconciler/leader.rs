//! Reconciler leadership: a Postgres session advisory lock held on a
//! dedicated connection, plus an epoch row that every scheduling pass checks
//! inside its transaction, so a deposed leader's writes change nothing.

use sqlx::{Connection, PgConnection, PgPool, Postgres};

const LEADER_LOCK: i64 = 0x7472_6962_0002;

pub struct Leadership {
    /// Detached from the pool: dropping it closes the session and frees the lock.
    conn: PgConnection,
    pub epoch: i64,
}

/// Tries to become leader; `None` when another replica holds the lock.
pub async fn try_acquire(pool: &PgPool, holder: &str) -> Result<Option<Leadership>, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if !got {
        return Ok(None);
    }
    let epoch: i64 = sqlx::query_scalar(
        "INSERT INTO reconciler_leader (id, epoch, holder) VALUES (1, 1, $1)
         ON CONFLICT (id) DO UPDATE SET epoch = reconciler_leader.epoch + 1, holder = $1, acquired_at = now()
         RETURNING epoch",
    )
    .bind(holder)
    .fetch_one(&mut conn)
    .await?;
    Ok(Some(Leadership { conn, epoch }))
}

impl Leadership {
    /// Is the session that holds the lock still alive?
    pub async fn alive(&mut self) -> bool {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&mut self.conn)
            .await
            .is_ok()
    }

    /// Gives the lock back and closes the session.
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LEADER_LOCK)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// Inside a scheduling transaction: true when `epoch` is still the leader's.
pub async fn still_leader(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    epoch: i64,
) -> Result<bool, sqlx::Error> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT epoch FROM reconciler_leader WHERE id = 1 FOR SHARE")
            .fetch_optional(&mut **tx)
            .await?;
    Ok(current == Some(epoch))
}
