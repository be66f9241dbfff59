//! `process`: data-plane workers as child processes of the control plane, so
//! one machine runs the whole service. Children get SIGTERM when the control
//! plane dies (PR_SET_PDEATHSIG), so no orphan keeps running tasks.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::distributions::{Alphanumeric, DistString};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

use super::{ProviderError, RunningWorker, WorkerProvider};

pub struct ProcessSettings {
    pub binary: PathBuf,
    pub control_plane_url: String,
    pub worker_token: String,
    pub capacity: u32,
    pub log_dir: Option<PathBuf>,
    /// The egress policy workers re-check at task start (`TRIBUTARY_EGRESS_ALLOW`).
    pub egress_allow: String,
}

pub struct ProcessProvider {
    settings: ProcessSettings,
    children: Mutex<HashMap<String, Spawned>>,
    exited: Mutex<Vec<String>>,
}

/// One child: the process, its pool, and when it was started.
struct Spawned {
    child: Child,
    pool: Option<String>,
    started: Instant,
}

/// How long a stopping worker gets to stop its tasks before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);

impl ProcessProvider {
    pub fn new(settings: ProcessSettings) -> Result<ProcessProvider, ProviderError> {
        if !settings.binary.is_file() {
            return Err(ProviderError::MissingBinary(
                settings.binary.display().to_string(),
            ));
        }
        Ok(ProcessProvider {
            settings,
            children: Mutex::new(HashMap::new()),
            exited: Mutex::new(Vec::new()),
        })
    }

    fn spawn(&self, id: &str, pool: Option<&str>) -> Result<Child, ProviderError> {
        let s = &self.settings;
        let mut cmd = Command::new(&s.binary);
        cmd.arg("worker")
            .env("TRIBUTARY_CONTROL_PLANE_URL", &s.control_plane_url)
            .env("TRIBUTARY_WORKER_ID", id)
            .env("TRIBUTARY_WORKER_TOKEN", &s.worker_token)
            .env("TRIBUTARY_WORKER_CAPACITY", s.capacity.to_string())
            .env("TRIBUTARY_EGRESS_ALLOW", &s.egress_allow)
            .env_remove("TRIBUTARY_WORKER_POOL")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if let Some(pool) = pool {
            cmd.env("TRIBUTARY_WORKER_POOL", pool);
        }
        let io_err = |source| ProviderError::Spawn {
            worker: id.to_string(),
            source,
        };
        if let Some(dir) = &s.log_dir {
            std::fs::create_dir_all(dir).map_err(io_err)?;
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("worker-{id}.log")))
                .map_err(io_err)?;
            let err = log.try_clone().map_err(io_err)?;
            cmd.stdout(log).stderr(err);
        }
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        cmd.spawn().map_err(io_err)
    }
}

#[async_trait]
impl WorkerProvider for ProcessProvider {
    fn name(&self) -> &'static str {
        "process"
    }

    fn elastic(&self) -> bool {
        true
    }

    async fn running(&self) -> Vec<RunningWorker> {
        let mut children = self.children.lock().await;
        let mut gone = Vec::new();
        children.retain(|id, Spawned { child, .. }| match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                tracing::warn!(worker = %id, %status, "worker process exited");
                gone.push(id.clone());
                false
            }
            Err(_) => {
                gone.push(id.clone());
                false
            }
        });
        self.exited.lock().await.extend(gone);
        let mut ids: Vec<RunningWorker> = children
            .iter()
            .map(|(id, s)| RunningWorker {
                id: id.clone(),
                pool: s.pool.clone(),
                started: s.started,
            })
            .collect();
        ids.sort_by(|a, b| a.id.cmp(&b.id));
        ids
    }

    async fn take_exited(&self) -> Vec<String> {
        std::mem::take(&mut *self.exited.lock().await)
    }

    async fn start(&self, pool: Option<&str>, n: u32) -> Result<Vec<String>, ProviderError> {
        let mut started = Vec::new();
        for _ in 0..n {
            let id = format!(
                "w-{}",
                Alphanumeric
                    .sample_string(&mut rand::thread_rng(), 8)
                    .to_ascii_lowercase()
            );
            let child = self.spawn(&id, pool)?;
            tracing::info!(worker = %id, pid = child.id(), pool = pool.unwrap_or("shared"), "worker process started");
            self.children.lock().await.insert(
                id.clone(),
                Spawned {
                    child,
                    pool: pool.map(str::to_string),
                    started: Instant::now(),
                },
            );
            started.push(id);
        }
        Ok(started)
    }

    async fn stop(&self, worker_id: &str) {
        let Some(Spawned { mut child, .. }) = self.children.lock().await.remove(worker_id) else {
            return;
        };
        let id = worker_id.to_string();
        // Wait in the background so the reconciler is never blocked by a slow exit.
        tokio::spawn(async move {
            terminate(&id, &mut child).await;
        });
    }

    async fn shutdown(&self) {
        let children: Vec<(String, Child)> = self
            .children
            .lock()
            .await
            .drain()
            .map(|(id, s)| (id, s.child))
            .collect();
        let waits = children.into_iter().map(|(id, mut child)| async move {
            terminate(&id, &mut child).await;
        });
        futures::future::join_all(waits).await;
    }
}

/// SIGTERM, then SIGKILL after the grace period.
async fn terminate(id: &str, child: &mut Child) {
    if let Some(pid) = child.id() {
        // SAFETY: plain syscall on our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(Ok(status)) => tracing::info!(worker = %id, %status, "worker process stopped"),
        _ => {
            tracing::warn!(worker = %id, "worker did not stop in time; killing it");
            let _ = child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in worker binary that records its environment and waits.
    fn fake_worker(dir: &std::path::Path) -> PathBuf {
        let path = dir.join("fake-worker");
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\nenv | grep '^TRIBUTARY_WORKER_' | sort > {}/env-$TRIBUTARY_WORKER_ID.tmp\n\
                 mv {0}/env-$TRIBUTARY_WORKER_ID.tmp {0}/env-$TRIBUTARY_WORKER_ID\nexec sleep 30\n",
                dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    async fn env_of(dir: &std::path::Path, id: &str) -> String {
        let file = dir.join(format!("env-{id}"));
        for _ in 0..100 {
            if let Ok(s) = std::fs::read_to_string(&file) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("worker {id} did not start");
    }

    #[tokio::test]
    async fn pool_workers_get_their_pool_and_shared_ones_none() {
        let dir = std::env::temp_dir().join(format!("tributary-process-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let provider = ProcessProvider::new(ProcessSettings {
            binary: fake_worker(&dir),
            control_plane_url: "http://127.0.0.1:1".into(),
            worker_token: "t".into(),
            capacity: 4,
            log_dir: None,
            egress_allow: String::new(),
        })
        .unwrap();
        let acme = provider.start(Some("acme"), 1).await.unwrap();
        let shared = provider.start(None, 1).await.unwrap();
        let acme_env = env_of(&dir, &acme[0]).await;
        let shared_env = env_of(&dir, &shared[0]).await;
        assert!(
            acme_env.contains("TRIBUTARY_WORKER_POOL=acme\n"),
            "{acme_env}"
        );
        assert!(
            !shared_env.contains("TRIBUTARY_WORKER_POOL"),
            "{shared_env}"
        );
        let running = provider.running().await;
        let pool_of = |id: &str| running.iter().find(|w| w.id == id).unwrap().pool.clone();
        assert_eq!(pool_of(&acme[0]), Some("acme".to_string()));
        assert_eq!(pool_of(&shared[0]), None);
        provider.shutdown().await;
        assert!(provider.running().await.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
