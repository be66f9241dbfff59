//! Creating connectors and writing their configs.
//!
//! Secrets contract: password-typed keys are sealed at rest and shown
//! masked. A write that sends a run of asterisks back for such a key keeps
//! the stored value, so clients can round-trip a config they read.

use std::collections::BTreeMap;

use sqlx::{Postgres, Transaction};
use tributary_data_plane::connectors::{self as plugins, ConnectorPlugin};

use super::validation::{check_name, name_config, restore_masked_secrets};
use super::{precondition, Admitted, Answer, ConnectorService, Expected, Idempotency};
use super::{Result, ServiceError};
use crate::connector_secrets::{open_secrets, seal_secrets};
use crate::lifecycle::TargetState;
use crate::store::connectors::{self as store, ConfigMap, Connector, CreateError};
use crate::store::notify_reconciler;

/// A connector to create.
#[derive(Debug, Clone)]
pub struct CreateConnector {
    pub name: String,
    pub config: ConfigMap,
    /// Where it starts, when not RUNNING.
    pub initial_state: Option<TargetState>,
}

/// A connector as a write left it.
#[derive(Debug, Clone)]
pub struct Written {
    pub connector: Connector,
    /// The connector did not exist before.
    pub created: bool,
    /// How many tasks its plugin splits the config into.
    pub n_tasks: usize,
}

impl ConnectorService {
    /// Creates a connector (refused when the name is taken) and wakes the
    /// reconciler. `answer` renders what the caller is told; with an
    /// idempotency key it is recorded with the connector, and a retry of
    /// the same request gets the recorded answer instead of a second
    /// connector.
    pub async fn create(
        &self,
        at: &Admitted<'_>,
        req: CreateConnector,
        idempotency: Option<&Idempotency>,
        answer: impl FnOnce(&Written) -> Answer,
    ) -> Result<Answer> {
        check_name(&req.name)?;
        let mut config = req.config;
        name_config(&mut config, &req.name, "")?;
        let plugin = self.validate_config(&config).await?;

        let mut tx = self.pool.begin().await?;
        if let Some(idem) = idempotency {
            if let Some(earlier) = idem.begin(&mut tx, at.org_id()).await? {
                return Ok(earlier);
            }
        }
        let mut written = self.insert(&mut tx, at, plugin, &config).await?;
        if let Some(target) = req.initial_state {
            written.connector =
                store::set_target_state(&mut tx, &written.connector.id, target).await?;
        }
        let answer = answer(&written);
        if let Some(idem) = idempotency {
            idem.finish(&mut tx, at.org_id(), &answer).await?;
        }
        tx.commit().await?;
        Ok(answer)
    }

    /// Stores a validated new connector (secrets sealed) and wakes the
    /// reconciler, in `tx`.
    async fn insert(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        at: &Admitted<'_>,
        plugin: &'static dyn ConnectorPlugin,
        config: &ConfigMap,
    ) -> Result<Written> {
        let name = config.get("name").cloned().unwrap_or_default();
        let mut stored_config = config.clone();
        seal_secrets(&mut stored_config, None, &self.secrets);
        let created = store::create(
            tx,
            store::NewConnector {
                org_id: at.org_id(),
                environment_id: at.env(),
                cluster_id: &at.cluster().id,
                name: &name,
                class: plugin.class(),
                connector_type: plugin.connector_type().as_str(),
                config: &stored_config,
            },
        )
        .await
        .map_err(|e| match e {
            CreateError::AlreadyExists(n) => ServiceError::AlreadyExists(n),
            CreateError::Db(e) => e.into(),
        })?;
        notify_reconciler(&mut **tx, "connector created").await?;
        tracing::info!(connector = %created.id, name = %name, class = plugin.class(), "connector created");
        Ok(Written {
            connector: created,
            created: true,
            n_tasks: n_tasks(plugin, config),
        })
    }

    /// Creates the connector `name` with `config`, or replaces its whole
    /// config (omitted keys are removed).
    pub async fn put_config(
        &self,
        at: &Admitted<'_>,
        name: &str,
        config: ConfigMap,
        expected: Option<&Expected>,
    ) -> Result<Written> {
        self.write_config(at, name, expected, |_| Ok(config)).await
    }

    /// Merges `patch` into the stored config of connector `name`: a key set
    /// to `None` is removed. Not found when there is no such connector.
    pub async fn patch_config(
        &self,
        at: &Admitted<'_>,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
        expected: Option<&Expected>,
    ) -> Result<Written> {
        self.write_config(at, name, expected, |stored| {
            let mut config = stored
                .cloned()
                .ok_or_else(|| ServiceError::connector_not_found(name))?;
            for (k, v) in patch {
                match v {
                    Some(v) => config.insert(k, v),
                    None => config.remove(&k),
                };
            }
            Ok(config)
        })
        .await
    }

    /// Core of every config write: creates the connector or replaces its
    /// config with what `build` makes of the stored one (`None`: no
    /// connector yet). Checks the expected version, restores echoed masks,
    /// validates (egress policy included), seals secrets and wakes the
    /// reconciler.
    async fn write_config(
        &self,
        at: &Admitted<'_>,
        name: &str,
        expected: Option<&Expected>,
        build: impl FnOnce(Option<&ConfigMap>) -> Result<ConfigMap>,
    ) -> Result<Written> {
        check_name(name)?;
        let mut tx = self.pool.begin().await?;
        let current = store::lock(&mut tx, at.org_id(), &at.cluster().id, name).await?;
        precondition::check(expected, current.as_ref())?;
        let stored = current.as_ref().map(|c| &c.config.0);
        let mut config = build(stored)?;
        name_config(&mut config, name, " in the path")?;
        restore_masked_secrets(&mut config, stored)?;
        // Validate what the worker will see: stored secrets opened.
        let mut plain = config.clone();
        open_secrets(&mut plain, &self.secrets);
        let plugin = self.validate_config(&plain).await?;
        seal_secrets(&mut config, stored, &self.secrets);
        let (c, created) = store::upsert(
            &mut tx,
            store::NewConnector {
                org_id: at.org_id(),
                environment_id: at.env(),
                cluster_id: &at.cluster().id,
                name,
                class: plugin.class(),
                connector_type: plugin.connector_type().as_str(),
                config: &config,
            },
        )
        .await?;
        notify_reconciler(&mut *tx, "connector config").await?;
        tx.commit().await?;
        tracing::info!(connector = %c.id, name = %name, created, generation = c.generation, "connector config written");
        Ok(Written {
            connector: c,
            created,
            n_tasks: n_tasks(plugin, &config),
        })
    }
}

/// How many tasks `plugin` splits `config` into.
fn n_tasks(plugin: &'static dyn ConnectorPlugin, config: &ConfigMap) -> usize {
    plugin
        .task_configs(config, plugins::max_tasks(config))
        .len()
}
