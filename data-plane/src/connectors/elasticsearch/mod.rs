//! Elasticsearch sink (Confluent Cloud's `ElasticsearchSink`, self-managed
//! `io.confluent.connect.elasticsearch.ElasticsearchSinkConnector`): writes
//! records as documents with the `_bulk` API, one index (or data stream)
//! per topic.
//!
//! * [`settings`]: config keys, validation, typed settings.
//! * [`bulk`]: records → `_bulk` operations, answers → per-item results.
//! * [`sink`]: the `SinkTask`: requests, retries, refused items as errant records.

pub mod bulk;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod sink;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SinkTask, TaskError};

pub use settings::EsSettings;
#[cfg(feature = "runtime")]
pub use sink::EsSinkTask;

pub const CLASS: &str = "ElasticsearchSink";

pub struct ElasticsearchSink;

impl ConnectorPlugin for ElasticsearchSink {
    fn class(&self) -> &'static str {
        CLASS
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"]
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::defs()
    }
    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate_extra(config)
    }
    /// Every task gets the same config: they share one consumer group.
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        vec![config.clone(); max_tasks.max(1)]
    }
    #[cfg(feature = "runtime")]
    fn start_sink_task(
        &self,
        config: &Config,
        _task_id: u32,
    ) -> Result<Box<dyn SinkTask>, TaskError> {
        Ok(Box::new(EsSinkTask::new(config)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{find, validate};

    fn cfg(extra: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("connector.class", CLASS),
            ("name", "es"),
            ("topics", "orders"),
            ("input.data.format", "JSON"),
            ("connection.url", "https://es.example.com:9243"),
            ("connection.username", "elastic"),
            ("connection.password", "pw"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    #[test]
    fn found_and_valid_and_bad_values_name_their_key() {
        assert_eq!(find(CLASS).map(|p| p.class()), Some(CLASS));
        assert_eq!(validate(&ElasticsearchSink, &cfg(&[])), vec![]);
        let keys = |extra: &[(&str, &str)]| {
            validate(&ElasticsearchSink, &cfg(extra))
                .into_iter()
                .map(|e| e.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&[("connection.url", "es:9200")]),
            vec!["connection.url"]
        );
        assert_eq!(keys(&[("write.method", "MERGE")]), vec!["write.method"]);
        assert_eq!(
            keys(&[("data.stream.type", "LOGS")]),
            vec!["data.stream.dataset"]
        );
        #[cfg(feature = "runtime")]
        assert!(ElasticsearchSink.start_sink_task(&cfg(&[]), 0).is_ok());
    }
}
