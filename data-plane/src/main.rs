//! `data-plane`: the Tributary worker binary.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tributary_data_plane::connectors::egress::{self, EgressPolicy};
use tributary_data_plane::runtime::{Worker, WorkerConfig};

#[derive(Debug, Parser)]
#[command(
    name = "data-plane",
    version,
    about = "Tributary data plane: runs connector tasks assigned by the control plane"
)]
struct Cli {
    /// Log line format.
    #[arg(long, env = "TRIBUTARY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Register with the control plane and run the tasks it assigns until
    /// SIGTERM or SIGINT.
    Worker(WorkerArgs),
}

#[derive(Debug, clap::Args)]
struct WorkerArgs {
    /// Base URL of the control plane, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "TRIBUTARY_CONTROL_PLANE_URL")]
    control_plane_url: String,
    /// This worker's id; defaults to a random "w-<8 hex>".
    #[arg(long, env = "TRIBUTARY_WORKER_ID")]
    worker_id: Option<String>,
    /// Task weight units this worker accepts.
    #[arg(long, env = "TRIBUTARY_WORKER_CAPACITY", default_value_t = 8)]
    capacity: u32,
    /// Bearer token for the worker protocol.
    #[arg(long, env = "TRIBUTARY_WORKER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The worker pool this worker serves (unset or empty: the shared pool).
    #[arg(long, env = "TRIBUTARY_WORKER_POOL")]
    pool: Option<String>,
    /// Egress policy for hosts named in connector configs, checked again at
    /// task start: comma-separated `loopback`, `private`, `link-local` and
    /// CIDRs allowed besides public addresses (default: public only).
    #[arg(long, env = "TRIBUTARY_EGRESS_ALLOW", default_value = "", value_parser = EgressPolicy::parse)]
    egress_allow: EgressPolicy,
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Worker(args) => {
            let worker_id = args
                .worker_id
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| format!("w-{:08x}", rand::random::<u32>()));
            if args.token.is_none() {
                tracing::warn!(
                    "no --token given: worker protocol requests carry no Authorization header"
                );
            }
            egress::install(args.egress_allow);
            // Every log line of the worker and its tasks carries the worker id.
            let span = tracing::info_span!("worker", worker = %worker_id);
            let worker = Worker::new(WorkerConfig {
                control_plane_url: args.control_plane_url,
                worker_id,
                capacity: args.capacity,
                token: args.token,
                pool: args
                    .pool
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            })
            .context("cannot start the worker")?;
            worker.run(shutdown_signal()).instrument(span).await;
        }
    }
    Ok(())
}
