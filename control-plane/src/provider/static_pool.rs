//! `static`: the operator runs the workers; Tributary only assigns tasks to
//! whichever workers register.

use async_trait::async_trait;

use super::{ProviderError, RunningWorker, WorkerProvider};

pub struct StaticPool;

#[async_trait]
impl WorkerProvider for StaticPool {
    fn name(&self) -> &'static str {
        "static"
    }
    fn elastic(&self) -> bool {
        false
    }
    async fn running(&self) -> Vec<RunningWorker> {
        Vec::new()
    }
    async fn take_exited(&self) -> Vec<String> {
        Vec::new()
    }
    async fn start(&self, _pool: Option<&str>, _n: u32) -> Result<Vec<String>, ProviderError> {
        Ok(Vec::new())
    }
    async fn stop(&self, _worker_id: &str) {}
    async fn shutdown(&self) {}
}
