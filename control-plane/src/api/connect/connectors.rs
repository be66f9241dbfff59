//! Connector handlers: create, list, read, status, delete, plugins.

use std::collections::BTreeMap;

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
pub(super) fn check_name(name: &str) -> Result<(), ApiError> {
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
    let mut config = req
        .config
        .ok_or_else(|| ApiError::invalid_field("config", "field \"config\" is required"))?;
    match config.get("name") {
        Some(n) if n != &name => {
            return Err(ApiError::invalid_field(
                "config/name",
                format!("config.name \"{n}\" does not match the connector name \"{name}\""),
            ))
        }
        _ => {
            config.insert("name".into(), name.clone());
        }
    }
    if !req.offsets.is_empty() {
        return Err(ApiError::invalid_field(
            "offsets",
            "initial offsets are not supported yet; create the connector without them",
        ));
    }
    let plugin = check_config(&config)?;

    let mut stored_config = config.clone();
    crate::connector_secrets::seal_secrets(&mut stored_config, None, &state.secrets);
    let mut tx = state.pool.begin().await?;
    if let Some(idem) = &idem {
        if let Some((status, body)) = idem.begin(&mut tx, &who.org_id).await? {
            return Ok((status, Json(body)));
        }
    }
    let created = store::create(
        &mut tx,
        NewConnector {
            org_id: &who.org_id,
            environment_id: &env,
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
        .task_configs(&config, plugins::max_tasks(&config))
        .len();
    let mut body = view::connector_json(&created, &cluster, n_tasks);
    body["offsets"] = json!([]);
    if let Some(idem) = &idem {
        idem.finish(&mut tx, &who.org_id, StatusCode::CREATED, &body)
            .await?;
    }
    notify_reconciler(&mut *tx, "connector created").await?;
    tx.commit().await?;
    tracing::info!(connector = %created.id, name = %name, class = plugin.class(), "connector created");
    Ok((StatusCode::CREATED, Json(body)))
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

pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id)): ClusterPath,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let expand = expansions(query.as_deref())?;
    let page = paging(query.as_deref())?;
    let mut connectors = store::list(
        &state.pool,
        &who.org_id,
        &cluster.id,
        page.as_ref().and_then(|p| p.page_token.as_deref()),
        page.as_ref().and_then(|p| p.page_size),
    )
    .await?;
    // A caller bound to some connectors only sees those.
    let names = connectors.iter().map(|c| c.name.clone()).collect();
    let visible =
        crate::auth::authz::visible_connectors(&state.pool, &who, &env, &cluster.id, names).await?;
    connectors.retain(|c| visible.contains(&c.name));
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
    let ids: Vec<String> = connectors.iter().map(|c| c.id.clone()).collect();
    let tasks = store::tasks_of(&state.pool, &ids).await?;
    let mut out = Map::new();
    for c in connectors {
        let mine: Vec<&Task> = tasks.iter().filter(|t| t.connector_id == c.id).collect();
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

pub async fn status(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
) -> Result<Json<Value>, ApiError> {
    let (_, c, tasks) = load(&state, &who, &env, &cluster_id, &name).await?;
    let refs: Vec<&Task> = tasks.iter().collect();
    Ok(Json(view::status_json(&c, &refs)))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((env, cluster_id, name)): ConnectorPath,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let cluster = scoped_cluster(&state, &who, &env, &cluster_id).await?;
    let mut tx = state.pool.begin().await?;
    let current = store::lock(&mut tx, &who.org_id, &cluster.id, &name)
        .await?
        .ok_or_else(|| connector_not_found(&name))?;
    check_if_match(&headers, Some(&current))?;
    store::delete(&mut tx, &who.org_id, &cluster.id, &name).await?;
    notify_reconciler(&mut *tx, "connector deleted").await?;
    tx.commit().await?;
    tracing::info!(name = %name, cluster = %cluster.id, "connector deleted");
    Ok(Json(json!({"error": null})))
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
