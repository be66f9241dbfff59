//! Converters between the record model and Kafka bytes, chosen per
//! connector for keys and values by Kafka Connect class name
//! (`key.converter` / `value.converter`, with `<side>.converter.*` settings)
//! or by Confluent's data format keys (`output.data.format` for sources,
//! `input.data.format` / `input.key.format` for sinks): see [`select`].
//!
//! | Format | Class | Module |
//! | --- | --- | --- |
//! | `STRING` | `org.apache.kafka.connect.storage.StringConverter` | [`string`] |
//! | `BYTES` | `org.apache.kafka.connect.converters.ByteArrayConverter` | [`bytes`] |
//! | `JSON` | `org.apache.kafka.connect.json.JsonConverter` (`schemas.enable`) | [`json`], [`envelope`] |
//! | `AVRO` | `io.confluent.connect.avro.AvroConverter` | [`avro`] |
//! | `JSON_SR` | `io.confluent.connect.json.JsonSchemaConverter` | [`json_schema`] |
//! | `PROTOBUF` | `io.confluent.connect.protobuf.ProtobufConverter` | [`protobuf`] |
//!
//! The Schema Registry formats use the wire format of [`wire`], the
//! connector's environment registry through [`registry`], and schemas
//! derived from the values by [`shape`], registered under the
//! TopicNameStrategy subjects. As on Confluent Cloud, the registry is always
//! the connector's environment's: `<side>.converter.schema.registry.url`
//! and its credentials are ignored, and so are `auto.register.schemas`
//! (schemas are always registered) and `use.latest.version`.

pub mod avro;
pub mod bytes;
pub mod envelope;
pub mod json;
pub mod json_schema;
pub mod protobuf;
pub mod registry;
pub mod shape;
pub mod string;
pub mod wire;

pub use bytes::ByteArrayConverter;
pub use envelope::ConnectJsonConverter;
pub use json::JsonConverter;
pub use string::StringConverter;

use std::sync::Arc;

use serde_json::Value;

use crate::connectors::{Config, ConnectorType, FieldError};
use crate::schema::{Schema, SchemaAndValue};
use registry::SchemaRegistry;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("failed to serialize a record for topic {topic}: {reason}")]
    Serialize { topic: String, reason: String },
    #[error("failed to deserialize data for topic {topic}: {reason}")]
    Deserialize { topic: String, reason: String },
}

impl ConvertError {
    /// Whether converting again may succeed: the Schema Registry was
    /// unavailable (unreachable, 5xx, 429). A payload that cannot be read
    /// or a schema the registry refuses stays that way. The registry
    /// converters quote the registry's error in `reason`, so an outage is
    /// recognised by [`registry::UNAVAILABLE`], which only
    /// `RegistryError::Unavailable` writes.
    pub fn is_retriable(&self) -> bool {
        let (ConvertError::Serialize { reason, .. } | ConvertError::Deserialize { reason, .. }) =
            self;
        reason.contains(registry::UNAVAILABLE)
    }
}

/// Turns a record key or value into the bytes written to Kafka, as Kafka
/// Connect's `Converter.fromConnectData` does. `None` (or JSON null) is a
/// Kafka null, so tombstones stay tombstones.
pub trait Converter: Send + Sync {
    fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError>;

    /// Reads a record key or value from Kafka bytes, as Kafka Connect's
    /// `Converter.toConnectData` does. A Kafka null is `None`.
    fn deserialize(&self, topic: &str, bytes: Option<&[u8]>)
        -> Result<Option<Value>, ConvertError>;

    /// The Java class this converter stands for, named in error reports
    /// (`__connect.errors.class.name`).
    fn class_name(&self) -> &'static str;

    /// Kafka Connect's `fromConnectData`: writes `value` as a value of
    /// `schema` (`None`: schemaless). Converters without schemas ignore it.
    #[allow(clippy::wrong_self_convention)] // Kafka Connect's name
    fn from_connect_data(
        &self,
        topic: &str,
        _schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.serialize(topic, value)
    }

    /// Kafka Connect's `toConnectData`: the value and, for converters that
    /// carry one, its schema.
    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        self.deserialize(topic, bytes)
            .map(SchemaAndValue::schemaless)
    }
}

/// Reads a key whose format is not configured: JSON when the bytes parse as
/// JSON, else a UTF-8 string. Keys written by the String converter (`42`,
/// `User_1`) and by the JSON converter (`"User_1"`, `{"id":1}`) both come
/// back as they were meant.
pub fn deserialize_json_or_string(
    topic: &str,
    bytes: Option<&[u8]>,
) -> Result<Option<Value>, ConvertError> {
    match JsonConverter.deserialize(topic, bytes) {
        Ok(v) => Ok(v),
        Err(_) => StringConverter.deserialize(topic, bytes),
    }
}

/// Keys or values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    /// The TopicNameStrategy subject: `<topic>-key` / `<topic>-value`.
    pub fn subject(&self, topic: &str) -> String {
        match self {
            Side::Key => format!("{topic}-key"),
            Side::Value => format!("{topic}-value"),
        }
    }

    /// `key.converter` / `value.converter`.
    pub fn converter_key(&self) -> &'static str {
        match self {
            Side::Key => "key.converter",
            Side::Value => "value.converter",
        }
    }
}

/// How a connector's keys or values are converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    String,
    Bytes,
    /// Confluent's `JSON`: plain JSON out (the envelope when
    /// `<side>.converter.schemas.enable=true`); reads plain JSON and
    /// unwraps an envelope.
    Json {
        schemas: bool,
    },
    /// `JsonConverter` by class name, with Kafka's semantics.
    ConnectJson {
        schemas: bool,
    },
    /// Sink keys whose format is not configured: JSON when they parse,
    /// else strings.
    JsonOrString,
    Avro,
    JsonSchema,
    Protobuf,
}

impl Format {
    pub fn class_name(&self) -> &'static str {
        match self {
            Format::String => STRING_CLASS,
            Format::Bytes => bytes::CLASS,
            Format::Json { .. } | Format::ConnectJson { .. } | Format::JsonOrString => {
                envelope::CLASS
            }
            Format::Avro => avro::CLASS,
            Format::JsonSchema => json_schema::CLASS,
            Format::Protobuf => protobuf::CLASS,
        }
    }

    /// Whether it needs the Schema Registry.
    pub fn uses_registry(&self) -> bool {
        matches!(self, Format::Avro | Format::JsonSchema | Format::Protobuf)
    }
}

pub const STRING_CLASS: &str = "org.apache.kafka.connect.storage.StringConverter";

/// The keys that choose each side's format, and the default.
fn format_keys(direction: ConnectorType, side: Side) -> (&'static str, Format) {
    match (direction, side) {
        (ConnectorType::Source, Side::Key) => ("output.key.format", Format::String),
        (ConnectorType::Source, Side::Value) => {
            ("output.data.format", Format::Json { schemas: false })
        }
        (ConnectorType::Sink, Side::Key) => ("input.key.format", Format::JsonOrString),
        (ConnectorType::Sink, Side::Value) => {
            ("input.data.format", Format::Json { schemas: false })
        }
    }
}

fn non_empty<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn flag(config: &Config, key: &str, default: bool) -> Result<bool, FieldError> {
    match non_empty(config, key) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(FieldError::new(
            key,
            format!("Invalid value {v} for configuration {key}: Expected value to be either true or false"),
        )),
    }
}

/// The format of one side of a connector: the converter class when
/// `key.converter` / `value.converter` names one, else the data format key
/// (`output.data.format`, `input.data.format`, `input.key.format`, …), else
/// the default (sources: string keys and JSON values; sinks: JSON values
/// and keys read as JSON or string).
pub fn select(config: &Config, direction: ConnectorType, side: Side) -> Result<Format, FieldError> {
    let class_key = side.converter_key();
    let schemas_key = format!("{class_key}.schemas.enable");
    let (format_key, default) = format_keys(direction, side);
    let format = if let Some(class) = non_empty(config, class_key) {
        match class {
            STRING_CLASS => Format::String,
            bytes::CLASS => Format::Bytes,
            envelope::CLASS => Format::ConnectJson {
                schemas: flag(config, &schemas_key, true)?,
            },
            avro::CLASS => Format::Avro,
            json_schema::CLASS => Format::JsonSchema,
            protobuf::CLASS => Format::Protobuf,
            other => {
                return Err(FieldError::new(
                    class_key,
                    format!("Invalid value {other} for configuration {class_key}: Class {other} could not be found."),
                ))
            }
        }
    } else if let Some(f) = non_empty(config, format_key) {
        match f.to_ascii_uppercase().as_str() {
            "JSON" => Format::Json {
                schemas: flag(config, &schemas_key, false)?,
            },
            "JSON_SR" => Format::JsonSchema,
            "AVRO" => Format::Avro,
            "PROTOBUF" => Format::Protobuf,
            "STRING" => Format::String,
            "BYTES" => Format::Bytes,
            _ => {
                return Err(FieldError::new(
                    format_key,
                    format!("Invalid value {f} for configuration {format_key}: must be one of AVRO, JSON_SR, PROTOBUF, JSON, STRING, BYTES"),
                ))
            }
        }
    } else {
        default
    };
    Ok(format)
}

/// Checks the converter settings of both sides; each error names its key.
pub fn validate(config: &Config, direction: ConnectorType) -> Vec<FieldError> {
    [Side::Key, Side::Value]
        .into_iter()
        .filter_map(|side| select(config, direction, side).err())
        .collect()
}

/// The converter of one side of a running task.
pub enum RecordConverter {
    /// Formats without a registry.
    Plain(Box<dyn Converter>),
    Avro(avro::AvroConverter),
    JsonSchema(json_schema::JsonSchemaConverter),
    Protobuf(protobuf::ProtobufConverter),
}

impl RecordConverter {
    /// The converter for `format`; the Schema Registry formats need
    /// `registry` (the connector environment's).
    pub fn new(
        format: Format,
        side: Side,
        registry: Option<Arc<dyn SchemaRegistry>>,
    ) -> Result<RecordConverter, String> {
        let plain = |c: Box<dyn Converter>| Ok(RecordConverter::Plain(c));
        match format {
            Format::String => plain(Box::new(StringConverter)),
            Format::Bytes => plain(Box::new(ByteArrayConverter)),
            Format::Json { schemas } => plain(Box::new(LenientJson { schemas })),
            Format::ConnectJson { schemas } => plain(Box::new(ConnectJsonConverter {
                schemas_enable: schemas,
            })),
            Format::JsonOrString => plain(Box::new(JsonOrString)),
            Format::Avro | Format::JsonSchema | Format::Protobuf => {
                let Some(registry) = registry else {
                    return Err(format!(
                        "{} needs the environment's Schema Registry, which this task cannot reach (no control plane registry endpoint or no environment in its assignment)",
                        format.class_name()
                    ));
                };
                match format {
                    Format::Avro => Ok(RecordConverter::Avro(avro::AvroConverter::new(
                        side, registry,
                    ))),
                    Format::JsonSchema => Ok(RecordConverter::JsonSchema(
                        json_schema::JsonSchemaConverter::new(side, registry),
                    )),
                    _ => Ok(RecordConverter::Protobuf(protobuf::ProtobufConverter::new(
                        side, registry,
                    ))),
                }
            }
        }
    }

    /// Writes a schemaless value (see [`from_connect_data`](Self::from_connect_data)).
    pub async fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        self.from_connect_data(topic, None, value).await
    }

    /// Reads only the value (see [`to_connect_data`](Self::to_connect_data)).
    pub async fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        Ok(self.to_connect_data(topic, bytes).await?.value)
    }

    /// Writes a key or value with its schema (`None`: schemaless, for which
    /// the Schema Registry formats derive a schema from the value).
    pub async fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        match self {
            RecordConverter::Plain(c) => c.from_connect_data(topic, schema, value),
            RecordConverter::Avro(c) => c.from_connect_data(topic, schema, value).await,
            RecordConverter::JsonSchema(c) => c.from_connect_data(topic, schema, value).await,
            RecordConverter::Protobuf(c) => c.from_connect_data(topic, schema, value).await,
        }
    }

    /// Reads a key or value with the schema its format carries.
    pub async fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        match self {
            RecordConverter::Plain(c) => c.to_connect_data(topic, bytes),
            RecordConverter::Avro(c) => c.to_connect_data(topic, bytes).await,
            RecordConverter::JsonSchema(c) => c.to_connect_data(topic, bytes).await,
            RecordConverter::Protobuf(c) => c.to_connect_data(topic, bytes).await,
        }
    }

    pub fn class_name(&self) -> &'static str {
        match self {
            RecordConverter::Plain(c) => c.class_name(),
            RecordConverter::Avro(_) => avro::CLASS,
            RecordConverter::JsonSchema(_) => json_schema::CLASS,
            RecordConverter::Protobuf(_) => protobuf::CLASS,
        }
    }
}

/// A connector's key and value converters.
pub struct Converters {
    pub key: RecordConverter,
    pub value: RecordConverter,
}

impl Converters {
    /// The converters a task's config selects; `registry` is its
    /// environment's Schema Registry, when reachable.
    pub fn from_config(
        config: &Config,
        direction: ConnectorType,
        registry: Option<Arc<dyn SchemaRegistry>>,
    ) -> Result<Converters, FieldError> {
        let build = |side: Side| -> Result<RecordConverter, FieldError> {
            let format = select(config, direction, side)?;
            RecordConverter::new(format, side, registry.clone())
                .map_err(|e| FieldError::new(side.converter_key(), e))
        };
        Ok(Converters {
            key: build(Side::Key)?,
            value: build(Side::Value)?,
        })
    }
}

/// Confluent's `JSON` data format (see [`Format::Json`]).
#[derive(Debug, Clone, Copy)]
struct LenientJson {
    schemas: bool,
}

impl Converter for LenientJson {
    fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        if self.schemas {
            ConnectJsonConverter {
                schemas_enable: true,
            }
            .serialize(topic, value)
        } else {
            JsonConverter.serialize(topic, value)
        }
    }

    fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        JsonConverter.deserialize(topic, bytes)
    }

    fn class_name(&self) -> &'static str {
        envelope::CLASS
    }

    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&Schema>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        ConnectJsonConverter {
            schemas_enable: self.schemas,
        }
        .from_connect_data(topic, schema, value)
    }

    /// An envelope's schema comes along when it is a valid Connect schema
    /// that the payload fits; otherwise the payload is read schemaless.
    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, ConvertError> {
        let Some(b) = bytes.filter(|b| !b.is_empty()) else {
            return Ok(SchemaAndValue::default());
        };
        if let Ok(Some(read)) = envelope::read_envelope(b) {
            return Ok(read);
        }
        JsonConverter
            .deserialize(topic, bytes)
            .map(SchemaAndValue::schemaless)
    }
}

/// See [`Format::JsonOrString`].
#[derive(Debug, Clone, Copy)]
struct JsonOrString;

impl Converter for JsonOrString {
    fn serialize(
        &self,
        topic: &str,
        value: Option<&Value>,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        JsonConverter.serialize(topic, value)
    }

    fn deserialize(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Value>, ConvertError> {
        deserialize_json_or_string(topic, bytes)
    }

    fn class_name(&self) -> &'static str {
        envelope::CLASS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_read_as_json_when_they_parse_else_as_strings() {
        let read = |b: &[u8]| deserialize_json_or_string("t", Some(b)).unwrap();
        assert_eq!(read(b"42"), Some(json!(42)));
        assert_eq!(read(b"User_1"), Some(json!("User_1")));
        assert_eq!(read(br#""User_1""#), Some(json!("User_1")));
        assert_eq!(read(br#"{"id":1}"#), Some(json!({"id": 1})));
        assert_eq!(deserialize_json_or_string("t", None).unwrap(), None);
        assert!(deserialize_json_or_string("t", Some(&[0xff, 0xfe])).is_err());
    }

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn formats_by_class_name_or_data_format() {
        use ConnectorType::{Sink, Source};
        let sel = |pairs: &[(&str, &str)], d, side| select(&cfg(pairs), d, side).unwrap();
        assert_eq!(sel(&[], Source, Side::Key), Format::String);
        assert_eq!(
            sel(&[], Source, Side::Value),
            Format::Json { schemas: false }
        );
        assert_eq!(sel(&[], Sink, Side::Key), Format::JsonOrString);
        assert_eq!(
            sel(&[("output.data.format", "avro")], Source, Side::Value),
            Format::Avro
        );
        assert_eq!(
            sel(&[("input.data.format", "JSON_SR")], Sink, Side::Value),
            Format::JsonSchema
        );
        assert_eq!(
            sel(&[("input.key.format", "STRING")], Sink, Side::Key),
            Format::String
        );
        assert_eq!(
            sel(&[("input.data.format", "BYTES")], Sink, Side::Value),
            Format::Bytes
        );
        // The class wins over the data format; JsonConverter's schemas.enable defaults to true.
        let c = [
            ("output.data.format", "AVRO"),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
        ];
        assert_eq!(
            sel(&c, Source, Side::Value),
            Format::ConnectJson { schemas: true }
        );
        let c = [
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "false"),
        ];
        assert_eq!(
            sel(&c, Source, Side::Value),
            Format::ConnectJson { schemas: false }
        );
        let c = [("key.converter", "io.confluent.connect.avro.AvroConverter")];
        assert_eq!(sel(&c, Sink, Side::Key), Format::Avro);
        let c = [(
            "value.converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        )];
        assert_eq!(sel(&c, Sink, Side::Value), Format::Bytes);
        let c = [
            ("output.data.format", "JSON"),
            ("value.converter.schemas.enable", "true"),
        ];
        assert_eq!(sel(&c, Source, Side::Value), Format::Json { schemas: true });
    }

    #[test]
    fn bad_converter_settings_name_their_key() {
        let errs = validate(
            &cfg(&[("value.converter", "com.example.Nope")]),
            ConnectorType::Sink,
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "value.converter");
        assert!(errs[0].message.contains("could not be found"));
        let errs = validate(
            &cfg(&[("output.data.format", "XML")]),
            ConnectorType::Source,
        );
        assert_eq!(errs[0].key, "output.data.format");
        assert!(validate(
            &cfg(&[("key.converter", protobuf::CLASS)]),
            ConnectorType::Source,
        )
        .is_empty());
        let errs = validate(
            &cfg(&[
                ("value.converter", envelope::CLASS),
                ("value.converter.schemas.enable", "maybe"),
            ]),
            ConnectorType::Source,
        );
        assert_eq!(errs[0].key, "value.converter.schemas.enable");
    }

    #[tokio::test]
    async fn confluents_json_format_reads_an_envelopes_schema_when_it_can() {
        let c = RecordConverter::new(Format::Json { schemas: false }, Side::Value, None).unwrap();
        let env = br#"{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}]},"payload":{"id":7}}"#;
        let read = c.to_connect_data("t", Some(env)).await.unwrap();
        assert_eq!(read.value, Some(serde_json::json!({"id": 7})));
        assert_eq!(
            read.schema.map(|s| s.field("id").map(|f| f.schema.ty())),
            Some(Some(crate::schema::Type::Int32))
        );
        // An envelope whose schema is not a Connect schema is read schemaless.
        let odd = br#"{"schema":{"type":"uuid"},"payload":{"id":7}}"#;
        let read = c.to_connect_data("t", Some(odd)).await.unwrap();
        assert_eq!(
            (read.schema, read.value),
            (None, Some(serde_json::json!({"id": 7})))
        );
        let plain = c.to_connect_data("t", Some(br#"{"id":7}"#)).await.unwrap();
        assert_eq!(plain.schema, None);
    }

    #[tokio::test]
    async fn registry_outages_are_retriable_bad_payloads_are_not() {
        let reg = registry::MemoryRegistry::new();
        let id = reg.insert(
            "AVRO",
            r#"{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}"#,
        );
        let c = RecordConverter::new(Format::Avro, Side::Value, Some(reg.clone())).unwrap();
        let bytes = wire::frame(id, &[2]);
        reg.fail_next(1);
        let err = c.deserialize("t", Some(&bytes)).await.unwrap_err();
        assert!(err.is_retriable(), "{err}");
        assert_eq!(
            c.deserialize("t", Some(&bytes)).await.unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
        reg.fail_next(1);
        let err = c
            .serialize("t", Some(&serde_json::json!({"b": 1})))
            .await
            .unwrap_err();
        assert!(err.is_retriable(), "{err}");
        // Not the registry's fault: unknown schema, no magic byte, bad JSON.
        let err = c
            .deserialize("t", Some(&wire::frame(99, &[2])))
            .await
            .unwrap_err();
        assert!(!err.is_retriable(), "{err}");
        let err = c.deserialize("t", Some(b"{}")).await.unwrap_err();
        assert!(!err.is_retriable(), "{err}");
        let err = JsonConverter.deserialize("t", Some(b"{oops")).unwrap_err();
        assert!(!err.is_retriable(), "{err}");
    }

    #[tokio::test]
    async fn registry_formats_need_a_registry() {
        let err = RecordConverter::new(Format::Avro, Side::Value, None)
            .err()
            .unwrap_or_default();
        assert!(err.contains("Schema Registry"), "{err}");
        let reg: Arc<dyn SchemaRegistry> = registry::MemoryRegistry::new();
        let c = Converters::from_config(
            &cfg(&[("output.data.format", "AVRO")]),
            ConnectorType::Source,
            Some(reg),
        )
        .unwrap();
        assert_eq!(c.value.class_name(), avro::CLASS);
        assert_eq!(c.key.class_name(), STRING_CLASS);
        let bytes = c
            .value
            .serialize("t", Some(&serde_json::json!({"a": 1})))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bytes[0], wire::MAGIC_BYTE);
        assert_eq!(
            c.value.deserialize("t", Some(&bytes)).await.unwrap(),
            Some(serde_json::json!({"a": 1}))
        );
    }
}
