//! Worker providers: the seam to whatever runs data-plane workers. The
//! reconciler decides how many workers and which to remove; a provider only
//! starts and stops them.
//!
//! Workers belong to a pool: the shared pool (`None`) or a dedicated pool of
//! one organization (`Some(name)`). The reconciler sizes each pool on its own.

pub mod kubernetes;
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
    #[error("kubernetes API: {0}")]
    Kubernetes(#[from] kube::Error),
    #[error("kubernetes configuration (in-cluster service account or KUBECONFIG): {0}")]
    KubernetesConfig(String),
}

/// One worker a provider runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningWorker {
    pub id: String,
    /// Its pool (`None`: the shared pool).
    pub pool: Option<String>,
    /// When it was started (a worker gets one lease length from then to register).
    pub started: std::time::Instant,
}

#[async_trait]
pub trait WorkerProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Whether this provider starts and stops workers (false: operator-managed).
    fn elastic(&self) -> bool;
    /// The workers started by this provider that are still running, with
    /// their pool and when each was started.
    async fn running(&self) -> Vec<RunningWorker>;
    /// Workers whose process has ended since the last call: they are dead
    /// for sure, so their tasks can move without waiting for the lease.
    async fn take_exited(&self) -> Vec<String>;
    /// Starts `n` more workers in `pool` (`None`: the shared pool); returns
    /// their ids where the provider knows them at once.
    async fn start(&self, pool: Option<&str>, n: u32) -> Result<Vec<String>, ProviderError>;
    /// Asks one worker to stop (gracefully: it stops its tasks and exits).
    async fn stop(&self, worker_id: &str);
    /// Control-plane shutdown: stops the workers that cannot outlive this
    /// process (child processes); workers run by an engine of their own
    /// (Kubernetes) keep running for the next leader.
    async fn shutdown(&self);
}
