//! Built-in connector plugins. Each plugin is one module holding its config
//! definition, validation, task split and task implementation, side by side.
//!
//! The control plane links this catalogue to list plugins, validate configs,
//! split connectors into task configs and clean up after deleted connectors
//! ([`ConnectorPlugin::on_delete`]) without a worker; the worker runtime uses
//! it to start tasks. The task implementations and their client libraries are
//! built only with the `runtime` feature, which the control plane leaves off.

pub mod config;
pub mod datagen;
pub mod debezium;
pub mod egress;
pub mod elasticsearch;
pub mod http;
pub mod jdbc;
pub mod mqtt;
pub mod mysql_cdc;
pub mod nats;
pub mod on_delete;
#[cfg(feature = "runtime")]
pub mod payload;
pub mod postgres_cdc;
pub mod rabbitmq;
pub mod redis;
pub mod sink_config;
pub mod source_config;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::record::Record;

pub use config::{ConfigDef, ConfigType, FieldError, Importance};
pub use on_delete::{CleanupError, DeletedConnector};

/// A connector config: the flat string map of Kafka Connect / Confluent Cloud.
pub type Config = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorType {
    Source,
    Sink,
}

impl ConnectorType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task cannot go on: it is reported FAILED with this message as trace.
    #[error("{0}")]
    Fatal(String),
    /// Worth retrying (the runtime backs off and polls again).
    #[error("{0}")]
    Retriable(String),
}

/// One record produced by a source task, before conversion.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceRecord {
    pub topic: String,
    pub key: Option<serde_json::Value>,
    pub value: Option<serde_json::Value>,
    pub headers: Vec<(String, String)>,
    /// Kafka Connect's source partition and offset (opaque maps).
    pub source_partition: serde_json::Value,
    pub source_offset: serde_json::Value,
    /// The key's Connect schema; `None` is schemaless.
    pub key_schema: Option<std::sync::Arc<crate::schema::Schema>>,
    /// The value's Connect schema; `None` is schemaless.
    pub value_schema: Option<std::sync::Arc<crate::schema::Schema>>,
}

impl SourceRecord {
    /// A schemaless record; add schemas with [`with_key_schema`](Self::with_key_schema)
    /// and [`with_value_schema`](Self::with_value_schema).
    pub fn new(
        topic: impl Into<String>,
        key: Option<serde_json::Value>,
        value: Option<serde_json::Value>,
        source_partition: serde_json::Value,
        source_offset: serde_json::Value,
    ) -> SourceRecord {
        SourceRecord {
            topic: topic.into(),
            key,
            value,
            source_partition,
            source_offset,
            ..SourceRecord::default()
        }
    }

    pub fn with_key_schema(
        mut self,
        schema: Option<std::sync::Arc<crate::schema::Schema>>,
    ) -> SourceRecord {
        self.key_schema = schema;
        self
    }

    pub fn with_value_schema(
        mut self,
        schema: Option<std::sync::Arc<crate::schema::Schema>>,
    ) -> SourceRecord {
        self.value_schema = schema;
        self
    }
}

/// A running source task: the runtime calls `poll` in a loop and produces
/// whatever it returns. `Ok(vec![])` means "nothing now"; the task itself
/// paces its output (Datagen sleeps for `max.interval`).
#[async_trait]
pub trait SourceTask: Send {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError>;
    /// Topics this task writes to, created by the runtime if missing.
    fn topics(&self) -> Vec<String>;
    /// The offsets that became committable (Kafka acknowledged their records
    /// and everything polled before them), one per source partition, as the
    /// runtime hands them to the control plane: a source may now release
    /// what it kept for redelivery (Kafka Connect's `commitRecord`/`commit`).
    fn commit(&mut self, _offsets: &[crate::protocol::SourceOffset]) {}
}

/// A record that `put` could not deliver and never will (the destination
/// refused it for good, e.g. an HTTP 400): Kafka Connect's
/// `ErrantRecordReporter`. The runtime handles it as it handles a record
/// that failed conversion, per `errors.tolerance`: the task fails (`none`),
/// or the record is skipped, logged and sent to the dead letter queue (`all`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrantRecord {
    /// Index of the record in the `records` of the last `put`.
    pub index: usize,
    /// Why the destination refused it (`__connect.errors.exception.message`).
    pub reason: String,
}

/// A running sink task. The runtime calls [`open`](SinkTask::open) once,
/// then [`put`](SinkTask::put) with each batch of records read from Kafka
/// (converted and transformed) and [`flush`](SinkTask::flush) after it;
/// only once both succeed are the batch's offsets committed, so a batch
/// that fails is delivered again (at-least-once: `put` must tolerate
/// redelivery). [`close`](SinkTask::close) ends the task.
///
/// A `TaskError::Retriable` from `put` or `flush` makes the runtime back
/// off and deliver the same batch again; `TaskError::Fatal` fails the task.
#[async_trait]
pub trait SinkTask: Send {
    /// Connects to the destination. Separate from construction because
    /// construction (in the plugin) must stay free of I/O: the control plane
    /// links the plugins.
    async fn open(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError>;
    /// Makes everything `put` so far durable in the destination.
    async fn flush(&mut self) -> Result<(), TaskError> {
        Ok(())
    }
    /// The records of the last `put` the destination refused for good
    /// (see [`ErrantRecord`]); the runtime takes them once `put` and
    /// `flush` have succeeded, before it commits the batch's offsets. A
    /// task clears its list at the start of every `put`, so a retried batch
    /// reports only what its last attempt refused.
    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        Vec::new()
    }
    /// Releases connections; called once when the task stops (not after a
    /// failed `open`).
    async fn close(&mut self) {}
}

/// A connector plugin: config definition, validation, split into tasks,
/// clean-up after a delete, and (with the `runtime` feature) its tasks.
#[async_trait]
pub trait ConnectorPlugin: Send + Sync {
    /// Managed class name (`DatagenSource`), as in Confluent Cloud.
    fn class(&self) -> &'static str;
    /// Other names the plugin answers to (e.g. the self-managed Java class).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    fn connector_type(&self) -> ConnectorType;
    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
    /// Every config key the plugin understands, with type, default and docs.
    fn config_defs(&self) -> Vec<ConfigDef>;
    /// Plugin-specific checks beyond what the definitions express
    /// (types, required keys and enums are checked by [`validate`]).
    fn validate_extra(&self, _config: &Config) -> Vec<FieldError> {
        Vec::new()
    }
    /// Splits a valid connector config into at most `max_tasks` task configs.
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config>;
    /// Removes what a connector of this plugin left outside Tributary once
    /// it is deleted (workers never see deletes), such as a replication
    /// slot. The control plane runs it in the background after the delete
    /// has committed. `Ok(Some(what))` says what was removed, for the log;
    /// `Ok(None)`: nothing to do.
    async fn on_delete(
        &self,
        _connector: &dyn DeletedConnector,
    ) -> Result<Option<String>, CleanupError> {
        Ok(None)
    }
    /// Starts one source task from its task config (sources only), resuming
    /// from the connector's stored offsets.
    #[cfg(feature = "runtime")]
    fn start_source_task(
        &self,
        _config: &Config,
        _task_id: u32,
        _offsets: &[crate::protocol::SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Err(TaskError::Fatal(format!(
            "{} is not a source connector",
            self.class()
        )))
    }
    /// Builds one sink task from its task config (sinks only). Must not do
    /// I/O: the runtime calls [`SinkTask::open`] next.
    #[cfg(feature = "runtime")]
    fn start_sink_task(
        &self,
        _config: &Config,
        _task_id: u32,
    ) -> Result<Box<dyn SinkTask>, TaskError> {
        Err(TaskError::Fatal(format!(
            "{} is not a sink connector",
            self.class()
        )))
    }
}

/// Every built-in plugin.
pub fn catalogue() -> Vec<&'static dyn ConnectorPlugin> {
    vec![
        &datagen::DatagenPlugin,
        &jdbc::MySqlSink,
        &jdbc::PostgresSink,
        &http::HttpSink,
        &elasticsearch::ElasticsearchSink,
        &redis::RedisSink,
        &mqtt::MqttSource,
        &mqtt::MqttSink,
        &nats::NatsSource,
        &nats::NatsSink,
        &rabbitmq::RabbitMqSource,
        &rabbitmq::RabbitMqSink,
        &postgres_cdc::PostgresCdcSource,
        &mysql_cdc::MySqlCdcSource,
    ]
}

/// Finds a plugin by managed class name or alias.
pub fn find(class: &str) -> Option<&'static dyn ConnectorPlugin> {
    catalogue()
        .into_iter()
        .find(|p| p.class() == class || p.aliases().contains(&class))
}

/// Every key a connector of `plugin` takes, as listed and validated: the
/// common keys, the plugin's own, and for sources the error-handling and
/// delivery (exactly-once) keys every source accepts (sinks list theirs
/// through `sink_config`).
pub fn definitions(plugin: &dyn ConnectorPlugin) -> Vec<ConfigDef> {
    let mut defs = config::common_defs();
    defs.extend(plugin.config_defs());
    if plugin.connector_type() == ConnectorType::Source {
        for def in crate::runtime::errors::defs()
            .into_iter()
            .chain(source_config::defs())
        {
            if !defs.iter().any(|d| d.name == def.name) {
                defs.push(def);
            }
        }
    }
    defs
}

/// Full validation of a connector config against its plugin: every key of
/// [`definitions`], then the plugin's own checks. Returns every problem,
/// each naming its key.
pub fn validate(plugin: &dyn ConnectorPlugin, config: &Config) -> Vec<FieldError> {
    let mut errors = config::check_defs(&definitions(plugin), config);
    if plugin.connector_type() == ConnectorType::Source && errors.is_empty() {
        // What the definitions cannot express (ranges across keys).
        errors.extend(crate::runtime::errors::validate(config));
        errors.extend(source_config::validate(config));
    }
    if errors.is_empty() {
        errors.extend(plugin.validate_extra(config));
    }
    errors
}

/// `tasks.max` of a (validated) config; 1 when absent.
pub fn max_tasks(config: &Config) -> usize {
    config
        .get("tasks.max")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}
