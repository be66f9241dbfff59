//! The MQTT connectors' config keys (Confluent's `MqttSource` and
//! `MqttSink`), their definitions, and the typed settings tasks run with,
//! (the client options shared by source and sink are in [`super::client`]).

use std::fmt;
use std::time::Duration;

use crate::connectors::config::{flag, list, non_empty, number};
use crate::connectors::sink_config;
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const SERVER_URI: &str = "mqtt.server.uri";
pub const TOPICS: &str = "mqtt.topics";
pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const QOS: &str = "mqtt.qos";
pub const CLEAN_SESSION: &str = "mqtt.clean.session.enabled";
pub const CLIENT_ID: &str = "mqtt.client.id";
pub const USERNAME: &str = "mqtt.username";
pub const PASSWORD: &str = "mqtt.password";
pub const KEEPALIVE: &str = "mqtt.keepalive.interval.seconds";
pub const CONNECT_TIMEOUT: &str = "mqtt.connect.timeout.seconds";
pub const RETAINED: &str = "mqtt.retained.enabled";
pub const SINK_TOPIC: &str = "mqtt.topic";
/// What each source task config carries: the task's share of `mqtt.topics`.
pub const TASK_ID: &str = "task.id";

fn connection_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "MQTT broker";
    vec![
        ConfigDef::new(SERVER_URI, List)
            .required()
            .host()
            .group(CONN)
            .doc("MQTT server URI", "The broker, as tcp://host:1883 (or mqtt://) for plain TCP, ssl://host:8883 (or tls://, mqtts://) for TLS with the server certificate verified against public roots. Only the first URI of a list is used."),
        ConfigDef::new(USERNAME, String)
            .group(CONN)
            .doc("MQTT username", "User name to connect with."),
        ConfigDef::new(PASSWORD, Password)
            .group(CONN)
            .doc("MQTT password", "Password to connect with."),
        ConfigDef::new(CLIENT_ID, String)
            .importance(Importance::Low)
            .group(CONN)
            .doc("MQTT client ID", "Client identifier prefix; each task adds -<task id>. Default: tributary-<connector name>. It must be stable for a persistent session to survive restarts, and unique on the broker."),
        ConfigDef::new(KEEPALIVE, Int)
            .default("60")
            .min(1)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Keepalive interval (s)", "Longest silence before the client pings the broker."),
        ConfigDef::new(CONNECT_TIMEOUT, Int)
            .default("30")
            .min(1)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Connect timeout (s)", "How long a connection attempt may take."),
    ]
}

pub fn source_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "MQTT source";
    let mut defs = connection_defs();
    defs.extend([
        ConfigDef::new(TOPICS, List)
            .required()
            .group(GROUP)
            .doc("MQTT topics", "Topic filters to subscribe to (+ and # wildcards allowed). With several tasks, the filters are shared out among them."),
        ConfigDef::new(KAFKA_TOPIC, String)
            .required()
            .group(GROUP)
            .doc("Kafka topic", "Topic the messages are written to; created if missing. The record key is the MQTT topic the message was published to."),
        ConfigDef::new(QOS, Int)
            .default("1")
            .allowed(&["0", "1", "2"])
            .importance(Importance::High)
            .group(GROUP)
            .doc("MQTT QoS", "Subscription QoS. 1 or 2: a message is acknowledged to the broker only once Kafka has it, so none is lost (at-least-once). 0: the broker does not redeliver (at-most-once)."),
        ConfigDef::new(CLEAN_SESSION, Boolean)
            .default("false")
            .group(GROUP)
            .doc("Clean session", "false (Tributary's default): a persistent session; the broker keeps the subscriptions and queues QoS 1/2 messages while the task is down or restarting, and redelivers unacknowledged ones. true: every connection starts afresh and what is published meanwhile is lost."),
    ]);
    defs
}

pub fn sink_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "MQTT sink";
    let mut defs = connection_defs();
    defs.extend([
        ConfigDef::new(SINK_TOPIC, String)
            .default("${topic}")
            .group(GROUP)
            .doc("MQTT topic", "Tributary extension: the topic each record is published to; ${topic} is the record's Kafka topic and ${key} its key (as text)."),
        ConfigDef::new(QOS, Int)
            .default("1")
            .allowed(&["0", "1", "2"])
            .importance(Importance::High)
            .group(GROUP)
            .doc("MQTT QoS", "Publish QoS. 1 or 2: a batch's offsets are committed only once the broker acknowledged every message (at-least-once). 0: fire and forget."),
        ConfigDef::new(RETAINED, Boolean)
            .default("false")
            .group(GROUP)
            .doc("Retained", "Publish messages as retained. A record with a null value then clears the topic's retained message; without retained, null values are skipped."),
    ]);
    defs.extend(sink_config::defs());
    defs
}

/// A password: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub(super) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Broker {
    pub fn parse(uri: &str) -> Result<Broker, String> {
        let uri = uri.trim();
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| {
            format!("{uri:?} is not a URI like tcp://host:1883 or ssl://host:8883")
        })?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "tcp" | "mqtt" => false,
            "ssl" | "tls" | "mqtts" => true,
            other => {
                return Err(format!(
                    "unsupported scheme {other}: use tcp, mqtt, ssl, tls or mqtts"
                ))
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{p:?} is not a TCP port"))?;
                (h, port)
            }
            _ => (authority, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{uri:?} names no host"));
        }
        Ok(Broker {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

/// How to reach and log in to the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub broker: Broker,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Secret,
    pub keepalive: Duration,
    pub connect_timeout: Duration,
    pub clean_session: bool,
}

impl Connection {
    fn parse(config: &Config, task_id: u32, clean_session: bool) -> Result<Connection, FieldError> {
        let uri = list(config, SERVER_URI).into_iter().next().ok_or_else(|| {
            FieldError::new(
                SERVER_URI,
                "Missing required configuration \"mqtt.server.uri\" which has no default value.",
            )
        })?;
        let broker = Broker::parse(&uri).map_err(|m| FieldError::new(SERVER_URI, m))?;
        let prefix = match non_empty(config, CLIENT_ID) {
            Some(id) => id.to_string(),
            None => format!(
                "tributary-{}",
                non_empty(config, "name").unwrap_or("connector")
            ),
        };
        Ok(Connection {
            broker,
            client_id: format!("{prefix}-{task_id}"),
            username: non_empty(config, USERNAME).map(str::to_string),
            password: Secret(config.get(PASSWORD).cloned().unwrap_or_default()),
            keepalive: Duration::from_secs(number(config, KEEPALIVE, 60)?.max(1)),
            connect_timeout: Duration::from_secs(number(config, CONNECT_TIMEOUT, 30)?.max(1)),
            clean_session,
        })
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.broker.host, self.broker.port)
    }
}

/// An MQTT quality of service (`mqtt.qos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qos {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnce,
}

pub fn qos(config: &Config) -> Result<Qos, FieldError> {
    match non_empty(config, QOS).unwrap_or("1") {
        "0" => Ok(Qos::AtMostOnce),
        "1" => Ok(Qos::AtLeastOnce),
        "2" => Ok(Qos::ExactlyOnce),
        other => Err(FieldError::new(
            QOS,
            format!("Invalid value {other}: must be one of 0, 1, 2"),
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSettings {
    pub connection: Connection,
    /// This task's topic filters.
    pub filters: Vec<String>,
    pub kafka_topic: String,
    pub qos: Qos,
}

impl SourceSettings {
    pub fn parse(config: &Config, task_id: u32) -> Result<SourceSettings, FieldError> {
        let clean = flag(config, CLEAN_SESSION, false)?;
        let connection = Connection::parse(config, task_id, clean)?;
        let filters = list(config, TOPICS);
        if filters.is_empty() {
            return Err(FieldError::new(
                TOPICS,
                "Missing required configuration \"mqtt.topics\" which has no default value.",
            ));
        }
        for f in &filters {
            check_filter(f).map_err(|m| FieldError::new(TOPICS, m))?;
        }
        let kafka_topic = non_empty(config, KAFKA_TOPIC)
            .ok_or_else(|| {
                FieldError::new(
                    KAFKA_TOPIC,
                    "Missing required configuration \"kafka.topic\" which has no default value.",
                )
            })?
            .to_string();
        Ok(SourceSettings {
            connection,
            filters,
            kafka_topic,
            qos: qos(config)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSettings {
    pub connection: Connection,
    pub topic: String,
    pub qos: Qos,
    pub retained: bool,
}

impl SinkSettings {
    pub fn parse(config: &Config, task_id: u32) -> Result<SinkSettings, FieldError> {
        // Publishing needs no session state across connections.
        let connection = Connection::parse(config, task_id, true)?;
        let topic = non_empty(config, SINK_TOPIC)
            .unwrap_or("${topic}")
            .to_string();
        let probe = topic.replace("${topic}", "t").replace("${key}", "k");
        if probe.contains("${") || probe.contains(['+', '#']) {
            return Err(FieldError::new(
                SINK_TOPIC,
                "only ${topic} and ${key} may be used, and no wildcards",
            ));
        }
        Ok(SinkSettings {
            connection,
            topic,
            qos: qos(config)?,
            retained: flag(config, RETAINED, false)?,
        })
    }
}

pub fn validate_source(config: &Config) -> Vec<FieldError> {
    SourceSettings::parse(config, 0).err().into_iter().collect()
}

pub fn validate_sink(config: &Config) -> Vec<FieldError> {
    let mut errors = sink_config::validate(config);
    errors.extend(SinkSettings::parse(config, 0).err());
    errors
}

fn check_filter(f: &str) -> Result<(), String> {
    let levels: Vec<&str> = f.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i != levels.len() - 1) {
            return Err(format!("{f:?}: # must be a whole last level"));
        }
        if level.contains('+') && *level != "+" {
            return Err(format!("{f:?}: + must be a whole level"));
        }
    }
    Ok(())
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
    fn broker_uris() {
        assert_eq!(
            Broker::parse("tcp://127.0.0.1:1883").unwrap(),
            Broker {
                host: "127.0.0.1".into(),
                port: 1883,
                tls: false
            }
        );
        assert_eq!(
            Broker::parse("ssl://broker.example.com").unwrap(),
            Broker {
                host: "broker.example.com".into(),
                port: 8883,
                tls: true
            }
        );
        assert_eq!(Broker::parse("mqtt://[::1]:1999").unwrap().host, "::1");
        assert!(Broker::parse("ws://h:1").is_err());
        assert!(Broker::parse("h:1883").is_err());
        assert!(Broker::parse("tcp://h:x").is_err());
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn source_settings_with_defaults_and_a_stable_client_id() {
        let s = SourceSettings::parse(
            &cfg(&[
                ("name", "sensors"),
                ("mqtt.server.uri", "tcp://localhost:1883"),
                ("mqtt.topics", "sensors/+/temp, alerts/#"),
                ("kafka.topic", "sensors"),
                ("mqtt.password", "pw"),
                ("mqtt.username", "u"),
            ]),
            2,
        )
        .unwrap();
        assert_eq!(s.filters, vec!["sensors/+/temp", "alerts/#"]);
        assert_eq!(s.qos, Qos::AtLeastOnce);
        assert!(!s.connection.clean_session);
        assert_eq!(s.connection.client_id, "tributary-sensors-2");
        assert!(!format!("{s:?}").contains("\"pw\""));
        assert!(s.connection.options().is_ok());
    }

    #[test]
    fn bad_filters_qos_and_topics_name_their_key() {
        let base = |extra: &[(&str, &str)]| {
            let mut c = cfg(&[
                ("mqtt.server.uri", "tcp://h:1883"),
                ("mqtt.topics", "a"),
                ("kafka.topic", "k"),
            ]);
            c.extend(cfg(extra));
            c
        };
        assert_eq!(
            validate_source(&base(&[("mqtt.topics", "a/#/b")]))[0].key,
            TOPICS
        );
        assert_eq!(
            validate_source(&base(&[("mqtt.topics", "a+")]))[0].key,
            TOPICS
        );
        assert_eq!(validate_source(&base(&[("mqtt.qos", "3")]))[0].key, QOS);
        assert_eq!(
            validate_source(&base(&[("mqtt.server.uri", "http://h")]))[0].key,
            SERVER_URI
        );
        assert!(validate_source(&base(&[])).is_empty());
        let sink = cfg(&[
            ("topics", "t"),
            ("mqtt.server.uri", "ssl://h"),
            ("mqtt.topic", "out/${topic}/#"),
        ]);
        assert_eq!(validate_sink(&sink)[0].key, SINK_TOPIC);
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn tls_options_build_with_the_ring_provider() {
        let c = cfg(&[
            ("topics", "t"),
            ("mqtt.server.uri", "ssl://broker.example.com"),
        ]);
        let s = SinkSettings::parse(&c, 0).unwrap();
        assert!(s.connection.broker.tls);
        assert!(s.connection.options().is_ok());
    }

    #[test]
    fn passwords_are_passwords() {
        for defs in [source_defs(), sink_defs()] {
            let pw = defs
                .iter()
                .find(|d| d.name == PASSWORD)
                .map(|d| d.config_type);
            assert_eq!(pw, Some(ConfigType::Password));
        }
    }
}
