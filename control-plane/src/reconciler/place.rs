//! Step: places tasks on workers, as the pure [`assign::plan`] says, and
//! measures the load of each worker pool for scaling.

use std::collections::BTreeMap;

use sqlx::{Postgres, Transaction};

use super::assign::{self, TaskSlot, WorkerSlot};
use crate::store::{tasks, workers};

/// Task weight per worker pool (`None`: the shared pool).
pub type PoolWeights = BTreeMap<Option<String>, u64>;

/// Returns how many tasks moved, and the weight of each pool's tasks.
pub async fn run(tx: &mut Transaction<'_, Postgres>) -> Result<(usize, PoolWeights), sqlx::Error> {
    let worker_slots: Vec<WorkerSlot> = workers::capacities(tx)
        .await?
        .into_iter()
        .map(|w| WorkerSlot {
            id: w.id,
            capacity: w.capacity.max(0) as u32,
            draining: w.draining,
            pool: w.pool,
        })
        .collect();
    // A task runs in its organization's dedicated pool, if it has one.
    let task_slots: Vec<TaskSlot> = tasks::lock_placements(tx)
        .await?
        .into_iter()
        .map(|t| TaskSlot {
            connector_id: t.connector_id,
            task_id: t.task_id,
            worker: t.worker_id,
            weight: t.weight.max(1) as u32,
            pool: t.pool,
        })
        .collect();
    let mut weights = PoolWeights::new();
    for t in &task_slots {
        *weights.entry(t.pool.clone()).or_default() += u64::from(t.weight);
    }
    let moves = assign::plan(&worker_slots, &task_slots);
    for m in &moves {
        let t = &task_slots[m.index];
        tasks::assign(tx, &t.connector_id, t.task_id, m.worker.as_deref()).await?;
        tracing::info!(connector = %t.connector_id, task = t.task_id, from = ?t.worker, to = ?m.worker, "task assigned");
    }
    Ok((moves.len(), weights))
}
