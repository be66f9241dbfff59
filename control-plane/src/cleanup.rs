//! What a deleted connector leaves outside Tributary, removed by its
//! plugin's clean-up hook ([`ConnectorPlugin::on_delete`]), since workers
//! never see deletes: a CDC source's replication slot, for instance, which
//! would hold WAL on the tenant's database forever.
//!
//! The hook runs in the background after the delete has committed; this
//! module gives it the connector (secrets opened), the egress policy and a
//! look at the other connectors of its class, and logs what it did.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::PgPool;
use tributary_data_plane::connectors::egress::EgressPolicy;
use tributary_data_plane::connectors::{
    self as plugins, CleanupError, Config, ConnectorPlugin, DeletedConnector,
};

use crate::secrets::SecretBox;
use crate::store::connectors::{ConfigMap, Connector};

/// Starts the clean-up of a connector that was just deleted, by its plugin.
pub fn after_delete(
    pool: &PgPool,
    secrets: &SecretBox,
    egress: &Arc<EgressPolicy>,
    connector: &Connector,
) {
    let Some(plugin) = plugins::find(&connector.class) else {
        return;
    };
    let mut config = connector.config.0.clone();
    crate::connector_secrets::open_secrets(&mut config, secrets);
    let deleted = Deleted {
        id: connector.id.clone(),
        config,
        plugin,
        egress: Arc::clone(egress),
        pool: pool.clone(),
    };
    tokio::spawn(async move {
        match plugin.on_delete(&deleted).await {
            Ok(None) => {}
            Ok(Some(done)) => {
                tracing::info!(connector = %deleted.id, class = plugin.class(), "clean-up of the deleted connector: {done}")
            }
            Err(e) => {
                tracing::warn!(connector = %deleted.id, class = plugin.class(), error = %e, "the deleted connector was not entirely cleaned up")
            }
        }
    });
}

/// The deleted connector, as its plugin's hook sees it.
struct Deleted {
    id: String,
    config: Config,
    plugin: &'static dyn ConnectorPlugin,
    egress: Arc<EgressPolicy>,
    pool: PgPool,
}

#[async_trait]
impl DeletedConnector for Deleted {
    fn id(&self) -> &str {
        &self.id
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn egress(&self) -> &EgressPolicy {
        &self.egress
    }

    async fn others(&self) -> Result<Vec<Config>, CleanupError> {
        let rows: Vec<(Json<ConfigMap>,)> =
            sqlx::query_as("SELECT config FROM connectors WHERE class = $1 AND id <> $2")
                .bind(self.plugin.class())
                .bind(&self.id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| CleanupError(format!("reading the other connectors: {e}")))?;
        Ok(rows.into_iter().map(|(config,)| config.0).collect())
    }
}
