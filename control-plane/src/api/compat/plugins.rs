//! `GET /connector-plugins`, `GET /connector-plugins/{plugin}/config` and
//! `PUT /connector-plugins/{plugin}/config/validate`, served from the plugin
//! catalogue like Connect v1's.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;
use tributary_data_plane::connectors as catalogue;

use super::{full_config, AppState};
use crate::api::connect::plugins as core;
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::connectors::{find_plugin, Access};

type PluginPath = Path<(String, String, String)>;

/// `GET /connector-plugins`: `[{class, type, version}]` (connectors only:
/// there are no other plugin types to list).
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connector-plugins",
    operation_id = "compatListPlugins",
    tag = "Kafka Connect compatible",
    summary = "List the connector plugins",
    params(crate::api::schemas::ClusterPath),
    responses(
        (status = 200, description = "The plugins", body = Vec<crate::api::schemas::ConnectorPlugin>),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
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
    Ok(Json(core::plugin_list()))
}

/// Upstream's `ConfigKeyInfo`: Connect v1's definition without `alias`.
fn key_info(definition: Value) -> Value {
    let mut d = definition;
    if let Some(o) = d.as_object_mut() {
        o.remove("alias");
    }
    d
}

/// `GET /connector-plugins/{plugin}/config`: `[ConfigKeyInfo]`.
#[utoipa::path(
    get,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connector-plugins/{plugin_name}/config",
    operation_id = "compatPluginConfig",
    tag = "Kafka Connect compatible",
    summary = "A plugin's config definitions",
    params(crate::api::schemas::PluginPath),
    responses(
        (status = 200, description = "The definitions", body = Vec<crate::api::schemas::ConfigKeyDefinition>),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn config_defs(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, plugin)): PluginPath,
) -> Result<Json<Value>, ApiError> {
    state
        .connectors
        .admit(&who, &env, &cluster_id, Access::Cluster)
        .await?;
    let p = find_plugin(&plugin)?;
    let defs = catalogue::definitions(p);
    Ok(Json(Value::Array(
        defs.iter()
            .enumerate()
            .map(|(i, d)| key_info(core::definition_json(d, i + 1)))
            .collect(),
    )))
}

/// Upstream's `ConfigInfos`: Connect v1's validate answer without Confluent's
/// `alias` and `metadata`, and password values shown as upstream shows them.
fn config_infos(v1: Value) -> Value {
    let mut v = v1;
    if let Some(configs) = v["configs"].as_array_mut() {
        for c in configs {
            if let Some(o) = c.as_object_mut() {
                o.remove("metadata");
            }
            c["definition"] = key_info(c["definition"].take());
            if c["definition"]["type"] == "PASSWORD" && c["value"]["value"].is_string() {
                c["value"]["value"] = Value::from("[hidden]");
            }
        }
    }
    v
}

/// `PUT /connector-plugins/{plugin}/config/validate`: 200 `ConfigInfos`
/// with per-field errors (the egress policy included); 400 when the body's
/// `connector.class` is another plugin.
#[utoipa::path(
    put,
    path = "/compat/connect/environments/{environment_id}/clusters/{kafka_cluster_id}/connector-plugins/{plugin_name}/config/validate",
    operation_id = "compatValidateConfig",
    tag = "Kafka Connect compatible",
    summary = "Validate a connector config",
    description = "200 with per-field errors; 400 when the body's `connector.class` is another plugin. Password values read `[hidden]`.",
    params(crate::api::schemas::PluginPath),
    request_body = crate::api::schemas::UpstreamConfig,
    responses(
        (status = 200, description = "The validation", body = crate::api::schemas::ConfigValidation),
        (status = 400, response = crate::api::schemas::CompatBadRequest),
        (status = 404, response = crate::api::schemas::CompatNotFound),
        (status = 413, response = crate::api::schemas::CompatPayloadTooLarge),
        crate::api::schemas::CompatCommonErrors,
    )
)]
pub async fn validate(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, plugin)): PluginPath,
    ApiJson(body): ApiJson<BTreeMap<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let svc = &state.connectors;
    svc.admit(&who, &env, &cluster_id, Access::Cluster).await?;
    let config = full_config(body)?;
    let p = find_plugin(&plugin)?;
    if let Some(included) = config.get("connector.class") {
        if catalogue::find(included).map(|q| q.class()) != Some(p.class()) {
            return Err(ApiError::bad_request(format!(
                "Included connector type {included} does not match request type {plugin}"
            )));
        }
    }
    let v = svc.validate_plugin_config(p, config).await;
    Ok(Json(config_infos(core::validation_json(
        p.class(),
        &v.defs,
        &v.config,
        &v.errors,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_infos_drop_cloud_fields_and_hide_passwords() {
        let v1 = json!({"name": "X", "error_count": 0, "groups": [], "configs": [
            {"definition": {"name": "p", "type": "PASSWORD", "alias": ""},
             "value": {"name": "p", "value": "****************", "errors": []}, "metadata": {}},
            {"definition": {"name": "s", "type": "STRING", "alias": ""},
             "value": {"name": "s", "value": "x", "errors": []}, "metadata": {}},
        ]});
        let v = config_infos(v1);
        assert_eq!(v["configs"][0]["value"]["value"], "[hidden]");
        assert_eq!(v["configs"][1]["value"]["value"], "x");
        assert!(v["configs"][0].get("metadata").is_none());
        assert!(v["configs"][0]["definition"].get("alias").is_none());
    }
}
