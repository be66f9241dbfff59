//! MySQL CDC source (Confluent Cloud's `MySqlCdcSourceV2`, Debezium's
//! `io.debezium.connector.mysql.MySqlConnector`), for MySQL and MariaDB: a
//! consistent snapshot of the captured tables with its binlog position,
//! then the row-based binlog from there, written as Debezium change events
//! with Connect schemas to `<topic.prefix>.<database>.<table>`.
//!
//! * [`settings`]: the config keys and their typed form.
//! * [`catalog`]: binlog settings and position, tables, columns, keys.
//! * [`snapshot`]: the initial read; [`binlog`]: the replication stream.
//! * [`columns`]: column types as Connect schemas and their values;
//!   [`envelope`]: keys, change events, tombstones.
//! * [`offset`]: positions in the binlog; [`task`]: the task that ties it together.
//!
//! The plugin definition (this file and [`settings`]) does no I/O; the
//! others use `mysql_async`.

#[cfg(feature = "runtime")]
pub mod binlog;
#[cfg(feature = "runtime")]
pub mod catalog;
#[cfg(feature = "runtime")]
pub mod columns;
#[cfg(feature = "runtime")]
pub mod envelope;
pub mod offset;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod snapshot;
#[cfg(feature = "runtime")]
pub mod task;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SourceTask, TaskError};

pub use settings::MySqlCdcSettings;
#[cfg(feature = "runtime")]
pub use task::MySqlCdcTask;

pub const CLASS: &str = "MySqlCdcSourceV2";

pub struct MySqlCdcSource;

impl ConnectorPlugin for MySqlCdcSource {
    fn class(&self) -> &'static str {
        CLASS
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["io.debezium.connector.mysql.MySqlConnector"]
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

    /// One task: the binlog has one reader.
    fn task_configs(&self, config: &Config, _max_tasks: usize) -> Vec<Config> {
        vec![config.clone()]
    }

    #[cfg(feature = "runtime")]
    fn start_source_task(
        &self,
        config: &Config,
        _task_id: u32,
        offsets: &[crate::protocol::SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Ok(Box::new(MySqlCdcTask::new(config, offsets)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{find, validate};

    fn cfg() -> Config {
        [
            ("connector.class", CLASS),
            ("name", "inventory-cdc"),
            ("database.hostname", "db.example.com"),
            ("database.port", "3306"),
            ("database.user", "cdc"),
            ("database.password", "secret"),
            ("database.server.id", "184054"),
            ("topic.prefix", "inv"),
            ("table.include.list", "inventory.customers"),
            ("output.data.format", "AVRO"),
            ("tasks.max", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn found_by_class_and_debezium_class_and_valid() {
        assert_eq!(find(CLASS).map(|p| p.class()), Some(CLASS));
        assert_eq!(
            find("io.debezium.connector.mysql.MySqlConnector").map(|p| p.class()),
            Some(CLASS)
        );
        assert_eq!(validate(&MySqlCdcSource, &cfg()), vec![]);
        let secret = crate::connectors::config::password_keys(&MySqlCdcSource.config_defs());
        assert!(secret.contains(&"database.password"));
    }

    #[test]
    fn unsupported_values_are_refused_by_key() {
        let mut c = cfg();
        c.insert("snapshot.mode".into(), "always".into());
        c.insert("database.server.id".into(), "x".into());
        let keys: Vec<String> = validate(&MySqlCdcSource, &c)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["database.server.id", "snapshot.mode"]);
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn a_task_starts_without_io() {
        let task = MySqlCdcSource.start_source_task(&cfg(), 0, &[]).unwrap();
        assert!(task.topics().is_empty());
        let mut bad = cfg();
        bad.remove("database.hostname");
        assert!(matches!(
            MySqlCdcSource.start_source_task(&bad, 0, &[]),
            Err(TaskError::Fatal(m)) if m.contains("database.hostname")
        ));
    }
}
