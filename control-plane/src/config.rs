//! The control plane's one typed configuration, from flags and environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres connection URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/tributary"
    )]
    pub database_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderKind {
    /// Spawn data-plane worker processes on this machine.
    Process,
    /// Leave workers to the operator; only assign tasks to whoever registers.
    Static,
    /// Scale a Deployment of workers through the Kubernetes API (in-cluster
    /// service account, or KUBECONFIG).
    Kubernetes,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,

    /// Address the HTTP API listens on.
    #[arg(long, env = "TRIBUTARY_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// Base URL clients reach the API at (used in `self` links); defaults to http://HTTP_ADDR.
    #[arg(long, env = "TRIBUTARY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Bootstrap servers of the local Kafka cluster registered on first start.
    #[arg(long, env = "KAFKA_BOOTSTRAP", default_value = "127.0.0.1:9092")]
    pub kafka_bootstrap: String,

    /// Key id of the OrganizationAdmin API key created on first start (generated when unset).
    #[arg(long, env = "TRIBUTARY_BOOTSTRAP_API_KEY")]
    pub bootstrap_api_key: Option<String>,

    /// Secret of that key (generated when unset; printed once).
    #[arg(long, env = "TRIBUTARY_BOOTSTRAP_API_SECRET", hide_env_values = true)]
    pub bootstrap_api_secret: Option<String>,

    /// Shared token workers present on the worker protocol (generated when unset,
    /// which only works with the process provider).
    #[arg(long, env = "TRIBUTARY_WORKER_TOKEN", hide_env_values = true)]
    pub worker_token: Option<String>,

    /// Which engine runs the workers.
    #[arg(
        long,
        env = "TRIBUTARY_PROVIDER",
        value_enum,
        default_value = "process"
    )]
    pub provider: ProviderKind,

    /// The data-plane binary the process provider spawns (default: `data-plane` next to this binary).
    #[arg(long, env = "TRIBUTARY_WORKER_BINARY")]
    pub worker_binary: Option<PathBuf>,

    /// Folder for the worker processes' logs (default: inherit this process's stderr).
    #[arg(long, env = "TRIBUTARY_LOG_DIR")]
    pub log_dir: Option<PathBuf>,

    /// Kubernetes provider: namespace of the worker Deployments (default: the
    /// kubeconfig's, or in a cluster the control plane's own namespace).
    #[arg(long, env = "TRIBUTARY_K8S_NAMESPACE")]
    pub k8s_namespace: Option<String>,

    /// Kubernetes provider: the shared pool's worker Deployment; a dedicated
    /// pool `p` runs in the Deployment `<this>-p`.
    #[arg(
        long,
        env = "TRIBUTARY_K8S_DEPLOYMENT",
        default_value = "tributary-worker"
    )]
    pub k8s_deployment: String,

    /// Kubernetes provider: label selector matching the worker pods of every pool.
    #[arg(
        long,
        env = "TRIBUTARY_K8S_SELECTOR",
        default_value = "app.kubernetes.io/name=tributary-worker"
    )]
    pub k8s_selector: String,

    /// Task weight units one worker takes.
    #[arg(long, env = "TRIBUTARY_WORKER_CAPACITY", default_value_t = 8)]
    pub worker_capacity: u32,

    /// Upper bound on the number of workers of one worker pool.
    #[arg(long, env = "TRIBUTARY_MAX_WORKERS", default_value_t = 16)]
    pub max_workers: u32,

    /// Worker lease length in milliseconds.
    #[arg(long, env = "TRIBUTARY_LEASE_MS", default_value_t = 10_000)]
    pub lease_ms: u64,

    /// Worker heartbeat interval in milliseconds.
    #[arg(long, env = "TRIBUTARY_HEARTBEAT_MS", default_value_t = 2_000)]
    pub heartbeat_ms: u64,

    /// How long the load must stay low before workers are removed, in milliseconds.
    #[arg(
        long,
        env = "TRIBUTARY_SCALE_DOWN_COOLDOWN_MS",
        default_value_t = 5_000
    )]
    pub scale_down_cooldown_ms: u64,

    /// First automatic restart delay of a failed task in milliseconds (doubles per attempt).
    #[arg(long, env = "TRIBUTARY_RESTART_BACKOFF_MS", default_value_t = 2_000)]
    pub restart_backoff_ms: u64,

    /// Cap of the automatic restart delay in milliseconds.
    #[arg(
        long,
        env = "TRIBUTARY_RESTART_BACKOFF_MAX_MS",
        default_value_t = 300_000
    )]
    pub restart_backoff_max_ms: u64,

    /// Identity and access: secrets key, tokens, SSO, rate limits, body size, quotas.
    #[command(flatten)]
    pub access: crate::auth::settings::AccessArgs,

    /// Egress policy for hosts named in connector configs (checked at create,
    /// update, validate and task start): comma-separated `loopback`,
    /// `private`, `link-local` and CIDRs allowed besides public addresses.
    /// The cloud metadata address is allowed only by a CIDR naming it.
    #[arg(
        long,
        env = "TRIBUTARY_EGRESS_ALLOW",
        default_value = "",
        value_parser = tributary_data_plane::connectors::egress::EgressPolicy::parse
    )]
    pub egress_allow: tributary_data_plane::connectors::egress::EgressPolicy,

    /// Safety-net reconcile interval in milliseconds (changes wake the reconciler at once).
    #[arg(long, env = "TRIBUTARY_RECONCILE_INTERVAL_MS", default_value_t = 1_000)]
    pub reconcile_interval_ms: u64,
}

impl ServeArgs {
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http_addr))
            .trim_end_matches('/')
            .to_string()
    }
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }
}
