//! The reconciler leader's lock and epoch (see `reconciler::leader`): a
//! session advisory lock held on a dedicated connection, and an epoch row
//! that every scheduling pass checks inside its transaction.

use sqlx::{PgConnection, Postgres, Transaction};

const LEADER_LOCK: i64 = 0x7472_6962_0002;

/// Takes the leader lock for this session; false when another holds it.
pub async fn try_lock(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(conn)
        .await
}

/// Gives the leader lock of this session back.
pub async fn unlock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(LEADER_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records `holder` as leader under a new epoch, and returns it.
pub async fn next_epoch(conn: &mut PgConnection, holder: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO reconciler_leader (id, epoch, holder) VALUES (1, 1, $1)
         ON CONFLICT (id) DO UPDATE SET epoch = reconciler_leader.epoch + 1, holder = $1, acquired_at = now()
         RETURNING epoch",
    )
    .bind(holder)
    .fetch_one(conn)
    .await
}

/// The leader's epoch, share-locked until the end of the transaction, so no
/// new leader takes over while it runs.
pub async fn current_epoch(tx: &mut Transaction<'_, Postgres>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT epoch FROM reconciler_leader WHERE id = 1 FOR SHARE")
        .fetch_optional(&mut **tx)
        .await
}
