//! The reconciler: desired state → tasks → assignments → worker count.
//! One replica leads at a time; every pass runs in one transaction fenced
//! by the leader epoch. Wake-ups come from `LISTEN/NOTIFY`; a periodic tick
//! is the safety net. Each step of a pass has a file of its own and works
//! through the store; `assign` and `scale` are the pure decisions two of
//! them take.

pub mod apply_offsets;
pub mod assign;
pub mod autoscale;
pub mod expand;
pub mod expire_leases;
pub mod housekeeping;
pub mod leader;
pub mod place;
pub mod restart_failed;
pub mod scale;

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::provider::WorkerProvider;
use crate::store::health::StoreHealth;
use crate::store::RECONCILE_CHANNEL;
use autoscale::{AutoscaleSettings, Autoscaler};

/// How long one campaign for leadership may take.
const CAMPAIGN_TIMEOUT: Duration = Duration::from_secs(1);

pub struct ReconcilerSettings {
    pub holder: String,
    pub interval: Duration,
    pub worker_capacity: u32,
    pub max_workers: u32,
    pub scale_down_cooldown: Duration,
    /// Worker lease length: a started worker that holds no lease after this long is replaced.
    pub worker_lease: Duration,
    /// First automatic restart delay of a failed task; doubles per attempt.
    pub restart_backoff: Duration,
    /// Cap of that delay.
    pub restart_backoff_max: Duration,
}

pub struct Reconciler {
    pool: PgPool,
    /// Opens registered clusters' credentials for offset changes.
    secrets: Arc<crate::secrets::SecretBox>,
    settings: ReconcilerSettings,
    autoscaler: Autoscaler,
    /// The reconciler pauses while the store is down; the outage is credited
    /// to the leases before the store counts as up again.
    store_health: Arc<StoreHealth>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("leadership lost")]
    Deposed,
    /// The store went down (or has not been credited the outage yet):
    /// nothing may be expired or moved.
    #[error("store unavailable")]
    StoreUnavailable,
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub expired_workers: u64,
    pub expanded_connectors: usize,
    pub moved_tasks: usize,
    pub total_weight: u64,
    pub restarted_tasks: u64,
}

impl Reconciler {
    pub fn new(
        pool: PgPool,
        secrets: Arc<crate::secrets::SecretBox>,
        provider: Arc<dyn WorkerProvider>,
        settings: ReconcilerSettings,
    ) -> Reconciler {
        let autoscaler = Autoscaler::new(
            provider,
            AutoscaleSettings {
                worker_capacity: settings.worker_capacity,
                max_workers: settings.max_workers,
                scale_down_cooldown: settings.scale_down_cooldown,
                worker_lease: settings.worker_lease,
            },
        );
        Reconciler {
            pool,
            secrets,
            settings,
            autoscaler,
            store_health: StoreHealth::new(),
        }
    }

    /// Pauses while `health` says the store is down, so the first pass after
    /// an outage sees the leases with the outage credited.
    pub fn with_store_health(mut self, health: Arc<StoreHealth>) -> Reconciler {
        self.store_health = health;
        self
    }

    /// Runs until `shutdown` flips: campaigns for leadership, then reconciles
    /// on every notification and tick while leader.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut listener = match self.listen().await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; reconciling on the tick only");
                None
            }
        };
        let mut leadership: Option<leader::Leadership> = None;
        // After a store outage the leader of before campaigns first and the
        // others hold back this long, so leadership (and the workers its
        // provider runs) stays where it was.
        let grace = self.settings.interval * 2 + Duration::from_secs(1);
        let mut campaign_after = tokio::time::Instant::now();
        // This replica held the lock last it knew (until another is seen holding it).
        let mut led_last = false;
        while !*shutdown.borrow() {
            if !self.store_health.is_up() {
                // A leader's lock session dies with the store: it steps down
                // below when it finds its session gone, and campaigns again.
                if !led_last {
                    campaign_after = tokio::time::Instant::now() + grace;
                }
                self.wait(&mut listener, &mut shutdown).await;
                continue;
            }
            let campaign = led_last || tokio::time::Instant::now() >= campaign_after;
            if leadership.is_none() && campaign {
                // Bounded: a campaign must not sit in the pool's acquire
                // through an outage and win the lock the moment it ends.
                let attempt = tokio::time::timeout(
                    CAMPAIGN_TIMEOUT,
                    leader::try_acquire(&self.pool, &self.settings.holder),
                )
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut));
                match attempt {
                    Ok(Some(l)) => {
                        tracing::info!(epoch = l.epoch, holder = %self.settings.holder, "reconciler leadership acquired");
                        leadership = Some(l);
                        led_last = true;
                    }
                    Ok(None) => led_last = false,
                    Err(e) => tracing::warn!(error = %e, "leader election failed"),
                }
            }
            if let Some(l) = leadership.as_mut() {
                let epoch = l.epoch;
                let ok = l.alive().await;
                let outcome = if ok {
                    self.pass(epoch).await
                } else {
                    Err(ReconcileError::Deposed)
                };
                match outcome {
                    Ok(report) if report != PassReport::default() => {
                        tracing::debug!(?report, "reconcile pass")
                    }
                    Ok(_) => {}
                    Err(ReconcileError::Deposed) => {
                        tracing::warn!(epoch, "lost reconciler leadership; stepping down");
                        if let Some(l) = leadership.take() {
                            l.release().await;
                        }
                        // Its session may have died with a store outage: campaign
                        // again at once (`led_last`), before the others' grace runs out.
                        continue;
                    }
                    Err(e) => tracing::warn!(error = %e, "reconcile pass failed"),
                }
            }
            self.wait(&mut listener, &mut shutdown).await;
        }
        if let Some(l) = leadership.take() {
            l.release().await;
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut l = PgListener::connect_with(&self.pool).await?;
        l.listen(RECONCILE_CHANNEL).await?;
        Ok(l)
    }

    /// Sleeps until a notification, the tick, or shutdown. Bursts of
    /// notifications are coalesced into one pass.
    async fn wait(&self, listener: &mut Option<PgListener>, shutdown: &mut watch::Receiver<bool>) {
        let tick = tokio::time::sleep(self.settings.interval);
        tokio::select! {
            _ = tick => {}
            _ = shutdown.changed() => {}
            n = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            } => {
                if let Err(e) = n {
                    tracing::warn!(error = %e, "notification listener failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if let Some(l) = listener.as_mut() {
                        while l.next_buffered().is_some() {}
                    }
                }
            }
        }
    }

    /// One reconcile pass, fenced by `epoch`: the steps in order.
    pub async fn pass(&mut self, epoch: i64) -> Result<PassReport, ReconcileError> {
        let mut report = PassReport::default();
        let mut tx = self.pool.begin().await?;
        // `begin` may have waited out an outage: only once this replica has
        // credited it to the leases may anything expire.
        if !self.store_health.is_up() {
            return Err(ReconcileError::StoreUnavailable);
        }
        if !leader::still_leader(&mut tx, epoch).await? {
            return Err(ReconcileError::Deposed);
        }
        report.expired_workers = expire_leases::run(&mut tx).await?;
        report.expanded_connectors = expand::run(&mut tx).await?;
        let (moved, weights) = place::run(&mut tx).await?;
        report.moved_tasks = moved;
        report.total_weight = weights.values().sum();
        report.restarted_tasks = restart_failed::run(
            &mut tx,
            self.settings.restart_backoff,
            self.settings.restart_backoff_max,
        )
        .await?;
        if report.moved_tasks > 0
            || report.expanded_connectors > 0
            || report.restarted_tasks > 0
            || report.expired_workers > 0
        {
            crate::store::notify_assignments(&mut *tx).await?;
        }
        tx.commit().await?;
        apply_offsets::run(&self.pool, &self.secrets).await?;
        if self.autoscaler.elastic() {
            self.autoscaler.run(&self.pool, &weights).await?;
        }
        Ok(report)
    }
}
