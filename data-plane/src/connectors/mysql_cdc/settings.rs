//! `MySqlCdcSourceV2`'s config keys (Confluent Cloud's, which are
//! Debezium MySQL's), their definitions, and the typed settings a task runs
//! with.

use regex::Regex;

use crate::connectors::debezium::{patterns, TableFilter};
use crate::connectors::jdbc::settings::Secret;
use crate::connectors::{config, Config, ConfigDef, ConfigType, FieldError, Importance};

pub const HOSTNAME: &str = "database.hostname";
pub const PORT: &str = "database.port";
pub const USER: &str = "database.user";
pub const PASSWORD: &str = "database.password";
pub const SERVER_ID: &str = "database.server.id";
pub const SSL_MODE: &str = "database.ssl.mode";
pub const TOPIC_PREFIX: &str = "topic.prefix";
/// Debezium 1.x's name for `topic.prefix`.
pub const SERVER_NAME: &str = "database.server.name";
pub const DATABASE_INCLUDE: &str = "database.include.list";
pub const TABLE_INCLUDE: &str = "table.include.list";
pub const TABLE_EXCLUDE: &str = "table.exclude.list";
pub const COLUMN_EXCLUDE: &str = "column.exclude.list";
pub const SNAPSHOT_MODE: &str = "snapshot.mode";
pub const SNAPSHOT_LOCKING: &str = "snapshot.locking.mode";
pub const OUTPUT_DATA_FORMAT: &str = "output.data.format";
pub const OUTPUT_KEY_FORMAT: &str = "output.key.format";
pub const TOMBSTONES_ON_DELETE: &str = "tombstones.on.delete";
pub const AFTER_STATE_ONLY: &str = "after.state.only";
pub const DECIMAL_HANDLING: &str = "decimal.handling.mode";
pub const HEARTBEAT_INTERVAL: &str = "heartbeat.interval.ms";
pub const MAX_BATCH_SIZE: &str = "max.batch.size";
pub const POLL_INTERVAL: &str = "poll.interval.ms";

const FORMATS: &[&str] = &["AVRO", "JSON_SR", "PROTOBUF", "JSON"];
const SNAPSHOT_MODES: &[&str] = &[
    "initial",
    "initial_only",
    "when_needed",
    "never",
    "no_data",
    "schema_only",
];
const TOPIC_PREFIX_PATTERN: &str = "^[A-Za-z0-9._-]{1,200}$";

pub fn defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    const DB: &str = "Database";
    const CDC: &str = "CDC";
    const OUT: &str = "Output";
    vec![
        ConfigDef::new(HOSTNAME, String).required().host().group(DB)
            .doc("Database hostname", "The address of the MySQL or MariaDB server."),
        ConfigDef::new(PORT, Int).default("3306").min(1).group(DB)
            .doc("Database port", "The port of the MySQL or MariaDB server."),
        ConfigDef::new(USER, String).required().group(DB)
            .doc("Database username", "A user with SELECT, RELOAD, REPLICATION SLAVE and REPLICATION CLIENT (MariaDB: BINLOG MONITOR, REPLICATION SLAVE) privileges."),
        ConfigDef::new(PASSWORD, Password).importance(Importance::High).group(DB)
            .doc("Database password", "The user's password."),
        ConfigDef::new(SERVER_ID, Long).min(1).group(DB)
            .doc("Database server ID", "The replica server id the connector registers with; unique among the server's replicas. Default: derived from the connector name (5400-2^31)."),
        ConfigDef::new(SSL_MODE, String).default("disabled").allowed(&["disabled"]).group(DB)
            .doc("SSL mode", "Only disabled is supported yet: the binlog connection is not encrypted."),
        ConfigDef::new(TOPIC_PREFIX, String).importance(Importance::High).group(CDC)
            .doc("Topic prefix", "Logical name of the server: the prefix of every topic (<topic.prefix>.<database>.<table>) and the source partition of the offsets. Required (or the legacy database.server.name)."),
        ConfigDef::new(SERVER_NAME, String).importance(Importance::Low).group(CDC)
            .doc("Database server name", "Debezium 1.x name of topic.prefix; used when topic.prefix is not set."),
        ConfigDef::new(DATABASE_INCLUDE, List).group(CDC)
            .doc("Databases included", "Comma-separated regular expressions matched against whole database names; empty captures every database but the system ones."),
        ConfigDef::new(TABLE_INCLUDE, List).group(CDC)
            .doc("Tables included", "Comma-separated regular expressions matched against the whole database.table name of the tables to capture; empty captures every table of the included databases."),
        ConfigDef::new(TABLE_EXCLUDE, List).group(CDC)
            .doc("Tables excluded", "Comma-separated regular expressions of database.table names not to capture."),
        ConfigDef::new(COLUMN_EXCLUDE, List).group(CDC)
            .doc("Columns excluded", "Comma-separated regular expressions matched against whole database.table.column names of columns left out of the change events."),
        ConfigDef::new(SNAPSHOT_MODE, String).default("initial").allowed(SNAPSHOT_MODES).group(CDC)
            .doc("Snapshot mode", "initial: read every captured row (op r) when no offsets are stored, then stream the binlog; initial_only: the snapshot and no streaming; never, no_data (schema_only): stream from the current binlog position; when_needed: like initial, and snapshot again when the stored binlog file is gone from the server."),
        ConfigDef::new(SNAPSHOT_LOCKING, String).default("minimal").allowed(&["minimal", "none"]).group(CDC)
            .doc("Snapshot locking mode", "minimal: on MySQL, a global read lock only while the snapshot transaction starts and the binlog position is read (MariaDB reports a consistent position without a lock); none: no lock (safe only without writes during the snapshot's start)."),
        ConfigDef::new(OUTPUT_DATA_FORMAT, String).default("JSON").allowed(FORMATS).importance(Importance::High).group(OUT)
            .doc("Output Kafka record value format", "AVRO, PROTOBUF and JSON_SR register the change events' schemas with the Schema Registry; JSON writes plain JSON."),
        ConfigDef::new(OUTPUT_KEY_FORMAT, String).default("JSON").allowed(FORMATS).group(OUT)
            .doc("Output Kafka record key format", "The primary key's format, as output.data.format."),
        ConfigDef::new(TOMBSTONES_ON_DELETE, Boolean).default("true").group(OUT)
            .doc("Tombstones on delete", "Follow each delete event with a tombstone (same key, null value) so compacted topics drop the row."),
        ConfigDef::new(AFTER_STATE_ONLY, Boolean).default("false").group(OUT)
            .doc("After-state only", "Write only the row after the change as the value instead of the change event envelope; deletes then produce only their tombstone."),
        ConfigDef::new(DECIMAL_HANDLING, String).default("precise").allowed(&["precise", "double", "string"]).group(OUT)
            .doc("Decimal handling mode", "DECIMAL columns: precise (Connect Decimal), double or string."),
        ConfigDef::new(HEARTBEAT_INTERVAL, Int).default("0").min(0).group(CDC)
            .doc("Heartbeat interval (ms)", "Every so often, a record to __debezium-heartbeat.<topic.prefix> carrying the binlog position, so offsets move on while the captured tables are quiet; 0 turns heartbeats off."),
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
        Some(p) if !Regex::new(TOPIC_PREFIX_PATTERN).is_ok_and(|r| r.is_match(p)) => {
            errors.push(FieldError::new(
                TOPIC_PREFIX,
                format!("Invalid value {p}: only letters, digits, '.', '_' and '-' are allowed"),
            ))
        }
        Some(_) => {}
    }
    for key in [
        DATABASE_INCLUDE,
        TABLE_INCLUDE,
        TABLE_EXCLUDE,
        COLUMN_EXCLUDE,
    ] {
        if let Err(e) = patterns(config, key) {
            errors.push(e);
        }
    }
    if let Some(id) = non_empty(config, SERVER_ID) {
        if !id.parse::<u32>().is_ok_and(|n| n > 0) {
            errors.push(FieldError::new(
                SERVER_ID,
                format!("Invalid value {id}: a server id is between 1 and 4294967295"),
            ));
        }
    }
    if let Some(n) = non_empty(config, "tasks.max").and_then(|v| v.parse::<i64>().ok()) {
        if n > 1 {
            errors.push(FieldError::new(
                "tasks.max",
                format!("Invalid value {n}: MySqlCdcSourceV2 reads the binlog with one task; tasks.max must be 1"),
            ));
        }
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    InitialOnly,
    /// `never`, `no_data`, `schema_only`: no rows are read.
    Never,
    WhenNeeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
}

/// A task's typed settings, parsed from its task config.
#[derive(Debug, Clone)]
pub struct MySqlCdcSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub server_id: u32,
    pub topic_prefix: String,
    pub databases: Vec<Regex>,
    pub tables: TableFilter,
    pub excluded_columns: Vec<Regex>,
    pub snapshot_mode: SnapshotMode,
    /// Take the global read lock where the server needs it for a consistent position.
    pub snapshot_lock: bool,
    pub tombstones_on_delete: bool,
    pub after_state_only: bool,
    pub decimal: DecimalMode,
    pub heartbeat_ms: u64,
    pub max_batch_size: usize,
    pub poll_interval_ms: u64,
}

impl MySqlCdcSettings {
    pub fn parse(config: &Config) -> Result<MySqlCdcSettings, FieldError> {
        if let Some(e) = validate_extra(config).into_iter().next() {
            return Err(e);
        }
        let required = |key: &str| config::required(config, key);
        let port = config::port(config, PORT, 3306)?;
        let mode = non_empty(config, SNAPSHOT_MODE).unwrap_or("initial");
        let snapshot_mode = match mode.to_ascii_lowercase().as_str() {
            "initial" => SnapshotMode::Initial,
            "initial_only" => SnapshotMode::InitialOnly,
            "never" | "no_data" | "schema_only" => SnapshotMode::Never,
            "when_needed" => SnapshotMode::WhenNeeded,
            _ => {
                return Err(FieldError::new(
                    SNAPSHOT_MODE,
                    format!(
                        "Invalid value {mode}: must be one of {}",
                        SNAPSHOT_MODES.join(", ")
                    ),
                ))
            }
        };
        let decimal = match non_empty(config, DECIMAL_HANDLING).map(str::to_ascii_lowercase) {
            Some(d) if d == "double" => DecimalMode::Double,
            Some(d) if d == "string" => DecimalMode::String,
            _ => DecimalMode::Precise,
        };
        let topic_prefix = topic_prefix(config).unwrap_or_default().to_string();
        let server_id = non_empty(config, SERVER_ID)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                default_server_id(non_empty(config, "name").unwrap_or(&topic_prefix))
            });
        Ok(MySqlCdcSettings {
            host: required(HOSTNAME)?,
            port,
            user: required(USER)?,
            password: Secret::new(config.get(PASSWORD).cloned().unwrap_or_default()),
            server_id,
            topic_prefix,
            databases: patterns(config, DATABASE_INCLUDE)?,
            tables: TableFilter::parse(config, TABLE_INCLUDE, TABLE_EXCLUDE)?,
            excluded_columns: patterns(config, COLUMN_EXCLUDE)?,
            snapshot_mode,
            snapshot_lock: !non_empty(config, SNAPSHOT_LOCKING)
                .is_some_and(|m| m.eq_ignore_ascii_case("none")),
            tombstones_on_delete: flag(config, TOMBSTONES_ON_DELETE, true),
            after_state_only: flag(config, AFTER_STATE_ONLY, false),
            decimal,
            heartbeat_ms: non_empty(config, HEARTBEAT_INTERVAL)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            max_batch_size: positive(config, MAX_BATCH_SIZE, 2048),
            poll_interval_ms: positive(config, POLL_INTERVAL, 500) as u64,
        })
    }

    /// Whether `db.table` is captured (database and table lists; system
    /// databases never are).
    pub fn captures(&self, db: &str, table: &str) -> bool {
        const SYSTEM: &[&str] = &["mysql", "information_schema", "performance_schema", "sys"];
        !SYSTEM.contains(&db)
            && (self.databases.is_empty() || self.databases.iter().any(|r| r.is_match(db)))
            && self.tables.captures(db, table)
    }

    /// Whether `db.table.column` is left out of the events.
    pub fn excludes_column(&self, db: &str, table: &str, column: &str) -> bool {
        let name = format!("{db}.{table}.{column}");
        self.excluded_columns.iter().any(|r| r.is_match(&name))
    }

    /// The topic a table's change events go to.
    pub fn topic(&self, db: &str, table: &str) -> String {
        format!("{}.{db}.{table}", self.topic_prefix)
    }

    pub fn heartbeat_topic(&self) -> String {
        format!("__debezium-heartbeat.{}", self.topic_prefix)
    }
}

/// `topic.prefix`, else the legacy `database.server.name`.
pub fn topic_prefix(config: &Config) -> Option<&str> {
    non_empty(config, TOPIC_PREFIX).or_else(|| non_empty(config, SERVER_NAME))
}

/// A replica id stable per connector and away from the small ids people
/// give their servers: 5400 + a hash of the name (below 2^31).
fn default_server_id(name: &str) -> u32 {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    5400 + h % (i32::MAX as u32 - 5400)
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

    fn base(extra: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("connector.class", "MySqlCdcSourceV2"),
            ("name", "inventory"),
            (HOSTNAME, "db"),
            (USER, "cdc"),
            (TOPIC_PREFIX, "shop"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    #[test]
    fn defaults_and_filters() {
        let s = MySqlCdcSettings::parse(&base(&[
            (TABLE_INCLUDE, "inventory\\.customers"),
            (COLUMN_EXCLUDE, "inventory\\.customers\\.secret"),
        ]))
        .unwrap();
        assert_eq!(s.port, 3306);
        assert_eq!(s.snapshot_mode, SnapshotMode::Initial);
        assert!(s.server_id >= 5400);
        assert!(s.captures("inventory", "customers"));
        assert!(!s.captures("inventory", "orders"));
        assert!(!s.captures("mysql", "customers"));
        assert!(s.excludes_column("inventory", "customers", "secret"));
        assert!(!s.excludes_column("inventory", "customers", "email"));
        assert_eq!(
            s.topic("inventory", "customers"),
            "shop.inventory.customers"
        );
        let s = MySqlCdcSettings::parse(&base(&[(SNAPSHOT_MODE, "schema_only")])).unwrap();
        assert_eq!(s.snapshot_mode, SnapshotMode::Never);
    }

    #[test]
    fn bad_values_name_their_key() {
        let keys = |extra: &[(&str, &str)]| {
            validate_extra(&base(extra))
                .into_iter()
                .map(|e| e.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&[(SERVER_ID, "0")]), vec![SERVER_ID]);
        assert_eq!(keys(&[(COLUMN_EXCLUDE, "a.(")]), vec![COLUMN_EXCLUDE]);
        assert_eq!(keys(&[("tasks.max", "2")]), vec!["tasks.max"]);
        assert_eq!(keys(&[(TOPIC_PREFIX, "a b")]), vec![TOPIC_PREFIX]);
        assert!(keys(&[]).is_empty());
    }
}
