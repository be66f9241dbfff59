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
//! * [`cleanup`]: once a connector is deleted, drops its slot (which would
//!   otherwise hold WAL on the source forever) and its own publication.

pub mod catalog;
pub mod cleanup;
pub mod envelope;
pub mod offset;
pub mod pgoutput;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod snapshot;
#[cfg(feature = "runtime")]
pub mod task;
pub mod value;

use async_trait::async_trait;

use super::{
    CleanupError, Config, ConfigDef, ConnectorPlugin, ConnectorType, DeletedConnector, FieldError,
};
#[cfg(feature = "runtime")]
use super::{SourceTask, TaskError};

pub use cleanup::{release, Released};
pub use settings::CdcSettings;
#[cfg(feature = "runtime")]
pub use task::PostgresCdcTask;

pub const CLASS: &str = "PostgresCdcSourceV2";

pub struct PostgresCdcSource;

#[async_trait]
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

    /// Drops the deleted connector's replication slot and its own publication.
    async fn on_delete(
        &self,
        connector: &dyn DeletedConnector,
    ) -> Result<Option<String>, CleanupError> {
        cleanup::on_delete(self, connector).await
    }

    #[cfg(feature = "runtime")]
    fn start_source_task(
        &self,
        config: &Config,
        _task_id: u32,
        offsets: &[crate::protocol::SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Ok(Box::new(PostgresCdcTask::new(config, offsets)?))
    }
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

    #[cfg(feature = "runtime")]
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
