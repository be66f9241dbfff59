//! Connector handlers: create, list, read, status, delete, plugins.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tributary_data_plane::connectors::{self as plugins, ConnectorPlugin, FieldError};

use super::idempotency::Idempotency;
use super::precondition::{check_if_match, etag_header};
use super::{connector_not_found, load, scoped_cluster, view, AppState};
use crate::api::json::ApiJson;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::connectors::{self as store, ConfigMap, CreateError, NewConnector, Task};
use crate::store::notify_reconciler;
use crate::store::tenancy::Cluster;

type ClusterPath = Path<(String, String)>;
type ConnectorPath = Path<(String, String, String)>;

#[derive(Debug, Deserialize, serde::Serialize)]
pub struct CreateRequest {
    name: Option<String>,
    config: Option<BTreeMap<String, String>>,
    #[serde(default)]
    offsets: Vec<Value>,
}

/// Connector names end up in URLs, CRNs and consumer group ids.
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "name",
            "connector name must not be empty",
        ));
    }
    if name.len() > 255 {
        return Err(ApiError::invalid_field(
            "name",
            "connector name must be at most 255 characters",
        ));
    }
    if name.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::invalid_field(
            "name",
            "connector name must not contain '/' or control characters",
        ));
    }
    Ok(())
}

/// Finds the plugin and validates the whole config; every problem is named.
pub fn check_config(config: &ConfigMap) -> Result<&'static dyn ConnectorPlugin, ApiError> {
    let class = config
        .get("connector.class")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "config/connector.class",
                "Missing required configuration \"connector.class\"",
            )
        })?;
    let plugin = plugins::find(class).ok_or_else(|| {
        let known: Vec<&str> = plugins::catalogue().iter().map(|p| p.class()).collect();
        ApiError::invalid_field(
            "config/connector.class",
            format!(
                "Unknown connector.class \"{class}\"; available plugins: {}",
                known.join(", ")
            ),
        )
    })?;
    let errors = plugins::validate(plugin, config);
    if let Some(first) = errors.first() {
        return Err(config_errors(first, &errors));
    }
    Ok(plugin)
}

/// [`check_config`] plus the deployment's egress policy for the hosts the
/// config names: what every write of a config passes.
pub(crate) async fn validate_config(
    state: &AppState,
    config: &ConfigMap,
) -> Result<&'static dyn ConnectorPlugin, ApiError> {
    let plugin = check_config(config)?;
    let errors = state.egress.check_config(plugin, config).await;
    if let Some(first) = errors.first() {
        return Err(config_errors(first, &errors));
    }
    Ok(plugin)
}

fn config_errors(first: &FieldError, all: &[FieldError]) -> ApiError {
    let lines: Vec<String> = all.iter().map(|e| e.to_string()).collect();
    ApiError::invalid_field(
        format!("config/{}", first.key),
        format!(
            "Connector configuration is invalid and contains the following {} error(s):\n{}",
            all.len(),
            lines.join("\n")
        ),
    )
}

#[utoipa::path(
    post,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors",
    operation_id = "createConnectv1Connector",
    tag = "Connectors (connect/v1)",
    summary = "Create a connector",
    description = "Records the connector as desired state (RUNNING) and answers at once; the reconciler \
starts its tasks. The whole config is validated first and every problem is named. Needs \
ConnectManager, CloudClusterAdmin or above on the cluster; counts against the connector and task \
quotas (402). Password-typed config values are encrypted at rest and returned masked \
(`****************`). A retried request with the same `Idempotency-Key` and body answers the first \
result instead of creating twice.",
    params(
        crate::api::schemas::ClusterPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1 to 255 characters, kept 24 hours per organization"),
    ),
    request_body = crate::api::schemas::CreateConnectorRequest,
    responses(
        (status = 201, description = "The connector (secrets masked)", body = crate::api::schemas::Connector),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 402, response = crate::api::schemas::ConnectQuotaExceeded),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 409, response = crate::api::schemas::ConnectConflict),
        (status = 413, response = crate::api::schemas::ConnectPayloadTooLarge),
        (status = 422, response = crate::api::schemas::ConnectIdempotencyKeyReused),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let idem = Idempotency::from_request(
        &headers,
        "POST",
        format!("/connect/v1/environments/{env}/clusters/{cluster_id}/connectors"),
        &req,
    )?;
    let name = req
        .name
        .ok_or_else(|| ApiError::invalid_field("name", "field \"name\" is required"))?;
    check_name(&name)?;
    let config = req
        .config
        .ok_or_else(|| ApiError::invalid_field("config", "field \"config\" is required"))?;
    if !req.offsets.is_empty() {
        return Err(ApiError::invalid_field(
            "offsets",
            "initial offsets are not supported yet; create the connector without them",
        ));
    }
    let (plugin, config) = prepare_new(&state, &name, config).await?;

    let mut tx = state.pool.begin().await?;
    if let Some(idem) = &idem {
        if let Some((status, body)) = idem.begin(&mut tx, &who.org_id).await? {
            return Ok((status, Json(body)));
        }
    }
    let (created, n_tasks) =
        insert_connector(&mut tx, &state, &who, &env, &cluster, plugin, &config).await?;
    let mut body = view::connector_json(&created, &cluster, n_tasks);
    body["offsets"] = json!([]);
    if let Some(idem) = &idem {
        idem.finish(&mut tx, &who.org_id, StatusCode::CREATED, &body)
            .await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Core of a create: checks the name, sets `config.name` (refusing a
/// different one) and validates the config. Returns the plugin and config.
pub(crate) async fn prepare_new(
    state: &AppState,
    name: &str,
    mut config: ConfigMap,
) -> Result<(&'static dyn ConnectorPlugin, ConfigMap), ApiError> {
    check_name(name)?;
    match config.get("name") {
        Some(n) if n != name => {
            return Err(ApiError::invalid_field(
                "config/name",
                format!("config.name \"{n}\" does not match the connector name \"{name}\""),
            ))
        }
        _ => {
            config.insert("name".into(), name.to_string());
        }
    }
    let plugin = validate_config(state, &config).await?;
    Ok((plugin, config))
}

/// Core of a create: stores a prepared connector (secrets sealed; 409 when
/// the name is taken) and wakes the reconciler, in `tx`. Returns the
/// connector and its task count.
pub(crate) async fn insert_connector(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    state: &AppState,
    who: &Principal,
    env: &str,
    cluster: &Cluster,
    plugin: &'static dyn ConnectorPlugin,
    config: &ConfigMap,
) -> Result<(store::Connector, usize), ApiError> {
    let name = config.get("name").cloned().unwrap_or_default();
    let mut stored_config = config.clone();
    crate::connector_secrets::seal_secrets(&mut stored_config, None, &state.secrets);
    let created = store::create(
        tx,
        NewConnector {
            org_id: &who.org_id,
            environment_id: env,
            cluster_id: &cluster.id,
            name: &name,
            class: plugin.class(),
            connector_type: plugin.connector_type().as_str(),
            config: &stored_config,
        },
    )
    .await
    .map_err(|e| match e {
        CreateError::AlreadyExists(n) => {
            ApiError::conflict(format!("Connector {n} already exists"))
        }
        CreateError::Db(e) => e.into(),
    })?;
    let n_tasks = plugin
        .task_configs(config, plugins::max_tasks(config))
        .len();
    notify_reconciler(&mut **tx, "connector created").await?;
    tracing::info!(connector = %created.id, name = %name, class = plugin.class(), "connector created");
    Ok((created, n_tasks))
}

/// The `expand` values of a query string: `expand=id,info` or repeated `expand=`.
fn expansions(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for pair in query.unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k != "expand" {
            continue;
        }
        for item in v.replace("%2C", ",").replace("%2c", ",").split(',') {
            match item {
                "" => {}
                "id" | "info" | "status" => out.push(item.to_string()),
                other => {
                    return Err(ApiError::invalid_field(
                        "expand",
                        format!("unknown expansion \"{other}\"; use id, info or status"),
                    ))
                }
            }
        }
    }
    Ok(out)
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors",
    operation_id = "listConnectv1Connectors",
    tag = "Connectors (connect/v1)",
    summary = "List connectors",
    description = "The connectors of the cluster that the caller may see (a caller bound to some \
connectors only sees those). Without parameters: an array of names. With `expand`: an object keyed \
by name with the expansions asked for. With `page_size` or `page_token`: a v2 list page whose \
`data` holds names (or expanded connectors with their `name`).",
    params(
        crate::api::schemas::ClusterPath,
        ("expand" = Option<String>, Query, description = "Comma-separated (or repeated): `id`, `info`, `status`", example = "status,info,id"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Paginate: page size"),
        ("page_token" = Option<String>, Query, description = "Paginate: from `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "The connectors", body = crate::api::schemas::ConnectorListing,
            example = json!(["orders-gen", "orders-sink"])),
        (status = 400, response = crate::api::schemas::ConnectBadRequest),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let expand = expansions(query.as_deref())?;
    let page = paging(query.as_deref())?;
    let connectors = visible_connectors(
        &state,
        &who,
        &env,
        &cluster,
        page.as_ref().and_then(|p| p.page_token.as_deref()),
        page.as_ref().and_then(|p| p.page_size),
    )
    .await?;
    if let Some(page) = page {
        // Opt-in pagination: Confluent's v2 list envelope.
        let size = page.size()?;
        let total = store::count(&state.pool, &who.org_id, &cluster.id).await?;
        let base = format!(
            "{}/connect/v1/environments/{env}/clusters/{cluster_id}/connectors{}",
            state.public_url,
            if expand.is_empty() {
                String::new()
            } else {
                format!("?expand={}", expand.join(","))
            }
        );
        let last = connectors.last().map(|c| c.name.clone());
        let data: Vec<Value> = if expand.is_empty() {
            connectors.iter().map(|c| json!(c.name)).collect()
        } else {
            let expanded = expand_all(&state, &cluster, &connectors, &expand).await?;
            connectors
                .iter()
                .map(|c| {
                    let mut e = expanded.get(&c.name).cloned().unwrap_or(json!({}));
                    e["name"] = json!(c.name);
                    e
                })
                .collect()
        };
        let mut body = crate::api::v2::list_page(
            "connect/v1",
            "ConnectorList",
            &base,
            data,
            last,
            size,
            total,
        );
        if let Some(next) = body["metadata"]["next"].as_str() {
            // Tokens are connector names: encode them for the URL.
            body["metadata"]["next"] = json!(next.replace(' ', "%20"));
        }
        return Ok(Json(body));
    }
    if expand.is_empty() {
        return Ok(Json(json!(connectors
            .iter()
            .map(|c| &c.name)
            .collect::<Vec<_>>())));
    }
    Ok(Json(Value::Object(
        expand_all(&state, &cluster, &connectors, &expand).await?,
    )))
}

/// Core of the list endpoints: the cluster's connectors the caller may see,
/// by name (a page of them with `after`/`limit`). A caller bound to some
/// connectors only sees those.
pub(crate) async fn visible_connectors(
    state: &AppState,
    who: &Principal,
    env: &str,
    cluster: &Cluster,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<Vec<store::Connector>, ApiError> {
    let mut connectors = store::list(&state.pool, &who.org_id, &cluster.id, after, limit).await?;
    let names = connectors.iter().map(|c| c.name.clone()).collect();
    let visible =
        crate::auth::authz::visible_connectors(&state.pool, who, env, &cluster.id, names).await?;
    connectors.retain(|c| visible.contains(&c.name));
    Ok(connectors)
}

/// The tasks of each of `connectors`, by connector id, in task order.
pub(crate) async fn tasks_by_connector(
    state: &AppState,
    connectors: &[store::Connector],
) -> Result<HashMap<String, Vec<Task>>, ApiError> {
    let ids: Vec<String> = connectors.iter().map(|c| c.id.clone()).collect();
    let mut out: HashMap<String, Vec<Task>> = HashMap::new();
    for t in store::tasks_of(&state.pool, &ids).await? {
        out.entry(t.connector_id.clone()).or_default().push(t);
    }
    Ok(out)
}

/// `page_size`/`page_token` of a list request; `None` when not paginating.
fn paging(query: Option<&str>) -> Result<Option<crate::api::v2::PageParams>, ApiError> {
    let q = query.unwrap_or("");
    if !q.contains("page_size") && !q.contains("page_token") {
        return Ok(None);
    }
    let params = parse_paging(q)?;
    Ok(Some(crate::api::v2::PageParams {
        page_size: Some(params.size()?),
        page_token: params.page_token,
    }))
}

fn parse_paging(q: &str) -> Result<crate::api::v2::PageParams, ApiError> {
    let mut p = crate::api::v2::PageParams::default();
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_encoding::percent_decode_str(&v.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        match k {
            "page_size" => {
                p.page_size = Some(v.parse().map_err(|_| {
                    ApiError::invalid_field(
                        "page_size",
                        format!("page_size must be an integer, not \"{v}\""),
                    )
                })?)
            }
            "page_token" => p.page_token = Some(v),
            _ => {}
        }
    }
    Ok(p)
}

/// The `?expand=` objects of each connector, keyed by name.
async fn expand_all(
    state: &AppState,
    cluster: &crate::store::tenancy::Cluster,
    connectors: &[store::Connector],
    expand: &[String],
) -> Result<Map<String, Value>, ApiError> {
    let tasks = tasks_by_connector(state, connectors).await?;
    let mut out = Map::new();
    for c in connectors {
        let mine: Vec<&Task> = tasks
            .get(&c.id)
            .map(|t| t.iter().collect())
            .unwrap_or_default();
        let mut entry = Map::new();
        if expand.iter().any(|e| e == "id") {
            entry.insert("id".into(), json!({"id": c.id, "id_type": "ID"}));
        }
        if expand.iter().any(|e| e == "info") {
            entry.insert(
                "info".into(),
                json!({
                    "name": c.name,
                    "config": view::visible_config(&c.config, &c.class, cluster),
                    "tasks": view::task_ids(&c.name, mine.len()),
                    "type": c.connector_type,
                }),
            );
        }
        if expand.iter().any(|e| e == "status") {
            entry.insert("status".into(), view::status_json(c, &mine));
        }
        out.insert(c.name.clone(), Value::Object(entry));
    }
    Ok(out)
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}",
    operation_id = "readConnectv1Connector",
    tag = "Connectors (connect/v1)",
    summary = "Read a connector",
    description = "Its config (secrets masked), tasks and type. The `ETag` names this version, for `If-Match`.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The connector", body = crate::api::schemas::Connector,
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
    let (cluster, c, tasks) = load(&state, &who, &env, &cluster_id, &name).await?;
    Ok((
        etag_header(&c),
        Json(view::connector_json(&c, &cluster, tasks.len())),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}/status",
    operation_id = "readConnectv1ConnectorStatus",
    tag = "Connectors (connect/v1)",
    summary = "Read a connector's status",
    description = "The connector's state, derived from its tasks' (PROVISIONING, RUNNING, DEGRADED, \
PAUSED, STOPPED, FAILED), and each task's state and error.",
    params(crate::api::schemas::ConnectorPath),
    responses(
        (status = 200, description = "The status", body = crate::api::schemas::ConnectorStatus),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let (_, c, tasks) = load(&state, &who, &env, &cluster_id, &name).await?;
    let refs: Vec<&Task> = tasks.iter().collect();
    Ok(Json(view::status_json(&c, &refs)))
}

#[utoipa::path(
    delete,
    path = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}/connectors/{connector_name}",
    operation_id = "deleteConnectv1Connector",
    tag = "Connectors (connect/v1)",
    summary = "Delete a connector",
    description = "Its tasks stop and its stored config and offsets go.",
    params(
        crate::api::schemas::ConnectorPath,
        ("If-Match" = Option<String>, Header, description = "Delete only this version (an `ETag`)"),
    ),
    responses(
        (status = 200, description = "Deleted", body = crate::api::schemas::DeleteConnectorResponse),
        (status = 403, response = crate::api::schemas::ConnectForbidden),
        (status = 404, response = crate::api::schemas::ConnectNotFound),
        (status = 412, response = crate::api::schemas::ConnectPreconditionFailed),
        crate::api::schemas::ConnectCommonErrors,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    delete_connector(&state, &who, &env, &cluster_id, &name, &headers).await?;
    Ok(Json(json!({"error": null})))
}

/// Core of a delete (honouring `If-Match`); 404 when there is no such connector.
pub(crate) async fn delete_connector(
    state: &AppState,
    who: &Principal,
    env: &str,
    cluster_id: &str,
    name: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let cluster = scoped_cluster(state, who, env, cluster_id).await?;
    let mut tx = state.pool.begin().await?;
    let current = store::lock(&mut tx, &who.org_id, &cluster.id, name)
        .await?
        .ok_or_else(|| connector_not_found(name))?;
    check_if_match(headers, Some(&current))?;
    store::delete(&mut tx, &who.org_id, &cluster.id, name).await?;
    notify_reconciler(&mut *tx, "connector deleted").await?;
    tx.commit().await?;
    crate::cleanup::after_delete(state, &current);
    tracing::info!(name = %name, cluster = %cluster.id, "connector deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansions_accept_comma_lists_and_repeats() {
        assert_eq!(
            expansions(Some("expand=id,info")).unwrap(),
            vec!["id", "info"]
        );
        assert_eq!(
            expansions(Some("expand=status&expand=id")).unwrap(),
            vec!["status", "id"]
        );
        assert!(expansions(Some("expand=bogus")).is_err());
        assert!(expansions(None).unwrap().is_empty());
    }

    #[test]
    fn unknown_class_names_the_field_and_the_choices() {
        let cfg: ConfigMap = [("connector.class".to_string(), "Nope".to_string())].into();
        let e = check_config(&cfg).err().unwrap();
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
}
