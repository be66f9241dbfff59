//! Keys every source connector accepts, beyond its plugin's own: today the
//! delivery guarantee (exactly-once with Kafka transactions, KIP-618). The
//! catalogue's [`validate`](super::validate) checks them for every source
//! plugin, so the control plane refuses a bad value naming its key, and the
//! source runtime reads the typed [`ExactlyOnce`] settings from them.

use std::time::Duration;

use super::config::{check_defs, flag, non_empty, number};
use super::{Config, ConfigDef, ConfigType, FieldError, Importance};

/// KIP-618's connector key: `requested` or `required`; absent = at-least-once.
pub const EXACTLY_ONCE_SUPPORT: &str = "exactly.once.support";
/// Confluent Cloud's spelling (PostgresCdcSourceV2): `true` = `required`.
pub const EXACTLY_ONCE_ENABLED: &str = "exactly.once.enabled";
pub const TRANSACTION_BOUNDARY: &str = "transaction.boundary";
pub const TRANSACTION_BOUNDARY_INTERVAL_MS: &str = "transaction.boundary.interval.ms";
/// KIP-618's per-connector offsets topic.
pub const OFFSETS_STORAGE_TOPIC: &str = "offsets.storage.topic";

/// The offsets topic when `offsets.storage.topic` is unset: one compacted
/// topic per Kafka cluster shared by every exactly-once connector on it, as
/// Kafka Connect's worker-wide `connect-offsets` is (records are keyed by
/// connector name, so connectors do not see each other's offsets). One fixed
/// name keeps the topic list clean and is easy to grant ACLs on.
pub const DEFAULT_OFFSETS_TOPIC: &str = "_tributary-offsets";
/// Kafka Connect's default boundary interval (`offset.flush.interval.ms`).
const DEFAULT_INTERVAL_MS: u64 = 60_000;
/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const GROUP: &str = "Delivery";
    vec![
        ConfigDef::new(EXACTLY_ONCE_SUPPORT, String)
            .allowed(&["requested", "required"])
            .group(GROUP)
            .doc("Exactly-once support", "Write records and their source offsets in Kafka transactions, so consumers reading with isolation.level=read_committed see every record exactly once. required: the task fails when the Kafka cluster does not support transactions. requested: it falls back to at-least-once with a warning. Unset: at-least-once."),
        ConfigDef::new(EXACTLY_ONCE_ENABLED, Boolean)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Exactly-once enabled", "Confluent Cloud's spelling: true is exactly.once.support=required."),
        ConfigDef::new(TRANSACTION_BOUNDARY, String)
            .default("poll")
            .allowed(&["poll", "interval", "connector"])
            .group(GROUP)
            .doc("Transaction boundary", "With exactly-once: poll commits one transaction per batch the connector returns; interval commits every transaction.boundary.interval.ms. connector is not supported: no built-in connector defines its own boundaries."),
        ConfigDef::new(TRANSACTION_BOUNDARY_INTERVAL_MS, Long)
            .min(1)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Transaction boundary interval (ms)", "With transaction.boundary=interval: how long a transaction stays open (default 60000). Records become visible to read_committed consumers when it commits."),
        ConfigDef::new(OFFSETS_STORAGE_TOPIC, String)
            .importance(Importance::Low)
            .group(GROUP)
            .doc("Offsets topic", "With exactly-once: the compacted topic the source offsets are written to, in the same transaction as the records (Kafka Connect's format). Default _tributary-offsets; created if missing."),
    ]
}

/// Checks the definitions and what they cannot express; each error names its key.
pub fn validate(config: &Config) -> Vec<FieldError> {
    let mut errors = check_defs(&defs(), config);
    if errors.is_empty() {
        if let Err(e) = ExactlyOnce::parse(config) {
            errors.push(e);
        }
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Fall back to at-least-once (with a warning) when the cluster has no transactions.
    Requested,
    /// Fail the task when the cluster has no transactions.
    Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// One transaction per batch returned by `poll`.
    Poll,
    /// One transaction per interval (checked after each poll).
    Interval(Duration),
}

/// The exactly-once settings of a source connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactlyOnce {
    pub support: Support,
    pub boundary: Boundary,
    pub offsets_topic: String,
}

impl ExactlyOnce {
    /// `None` when exactly-once is off (the default).
    pub fn parse(config: &Config) -> Result<Option<ExactlyOnce>, FieldError> {
        let enabled = match non_empty(config, EXACTLY_ONCE_ENABLED) {
            None => None,
            Some(_) => Some(flag(config, EXACTLY_ONCE_ENABLED, false)?),
        };
        let support = match non_empty(config, EXACTLY_ONCE_SUPPORT) {
            Some(v) if v.eq_ignore_ascii_case("requested") => Some(Support::Requested),
            Some(v) if v.eq_ignore_ascii_case("required") => Some(Support::Required),
            Some(v) => {
                return Err(FieldError::new(
                    EXACTLY_ONCE_SUPPORT,
                    format!("Invalid value {v}: must be one of requested, required"),
                ))
            }
            None => None,
        };
        let support = match (support, enabled) {
            (Some(_), Some(false)) => {
                return Err(FieldError::new(
                    EXACTLY_ONCE_ENABLED,
                    format!(
                    "{EXACTLY_ONCE_ENABLED}=false contradicts {EXACTLY_ONCE_SUPPORT}; set only one"
                ),
                ))
            }
            (Some(s), _) => s,
            // A user who switched exactly-once on expects it, not a silent downgrade.
            (None, Some(true)) => Support::Required,
            (None, _) => return Ok(None),
        };
        let boundary = match non_empty(config, TRANSACTION_BOUNDARY) {
            None => Boundary::Poll,
            Some(v) if v.eq_ignore_ascii_case("poll") => Boundary::Poll,
            Some(v) if v.eq_ignore_ascii_case("interval") => {
                let ms = number(config, TRANSACTION_BOUNDARY_INTERVAL_MS, DEFAULT_INTERVAL_MS)?;
                if ms == 0 {
                    return Err(FieldError::new(
                        TRANSACTION_BOUNDARY_INTERVAL_MS,
                        "Invalid value 0: must be at least 1",
                    ));
                }
                Boundary::Interval(Duration::from_millis(ms))
            }
            Some(v) if v.eq_ignore_ascii_case("connector") => {
                return Err(FieldError::new(
                    TRANSACTION_BOUNDARY,
                    "transaction.boundary=connector is not supported: no built-in connector defines its own transaction boundaries; use poll or interval",
                ))
            }
            Some(v) => {
                return Err(FieldError::new(
                    TRANSACTION_BOUNDARY,
                    format!("Invalid value {v}: must be one of poll, interval"),
                ))
            }
        };
        let offsets_topic = non_empty(config, OFFSETS_STORAGE_TOPIC)
            .unwrap_or(DEFAULT_OFFSETS_TOPIC)
            .to_string();
        if !valid_topic_name(&offsets_topic) {
            return Err(FieldError::new(
                OFFSETS_STORAGE_TOPIC,
                format!("Invalid topic name {offsets_topic:?}: use at most {MAX_TOPIC_NAME} of a-z, A-Z, 0-9, '.', '_' and '-' (not '.' or '..')"),
            ));
        }
        Ok(Some(ExactlyOnce {
            support,
            boundary,
            offsets_topic,
        }))
    }
}

fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOPIC_NAME
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
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
    fn absent_means_at_least_once() {
        assert_eq!(ExactlyOnce::parse(&cfg(&[])), Ok(None));
        assert_eq!(
            ExactlyOnce::parse(&cfg(&[(EXACTLY_ONCE_ENABLED, "false")])),
            Ok(None)
        );
        assert!(validate(&cfg(&[(TRANSACTION_BOUNDARY, "poll")])).is_empty());
    }

    #[test]
    fn support_boundary_and_topic_are_read() {
        let eos = ExactlyOnce::parse(&cfg(&[
            (EXACTLY_ONCE_SUPPORT, "requested"),
            (TRANSACTION_BOUNDARY, "interval"),
            (TRANSACTION_BOUNDARY_INTERVAL_MS, "2500"),
            (OFFSETS_STORAGE_TOPIC, "my-offsets"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(eos.support, Support::Requested);
        assert_eq!(
            eos.boundary,
            Boundary::Interval(Duration::from_millis(2500))
        );
        assert_eq!(eos.offsets_topic, "my-offsets");

        let eos = ExactlyOnce::parse(&cfg(&[(EXACTLY_ONCE_SUPPORT, "required")]))
            .unwrap()
            .unwrap();
        assert_eq!(eos.boundary, Boundary::Poll);
        assert_eq!(eos.offsets_topic, DEFAULT_OFFSETS_TOPIC);
    }

    #[test]
    fn confluent_cloud_spelling_means_required() {
        let eos = ExactlyOnce::parse(&cfg(&[(EXACTLY_ONCE_ENABLED, "true")]))
            .unwrap()
            .unwrap();
        assert_eq!(eos.support, Support::Required);
    }

    #[test]
    fn errors_name_the_key() {
        let key_of = |pairs: &[(&str, &str)]| {
            validate(&cfg(pairs))
                .into_iter()
                .map(|e| e.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            key_of(&[(EXACTLY_ONCE_SUPPORT, "always")]),
            [EXACTLY_ONCE_SUPPORT]
        );
        assert_eq!(
            key_of(&[
                (EXACTLY_ONCE_SUPPORT, "required"),
                (TRANSACTION_BOUNDARY, "connector")
            ]),
            [TRANSACTION_BOUNDARY]
        );
        let connector = validate(&cfg(&[
            (EXACTLY_ONCE_SUPPORT, "required"),
            (TRANSACTION_BOUNDARY, "connector"),
        ]));
        assert!(
            connector[0].message.contains("not supported"),
            "{connector:?}"
        );
        assert_eq!(
            key_of(&[
                (EXACTLY_ONCE_SUPPORT, "required"),
                (TRANSACTION_BOUNDARY, "interval"),
                (TRANSACTION_BOUNDARY_INTERVAL_MS, "soon")
            ]),
            [TRANSACTION_BOUNDARY_INTERVAL_MS]
        );
        assert_eq!(
            key_of(&[
                (EXACTLY_ONCE_SUPPORT, "required"),
                (OFFSETS_STORAGE_TOPIC, "offsets topic")
            ]),
            [OFFSETS_STORAGE_TOPIC]
        );
        assert_eq!(
            key_of(&[
                (EXACTLY_ONCE_SUPPORT, "required"),
                (EXACTLY_ONCE_ENABLED, "false")
            ]),
            [EXACTLY_ONCE_ENABLED]
        );
        assert_eq!(
            key_of(&[(EXACTLY_ONCE_ENABLED, "yes")]),
            [EXACTLY_ONCE_ENABLED]
        );
    }

    #[test]
    fn the_catalogue_checks_them_for_sources_only() {
        let datagen = crate::connectors::find("DatagenSource").unwrap();
        let mut config = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.topic", "orders"),
            ("quickstart", "ORDERS"),
            (EXACTLY_ONCE_SUPPORT, "required"),
        ]);
        assert_eq!(crate::connectors::validate(datagen, &config), vec![]);
        config.insert(TRANSACTION_BOUNDARY.into(), "connector".into());
        let errors = crate::connectors::validate(datagen, &config);
        assert_eq!(
            errors.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            [TRANSACTION_BOUNDARY]
        );
    }
}
