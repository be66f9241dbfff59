//! From a consumed Kafka message to a [`Record`]: the raw message kept as
//! read (the dead letter queue sends it on unchanged), then its key and
//! value read by the configured converters, then the transform chain, each
//! stage through the task's [`RetryWithTolerance`] operator.

use rdkafka::message::{BorrowedMessage, Headers, Message};
use serde_json::Value;
use tokio::sync::watch;

use crate::converters::Converters;
use crate::record::{Header, Record};
use crate::runtime::errors::{Halt, RetryWithTolerance};
use crate::runtime::task::Control;
use crate::transforms::Chain;

pub use crate::runtime::errors::{RecordError, Stage};

/// A message as consumed: the bytes the dead letter queue forwards.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl RawRecord {
    pub fn from_message(msg: &BorrowedMessage<'_>) -> RawRecord {
        RawRecord {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            timestamp: msg.timestamp().to_millis(),
            key: msg.key().map(<[u8]>::to_vec),
            value: msg.payload().map(<[u8]>::to_vec),
            headers: msg
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// How keys and values are read, and what transforms them.
pub struct Pipeline {
    /// The configured key and value converters (`key.converter`,
    /// `value.converter`, `input.data.format`, `input.key.format`).
    pub converters: Converters,
    pub chain: Chain,
}

impl Pipeline {
    /// The record the task receives, `Ok(None)` when a transform dropped
    /// it. A converter failure ("Unknown magic byte!" for plain data read
    /// with a Schema Registry format) or a transform failure is
    /// [`Halt::Failed`], tolerated or not per `errors.tolerance`; a Schema
    /// Registry outage is retried first, per `errors.retry.timeout`.
    pub async fn process(
        &self,
        raw: &RawRecord,
        errors: &RetryWithTolerance,
        control: &mut watch::Receiver<Control>,
    ) -> Result<Option<Record>, Halt> {
        let (key_converter, value_converter) = (&self.converters.key, &self.converters.value);
        let key = errors
            .execute(
                Stage::KeyConverter,
                key_converter.class_name(),
                control,
                || key_converter.to_connect_data(&raw.topic, raw.key.as_deref()),
            )
            .await?;
        let value = errors
            .execute(
                Stage::ValueConverter,
                value_converter.class_name(),
                control,
                || value_converter.to_connect_data(&raw.topic, raw.value.as_deref()),
            )
            .await?;
        let record = Record {
            topic: raw.topic.clone(),
            kafka_partition: Some(raw.partition),
            kafka_offset: Some(raw.offset),
            timestamp: raw.timestamp,
            key: key.value,
            value: value.value,
            key_schema: key.schema,
            value_schema: value.schema,
            headers: raw
                .headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.clone(),
                    // Header values are read as text (Connect's SimpleHeaderConverter
                    // would also parse numbers and booleans).
                    value: v
                        .as_deref()
                        .map(|b| Value::String(String::from_utf8_lossy(b).into_owned())),
                })
                .collect(),
        };
        // Transforms never fail retriably: nothing to retry.
        self.chain
            .apply(record)
            .map_err(|e| Halt::Failed(errors.failed(Stage::Transformation, &e.transform, &e, 0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(key: Option<&[u8]>, value: Option<&[u8]>) -> RawRecord {
        RawRecord {
            topic: "orders".into(),
            partition: 1,
            offset: 9,
            timestamp: Some(1_700_000_000_000),
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: vec![
                ("task.id".into(), Some(b"0".to_vec())),
                ("empty".into(), None),
            ],
        }
    }

    /// Runs the pipeline with `errors.*` defaults, as a running task would.
    impl Pipeline {
        async fn run(&self, raw: &RawRecord) -> Result<Option<Record>, RecordError> {
            let errors = RetryWithTolerance::new(Default::default());
            let (_tx, mut control) = watch::channel(Control::Run);
            self.process(raw, &errors, &mut control)
                .await
                .map_err(|halt| match halt {
                    Halt::Failed(e) => e,
                    Halt::Interrupted => panic!("interrupted while running"),
                })
        }
    }

    fn pipeline(value_format: &str) -> Pipeline {
        pipeline_with(&[("input.data.format", value_format)], None)
    }

    fn pipeline_with(
        pairs: &[(&str, &str)],
        registry: Option<std::sync::Arc<dyn crate::converters::registry::SchemaRegistry>>,
    ) -> Pipeline {
        let config = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Pipeline {
            converters: Converters::from_config(
                &config,
                crate::connectors::ConnectorType::Sink,
                registry,
            )
            .unwrap_or_else(|e| panic!("{e}")),
            chain: Chain::default(),
        }
    }

    #[tokio::test]
    async fn json_values_and_string_keys_become_a_record() {
        let r = pipeline("JSON")
            .run(&raw(
                Some(b"7"),
                Some(br#"{"orderid":7,"address":{"city":"City_1"}}"#),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.key, Some(json!(7)));
        assert_eq!(
            r.value,
            Some(json!({"orderid": 7, "address": {"city": "City_1"}}))
        );
        assert_eq!(
            (r.topic.as_str(), r.kafka_partition, r.kafka_offset),
            ("orders", Some(1), Some(9))
        );
        assert_eq!(r.timestamp, Some(1_700_000_000_000));
        assert_eq!(
            r.header("task.id").and_then(|h| h.value.clone()),
            Some(json!("0"))
        );
        assert_eq!(r.header("empty").map(|h| h.value.clone()), Some(None));
    }

    #[tokio::test]
    async fn tombstones_and_string_values() {
        let r = pipeline("JSON")
            .run(&raw(Some(b"User_1"), None))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.key, Some(json!("User_1")));
        assert!(r.is_tombstone());
        let r = pipeline("STRING")
            .run(&raw(None, Some(b"{not json")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.value, Some(json!("{not json")));
    }

    #[tokio::test]
    async fn bad_values_name_the_stage_and_converter() {
        let err = pipeline("JSON")
            .run(&raw(None, Some(b"{oops")))
            .await
            .unwrap_err();
        assert_eq!(err.stage, Stage::ValueConverter);
        assert_eq!(
            err.class_name,
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert!(
            err.to_string().starts_with(
                "VALUE_CONVERTER (org.apache.kafka.connect.json.JsonConverter) failed"
            ),
            "{err}"
        );
        let err = pipeline("JSON")
            .run(&raw(Some(&[0xff]), Some(b"{}")))
            .await
            .unwrap_err();
        assert_eq!(err.stage, Stage::KeyConverter);
    }

    #[tokio::test]
    async fn avro_values_decode_and_plain_data_is_an_unknown_magic_byte() {
        use crate::converters::registry::MemoryRegistry;
        let registry = MemoryRegistry::new();
        let id = registry.insert(
            "AVRO",
            r#"{"type":"record","name":"r","fields":[{"name":"orderid","type":"int"}]}"#,
        );
        let p = pipeline_with(&[("input.data.format", "AVRO")], Some(registry));
        let mut bytes = crate::converters::wire::frame(id, &[]);
        bytes.push(0x0e); // 7
        let r = p
            .run(&raw(Some(b"7"), Some(&bytes)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.value, Some(json!({"orderid": 7})));
        let err = p
            .run(&raw(None, Some(br#"{"orderid":7}"#)))
            .await
            .unwrap_err();
        assert_eq!(err.stage, Stage::ValueConverter);
        assert_eq!(err.class_name, "io.confluent.connect.avro.AvroConverter");
        assert!(
            err.message.contains("Unknown magic byte!"),
            "{}",
            err.message
        );
    }

    fn avro_record(registry: &crate::converters::registry::MemoryRegistry) -> Vec<u8> {
        let id = registry.insert(
            "AVRO",
            r#"{"type":"record","name":"r","fields":[{"name":"orderid","type":"int"}]}"#,
        );
        let mut bytes = crate::converters::wire::frame(id, &[]);
        bytes.push(0x0e); // 7
        bytes
    }

    /// A registry that fails three times, then answers: the value is read
    /// on the fourth attempt, after waits of 300, 600 and (capped) < 1000 ms.
    #[tokio::test(start_paused = true)]
    async fn registry_outages_are_retried_within_the_retry_timeout() {
        use crate::converters::registry::MemoryRegistry;
        use crate::runtime::errors::ErrorSettings;
        let registry = MemoryRegistry::new();
        let bytes = avro_record(&registry);
        let p = pipeline_with(&[("input.data.format", "AVRO")], Some(registry.clone()));
        let config = [
            ("errors.retry.timeout", "5000"),
            ("errors.retry.delay.max.ms", "1000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let errors = RetryWithTolerance::new(ErrorSettings::parse(&config).unwrap());
        let (_tx, mut control) = watch::channel(Control::Run);

        registry.fail_next(3);
        let r = p
            .process(&raw(Some(b"7"), Some(&bytes)), &errors, &mut control)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.value, Some(json!({"orderid": 7})));
        let calls = registry.calls();
        let gaps: Vec<u128> = calls
            .windows(2)
            .map(|w| (w[1] - w[0]).as_millis())
            .collect();
        // 1200 passes errors.retry.delay.max.ms=1000: a random wait below it.
        assert_eq!(gaps.len(), 3, "{gaps:?}");
        assert_eq!(gaps[..2], [300, 600]);
        assert!(gaps[2] < 1000, "{gaps:?}");
        assert_eq!(errors.retries(), 3);

        // An outage longer than the timeout fails the record, naming the cause.
        let registry = MemoryRegistry::new();
        let bytes = avro_record(&registry);
        let p = pipeline_with(&[("input.data.format", "AVRO")], Some(registry.clone()));
        registry.fail_next(usize::MAX);
        let started = tokio::time::Instant::now();
        let Err(Halt::Failed(err)) = p
            .process(&raw(None, Some(&bytes)), &errors, &mut control)
            .await
        else {
            panic!("expected a failure");
        };
        assert_eq!(started.elapsed(), std::time::Duration::from_secs(5));
        assert_eq!(err.stage, Stage::ValueConverter);
        assert_eq!(err.exception, crate::runtime::errors::RETRIABLE_EXCEPTION);
        assert!(err.message.contains("Schema Registry unavailable"), "{err}");
        assert!(
            err.to_string().contains("errors.retry.timeout exhausted"),
            "{err}"
        );

        // A payload that is not Avro is not retried.
        let calls = registry.calls().len();
        let Err(Halt::Failed(err)) = p
            .process(&raw(None, Some(b"{}")), &errors, &mut control)
            .await
        else {
            panic!("expected a failure");
        };
        assert_eq!(err.retries, 0);
        assert_eq!(registry.calls().len(), calls);
    }
}
