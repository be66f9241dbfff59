//! Step: starts or stops workers through the provider to follow the load,
//! each worker pool on its own, as the pure [`Scaler`] decides. Runs after
//! the fenced transaction, only with an elastic provider.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::place::PoolWeights;
use super::scale::{self, Decision, Scaler};
use crate::provider::WorkerProvider;
use crate::store::{self, workers};

fn pool_name(pool: &Option<String>) -> &str {
    pool.as_deref().unwrap_or("shared")
}

/// How workers are sized.
pub struct AutoscaleSettings {
    pub worker_capacity: u32,
    pub max_workers: u32,
    pub scale_down_cooldown: Duration,
    /// Worker lease length: a started worker that holds no lease after this long is replaced.
    pub worker_lease: Duration,
}

pub struct Autoscaler {
    provider: Arc<dyn WorkerProvider>,
    settings: AutoscaleSettings,
    /// One per worker pool (`None`: the shared pool).
    scalers: HashMap<Option<String>, Scaler>,
}

impl Autoscaler {
    pub fn new(provider: Arc<dyn WorkerProvider>, settings: AutoscaleSettings) -> Autoscaler {
        Autoscaler {
            provider,
            settings,
            scalers: HashMap::new(),
        }
    }

    /// Whether the provider can start and stop workers at all.
    pub fn elastic(&self) -> bool {
        self.provider.elastic()
    }

    /// Starts or stops workers to follow the load, each pool on its own.
    pub async fn run(&mut self, db: &PgPool, weights: &PoolWeights) -> Result<(), sqlx::Error> {
        // A worker whose process ended is dead for sure: its tasks move now
        // instead of when its lease would run out.
        let exited = self.provider.take_exited().await;
        if !exited.is_empty() {
            workers::expire_now(db, &exited).await?;
            notify_draining(db).await?;
        }
        let children = self.provider.running().await;
        let ids: Vec<String> = children.iter().map(|w| w.id.clone()).collect();
        let live = workers::leased(db, &ids).await?;
        // A process that neither holds a lease nor is still starting has lost
        // its lease (hung, stopped, partitioned): replace it.
        let mut running: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
        for w in children {
            if live.contains(&w.id) || w.started.elapsed() < self.settings.worker_lease {
                running.entry(w.pool).or_default().push(w.id);
            } else {
                tracing::warn!(worker = %w.id, "worker process holds no lease; replacing it");
                self.provider.stop(&w.id).await;
            }
        }
        let pools: BTreeSet<Option<String>> =
            weights.keys().chain(running.keys()).cloned().collect();
        for pool in &pools {
            let members = running.get(pool).map(Vec::as_slice).unwrap_or_default();
            let weight = weights.get(pool).copied().unwrap_or(0);
            self.scale_pool(db, pool, weight, members).await?;
        }
        // A pool with neither load nor workers starts afresh next time.
        self.scalers.retain(|p, _| pools.contains(p));
        // Workers marked for draining (now or in an earlier pass) go once empty.
        let all: Vec<String> = running.into_values().flatten().collect();
        self.stop_drained(db, &all).await
    }

    /// Sizes one pool: `running` are its workers, `weight` its tasks' weight.
    async fn scale_pool(
        &mut self,
        db: &PgPool,
        pool: &Option<String>,
        weight: u64,
        running: &[String],
    ) -> Result<(), sqlx::Error> {
        let current = running.len() as u32;
        let capacity = self.settings.worker_capacity;
        let needed = scale::workers_needed(weight, capacity, self.settings.max_workers);
        let cooldown = self.settings.scale_down_cooldown;
        let scaler = self
            .scalers
            .entry(pool.clone())
            .or_insert_with(|| Scaler::new(cooldown));
        match scaler.decide(current, needed, Instant::now()) {
            Decision::Hold => {}
            Decision::Up(target) => {
                workers::set_draining(db, running, false).await?;
                let reason = format!(
                    "{weight} task weight units need {target} worker(s) of capacity {capacity}"
                );
                // Recorded once the provider took it: a pool whose workers
                // cannot start (e.g. no Deployment for it) is retried every
                // pass and would fill the table otherwise.
                match self.provider.start(pool.as_deref(), target - current).await {
                    Ok(_) => record(db, pool, current, target, &reason).await?,
                    Err(e) => {
                        tracing::error!(error = %e, pool = pool_name(pool), "cannot start workers")
                    }
                }
            }
            Decision::Down(target) => {
                let surplus = (current - target) as usize;
                // Drain the least loaded workers; they stop once their tasks have moved.
                let victims = workers::least_loaded(db, running, surplus).await?;
                // Started but never registered workers count as surplus too.
                let unregistered: Vec<String> = {
                    let known = workers::registered(db, running).await?;
                    running
                        .iter()
                        .filter(|id| !known.contains(id))
                        .cloned()
                        .collect()
                };
                if !victims.is_empty() {
                    workers::set_draining(db, &victims, true).await?;
                    notify_draining(db).await?;
                }
                let reason = format!(
                    "{weight} task weight units need {target} worker(s) of capacity {capacity} after cooldown"
                );
                record(db, pool, current, target, &reason).await?;
                for id in unregistered
                    .iter()
                    .take(surplus.saturating_sub(victims.len()))
                {
                    self.provider.stop(id).await;
                }
            }
        }
        Ok(())
    }

    /// Stops draining workers that no longer hold tasks.
    async fn stop_drained(&self, db: &PgPool, running: &[String]) -> Result<(), sqlx::Error> {
        for id in workers::delete_drained(db, running).await? {
            tracing::info!(worker = %id, "stopping drained worker");
            self.provider.stop(&id).await;
        }
        Ok(())
    }
}

async fn record(
    db: &PgPool,
    pool: &Option<String>,
    from: u32,
    to: u32,
    reason: &str,
) -> Result<(), sqlx::Error> {
    tracing::info!(pool = pool_name(pool), from, to, reason, "scaling workers");
    workers::record_scaling(db, pool.as_deref(), from, to, reason).await
}

async fn notify_draining(db: &PgPool) -> Result<(), sqlx::Error> {
    store::notify_reconciler(db, "draining").await
}
