//! The NATS connectors' config keys, their definitions, and the typed
//! settings tasks run with. Confluent has no managed NATS connector; the
//! keys follow the `nats.*` style of the community Kafka Connect
//! connectors and Confluent's conventions (`kafka.topic`, `topics`).

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::connectors::config::{list, non_empty, number};
use crate::connectors::sink_config;
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const SERVER_URLS: &str = "nats.server.urls";
pub const USERNAME: &str = "nats.username";
pub const PASSWORD: &str = "nats.password";
pub const TOKEN: &str = "nats.token";
pub const STREAM: &str = "nats.stream";
pub const SUBJECTS: &str = "nats.subjects";
pub const CONSUMER: &str = "nats.consumer.name";
pub const DELIVER_POLICY: &str = "nats.deliver.policy";
pub const ACK_WAIT_MS: &str = "nats.ack.wait.ms";
pub const BATCH_SIZE: &str = "nats.batch.size";
pub const KAFKA_TOPIC: &str = "kafka.topic";
pub const SUBJECT: &str = "nats.subject";
pub const JETSTREAM: &str = "nats.jetstream.enabled";

fn connection_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "NATS server";
    vec![
        ConfigDef::new(SERVER_URLS, List)
            .required()
            .host()
            .group(CONN)
            .doc("NATS server URLs", "Servers of the cluster, as nats://host:4222 (tls://host:4222 for TLS, verified against public roots); the client picks one and fails over to the others."),
        ConfigDef::new(USERNAME, String)
            .group(CONN)
            .doc("NATS username", "User name to connect with (with nats.password)."),
        ConfigDef::new(PASSWORD, Password)
            .group(CONN)
            .doc("NATS password", "Password of nats.username."),
        ConfigDef::new(TOKEN, Password)
            .group(CONN)
            .doc("NATS token", "Authentication token, instead of a user name and password."),
    ]
}

pub fn source_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "NATS JetStream source";
    let mut defs = connection_defs();
    defs.extend([
        ConfigDef::new(STREAM, String)
            .required()
            .group(GROUP)
            .doc("JetStream stream", "The stream to read; it must exist."),
        ConfigDef::new(SUBJECTS, List)
            .group(GROUP)
            .doc("Subjects", "Subject filters (* and > wildcards) of the stream's messages to read; empty reads them all."),
        ConfigDef::new(KAFKA_TOPIC, String)
            .required()
            .group(GROUP)
            .doc("Kafka topic", "Topic the messages are written to; created if missing. The record key is the message's subject."),
        ConfigDef::new(CONSUMER, String)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Durable consumer name", "The durable pull consumer the tasks share (default tributary-<connector name>). The server keeps its position: a restarted task continues after the last message acknowledged."),
        ConfigDef::new(DELIVER_POLICY, String)
            .default("all")
            .allowed(&["all", "new"])
            .group(GROUP)
            .doc("Deliver policy", "Where a new consumer starts: all (the stream's first message) or new (messages stored from now on). Ignored when the consumer exists, or when stored offsets say where to resume."),
        ConfigDef::new(ACK_WAIT_MS, Long)
            .default("60000")
            .min(1000)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Ack wait (ms)", "How long the server waits for the acknowledgement of a message (sent once Kafka has its record) before delivering it again."),
        ConfigDef::new(BATCH_SIZE, Int)
            .default("500")
            .min(1)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Batch size", "Most messages fetched at once."),
    ]);
    defs
}

pub fn sink_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "NATS sink";
    let mut defs = connection_defs();
    defs.extend([
        ConfigDef::new(SUBJECT, String)
            .default("${topic}")
            .group(GROUP)
            .doc("Subject", "The subject each record is published to; ${topic} is the record's topic and ${key} its key (as text)."),
        ConfigDef::new(JETSTREAM, Boolean)
            .default("true")
            .group(GROUP)
            .doc("Publish to JetStream", "true: every message is acknowledged by the stream that captures its subject before the batch's offsets are committed (at-least-once), with a Nats-Msg-Id of topic-partition-offset, so a batch sent again within the stream's duplicate window is stored once. false: core NATS publish, no acknowledgement (at-most-once)."),
    ]);
    defs.extend(sink_config::defs());
    defs
}

/// A password or token: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    UserPassword(String, Secret),
    Token(Secret),
}

#[derive(Debug, Clone)]
pub struct Connection {
    /// Each a `nats://` or `tls://` URL.
    pub servers: Vec<Url>,
    pub auth: Auth,
    pub tls: bool,
}

impl Connection {
    fn parse(config: &Config) -> Result<Connection, FieldError> {
        let urls = list(config, SERVER_URLS);
        if urls.is_empty() {
            return Err(FieldError::new(
                SERVER_URLS,
                "Missing required configuration \"nats.server.urls\" which has no default value.",
            ));
        }
        let mut servers = Vec::new();
        let mut tls = false;
        for url in &urls {
            let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            match scheme.as_deref() {
                Some("nats") => {}
                Some("tls") => tls = true,
                _ => {
                    return Err(FieldError::new(
                        SERVER_URLS,
                        format!("{url:?} is not a nats:// or tls:// URL"),
                    ))
                }
            }
            // As the client parses it (`ServerAddr`), so that it connects.
            servers.push(Url::parse(url).map_err(|e| {
                FieldError::new(
                    SERVER_URLS,
                    format!("{url:?}: NATS server URL is invalid: {e}"),
                )
            })?);
        }
        let token = config.get(TOKEN).filter(|t| !t.trim().is_empty());
        let auth = match (non_empty(config, USERNAME), token) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    TOKEN,
                    "set either nats.username and nats.password or nats.token",
                ))
            }
            (Some(user), None) => Auth::UserPassword(
                user.to_string(),
                Secret(config.get(PASSWORD).cloned().unwrap_or_default()),
            ),
            (None, Some(token)) => Auth::Token(Secret(token.clone())),
            (None, None) => Auth::None,
        };
        Ok(Connection { servers, auth, tls })
    }

    pub fn describe(&self) -> String {
        self.servers
            .iter()
            .map(|s| {
                let host = s.host_str().unwrap_or("");
                // Without the brackets of an IPv6 address, as the client shows it.
                let host = host.trim_start_matches('[').trim_end_matches(']');
                format!("{host}:{}", s.port_or_known_default().unwrap_or(4222))
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliver {
    All,
    New,
}

#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub connection: Connection,
    pub stream: String,
    pub subjects: Vec<String>,
    pub kafka_topic: String,
    pub consumer: String,
    pub deliver: Deliver,
    pub ack_wait: Duration,
    pub batch_size: usize,
}

impl SourceSettings {
    pub fn parse(config: &Config) -> Result<SourceSettings, FieldError> {
        let connection = Connection::parse(config)?;
        let required = |key: &str| {
            non_empty(config, key).map(str::to_string).ok_or_else(|| {
                FieldError::new(
                    key,
                    format!("Missing required configuration \"{key}\" which has no default value."),
                )
            })
        };
        let stream = required(STREAM)?;
        let kafka_topic = required(KAFKA_TOPIC)?;
        let consumer = match non_empty(config, CONSUMER) {
            Some(c) => c.to_string(),
            None => format!(
                "tributary-{}",
                non_empty(config, "name").unwrap_or("connector")
            ),
        };
        // JetStream names may not hold these.
        for (key, name) in [(STREAM, &stream), (CONSUMER, &consumer)] {
            if name.contains(['.', '*', '>', ' ', '/', '\\']) {
                return Err(FieldError::new(
                    key,
                    format!("{name:?} may not contain . * > / \\ or spaces"),
                ));
            }
        }
        let deliver = match non_empty(config, DELIVER_POLICY)
            .unwrap_or("all")
            .to_ascii_lowercase()
            .as_str()
        {
            "all" => Deliver::All,
            "new" => Deliver::New,
            other => {
                return Err(FieldError::new(
                    DELIVER_POLICY,
                    format!("Invalid value {other}: must be one of all, new"),
                ))
            }
        };
        Ok(SourceSettings {
            connection,
            stream,
            subjects: list(config, SUBJECTS),
            kafka_topic,
            consumer,
            deliver,
            ack_wait: Duration::from_millis(number(config, ACK_WAIT_MS, 60_000)?.max(1000)),
            batch_size: number(config, BATCH_SIZE, 500)?.max(1) as usize,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SinkSettings {
    pub connection: Connection,
    pub subject: String,
    pub jetstream: bool,
}

impl SinkSettings {
    pub fn parse(config: &Config) -> Result<SinkSettings, FieldError> {
        let connection = Connection::parse(config)?;
        let subject = non_empty(config, SUBJECT).unwrap_or("${topic}").to_string();
        let probe = subject.replace("${topic}", "t").replace("${key}", "k");
        if probe.contains("${") || probe.contains(['*', '>', ' ']) {
            return Err(FieldError::new(
                SUBJECT,
                "only ${topic} and ${key} may be used, and no wildcards or spaces",
            ));
        }
        let jetstream = match non_empty(config, JETSTREAM) {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(FieldError::new(
                    JETSTREAM,
                    format!("Invalid value {v}: expected true or false"),
                ))
            }
        };
        Ok(SinkSettings {
            connection,
            subject,
            jetstream,
        })
    }
}

pub fn validate_source(config: &Config) -> Vec<FieldError> {
    SourceSettings::parse(config).err().into_iter().collect()
}

pub fn validate_sink(config: &Config) -> Vec<FieldError> {
    let mut errors = sink_config::validate(config);
    errors.extend(SinkSettings::parse(config).err());
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("name", "events"),
            ("nats.server.urls", "nats://127.0.0.1:4222"),
            ("nats.stream", "EVENTS"),
            ("kafka.topic", "events"),
            ("topics", "events"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    #[test]
    fn source_defaults() {
        let s = SourceSettings::parse(&cfg(&[])).unwrap();
        assert_eq!(s.consumer, "tributary-events");
        assert_eq!(s.deliver, Deliver::All);
        assert_eq!(s.ack_wait, Duration::from_secs(60));
        assert_eq!(s.batch_size, 500);
        assert!(s.subjects.is_empty());
        assert_eq!(s.connection.auth, Auth::None);
        assert!(!s.connection.tls);
    }

    #[test]
    fn bad_values_name_their_key() {
        let key = |c: Config| validate_source(&c).into_iter().map(|e| e.key).next();
        assert_eq!(
            key(cfg(&[("nats.server.urls", "http://h")])).as_deref(),
            Some(SERVER_URLS)
        );
        assert_eq!(key(cfg(&[("nats.stream", "a.b")])).as_deref(), Some(STREAM));
        assert_eq!(
            key(cfg(&[("nats.deliver.policy", "last")])).as_deref(),
            Some(DELIVER_POLICY)
        );
        assert_eq!(
            key(cfg(&[("nats.username", "u"), ("nats.token", "t")])).as_deref(),
            Some(TOKEN)
        );
        assert_eq!(
            validate_sink(&cfg(&[("nats.subject", "out.*")]))[0].key,
            SUBJECT
        );
        assert!(validate_sink(&cfg(&[("nats.subject", "out.${topic}.${key}")])).is_empty());
    }

    #[test]
    fn secrets_stay_hidden() {
        let s = SourceSettings::parse(&cfg(&[("nats.token", "t0ken")])).unwrap();
        assert!(!format!("{s:?}").contains("t0ken"));
        for defs in [source_defs(), sink_defs()] {
            let passwords: Vec<&str> = defs
                .iter()
                .filter(|d| d.config_type == ConfigType::Password)
                .map(|d| d.name)
                .collect();
            assert_eq!(passwords, vec![PASSWORD, TOKEN]);
        }
    }
}
