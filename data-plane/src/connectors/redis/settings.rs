//! The Redis sink's config keys (Confluent Cloud's `RedisSink`), their
//! definitions, and the typed settings a task runs with.

use std::fmt;
use std::time::Duration;

use crate::connectors::config::non_empty;
use crate::connectors::sink_config;
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const HOSTNAME: &str = "redis.hostname";
pub const PORT: &str = "redis.portnumber";
pub const USERNAME: &str = "redis.username";
pub const PASSWORD: &str = "redis.password";
pub const DATABASE: &str = "redis.database";
pub const SSL_MODE: &str = "redis.ssl.mode";
pub const TYPE: &str = "redis.type";
pub const KEY_PREFIX: &str = "redis.key.prefix";
pub const TIMEOUT_MS: &str = "redis.operation.timeout.ms";

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "How should we connect to your Redis?";
    const MAP: &str = "Redis details";
    let mut defs = vec![
        ConfigDef::new(HOSTNAME, String)
            .required()
            .host()
            .group(CONN)
            .doc("Redis hostname", "Host name or address of the Redis server."),
        ConfigDef::new(PORT, Int)
            .default("6379")
            .min(1)
            .importance(Importance::High)
            .group(CONN)
            .doc("Redis port number", "Port of the Redis server."),
        ConfigDef::new(USERNAME, String)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Redis username", "ACL user name (Redis 6+); empty authenticates with the password alone."),
        ConfigDef::new(PASSWORD, Password)
            .importance(Importance::High)
            .group(CONN)
            .doc("Redis password", "Password of the Redis server (or of the ACL user)."),
        ConfigDef::new(DATABASE, Int)
            .default("1")
            .min(0)
            .group(CONN)
            .doc("Redis database", "Database index to write to (the upstream connector's default is 1)."),
        ConfigDef::new(SSL_MODE, String)
            .default("disabled")
            .allowed(&["disabled", "enabled"])
            .group(CONN)
            .doc("SSL mode", "enabled: TLS, with the server certificate verified against public roots; disabled: plain TCP."),
        ConfigDef::new(TIMEOUT_MS, Int)
            .default("10000")
            .min(100)
            .importance(Importance::Low)
            .group(CONN)
            .doc("Operation timeout (ms)", "How long to wait for a connection or for Redis to answer a batch; a timeout is retried."),
        ConfigDef::new(TYPE, String)
            .default("STRING")
            .allowed(&["STRING", "HASH"])
            .importance(Importance::High)
            .group(MAP)
            .doc("Redis data type", "STRING: SET key value (string values as they are, others as JSON text). HASH: the value's fields become the hash's fields (nested values as JSON text), replacing the whole hash. A record with a null value deletes its key either way."),
        ConfigDef::new(KEY_PREFIX, String)
            .default("")
            .group(MAP)
            .doc("Key prefix", "Tributary extension: text put before every record key, e.g. orders: (${topic} is replaced by the record's topic)."),
    ];
    defs.extend(sink_config::defs());
    defs
}

/// Checks the definitions cannot express; each error names its key.
pub fn validate(config: &Config) -> Vec<FieldError> {
    let mut errors = sink_config::validate(config);
    if let Err(e) = RedisSettings::parse_own(config) {
        errors.push(e);
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    String,
    Hash,
}

/// A password: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Secret,
    pub database: i64,
    pub tls: bool,
    pub timeout: Duration,
    pub data_type: DataType,
    pub key_prefix: String,
}

impl RedisSettings {
    pub fn parse(config: &Config) -> Result<RedisSettings, FieldError> {
        if let Some(e) = sink_config::validate(config).into_iter().next() {
            return Err(e);
        }
        Self::parse_own(config)
    }

    fn parse_own(config: &Config) -> Result<RedisSettings, FieldError> {
        let host = non_empty(config, HOSTNAME)
            .ok_or_else(|| {
                FieldError::new(
                    HOSTNAME,
                    "Missing required configuration \"redis.hostname\" which has no default value.",
                )
            })?
            .to_string();
        let port = match non_empty(config, PORT) {
            None => 6379,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                FieldError::new(PORT, format!("Invalid value {p}: not a TCP port"))
            })?,
        };
        let database = match non_empty(config, DATABASE) {
            None => 1,
            Some(d) => d.parse::<i64>().ok().filter(|d| *d >= 0).ok_or_else(|| {
                FieldError::new(DATABASE, format!("Invalid value {d}: not a database index"))
            })?,
        };
        let tls = match non_empty(config, SSL_MODE)
            .unwrap_or("disabled")
            .to_ascii_lowercase()
            .as_str()
        {
            "disabled" => false,
            "enabled" => true,
            other => {
                return Err(FieldError::new(
                    SSL_MODE,
                    format!("Invalid value {other}: must be one of disabled, enabled"),
                ))
            }
        };
        let data_type = match non_empty(config, TYPE)
            .unwrap_or("STRING")
            .to_ascii_uppercase()
            .as_str()
        {
            "STRING" => DataType::String,
            "HASH" => DataType::Hash,
            other => {
                return Err(FieldError::new(
                    TYPE,
                    format!("Invalid value {other}: must be one of STRING, HASH"),
                ))
            }
        };
        let timeout_ms = match non_empty(config, TIMEOUT_MS) {
            None => 10_000,
            Some(t) => t.parse::<u64>().ok().filter(|t| *t >= 100).ok_or_else(|| {
                FieldError::new(
                    TIMEOUT_MS,
                    format!("Invalid value {t}: must be at least 100"),
                )
            })?,
        };
        Ok(RedisSettings {
            host,
            port,
            username: non_empty(config, USERNAME).map(str::to_string),
            // Passwords are not trimmed: spaces may be part of them.
            password: Secret(config.get(PASSWORD).cloned().unwrap_or_default()),
            database,
            tls,
            timeout: Duration::from_millis(timeout_ms),
            data_type,
            key_prefix: config.get(KEY_PREFIX).cloned().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        let mut c: Config = [("topics", "t"), ("redis.hostname", "cache.example.com")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    fn keys(c: &Config) -> Vec<String> {
        validate(c).into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn defaults() {
        let s = RedisSettings::parse(&cfg(&[("redis.password", "pw ")])).unwrap();
        assert_eq!((s.port, s.database, s.tls), (6379, 1, false));
        assert_eq!(s.data_type, DataType::String);
        assert_eq!(s.password.expose(), "pw ");
        assert!(!format!("{s:?}").contains("pw "));
        assert_eq!(s.timeout, Duration::from_secs(10));
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut no_host = cfg(&[]);
        no_host.remove("redis.hostname");
        assert_eq!(keys(&no_host), vec!["redis.hostname"]);
        assert_eq!(
            keys(&cfg(&[("redis.portnumber", "70000")])),
            vec!["redis.portnumber"]
        );
        assert_eq!(keys(&cfg(&[("redis.type", "ZSET")])), vec!["redis.type"]);
        assert_eq!(
            keys(&cfg(&[("redis.ssl.mode", "server")])),
            vec!["redis.ssl.mode"]
        );
        assert!(keys(&cfg(&[("redis.type", "hash"), ("redis.database", "0")])).is_empty());
    }

    #[test]
    fn the_password_is_a_password() {
        let d = defs();
        let pw = d.iter().find(|d| d.name == PASSWORD).map(|d| d.config_type);
        assert_eq!(pw, Some(ConfigType::Password));
        assert!(d.iter().any(|d| d.name == "errors.tolerance"));
    }
}
