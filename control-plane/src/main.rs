//! `control-plane`: serve the API and run the reconciler, or apply migrations.

use clap::{Parser, Subcommand};
use tributary_control_plane::auth::settings::SecretKeyArgs;
use tributary_control_plane::config::{DatabaseArgs, ServeArgs};
use tributary_control_plane::{rotate, server, store};

#[derive(Parser)]
#[command(
    name = "control-plane",
    version,
    about = "Tributary control plane: REST API, reconciler and worker provider"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, bootstrap on first start, serve the API and run the reconciler.
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
    /// Re-seal every stored secret with TRIBUTARY_SECRETS_KEY (old keys in
    /// TRIBUTARY_SECRETS_KEY_PREVIOUS), then exit.
    RotateSecrets {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        keys: SecretKeyArgs,
    },
    /// Print the OpenAPI document of the public API (the checked-in
    /// openapi/openapi.json is this output) and exit.
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve(args) => server::run(*args).await,
        Command::Openapi => {
            print!("{}", tributary_control_plane::api::openapi::json());
            Ok(())
        }
        Command::RotateSecrets { db, keys } => {
            anyhow::ensure!(
                keys.secrets_key.is_some(),
                "TRIBUTARY_SECRETS_KEY must name the new key to rotate to"
            );
            let secrets = keys.secret_box()?;
            let pool = store::connect(&db.database_url).await?;
            store::migrate(&pool).await?;
            let r = rotate::run(&pool, &secrets).await?;
            println!(
                "re-sealed secrets of {} connector(s), {} task(s), {} cluster(s)",
                r.connectors, r.tasks, r.clusters
            );
            Ok(())
        }
        Command::Migrate(db) => {
            let pool = store::connect(&db.database_url).await?;
            store::migrate(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
    }
}
