//! MQTT source and sink (Confluent's `MqttSource` and `MqttSink`,
//! self-managed `io.confluent.connect.mqtt.MqttSourceConnector` and
//! `MqttSinkConnector`), for MQTT 3.1.1 brokers such as Mosquitto.
//!
//! * [`settings`]: config keys, validation, typed settings.
//! * [`client`]: the client options source and sink connect with.
//! * [`source`]: subscribe, records keyed by MQTT topic; broker acks after
//!   Kafka acks (at-least-once with QoS 1/2 and a persistent session).
//! * [`sink`]: publish each record's value; offsets committed after the
//!   broker acknowledged the batch (at-least-once with QoS 1/2).

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
pub use sink::MqttSinkTask;
#[cfg(feature = "runtime")]
pub use source::MqttSourceTask;

pub struct MqttSource;

pub struct MqttSink;

impl ConnectorPlugin for MqttSource {
    fn class(&self) -> &'static str {
        "MqttSource"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.connect.mqtt.MqttSourceConnector"]
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
    /// The topic filters shared out in contiguous groups, one group per
    /// task (at most one task per filter), each with its `task.id`.
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        let filters = crate::connectors::config::list(config, settings::TOPICS);
        let n = max_tasks.max(1).min(filters.len().max(1));
        let (size, extra) = (filters.len() / n, filters.len() % n);
        let mut start = 0;
        (0..n)
            .map(|i| {
                let len = size + usize::from(i < extra);
                let mut c = config.clone();
                if !filters.is_empty() {
                    c.insert(
                        settings::TOPICS.into(),
                        filters[start..start + len].join(","),
                    );
                }
                c.insert(settings::TASK_ID.into(), i.to_string());
                start += len;
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
            MqttSourceTask::new(config, task_id)?.resume_from(offsets),
        ))
    }
}

impl ConnectorPlugin for MqttSink {
    fn class(&self) -> &'static str {
        "MqttSink"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.connect.mqtt.MqttSinkConnector"]
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
        Ok(Box::new(MqttSinkTask::new(config, task_id)?))
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
    fn both_are_in_the_catalogue_and_validate() {
        assert_eq!(
            find("MqttSource").map(|p| p.connector_type()),
            Some(ConnectorType::Source)
        );
        assert_eq!(
            find("MqttSink").map(|p| p.connector_type()),
            Some(ConnectorType::Sink)
        );
        let source = cfg(&[
            ("connector.class", "MqttSource"),
            ("mqtt.server.uri", "tcp://broker.example.com:1883"),
            ("mqtt.topics", "a/#"),
            ("kafka.topic", "k"),
            ("mqtt.qos", "2"),
        ]);
        assert_eq!(validate(&MqttSource, &source), vec![]);
        let sink = cfg(&[
            ("connector.class", "MqttSink"),
            ("topics", "k"),
            ("mqtt.server.uri", "ssl://broker.example.com"),
            ("mqtt.qos", "1"),
        ]);
        assert_eq!(validate(&MqttSink, &sink), vec![]);
        let mut bad = source.clone();
        bad.remove("kafka.topic");
        let keys: Vec<String> = validate(&MqttSource, &bad)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["kafka.topic"]);
    }

    #[test]
    fn filters_are_shared_out_among_tasks() {
        let c = cfg(&[("mqtt.topics", "a,b,c,d,e"), ("kafka.topic", "k")]);
        let tasks = MqttSource.task_configs(&c, 2);
        let filters: Vec<&str> = tasks.iter().map(|t| t["mqtt.topics"].as_str()).collect();
        assert_eq!(filters, vec!["a,b,c", "d,e"]);
        assert_eq!(tasks[1]["task.id"], "1");
        assert_eq!(MqttSource.task_configs(&c, 9).len(), 5);
    }
}
