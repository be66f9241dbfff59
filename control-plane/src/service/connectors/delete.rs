//! Deleting a connector: its tasks stop, its config and offsets go, and
//! what it leaves outside Tributary is cleaned up in the background.

use super::{precondition, Admitted, ConnectorService, Expected, Result, ServiceError};
use crate::store::connectors as store;
use crate::store::notify_reconciler;

impl ConnectorService {
    /// Deletes connector `name` (at the expected version, if one is given).
    pub async fn delete(
        &self,
        at: &Admitted<'_>,
        name: &str,
        expected: Option<&Expected>,
    ) -> Result<()> {
        let cluster = &at.cluster().id;
        let mut tx = self.pool.begin().await?;
        let current = store::lock(&mut tx, at.org_id(), cluster, name)
            .await?
            .ok_or_else(|| ServiceError::connector_not_found(name))?;
        precondition::check(expected, Some(&current))?;
        store::delete(&mut tx, at.org_id(), cluster, name).await?;
        notify_reconciler(&mut *tx, "connector deleted").await?;
        tx.commit().await?;
        crate::cleanup::after_delete(&self.pool, &self.secrets, &self.egress, &current);
        tracing::info!(name = %name, cluster = %cluster, "connector deleted");
        Ok(())
    }
}
