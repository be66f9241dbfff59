//! From a polled [`SourceRecord`] to what the producer sends: the record
//! model (headers as text), the transform chain, then the key and value
//! converters, each stage through the task's [`RetryWithTolerance`]
//! operator, as Kafka Connect's `AbstractWorkerSourceTask` runs them. A
//! record that fails for good is fatal under `errors.tolerance=none`; under
//! `all` the caller skips it (logged; sources have no dead letter queue)
//! and commits its offset as if a transform had dropped it.

use serde_json::Value;
use tokio::sync::watch;

use crate::connectors::SourceRecord;
use crate::converters::Converters;
use crate::record::{Header, Record};
use crate::runtime::errors::{excerpt, Halt, RetryWithTolerance, Stage};
use crate::runtime::task::Control;
use crate::transforms::Chain;

/// A transformed record and its key and value as the converters wrote them.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub record: Record,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Transforms and converts `polled`; `Ok(None)` when a transform dropped it.
pub async fn convert(
    polled: &SourceRecord,
    chain: &Chain,
    converters: &Converters,
    errors: &RetryWithTolerance,
    control: &mut watch::Receiver<Control>,
) -> Result<Option<Outgoing>, Halt> {
    let mut record = Record::new(
        polled.topic.clone(),
        polled.key.clone(),
        polled.value.clone(),
    )
    .with_key_schema(polled.key_schema.clone())
    .with_value_schema(polled.value_schema.clone());
    record.headers = polled
        .headers
        .iter()
        .map(|(key, v)| Header {
            key: key.clone(),
            value: Some(Value::String(v.clone())),
        })
        .collect();
    // Transforms never fail retriably: nothing to retry.
    let transformed = chain
        .apply(record)
        .map_err(|e| Halt::Failed(errors.failed(Stage::Transformation, &e.transform, &e, 0)))?;
    let Some(record) = transformed else {
        return Ok(None);
    };
    let topic = record.topic.as_str();
    let (key_converter, value_converter) = (&converters.key, &converters.value);
    let key = errors
        .execute(
            Stage::KeyConverter,
            key_converter.class_name(),
            control,
            || {
                key_converter.from_connect_data(
                    topic,
                    record.key_schema.as_deref(),
                    record.key.as_ref(),
                )
            },
        )
        .await?;
    let value = errors
        .execute(
            Stage::ValueConverter,
            value_converter.class_name(),
            control,
            || {
                value_converter.from_connect_data(
                    topic,
                    record.value_schema.as_deref(),
                    record.value.as_ref(),
                )
            },
        )
        .await?;
    Ok(Some(Outgoing { record, key, value }))
}

/// Where a skipped record came from, for the log: its source partition
/// and offset.
pub fn origin(polled: &SourceRecord) -> String {
    format!(
        "source partition {} offset {}",
        polled.source_partition, polled.source_offset
    )
}

/// A skipped record's content, for `errors.log.include.messages`.
pub fn content(polled: &SourceRecord) -> String {
    let json = |v: &Option<Value>| v.as_ref().map(|v| v.to_string().into_bytes());
    let headers: Vec<String> = polled
        .headers
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "topic={} key={} value={} headers=[{}]",
        polled.topic,
        excerpt(json(&polled.key).as_deref()),
        excerpt(json(&polled.value).as_deref()),
        excerpt(Some(headers.join(", ").as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::connectors::{Config, ConnectorType};
    use crate::converters::registry::{MemoryRegistry, SchemaRegistry};
    use crate::runtime::errors::{ErrorSettings, RETRIABLE_EXCEPTION};

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn polled(value: Value) -> SourceRecord {
        SourceRecord {
            topic: "orders".into(),
            key: Some(json!(7)),
            value: Some(value),
            headers: vec![("task.id".into(), "0".into())],
            source_partition: json!({"table": "orders"}),
            source_offset: json!({"lsn": 42}),
            ..SourceRecord::default()
        }
    }

    struct Setup {
        chain: Chain,
        converters: Converters,
        errors: RetryWithTolerance,
    }

    fn setup(pairs: &[(&str, &str)], registry: Option<Arc<dyn SchemaRegistry>>) -> Setup {
        let config = cfg(pairs);
        Setup {
            chain: Chain::from_config(&config).unwrap(),
            converters: Converters::from_config(&config, ConnectorType::Source, registry).unwrap(),
            errors: RetryWithTolerance::new(ErrorSettings::parse(&config).unwrap()),
        }
    }

    impl Setup {
        async fn run(&self, polled: &SourceRecord) -> Result<Option<Outgoing>, Halt> {
            let (_tx, mut control) = watch::channel(Control::Run);
            convert(
                polled,
                &self.chain,
                &self.converters,
                &self.errors,
                &mut control,
            )
            .await
        }
    }

    #[tokio::test]
    async fn records_are_transformed_then_converted() {
        let s = setup(
            &[
                ("transforms", "id"),
                (
                    "transforms.id.type",
                    "org.apache.kafka.connect.transforms.ExtractField$Value",
                ),
                ("transforms.id.field", "id"),
            ],
            None,
        );
        let out = s.run(&polled(json!({"id": 1}))).await.unwrap().unwrap();
        assert_eq!(out.key.as_deref(), Some(&b"7"[..]));
        assert_eq!(out.value.as_deref(), Some(&b"1"[..]));
        assert_eq!(
            out.record.header("task.id").unwrap().value,
            Some(json!("0"))
        );

        // ExtractField needs a map: a transform failure, never retried.
        let Err(Halt::Failed(err)) = s.run(&polled(json!("oops"))).await else {
            panic!("expected a failure");
        };
        assert_eq!(err.stage, Stage::Transformation);
        assert_eq!(err.retries, 0);
        assert_eq!(err.class_name, "id");
    }

    #[tokio::test(start_paused = true)]
    async fn registry_outages_during_serialization_are_retried() {
        let registry = MemoryRegistry::new();
        let s = setup(
            &[
                ("output.data.format", "AVRO"),
                ("errors.retry.timeout", "2000"),
            ],
            Some(registry.clone()),
        );
        registry.fail_next(2);
        let out = s.run(&polled(json!({"id": 1}))).await.unwrap().unwrap();
        assert_eq!(out.value.as_ref().map(|v| v[0]), Some(0), "wire format");
        let calls = registry.calls();
        assert_eq!(calls.len(), 3);
        assert_eq!((calls[1] - calls[0]).as_millis(), 300);
        assert_eq!((calls[2] - calls[1]).as_millis(), 600);

        registry.fail_next(usize::MAX);
        let Err(Halt::Failed(err)) = s.run(&polled(json!({"other": true}))).await else {
            panic!("expected a failure");
        };
        assert_eq!(err.stage, Stage::ValueConverter);
        assert_eq!(err.exception, RETRIABLE_EXCEPTION);
        assert!(err.retries >= 3, "{err}");
    }

    #[test]
    fn skipped_records_are_named_by_source_partition_and_offset() {
        let p = polled(json!({"id": 1}));
        assert_eq!(
            origin(&p),
            r#"source partition {"table":"orders"} offset {"lsn":42}"#
        );
        assert_eq!(
            content(&p),
            r#"topic=orders key=7 value={"id":1} headers=[task.id=0]"#
        );
    }
}
