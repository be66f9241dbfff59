//! `control-plane serve`: wires the store, bootstrap, API, reconciler and
//! provider together and shuts them down in order.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;

use crate::api::{self, AppState};
use crate::auth::api_keys::KeyVerifier;
use crate::bootstrap::{self, BootstrapSettings};
use crate::config::{ProviderKind, ServeArgs};
use crate::provider::kubernetes::{KubernetesProvider, KubernetesSettings};
use crate::provider::process::{ProcessProvider, ProcessSettings};
use crate::provider::static_pool::StaticPool;
use crate::provider::WorkerProvider;
use crate::reconciler::{housekeeping, Reconciler, ReconcilerSettings};
use crate::service::connectors::ConnectorService;
use crate::store;

fn default_worker_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("data-plane")))
        .unwrap_or_else(|| PathBuf::from("data-plane"))
}

/// The URL workers on this machine use to reach us.
fn internal_url(args: &ServeArgs) -> String {
    let addr = args.http_addr;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    format!("http://{host}:{}", addr.port())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let pool = store::connect(&args.db.database_url).await?;
    store::migrate(&pool).await?;

    let outcome = bootstrap::run(
        &pool,
        BootstrapSettings {
            kafka_bootstrap: &args.kafka_bootstrap,
            api_key: args.bootstrap_api_key.as_deref(),
            api_secret: args.bootstrap_api_secret.as_deref(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("bootstrap failed: {}", e.detail))?;
    if let (Some(key), Some(secret)) = (&outcome.api_key, &outcome.generated_secret) {
        // Shown once: the secret is stored only as a hash.
        println!("Bootstrap OrganizationAdmin API key (shown only once):");
        println!("  key:    {key}");
        println!("  secret: {secret}");
    }
    if outcome.created {
        tracing::info!(org = %outcome.org_id, "first start: organization, environment, cluster and admin key created");
    }

    if args.provider == ProviderKind::Kubernetes
        && args.worker_token.as_deref().is_none_or(str::is_empty)
    {
        anyhow::bail!(
            "the kubernetes provider needs TRIBUTARY_WORKER_TOKEN (the worker pods present the same token)"
        );
    }
    let worker_token = args
        .worker_token
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(crate::ids::api_secret);

    let provider: Arc<dyn WorkerProvider> = match args.provider {
        ProviderKind::Process => Arc::new(
            ProcessProvider::new(ProcessSettings {
                binary: args
                    .worker_binary
                    .clone()
                    .unwrap_or_else(default_worker_binary),
                control_plane_url: internal_url(&args),
                worker_token: worker_token.clone(),
                capacity: args.worker_capacity,
                log_dir: args.log_dir.clone(),
                egress_allow: args.egress_allow.spec(),
            })
            .context("process provider")?,
        ),
        ProviderKind::Static => Arc::new(StaticPool),
        ProviderKind::Kubernetes => Arc::new(
            KubernetesProvider::connect(KubernetesSettings {
                namespace: args.k8s_namespace.clone().unwrap_or_default(),
                deployment: args.k8s_deployment.clone(),
                selector: args.k8s_selector.clone(),
            })
            .await
            .context("kubernetes provider")?,
        ),
    };

    let (assignment_changes, _) = tokio::sync::watch::channel(0u64);
    let assignment_changes = Arc::new(assignment_changes);
    tokio::spawn(relay_assignment_changes(
        pool.clone(),
        Arc::clone(&assignment_changes),
    ));
    let secrets = Arc::new(
        args.access
            .keys
            .secret_box()
            .context("TRIBUTARY_SECRETS_KEY")?,
    );
    let access =
        Arc::new(crate::auth::AccessControl::from_args(&args.access).context("access settings")?);
    let connectors = Arc::new(ConnectorService::new(
        pool.clone(),
        Arc::clone(&secrets),
        Arc::new(args.egress_allow.clone()),
        access.quotas.clone(),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let store_health = store::health::StoreHealth::new();
    let monitor_task =
        tokio::spawn(Arc::clone(&store_health).monitor(pool.clone(), stop_rx.clone()));
    let state = AppState {
        store_health: Arc::clone(&store_health),
        assignment_changes,
        pool: pool.clone(),
        keys: Arc::new(KeyVerifier::default()),
        secrets,
        access,
        connectors,
        public_url: args.public_url().into(),
        worker_token: worker_token.into(),
        lease: args.lease(),
        heartbeat: args.heartbeat(),
    };
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.http_addr))?;
    tracing::info!(addr = %args.http_addr, provider = provider.name(), "control plane listening");

    let reconciler = Reconciler::new(
        pool.clone(),
        Arc::clone(&state.secrets),
        provider.clone(),
        ReconcilerSettings {
            holder: format!("{}:{}", hostname(), std::process::id()),
            interval: Duration::from_millis(args.reconcile_interval_ms.max(50)),
            worker_capacity: args.worker_capacity.max(1),
            max_workers: args.max_workers,
            scale_down_cooldown: Duration::from_millis(args.scale_down_cooldown_ms),
            worker_lease: args.lease(),
            restart_backoff: Duration::from_millis(args.restart_backoff_ms.max(1)),
            restart_backoff_max: Duration::from_millis(args.restart_backoff_max_ms.max(1)),
        },
    )
    .with_store_health(store_health);
    let reconciler_task = tokio::spawn(reconciler.run(stop_rx.clone()));
    let housekeeping_task = tokio::spawn(housekeeping::run(
        pool.clone(),
        housekeeping::INTERVAL,
        stop_rx.clone(),
    ));

    let mut http_stop = stop_rx.clone();
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                _ = http_stop.changed() => {}
            }
        })
        .await
        .context("http server")?;

    tracing::info!("shutting down: stopping reconciler and workers");
    let _ = stop_tx.send(true);
    let _ = reconciler_task.await;
    let _ = housekeeping_task.await;
    let _ = monitor_task.await;
    provider.shutdown().await;
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Turns `NOTIFY tributary_assignments` (from any replica) into a tick that
/// wakes this replica's held heartbeats.
async fn relay_assignment_changes(
    pool: sqlx::PgPool,
    changes: Arc<tokio::sync::watch::Sender<u64>>,
) {
    loop {
        let listener = async {
            let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
            l.listen(store::ASSIGNMENTS_CHANNEL).await?;
            loop {
                l.recv().await?;
                changes.send_modify(|n| *n = n.wrapping_add(1));
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        if let Err(e) = listener.await {
            tracing::warn!(error = %e, "assignment listener failed; held heartbeats fall back to their timeout");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
