//! Keys every sink connector accepts (what to consume, how to read it, what
//! to do with records that cannot be read), their definitions, and the typed
//! settings the sink runtime runs with. Sink plugins include [`defs`] in
//! their own definitions and [`validate`] in their own checks, so the
//! control plane lists and validates them like any plugin key.

use std::time::Duration;

use super::config::{flag, list, non_empty, number};
use super::{Config, ConfigDef, ConfigType, ConnectorType, FieldError, Importance};
use crate::converters::{self, Format, Side};
use crate::runtime::errors::{self as error_handling, ErrorSettings};

pub const TOPICS: &str = "topics";
pub const TOPICS_REGEX: &str = "topics.regex";
pub const INPUT_DATA_FORMAT: &str = "input.data.format";
pub const INPUT_KEY_FORMAT: &str = "input.key.format";
pub use crate::runtime::errors::{
    ERRORS_LOG_ENABLE, ERRORS_LOG_INCLUDE_MESSAGES, ERRORS_RETRY_DELAY_MAX_MS,
    ERRORS_RETRY_TIMEOUT, ERRORS_TOLERANCE,
};
pub const DLQ_TOPIC: &str = "errors.deadletterqueue.topic.name";
pub const DLQ_REPLICATION: &str = "errors.deadletterqueue.topic.replication.factor";
pub const DLQ_CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";
pub const MAX_POLL_RECORDS: &str = "max.poll.records";
pub const MAX_POLL_INTERVAL_MS: &str = "max.poll.interval.ms";
/// Confluent Cloud's JDBC sinks size their batches with this key; the
/// runtime honours it for every sink (see [`SinkSettings::batch_size`]).
pub const BATCH_SIZES: &str = "batch.sizes";
pub const AUTO_OFFSET_RESET: &str = "consumer.override.auto.offset.reset";
pub const ISOLATION_LEVEL: &str = "consumer.override.isolation.level";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";

/// Every format Confluent Cloud offers for sinks.
const DATA_FORMATS: &[&str] = &["AVRO", "JSON_SR", "PROTOBUF", "JSON", "STRING", "BYTES"];
const DEFAULT_BATCH: usize = 500;
const DEFAULT_MAX_RETRIES: u32 = 10;
const DEFAULT_RETRY_BACKOFF_MS: u64 = 3000;
const DEFAULT_MAX_POLL_INTERVAL_MS: u64 = 300_000;

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "Input";
    const ERRORS: &str = "Error handling";
    let mut defs = vec![
        ConfigDef::new(TOPICS, List)
            .importance(Importance::High)
            .group(GROUP)
            .doc("Topic names", "Comma-separated topics to read. Exactly one of topics and topics.regex is required."),
        ConfigDef::new(TOPICS_REGEX, String)
            .group(GROUP)
            .doc("Topics regex", "Reads every topic whose whole name matches this regular expression."),
        ConfigDef::new(INPUT_DATA_FORMAT, String)
            .default("JSON")
            .allowed(DATA_FORMATS)
            .importance(Importance::High)
            .group(GROUP)
            .doc("Input record value format", "Format of the record values: AVRO, JSON_SR or PROTOBUF (Schema Registry wire format, schemas from the environment's registry), JSON (plain, or the {\"schema\",\"payload\"} envelope), STRING or BYTES. A value.converter class overrides it."),
        ConfigDef::new(INPUT_KEY_FORMAT, String)
            .allowed(DATA_FORMATS)
            .group(GROUP)
            .doc("Input record key format", "Format of the record keys: AVRO, JSON_SR, PROTOBUF, JSON, STRING or BYTES. Unset, a key is read as JSON when it parses and as a string otherwise. A key.converter class overrides it."),
        ConfigDef::new(MAX_POLL_RECORDS, Int)
            .default("500")
            .min(1)
            .group(GROUP)
            .doc("Max poll records", "Most records handed to the connector at once."),
        ConfigDef::new(MAX_POLL_INTERVAL_MS, Int)
            .default("300000")
            .min(1)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Max poll interval (ms)", "How long one batch may take before the consumer leaves its group and its partitions move to another task."),
        ConfigDef::new(AUTO_OFFSET_RESET, String)
            .default("earliest")
            .allowed(&["earliest", "latest", "none"])
            .group(GROUP)
            .doc("Auto offset reset", "Where to start reading a partition that has no committed offset."),
        ConfigDef::new(ISOLATION_LEVEL, String)
            .allowed(&["read_uncommitted", "read_committed"])
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Isolation level", "read_committed skips records of aborted transactions."),
        ConfigDef::new(MAX_RETRIES, Int)
            .default("10")
            .min(0)
            .importance(Importance::Low)
            .group(ERRORS)
            .doc("Max retries", "How often writing a batch (put and flush) that the destination refused for a transient reason is retried before the task fails. Conversions and transforms retry per errors.retry.timeout instead."),
        ConfigDef::new(RETRY_BACKOFF_MS, Int)
            .default("3000")
            .min(0)
            .importance(Importance::Low)
            .group(ERRORS)
            .doc("Retry backoff (ms)", "Wait before the first retry of a batch the destination refused for a transient reason; doubles with each retry, up to a minute."),
    ];
    // errors.tolerance, errors.retry.*, errors.log.*: shared with sources.
    defs.extend(error_handling::defs());
    defs.extend([
        ConfigDef::new(DLQ_TOPIC, String)
            .group(ERRORS)
            .doc("Dead letter queue topic", "Topic that receives the original bytes of every skipped record; created with one partition if missing."),
        ConfigDef::new(DLQ_REPLICATION, Int)
            .default("1")
            .min(1)
            .importance(Importance::Low)
            .group(ERRORS)
            .doc("Dead letter queue replication factor", "Replication factor of the dead letter queue topic when it is created."),
        ConfigDef::new(DLQ_CONTEXT_HEADERS, Boolean)
            .default("true")
            .importance(Importance::Low)
            .group(ERRORS)
            .doc("Dead letter queue context headers", "Add __connect.errors.* headers (origin topic, partition, offset, stage, exception) to dead letter records."),
    ]);
    defs
}

/// Checks the definitions cannot express; each error names its key.
pub fn validate(config: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let topics = topic_list(config);
    let regex = non_empty(config, TOPICS_REGEX);
    match (topics.is_empty(), regex) {
        (true, None) => errors.push(FieldError::new(
            TOPICS,
            "Must configure one of topics or topics.regex",
        )),
        (false, Some(_)) => errors.push(FieldError::new(
            TOPICS,
            "topics and topics.regex are mutually exclusive; set only one",
        )),
        _ => {}
    }
    // key.converter / value.converter and the data formats.
    errors.extend(converters::validate(config, ConnectorType::Sink));
    errors.extend(error_handling::validate(config));
    if let Some(dlq) = non_empty(config, DLQ_TOPIC) {
        if topics.iter().any(|t| t == dlq) {
            errors.push(FieldError::new(
                DLQ_TOPIC,
                format!("The dead letter queue topic {dlq} cannot be one of the topics this connector reads"),
            ));
        }
    }
    errors
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    Topics(Vec<String>),
    /// A regular expression the whole topic name must match.
    Regex(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQueue {
    pub topic: String,
    pub replication_factor: i32,
    pub context_headers: bool,
}

/// The typed settings the sink runtime runs a task with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSettings {
    pub subscription: Subscription,
    /// How values and keys are read (see [`converters::select`]).
    pub value_format: Format,
    pub key_format: Format,
    /// `errors.tolerance`, `errors.retry.*`, `errors.log.*`.
    pub errors: ErrorSettings,
    pub dead_letter_queue: Option<DeadLetterQueue>,
    /// Most records per `put`: `max.poll.records` when set, else
    /// `batch.sizes`, else 500. Batches are not tied to `max.poll.records`
    /// alone (a known limit of the Java JDBC sink).
    pub batch_size: usize,
    pub max_poll_interval_ms: u64,
    pub auto_offset_reset: String,
    pub isolation_level: Option<String>,
    pub max_retries: u32,
    pub retry_backoff: Duration,
}

impl SinkSettings {
    pub fn parse(config: &Config) -> Result<SinkSettings, FieldError> {
        if let Some(e) = validate(config).into_iter().next() {
            return Err(e);
        }
        let subscription = match non_empty(config, TOPICS_REGEX) {
            Some(regex) => Subscription::Regex(regex.to_string()),
            None => Subscription::Topics(topic_list(config)),
        };
        let value_format = converters::select(config, ConnectorType::Sink, Side::Value)?;
        let key_format = converters::select(config, ConnectorType::Sink, Side::Key)?;
        let dead_letter_queue = match non_empty(config, DLQ_TOPIC) {
            None => None,
            Some(topic) => Some(DeadLetterQueue {
                topic: topic.to_string(),
                replication_factor: number(config, DLQ_REPLICATION, 1)?,
                context_headers: flag(config, DLQ_CONTEXT_HEADERS, true)?,
            }),
        };
        let batch_size = match non_empty(config, MAX_POLL_RECORDS) {
            Some(_) => number(config, MAX_POLL_RECORDS, DEFAULT_BATCH)?,
            None => number(config, BATCH_SIZES, DEFAULT_BATCH)?,
        };
        Ok(SinkSettings {
            subscription,
            value_format,
            key_format,
            errors: ErrorSettings::parse(config)?,
            dead_letter_queue,
            batch_size: batch_size.max(1),
            max_poll_interval_ms: number(
                config,
                MAX_POLL_INTERVAL_MS,
                DEFAULT_MAX_POLL_INTERVAL_MS,
            )?,
            auto_offset_reset: non_empty(config, AUTO_OFFSET_RESET)
                .unwrap_or("earliest")
                .to_ascii_lowercase(),
            isolation_level: non_empty(config, ISOLATION_LEVEL).map(str::to_ascii_lowercase),
            max_retries: number(config, MAX_RETRIES, DEFAULT_MAX_RETRIES)?,
            retry_backoff: Duration::from_millis(number(
                config,
                RETRY_BACKOFF_MS,
                DEFAULT_RETRY_BACKOFF_MS,
            )?),
        })
    }
}

/// The `topics` list, trimmed, without empty entries.
pub fn topic_list(config: &Config) -> Vec<String> {
    list(config, TOPICS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_kafka_connect() {
        let s = SinkSettings::parse(&cfg(&[("topics", "orders, users,")])).unwrap();
        assert_eq!(
            s.subscription,
            Subscription::Topics(vec!["orders".into(), "users".into()])
        );
        assert_eq!(s.value_format, Format::Json { schemas: false });
        assert_eq!(s.key_format, Format::JsonOrString);
        assert_eq!(s.errors, ErrorSettings::default());
        assert_eq!(s.dead_letter_queue, None);
        assert_eq!(s.batch_size, 500);
        assert_eq!(s.auto_offset_reset, "earliest");
        assert_eq!(s.max_retries, 10);
    }

    #[test]
    fn batch_size_prefers_max_poll_records_then_batch_sizes() {
        let s = SinkSettings::parse(&cfg(&[("topics", "t"), ("batch.sizes", "3000")])).unwrap();
        assert_eq!(s.batch_size, 3000);
        let s = SinkSettings::parse(&cfg(&[
            ("topics", "t"),
            ("batch.sizes", "3000"),
            ("max.poll.records", "50"),
        ]))
        .unwrap();
        assert_eq!(s.batch_size, 50);
    }

    #[test]
    fn topics_and_regex_are_exclusive_and_one_is_required() {
        assert_eq!(validate(&cfg(&[]))[0].key, "topics");
        assert_eq!(
            validate(&cfg(&[("topics", "a"), ("topics.regex", "a.*")]))[0].key,
            "topics"
        );
        let s = SinkSettings::parse(&cfg(&[("topics.regex", "orders-.*")])).unwrap();
        assert_eq!(s.subscription, Subscription::Regex("orders-.*".into()));
    }

    #[test]
    fn unsupported_formats_and_dlq_on_an_input_topic_are_refused() {
        let errs = validate(&cfg(&[("topics", "t"), ("input.data.format", "XML")]));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "input.data.format");
        assert!(errs[0].message.contains("must be one of"));
        let s = SinkSettings::parse(&cfg(&[("topics", "t"), ("input.data.format", "PROTOBUF")]));
        assert_eq!(s.map(|s| s.value_format), Ok(Format::Protobuf));
        let s = SinkSettings::parse(&cfg(&[("topics", "t"), ("input.data.format", "AVRO")]));
        assert_eq!(s.map(|s| s.value_format), Ok(Format::Avro));

        let errs = validate(&cfg(&[
            ("topics", "t,u"),
            ("errors.deadletterqueue.topic.name", "u"),
        ]));
        assert_eq!(errs[0].key, DLQ_TOPIC);
    }

    #[test]
    fn error_handling_keys_are_defined_validated_and_parsed() {
        let defs = defs();
        for key in [
            ERRORS_TOLERANCE,
            ERRORS_RETRY_TIMEOUT,
            ERRORS_RETRY_DELAY_MAX_MS,
            ERRORS_LOG_ENABLE,
            ERRORS_LOG_INCLUDE_MESSAGES,
            MAX_RETRIES,
            RETRY_BACKOFF_MS,
        ] {
            let def = defs.iter().find(|d| d.name == key);
            assert!(
                def.is_some_and(|d| !d.documentation.is_empty()),
                "{key} is not documented"
            );
        }
        assert_eq!(
            defs.iter()
                .find(|d| d.name == ERRORS_RETRY_TIMEOUT)
                .and_then(|d| d.default_value),
            Some("0")
        );
        let errs = validate(&cfg(&[("topics", "t"), ("errors.retry.timeout", "-5")]));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, ERRORS_RETRY_TIMEOUT);
        assert!(errs[0].message.contains("must be an integer ≥ -1"));
        let errs = validate(&cfg(&[
            ("topics", "t"),
            ("errors.retry.delay.max.ms", "soon"),
        ]));
        assert_eq!(errs[0].key, ERRORS_RETRY_DELAY_MAX_MS);
        let s = SinkSettings::parse(&cfg(&[
            ("topics", "t"),
            ("errors.retry.timeout", "600000"),
            ("errors.retry.delay.max.ms", "30000"),
        ]))
        .unwrap();
        assert_eq!(s.errors.retry_timeout, Some(Duration::from_secs(600)));
        assert_eq!(s.errors.retry_delay_max, Duration::from_secs(30));
        let err = SinkSettings::parse(&cfg(&[("topics", "t"), ("max.retries", "-1")])).unwrap_err();
        assert_eq!(err.key, MAX_RETRIES);
    }

    #[test]
    fn dead_letter_queue_settings() {
        let s = SinkSettings::parse(&cfg(&[
            ("topics", "t"),
            ("errors.tolerance", "ALL"),
            ("errors.deadletterqueue.topic.name", "dlq-t"),
        ]))
        .unwrap();
        assert!(s.errors.tolerate);
        assert_eq!(
            s.dead_letter_queue,
            Some(DeadLetterQueue {
                topic: "dlq-t".into(),
                replication_factor: 1,
                context_headers: true,
            })
        );
    }
}
