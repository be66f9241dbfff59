//! Datagen's config keys, their definitions, and the typed settings a task
//! runs with.

use super::quickstarts::Quickstart;
use super::schema::DatagenSchema;
use crate::connectors::config::non_empty;
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QUICKSTART: &str = "quickstart";
pub const SCHEMA_STRING: &str = "schema.string";
pub const SCHEMA_KEYFIELD: &str = "schema.keyfield";
/// Self-managed only: refused, a managed worker has no files of the user's.
pub const SCHEMA_FILENAME: &str = "schema.filename";
pub const OUTPUT_DATA_FORMAT: &str = "output.data.format";
pub const MAX_INTERVAL: &str = "max.interval";
pub const ITERATIONS: &str = "iterations";
pub const RANDOM_SEED: &str = "random.seed";

/// Every format Confluent Cloud offers for sources.
const OUTPUT_FORMATS: &[&str] = &["AVRO", "JSON_SR", "PROTOBUF", "JSON"];

/// Upstream's `SCHEMA_SOURCE_ERR`, for the sources this service offers.
const SCHEMA_SOURCE_ERR: &str = "Must set exactly one of quickstart or schema.string";

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
            .doc("Quickstart", "A built-in schema specification of kafka-connect-datagen (case-insensitive), with its key field. Cannot be used with schema.string."),
        ConfigDef::new(SCHEMA_STRING, String)
            .group(GROUP)
            .doc("Schema string", "The literal JSON-encoded Avro schema to use, a record whose types may carry arg.properties generator annotations (options, range, regex, iteration, length, keys). Cannot be set with quickstart."),
        ConfigDef::new(SCHEMA_KEYFIELD, String)
            .group(GROUP)
            .doc("Schema key field", "Name of the top-level field to use as message key. Optional with quickstart (each quickstart has its key field); without it, schema.string records have no key."),
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
            .doc("Random seed", "Numeric seed for generating random data: two connectors started with the same seed produce the same data; each task of a connector generates different data."),
    ]
}

/// The parsed value schema of a config and the field that becomes the key.
#[derive(Debug, Clone)]
pub struct ResolvedSchema {
    pub schema: DatagenSchema,
    /// A top-level field of `schema`; `None`: records have no key.
    pub key_field: Option<String>,
}

/// Resolves `quickstart` or `schema.string` (exactly one must be set) and
/// `schema.keyfield`; errors name the key at fault.
pub fn resolve_schema(config: &Config) -> Result<ResolvedSchema, FieldError> {
    let quickstart = non_empty(config, QUICKSTART);
    let schema_string = non_empty(config, SCHEMA_STRING);
    let (schema, default_key) = match (quickstart, schema_string) {
        (Some(_), Some(_)) => return Err(FieldError::new(SCHEMA_STRING, SCHEMA_SOURCE_ERR)),
        (None, None) => {
            return Err(FieldError::new(
                QUICKSTART,
                format!(
                    "{SCHEMA_SOURCE_ERR}; quickstart may be one of {}",
                    Quickstart::NAMES.join(", ")
                ),
            ))
        }
        (Some(name), None) => {
            let q = Quickstart::parse(name).ok_or_else(|| {
                FieldError::new(
                    QUICKSTART,
                    format!(
                        "Invalid value {name}: must be one of {}",
                        Quickstart::NAMES.join(", ")
                    ),
                )
            })?;
            // The embedded schemas are covered by tests; still no panic here.
            let schema = q.schema().map_err(|e| {
                FieldError::new(
                    QUICKSTART,
                    format!("quickstart {} is broken: {e}", q.name()),
                )
            })?;
            (schema, Some(q.key_field()))
        }
        (None, Some(text)) => {
            let schema = DatagenSchema::parse(text).map_err(|e| {
                FieldError::new(
                    SCHEMA_STRING,
                    format!("Unable to parse the provided schema: {e}"),
                )
            })?;
            (schema, None)
        }
    };
    let key_field = match non_empty(config, SCHEMA_KEYFIELD) {
        Some(k) => {
            if schema.field(k).is_none() {
                let fields: Vec<&str> = schema.fields().iter().map(|f| f.name.as_str()).collect();
                return Err(FieldError::new(
                    SCHEMA_KEYFIELD,
                    format!(
                        "{k} is not a field of the schema; its fields are {}",
                        fields.join(", ")
                    ),
                ));
            }
            Some(k.to_string())
        }
        None => default_key.map(str::to_string),
    };
    Ok(ResolvedSchema { schema, key_field })
}

/// Checks the definitions cannot express: the schema source (exactly one of
/// `quickstart` and `schema.string`, a schema that parses, a key field it
/// has) and the output formats. Each error names its key.
pub fn validate_extra(config: &Config) -> Vec<FieldError> {
    checked(config).err().unwrap_or_default()
}

/// [`validate_extra`]'s checks, and the schema they resolved when they pass
/// (so a task parses its schema once).
fn checked(config: &Config) -> Result<ResolvedSchema, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut resolved = None;
    let filename = non_empty(config, SCHEMA_FILENAME).is_some();
    if filename {
        errors.push(FieldError::new(
            SCHEMA_FILENAME,
            "schema.filename is not available on the managed service (connectors cannot read files on the workers); put the schema into schema.string instead",
        ));
    }
    let both =
        non_empty(config, QUICKSTART).is_some() && non_empty(config, SCHEMA_STRING).is_some();
    if both {
        // Upstream marks every schema source that was set.
        errors.push(FieldError::new(QUICKSTART, SCHEMA_SOURCE_ERR));
        errors.push(FieldError::new(SCHEMA_STRING, SCHEMA_SOURCE_ERR));
    } else {
        match resolve_schema(config) {
            Ok(r) => resolved = Some(r),
            // With schema.filename set, its own error says what to do instead.
            Err(e)
                if filename && e.key == QUICKSTART && non_empty(config, QUICKSTART).is_none() => {}
            Err(e) => errors.push(e),
        }
    }
    // output.data.format, key.converter and value.converter.
    errors.extend(crate::converters::validate(
        config,
        crate::connectors::ConnectorType::Source,
    ));
    match resolved {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(errors),
    }
}

/// A task's typed settings, parsed from its task config.
#[derive(Debug, Clone)]
pub struct DatagenSettings {
    pub topic: String,
    pub schema: ResolvedSchema,
    pub max_interval_ms: u64,
    /// `None` = unlimited.
    pub iterations: Option<u64>,
    pub random_seed: Option<i64>,
}

impl DatagenSettings {
    pub fn parse(config: &Config) -> Result<DatagenSettings, FieldError> {
        let schema = checked(config).map_err(|errors| {
            errors
                .into_iter()
                .next()
                .unwrap_or_else(|| FieldError::new(QUICKSTART, SCHEMA_SOURCE_ERR))
        })?;
        let topic = non_empty(config, KAFKA_TOPIC)
            .ok_or_else(|| {
                FieldError::new(
                    KAFKA_TOPIC,
                    "Missing required configuration \"kafka.topic\"",
                )
            })?
            .to_string();
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
            schema,
            max_interval_ms,
            iterations,
            random_seed,
        })
    }
}

/// A LONG value (negative allowed, unlike [`crate::connectors::config::number`]'s callers).
fn long(config: &Config, key: &str) -> Result<Option<i64>, FieldError> {
    non_empty(config, key)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                FieldError::new(key, format!("Invalid value {v}: Not a number of type LONG"))
            })
        })
        .transpose()
}
