//! Step: splits connectors whose tasks lag behind their generation into
//! task configs (through their plugin); stopped connectors, and those with
//! a pending offset request, have no tasks.

use sqlx::{Postgres, Transaction};
use tributary_data_plane::connectors as plugins;

use crate::store::{connectors, tasks};

/// Returns how many connectors were split.
pub async fn run(tx: &mut Transaction<'_, Postgres>) -> Result<usize, sqlx::Error> {
    tasks::delete_idle(tx).await?;
    let unsplit = connectors::lock_unsplit(tx).await?;
    for c in &unsplit {
        let Some(plugin) = plugins::find(&c.class) else {
            tracing::error!(connector = %c.id, class = %c.class, "no plugin for connector class");
            continue;
        };
        let task_configs = plugin.task_configs(&c.config, plugins::max_tasks(&c.config));
        tasks::replace(tx, &c.id, c.generation, &task_configs).await?;
        tracing::info!(connector = %c.id, generation = c.generation, tasks = task_configs.len(), "connector split into tasks");
    }
    Ok(unsplit.len())
}
