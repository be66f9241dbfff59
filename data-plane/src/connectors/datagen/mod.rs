//! Datagen source: generates mock records (Confluent Cloud's `DatagenSource`,
//! self-managed `io.confluent.kafka.connect.datagen.DatagenConnector`).

pub mod generator;
pub mod quickstarts;
pub mod schema;
pub mod settings;
#[cfg(feature = "runtime")]
pub mod task;

use super::{Config, ConfigDef, ConnectorPlugin, ConnectorType, FieldError};
#[cfg(feature = "runtime")]
use super::{SourceTask, TaskError};

pub use quickstarts::Quickstart;
pub use settings::DatagenSettings;
#[cfg(feature = "runtime")]
pub use task::DatagenTask;

/// The Avro schemas of the records a Datagen config generates, without the
/// generator annotations (`arg.properties`): what a Schema Registry should
/// hold for the topic.
#[derive(Debug, Clone, PartialEq)]
pub struct AvroSchemas {
    /// The value schema: the quickstart's or `schema.string`'s record.
    pub value: serde_json::Value,
    /// The key schema: the key field's type; `None` when records have no key.
    pub key: Option<serde_json::Value>,
}

/// The Avro schemas for a (Datagen) connector config; the error names the
/// config key at fault (`quickstart`, `schema.string`, `schema.keyfield`).
pub fn avro_schemas(config: &Config) -> Result<AvroSchemas, FieldError> {
    settings::resolve_schema(config).map(|r| AvroSchemas::of(&r))
}

impl AvroSchemas {
    /// The schemas of an already resolved config.
    pub fn of(resolved: &settings::ResolvedSchema) -> AvroSchemas {
        let value = resolved.schema.avro_json();
        let key =
            resolved.key_field.as_deref().and_then(|k| {
                value.get("fields")?.as_array()?.iter().find_map(|f| {
                    (f.get("name")?.as_str()? == k).then(|| f.get("type").cloned())?
                })
            });
        AvroSchemas { value, key }
    }
}

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

    #[cfg(feature = "runtime")]
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
    }

    const READING: &str = r#"{"type":"record","name":"reading","fields":[
        {"name":"id","type":{"type":"long","arg.properties":{"iteration":{"start":1}}}},
        {"name":"level","type":{"type":"enum","name":"level","symbols":["LOW","HIGH"]}}]}"#;

    fn custom(extra: &[(&str, &str)]) -> Config {
        let mut c = orders(&[("schema.string", READING)]);
        c.remove("quickstart");
        c.extend(cfg(extra));
        c
    }

    #[test]
    fn schema_string_with_keyfield_is_valid() {
        assert_eq!(
            validate(&DatagenPlugin, &custom(&[("schema.keyfield", "id")])),
            vec![]
        );
        assert_eq!(validate(&DatagenPlugin, &custom(&[])), vec![]);
    }

    #[test]
    fn quickstart_and_schema_string_are_exclusive() {
        let mut both = custom(&[]);
        both.insert("quickstart".into(), "ORDERS".into());
        let errs = validate(&DatagenPlugin, &both);
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["quickstart", "schema.string"]);
        assert!(
            errs.iter().all(|e| e.message.contains("exactly one")),
            "{errs:?}"
        );
    }

    #[test]
    fn schema_string_errors_name_the_key() {
        let bad_json = custom(&[("schema.string", "{\"type\": \"record\", ")]);
        let errs = validate(&DatagenPlugin, &bad_json);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].key, "schema.string");
        assert!(
            errs[0]
                .message
                .contains("Unable to parse the provided schema"),
            "{}",
            errs[0]
        );

        let not_record = custom(&[("schema.string", "\"string\"")]);
        assert_eq!(error_keys(&not_record), vec!["schema.string"]);

        let bad_annotation = custom(&[(
            "schema.string",
            r#"{"type":"record","name":"r","fields":[{"name":"n","type":{"type":"int","arg.properties":{"range":{"min":9,"max":1}}}}]}"#,
        )]);
        let errs = validate(&DatagenPlugin, &bad_annotation);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.contains("n arg.properties"), "{}", errs[0]);

        let errs = validate(&DatagenPlugin, &custom(&[("schema.keyfield", "nope")]));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "schema.keyfield");
        assert!(errs[0].message.contains("id, level"), "{}", errs[0]);
        // The quickstart's fields too.
        assert_eq!(
            error_keys(&orders(&[("schema.keyfield", "userid")])),
            vec!["schema.keyfield"]
        );
    }

    #[test]
    fn schema_filename_is_refused() {
        let mut c = orders(&[("schema.filename", "/tmp/orders.avsc")]);
        assert_eq!(error_keys(&c), vec!["schema.filename"]);
        c.remove("quickstart");
        let errs = validate(&DatagenPlugin, &c);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "schema.filename");
        assert!(errs[0].message.contains("schema.string"), "{}", errs[0]);
    }

    #[test]
    fn every_quickstart_name_validates_in_any_case() {
        for name in Quickstart::NAMES {
            let lower = name.to_lowercase();
            assert_eq!(
                validate(&DatagenPlugin, &orders(&[("quickstart", &lower)])),
                vec![],
                "{name}"
            );
        }
    }

    #[test]
    fn avro_schemas_without_annotations() {
        let s = avro_schemas(&orders(&[])).unwrap();
        assert_eq!(s.value["name"], "orders");
        assert_eq!(s.key, Some(serde_json::json!({"type": "int"})));
        assert!(!s.value.to_string().contains("arg.properties"));
        let s = avro_schemas(&custom(&[("schema.keyfield", "level")])).unwrap();
        assert_eq!(
            s.value["fields"][0],
            serde_json::json!({"name":"id","type":{"type":"long"}})
        );
        assert_eq!(s.key.unwrap()["type"], "enum");
        assert_eq!(avro_schemas(&custom(&[])).unwrap().key, None);
        let err = avro_schemas(&orders(&[("quickstart", "nope")])).unwrap_err();
        assert_eq!(err.key, "quickstart");
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

    #[cfg(feature = "runtime")]
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
