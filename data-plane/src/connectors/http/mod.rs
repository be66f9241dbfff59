//! HTTP sink: sends records to an HTTP(S) endpoint (Confluent Cloud's
//! `HttpSink`, self-managed `io.confluent.connect.http.HttpSinkConnector`).
//!
//! * [`settings`]: config keys, validation, typed settings.
//! * [`template`]: `${topic}`, `${key}`, … in the URL and the body template.
//! * [`batch`]: records → requests (bodies, batching per URL).
//! * [`task`]: the `SinkTask`: sending, retries with backoff and
//!   `Retry-After`, refused records reported as errant.
//!
//! Delivery is at-least-once: offsets are committed only after every
//! request of a batch succeeded (or its records were refused and handled
//! per `errors.tolerance`); a batch interrupted by a failure or a crash is
//! sent again, so the endpoint may see a record twice.

#[cfg(feature = "runtime")]
pub mod batch;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod task;
pub mod template;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SinkTask, TaskError};

pub use settings::HttpSettings;
#[cfg(feature = "runtime")]
pub use task::HttpSinkTask;

pub struct HttpSink;

impl ConnectorPlugin for HttpSink {
    fn class(&self) -> &'static str {
        "HttpSink"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.connect.http.HttpSinkConnector"]
    }
    fn connector_type(&self) -> ConnectorType {
        ConnectorType::Sink
    }
    fn config_defs(&self) -> Vec<ConfigDef> {
        settings::defs()
    }
    fn validate_extra(&self, config: &Config) -> Vec<FieldError> {
        settings::validate(config)
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
        Ok(Box::new(HttpSinkTask::new(config)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{config::password_keys, find, validate};

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn found_by_class_and_alias_with_its_secrets() {
        assert_eq!(find("HttpSink").map(|p| p.class()), Some("HttpSink"));
        assert_eq!(
            find("io.confluent.connect.http.HttpSinkConnector").map(|p| p.connector_type()),
            Some(ConnectorType::Sink)
        );
        let secrets = password_keys(&HttpSink.config_defs());
        assert!(secrets.contains(&"connection.password") && secrets.contains(&"bearer.token"));
    }

    #[test]
    fn confluent_cloud_style_config_is_valid() {
        let c = cfg(&[
            ("connector.class", "HttpSink"),
            ("name", "orders-to-api"),
            ("topics", "orders"),
            ("input.data.format", "JSON"),
            ("http.api.url", "https://api.example.com/orders"),
            ("request.method", "PUT"),
            ("request.body.format", "json"),
            ("batch.max.size", "50"),
            ("batch.json.as.array", "true"),
            ("auth.type", "BASIC"),
            ("connection.user", "svc"),
            ("connection.password", "pw"),
            ("headers", "X-Source:kafka"),
            ("retry.on.status.codes", "400-"),
            ("errors.tolerance", "all"),
            ("tasks.max", "2"),
        ]);
        assert_eq!(validate(&HttpSink, &c), vec![]);
        assert_eq!(HttpSink.task_configs(&c, 2).len(), 2);
        let mut bad = c.clone();
        bad.insert("request.method".into(), "GET".into());
        bad.remove("http.api.url");
        let keys: Vec<String> = validate(&HttpSink, &bad)
            .into_iter()
            .map(|e| e.key)
            .collect();
        assert_eq!(keys, vec!["http.api.url", "request.method"]);
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn tasks_start_without_connecting() {
        let c = cfg(&[("topics", "t"), ("http.api.url", "https://192.0.2.1/x")]);
        assert!(HttpSink.start_sink_task(&c, 0).is_ok());
        let err = HttpSink.start_sink_task(&cfg(&[("topics", "t")]), 0).err();
        assert!(matches!(err, Some(TaskError::Fatal(m)) if m.contains("http.api.url")));
    }
}
