//! JDBC-style sinks: Confluent Cloud's `MySqlSink` and `PostgresSink`.
//! Records (schemaless JSON structs) become rows; nested structs and arrays
//! are stored as JSON text columns (flattening is a transform's job).
//!
//! * [`settings`], [`url`]: config keys, validation, typed settings.
//! * [`rows`]: record → row (table, primary key per `pk.mode`, columns).
//! * [`writer`]: rows → multi-row insert/upsert, update and delete statements.
//! * [`pg_copy`]: Postgres' faster way for longer runs: `COPY … FROM STDIN`.
//! * [`dialect`]: what differs between MySQL and Postgres in SQL text.
//! * [`value`], [`table`]: column values and types; table names and columns.
//! * [`backend`], [`mysql`], [`postgres`]: connections, DDL, transactions.
//! * [`task`]: the `SinkTask` tying them together.

#[cfg(feature = "runtime")]
pub mod backend;
pub mod dialect;
#[cfg(feature = "runtime")]
pub mod mysql;
#[cfg(feature = "runtime")]
pub mod pg_copy;
#[cfg(feature = "runtime")]
pub mod postgres;
#[cfg(feature = "runtime")]
pub mod rows;
pub mod settings;
pub mod table;
#[cfg(feature = "runtime")]
pub mod task;
pub mod url;
pub mod value;
#[cfg(feature = "runtime")]
pub mod writer;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SinkTask, TaskError};

pub use dialect::Dialect;
pub use settings::JdbcSettings;
#[cfg(feature = "runtime")]
pub use task::JdbcSinkTask;

/// Confluent Cloud's MySQL sink (also for MariaDB).
pub struct MySqlSink;

/// Confluent Cloud's Postgres sink.
pub struct PostgresSink;

impl ConnectorPlugin for MySqlSink {
    fn class(&self) -> &'static str {
        "MySqlSink"
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::defs(Dialect::MySql)
    }
    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate(config)
    }
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        sink_task_configs(config, max_tasks)
    }
    #[cfg(feature = "runtime")]
    fn start_sink_task(
        &self,
        config: &Config,
        _task_id: u32,
    ) -> Result<Box<dyn SinkTask>, TaskError> {
        Ok(Box::new(JdbcSinkTask::new(config, Dialect::MySql)?))
    }
}

impl ConnectorPlugin for PostgresSink {
    fn class(&self) -> &'static str {
        "PostgresSink"
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::defs(Dialect::Postgres)
    }
    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate(config)
    }
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        sink_task_configs(config, max_tasks)
    }
    #[cfg(feature = "runtime")]
    fn start_sink_task(
        &self,
        config: &Config,
        _task_id: u32,
    ) -> Result<Box<dyn SinkTask>, TaskError> {
        Ok(Box::new(JdbcSinkTask::new(config, Dialect::Postgres)?))
    }
}

/// Every task gets the same config: they share one consumer group, which
/// spreads the topics' partitions over them.
fn sink_task_configs(config: &Config, max_tasks: usize) -> Vec<Config> {
    vec![config.clone(); max_tasks.max(1)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{find, validate};

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn postgres_sink(extra: &[(&str, &str)]) -> Config {
        let mut c = cfg(&[
            ("connector.class", "PostgresSink"),
            ("name", "orders-to-pg"),
            ("topics", "orders"),
            ("input.data.format", "JSON"),
            ("connection.host", "pg.example.com"),
            ("connection.port", "5432"),
            ("connection.user", "app"),
            ("connection.password", "secret"),
            ("db.name", "shop"),
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_value"),
            ("pk.fields", "orderid"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
            ("tasks.max", "2"),
        ]);
        c.extend(cfg(extra));
        c
    }

    #[test]
    fn both_sinks_are_in_the_catalogue() {
        assert_eq!(
            find("MySqlSink").map(|p| p.connector_type()),
            Some(ConnectorType::Sink)
        );
        assert_eq!(
            find("PostgresSink").map(|p| p.class()),
            Some("PostgresSink")
        );
    }

    #[test]
    fn confluent_cloud_style_config_is_valid() {
        assert_eq!(validate(&PostgresSink, &postgres_sink(&[])), vec![]);
        let mut mysql = postgres_sink(&[
            ("connector.class", "MySqlSink"),
            ("connection.port", "3306"),
        ]);
        mysql.insert("errors.tolerance".into(), "all".into());
        assert_eq!(validate(&MySqlSink, &mysql), vec![]);
    }

    #[test]
    fn validation_names_the_key() {
        let keys = |c: &Config| {
            validate(&PostgresSink, c)
                .into_iter()
                .map(|e| e.key)
                .collect::<Vec<_>>()
        };
        let mut no_topics = postgres_sink(&[]);
        no_topics.remove("topics");
        assert_eq!(keys(&no_topics), vec!["topics"]);
        assert_eq!(
            keys(&postgres_sink(&[("insert.mode", "MERGE")])),
            vec!["insert.mode"]
        );
        assert_eq!(
            keys(&postgres_sink(&[("connection.port", "x")])),
            vec!["connection.port"]
        );
        assert_eq!(
            keys(&postgres_sink(&[("pk.mode", "none")])),
            vec!["pk.mode"]
        );
    }

    #[test]
    fn every_task_gets_the_whole_config() {
        let c = postgres_sink(&[]);
        let tasks = PostgresSink.task_configs(&c, 2);
        assert_eq!(tasks, vec![c.clone(), c]);
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn tasks_start_without_connecting() {
        // Unroutable host: building the task must not try to reach it.
        let c = postgres_sink(&[("connection.host", "192.0.2.1")]);
        assert!(PostgresSink.start_sink_task(&c, 0).is_ok());
        let err = MySqlSink
            .start_sink_task(&postgres_sink(&[("insert.mode", "x")]), 0)
            .err();
        assert!(matches!(err, Some(TaskError::Fatal(m)) if m.contains("insert.mode")));
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn datagen_is_not_a_sink() {
        let err = crate::connectors::datagen::DatagenPlugin
            .start_sink_task(&Config::new(), 0)
            .err();
        assert!(matches!(err, Some(TaskError::Fatal(m)) if m.contains("not a sink")));
    }
}
