//! What a plugin's clean-up hook ([`ConnectorPlugin::on_delete`]) is told
//! about the connector that was deleted. The control plane implements it;
//! plugins name no table of the control plane's store.

use async_trait::async_trait;

use super::egress::EgressPolicy;
use super::Config;

#[cfg(doc)]
use super::ConnectorPlugin;

/// A connector that was just deleted.
#[async_trait]
pub trait DeletedConnector: Send + Sync {
    /// Its name, for logs.
    fn id(&self) -> &str;
    /// Its config, secrets opened.
    fn config(&self) -> &Config;
    /// Where the hook may connect: only where a worker may.
    fn egress(&self) -> &EgressPolicy;
    /// The configs, as stored, of the other connectors of the same class,
    /// looked up afresh at each call (one may have been created since, e.g.
    /// under the same name). Secrets stay sealed.
    async fn others(&self) -> Result<Vec<Config>, CleanupError>;
}

/// Why a clean-up did not (entirely) happen; the message says what is left
/// to remove by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CleanupError(pub String);
