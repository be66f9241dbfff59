//! RabbitMQ source and sink (Confluent's `RabbitMQSource` and
//! `RabbitMQSink`, self-managed `io.confluent.connect.rabbitmq.RabbitMQSourceConnector`
//! and `io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector`), over
//! AMQP 0.9.1.
//!
//! * [`settings`]: config keys, validation, typed settings.
//! * [`client`]: connecting, and what the client's errors mean for a task.
//! * [`source`]: consume queues with manual acknowledgements, sent once
//!   Kafka has the records (at-least-once: what was not acknowledged is
//!   delivered again after a crash).
//! * [`sink`]: publish to an exchange with publisher confirms; offsets
//!   committed once the server confirmed the whole batch (at-least-once).

#[cfg(feature = "runtime")]
pub mod client;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod sink;
#[cfg(feature = "runtime")]
pub mod source;

/// The AMQP client the connectors use, for tests and tools that talk to
/// the same RabbitMQ with the same client version.
#[cfg(feature = "runtime")]
pub use lapin;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SinkTask, SourceTask, TaskError};

#[cfg(feature = "runtime")]
pub use sink::RabbitMqSinkTask;
#[cfg(feature = "runtime")]
pub use source::RabbitMqSourceTask;

pub struct RabbitMqSource;

pub struct RabbitMqSink;

impl ConnectorPlugin for RabbitMqSource {
    fn class(&self) -> &'static str {
        "RabbitMQSource"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.connect.rabbitmq.RabbitMQSourceConnector"]
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Source
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::source_defs()
    }
    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate_source(config)
    }
    /// `tasks.max` copies, each with its `task.id`: every task consumes
    /// every queue, and RabbitMQ shares the messages out among them. The
    /// value format defaults to BYTES in the task configs, so the runtime's
    /// converter writes the body as it is, as Confluent's connector does.
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        let mut base = config.clone();
        if settings::value_format_unset(config) {
            base.insert(settings::OUTPUT_DATA_FORMAT.into(), "BYTES".into());
        }
        (0..max_tasks.max(1))
            .map(|i| {
                let mut c = base.clone();
                c.insert(settings::TASK_ID.into(), i.to_string());
                c
            })
            .collect()
    }
    #[cfg(feature = "runtime")]
    fn start_source_task(
        &self,
        config: &Config,
        task_id: u32,
        offsets: &[crate::protocol::SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Ok(Box::new(
            RabbitMqSourceTask::new(config, task_id)?.resume_from(offsets),
        ))
    }
}

impl ConnectorPlugin for RabbitMqSink {
    fn class(&self) -> &'static str {
        "RabbitMQSink"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector"]
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::sink_defs()
    }
    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate_sink(config)
    }
    /// Every task gets the same config: they share one consumer group.
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        vec![config.clone(); max_tasks.max(1)]
    }
    #[cfg(feature = "runtime")]
    fn start_sink_task(
        &self,
        config: &Config,
        task_id: u32,
    ) -> Result<Box<dyn SinkTask>, TaskError> {
        Ok(Box::new(RabbitMqSinkTask::new(config, task_id)?))
    }
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

    #[test]
    fn both_are_in_the_catalogue_under_both_names() {
        for (name, kind) in [
            ("RabbitMQSource", ConnectorType::Source),
            (
                "io.confluent.connect.rabbitmq.RabbitMQSourceConnector",
                ConnectorType::Source,
            ),
            ("RabbitMQSink", ConnectorType::Sink),
            (
                "io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector",
                ConnectorType::Sink,
            ),
        ] {
            assert_eq!(find(name).map(|p| p.connector_type()), Some(kind), "{name}");
        }
    }

    #[test]
    fn valid_configs_pass_and_bad_ones_name_their_keys() {
        let source = cfg(&[
            ("connector.class", "RabbitMQSource"),
            ("rabbitmq.host", "rabbit.example.com"),
            ("rabbitmq.queue", "orders,returns"),
            ("kafka.topic", "orders"),
            ("rabbitmq.prefetch.count", "100"),
        ]);
        assert_eq!(validate(&RabbitMqSource, &source), vec![]);
        let sink = cfg(&[
            ("connector.class", "RabbitMQSink"),
            ("topics", "orders"),
            ("rabbitmq.host", "rabbit.example.com"),
            ("rabbitmq.exchange", "shop"),
            ("rabbitmq.routing.key", "orders"),
            ("rabbitmq.delivery.mode", "TRANSIENT"),
        ]);
        assert_eq!(validate(&RabbitMqSink, &sink), vec![]);

        let mut bad = source.clone();
        bad.remove("rabbitmq.queue");
        bad.insert("rabbitmq.port".into(), "many".into());
        let keys: Vec<String> = validate(&RabbitMqSource, &bad)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["rabbitmq.port", "rabbitmq.queue"]);
        let mut bad = sink.clone();
        bad.remove("rabbitmq.exchange");
        bad.insert("rabbitmq.delivery.mode".into(), "DURABLE".into());
        let keys: Vec<String> = validate(&RabbitMqSink, &bad)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["rabbitmq.exchange", "rabbitmq.delivery.mode"]);
    }

    #[test]
    fn tasks_share_the_queues_and_write_bytes_by_default() {
        let c = cfg(&[("rabbitmq.queue", "a"), ("kafka.topic", "k")]);
        let tasks = RabbitMqSource.task_configs(&c, 3);
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[2]["task.id"], "2");
        assert!(tasks.iter().all(|t| t["rabbitmq.queue"] == "a"));
        assert_eq!(tasks[0]["output.data.format"], "BYTES");
        let json = cfg(&[("output.data.format", "JSON")]);
        assert_eq!(
            RabbitMqSource.task_configs(&json, 1)[0]["output.data.format"],
            "JSON"
        );
    }
}
