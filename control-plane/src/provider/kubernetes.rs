//! `kubernetes`: workers are the pods of a Deployment, scaled through its
//! `scale` subresource (`apps/v1`). A worker's id is its pod name (the pod
//! template passes `metadata.name` as `TRIBUTARY_WORKER_ID` through the
//! downward API).
//!
//! * **start**: `GET …/deployments/{name}/scale`, then a merge `PATCH` of
//!   `spec.replicas` (conditioned on the `resourceVersion` just read, so a
//!   concurrent change is a 409 and the read is retried).
//! * **stop**: the victim pod gets the lowest
//!   `controller.kubernetes.io/pod-deletion-cost`, replicas are lowered by
//!   one (so the ReplicaSet removes that pod and does not replace it), and
//!   the pod is deleted (in case the ReplicaSet picked another one).
//! * **running**: the pods matching the label selector that are not being
//!   deleted; pods the ReplicaSet has yet to create (replicas above the
//!   visible pods) count as starting placeholders so a pass that runs before
//!   they appear does not scale up twice.
//! * **take_exited**: pods seen before that disappeared or failed.
//!
//! Worker pools: the shared pool is the configured Deployment; a dedicated
//! pool `p` is the Deployment `{deployment}-{p}` (created by the operator,
//! see `deploy/kubernetes/`), whose pods carry the label `tributary.io/pool: p`
//! (the shared pool's pods: `shared` or no such label).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::Client;
use serde_json::json;
use tokio::sync::Mutex;

use super::{ProviderError, RunningWorker, WorkerProvider};

/// The pod label naming a worker's pool (absent or `shared`: the shared pool).
pub const POOL_LABEL: &str = "tributary.io/pool";
/// The shared pool's name in labels and placeholder ids (never a pool's name).
const SHARED: &str = "shared";
/// The annotation the ReplicaSet controller ranks pods by on scale-down.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
/// The lowest possible cost: removed first.
const VICTIM_COST: &str = "-2147483648";
/// How long a read of a Deployment's replicas is trusted before it is read again.
const REPLICAS_TTL: Duration = Duration::from_secs(30);
/// Reads and writes of the scale subresource retried after a 409.
const CONFLICT_RETRIES: usize = 3;
/// Ids of replicas asked for whose pod does not exist yet.
const PLACEHOLDER_PREFIX: &str = "pending/";
/// Bound on one API call, so a hung API server never stalls the reconciler.
const API_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct KubernetesSettings {
    /// Namespace of the worker Deployments and pods.
    pub namespace: String,
    /// The shared pool's Deployment.
    pub deployment: String,
    /// Label selector matching the worker pods of every pool.
    pub selector: String,
}

pub struct KubernetesProvider {
    settings: KubernetesSettings,
    deployments: Api<Deployment>,
    pods: Api<Pod>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Pods of the last successful list (terminating ones included), with their pool.
    known: HashMap<String, Option<String>>,
    /// Pods that disappeared or failed since the last `take_exited`.
    exited: Vec<String>,
    /// `spec.replicas` of each pool's Deployment as last read or written, and when.
    replicas: HashMap<Option<String>, (i32, Instant)>,
    /// The last answer of `running`, repeated while the API cannot be reached.
    last: Vec<RunningWorker>,
}

impl KubernetesProvider {
    /// Connects with the in-cluster service account, or `KUBECONFIG` /
    /// `~/.kube/config` outside a cluster. An empty namespace means the
    /// configuration's default (in a cluster: the control plane's own).
    pub async fn connect(mut settings: KubernetesSettings) -> Result<Self, ProviderError> {
        let mut config = kube::Config::infer()
            .await
            .map_err(|e| ProviderError::KubernetesConfig(e.to_string()))?;
        config.read_timeout = Some(API_TIMEOUT);
        config.write_timeout = Some(API_TIMEOUT);
        if settings.namespace.is_empty() {
            settings.namespace = config.default_namespace.clone();
        }
        let client = Client::try_from(config)?;
        Ok(Self::new(client, settings))
    }

    /// A provider on an existing client (tests pass a mock service).
    pub fn new(client: Client, settings: KubernetesSettings) -> Self {
        KubernetesProvider {
            deployments: Api::namespaced(client.clone(), &settings.namespace),
            pods: Api::namespaced(client, &settings.namespace),
            settings,
            state: Mutex::new(State::default()),
        }
    }

    /// The Deployment that runs `pool`.
    pub fn deployment_for(&self, pool: Option<&str>) -> String {
        match pool {
            None => self.settings.deployment.clone(),
            Some(p) => format!("{}-{p}", self.settings.deployment),
        }
    }

    /// Reads the Deployment's replicas and writes `change(replicas)`,
    /// retrying when someone else changed them in between. Returns the
    /// replicas now asked for.
    async fn rescale(&self, name: &str, change: impl Fn(i32) -> i32) -> Result<i32, kube::Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let scale = self.deployments.get_scale(name).await?;
            let current = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let target = change(current).max(0);
            if target == current {
                return Ok(current);
            }
            let mut patch = json!({"spec": {"replicas": target}});
            if let Some(rv) = scale.metadata.resource_version {
                patch["metadata"] = json!({ "resourceVersion": rv });
            }
            match self
                .deployments
                .patch_scale(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    tracing::info!(
                        deployment = name,
                        from = current,
                        to = target,
                        "deployment scaled"
                    );
                    return Ok(target);
                }
                Err(e) if is_status(&e, 409) && attempt < CONFLICT_RETRIES => {
                    tracing::debug!(
                        deployment = name,
                        "scale changed meanwhile; reading it again"
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn rescale_pool(
        &self,
        pool: Option<&str>,
        change: impl Fn(i32) -> i32,
    ) -> Result<i32, kube::Error> {
        let replicas = self.rescale(&self.deployment_for(pool), change).await?;
        self.state
            .lock()
            .await
            .replicas
            .insert(pool.map(str::to_string), (replicas, Instant::now()));
        Ok(replicas)
    }

    /// The replicas of each pool's Deployment, read again when stale. A
    /// Deployment that cannot be read counts as zero replicas.
    async fn replicas(
        &self,
        pools: impl Iterator<Item = Option<String>>,
    ) -> BTreeMap<Option<String>, i32> {
        let mut out = BTreeMap::new();
        for pool in pools {
            let cached = self.state.lock().await.replicas.get(&pool).copied();
            let n = match cached {
                Some((n, at)) if at.elapsed() < REPLICAS_TTL => n,
                _ => {
                    let name = self.deployment_for(pool.as_deref());
                    let n = match self.deployments.get_scale(&name).await {
                        Ok(s) => s.spec.and_then(|s| s.replicas).unwrap_or(0),
                        Err(e) => {
                            tracing::warn!(deployment = %name, error = %e, "cannot read the worker deployment's scale");
                            0
                        }
                    };
                    self.state
                        .lock()
                        .await
                        .replicas
                        .insert(pool.clone(), (n, Instant::now()));
                    n
                }
            };
            out.insert(pool, n);
        }
        out
    }

    /// Stops one pod: lowest deletion cost, one replica fewer, then delete.
    async fn stop_pod(&self, name: &str) -> Result<(), kube::Error> {
        let cost = json!({"metadata": {"annotations": {DELETION_COST: VICTIM_COST}}});
        let pod = match self
            .pods
            .patch(name, &PatchParams::default(), &Patch::Merge(&cost))
            .await
        {
            Ok(pod) => pod,
            // Already gone: nothing to remove, and the replicas are someone else's count now.
            Err(e) if is_status(&e, 404) => return Ok(()),
            Err(e) => return Err(e),
        };
        if pod.metadata.deletion_timestamp.is_some() {
            return Ok(());
        }
        let pool = pool_of(&pod);
        self.rescale_pool(pool.as_deref(), |r| r - 1).await?;
        match self.pods.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(
            pod = name,
            pool = pool.as_deref().unwrap_or("shared"),
            "worker pod stopped"
        );
        Ok(())
    }
}

fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

fn pool_of(pod: &Pod) -> Option<String> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(POOL_LABEL))
        .filter(|p| !p.is_empty() && *p != SHARED)
        .cloned()
}

/// When the pod's worker process started: its container's start, else the
/// pod's; a pod still pending counts as starting now (it cannot register yet).
fn started_at(pod: &Pod, now: Instant) -> Instant {
    let status = pod.status.as_ref();
    if matches!(
        status.and_then(|s| s.phase.as_deref()),
        None | Some("Pending")
    ) {
        return now;
    }
    let container = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| {
            cs.iter()
                .filter_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
                .max()
        });
    let Some(t) = container.or_else(|| status.and_then(|s| s.start_time.as_ref())) else {
        return now;
    };
    let age = k8s_openapi::jiff::Timestamp::now().duration_since(t.0);
    match Duration::try_from(age) {
        Ok(age) => now.checked_sub(age).unwrap_or(now),
        Err(_) => now, // in the future: clock skew
    }
}

fn placeholder(pool: &Option<String>, k: i32) -> String {
    format!(
        "{PLACEHOLDER_PREFIX}{}/{k}",
        pool.as_deref().unwrap_or(SHARED)
    )
}

/// The pool of a placeholder id, `None` for a pod name.
fn placeholder_pool(id: &str) -> Option<Option<&str>> {
    let rest = id.strip_prefix(PLACEHOLDER_PREFIX)?;
    let pool = rest.split('/').next()?;
    Some((pool != SHARED).then_some(pool))
}

#[async_trait]
impl WorkerProvider for KubernetesProvider {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn elastic(&self) -> bool {
        true
    }

    async fn running(&self) -> Vec<RunningWorker> {
        let list = match self
            .pods
            .list(&ListParams::default().labels(&self.settings.selector))
            .await
        {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list worker pods; assuming nothing changed");
                return self.state.lock().await.last.clone();
            }
        };
        let now = Instant::now();
        let mut seen = HashMap::new();
        let mut running = Vec::new();
        for pod in &list.items {
            let Some(name) = pod.metadata.name.clone() else {
                continue;
            };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if matches!(phase, Some("Failed" | "Succeeded")) {
                continue; // its worker has ended: reported as exited below
            }
            let pool = pool_of(pod);
            seen.insert(name.clone(), pool.clone());
            if pod.metadata.deletion_timestamp.is_some() {
                continue; // stopping: no longer counted, not dead yet
            }
            running.push(RunningWorker {
                id: name,
                pool,
                started: started_at(pod, now),
            });
        }
        // Replicas asked for whose pods are not there yet.
        let mut visible: BTreeMap<Option<String>, i32> = BTreeMap::new();
        for w in &running {
            *visible.entry(w.pool.clone()).or_default() += 1;
        }
        let pools: Vec<Option<String>> = {
            let state = self.state.lock().await;
            let mut pools: Vec<Option<String>> = std::iter::once(None)
                .chain(visible.keys().cloned())
                .chain(state.replicas.keys().cloned())
                .collect();
            pools.sort();
            pools.dedup();
            pools
        };
        for (pool, replicas) in self.replicas(pools.into_iter()).await {
            let have = visible.get(&pool).copied().unwrap_or(0);
            for k in have..replicas {
                running.push(RunningWorker {
                    id: placeholder(&pool, k),
                    pool: pool.clone(),
                    started: now,
                });
            }
        }
        running.sort_by(|a, b| a.id.cmp(&b.id));
        let mut state = self.state.lock().await;
        let gone: Vec<String> = state
            .known
            .keys()
            .filter(|name| !seen.contains_key(*name))
            .cloned()
            .collect();
        for name in &gone {
            tracing::warn!(pod = %name, "worker pod gone");
        }
        state.exited.extend(gone);
        state.known = seen;
        state.last = running.clone();
        running
    }

    async fn take_exited(&self) -> Vec<String> {
        std::mem::take(&mut self.state.lock().await.exited)
    }

    /// Raises the pool's Deployment by `n` replicas. The pods' names are
    /// not known yet: they show up in `running` (as placeholders until the
    /// ReplicaSet has created them).
    async fn start(&self, pool: Option<&str>, n: u32) -> Result<Vec<String>, ProviderError> {
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        self.rescale_pool(pool, |r| r.saturating_add(n)).await?;
        Ok(Vec::new())
    }

    async fn stop(&self, worker_id: &str) {
        let result = match placeholder_pool(worker_id) {
            // Not created yet: one replica fewer is all it takes.
            Some(pool) => self.rescale_pool(pool, |r| r - 1).await.map(|_| ()),
            None => self.stop_pod(worker_id).await,
        };
        if let Err(e) = result {
            tracing::error!(worker = worker_id, error = %e, "cannot stop worker pod");
        }
    }

    /// Worker pods outlive the control plane: the next leader takes them over.
    async fn shutdown(&self) {}
}

#[cfg(test)]
mod tests;
