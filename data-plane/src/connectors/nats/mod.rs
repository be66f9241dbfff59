//! NATS JetStream source and sink (`NatsSource`, `NatsSink`).
//!
//! * [`settings`]: config keys, validation, typed settings.
//! * [`client`]: connecting, for source and sink.
//! * [`source`]: a durable pull consumer; messages acknowledged to the
//!   server once Kafka has their records (at-least-once); the stream
//!   sequence as source offset, to re-create a lost consumer where it was.
//! * [`sink`]: JetStream publish with `Nats-Msg-Id` de-duplication; offsets
//!   committed after the stream acknowledged the batch (at-least-once).

#[cfg(feature = "runtime")]
pub mod client;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod sink;
#[cfg(feature = "runtime")]
pub mod source;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SinkTask, SourceTask, TaskError};

#[cfg(feature = "runtime")]
pub use sink::NatsSinkTask;
#[cfg(feature = "runtime")]
pub use source::NatsSourceTask;

pub struct NatsSource;

pub struct NatsSink;

impl ConnectorPlugin for NatsSource {
    fn class(&self) -> &'static str {
        "NatsSource"
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
    /// `tasks.max` copies, each with its `task.id`: the tasks share the
    /// durable consumer, and the server spreads the messages over them.
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        (0..max_tasks.max(1))
            .map(|i| {
                let mut c = config.clone();
                c.insert("task.id".into(), i.to_string());
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
            NatsSourceTask::new(config, task_id)?.resume_from(offsets),
        ))
    }
}

impl ConnectorPlugin for NatsSink {
    fn class(&self) -> &'static str {
        "NatsSink"
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
        Ok(Box::new(NatsSinkTask::new(config, task_id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{find, validate};

    #[test]
    fn both_are_in_the_catalogue_and_validate() {
        let cfg = |pairs: &[(&str, &str)]| -> Config {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            find("NatsSource").map(|p| p.connector_type()),
            Some(ConnectorType::Source)
        );
        assert_eq!(
            find("NatsSink").map(|p| p.connector_type()),
            Some(ConnectorType::Sink)
        );
        let source = cfg(&[
            ("connector.class", "NatsSource"),
            (
                "nats.server.urls",
                "nats://n1.example.com:4222,nats://n2.example.com:4222",
            ),
            ("nats.stream", "ORDERS"),
            ("nats.subjects", "orders.>"),
            ("kafka.topic", "orders"),
            ("tasks.max", "2"),
        ]);
        assert_eq!(validate(&NatsSource, &source), vec![]);
        assert_eq!(NatsSource.task_configs(&source, 2)[1]["task.id"], "1");
        let sink = cfg(&[
            ("connector.class", "NatsSink"),
            ("topics", "orders"),
            ("nats.server.urls", "tls://n1.example.com:4222"),
            ("nats.subject", "kafka.${topic}"),
            ("nats.token", "t"),
        ]);
        assert_eq!(validate(&NatsSink, &sink), vec![]);
    }
}
