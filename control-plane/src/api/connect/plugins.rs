//! `…/connector-plugins` and `…/connector-plugins/{plugin}/config/validate`.
//! Validation is served from the plugin catalogue linked into the control
//! plane: no worker is needed.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tributary_data_plane::connectors::config::{common_defs, ConfigType};
use tributary_data_plane::connectors::{self as catalogue, ConfigDef, FieldError};

use super::{scoped_cluster, view::MASK, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;

pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let list: Vec<Value> = catalogue::catalogue()
        .iter()
        .map(|p| json!({"class": p.class(), "type": p.connector_type().as_str(), "version": p.version()}))
        .collect();
    Ok(Json(Value::Array(list)))
}

fn definition_json(d: &ConfigDef, order: usize) -> Value {
    json!({
        "name": d.name,
        "type": d.config_type.as_str(),
        "required": d.required,
        "default_value": d.default_value.unwrap_or(""),
        "importance": d.importance.as_str(),
        "documentation": d.documentation,
        "group": d.group,
        "width": "NONE",
        "display_name": if d.display_name.is_empty() { d.name } else { d.display_name },
        "dependents": [],
        "order": order,
        "alias": "",
    })
}

/// Kafka Connect's validate response for `config` against `plugin`'s definitions.
pub fn validation_json(
    plugin_name: &str,
    defs: &[ConfigDef],
    config: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Value {
    let mut groups: Vec<&str> = Vec::new();
    for d in defs {
        if !d.group.is_empty() && !groups.contains(&d.group) {
            groups.push(d.group);
        }
    }
    let configs: Vec<Value> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let value = match config.get(d.name) {
                Some(_) if d.config_type == ConfigType::Password => Value::from(MASK),
                Some(v) => Value::from(v.as_str()),
                None => d.default_value.map(Value::from).unwrap_or(Value::Null),
            };
            let errs: Vec<&str> = errors
                .iter()
                .filter(|e| e.key == d.name)
                .map(|e| e.message.as_str())
                .collect();
            json!({
                "definition": definition_json(d, i + 1),
                "value": {
                    "name": d.name,
                    "value": value,
                    "recommended_values": d.allowed,
                    "errors": errs,
                    "visible": true,
                },
                "metadata": {},
            })
        })
        .collect();
    // Problems with keys no definition covers still count and are shown.
    let mut configs = configs;
    for e in errors
        .iter()
        .filter(|e| !defs.iter().any(|d| d.name == e.key))
    {
        configs.push(json!({
            "definition": {"name": e.key, "type": "STRING", "required": false, "default_value": "",
                           "importance": "LOW", "documentation": "", "group": "", "width": "NONE",
                           "display_name": e.key, "dependents": [], "order": configs.len() + 1, "alias": ""},
            "value": {"name": e.key, "value": config.get(&e.key), "recommended_values": [], "errors": [e.message], "visible": true},
            "metadata": {},
        }));
    }
    json!({
        "name": plugin_name,
        "groups": groups,
        "error_count": errors.len(),
        "configs": configs,
    })
}

/// `PUT …/connector-plugins/{plugin}/config/validate`: always 200 with
/// per-field errors (a bad config is the answer, not a failure).
pub async fn validate(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, plugin)): Path<(String, String, String)>,
    ApiJson(config): ApiJson<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let p = catalogue::find(&plugin)
        .ok_or_else(|| ApiError::not_found(format!("Connector plugin {plugin} not found")))?;
    let mut config = config;
    config
        .entry("connector.class".into())
        .or_insert_with(|| p.class().to_string());
    let mut errors = Vec::new();
    if let Some(class) = config.get("connector.class") {
        if catalogue::find(class).map(|q| q.class()) != Some(p.class()) {
            errors.push(FieldError::new(
                "connector.class",
                format!(
                    "connector.class \"{class}\" does not match the plugin {} being validated",
                    p.class()
                ),
            ));
        }
    }
    errors.extend(catalogue::validate(p, &config));
    let mut defs = common_defs();
    defs.extend(p.config_defs());
    Ok(Json(validation_json(p.class(), &defs, &config, &errors)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_counts_errors_and_masks_passwords() {
        let p = catalogue::find("DatagenSource").unwrap();
        let config: BTreeMap<String, String> = [
            ("connector.class", "DatagenSource"),
            ("kafka.api.secret", "s3cret"),
            ("quickstart", "ORDERS"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let errors = catalogue::validate(p, &config);
        let mut defs = common_defs();
        defs.extend(p.config_defs());
        let v = validation_json(p.class(), &defs, &config, &errors);
        assert_eq!(v["error_count"], errors.len());
        assert!(errors.iter().any(|e| e.key == "kafka.topic"), "{errors:?}");
        let secret = v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == "kafka.api.secret")
            .unwrap();
        assert_eq!(secret["value"]["value"], MASK);
        assert_eq!(secret["definition"]["type"], "PASSWORD");
        let topic = v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == "kafka.topic")
            .unwrap();
        assert_eq!(topic["value"]["errors"].as_array().unwrap().len(), 1);
        assert!(!v.to_string().contains("s3cret"));
    }
}
