//! The RabbitMQ connectors' config keys (Confluent Cloud's `RabbitMQSource`
//! and `RabbitMQSink`), their definitions, the typed settings tasks run
//! with (connecting is in [`super::client`]).

use std::fmt;
use std::time::Duration;

use crate::connectors::config::{flag, list, non_empty, number};
use crate::connectors::{sink_config, Config, ConfigDef, ConfigType, ConnectorType};
use crate::connectors::{FieldError, Importance, TaskError};
use crate::converters::{self, Format, Side};

#[cfg(feature = "runtime")]
pub use super::client::{short, task_error};

pub const HOST: &str = "rabbitmq.host";
pub const PORT: &str = "rabbitmq.port";
pub const USERNAME: &str = "rabbitmq.username";
pub const PASSWORD: &str = "rabbitmq.password";
pub const VIRTUAL_HOST: &str = "rabbitmq.virtual.host";
pub const SECURITY_PROTOCOL: &str = "rabbitmq.security.protocol";
pub const CONNECTION_TIMEOUT_MS: &str = "rabbitmq.connection.timeout.ms";
pub const HEARTBEAT_SECONDS: &str = "rabbitmq.requested.heartbeat.seconds";
pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QUEUE: &str = "rabbitmq.queue";
pub const PREFETCH_COUNT: &str = "rabbitmq.prefetch.count";
pub const PREFETCH_GLOBAL: &str = "rabbitmq.prefetch.global";
pub const OUTPUT_DATA_FORMAT: &str = "output.data.format";
pub const EXCHANGE: &str = "rabbitmq.exchange";
pub const ROUTING_KEY: &str = "rabbitmq.routing.key";
pub const DELIVERY_MODE: &str = "rabbitmq.delivery.mode";
pub const FORWARD_KEY: &str = "rabbitmq.forward.kafka.key";
pub const FORWARD_METADATA: &str = "rabbitmq.forward.kafka.metadata";
pub const FORWARD_HEADERS: &str = "rabbitmq.forward.kafka.headers";
pub const PUBLISH_ACK_TIMEOUT_MS: &str = "rabbitmq.publish.ack.timeout";
pub const TASK_ID: &str = "task.id";

/// AMQP short strings (queue, exchange, routing key, virtual host names)
/// hold at most 255 bytes.
const MAX_NAME: usize = 255;
/// Every format Confluent Cloud offers for sources, and STRING.
const OUTPUT_FORMATS: &[&str] = &["BYTES", "STRING", "JSON", "AVRO", "JSON_SR", "PROTOBUF"];

fn connection_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "RabbitMQ connection";
    vec![
        ConfigDef::new(HOST, String)
            .required()
            .host()
            .group(CONN)
            .doc("RabbitMQ host", "Host name or IP address of the RabbitMQ server (no scheme, no port)."),
        ConfigDef::new(PORT, Int)
            .default("5672")
            .min(1)
            .group(CONN)
            .doc("RabbitMQ port", "AMQP port of the server: 5672, or usually 5671 with rabbitmq.security.protocol=SSL."),
        ConfigDef::new(USERNAME, String)
            .default("guest")
            .importance(Importance::High)
            .group(CONN)
            .doc("RabbitMQ username", "User to authenticate as (SASL PLAIN)."),
        ConfigDef::new(PASSWORD, Password)
            .default("guest")
            .importance(Importance::High)
            .group(CONN)
            .doc("RabbitMQ password", "Password of rabbitmq.username."),
        ConfigDef::new(VIRTUAL_HOST, String)
            .default("/")
            .importance(Importance::High)
            .group(CONN)
            .doc("Virtual host", "The RabbitMQ virtual host to connect to."),
        ConfigDef::new(SECURITY_PROTOCOL, String)
            .default("PLAINTEXT")
            .allowed(&["PLAINTEXT", "SSL"])
            .group(CONN)
            .doc("Security protocol", "PLAINTEXT: plain AMQP; SSL: AMQP over TLS (amqps), the server's certificate verified against the public web PKI roots."),
        ConfigDef::new(CONNECTION_TIMEOUT_MS, Int)
            .default("60000")
            .min(1000)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Connection timeout (ms)", "How long establishing the TCP connection may take."),
        ConfigDef::new(HEARTBEAT_SECONDS, Int)
            .default("60")
            .min(0)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Requested heartbeat (s)", "AMQP heartbeat interval asked of the server, so a dead connection is noticed; 0 disables heartbeats."),
    ]
}

pub fn source_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "RabbitMQ source";
    let mut defs = connection_defs();
    defs.extend([
        ConfigDef::new(KAFKA_TOPIC, String)
            .required()
            .group(GROUP)
            .doc("Kafka topic", "Topic the messages are written to; created if missing."),
        ConfigDef::new(QUEUE, List)
            .required()
            .group(GROUP)
            .doc("Queues", "Comma-separated queues to consume; they must exist. Every task consumes every queue, and RabbitMQ shares the messages out among them."),
        ConfigDef::new(PREFETCH_COUNT, Int)
            .default("0")
            .min(0)
            .group(GROUP)
            .doc("Prefetch count", "Most messages the server sends before earlier ones are acknowledged (basic.qos, 0 to 65535). Messages are acknowledged once Kafka has their records, so this bounds what a task holds in memory; 0 means no limit."),
        ConfigDef::new(PREFETCH_GLOBAL, Boolean)
            .default("false")
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Prefetch global", "true: rabbitmq.prefetch.count applies to the task's channel as a whole instead of to each queue's consumer."),
        ConfigDef::new(OUTPUT_DATA_FORMAT, String)
            .default("BYTES")
            .allowed(OUTPUT_FORMATS)
            .importance(Importance::High)
            .group(GROUP)
            .doc("Output record value format", "Format of the record values. BYTES (and STRING): the message body as it is. JSON, AVRO, JSON_SR, PROTOBUF: a body that is JSON is written as that JSON, any other body as a string. A value.converter class overrides it."),
    ]);
    defs
}

pub fn sink_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "RabbitMQ sink";
    let mut defs = connection_defs();
    defs.extend([
        ConfigDef::new(EXCHANGE, String)
            .required()
            .group(GROUP)
            .doc("Exchange", "The exchange every record is published to; it must exist."),
        ConfigDef::new(ROUTING_KEY, String)
            .required()
            .group(GROUP)
            .doc("Routing key", "The routing key of every message."),
        ConfigDef::new(DELIVERY_MODE, String)
            .default("PERSISTENT")
            .allowed(&["PERSISTENT", "TRANSIENT"])
            .group(GROUP)
            .doc("Delivery mode", "PERSISTENT: durable queues keep the messages across a broker restart; TRANSIENT: they may be kept in memory only."),
        ConfigDef::new(FORWARD_KEY, Boolean)
            .default("false")
            .group(GROUP)
            .doc("Forward Kafka record key", "Send the record key, as text, as the message's correlation id (at most 255 bytes)."),
        ConfigDef::new(FORWARD_METADATA, Boolean)
            .default("false")
            .group(GROUP)
            .doc("Forward Kafka record metadata", "Add the record's topic, partition and offset as the message headers KAFKA_TOPIC, KAFKA_PARTITION and KAFKA_OFFSET."),
        ConfigDef::new(FORWARD_HEADERS, Boolean)
            .default("false")
            .group(GROUP)
            .doc("Forward Kafka record headers", "Add the record's headers to the message headers, as text."),
        ConfigDef::new(PUBLISH_ACK_TIMEOUT_MS, Int)
            .default("10000")
            .min(1)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Publish confirm timeout (ms)", "How long to wait for the server to confirm a batch's messages (publisher confirms) before the batch is sent again. Offsets are committed only once every message of a batch is confirmed."),
    ]);
    defs.extend(sink_config::defs());
    defs
}

/// Where and how a task connects. The password stays out of `Debug`.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub username: String,
    // Read only when connecting (the `runtime` feature).
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    pub(super) password: String,
    pub virtual_host: String,
    pub tls: bool,
    pub connect_timeout: Duration,
    pub heartbeat: u16,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &"****")
            .field("virtual_host", &self.virtual_host)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Collects the problems of one config, each naming its key.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(key, message));
    }

    /// The value of `r`, or its error recorded and `fallback`.
    fn take<T>(&mut self, r: Result<T, FieldError>, fallback: T) -> T {
        r.unwrap_or_else(|e| {
            self.0.push(e);
            fallback
        })
    }

    fn required(&mut self, config: &Config, key: &str) -> String {
        match non_empty(config, key) {
            Some(v) => v.to_string(),
            None => {
                self.push(
                    key,
                    format!("Missing required configuration \"{key}\" which has no default value."),
                );
                String::new()
            }
        }
    }

    /// An AMQP name: at most 255 bytes.
    fn name(&mut self, key: &str, name: &str) {
        if name.len() > MAX_NAME {
            self.push(
                key,
                format!(
                    "{name:?} is {} bytes long; AMQP names hold at most {MAX_NAME}",
                    name.len()
                ),
            );
        }
    }

    fn done<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// A number in `range`, or `default` when absent.
fn bounded<T>(
    config: &Config,
    key: &str,
    default: T,
    range: std::ops::RangeInclusive<i64>,
) -> Result<T, FieldError>
where
    T: TryFrom<i64>,
{
    let n: i64 = match non_empty(config, key) {
        None => return Ok(default),
        Some(v) => v.parse().map_err(|_| {
            FieldError::new(
                key,
                format!("Invalid value {v} for configuration {key}: Not a number"),
            )
        })?,
    };
    if !range.contains(&n) {
        return Err(FieldError::new(
            key,
            format!(
                "Invalid value {n}: must be between {} and {}",
                range.start(),
                range.end()
            ),
        ));
    }
    T::try_from(n).map_err(|_| FieldError::new(key, format!("Invalid value {n}")))
}

impl Endpoint {
    fn parse(config: &Config, p: &mut Problems) -> Endpoint {
        let host = p.required(config, HOST);
        if host.contains("://") || host.contains(['/', ' ', '@']) {
            p.push(HOST, format!("{host:?} is not a host name: give the host alone, and the port in rabbitmq.port"));
        }
        let port = p.take(bounded(config, PORT, 5672u16, 1..=65535), 5672);
        let virtual_host = non_empty(config, VIRTUAL_HOST).unwrap_or("/").to_string();
        p.name(VIRTUAL_HOST, &virtual_host);
        let tls = match non_empty(config, SECURITY_PROTOCOL).unwrap_or("PLAINTEXT") {
            v if v.eq_ignore_ascii_case("PLAINTEXT") => false,
            v if v.eq_ignore_ascii_case("SSL") => true,
            v => {
                p.push(
                    SECURITY_PROTOCOL,
                    format!("Invalid value {v}: must be one of PLAINTEXT, SSL"),
                );
                false
            }
        };
        let timeout_ms = p.take(
            bounded(
                config,
                CONNECTION_TIMEOUT_MS,
                60_000u64,
                1000..=i32::MAX as i64,
            ),
            60_000,
        );
        let heartbeat = p.take(bounded(config, HEARTBEAT_SECONDS, 60u16, 0..=65535), 60);
        Endpoint {
            host,
            port,
            username: non_empty(config, USERNAME).unwrap_or("guest").to_string(),
            // Blank means the default, as for every other key.
            password: config
                .get(PASSWORD)
                .filter(|v| !v.is_empty())
                .cloned()
                .unwrap_or_else(|| "guest".to_string()),
            virtual_host,
            tls,
            connect_timeout: Duration::from_millis(timeout_ms),
            heartbeat,
        }
    }

    /// `host:port/vhost`, for logs and errors.
    pub fn describe(&self) -> String {
        format!(
            "{}:{} (virtual host {:?})",
            self.host, self.port, self.virtual_host
        )
    }
}

#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub endpoint: Endpoint,
    pub kafka_topic: String,
    pub queues: Vec<String>,
    pub prefetch_count: u16,
    pub prefetch_global: bool,
    /// The value is the body as it is (BYTES, STRING), or JSON when the
    /// body parses as JSON (the structured formats).
    pub raw_body: bool,
    /// BYTES: the body goes to Kafka byte for byte (a `BYTES` value, which
    /// the record model holds as base64), whether or not it is UTF-8.
    pub bytes_body: bool,
    /// The connector's name, for connection names and consumer tags.
    pub name: String,
}

impl SourceSettings {
    pub fn parse(config: &Config) -> Result<SourceSettings, Vec<FieldError>> {
        let mut p = Problems::default();
        let endpoint = Endpoint::parse(config, &mut p);
        let kafka_topic = p.required(config, KAFKA_TOPIC);
        let queues = list(config, QUEUE);
        if queues.is_empty() {
            p.push(
                QUEUE,
                "Missing required configuration \"rabbitmq.queue\" which has no default value.",
            );
        }
        for q in &queues {
            p.name(QUEUE, q);
        }
        let prefetch_count = p.take(bounded(config, PREFETCH_COUNT, 0u16, 0..=65535), 0);
        let prefetch_global = p.take(flag(config, PREFETCH_GLOBAL, false), false);
        let (raw_body, bytes_body) = match source_value_format(config) {
            Ok(f) => (
                matches!(f, Format::Bytes | Format::String),
                matches!(f, Format::Bytes),
            ),
            Err(e) => {
                p.0.push(e);
                (true, true)
            }
        };
        if let Err(e) = converters::select(config, ConnectorType::Source, Side::Key) {
            p.0.push(e);
        }
        p.done(SourceSettings {
            endpoint,
            kafka_topic,
            queues,
            prefetch_count,
            prefetch_global,
            raw_body,
            bytes_body,
            name: non_empty(config, "name").unwrap_or("connector").to_string(),
        })
    }
}

/// The value format of a source config: `value.converter`, else
/// `output.data.format`, else BYTES (Confluent's RabbitMQ source writes the
/// body as bytes; the plugin writes that default into the task configs, so
/// the runtime's converter agrees).
pub fn source_value_format(config: &Config) -> Result<Format, FieldError> {
    if value_format_unset(config) {
        return Ok(Format::Bytes);
    }
    converters::select(config, ConnectorType::Source, Side::Value)
}

/// Neither `output.data.format` nor `value.converter` is set: the value
/// format is BYTES.
pub fn value_format_unset(config: &Config) -> bool {
    non_empty(config, OUTPUT_DATA_FORMAT).is_none()
        && non_empty(config, Side::Value.converter_key()).is_none()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    Persistent,
    Transient,
}

impl DeliveryMode {
    /// The AMQP `delivery-mode` property.
    pub fn amqp(&self) -> u8 {
        match self {
            DeliveryMode::Transient => 1,
            DeliveryMode::Persistent => 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SinkSettings {
    pub endpoint: Endpoint,
    pub exchange: String,
    pub routing_key: String,
    pub delivery_mode: DeliveryMode,
    pub forward_key: bool,
    pub forward_metadata: bool,
    pub forward_headers: bool,
    pub ack_timeout: Duration,
    pub name: String,
}

impl SinkSettings {
    pub fn parse(config: &Config) -> Result<SinkSettings, Vec<FieldError>> {
        let mut p = Problems::default();
        let endpoint = Endpoint::parse(config, &mut p);
        let exchange = p.required(config, EXCHANGE);
        p.name(EXCHANGE, &exchange);
        if exchange.starts_with("amq.") && !is_builtin_exchange(&exchange) {
            // The server refuses to declare (or check) other amq.* names.
            p.push(
                EXCHANGE,
                format!("{exchange:?}: names starting with amq. are reserved by RabbitMQ"),
            );
        }
        let routing_key = p.required(config, ROUTING_KEY);
        p.name(ROUTING_KEY, &routing_key);
        let delivery_mode = match non_empty(config, DELIVERY_MODE).unwrap_or("PERSISTENT") {
            v if v.eq_ignore_ascii_case("PERSISTENT") => DeliveryMode::Persistent,
            v if v.eq_ignore_ascii_case("TRANSIENT") => DeliveryMode::Transient,
            v => {
                p.push(
                    DELIVERY_MODE,
                    format!("Invalid value {v}: must be one of PERSISTENT, TRANSIENT"),
                );
                DeliveryMode::Persistent
            }
        };
        let forward_key = p.take(flag(config, FORWARD_KEY, false), false);
        let forward_metadata = p.take(flag(config, FORWARD_METADATA, false), false);
        let forward_headers = p.take(flag(config, FORWARD_HEADERS, false), false);
        let ack_timeout_ms: u64 = p.take(number(config, PUBLISH_ACK_TIMEOUT_MS, 10_000), 10_000);
        p.done(SinkSettings {
            endpoint,
            exchange,
            routing_key,
            delivery_mode,
            forward_key,
            forward_metadata,
            forward_headers,
            ack_timeout: Duration::from_millis(ack_timeout_ms.max(1)),
            name: non_empty(config, "name").unwrap_or("connector").to_string(),
        })
    }
}

/// The exchanges every virtual host has.
fn is_builtin_exchange(name: &str) -> bool {
    matches!(
        name,
        "amq.direct"
            | "amq.fanout"
            | "amq.topic"
            | "amq.headers"
            | "amq.match"
            | "amq.rabbitmq.trace"
    )
}

pub fn validate_source(config: &Config) -> Vec<FieldError> {
    SourceSettings::parse(config).err().unwrap_or_default()
}

pub fn validate_sink(config: &Config) -> Vec<FieldError> {
    let mut errors = sink_config::validate(config);
    errors.extend(SinkSettings::parse(config).err().unwrap_or_default());
    errors
}

/// The first problem, for a task that cannot start.
pub fn first_problem(class: &str, errors: Vec<FieldError>) -> TaskError {
    let detail = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    TaskError::Fatal(format!("invalid {class} config: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("name", "orders"),
            ("rabbitmq.host", "rabbit.example.com"),
            ("rabbitmq.queue", "orders"),
            ("kafka.topic", "orders"),
            ("topics", "orders"),
            ("rabbitmq.exchange", "shop"),
            ("rabbitmq.routing.key", "orders.new"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    fn keys(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.key).collect()
    }

    // Checks the client's URI too.
    #[cfg(feature = "runtime")]
    #[test]
    fn source_defaults_match_confluent() {
        let s = SourceSettings::parse(&cfg(&[])).unwrap();
        assert_eq!(s.endpoint.port, 5672);
        assert_eq!(s.endpoint.username, "guest");
        assert_eq!(s.endpoint.virtual_host, "/");
        assert!(!s.endpoint.tls);
        assert_eq!(s.prefetch_count, 0);
        assert!(!s.prefetch_global);
        assert!(s.raw_body, "BYTES by default");
        let uri = s.endpoint.uri();
        assert_eq!(uri.vhost, "/");
        assert_eq!(uri.authority.userinfo.password, "guest");
        assert_eq!(uri.scheme, lapin::uri::AMQPScheme::AMQP);
    }

    #[test]
    fn structured_formats_parse_json_bodies() {
        let json = SourceSettings::parse(&cfg(&[("output.data.format", "JSON")])).unwrap();
        assert!(!json.raw_body);
        let string = SourceSettings::parse(&cfg(&[(
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        )]))
        .unwrap();
        assert!(string.raw_body);
    }

    #[test]
    fn every_bad_value_names_its_key() {
        let errors = validate_source(&cfg(&[
            ("rabbitmq.port", "70000"),
            ("rabbitmq.prefetch.count", "-1"),
            ("rabbitmq.security.protocol", "TLS"),
            ("rabbitmq.host", "amqp://h:5672"),
            ("output.data.format", "XML"),
        ]));
        assert_eq!(
            keys(errors),
            vec![
                HOST,
                PORT,
                SECURITY_PROTOCOL,
                PREFETCH_COUNT,
                OUTPUT_DATA_FORMAT
            ]
        );
        let long = "q".repeat(256);
        assert_eq!(
            keys(validate_source(&cfg(&[("rabbitmq.queue", &long)]))),
            vec![QUEUE]
        );
        assert_eq!(
            keys(validate_sink(&cfg(&[(
                "rabbitmq.delivery.mode",
                "SOMETIMES"
            )]))),
            vec![DELIVERY_MODE]
        );
        assert_eq!(
            keys(validate_sink(&cfg(&[("rabbitmq.exchange", "amq.mine")]))),
            vec![EXCHANGE]
        );
        assert!(validate_sink(&cfg(&[("rabbitmq.exchange", "amq.topic")])).is_empty());
    }

    // Checks the client's URI too.
    #[cfg(feature = "runtime")]
    #[test]
    fn sink_settings() {
        let s = SinkSettings::parse(&cfg(&[
            ("rabbitmq.delivery.mode", "transient"),
            ("rabbitmq.forward.kafka.key", "true"),
            ("rabbitmq.security.protocol", "SSL"),
            ("rabbitmq.port", "5671"),
        ]))
        .unwrap();
        assert_eq!(s.delivery_mode, DeliveryMode::Transient);
        assert_eq!(s.delivery_mode.amqp(), 1);
        assert!(s.forward_key && !s.forward_metadata && !s.forward_headers);
        assert_eq!(s.ack_timeout, Duration::from_secs(10));
        assert_eq!(s.endpoint.uri().scheme, lapin::uri::AMQPScheme::AMQPS);
    }

    #[test]
    fn passwords_are_typed_and_hidden() {
        let s = SourceSettings::parse(&cfg(&[("rabbitmq.password", "s3cret")])).unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
        for defs in [source_defs(), sink_defs()] {
            let passwords: Vec<&str> = defs
                .iter()
                .filter(|d| d.config_type == ConfigType::Password)
                .map(|d| d.name)
                .collect();
            assert_eq!(passwords, vec![PASSWORD]);
            let hosts: Vec<&str> = defs.iter().filter(|d| d.host).map(|d| d.name).collect();
            assert_eq!(hosts, vec![HOST]);
        }
    }
}
