//! The shared test harness: each test gets its own Postgres database, unique
//! topic names, and real processes (the control plane, which spawns real
//! data-plane workers through its process provider).
//!
//! Environment: `DATABASE_URL` (a server where the test may create
//! databases; default postgres://postgres@127.0.0.1:5432/postgres),
//! `KAFKA_BOOTSTRAP` (default 127.0.0.1:9092), `TRIBUTARY_BIN_DIR` (where
//! `control-plane` and `data-plane` are; default: this test binary's target dir).

pub mod kafka;
pub mod mysql;
pub mod pg_cluster;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use rand::distributions::{Alphanumeric, DistString};
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::process::{Child, Command};

pub fn kafka_bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Lower-case random suffix for names that must not collide between tests.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        Alphanumeric
            .sample_string(&mut rand::thread_rng(), 10)
            .to_ascii_lowercase()
    )
}

pub fn unique_topic(prefix: &str) -> String {
    unique(&format!("t_{prefix}"))
}

/// Folder holding the workspace binaries.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TRIBUTARY_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // target/<profile>/deps/<test-binary> → target/<profile>
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .expect("target dir")
}

/// A database of its own, dropped by [`TestDatabase::drop_database`].
#[derive(Clone)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<TestDatabase> {
        Self::create_on(&admin_database_url()).await
    }

    /// A database on the server of `admin_url` (e.g. a [`pg_cluster::PgCluster`]).
    pub async fn create_on(admin_url: &str) -> anyhow::Result<TestDatabase> {
        let admin: PgConnectOptions = admin_url.parse()?;
        let name = unique("tributary_test");
        let mut conn = admin
            .connect()
            .await
            .with_context(|| format!("connect to Postgres at {admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = {
            let base = admin_url;
            match base.rfind('/') {
                Some(i) if base[..i].contains("://") && i > base.find("://").unwrap_or(0) + 2 => {
                    let (head, tail) = base.split_at(i);
                    let query = tail.find('?').map(|q| &tail[q..]).unwrap_or("");
                    format!("{head}/{name}{query}")
                }
                _ => format!("{base}/{name}"),
            }
        };
        Ok(TestDatabase { name, url, admin })
    }

    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let mut conn = self.admin.connect().await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await?;
        Ok(())
    }
}

/// Settings for a control plane under test; short leases and cooldowns so
/// tests see convergence quickly.
#[derive(Debug, Clone)]
pub struct ControlPlaneOptions {
    pub lease_ms: u64,
    pub heartbeat_ms: u64,
    pub scale_down_cooldown_ms: u64,
    pub worker_capacity: u32,
    pub extra_env: Vec<(String, String)>,
}

impl Default for ControlPlaneOptions {
    fn default() -> Self {
        ControlPlaneOptions {
            lease_ms: 6_000,
            heartbeat_ms: 500,
            scale_down_cooldown_ms: 1_500,
            worker_capacity: 8,
            extra_env: Vec::new(),
        }
    }
}

/// A running `control-plane serve` with its own database.
pub struct ControlPlane {
    pub url: String,
    pub key: String,
    pub secret: String,
    pub db: TestDatabase,
    pub log_dir: PathBuf,
    child: Option<Child>,
    http: reqwest::Client,
    /// Replicas share the first control plane's database and leave it alone.
    owns_db: bool,
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl ControlPlane {
    pub async fn start(opts: ControlPlaneOptions) -> anyhow::Result<ControlPlane> {
        Self::start_on(opts, TestDatabase::create().await?).await
    }

    /// A control plane whose store is `db` (e.g. on a cluster the test stops).
    pub async fn start_on(
        opts: ControlPlaneOptions,
        db: TestDatabase,
    ) -> anyhow::Result<ControlPlane> {
        let key = Alphanumeric
            .sample_string(&mut rand::thread_rng(), 16)
            .to_ascii_uppercase();
        let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 64);
        Self::launch(opts, db, key, secret, true, "control-plane").await
    }

    /// Another replica on the same database (and the same bootstrap key).
    pub async fn replica(&self, opts: ControlPlaneOptions) -> anyhow::Result<ControlPlane> {
        let n = std::fs::read_dir(&self.log_dir)?.count();
        Self::launch(
            opts,
            self.db.clone(),
            self.key.clone(),
            self.secret.clone(),
            false,
            &format!("control-plane-replica-{n}"),
        )
        .await
    }

    async fn launch(
        opts: ControlPlaneOptions,
        db: TestDatabase,
        key: String,
        secret: String,
        owns_db: bool,
        log_name: &str,
    ) -> anyhow::Result<ControlPlane> {
        let port = free_port()?;
        let bin = bin_dir();
        let log_dir = bin.join("test-logs").join(&db.name);
        std::fs::create_dir_all(&log_dir)?;
        let log = std::fs::File::create(log_dir.join(format!("{log_name}.log")))?;
        let binary = bin.join("control-plane");
        if !binary.is_file() {
            bail!(
                "{} not found: run `cargo build --workspace --bins` first (tests/run does)",
                binary.display()
            );
        }
        let mut cmd = Command::new(&binary);
        cmd.arg("serve")
            .env("DATABASE_URL", &db.url)
            .env("TRIBUTARY_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("KAFKA_BOOTSTRAP", kafka_bootstrap())
            .env("TRIBUTARY_BOOTSTRAP_API_KEY", &key)
            .env("TRIBUTARY_BOOTSTRAP_API_SECRET", &secret)
            .env("TRIBUTARY_WORKER_BINARY", bin.join("data-plane"))
            .env("TRIBUTARY_LOG_DIR", &log_dir)
            .env("TRIBUTARY_LEASE_MS", opts.lease_ms.to_string())
            .env("TRIBUTARY_HEARTBEAT_MS", opts.heartbeat_ms.to_string())
            .env(
                "TRIBUTARY_SCALE_DOWN_COOLDOWN_MS",
                opts.scale_down_cooldown_ms.to_string(),
            )
            .env(
                "TRIBUTARY_WORKER_CAPACITY",
                opts.worker_capacity.to_string(),
            )
            .env("RUST_LOG", "info,tributary_control_plane=debug")
            // Tests drive the API faster than a tenant would; the tests of the
            // rate limit itself set it low through `extra_env`.
            .env("TRIBUTARY_RATE_LIMIT_PER_SECOND", "2000")
            .env("TRIBUTARY_RATE_LIMIT_BURST", "4000")
            // Everything a test connects to runs on loopback (tests of the
            // egress policy narrow it through `extra_env`).
            .env("TRIBUTARY_EGRESS_ALLOW", "loopback,private")
            .envs(opts.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawn {}", binary.display()))?;
        let cp = ControlPlane {
            url: format!("http://127.0.0.1:{port}"),
            key,
            secret,
            db,
            log_dir,
            child: Some(child),
            http: reqwest::Client::new(),
            owns_db,
        };
        cp.wait_ready(Duration::from_secs(60)).await?;
        Ok(cp)
    }

    async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(r) = self.http.get(format!("{}/ready", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("control plane not ready; log:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the control plane's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.log_dir.join("control-plane.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn basic_auth(&self) -> String {
        let raw = format!("{}:{}", self.key, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Sends a request with the admin key; returns status and JSON body (Null when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        self.call_raw(
            method,
            path,
            body.map(|b| b.to_string()),
            Some(self.basic_auth()),
        )
        .await
    }

    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        auth: Option<String>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method.parse()?, format!("{}{}", self.url, path));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, json))
    }

    /// The bootstrap environment and cluster ids, discovered through the API.
    pub async fn default_cluster(&self) -> anyhow::Result<(String, String)> {
        let (_, envs) = self.call("GET", "/org/v2/environments", None).await?;
        let env = envs["data"][0]["id"]
            .as_str()
            .context("no environment")?
            .to_string();
        let (_, clusters) = self
            .call("GET", &format!("/cmk/v2/clusters?environment={env}"), None)
            .await?;
        let cluster = clusters["data"][0]["id"]
            .as_str()
            .context("no cluster")?
            .to_string();
        Ok((env, cluster))
    }

    /// Polls `probe` until it returns Some, or fails after `timeout`.
    pub async fn eventually<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = probe().await? {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!(
                    "timed out after {timeout:?} waiting for {what}; control plane log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the control plane (SIGTERM: it stops its workers) and drops its database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(20), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        if self.owns_db {
            self.db.drop_database().await?;
        }
        Ok(())
    }

    /// The control-plane process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }
}

/// The pid of the worker process with this id (found through its environment).
pub fn worker_pid(worker_id: &str) -> Option<u32> {
    let needle = format!("TRIBUTARY_WORKER_ID={worker_id}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        env.split(|b| *b == 0)
            .any(|kv| kv == needle.as_bytes())
            .then_some(pid)
    })
}

/// Sends a signal (`KILL`, `STOP`, `CONT`, `TERM`) to a process.
pub fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{sig} {pid} failed");
    Ok(())
}

/// Whether a process is still alive (and not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}
