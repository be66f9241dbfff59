//! Datagen's config keys, their definitions, and the typed settings a task
//! runs with.

use super::quickstarts::Quickstart;
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QUICKSTART: &str = "quickstart";
pub const SCHEMA_STRING: &str = "schema.string";
pub const SCHEMA_KEYFIELD: &str = "schema.keyfield";
pub const OUTPUT_DATA_FORMAT: &str = "output.data.format";
pub const MAX_INTERVAL: &str = "max.interval";
pub const ITERATIONS: &str = "iterations";
pub const RANDOM_SEED: &str = "random.seed";

/// Every format Confluent Cloud offers for sources.
const OUTPUT_FORMATS: &[&str] = &["AVRO", "JSON_SR", "PROTOBUF", "JSON"];

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "Datagen";
    vec![
        ConfigDef::new(KAFKA_TOPIC, String)
            .required()
            .group(GROUP)
            .doc("Topic name", "Topic to write generated records to; created if missing."),
        ConfigDef::new(QUICKSTART, String)
            .allowed(Quickstart::NAMES)
            .importance(Importance::High)
            .group(GROUP)
            .doc("Quickstart", "A canned record shape and key field (case-insensitive). Either quickstart or schema.string is required."),
        ConfigDef::new(SCHEMA_STRING, String)
            .group(GROUP)
            .doc("Schema string", "An Avro schema with arg.properties generators. Not supported yet."),
        ConfigDef::new(SCHEMA_KEYFIELD, String)
            .group(GROUP)
            .doc("Schema key field", "The field of schema.string whose value becomes the record key."),
        ConfigDef::new(OUTPUT_DATA_FORMAT, String)
            .default("JSON")
            .allowed(OUTPUT_FORMATS)
            .importance(Importance::High)
            .group(GROUP)
            .doc("Output record value format", "Format of the record values: JSON (plain), AVRO, JSON_SR or PROTOBUF (Schema Registry wire format; the schema is derived from the records and registered under <topic>-value in the environment's registry). A value.converter class overrides it."),
        ConfigDef::new(MAX_INTERVAL, Long)
            .default("1000")
            .min(0)
            .group(GROUP)
            .doc("Max interval between messages (ms)", "Each task waits a random time up to this long before each record; 0 generates as fast as Kafka accepts."),
        ConfigDef::new(ITERATIONS, Long)
            .default("-1")
            .group(GROUP)
            .doc("Number of messages", "Records each task generates before going idle; -1 (or any value below 1) means unlimited."),
        ConfigDef::new(RANDOM_SEED, Long)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Random seed", "Seed for the generator, so that every run produces the same records."),
    ]
}

/// Checks the definitions cannot express: which source of shape is given and
/// which formats are implemented. Each error names its key.
pub fn validate_extra(config: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let quickstart = non_empty(config, QUICKSTART);
    let schema = non_empty(config, SCHEMA_STRING);
    if schema.is_some() {
        errors.push(FieldError::new(
            SCHEMA_STRING,
            "schema.string is not supported yet; use quickstart with one of ".to_string()
                + &Quickstart::NAMES.join(", "),
        ));
    } else if quickstart.is_none() {
        errors.push(FieldError::new(
            QUICKSTART,
            format!(
                "Either quickstart or schema.string must be set; quickstart may be one of {}",
                Quickstart::NAMES.join(", ")
            ),
        ));
    }
    // output.data.format, key.converter and value.converter.
    errors.extend(crate::converters::validate(
        config,
        crate::connectors::ConnectorType::Source,
    ));
    errors
}

/// A task's typed settings, parsed from its task config.
#[derive(Debug, Clone, PartialEq)]
pub struct DatagenSettings {
    pub topic: String,
    pub quickstart: Quickstart,
    pub max_interval_ms: u64,
    /// `None` = unlimited.
    pub iterations: Option<u64>,
    pub random_seed: Option<i64>,
}

impl DatagenSettings {
    pub fn parse(config: &Config) -> Result<DatagenSettings, FieldError> {
        if let Some(e) = validate_extra(config).into_iter().next() {
            return Err(e);
        }
        let topic = non_empty(config, KAFKA_TOPIC)
            .ok_or_else(|| {
                FieldError::new(
                    KAFKA_TOPIC,
                    "Missing required configuration \"kafka.topic\"",
                )
            })?
            .to_string();
        let quickstart = non_empty(config, QUICKSTART)
            .and_then(Quickstart::parse)
            .ok_or_else(|| {
                FieldError::new(
                    QUICKSTART,
                    format!("must be one of {}", Quickstart::NAMES.join(", ")),
                )
            })?;
        let max_interval = long(config, MAX_INTERVAL)?.unwrap_or(1000);
        let max_interval_ms = u64::try_from(max_interval).map_err(|_| {
            FieldError::new(
                MAX_INTERVAL,
                format!("Invalid value {max_interval}: must be at least 0"),
            )
        })?;
        // Upstream treats any non-positive count as unlimited.
        let iterations = long(config, ITERATIONS)?
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0);
        let random_seed = long(config, RANDOM_SEED)?;
        Ok(DatagenSettings {
            topic,
            quickstart,
            max_interval_ms,
            iterations,
            random_seed,
        })
    }
}

fn non_empty<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn long(config: &Config, key: &str) -> Result<Option<i64>, FieldError> {
    non_empty(config, key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                FieldError::new(key, format!("Invalid value {v}: Not a number of type LONG"))
            })
        })
        .transpose()
}
