//! Worker providers: the seam to whatever runs data-plane workers. The
//! reconciler decides how many workers and which to remove; a provider only
//! starts and stops them.

pub mod process;
pub mod static_pool;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("cannot start worker {worker}: {source}")]
    Spawn {
        worker: String,
        source: std::io::Error,
    },
    #[error("worker binary {0} not found; build the workspace or set TRIBUTARY_WORKER_BINARY")]
    MissingBinary(String),
}

#[async_trait]
pub trait WorkerProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Whether this provider starts and stops workers (false: operator-managed).
    fn elastic(&self) -> bool;
    /// The workers started by this provider that are still running, with
    /// when each was started.
    async fn running(&self) -> Vec<(String, std::time::Instant)>;
    /// Workers whose process has ended since the last call: they are dead
    /// for sure, so their tasks can move without waiting for the lease.
    async fn take_exited(&self) -> Vec<String>;
    /// Starts `n` more workers; returns their ids.
    async fn start(&self, n: u32) -> Result<Vec<String>, ProviderError>;
    /// Asks one worker to stop (gracefully: it stops its tasks and exits).
    async fn stop(&self, worker_id: &str);
    /// Stops every worker (control-plane shutdown).
    async fn shutdown(&self);
}
