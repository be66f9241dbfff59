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

use super::{ProviderError, WorkerProvider};

pub struct ProcessSettings {
    pub binary: PathBuf,
    pub control_plane_url: String,
    pub worker_token: String,
    pub capacity: u32,
    pub log_dir: Option<PathBuf>,
}

pub struct ProcessProvider {
    settings: ProcessSettings,
    children: Mutex<HashMap<String, (Child, Instant)>>,
    exited: Mutex<Vec<String>>,
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

    fn spawn(&self, id: &str) -> Result<Child, ProviderError> {
        let s = &self.settings;
        let mut cmd = Command::new(&s.binary);
        cmd.arg("worker")
            .env("TRIBUTARY_CONTROL_PLANE_URL", &s.control_plane_url)
            .env("TRIBUTARY_WORKER_ID", id)
            .env("TRIBUTARY_WORKER_TOKEN", &s.worker_token)
            .env("TRIBUTARY_WORKER_CAPACITY", s.capacity.to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true);
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

    async fn running(&self) -> Vec<(String, Instant)> {
        let mut children = self.children.lock().await;
        let mut gone = Vec::new();
        children.retain(|id, (child, _)| match child.try_wait() {
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
        let mut ids: Vec<(String, Instant)> = children
            .iter()
            .map(|(id, (_, started))| (id.clone(), *started))
            .collect();
        ids.sort();
        ids
    }

    async fn take_exited(&self) -> Vec<String> {
        std::mem::take(&mut *self.exited.lock().await)
    }

    async fn start(&self, n: u32) -> Result<Vec<String>, ProviderError> {
        let mut started = Vec::new();
        for _ in 0..n {
            let id = format!(
                "w-{}",
                Alphanumeric
                    .sample_string(&mut rand::thread_rng(), 8)
                    .to_ascii_lowercase()
            );
            let child = self.spawn(&id)?;
            tracing::info!(worker = %id, pid = child.id(), "worker process started");
            self.children
                .lock()
                .await
                .insert(id.clone(), (child, Instant::now()));
            started.push(id);
        }
        Ok(started)
    }

    async fn stop(&self, worker_id: &str) {
        let Some((mut child, _)) = self.children.lock().await.remove(worker_id) else {
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
            .map(|(id, (child, _))| (id, child))
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
