//! Redis sink: writes records to Redis (Confluent Cloud's `RedisSink`,
//! self-managed `com.github.jcustenborder.kafka.connect.redis.RedisSinkConnector`).
//!
//! * [`settings`]: config keys, validation, typed settings.
//! * [`task`]: the `SinkTask`: one pipeline per batch, `SET` (or a whole
//!   hash per record with `redis.type=HASH`), tombstones `DEL`.
//!
//! Delivery is at-least-once, and idempotent: every write overwrites its
//! key, so a batch delivered again after a failure leaves the same state.

pub mod settings;
#[cfg(feature = "runtime")]
pub mod task;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SinkTask, TaskError};

pub use settings::RedisSettings;
#[cfg(feature = "runtime")]
pub use task::RedisSinkTask;

pub struct RedisSink;

impl ConnectorPlugin for RedisSink {
    fn class(&self) -> &'static str {
        "RedisSink"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["com.github.jcustenborder.kafka.connect.redis.RedisSinkConnector"]
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
        Ok(Box::new(RedisSinkTask::new(config)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{config::password_keys, find, validate};

    #[test]
    fn in_the_catalogue_with_a_valid_cloud_config() {
        assert_eq!(find("RedisSink").map(|p| p.class()), Some("RedisSink"));
        let c: Config = [
            ("connector.class", "RedisSink"),
            ("topics", "orders"),
            ("input.data.format", "STRING"),
            ("redis.hostname", "cache.example.com"),
            ("redis.portnumber", "6380"),
            ("redis.password", "pw"),
            ("redis.ssl.mode", "enabled"),
            ("tasks.max", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(validate(&RedisSink, &c), vec![]);
        assert!(password_keys(&RedisSink.config_defs()).contains(&"redis.password"));
        #[cfg(feature = "runtime")]
        assert!(RedisSink.start_sink_task(&c, 0).is_ok());
    }
}
