//! `PostgresCdcSourceV2`'s config keys (Confluent Cloud's, which are
//! Debezium's), their definitions, and the typed settings a task runs with.

use regex::Regex;

use crate::connectors::debezium::patterns;
pub use crate::connectors::debezium::TableFilter;
use crate::connectors::jdbc::settings::Secret;
use crate::connectors::{config, Config, ConfigDef, ConfigType, FieldError, Importance};

pub const HOSTNAME: &str = "database.hostname";
pub const PORT: &str = "database.port";
pub const USER: &str = "database.user";
pub const PASSWORD: &str = "database.password";
pub const DBNAME: &str = "database.dbname";
pub const SSLMODE: &str = "database.sslmode";
pub const TOPIC_PREFIX: &str = "topic.prefix";
/// Debezium 1.x's name for `topic.prefix`.
pub const SERVER_NAME: &str = "database.server.name";
pub const TABLE_INCLUDE: &str = "table.include.list";
pub const TABLE_EXCLUDE: &str = "table.exclude.list";
pub const SLOT_NAME: &str = "slot.name";
pub const PUBLICATION_NAME: &str = "publication.name";
pub const PUBLICATION_AUTOCREATE: &str = "publication.autocreate.mode";
pub const SNAPSHOT_MODE: &str = "snapshot.mode";
pub const PLUGIN_NAME: &str = "plugin.name";
pub const OUTPUT_DATA_FORMAT: &str = "output.data.format";
pub const OUTPUT_KEY_FORMAT: &str = "output.key.format";
pub const TOMBSTONES_ON_DELETE: &str = "tombstones.on.delete";
pub const AFTER_STATE_ONLY: &str = "after.state.only";
pub const DECIMAL_HANDLING: &str = "decimal.handling.mode";
pub const MAX_BATCH_SIZE: &str = "max.batch.size";
pub const POLL_INTERVAL: &str = "poll.interval.ms";

const FORMATS: &[&str] = &["AVRO", "JSON_SR", "PROTOBUF", "JSON"];
const SSL_MODES: &[&str] = &["disable", "prefer", "require", "verify-ca", "verify-full"];

/// Slot and publication names go into replication commands unquoted (slot)
/// or single-quoted (publication): keep them to what Postgres and Debezium allow.
const SLOT_PATTERN: &str = "^[a-z0-9_]{1,63}$";
const PUBLICATION_PATTERN: &str = "^[A-Za-z0-9_]{1,63}$";
const TOPIC_PREFIX_PATTERN: &str = "^[A-Za-z0-9._-]{1,200}$";

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const DB: &str = "Database";
    const CDC: &str = "CDC";
    const OUT: &str = "Output";
    vec![
        ConfigDef::new(HOSTNAME, String).required().host().group(DB)
            .doc("Database hostname", "The address of the Postgres server."),
        ConfigDef::new(PORT, Int).default("5432").min(1).group(DB)
            .doc("Database port", "The port of the Postgres server."),
        ConfigDef::new(USER, String).required().group(DB)
            .doc("Database username", "A user with the REPLICATION attribute (or superuser) that may read the captured tables and create the publication."),
        ConfigDef::new(PASSWORD, Password).importance(Importance::High).group(DB)
            .doc("Database password", "The user's password."),
        ConfigDef::new(DBNAME, String).required().group(DB)
            .doc("Database name", "The database whose tables are captured."),
        ConfigDef::new(SSLMODE, String).default("prefer").allowed(SSL_MODES).group(DB)
            .doc("SSL mode", "disable, prefer (TLS when the server offers it), require, verify-ca or verify-full (checked against the public web PKI roots)."),
        ConfigDef::new(TOPIC_PREFIX, String).importance(Importance::High).group(CDC)
            .doc("Topic prefix", "Logical name of the server: the prefix of every topic (<topic.prefix>.<schema>.<table>) and the source partition of the offsets. Required (or the legacy database.server.name)."),
        ConfigDef::new(SERVER_NAME, String).importance(Importance::Low).group(CDC)
            .doc("Database server name", "Debezium 1.x name of topic.prefix; used when topic.prefix is not set."),
        ConfigDef::new(TABLE_INCLUDE, List).group(CDC)
            .doc("Table included", "Comma-separated regular expressions matched against the whole schema.table name of the tables to capture; empty captures every table outside the system schemas."),
        ConfigDef::new(TABLE_EXCLUDE, List).group(CDC)
            .doc("Table excluded", "Comma-separated regular expressions of schema.table names not to capture."),
        ConfigDef::new(SLOT_NAME, String).group(CDC)
            .doc("Slot name", "The logical replication slot, created if missing (lowercase letters, digits and underscores). Default: tributary_<connector name>_<hash>, unique per connector. Dropped when the connector is deleted."),
        ConfigDef::new(PUBLICATION_NAME, String).group(CDC)
            .doc("Publication name", "The publication the slot streams; default: the slot name."),
        ConfigDef::new(PUBLICATION_AUTOCREATE, String).default("filtered")
            .allowed(&["all_tables", "filtered", "disabled"]).group(CDC)
            .doc("Publication auto-create mode", "filtered: create the publication for the captured tables (and keep its table list in step); all_tables: create it FOR ALL TABLES (superuser); disabled: it must exist."),
        ConfigDef::new(SNAPSHOT_MODE, String).default("initial")
            .allowed(&["initial", "initial_only", "never", "no_data", "when_needed"]).group(CDC)
            .doc("Snapshot mode", "initial: read every captured row (op r) when no offsets are stored, then stream changes; initial_only: the snapshot and no streaming; never (no_data): stream changes only; when_needed: like initial, and snapshot again when the stored position can no longer be streamed (the slot is gone)."),
        ConfigDef::new(PLUGIN_NAME, String).default("pgoutput").allowed(&["pgoutput"]).group(CDC)
            .doc("Plugin name", "The logical decoding output plugin; pgoutput, built into Postgres 10+."),
        ConfigDef::new(OUTPUT_DATA_FORMAT, String).default("JSON").allowed(FORMATS).importance(Importance::High).group(OUT)
            .doc("Output Kafka record value format", "AVRO, PROTOBUF and JSON_SR register the change events' schemas with the Schema Registry; JSON writes plain JSON."),
        ConfigDef::new(OUTPUT_KEY_FORMAT, String).default("JSON").allowed(FORMATS).group(OUT)
            .doc("Output Kafka record key format", "The primary key's format, as output.data.format."),
        ConfigDef::new(TOMBSTONES_ON_DELETE, Boolean).default("true").group(OUT)
            .doc("Tombstones on delete", "Follow each delete event with a tombstone (same key, null value) so compacted topics drop the row."),
        ConfigDef::new(AFTER_STATE_ONLY, Boolean).default("false").group(OUT)
            .doc("After-state only", "Write only the row after the change as the value instead of the change event envelope; deletes then produce only their tombstone."),
        ConfigDef::new(DECIMAL_HANDLING, String).default("precise").allowed(&["precise", "double", "string"]).group(OUT)
            .doc("Decimal handling mode", "numeric and money columns: double writes JSON numbers; string and precise write the exact decimal as a string (plain JSON has no exact decimal type)."),
        ConfigDef::new(MAX_BATCH_SIZE, Int).default("2048").min(1).importance(Importance::Low).group(OUT)
            .doc("Max batch size", "Most records one poll returns."),
        ConfigDef::new(POLL_INTERVAL, Int).default("500").min(1).importance(Importance::Low).group(OUT)
            .doc("Poll interval (ms)", "How long a poll waits for new changes before returning nothing."),
    ]
}

/// Checks the definitions cannot express. Each error names its key.
pub fn validate_extra(config: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match topic_prefix(config) {
        None => errors.push(FieldError::new(
            TOPIC_PREFIX,
            "Missing required configuration \"topic.prefix\" which has no default value.",
        )),
        Some(p) if !matches(TOPIC_PREFIX_PATTERN, p) => errors.push(FieldError::new(
            TOPIC_PREFIX,
            format!("Invalid value {p}: only letters, digits, '.', '_' and '-' are allowed"),
        )),
        Some(_) => {}
    }
    if let Some(slot) = non_empty(config, SLOT_NAME) {
        if !matches(SLOT_PATTERN, slot) {
            errors.push(FieldError::new(
                SLOT_NAME,
                format!("Invalid value {slot}: a slot name has 1 to 63 lowercase letters, digits or underscores"),
            ));
        }
    }
    if let Some(publication) = non_empty(config, PUBLICATION_NAME) {
        if !matches(PUBLICATION_PATTERN, publication) {
            errors.push(FieldError::new(
                PUBLICATION_NAME,
                format!("Invalid value {publication}: a publication name has 1 to 63 letters, digits or underscores"),
            ));
        }
    }
    for key in [TABLE_INCLUDE, TABLE_EXCLUDE] {
        if let Err(e) = patterns(config, key) {
            errors.push(e);
        }
    }
    if let Some(n) = non_empty(config, "tasks.max").and_then(|v| v.parse::<i64>().ok()) {
        if n > 1 {
            errors.push(FieldError::new(
                "tasks.max",
                format!("Invalid value {n}: PostgresCdcSourceV2 reads one replication slot with one task; tasks.max must be 1"),
            ));
        }
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    InitialOnly,
    Never,
    WhenNeeded,
}

impl SnapshotMode {
    fn parse(s: &str) -> Option<SnapshotMode> {
        Some(match s.to_ascii_lowercase().as_str() {
            "initial" => SnapshotMode::Initial,
            "initial_only" => SnapshotMode::InitialOnly,
            "never" | "no_data" => SnapshotMode::Never,
            "when_needed" => SnapshotMode::WhenNeeded,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutocreateMode {
    AllTables,
    Filtered,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    Double,
    String,
}

/// A task's typed settings, parsed from its task config.
#[derive(Debug, Clone)]
pub struct CdcSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub database: String,
    pub ssl_mode: SslMode,
    pub topic_prefix: String,
    pub tables: TableFilter,
    pub slot: String,
    pub publication: String,
    /// The publication name is ours (derived, not configured).
    pub publication_is_default: bool,
    pub autocreate: AutocreateMode,
    pub snapshot_mode: SnapshotMode,
    pub tombstones_on_delete: bool,
    pub after_state_only: bool,
    pub decimal: DecimalMode,
    pub max_batch_size: usize,
    pub poll_interval_ms: u64,
}

impl CdcSettings {
    pub fn parse(config: &Config) -> Result<CdcSettings, FieldError> {
        if let Some(e) = validate_extra(config).into_iter().next() {
            return Err(e);
        }
        let required = |key: &str| config::required(config, key);
        let port = config::port(config, PORT, 5432)?;
        let ssl_mode = match non_empty(config, SSLMODE)
            .unwrap_or("prefer")
            .to_ascii_lowercase()
            .as_str()
        {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(FieldError::new(
                    SSLMODE,
                    format!(
                        "Invalid value {other}: must be one of {}",
                        SSL_MODES.join(", ")
                    ),
                ))
            }
        };
        let autocreate = match non_empty(config, PUBLICATION_AUTOCREATE)
            .unwrap_or("filtered")
            .to_ascii_lowercase()
            .as_str()
        {
            "all_tables" => AutocreateMode::AllTables,
            "filtered" => AutocreateMode::Filtered,
            "disabled" => AutocreateMode::Disabled,
            other => {
                return Err(FieldError::new(
                    PUBLICATION_AUTOCREATE,
                    format!("Invalid value {other}: must be one of all_tables, filtered, disabled"),
                ))
            }
        };
        let snapshot = non_empty(config, SNAPSHOT_MODE).unwrap_or("initial");
        let snapshot_mode = SnapshotMode::parse(snapshot).ok_or_else(|| {
            FieldError::new(
                SNAPSHOT_MODE,
                format!("Invalid value {snapshot}: must be one of initial, initial_only, never, no_data, when_needed"),
            )
        })?;
        let decimal = match non_empty(config, DECIMAL_HANDLING) {
            Some(d) if d.eq_ignore_ascii_case("double") => DecimalMode::Double,
            _ => DecimalMode::String,
        };
        let slot = slot_name(config);
        let publication = non_empty(config, PUBLICATION_NAME).map(str::to_string);
        Ok(CdcSettings {
            host: required(HOSTNAME)?,
            port,
            user: required(USER)?,
            password: Secret::new(config.get(PASSWORD).cloned().unwrap_or_default()),
            database: required(DBNAME)?,
            ssl_mode,
            topic_prefix: topic_prefix(config).unwrap_or_default().to_string(),
            tables: TableFilter::parse(config, TABLE_INCLUDE, TABLE_EXCLUDE)?,
            publication_is_default: publication.is_none(),
            publication: publication.unwrap_or_else(|| slot.clone()),
            slot,
            autocreate,
            snapshot_mode,
            tombstones_on_delete: flag(config, TOMBSTONES_ON_DELETE, true),
            after_state_only: flag(config, AFTER_STATE_ONLY, false),
            decimal,
            max_batch_size: positive(config, MAX_BATCH_SIZE, 2048),
            poll_interval_ms: positive(config, POLL_INTERVAL, 500) as u64,
        })
    }

    /// The topic a table's change events go to.
    pub fn topic(&self, schema: &str, table: &str) -> String {
        format!("{}.{schema}.{table}", self.topic_prefix)
    }
}

/// `topic.prefix`, else the legacy `database.server.name`.
pub fn topic_prefix(config: &Config) -> Option<&str> {
    non_empty(config, TOPIC_PREFIX).or_else(|| non_empty(config, SERVER_NAME))
}

/// The replication slot of a connector: `slot.name`, else one derived from
/// the connector's name (or, without one, its topic prefix), unique per
/// connector: `tributary_<name as [a-z0-9_], at most 40>_<8 hex of a hash>`.
/// The hash tells apart names that sanitize alike (`a-b`, `a_b`, `A.b`).
pub fn slot_name(config: &Config) -> String {
    if let Some(slot) = non_empty(config, SLOT_NAME) {
        return slot.to_string();
    }
    let base = non_empty(config, "name")
        .or_else(|| topic_prefix(config))
        .unwrap_or("connector");
    let mut clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    while clean.contains("__") {
        clean = clean.replace("__", "_");
    }
    let clean = clean.trim_matches('_');
    format!("tributary_{clean}_{:08x}", fnv1a(base.as_bytes()))
}

/// 32-bit FNV-1a: stable across builds and platforms (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

fn matches(pattern: &str, value: &str) -> bool {
    Regex::new(pattern).is_ok_and(|r| r.is_match(value))
}

fn non_empty<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn flag(config: &Config, key: &str, default: bool) -> bool {
    non_empty(config, key).map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

fn positive(config: &Config, key: &str, default: usize) -> usize {
    non_empty(config, key)
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
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

    fn base() -> Config {
        cfg(&[
            ("connector.class", "PostgresCdcSourceV2"),
            ("name", "Orders CDC"),
            (HOSTNAME, "db.example.com"),
            (USER, "cdc"),
            (PASSWORD, "pw"),
            (DBNAME, "shop"),
            (TOPIC_PREFIX, "shop"),
        ])
    }

    #[test]
    fn confluent_defaults_apply() {
        let s = CdcSettings::parse(&base()).unwrap();
        assert_eq!(s.port, 5432);
        assert_eq!(s.ssl_mode, SslMode::Prefer);
        assert_eq!(s.snapshot_mode, SnapshotMode::Initial);
        assert_eq!(s.autocreate, AutocreateMode::Filtered);
        assert!(s.tombstones_on_delete);
        assert!(!s.after_state_only);
        assert_eq!(s.max_batch_size, 2048);
        assert_eq!(s.topic("public", "orders"), "shop.public.orders");
        assert_eq!(s.publication, s.slot);
        assert!(s.publication_is_default);
        assert_eq!(format!("{:?}", s.password), "Secret(****)");
    }

    #[test]
    fn slot_names_are_valid_unique_and_stable() {
        let a = slot_name(&base());
        assert!(a.starts_with("tributary_orders_cdc_"), "{a}");
        assert!(matches(SLOT_PATTERN, &a), "{a}");
        assert_eq!(a, slot_name(&base()), "stable");
        let mut other = base();
        other.insert("name".into(), "orders-cdc".into());
        assert_ne!(slot_name(&other), a, "names that sanitize alike differ");
        other.insert("name".into(), "x".repeat(255));
        assert!(matches(SLOT_PATTERN, &slot_name(&other)));
        other.insert(SLOT_NAME.into(), "debezium".into());
        assert_eq!(slot_name(&other), "debezium");
    }

    #[test]
    fn legacy_server_name_stands_in_for_topic_prefix() {
        let mut c = base();
        c.remove(TOPIC_PREFIX);
        assert_eq!(validate_extra(&c)[0].key, TOPIC_PREFIX);
        c.insert(SERVER_NAME.into(), "legacy".into());
        assert!(validate_extra(&c).is_empty());
        assert_eq!(CdcSettings::parse(&c).unwrap().topic_prefix, "legacy");
    }

    #[test]
    fn table_lists_match_whole_names() {
        let mut c = base();
        c.insert(
            TABLE_INCLUDE.into(),
            "public\\.orders, inventory\\..*".into(),
        );
        c.insert(TABLE_EXCLUDE.into(), "inventory\\.tmp_.*".into());
        let s = CdcSettings::parse(&c).unwrap();
        assert!(s.tables.captures("public", "orders"));
        assert!(!s.tables.captures("public", "orders_archive"));
        assert!(s.tables.captures("inventory", "stock"));
        assert!(!s.tables.captures("inventory", "tmp_x"));
        assert!(!s.tables.captures("other", "orders"));
        assert!(CdcSettings::parse(&base())
            .unwrap()
            .tables
            .captures("a", "b"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let keys = |extra: &[(&str, &str)]| {
            let mut c = base();
            c.extend(cfg(extra));
            validate_extra(&c)
                .into_iter()
                .map(|e| e.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&[(SLOT_NAME, "Bad-Slot")]), vec![SLOT_NAME]);
        assert_eq!(keys(&[(PUBLICATION_NAME, "a'b")]), vec![PUBLICATION_NAME]);
        assert_eq!(keys(&[(TABLE_INCLUDE, "public.(")]), vec![TABLE_INCLUDE]);
        // The Schema Registry formats are accepted (the events carry schemas).
        for format in ["AVRO", "PROTOBUF", "JSON_SR"] {
            assert!(keys(&[(OUTPUT_DATA_FORMAT, format), (OUTPUT_KEY_FORMAT, format)]).is_empty());
        }
        assert_eq!(keys(&[("tasks.max", "2")]), vec!["tasks.max"]);
        assert_eq!(keys(&[(TOPIC_PREFIX, "a b")]), vec![TOPIC_PREFIX]);
        assert!(keys(&[("tasks.max", "1")]).is_empty());
    }
}
