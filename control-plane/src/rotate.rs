//! `control-plane rotate-secrets`: re-seals every stored secret (connector
//! and task configs, registered clusters' credentials) with the current
//! key. Run it with the new `TRIBUTARY_SECRETS_KEY` and the old one in
//! `TRIBUTARY_SECRETS_KEY_PREVIOUS`; replicas running with the same pair
//! keep working throughout, and the old key can be dropped afterwards.

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::PgPool;

use crate::secrets::{SecretBox, SecretError};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotated {
    pub connectors: u64,
    pub tasks: u64,
    pub clusters: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{what} {id}: {source}")]
    Secret {
        what: &'static str,
        id: String,
        source: SecretError,
    },
}

type ConfigJson = Json<BTreeMap<String, String>>;
/// (connector id, task id, task config)
type TaskConfigRow = (String, i32, ConfigJson);

/// Re-seals the sealed values of a config map; true when one changed.
fn reseal_map(
    map: &mut BTreeMap<String, String>,
    secrets: &SecretBox,
    what: &'static str,
    id: &str,
) -> Result<bool, RotateError> {
    let mut changed = false;
    for v in map.values_mut() {
        let resealed = secrets.reseal(v).map_err(|source| RotateError::Secret {
            what,
            id: id.to_string(),
            source,
        })?;
        if let Some(r) = resealed {
            *v = r;
            changed = true;
        }
    }
    Ok(changed)
}

/// Re-seals everything in one transaction: all or nothing.
pub async fn run(pool: &PgPool, secrets: &SecretBox) -> Result<Rotated, RotateError> {
    let mut out = Rotated::default();
    let mut tx = pool.begin().await?;
    let connectors: Vec<(String, ConfigJson)> =
        sqlx::query_as("SELECT id, config FROM connectors FOR UPDATE")
            .fetch_all(&mut *tx)
            .await?;
    for (id, mut config) in connectors {
        if reseal_map(&mut config.0, secrets, "connector", &id)? {
            // The plaintext is unchanged: no new generation, no task restart.
            sqlx::query("UPDATE connectors SET config = $2 WHERE id = $1")
                .bind(&id)
                .bind(&config)
                .execute(&mut *tx)
                .await?;
            out.connectors += 1;
        }
    }
    let tasks: Vec<TaskConfigRow> =
        sqlx::query_as("SELECT connector_id, task_id, config FROM tasks FOR UPDATE")
            .fetch_all(&mut *tx)
            .await?;
    for (id, task, mut config) in tasks {
        if reseal_map(&mut config.0, secrets, "task of connector", &id)? {
            sqlx::query("UPDATE tasks SET config = $3 WHERE connector_id = $1 AND task_id = $2")
                .bind(&id)
                .bind(task)
                .bind(&config)
                .execute(&mut *tx)
                .await?;
            out.tasks += 1;
        }
    }
    let clusters: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, secret_properties FROM kafka_clusters FOR UPDATE")
            .fetch_all(&mut *tx)
            .await?;
    for (id, sealed) in clusters {
        let Some(sealed) = sealed else { continue };
        let resealed = secrets
            .reseal(&sealed)
            .map_err(|source| RotateError::Secret {
                what: "cluster",
                id: id.clone(),
                source,
            })?;
        if let Some(r) = resealed {
            sqlx::query("UPDATE kafka_clusters SET secret_properties = $2 WHERE id = $1")
                .bind(&id)
                .bind(r)
                .execute(&mut *tx)
                .await?;
            out.clusters += 1;
        }
    }
    tx.commit().await?;
    Ok(out)
}
