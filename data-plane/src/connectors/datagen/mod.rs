//! Datagen source: generates mock records (Confluent Cloud's `DatagenSource`,
//! self-managed `io.confluent.kafka.connect.datagen.DatagenConnector`).

pub mod quickstarts;
pub mod settings;
pub mod task;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError, SourceTask, TaskError};

pub use quickstarts::Quickstart;
pub use settings::DatagenSettings;
pub use task::DatagenTask;

/// The key each task config carries, as upstream's `DatagenConnector` sets it.
pub const TASK_ID: &str = "task.id";

pub struct DatagenPlugin;

impl ConnectorPlugin for DatagenPlugin {
    fn class(&self) -> &'static str {
        "DatagenSource"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["io.confluent.kafka.connect.datagen.DatagenConnector"]
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

    /// Exactly `max_tasks` copies of the config, each with its `task.id`;
    /// every task generates independently (upstream does the same).
    fn task_configs(&self, config: &Config, max_tasks: usize) -> Vec<Config> {
        (0..max_tasks.max(1))
            .map(|i| {
                let mut c = config.clone();
                c.insert(TASK_ID.to_string(), i.to_string());
                c
            })
            .collect()
    }

    fn start_source_task(
        &self,
        config: &Config,
        task_id: u32,
        offsets: &[crate::protocol::SourceOffset],
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Ok(Box::new(
            DatagenTask::new(config, task_id)?.resume_from(offsets),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{find, max_tasks, validate};

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn orders(extra: &[(&str, &str)]) -> Config {
        let mut c = cfg(&[
            ("connector.class", "DatagenSource"),
            ("name", "orders-gen"),
            ("kafka.topic", "orders"),
            ("quickstart", "ORDERS"),
        ]);
        c.extend(cfg(extra));
        c
    }

    fn error_keys(config: &Config) -> Vec<String> {
        validate(&DatagenPlugin, config)
            .into_iter()
            .map(|e| e.key)
            .collect()
    }

    #[test]
    fn found_by_class_and_alias() {
        assert_eq!(
            find("DatagenSource").map(|p| p.class()),
            Some("DatagenSource")
        );
        assert_eq!(
            find("io.confluent.kafka.connect.datagen.DatagenConnector").map(|p| p.class()),
            Some("DatagenSource")
        );
    }

    #[test]
    fn confluent_cloud_example_config_is_valid() {
        let c = orders(&[
            ("quickstart", "pageviews"),
            ("output.data.format", "json"),
            ("max.interval", "10000"),
            ("tasks.max", "1"),
            ("kafka.auth.mode", "KAFKA_API_KEY"),
            ("kafka.api.key", "KEY"),
            ("kafka.api.secret", "SECRET"),
        ]);
        assert_eq!(validate(&DatagenPlugin, &c), vec![]);
    }

    #[test]
    fn validation_errors_name_the_key() {
        let mut no_topic = orders(&[]);
        no_topic.remove("kafka.topic");
        assert_eq!(error_keys(&no_topic), vec!["kafka.topic"]);

        assert_eq!(
            error_keys(&orders(&[("quickstart", "weather")])),
            vec!["quickstart"]
        );
        assert_eq!(
            error_keys(&orders(&[("max.interval", "-5")])),
            vec!["max.interval"]
        );
        assert_eq!(
            error_keys(&orders(&[("iterations", "lots")])),
            vec!["iterations"]
        );
        assert_eq!(
            error_keys(&orders(&[("random.seed", "1.5")])),
            vec!["random.seed"]
        );

        let mut neither = orders(&[]);
        neither.remove("quickstart");
        let errs = validate(&DatagenPlugin, &neither);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "quickstart");
        assert!(errs[0].message.contains("schema.string"), "{}", errs[0]);
    }

    #[test]
    fn unsupported_features_say_so() {
        assert!(validate(&DatagenPlugin, &orders(&[("output.data.format", "AVRO")])).is_empty());
        assert!(validate(
            &DatagenPlugin,
            &orders(&[("output.data.format", "JSON_SR")])
        )
        .is_empty());
        assert!(validate(
            &DatagenPlugin,
            &orders(&[("output.data.format", "PROTOBUF")])
        )
        .is_empty());
        let errs = validate(&DatagenPlugin, &orders(&[("output.data.format", "XML")]));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "output.data.format");

        let mut custom = orders(&[
            ("schema.string", "{\"type\":\"record\"}"),
            ("schema.keyfield", "id"),
        ]);
        custom.remove("quickstart");
        let errs = validate(&DatagenPlugin, &custom);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "schema.string");
        assert!(errs[0].message.contains("not supported yet"), "{}", errs[0]);
    }

    #[test]
    fn splits_into_tasks_max_configs_with_task_ids() {
        let c = orders(&[("tasks.max", "3")]);
        let tasks = DatagenPlugin.task_configs(&c, max_tasks(&c));
        assert_eq!(tasks.len(), 3);
        for (i, t) in tasks.iter().enumerate() {
            assert_eq!(t.get("task.id"), Some(&i.to_string()));
            assert_eq!(t.get("kafka.topic"), Some(&"orders".to_string()));
            assert_eq!(t.len(), c.len() + 1);
        }
    }

    #[test]
    fn starts_a_task_writing_to_the_topic() {
        let task = DatagenPlugin
            .start_source_task(&orders(&[]), 0, &[])
            .unwrap();
        assert_eq!(task.topics(), vec!["orders".to_string()]);
        let err = DatagenPlugin
            .start_source_task(&orders(&[("quickstart", "")]), 0, &[])
            .err();
        assert!(matches!(err, Some(TaskError::Fatal(m)) if m.contains("quickstart")));
    }
}
