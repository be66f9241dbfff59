//! `…/connector-plugins` and `…/connector-plugins/{plugin}/config/validate`.
//! Validation is served from the plugin catalogue linked into the control
//! plane: no worker is needed.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tributary_data_plane::connectors::config::ConfigType;
use tributary_data_plane::connectors::{self as catalogue, ConfigDef, FieldError};

use super::{view::MASK, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::{find_plugin, Access};

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connector-plugins",
    operation_id = "listConnectv1ConnectorPlugins",
    tag = "Connector plugins (connect/v1)",
    summary = "List the connector plugins",
    params(crate::api::schemas::ClusterPath),
    responses(
        (status = 200, description = "The plugin catalogue", body = Vec<crate::api::schemas::ConnectorPlugin>),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .connectors
        .admit(&who, &env, &cluster_id, Access::Cluster)
        .await?;
    Ok(Json(plugin_list()))
}

/// `[{class, type, version}]` of every built-in plugin (both faces).
pub(crate) fn plugin_list() -> Value {
    let list: Vec<Value> = catalogue::catalogue()
        .iter()
        .map(|p| json!({"class": p.class(), "type": p.connector_type().as_str(), "version": p.version()}))
        .collect();
    Value::Array(list)
}

pub(crate) fn definition_json(d: &ConfigDef, order: usize) -> Value {
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
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connector-plugins/{plugin_name}/config/validate",
    operation_id = "validateConnectv1ConnectorPlugin",
    tag = "Connector plugins (connect/v1)",
    summary = "Validate a connector config",
    description = "Always 200 with per-field errors: a bad config is the answer, not a failure. Served \
from the plugin catalogue linked into the control plane (no worker needed). Password-typed values \
are shown masked.",
    params(crate::api::schemas::PluginPath),
    request_body = crate::api::schemas::ConnectorConfig,
    responses(
        (status = 200, description = "The validation", body = crate::api::schemas::ConfigValidation),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, plugin)): Path<(String, String, String)>,
    ApiJson(config): ApiJson<BTreeMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    svc.admit(&who, &env, &cluster_id, Access::Cluster).await?;
    let p = find_plugin(&plugin)?;
    let v = svc.validate_plugin_config(p, config).await;
    Ok(Json(validation_json(
        p.class(),
        &v.defs,
        &v.config,
        &v.errors,
    )))
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
        let defs = catalogue::definitions(p);
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
