//! Store health, as this replica sees it: a short probe every
//! [`PROBE_INTERVAL`] flips [`StoreHealth`] down within a second of the
//! store going away, so the API answers 503 at once instead of waiting on
//! the pool (see `api::store_gate`), `/ready` turns unready and the
//! reconciler pauses. When the store answers again, the outage is credited
//! to the worker leases ([`super::workers::credit_outage`]) *before* the
//! replica serves again: no heartbeat or pass may see a lease that lapsed
//! only because nobody could renew it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::watch;
use tokio::time::Instant;

/// How often the store is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// A probe slower than this counts as a failure (the pool's own acquire
/// timeout is 10 s).
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
/// What `Retry-After` says while the store is down, in seconds.
pub const RETRY_AFTER_SECS: u32 = 1;

/// Whether the store answers. Starts up: a replica only starts once it
/// has connected and migrated.
#[derive(Debug)]
pub struct StoreHealth {
    up: watch::Sender<bool>,
}

impl Default for StoreHealth {
    fn default() -> Self {
        StoreHealth {
            up: watch::channel(true).0,
        }
    }
}

impl StoreHealth {
    pub fn new() -> Arc<StoreHealth> {
        Arc::new(StoreHealth::default())
    }

    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Resolves once the store is (or goes) down.
    pub async fn down(&self) {
        let mut rx = self.up.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|up| !*up).await;
    }

    fn set(&self, up: bool) {
        self.up.send_if_modified(|v| std::mem::replace(v, up) != up);
    }

    /// Probes until `shutdown` flips.
    pub async fn monitor(self: Arc<Self>, pool: PgPool, mut shutdown: watch::Receiver<bool>) {
        let mut last_healthy = Instant::now();
        // The probe's own connection: a pool busy with slow requests (say, writers
        // queued on one row's lock) must not read as a lost store.
        let mut conn: Option<PgConnection> = None;
        while !*shutdown.borrow() {
            tokio::select! {
                _ = tokio::time::sleep(PROBE_INTERVAL) => {}
                _ = shutdown.changed() => continue,
            }
            let started = Instant::now();
            let probe = tokio::time::timeout(PROBE_TIMEOUT, probe(&mut conn, &pool)).await;
            if !matches!(probe, Ok(Ok(()))) {
                // Whatever state it was left in, the next probe connects afresh.
                conn = None;
            }
            match probe {
                Ok(Ok(())) => {
                    if !self.is_up() {
                        // Everything since the last good probe did not count against leases.
                        let outage = last_healthy.elapsed();
                        let credit = tokio::time::timeout(
                            PROBE_TIMEOUT,
                            super::workers::credit_outage(&pool, outage),
                        )
                        .await;
                        match credit {
                            Ok(Ok(c)) => {
                                tracing::warn!(
                                    outage_ms = outage.as_millis() as u64,
                                    credited_ms = (c.credited_secs * 1000.0) as u64,
                                    leases = c.leases,
                                    "store answers again; the outage was credited to worker leases"
                                );
                                self.set(true);
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "store answers but crediting the outage failed; still unavailable");
                                continue;
                            }
                            Err(_) => {
                                tracing::warn!("crediting the outage timed out; still unavailable");
                                continue;
                            }
                        }
                    }
                    last_healthy = started;
                }
                Ok(Err(e)) => self.went_down(&e.to_string()),
                Err(_) => self.went_down(&format!("no answer within {PROBE_TIMEOUT:?}")),
            }
        }
    }

    fn went_down(&self, why: &str) {
        if self.is_up() {
            tracing::error!(
                error = why,
                "store unavailable: answering 503 and keeping workers' tasks until it returns"
            );
            self.set(false);
        }
    }
}

/// One probe over the monitor's own connection, opened when there is none.
async fn probe(conn: &mut Option<PgConnection>, pool: &PgPool) -> Result<(), sqlx::Error> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(PgConnection::connect_with(&pool.connect_options()).await?),
    };
    sqlx::query("SELECT 1").execute(&mut *c).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn down_resolves_when_the_store_goes_down() {
        let h = StoreHealth::new();
        assert!(h.is_up());
        let waiter = {
            let h = Arc::clone(&h);
            tokio::spawn(async move { h.down().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        h.went_down("test");
        assert!(!h.is_up());
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        h.set(true);
        assert!(h.is_up());
    }
}
