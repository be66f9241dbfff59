//! `ElasticsearchSink`'s config keys (Confluent's Elasticsearch Service
//! Sink), their definitions, and the typed settings a task runs with.

use std::time::Duration;

use crate::connectors::jdbc::settings::Secret;
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const URL: &str = "connection.url";
pub const USERNAME: &str = "connection.username";
pub const PASSWORD: &str = "connection.password";
pub const KEY_IGNORE: &str = "key.ignore";
pub const SCHEMA_IGNORE: &str = "schema.ignore";
pub const NULL_VALUES: &str = "behavior.on.null.values";
pub const MALFORMED: &str = "behavior.on.malformed.documents";
pub const WRITE_METHOD: &str = "write.method";
pub const BATCH_SIZE: &str = "batch.size";
pub const LINGER_MS: &str = "linger.ms";
pub const MAX_IN_FLIGHT: &str = "max.in.flight.requests";
pub const MAX_RETRIES: &str = "max.retries";
pub const RETRY_BACKOFF: &str = "retry.backoff.ms";
pub const READ_TIMEOUT: &str = "read.timeout.ms";
pub const DATA_STREAM_TYPE: &str = "data.stream.type";
pub const DATA_STREAM_DATASET: &str = "data.stream.dataset";

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "Connection";
    const DATA: &str = "Data conversion";
    const BATCH: &str = "Batching and retries";
    vec![
        ConfigDef::new(URL, String).required().host().importance(Importance::High).group(CONN)
            .doc("Connection URL", "The Elasticsearch endpoint, http(s)://host:port; of a comma-separated list the first is used."),
        ConfigDef::new(USERNAME, String).group(CONN)
            .doc("Connection username", "Basic authentication user."),
        ConfigDef::new(PASSWORD, Password).group(CONN)
            .doc("Connection password", "Basic authentication password."),
        ConfigDef::new(KEY_IGNORE, Boolean).default("false").group(DATA)
            .doc("Key ignore", "false: the record key is the document id (a key struct of one field: that field's value); true: the id is topic+partition+offset."),
        ConfigDef::new(SCHEMA_IGNORE, Boolean).default("false").group(DATA)
            .doc("Schema ignore", "false: a missing index is created with mappings from the record's value schema, and logical values (Decimal) are written as numbers; true: documents are written as they are and Elasticsearch maps them dynamically."),
        ConfigDef::new(NULL_VALUES, String).default("ignore").allowed(&["ignore", "delete", "fail"]).group(DATA)
            .doc("Behavior on null values", "A record with a null value (a tombstone): ignore it, delete the document with its key's id, or fail the task."),
        ConfigDef::new(MALFORMED, String).default("fail").allowed(&["fail", "warn", "ignore"]).group(DATA)
            .doc("Behavior on malformed documents", "A document Elasticsearch refuses (4xx per item): fail hands it to errors.tolerance (the dead letter queue with all, else the task fails); warn and ignore skip it (logged)."),
        ConfigDef::new(WRITE_METHOD, String).default("INSERT").allowed(&["INSERT", "UPSERT"]).group(DATA)
            .doc("Write method", "INSERT replaces the whole document (index); UPSERT merges the record's fields into it (update with doc_as_upsert)."),
        ConfigDef::new(BATCH_SIZE, Int).default("2000").min(1).group(BATCH)
            .doc("Batch size", "Most records in one _bulk request."),
        ConfigDef::new(LINGER_MS, Long).default("1000").min(0).importance(Importance::Low).group(BATCH)
            .doc("Linger (ms)", "Accepted for compatibility: the worker hands the sink whole batches read from Kafka, which are written at once."),
        ConfigDef::new(MAX_IN_FLIGHT, Int).default("5").min(1).group(BATCH)
            .doc("Max in-flight requests", "Most _bulk requests of one batch sent at the same time."),
        ConfigDef::new(MAX_RETRIES, Int).default("5").min(0).group(BATCH)
            .doc("Max retries", "Retries of a request (or of the items) answered with 429 or 5xx, or that failed to connect, before the batch is handed back to be delivered again."),
        ConfigDef::new(RETRY_BACKOFF, Long).default("100").min(0).group(BATCH)
            .doc("Retry backoff (ms)", "The first retry's wait, doubled per retry (with jitter), at most a minute."),
        ConfigDef::new(READ_TIMEOUT, Int).default("15000").min(1).importance(Importance::Low).group(BATCH)
            .doc("Read timeout (ms)", "How long a request may take."),
        ConfigDef::new(DATA_STREAM_TYPE, String).default("NONE").allowed(&["NONE", "LOGS", "METRICS"]).group(DATA)
            .doc("Data stream type", "NONE writes to an index named after the topic; LOGS or METRICS write to the data stream <type>-<dataset>-<topic> (create operations, @timestamp from the record)."),
        ConfigDef::new(DATA_STREAM_DATASET, String).group(DATA)
            .doc("Data stream dataset", "The dataset part of the data stream name; required with a data stream type."),
    ]
}

pub fn validate_extra(config: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(url) = non_empty(config, URL) {
        let first = url.split(',').next().unwrap_or("").trim();
        if reqwest::Url::parse(first).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            errors.push(FieldError::new(
                URL,
                format!("Invalid value {first}: not an http(s) URL"),
            ));
        }
    }
    let stream = non_empty(config, DATA_STREAM_TYPE).unwrap_or("NONE");
    if !stream.eq_ignore_ascii_case("NONE") {
        match non_empty(config, DATA_STREAM_DATASET) {
            None => errors.push(FieldError::new(
                DATA_STREAM_DATASET,
                "Missing required configuration \"data.stream.dataset\" with a data.stream.type",
            )),
            Some(d)
                if !d.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                }) =>
            {
                errors.push(FieldError::new(
                    DATA_STREAM_DATASET,
                    format!("Invalid value {d}: lowercase letters, digits, '_' and '.' only"),
                ))
            }
            Some(_) => {}
        }
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    Ignore,
    Delete,
    Fail,
}

#[derive(Debug, Clone)]
pub struct EsSettings {
    pub url: String,
    pub username: Option<String>,
    pub password: Secret,
    pub key_ignore: bool,
    pub schema_ignore: bool,
    pub null_values: NullValues,
    /// Refused documents are errant (else skipped).
    pub malformed_fail: bool,
    pub upsert: bool,
    pub batch_size: usize,
    pub max_in_flight: usize,
    pub max_retries: u32,
    pub retry_backoff: Duration,
    pub read_timeout: Duration,
    /// `<type>-<dataset>` of a data stream.
    pub data_stream: Option<String>,
}

impl EsSettings {
    pub fn parse(config: &Config) -> Result<EsSettings, FieldError> {
        if let Some(e) = validate_extra(config).into_iter().next() {
            return Err(e);
        }
        let url = non_empty(config, URL)
            .and_then(|u| u.split(',').next())
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .ok_or_else(|| {
                FieldError::new(URL, "Missing required configuration \"connection.url\"")
            })?;
        let num = |key: &str, default: u64| {
            non_empty(config, key)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(default)
        };
        let stream = non_empty(config, DATA_STREAM_TYPE)
            .unwrap_or("NONE")
            .to_ascii_lowercase();
        Ok(EsSettings {
            url,
            username: non_empty(config, USERNAME).map(str::to_string),
            password: Secret::new(config.get(PASSWORD).cloned().unwrap_or_default()),
            key_ignore: flag(config, KEY_IGNORE),
            schema_ignore: flag(config, SCHEMA_IGNORE),
            null_values: match non_empty(config, NULL_VALUES)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("delete") => NullValues::Delete,
                Some("fail") => NullValues::Fail,
                _ => NullValues::Ignore,
            },
            malformed_fail: !non_empty(config, MALFORMED).is_some_and(|m| {
                m.eq_ignore_ascii_case("warn") || m.eq_ignore_ascii_case("ignore")
            }),
            upsert: non_empty(config, WRITE_METHOD)
                .is_some_and(|m| m.eq_ignore_ascii_case("UPSERT")),
            batch_size: num(BATCH_SIZE, 2000).max(1) as usize,
            max_in_flight: num(MAX_IN_FLIGHT, 5).max(1) as usize,
            max_retries: num(MAX_RETRIES, 5) as u32,
            retry_backoff: Duration::from_millis(num(RETRY_BACKOFF, 100)),
            read_timeout: Duration::from_millis(num(READ_TIMEOUT, 15000).max(1)),
            data_stream: (stream != "none").then(|| {
                format!(
                    "{stream}-{}",
                    non_empty(config, DATA_STREAM_DATASET).unwrap_or("generic")
                )
            }),
        })
    }

    /// The index (or data stream) a topic's documents go to: index names are lowercase.
    pub fn index(&self, topic: &str) -> String {
        let topic = topic.to_ascii_lowercase();
        match &self.data_stream {
            Some(prefix) => format!("{prefix}-{topic}"),
            None => topic,
        }
    }
}

fn non_empty<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn flag(config: &Config, key: &str) -> bool {
    non_empty(config, key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}
