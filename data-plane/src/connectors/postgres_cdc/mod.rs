//! Postgres CDC source (Confluent Cloud's `PostgresCdcSourceV2`, Debezium's
//! `io.debezium.connector.postgresql.PostgresConnector`): a snapshot of the
//! captured tables, then their changes streamed through logical replication
//! (`pgoutput`, a slot and a publication the connector manages), written as
//! Debezium change events to `<topic.prefix>.<schema>.<table>`.
//!
//! * [`settings`]: the config keys and their typed form.
//! * [`catalog`]: tables, keys, publication and slot, over plain SQL.
//! * [`snapshot`]: the initial read, consistent with the slot.
//! * [`pgoutput`]: the replication messages; [`value`]: column values;
//!   [`envelope`]: keys, change events, tombstones.
//! * [`offset`]: positions in the WAL; [`task`]: the task that ties it together.
//!
//! The control plane calls [`release`] once a connector is deleted, to drop
//! its slot (which would otherwise hold WAL on the source forever).

pub mod catalog;
pub mod envelope;
pub mod offset;
pub mod pgoutput;
pub mod settings;
pub mod snapshot;
pub mod task;
pub mod value;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError, SourceTask, TaskError};

pub use settings::CdcSettings;
pub use task::PostgresCdcTask;

pub const CLASS: &str = "PostgresCdcSourceV2";

pub struct PostgresCdcSource;

impl ConnectorPlugin for PostgresCdcSource {
    fn class(&self) -> &'static str {
        CLASS
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["io.debezium.connector.postgresql.PostgresConnector"]
    }

    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }

    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::defs()
    }

    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate_extra(config)
    }

    /// One task: a replication slot has one reader.
    fn task_configs(&self, config: &Config, _max_tasks: usize) -> Vec<Config> {
        vec![config.clone()]
    }

    fn start_source_task(
        &self,
        config: &Config,
        _task_id: u32,
        offsets: &[crate::protocol::SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Ok(Box::new(PostgresCdcTask::new(config, offsets)?))
    }
}

/// What [`release`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The slot existed and was dropped.
    pub slot_dropped: bool,
    /// The publication was ours (derived name) and was dropped.
    pub publication_dropped: bool,
}

/// Drops a deleted connector's replication slot, and its publication when
/// the connector named it itself. Fails (retriably) while a session still
/// reads the slot, e.g. the task is still stopping.
pub async fn release(config: &Config) -> Result<Released, TaskError> {
    let s = CdcSettings::parse(config)
        .map_err(|e| TaskError::Fatal(format!("invalid PostgresCdcSourceV2 config: {e}")))?;
    let mut conn = catalog::connect(&s).await?;
    let result = release_on(&mut conn, &s).await;
    catalog::close(conn).await;
    result
}

async fn release_on(conn: &mut sqlx::PgConnection, s: &CdcSettings) -> Result<Released, TaskError> {
    let mut out = Released {
        slot_dropped: false,
        publication_dropped: false,
    };
    if let Some(info) = catalog::slot(conn, &s.slot).await? {
        if let Some(pid) = info.active_pid {
            return Err(TaskError::Retriable(format!(
                "replication slot {} is still in use by process {pid}",
                s.slot
            )));
        }
        out.slot_dropped = catalog::drop_slot(conn, &s.slot).await?;
    }
    if s.publication_is_default && s.autocreate != settings::AutocreateMode::Disabled {
        catalog::drop_publication(conn, &s.publication).await?;
        out.publication_dropped = true;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{find, max_tasks, validate};

    fn cfg() -> Config {
        [
            ("connector.class", CLASS),
            ("name", "inventory-cdc"),
            ("database.hostname", "db.example.com"),
            ("database.port", "5432"),
            ("database.user", "cdc"),
            ("database.password", "secret"),
            ("database.dbname", "inventory"),
            ("topic.prefix", "inv"),
            ("table.include.list", "public.orders"),
            ("output.data.format", "JSON"),
            ("tasks.max", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn found_by_class_and_debezium_class() {
        assert_eq!(find(CLASS).map(|p| p.class()), Some(CLASS));
        assert_eq!(
            find("io.debezium.connector.postgresql.PostgresConnector").map(|p| p.class()),
            Some(CLASS)
        );
    }

    #[test]
    fn confluent_style_config_is_valid_and_the_password_is_secret() {
        assert_eq!(validate(&PostgresCdcSource, &cfg()), vec![]);
        let secret = crate::connectors::config::password_keys(&PostgresCdcSource.config_defs());
        assert!(secret.contains(&"database.password"));
        let hosts = crate::connectors::config::host_keys(&PostgresCdcSource.config_defs());
        assert!(hosts.contains(&"database.hostname"));
    }

    #[test]
    fn unsupported_values_are_refused_by_key() {
        let mut c = cfg();
        c.insert("plugin.name".into(), "decoderbufs".into());
        c.insert("snapshot.mode".into(), "always".into());
        let keys: Vec<String> = validate(&PostgresCdcSource, &c)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["snapshot.mode", "plugin.name"]);
    }

    #[test]
    fn one_task_whatever_tasks_max_says() {
        let c = cfg();
        assert_eq!(PostgresCdcSource.task_configs(&c, max_tasks(&c)).len(), 1);
        assert_eq!(PostgresCdcSource.task_configs(&c, 4).len(), 1);
    }

    #[test]
    fn a_task_starts_without_io_and_writes_topics_as_tables_appear() {
        let task = PostgresCdcSource.start_source_task(&cfg(), 0, &[]).unwrap();
        assert!(task.topics().is_empty());
        let mut bad = cfg();
        bad.remove("database.hostname");
        assert!(matches!(
            PostgresCdcSource.start_source_task(&bad, 0, &[]),
            Err(TaskError::Fatal(m)) if m.contains("database.hostname")
        ));
    }
}
