//! The reconciler: desired state → tasks → assignments → worker count.
//! One replica leads at a time; every pass runs in one transaction fenced
//! by the leader epoch. Wake-ups come from `LISTEN/NOTIFY`; a periodic tick
//! is the safety net.

pub mod assign;
pub mod leader;
pub mod offsets;
pub mod scale;
pub mod status;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgListener;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::watch;
use tributary_data_plane::connectors as plugins;

use crate::provider::WorkerProvider;
use crate::store::connectors::ConfigMap;
use crate::store::RECONCILE_CHANNEL;
use assign::{TaskSlot, WorkerSlot};
use scale::{Decision, Scaler};

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
    provider: Arc<dyn WorkerProvider>,
    settings: ReconcilerSettings,
    /// One per worker pool (`None`: the shared pool).
    scalers: HashMap<Option<String>, Scaler>,
}

/// Task weight per worker pool (`None`: the shared pool).
type PoolWeights = BTreeMap<Option<String>, u64>;

fn pool_name(pool: &Option<String>) -> &str {
    pool.as_deref().unwrap_or("shared")
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("leadership lost")]
    Deposed,
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
        Reconciler {
            pool,
            secrets,
            provider,
            settings,
            scalers: HashMap::new(),
        }
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
        while !*shutdown.borrow() {
            if leadership.is_none() {
                match leader::try_acquire(&self.pool, &self.settings.holder).await {
                    Ok(Some(l)) => {
                        tracing::info!(epoch = l.epoch, holder = %self.settings.holder, "reconciler leadership acquired");
                        leadership = Some(l);
                    }
                    Ok(None) => {}
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

    /// One reconcile pass, fenced by `epoch`.
    pub async fn pass(&mut self, epoch: i64) -> Result<PassReport, ReconcileError> {
        let mut report = PassReport::default();
        let mut tx = self.pool.begin().await?;
        if !leader::still_leader(&mut tx, epoch).await? {
            return Err(ReconcileError::Deposed);
        }
        report.expired_workers = expire_workers(&mut tx).await?;
        report.expanded_connectors = expand(&mut tx).await?;
        let (moved, weights) = self.assign(&mut tx).await?;
        report.moved_tasks = moved;
        report.total_weight = weights.values().sum();
        report.restarted_tasks = restart_failed(
            &mut tx,
            self.settings.restart_backoff,
            self.settings.restart_backoff_max,
        )
        .await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'")
            .execute(&mut *tx)
            .await?;
        if report.moved_tasks > 0
            || report.expanded_connectors > 0
            || report.restarted_tasks > 0
            || report.expired_workers > 0
        {
            crate::store::notify_assignments(&mut *tx).await?;
        }
        tx.commit().await?;
        offsets::apply_ready(&self.pool, &self.secrets).await?;
        if self.provider.elastic() {
            self.scale(&weights).await?;
        }
        Ok(report)
    }

    async fn assign(
        &self,
        tx: &mut Transaction<'_, Postgres>,
    ) -> Result<(usize, PoolWeights), sqlx::Error> {
        let workers: Vec<(String, i32, bool, Option<String>)> =
            sqlx::query_as("SELECT id, capacity, draining, pool FROM workers ORDER BY id")
                .fetch_all(&mut **tx)
                .await?;
        // A task runs in its organization's dedicated pool, if it has one.
        // (connector, task, worker, weight, pool)
        type TaskRow = (String, i32, Option<String>, i32, Option<String>);
        let tasks: Vec<TaskRow> = sqlx::query_as(
            "SELECT t.connector_id, t.task_id, t.worker_id, t.weight, o.dedicated_pool
             FROM tasks t JOIN connectors c ON c.id = t.connector_id
               JOIN organizations o ON o.id = c.org_id
             ORDER BY t.connector_id, t.task_id FOR UPDATE OF t",
        )
        .fetch_all(&mut **tx)
        .await?;
        let worker_slots: Vec<WorkerSlot> = workers
            .into_iter()
            .map(|(id, capacity, draining, pool)| WorkerSlot {
                id,
                capacity: capacity.max(0) as u32,
                draining,
                pool,
            })
            .collect();
        let task_slots: Vec<TaskSlot> = tasks
            .into_iter()
            .map(|(connector_id, task_id, worker, weight, pool)| TaskSlot {
                connector_id,
                task_id,
                worker,
                weight: weight.max(1) as u32,
                pool,
            })
            .collect();
        let mut weights = PoolWeights::new();
        for t in &task_slots {
            *weights.entry(t.pool.clone()).or_default() += u64::from(t.weight);
        }
        let moves = assign::plan(&worker_slots, &task_slots);
        for m in &moves {
            let t = &task_slots[m.index];
            sqlx::query(
                "UPDATE tasks SET worker_id = $3, epoch = nextval('task_epochs'), state = 'UNASSIGNED',
                        trace = '', state_updated_at = now()
                 WHERE connector_id = $1 AND task_id = $2",
            )
            .bind(&t.connector_id)
            .bind(t.task_id)
            .bind(&m.worker)
            .execute(&mut **tx)
            .await?;
            tracing::info!(connector = %t.connector_id, task = t.task_id, from = ?t.worker, to = ?m.worker, "task assigned");
        }
        Ok((moves.len(), weights))
    }

    /// Starts or stops workers to follow the load, each pool on its own.
    async fn scale(&mut self, weights: &PoolWeights) -> Result<(), sqlx::Error> {
        // A worker whose process ended is dead for sure: its tasks move now
        // instead of when its lease would run out.
        let exited = self.provider.take_exited().await;
        if !exited.is_empty() {
            sqlx::query(
                "UPDATE workers SET lease_expires_at = now() - interval '1 millisecond' WHERE id = ANY($1)",
            )
            .bind(&exited)
            .execute(&self.pool)
            .await?;
            store_notify(&self.pool).await?;
        }
        let children = self.provider.running().await;
        let ids: Vec<&str> = children.iter().map(|w| w.id.as_str()).collect();
        let live: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM workers WHERE id = ANY($1) AND lease_expires_at > now()",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
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
            self.scale_pool(pool, weight, members).await?;
        }
        // A pool with neither load nor workers starts afresh next time.
        self.scalers.retain(|p, _| pools.contains(p));
        // Workers marked for draining (now or in an earlier pass) go once empty.
        let all: Vec<String> = running.into_values().flatten().collect();
        self.stop_drained(&all).await
    }

    /// Sizes one pool: `running` are its workers, `weight` its tasks' weight.
    async fn scale_pool(
        &mut self,
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
                sqlx::query("UPDATE workers SET draining = false WHERE draining AND id = ANY($1)")
                    .bind(running)
                    .execute(&self.pool)
                    .await?;
                let reason = format!(
                    "{weight} task weight units need {target} worker(s) of capacity {capacity}"
                );
                // Recorded once the provider took it: a pool whose workers
                // cannot start (e.g. no Deployment for it) is retried every
                // pass and would fill the table otherwise.
                match self.provider.start(pool.as_deref(), target - current).await {
                    Ok(_) => self.record(pool, current, target, &reason).await?,
                    Err(e) => {
                        tracing::error!(error = %e, pool = pool_name(pool), "cannot start workers")
                    }
                }
            }
            Decision::Down(target) => {
                let surplus = (current - target) as usize;
                // Drain the least loaded workers; they stop once their tasks have moved.
                let victims: Vec<String> = sqlx::query_scalar(
                    "SELECT w.id FROM workers w LEFT JOIN tasks t ON t.worker_id = w.id
                     WHERE w.id = ANY($1) GROUP BY w.id ORDER BY count(t.task_id), w.id LIMIT $2",
                )
                .bind(running)
                .bind(surplus as i64)
                .fetch_all(&self.pool)
                .await?;
                // Started but never registered workers count as surplus too.
                let unregistered: Vec<String> = {
                    let known: Vec<String> =
                        sqlx::query_scalar("SELECT id FROM workers WHERE id = ANY($1)")
                            .bind(running)
                            .fetch_all(&self.pool)
                            .await?;
                    running
                        .iter()
                        .filter(|id| !known.contains(id))
                        .cloned()
                        .collect()
                };
                if !victims.is_empty() {
                    sqlx::query("UPDATE workers SET draining = true WHERE id = ANY($1)")
                        .bind(&victims)
                        .execute(&self.pool)
                        .await?;
                    store_notify(&self.pool).await?;
                }
                let reason = format!(
                    "{weight} task weight units need {target} worker(s) of capacity {capacity} after cooldown"
                );
                self.record(pool, current, target, &reason).await?;
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
    async fn stop_drained(&self, running: &[String]) -> Result<(), sqlx::Error> {
        let empty: Vec<String> = sqlx::query_scalar(
            "DELETE FROM workers w WHERE w.draining AND w.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.worker_id = w.id)
             RETURNING w.id",
        )
        .bind(running)
        .fetch_all(&self.pool)
        .await?;
        for id in empty {
            tracing::info!(worker = %id, "stopping drained worker");
            self.provider.stop(&id).await;
        }
        Ok(())
    }

    async fn record(
        &self,
        pool: &Option<String>,
        from: u32,
        to: u32,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        tracing::info!(pool = pool_name(pool), from, to, reason, "scaling workers");
        sqlx::query(
            "INSERT INTO scaling_events (from_count, to_count, reason, pool) VALUES ($1, $2, $3, $4)",
        )
        .bind(from as i32)
        .bind(to as i32)
        .bind(reason)
        .bind(pool)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

async fn store_notify(pool: &PgPool) -> Result<(), sqlx::Error> {
    crate::store::notify_reconciler(pool, "draining").await
}

/// Workers past their lease are dead: their tasks are released (they will
/// be reassigned under a new epoch) and the workers forgotten.
async fn expire_workers(tx: &mut Transaction<'_, Postgres>) -> Result<u64, sqlx::Error> {
    let dead: Vec<String> =
        sqlx::query_scalar("SELECT id FROM workers WHERE lease_expires_at < now() FOR UPDATE")
            .fetch_all(&mut **tx)
            .await?;
    if dead.is_empty() {
        return Ok(0);
    }
    sqlx::query(
        "UPDATE tasks SET worker_id = NULL, state = 'UNASSIGNED' WHERE worker_id = ANY($1)",
    )
    .bind(&dead)
    .execute(&mut **tx)
    .await?;
    let n = sqlx::query("DELETE FROM workers WHERE id = ANY($1)")
        .bind(&dead)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    tracing::warn!(workers = ?dead, "worker leases expired; their tasks move");
    Ok(n)
}

/// Splits connectors whose tasks lag behind their generation into task
/// configs; stopped connectors have no tasks.
async fn expand(tx: &mut Transaction<'_, Postgres>) -> Result<usize, sqlx::Error> {
    sqlx::query(
        "DELETE FROM tasks t USING connectors c WHERE t.connector_id = c.id
           AND (c.target_state = 'STOPPED'
                OR EXISTS (SELECT 1 FROM offset_requests r WHERE r.connector_id = c.id AND r.phase = 'PENDING'))",
    )
    .execute(&mut **tx)
    .await?;
    let stale: Vec<(String, String, Json<ConfigMap>, i64)> = sqlx::query_as(
        "SELECT c.id, c.class, c.config, c.generation FROM connectors c
         WHERE c.target_state <> 'STOPPED'
           AND NOT EXISTS (SELECT 1 FROM offset_requests r WHERE r.connector_id = c.id AND r.phase = 'PENDING')
           AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.connector_id = c.id AND t.generation = c.generation)
         FOR UPDATE OF c",
    )
    .fetch_all(&mut **tx)
    .await?;
    for (id, class, config, generation) in &stale {
        let Some(plugin) = plugins::find(class) else {
            tracing::error!(connector = %id, class = %class, "no plugin for connector class");
            continue;
        };
        let task_configs = plugin.task_configs(config, plugins::max_tasks(config));
        sqlx::query("DELETE FROM tasks WHERE connector_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        for (i, tc) in task_configs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO tasks (connector_id, task_id, generation, config) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(i as i32)
            .bind(generation)
            .bind(Json(tc))
            .execute(&mut **tx)
            .await?;
        }
        tracing::info!(connector = %id, generation, tasks = task_configs.len(), "connector split into tasks");
    }
    Ok(stale.len())
}

/// Failed tasks restart on their own with capped exponential backoff, unless
/// the connector says `auto.restart.on.user.error=false` or is not meant to
/// run. The schedule is visible in the task status until it fires; attempts
/// reset once a task has run for a minute.
async fn restart_failed(
    tx: &mut Transaction<'_, Postgres>,
    base: Duration,
    max: Duration,
) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE tasks t SET next_restart_at = now() + make_interval(secs =>
             LEAST($2::float8, $1::float8 * power(2, LEAST(t.restart_attempts, 30))) / 1000.0)
         FROM connectors c
         WHERE c.id = t.connector_id AND t.state = 'FAILED' AND t.next_restart_at IS NULL
           AND c.target_state = 'RUNNING'
           AND lower(COALESCE(c.config->>'auto.restart.on.user.error', 'true')) <> 'false'",
    )
    .bind(base.as_millis() as f64)
    .bind(max.as_millis() as f64)
    .execute(&mut **tx)
    .await?;
    let restarted = sqlx::query(
        "UPDATE tasks SET epoch = nextval('task_epochs'),
           state = CASE WHEN worker_id IS NULL THEN 'UNASSIGNED' ELSE 'RESTARTING' END,
           trace = '', restart_attempts = restart_attempts + 1, next_restart_at = NULL,
           state_updated_at = now()
         WHERE state = 'FAILED' AND next_restart_at <= now()",
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if restarted > 0 {
        tracing::info!(tasks = restarted, "failed tasks restarted automatically");
    }
    sqlx::query(
        "UPDATE tasks SET restart_attempts = 0
         WHERE restart_attempts > 0 AND state = 'RUNNING' AND state_updated_at < now() - interval '60 seconds'",
    )
    .execute(&mut **tx)
    .await?;
    Ok(restarted)
}
