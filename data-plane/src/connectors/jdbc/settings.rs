//! The JDBC sinks' config keys (Confluent Cloud's `MySqlSink` and
//! `PostgresSink`, plus the self-managed `connection.url` form), their
//! definitions, and the typed settings a task runs with.

use std::fmt;

use super::dialect::Dialect;
use super::url::JdbcUrl;
use crate::connectors::config::{list, non_empty};
use crate::connectors::sink_config::{self, BATCH_SIZES, INPUT_DATA_FORMAT};
use crate::connectors::{Config, ConfigDef, ConfigType, FieldError, Importance};

pub const CONNECTION_HOST: &str = "connection.host";
pub const CONNECTION_PORT: &str = "connection.port";
pub const CONNECTION_USER: &str = "connection.user";
pub const CONNECTION_PASSWORD: &str = "connection.password";
pub const CONNECTION_URL: &str = "connection.url";
pub const DB_NAME: &str = "db.name";
pub const SSL_MODE: &str = "ssl.mode";
pub const INSERT_MODE: &str = "insert.mode";
pub const PK_MODE: &str = "pk.mode";
pub const PK_FIELDS: &str = "pk.fields";
pub const FIELDS_WHITELIST: &str = "fields.whitelist";
pub const AUTO_CREATE: &str = "auto.create";
pub const AUTO_EVOLVE: &str = "auto.evolve";
pub const DELETE_ENABLED: &str = "delete.enabled";
pub const TABLE_NAME_FORMAT: &str = "table.name.format";
pub const DB_TIMEZONE: &str = "db.timezone";

const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];
/// Rows per statement and per transaction chunk when `batch.sizes` is unset
/// (the Java sink's default).
const DEFAULT_BATCH_SIZES: usize = 3000;

pub fn defs(dialect: Dialect) -> Vec<ConfigDef> {
    use ConfigType::*;
    const CONN: &str = "How should we connect to your database?";
    const MAP: &str = "Database details";
    let port_default = match dialect {
        Dialect::MySql => "3306",
        Dialect::Postgres => "5432",
    };
    let mut defs = vec![
        ConfigDef::new(CONNECTION_HOST, String)
            .host()
            .importance(Importance::High)
            .group(CONN)
            .doc("Connection host", "Host name or address of the database server. Required unless connection.url is given."),
        ConfigDef::new(CONNECTION_PORT, Int)
            .default(port_default)
            .min(1)
            .importance(Importance::High)
            .group(CONN)
            .doc("Connection port", "Port of the database server."),
        ConfigDef::new(CONNECTION_USER, String)
            .importance(Importance::High)
            .group(CONN)
            .doc("Connection user", "Database user to connect as."),
        ConfigDef::new(CONNECTION_PASSWORD, Password)
            .importance(Importance::High)
            .group(CONN)
            .doc("Connection password", "Password of the database user."),
        ConfigDef::new(DB_NAME, String)
            .importance(Importance::High)
            .group(CONN)
            .doc("Database name", "Database to write to. Required unless connection.url names it."),
        ConfigDef::new(SSL_MODE, String)
            .default("prefer")
            .allowed(SSL_MODES)
            .group(CONN)
            .doc("SSL mode", "disable: plain TCP; prefer: TLS when the server offers it; require: TLS without certificate checks; verify-ca / verify-full: TLS with the server certificate (and host name) verified against public roots."),
        ConfigDef::new(CONNECTION_URL, String)
            .host()
            .importance(Importance::Low)
            .group(CONN)
            .doc("JDBC URL", "Self-managed form, e.g. jdbc:postgresql://host:5432/db or jdbc:mysql://host:3306/db; connection.host/port/db.name are then taken from it."),
        ConfigDef::new(INSERT_MODE, String)
            .default("INSERT")
            .allowed(&["INSERT", "UPSERT", "UPDATE"])
            .importance(Importance::High)
            .group(MAP)
            .doc("Insert mode", "INSERT: plain inserts. UPSERT: insert or overwrite by primary key (idempotent under redelivery). UPDATE: update existing rows by primary key."),
        ConfigDef::new(PK_MODE, String)
            .default("none")
            .allowed(&["none", "kafka", "record_key", "record_value"])
            .importance(Importance::High)
            .group(MAP)
            .doc("PK mode", "Where the primary key comes from: none; kafka (__connect_topic, __connect_partition, __connect_offset); record_key (the key, or pk.fields of a struct key); record_value (pk.fields of the value)."),
        ConfigDef::new(PK_FIELDS, List)
            .group(MAP)
            .doc("PK fields", "Primary key columns. record_key: the column name of a primitive key (default __connect_key) or the key fields to use (default all); record_value: the value fields (default all); kafka: three column names."),
        ConfigDef::new(FIELDS_WHITELIST, List)
            .importance(Importance::Low)
            .group(MAP)
            .doc("Fields included", "Value fields to write; empty writes them all."),
        ConfigDef::new(TABLE_NAME_FORMAT, String)
            .default("${topic}")
            .group(MAP)
            .doc("Table name format", "Destination table; ${topic} is replaced by the record's topic. A dot separates schema and table."),
        ConfigDef::new(AUTO_CREATE, Boolean)
            .default("false")
            .group(MAP)
            .doc("Auto create", "Create a missing table from the records' fields (JSON integers become BIGINT, decimals DOUBLE, booleans BOOLEAN, strings TEXT, objects and arrays JSON)."),
        ConfigDef::new(AUTO_EVOLVE, Boolean)
            .default("false")
            .group(MAP)
            .doc("Auto evolve", "Add a nullable column for each record field the table lacks."),
        ConfigDef::new(DELETE_ENABLED, Boolean)
            .default("false")
            .group(MAP)
            .doc("Delete on tombstones", "A record with a null value deletes the row with its key. Requires pk.mode=record_key."),
        ConfigDef::new(BATCH_SIZES, Int)
            .default("3000")
            .min(1)
            .group(MAP)
            .doc("Batch sizes", "Most records written in one transaction."),
        ConfigDef::new(DB_TIMEZONE, String)
            .default("UTC")
            .importance(Importance::Low)
            .group(MAP)
            .doc("Database time zone", "Session time zone of the connection."),
    ];
    defs.extend(sink_config::defs());
    defs
}

/// Checks the definitions cannot express; each error names its key.
pub fn validate(config: &Config) -> Vec<FieldError> {
    let mut errors = sink_config::validate(config);
    if let Some(format) = non_empty(config, INPUT_DATA_FORMAT) {
        if format.eq_ignore_ascii_case("STRING") {
            errors.push(FieldError::new(
                INPUT_DATA_FORMAT,
                "JDBC sinks write fields of structured values; use JSON",
            ));
        }
    }
    let url = match non_empty(config, CONNECTION_URL).map(JdbcUrl::parse) {
        Some(Ok(url)) => Some(url),
        Some(Err(message)) => {
            errors.push(FieldError::new(CONNECTION_URL, message));
            None
        }
        None => None,
    };
    if non_empty(config, CONNECTION_HOST).is_none() && url.is_none() {
        errors.push(FieldError::new(
            CONNECTION_HOST,
            "Missing required configuration \"connection.host\" which has no default value.",
        ));
    }
    let url_db = url.as_ref().and_then(|u| u.database.as_ref());
    if non_empty(config, DB_NAME).is_none() && url_db.is_none() {
        errors.push(FieldError::new(
            DB_NAME,
            "Missing required configuration \"db.name\" which has no default value.",
        ));
    }
    let url_user = url.as_ref().and_then(|u| u.user.as_ref());
    if non_empty(config, CONNECTION_USER).is_none() && url_user.is_none() {
        errors.push(FieldError::new(
            CONNECTION_USER,
            "Missing required configuration \"connection.user\" which has no default value.",
        ));
    }
    let pk_mode = PkMode::parse(non_empty(config, PK_MODE).unwrap_or("none"));
    let insert_mode = InsertMode::parse(non_empty(config, INSERT_MODE).unwrap_or("INSERT"));
    if let (Some(PkMode::None), Some(mode @ (InsertMode::Upsert | InsertMode::Update))) =
        (pk_mode, insert_mode)
    {
        errors.push(FieldError::new(
            PK_MODE,
            format!("insert.mode {} needs a primary key: set pk.mode to record_key, record_value or kafka", mode.as_str()),
        ));
    }
    let delete = non_empty(config, DELETE_ENABLED).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if delete && pk_mode != Some(PkMode::RecordKey) {
        errors.push(FieldError::new(
            DELETE_ENABLED,
            "delete.enabled=true requires pk.mode=record_key",
        ));
    }
    let pk_fields = list(config, PK_FIELDS);
    if pk_mode == Some(PkMode::Kafka) && !pk_fields.is_empty() && pk_fields.len() != 3 {
        errors.push(FieldError::new(
            PK_FIELDS,
            "With pk.mode=kafka, pk.fields must name exactly three columns (topic, partition, offset) or be empty",
        ));
    }
    if non_empty(config, TABLE_NAME_FORMAT).is_some_and(|f| f.split('.').count() > 2) {
        errors.push(FieldError::new(
            TABLE_NAME_FORMAT,
            "Expected a table name or schema.table",
        ));
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

impl InsertMode {
    pub fn parse(s: &str) -> Option<InsertMode> {
        match s.to_ascii_uppercase().as_str() {
            "INSERT" => Some(InsertMode::Insert),
            "UPSERT" => Some(InsertMode::Upsert),
            "UPDATE" => Some(InsertMode::Update),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            InsertMode::Insert => "INSERT",
            InsertMode::Upsert => "UPSERT",
            InsertMode::Update => "UPDATE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    None,
    Kafka,
    RecordKey,
    RecordValue,
}

impl PkMode {
    pub fn parse(s: &str) -> Option<PkMode> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(PkMode::None),
            "kafka" => Some(PkMode::Kafka),
            "record_key" => Some(PkMode::RecordKey),
            "record_value" => Some(PkMode::RecordValue),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        match s.to_ascii_lowercase().as_str() {
            "disable" | "disabled" | "false" => Some(SslMode::Disable),
            "allow" => Some(SslMode::Allow),
            "prefer" | "preferred" => Some(SslMode::Prefer),
            "require" | "required" | "true" => Some(SslMode::Require),
            "verify-ca" | "verify_ca" => Some(SslMode::VerifyCa),
            "verify-full" | "verify_full" | "verify_identity" => Some(SslMode::VerifyFull),
            _ => None,
        }
    }
}

/// A password: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
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
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub database: String,
    pub ssl_mode: SslMode,
}

impl Connection {
    /// `host:port`, as named in connection errors.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A task's typed settings, parsed from its task config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JdbcSettings {
    pub connection: Connection,
    pub insert_mode: InsertMode,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    pub fields_whitelist: Vec<String>,
    pub table_name_format: String,
    pub auto_create: bool,
    pub auto_evolve: bool,
    pub delete_enabled: bool,
    /// Most rows per statement (also bounded by bind-parameter limits).
    pub batch_size: usize,
    pub db_timezone: String,
}

impl JdbcSettings {
    pub fn parse(config: &Config, dialect: Dialect) -> Result<JdbcSettings, FieldError> {
        if let Some(e) = validate(config).into_iter().next() {
            return Err(e);
        }
        let url = non_empty(config, CONNECTION_URL)
            .map(JdbcUrl::parse)
            .transpose()
            .map_err(|m| FieldError::new(CONNECTION_URL, m))?
            .unwrap_or_default();
        let host = non_empty(config, CONNECTION_HOST)
            .map(str::to_string)
            .or(url.host)
            .ok_or_else(|| FieldError::new(CONNECTION_HOST, "connection.host is required"))?;
        let port = match non_empty(config, CONNECTION_PORT) {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                FieldError::new(
                    CONNECTION_PORT,
                    format!("Invalid value {p}: not a TCP port"),
                )
            })?,
            None => url.port.unwrap_or(dialect.default_port()),
        };
        let database = non_empty(config, DB_NAME)
            .map(str::to_string)
            .or(url.database)
            .ok_or_else(|| FieldError::new(DB_NAME, "db.name is required"))?;
        let user = non_empty(config, CONNECTION_USER)
            .map(str::to_string)
            .or(url.user)
            .ok_or_else(|| FieldError::new(CONNECTION_USER, "connection.user is required"))?;
        // Passwords are not trimmed: spaces may be part of them.
        let password = config
            .get(CONNECTION_PASSWORD)
            .filter(|p| !p.is_empty())
            .cloned()
            .or(url.password)
            .map(Secret::new)
            .unwrap_or_default();
        let ssl_mode = match non_empty(config, SSL_MODE).or(url.ssl_mode.as_deref()) {
            None => SslMode::Prefer,
            Some(s) => SslMode::parse(s).ok_or_else(|| {
                FieldError::new(
                    SSL_MODE,
                    format!("Invalid value {s}: must be one of {}", SSL_MODES.join(", ")),
                )
            })?,
        };
        let bad = |key: &str, v: &str| FieldError::new(key, format!("Invalid value {v}"));
        let insert_mode = non_empty(config, INSERT_MODE).unwrap_or("INSERT");
        let insert_mode =
            InsertMode::parse(insert_mode).ok_or_else(|| bad(INSERT_MODE, insert_mode))?;
        let pk_mode = non_empty(config, PK_MODE).unwrap_or("none");
        let pk_mode = PkMode::parse(pk_mode).ok_or_else(|| bad(PK_MODE, pk_mode))?;
        let batch_size = match non_empty(config, BATCH_SIZES) {
            None => DEFAULT_BATCH_SIZES,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(BATCH_SIZES, v))?,
        };
        Ok(JdbcSettings {
            connection: Connection {
                host,
                port,
                user,
                password,
                database,
                ssl_mode,
            },
            insert_mode,
            pk_mode,
            pk_fields: list(config, PK_FIELDS),
            fields_whitelist: list(config, FIELDS_WHITELIST),
            table_name_format: non_empty(config, TABLE_NAME_FORMAT)
                .unwrap_or("${topic}")
                .to_string(),
            auto_create: flag(config, AUTO_CREATE),
            auto_evolve: flag(config, AUTO_EVOLVE),
            delete_enabled: flag(config, DELETE_ENABLED),
            batch_size,
            db_timezone: non_empty(config, DB_TIMEZONE).unwrap_or("UTC").to_string(),
        })
    }
}

fn flag(config: &Config, key: &str) -> bool {
    non_empty(config, key).is_some_and(|v| v.eq_ignore_ascii_case("true"))
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

    fn base(extra: &[(&str, &str)]) -> Config {
        let mut c = cfg(&[
            ("topics", "orders"),
            ("connection.host", "db.example.com"),
            ("connection.user", "app"),
            ("connection.password", "s3cret "),
            ("db.name", "shop"),
        ]);
        c.extend(cfg(extra));
        c
    }

    fn keys(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.key).collect()
    }

    #[test]
    fn cloud_config_parses_with_defaults() {
        let s = JdbcSettings::parse(&base(&[]), Dialect::Postgres).unwrap();
        assert_eq!(s.connection.address(), "db.example.com:5432");
        assert_eq!(s.connection.password.expose(), "s3cret ");
        assert_eq!(s.connection.ssl_mode, SslMode::Prefer);
        assert_eq!(s.insert_mode, InsertMode::Insert);
        assert_eq!(s.pk_mode, PkMode::None);
        assert_eq!(s.table_name_format, "${topic}");
        assert_eq!(s.batch_size, 3000);
        assert!(!s.auto_create && !s.auto_evolve && !s.delete_enabled);
        let s = JdbcSettings::parse(&base(&[]), Dialect::MySql).unwrap();
        assert_eq!(s.connection.port, 3306);
    }

    #[test]
    fn password_never_shows_in_debug_output() {
        let s = JdbcSettings::parse(&base(&[]), Dialect::MySql).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
    }

    #[test]
    fn upsert_and_delete_need_the_right_pk_mode() {
        assert_eq!(
            keys(validate(&base(&[("insert.mode", "UPSERT")]))),
            vec!["pk.mode"]
        );
        assert_eq!(
            keys(validate(&base(&[("insert.mode", "update")]))),
            vec!["pk.mode"]
        );
        assert!(validate(&base(&[
            ("insert.mode", "UPSERT"),
            ("pk.mode", "record_value"),
            ("pk.fields", "id")
        ]))
        .is_empty());
        assert_eq!(
            keys(validate(&base(&[
                ("delete.enabled", "true"),
                ("pk.mode", "record_value")
            ]))),
            vec!["delete.enabled"]
        );
        assert!(validate(&base(&[
            ("delete.enabled", "true"),
            ("pk.mode", "record_key")
        ]))
        .is_empty());
        assert_eq!(
            keys(validate(&base(&[
                ("pk.mode", "kafka"),
                ("pk.fields", "a,b")
            ]))),
            vec!["pk.fields"]
        );
    }

    #[test]
    fn host_database_and_user_are_required_unless_the_url_gives_them() {
        let mut c = base(&[]);
        c.remove("connection.host");
        c.remove("db.name");
        c.remove("connection.user");
        assert_eq!(
            keys(validate(&c)),
            vec!["connection.host", "db.name", "connection.user"]
        );
        c.insert(
            "connection.url".into(),
            "jdbc:postgresql://pg.internal:6432/shop?user=app&password=pw&sslmode=require".into(),
        );
        assert!(validate(&c).is_empty());
        let s = JdbcSettings::parse(&c, Dialect::Postgres).unwrap();
        assert_eq!(s.connection.address(), "pg.internal:6432");
        assert_eq!(s.connection.database, "shop");
        assert_eq!(s.connection.user, "app");
        // connection.password wins over the URL's.
        assert_eq!(s.connection.password.expose(), "s3cret ");
        assert_eq!(s.connection.ssl_mode, SslMode::Require);
    }

    #[test]
    fn string_values_and_dotted_table_formats_are_refused() {
        assert_eq!(
            keys(validate(&base(&[("input.data.format", "STRING")]))),
            vec!["input.data.format"]
        );
        assert_eq!(
            keys(validate(&base(&[("table.name.format", "a.b.c")]))),
            vec!["table.name.format"]
        );
    }

    #[test]
    fn sink_keys_are_part_of_the_definitions() {
        let names: Vec<&str> = defs(Dialect::MySql).iter().map(|d| d.name).collect();
        for key in [
            "topics",
            "errors.tolerance",
            "connection.password",
            "batch.sizes",
        ] {
            assert!(names.contains(&key), "{key} missing");
        }
        let password = defs(Dialect::MySql)
            .into_iter()
            .find(|d| d.name == "connection.password")
            .map(|d| d.config_type);
        assert_eq!(password, Some(ConfigType::Password));
    }
}
