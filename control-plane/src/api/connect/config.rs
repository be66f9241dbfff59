//! `GET`/`PUT`/`PATCH …/connectors/{name}/config`.
//!
//! Secrets contract: password-typed keys are returned as `****************`.
//! A PUT or PATCH that sends a run of asterisks back for such a key keeps the
//! stored value, so clients can round-trip a config they read.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use tributary_data_plane::connectors::{self as plugins, config::password_keys};

use super::precondition::{check_if_match, etag_header};
use super::{connector_not_found, load, scoped_cluster, view, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::connector_secrets::{open_secrets, seal_secrets};
use crate::error::ApiError;
use crate::store::connectors::{self as store, ConfigMap, NewConnector};
use crate::store::notify_reconciler;

type ConnectorPath = Path<(String, String, String)>;

/// Is this value the mask (or another run of asterisks a client echoed back)?
pub fn is_mask(v: &str) -> bool {
    v.len() >= 2 && v.bytes().all(|b| b == b'*')
}

/// Replaces echoed masks of password keys with the stored secrets.
pub fn restore_masked_secrets(
    config: &mut ConfigMap,
    stored: Option<&ConfigMap>,
) -> Result<(), ApiError> {
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
                return Err(ApiError::invalid_field(
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

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "getConnectv1ConnectorConfig",
    tag = "Connectors (connect/v1)",
    summary = "Read a connector's config",
    description = "Password-typed values are returned masked as `****************`, never in clear; a \
PUT or PATCH that sends the mask back keeps the stored value. The `ETag` names this version.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The config, secrets masked", body = crate::api::schemas::ConnectorConfig,
            headers(("ETag" = String, description = "The connector's version"))),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Response, ApiError> {
    let (cluster, c, _) = load(&state, &who, &env, &cluster_id, &name).await?;
    let body = view::visible_config(&c.config, &c.class, &cluster);
    Ok((etag_header(&c), Json(body)).into_response())
}

/// A config written by [`write_config`].
pub(crate) struct Written {
    pub connector: store::Connector,
    pub cluster: crate::store::tenancy::Cluster,
    /// The connector did not exist before.
    pub created: bool,
    pub n_tasks: usize,
}

/// Core of every config write: creates the connector or replaces its config
/// with what `build` makes of the stored one (`None`: no connector yet).
/// Honours `If-Match`, restores echoed masks, validates (egress policy
/// included), seals secrets and wakes the reconciler.
pub(crate) async fn write_config(
    state: &AppState,
    who: &Principal,
    (env, cluster_id, name): (String, String, String),
    headers: &HeaderMap,
    build: impl FnOnce(Option<&ConfigMap>) -> Result<ConfigMap, ApiError>,
) -> Result<Written, ApiError> {
    let cluster = scoped_cluster(state, who, &env, &cluster_id).await?;
    super::connectors::check_name(&name)?;
    let mut tx = state.pool.begin().await?;
    let current = store::lock(&mut tx, &who.org_id, &cluster.id, &name).await?;
    check_if_match(headers, current.as_ref())?;
    let stored = current.as_ref().map(|c| &c.config.0);
    let mut config = build(stored)?;
    match config.get("name") {
        Some(n) if n != &name => {
            return Err(ApiError::invalid_field(
                "config/name",
                format!(
                    "config.name \"{n}\" does not match the connector name \"{name}\" in the path"
                ),
            ))
        }
        _ => {
            config.insert("name".into(), name.clone());
        }
    }
    restore_masked_secrets(&mut config, stored)?;
    // Validate what the worker will see: stored secrets opened.
    let mut plain = config.clone();
    open_secrets(&mut plain, &state.secrets);
    let plugin = super::connectors::validate_config(state, &plain).await?;
    seal_secrets(&mut config, stored, &state.secrets);
    let (c, created) = store::upsert(
        &mut tx,
        NewConnector {
            org_id: &who.org_id,
            environment_id: &env,
            cluster_id: &cluster.id,
            name: &name,
            class: plugin.class(),
            connector_type: plugin.connector_type().as_str(),
            config: &config,
        },
    )
    .await?;
    notify_reconciler(&mut *tx, "connector config").await?;
    tx.commit().await?;
    tracing::info!(connector = %c.id, name = %name, created, generation = c.generation, "connector config written");
    let n_tasks = plugin
        .task_configs(&config, plugins::max_tasks(&config))
        .len();
    Ok(Written {
        connector: c,
        cluster,
        created,
        n_tasks,
    })
}

/// Confluent documents 200 for both creation and update of a config.
fn written_response(w: Written) -> Response {
    (
        StatusCode::OK,
        etag_header(&w.connector),
        Json(view::connector_json(&w.connector, &w.cluster, w.n_tasks)),
    )
        .into_response()
}

/// The stored config with `patch` merged in: a key set to `None` (JSON
/// `null`) is removed. 404 when there is no stored config.
pub(crate) fn merge_patch(
    stored: Option<&ConfigMap>,
    name: &str,
    patch: BTreeMap<String, Option<String>>,
) -> Result<ConfigMap, ApiError> {
    let mut config = stored.cloned().ok_or_else(|| connector_not_found(name))?;
    for (k, v) in patch {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    Ok(config)
}

/// `PUT …/config`: create, or replace the whole config (omitted keys are removed).
#[utoipa::path(
    put,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "createOrUpdateConnectv1ConnectorConfig",
    tag = "Connectors (connect/v1)",
    summary = "Create a connector or replace its config",
    description = "Creates the connector when it does not exist; otherwise replaces the whole config \
(omitted keys are removed) and bumps its generation, and the reconciler rolls the tasks. Answers \
200 in both cases, as Confluent documents.\n\n**Secrets.** Password-typed values are encrypted at \
rest and returned masked as `****************`. Sending the mask (any run of two or more asterisks) \
back for such a key keeps the stored value, so a config that was read can be written back \
unchanged; the mask for a key with no stored value is a 400 naming the key.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Write only over this version (an `ETag`); 412 otherwise"),
    ),
    request_body = crate::api::schemas::ConnectorConfig,
    responses(
        (status = 200, description = "The connector (secrets masked)", body = crate::api::schemas::Connector,
            headers(("ETag" = String, description = "The connector's new version"))),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 402, response = crate::api::schemas::ConnectQuotaExceeded),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn put(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    write_config(&state, &who, path, &headers, |_| Ok(body))
        .await
        .map(written_response)
}

/// `PATCH …/config`: merge the given keys into the stored config; a key set
/// to JSON `null` is removed.
#[utoipa::path(
    patch,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/config",
    operation_id = "patchConnectv1ConnectorConfig",
    tag = "Connectors (connect/v1)",
    summary = "Change some of a connector's config",
    description = "Merges the given keys into the stored config; a key set to `null` is removed. The \
connector must exist (404).\n\n**Secrets.** Password-typed values are encrypted at rest and \
returned masked as `****************`. Sending the mask back for such a key keeps the stored value.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Write only over this version (an `ETag`); 412 otherwise"),
    ),
    request_body = crate::api::schemas::ConnectorConfigPatch,
    responses(
        (status = 200, description = "The connector (secrets masked)", body = crate::api::schemas::Connector,
            headers(("ETag" = String, description = "The connector's new version"))),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn patch(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(path): ConnectorPath,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BTreeMap<String, Option<String>>>,
) -> Result<Response, ApiError> {
    let name = path.2.clone();
    write_config(&state, &who, path, &headers, |stored| {
        merge_patch(stored, &name, body)
    })
    .await
    .map(written_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
        let e = restore_masked_secrets(&mut sent, None).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("config/kafka.api.secret"));
    }

    #[test]
    fn asterisks_in_ordinary_keys_are_data() {
        let mut sent = cfg(&[("connector.class", "DatagenSource"), ("kafka.topic", "***")]);
        restore_masked_secrets(&mut sent, None).unwrap();
        assert_eq!(sent["kafka.topic"], "***");
    }
}
