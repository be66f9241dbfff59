//! Config definitions in Kafka Connect's `ConfigDef` vocabulary, and the
//! generic checks (required, type, allowed values) they imply.

use super::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    Int,
    Long,
    Double,
    String,
    List,
    Password,
}

impl ConfigType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::String => "STRING",
            ConfigType::List => "LIST",
            ConfigType::Password => "PASSWORD",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn as_str(&self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub required: bool,
    pub default_value: Option<&'static str>,
    pub importance: Importance,
    pub documentation: &'static str,
    pub display_name: &'static str,
    pub group: &'static str,
    /// Allowed values (compared case-insensitively); empty = any.
    pub allowed: &'static [&'static str],
    /// Inclusive lower bound for numeric types.
    pub min: Option<i64>,
    /// The value names a host the connector connects to (a host, `host:port`,
    /// a URL, or a comma-separated list of those): it must pass the
    /// deployment's egress policy ([`super::egress`]).
    pub host: bool,
}

impl ConfigDef {
    pub const fn new(name: &'static str, config_type: ConfigType) -> ConfigDef {
        ConfigDef {
            name,
            config_type,
            required: false,
            default_value: None,
            importance: Importance::Medium,
            documentation: "",
            display_name: "",
            group: "",
            allowed: &[],
            min: None,
            host: false,
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self.importance = Importance::High;
        self
    }
    pub const fn default(mut self, v: &'static str) -> Self {
        self.default_value = Some(v);
        self
    }
    pub const fn doc(mut self, display: &'static str, documentation: &'static str) -> Self {
        self.display_name = display;
        self.documentation = documentation;
        self
    }
    pub const fn group(mut self, g: &'static str) -> Self {
        self.group = g;
        self
    }
    pub const fn allowed(mut self, values: &'static [&'static str]) -> Self {
        self.allowed = values;
        self
    }
    pub const fn min(mut self, m: i64) -> Self {
        self.min = Some(m);
        self
    }
    pub const fn importance(mut self, i: Importance) -> Self {
        self.importance = i;
        self
    }
    /// Marks the key as naming a host the connector connects to; the egress
    /// policy checks it at create, update, validate and task start.
    pub const fn host(mut self) -> Self {
        self.host = true;
        self
    }
}

/// One problem with one config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

impl FieldError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Keys every managed connector accepts (Confluent Cloud's common keys).
pub fn common_defs() -> Vec<ConfigDef> {
    use ConfigType::*;
    vec![
        ConfigDef::new("connector.class", String).required().doc(
            "Connector class",
            "The managed connector plugin, e.g. DatagenSource.",
        ),
        ConfigDef::new("name", String)
            .doc("Name", "The connector's name, unique within its cluster."),
        ConfigDef::new("tasks.max", Int)
            .default("1")
            .min(1)
            .doc("Tasks", "Maximum number of tasks for the connector."),
        ConfigDef::new("auto.restart.on.user.error", Boolean)
            .default("true")
            .doc(
                "Restart failed tasks",
                "Restart failed tasks automatically, with exponential backoff.",
            ),
        ConfigDef::new("kafka.auth.mode", String)
            .default("KAFKA_API_KEY")
            .allowed(&["KAFKA_API_KEY", "SERVICE_ACCOUNT"])
            .doc(
                "Kafka authentication mode",
                "How the connector authenticates to Kafka.",
            ),
        ConfigDef::new("kafka.api.key", Password).doc(
            "Kafka API key",
            "Kafka API key; optional here, the registered cluster's credentials are used.",
        ),
        ConfigDef::new("kafka.api.secret", Password).doc(
            "Kafka API secret",
            "Kafka API secret; optional here, the registered cluster's credentials are used.",
        ),
        ConfigDef::new("kafka.service.account.id", String).doc(
            "Service account",
            "Service account the connector acts as when kafka.auth.mode=SERVICE_ACCOUNT.",
        ),
        // Converters (see crate::converters): a class overrides the data format keys.
        ConfigDef::new("key.converter", String)
            .allowed(CONVERTER_CLASSES)
            .group("Converters")
            .doc("Key converter class", "Kafka Connect converter class for record keys; overrides output.key.format / input.key.format."),
        ConfigDef::new("value.converter", String)
            .allowed(CONVERTER_CLASSES)
            .group("Converters")
            .doc("Value converter class", "Kafka Connect converter class for record values; overrides output.data.format / input.data.format."),
        ConfigDef::new("key.converter.schemas.enable", Boolean)
            .group("Converters")
            .importance(Importance::Low)
            .doc("Key schemas enable", "JsonConverter: write and require the {\"schema\",\"payload\"} envelope (default true with the class, false with the JSON data format)."),
        ConfigDef::new("value.converter.schemas.enable", Boolean)
            .group("Converters")
            .importance(Importance::Low)
            .doc("Value schemas enable", "JsonConverter: write and require the {\"schema\",\"payload\"} envelope (default true with the class, false with the JSON data format)."),
    ]
}

/// The converter classes `key.converter` / `value.converter` accept.
pub const CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.json.JsonConverter",
    "io.confluent.connect.avro.AvroConverter",
    "io.confluent.connect.protobuf.ProtobufConverter",
    "io.confluent.connect.json.JsonSchemaConverter",
];

/// Checks `config` against `defs`: required keys, types, bounds, allowed values.
pub fn check_defs(defs: &[ConfigDef], config: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for def in defs {
        let value = config.get(def.name).map(|v| v.trim());
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            if def.required && def.default_value.is_none() {
                errors.push(FieldError::new(
                    def.name,
                    format!(
                        "Missing required configuration \"{}\" which has no default value.",
                        def.name
                    ),
                ));
            }
            continue;
        };
        let numeric = match def.config_type {
            ConfigType::Int | ConfigType::Long => {
                match value.parse::<i64>() {
                    Ok(n) if def.config_type == ConfigType::Int && i32::try_from(n).is_err() => {
                        errors.push(FieldError::new(
                            def.name,
                            format!("Invalid value {value}: not a 32-bit integer"),
                        ));
                        continue;
                    }
                    Ok(n) => Some(n),
                    Err(_) => {
                        errors.push(FieldError::new(
                        def.name,
                        format!("Invalid value {value} for configuration {}: Not a number of type {}", def.name, def.config_type.as_str()),
                    ));
                        continue;
                    }
                }
            }
            ConfigType::Double => {
                if value.parse::<f64>().is_err() {
                    errors.push(FieldError::new(
                        def.name,
                        format!("Invalid value {value}: not a number"),
                    ));
                }
                None
            }
            ConfigType::Boolean => {
                if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                    errors.push(FieldError::new(
                        def.name,
                        format!("Invalid value {value}: expected true or false"),
                    ));
                }
                None
            }
            _ => None,
        };
        if let (Some(n), Some(min)) = (numeric, def.min) {
            if n < min {
                errors.push(FieldError::new(
                    def.name,
                    format!("Invalid value {n}: must be at least {min}"),
                ));
            }
        }
        if !def.allowed.is_empty() && !def.allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
            errors.push(FieldError::new(
                def.name,
                format!(
                    "Invalid value {value}: must be one of {}",
                    def.allowed.join(", ")
                ),
            ));
        }
    }
    errors
}

/// Names of the password-typed keys of a plugin plus the common ones:
/// these are encrypted at rest and masked in every response.
pub fn password_keys(defs: &[ConfigDef]) -> Vec<&'static str> {
    common_defs()
        .iter()
        .chain(defs.iter())
        .filter(|d| d.config_type == ConfigType::Password)
        .map(|d| d.name)
        .collect()
}

/// Names of the keys of a plugin whose values name hosts (see [`ConfigDef::host`]).
pub fn host_keys(defs: &[ConfigDef]) -> Vec<&'static str> {
    common_defs()
        .iter()
        .chain(defs.iter())
        .filter(|d| d.host)
        .map(|d| d.name)
        .collect()
}

/// A config value, trimmed; `None` when absent or blank.
pub fn non_empty<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A value the parsed settings cannot do without (validation has named it already).
pub fn required(config: &Config, key: &str) -> Result<String, FieldError> {
    non_empty(config, key)
        .map(str::to_string)
        .ok_or_else(|| FieldError::new(key, format!("Missing required configuration \"{key}\"")))
}

/// A TCP port (1–65535), or `default` when absent.
pub fn port(config: &Config, key: &str, default: u16) -> Result<u16, FieldError> {
    match non_empty(config, key) {
        None => Ok(default),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| FieldError::new(key, format!("Invalid value {p}: not a port"))),
    }
}

/// A boolean value (`true`/`false` in any case), or `default` when absent.
pub fn flag(config: &Config, key: &str, default: bool) -> Result<bool, FieldError> {
    match non_empty(config, key) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(FieldError::new(
            key,
            format!("Invalid value {v}: expected true or false"),
        )),
    }
}

/// A number, or `default` when absent.
pub fn number<T: std::str::FromStr>(
    config: &Config,
    key: &str,
    default: T,
) -> Result<T, FieldError> {
    match non_empty(config, key) {
        None => Ok(default),
        Some(v) => v.parse::<T>().map_err(|_| {
            FieldError::new(
                key,
                format!("Invalid value {v}: expected a non-negative integer"),
            )
        }),
    }
}

/// A comma-separated list, trimmed, without empty entries.
pub fn list(config: &Config, key: &str) -> Vec<String> {
    non_empty(config, key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
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
    fn missing_required_key_is_named() {
        let errs = check_defs(&common_defs(), &cfg(&[]));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "connector.class");
    }

    #[test]
    fn bad_number_and_bound_are_reported() {
        let errs = check_defs(
            &common_defs(),
            &cfg(&[("connector.class", "X"), ("tasks.max", "zero")]),
        );
        assert_eq!(errs[0].key, "tasks.max");
        let errs = check_defs(
            &common_defs(),
            &cfg(&[("connector.class", "X"), ("tasks.max", "0")]),
        );
        assert!(errs[0].message.contains("at least 1"), "{errs:?}");
    }

    #[test]
    fn allowed_values_are_case_insensitive() {
        let ok = check_defs(
            &common_defs(),
            &cfg(&[
                ("connector.class", "X"),
                ("kafka.auth.mode", "service_account"),
            ]),
        );
        assert!(ok.is_empty());
        let bad = check_defs(
            &common_defs(),
            &cfg(&[("connector.class", "X"), ("kafka.auth.mode", "OAUTH")]),
        );
        assert_eq!(bad[0].key, "kafka.auth.mode");
    }
}
