//! What a connector's name and config must be: the plugin's definitions and
//! checks, and the deployment's egress policy for the hosts a config names.
//! Every problem is named by its key.

use std::collections::BTreeMap;

use tributary_data_plane::connectors::config::password_keys;
use tributary_data_plane::connectors::{self as plugins, ConfigDef, ConnectorPlugin, FieldError};

use super::{ConnectorService, Result, ServiceError};
use crate::store::connectors::ConfigMap;

/// Connector names end up in URLs, CRNs and consumer group ids.
pub fn check_name(name: &str) -> Result<()> {
    let refuse = |why: &str| Err(ServiceError::invalid("name", why));
    if name.trim().is_empty() {
        return refuse("connector name must not be empty");
    }
    if name.len() > 255 {
        return refuse("connector name must be at most 255 characters");
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return refuse("connector name must not contain '/' or control characters");
    }
    Ok(())
}

/// Sets `config.name` to `name`, refusing a different one; `where_` says
/// where the connector's name came from, for the message.
pub(super) fn name_config(config: &mut ConfigMap, name: &str, where_: &str) -> Result<()> {
    match config.get("name") {
        Some(n) if n != name => Err(ServiceError::invalid(
            "config/name",
            format!("config.name \"{n}\" does not match the connector name \"{name}\"{where_}"),
        )),
        _ => {
            config.insert("name".into(), name.to_string());
            Ok(())
        }
    }
}

/// Finds the plugin and validates the whole config; every problem is named.
pub fn check_config(config: &ConfigMap) -> Result<&'static dyn ConnectorPlugin> {
    let class = config
        .get("connector.class")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ServiceError::invalid(
                "config/connector.class",
                "Missing required configuration \"connector.class\"",
            )
        })?;
    let plugin = plugins::find(class).ok_or_else(|| {
        let known: Vec<&str> = plugins::catalogue().iter().map(|p| p.class()).collect();
        ServiceError::invalid(
            "config/connector.class",
            format!(
                "Unknown connector.class \"{class}\"; available plugins: {}",
                known.join(", ")
            ),
        )
    })?;
    config_errors(&plugins::validate(plugin, config))?;
    Ok(plugin)
}

/// One error naming the first key at fault and listing every problem.
fn config_errors(all: &[FieldError]) -> Result<()> {
    let Some(first) = all.first() else {
        return Ok(());
    };
    let lines: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    Err(ServiceError::invalid(
        format!("config/{}", first.key),
        format!(
            "Connector configuration is invalid and contains the following {} error(s):\n{}",
            all.len(),
            lines.join("\n")
        ),
    ))
}

/// Is this value the mask (or another run of asterisks a client echoed back)?
pub fn is_mask(v: &str) -> bool {
    v.len() >= 2 && v.bytes().all(|b| b == b'*')
}

/// Replaces echoed masks of password keys with the stored secrets.
pub(super) fn restore_masked_secrets(
    config: &mut ConfigMap,
    stored: Option<&ConfigMap>,
) -> Result<()> {
    let class = config.get("connector.class").cloned().unwrap_or_default();
    let secret_keys = plugins::find(&class)
        .map(|p| password_keys(&p.config_defs()))
        .unwrap_or_else(|| password_keys(&[]));
    for (k, v) in config.iter_mut() {
        if !is_mask(v) || !secret_keys.contains(&k.as_str()) {
            continue;
        }
        match stored.and_then(|s| s.get(k)) {
            Some(old) => *v = old.clone(),
            None => {
                return Err(ServiceError::invalid(
                    format!("config/{k}"),
                    format!(
                        "{k} is masked ({v}) but no value is stored for it; send the real value"
                    ),
                ))
            }
        }
    }
    Ok(())
}

/// The plugin named `name`; not found when there is none.
pub fn find_plugin(name: &str) -> Result<&'static dyn ConnectorPlugin> {
    plugins::find(name)
        .ok_or_else(|| ServiceError::NotFound(format!("Connector plugin {name} not found")))
}

/// A config validated against a plugin's definitions.
pub struct Validated {
    pub defs: Vec<ConfigDef>,
    pub config: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
}

impl ConnectorService {
    /// [`check_config`] plus the egress policy for the hosts the config
    /// names: what every write of a config passes.
    pub(super) async fn validate_config(
        &self,
        config: &ConfigMap,
    ) -> Result<&'static dyn ConnectorPlugin> {
        let plugin = check_config(config)?;
        config_errors(&self.egress.check_config(plugin, config).await)?;
        Ok(plugin)
    }

    /// Every problem of `config` for plugin `p` (types, required keys,
    /// allowed values, the plugin's own checks and the egress policy for
    /// hosts), each naming its key: a bad config is the answer, not a failure.
    pub async fn validate_plugin_config(
        &self,
        p: &'static dyn ConnectorPlugin,
        mut config: BTreeMap<String, String>,
    ) -> Validated {
        config
            .entry("connector.class".into())
            .or_insert_with(|| p.class().to_string());
        let mut errors = Vec::new();
        if let Some(class) = config.get("connector.class") {
            if plugins::find(class).map(|q| q.class()) != Some(p.class()) {
                errors.push(FieldError::new(
                    "connector.class",
                    format!(
                        "connector.class \"{class}\" does not match the plugin {} being validated",
                        p.class()
                    ),
                ));
            }
        }
        errors.extend(plugins::validate(p, &config));
        errors.extend(self.egress.check_config(p, &config).await);
        Validated {
            defs: plugins::definitions(p),
            config,
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::error::ApiError;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_class_names_the_field_and_the_choices() {
        let cfg: ConfigMap = [("connector.class".to_string(), "Nope".to_string())].into();
        let e = ApiError::from(check_config(&cfg).err().unwrap());
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.field.as_deref(), Some("config/connector.class"));
        assert!(e.detail.contains("DatagenSource"), "{}", e.detail);
    }

    #[test]
    fn names_with_slashes_are_refused() {
        assert!(check_name("a/b").is_err());
        assert!(check_name(" ").is_err());
        assert!(check_name("orders-gen").is_ok());
    }

    #[test]
    fn echoed_mask_keeps_the_stored_secret() {
        let stored = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "s3cret"),
        ]);
        let mut sent = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "****************"),
        ]);
        restore_masked_secrets(&mut sent, Some(&stored)).unwrap();
        assert_eq!(sent["kafka.api.secret"], "s3cret");
    }

    #[test]
    fn a_mask_without_a_stored_secret_is_an_error_naming_the_key() {
        let mut sent = cfg(&[
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "****"),
        ]);
        let e = ApiError::from(restore_masked_secrets(&mut sent, None).unwrap_err());
        assert_eq!(e.field.as_deref(), Some("config/kafka.api.secret"));
    }

    #[test]
    fn asterisks_in_ordinary_keys_are_data() {
        let mut sent = cfg(&[("connector.class", "DatagenSource"), ("kafka.topic", "***")]);
        restore_masked_secrets(&mut sent, None).unwrap();
        assert_eq!(sent["kafka.topic"], "***");
    }
}
