//! The clean-up hook: a deleted connector's replication slot would hold WAL
//! on the tenant's database forever, so it is dropped, and the publication
//! too when the connector named it itself.
//!
//! Runs in the background after the delete has committed, retrying while
//! the slot is still read (the worker's task takes a moment to stop), and
//! leaves the slot alone when another connector now uses it.

use std::time::Duration;

use super::{catalog, settings, CdcSettings, PostgresCdcSource};
use crate::connectors::{CleanupError, Config, DeletedConnector, TaskError};

/// Pauses before each attempt: the first lets the worker stop the task.
const DELAYS: &[u64] = &[1, 2, 4, 8, 15, 15, 15, 15, 15, 15];

/// What [`release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The slot existed and was dropped.
    pub slot_dropped: bool,
    /// The publication was ours (derived name) and was dropped.
    pub publication_dropped: bool,
}

/// [`ConnectorPlugin::on_delete`](crate::connectors::ConnectorPlugin::on_delete)
/// of the CDC source.
pub async fn on_delete(
    plugin: &PostgresCdcSource,
    connector: &dyn DeletedConnector,
) -> Result<Option<String>, CleanupError> {
    let slot = settings::slot_name(connector.config());
    match drop_slot(plugin, connector).await {
        Ok(true) => Ok(Some(format!("replication slot {slot} dropped"))),
        Ok(false) => Ok(Some(format!(
            "replication slot {slot} kept: another connector uses it"
        ))),
        Err(e) => Err(CleanupError(format!(
            "replication slot {slot} not dropped ({e}); drop it on the source database"
        ))),
    }
}

/// `Ok(false)`: another connector uses the slot, which stays.
async fn drop_slot(
    plugin: &PostgresCdcSource,
    connector: &dyn DeletedConnector,
) -> Result<bool, String> {
    let config = connector.config();
    // The control plane connects to the tenant's host only where a worker may.
    if let Some(e) = connector
        .egress()
        .check_config(plugin, config)
        .await
        .first()
    {
        return Err(format!("refused by the egress policy: {e}"));
    }
    // Done once a look finds no slot right after one that dropped it (or
    // found none): a task still starting when the connector was deleted
    // could create it again in between.
    let mut gone = false;
    let mut last_error = String::from("not tried");
    for delay in DELAYS {
        tokio::time::sleep(Duration::from_secs(*delay)).await;
        if used_by_another(connector).await {
            return Ok(false);
        }
        match release(config).await {
            Ok(r) if gone && !r.slot_dropped => return Ok(true),
            Ok(_) => gone = true,
            Err(TaskError::Fatal(e)) => return Err(e),
            Err(TaskError::Retriable(e)) => {
                tracing::debug!(connector = %connector.id(), error = %e, "replication slot not dropped yet; retrying");
                gone = false;
                last_error = e;
            }
        }
    }
    if gone {
        Ok(true)
    } else {
        Err(last_error)
    }
}

/// Whether another connector reads the same slot on the same database
/// (e.g. one created again under the same name).
async fn used_by_another(connector: &dyn DeletedConnector) -> bool {
    let others = match connector.others().await {
        Ok(others) => others,
        // Unsure: keep the slot rather than break a connector.
        Err(_) => return true,
    };
    let target = |c: &Config| {
        (
            settings::slot_name(c),
            c.get("database.hostname")
                .map(|h| h.trim().to_ascii_lowercase()),
            c.get("database.port")
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
            c.get("database.dbname").map(|d| d.trim().to_string()),
        )
    };
    let mine = target(connector.config());
    others.iter().any(|c| target(c) == mine)
}

/// Drops a deleted connector's replication slot, and its publication when
/// the connector named it itself. Fails (retriably) while a session still
/// reads the slot, e.g. the task is still stopping.
pub async fn release(config: &Config) -> Result<Released, TaskError> {
    let s = CdcSettings::parse(config)
        .map_err(|e| TaskError::Fatal(format!("invalid PostgresCdcSourceV2 config: {e}")))?;
    let mut conn = catalog::connect(&s).await?;
    let result = release_on(&mut conn, &s).await;
    catalog::close(conn).await;
    result
}

async fn release_on(conn: &mut sqlx::PgConnection, s: &CdcSettings) -> Result<Released, TaskError> {
    let mut out = Released {
        slot_dropped: false,
        publication_dropped: false,
    };
    if let Some(info) = catalog::slot(conn, &s.slot).await? {
        if let Some(pid) = info.active_pid {
            return Err(TaskError::Retriable(format!(
                "replication slot {} is still in use by process {pid}",
                s.slot
            )));
        }
        out.slot_dropped = catalog::drop_slot(conn, &s.slot).await?;
    }
    if s.publication_is_default && s.autocreate != settings::AutocreateMode::Disabled {
        catalog::drop_publication(conn, &s.publication).await?;
        out.publication_dropped = true;
    }
    Ok(out)
}
