//! What a deleted connector leaves outside Tributary and the control plane
//! removes, since workers never see deletes: a `PostgresCdcSourceV2`'s
//! replication slot (which would hold WAL on the tenant's database forever)
//! and the publication it named itself.
//!
//! Runs in the background after the delete has committed, retrying while
//! the slot is still read (the worker's task takes a moment to stop), and
//! leaves the slot alone when another connector now uses it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::types::Json;
use sqlx::PgPool;
use tributary_data_plane::connectors::egress::EgressPolicy;
use tributary_data_plane::connectors::{self as plugins, postgres_cdc, TaskError};

use crate::secrets::SecretBox;
use crate::store::connectors::{ConfigMap, Connector};

/// Pauses before each attempt: the first lets the worker stop the task.
const DELAYS: &[u64] = &[1, 2, 4, 8, 15, 15, 15, 15, 15, 15];

/// Starts the clean-up of a connector that was just deleted, if its plugin
/// needs one.
pub fn after_delete(
    pool: &PgPool,
    secrets: &SecretBox,
    egress: &Arc<EgressPolicy>,
    connector: &Connector,
) {
    if plugins::find(&connector.class).map(|p| p.class()) != Some(postgres_cdc::CLASS) {
        return;
    }
    let mut config = connector.config.0.clone();
    crate::connector_secrets::open_secrets(&mut config, secrets);
    let pool = pool.clone();
    let egress = Arc::clone(egress);
    let id = connector.id.clone();
    tokio::spawn(async move {
        let slot = postgres_cdc::settings::slot_name(&config);
        match drop_cdc_slot(&pool, &egress, &id, &config).await {
            Ok(()) => {
                tracing::info!(connector = %id, %slot, "replication slot of the deleted connector dropped")
            }
            Err(e) => {
                tracing::warn!(connector = %id, %slot, error = %e, "the deleted connector's replication slot was not dropped; drop it on the source database")
            }
        }
    });
}

async fn drop_cdc_slot(
    pool: &PgPool,
    egress: &EgressPolicy,
    connector_id: &str,
    config: &ConfigMap,
) -> Result<(), String> {
    // The control plane connects to the tenant's host only where a worker may.
    if let Some(plugin) = plugins::find(postgres_cdc::CLASS) {
        if let Some(e) = egress.check_config(plugin, config).await.first() {
            return Err(format!("refused by the egress policy: {e}"));
        }
    }
    // Done once a look finds no slot right after one that dropped it (or
    // found none): a task still starting when the connector was deleted
    // could create it again in between.
    let mut gone = false;
    let mut last_error = String::from("not tried");
    for delay in DELAYS {
        tokio::time::sleep(Duration::from_secs(*delay)).await;
        if used_by_another(pool, connector_id, config).await {
            tracing::info!(connector = %connector_id, "another connector uses the same replication slot; it stays");
            return Ok(());
        }
        match postgres_cdc::release(config).await {
            Ok(r) if gone && !r.slot_dropped => return Ok(()),
            Ok(_) => gone = true,
            Err(TaskError::Fatal(e)) => return Err(e),
            Err(TaskError::Retriable(e)) => {
                tracing::debug!(connector = %connector_id, error = %e, "replication slot not dropped yet; retrying");
                gone = false;
                last_error = e;
            }
        }
    }
    if gone {
        Ok(())
    } else {
        Err(last_error)
    }
}

/// Whether a connector other than the deleted one reads the same slot on
/// the same database (e.g. one created again under the same name).
async fn used_by_another(pool: &PgPool, connector_id: &str, config: &ConfigMap) -> bool {
    let others: Vec<(String, Json<ConfigMap>)> =
        match sqlx::query_as("SELECT id, config FROM connectors WHERE class = $1 AND id <> $2")
            .bind(postgres_cdc::CLASS)
            .bind(connector_id)
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            // Unsure: keep the slot rather than break a connector.
            Err(_) => return true,
        };
    let target = |c: &ConfigMap| {
        (
            postgres_cdc::settings::slot_name(c),
            c.get("database.hostname")
                .map(|h| h.trim().to_ascii_lowercase()),
            c.get("database.port")
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
            c.get("database.dbname").map(|d| d.trim().to_string()),
        )
    };
    let mine = target(config);
    others.iter().any(|(_, c)| target(c) == mine)
}
