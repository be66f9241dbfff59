//! `/cmk/v2/clusters`: the Kafka clusters registered in an environment. A
//! cluster here is an existing Kafka cluster: a bootstrap endpoint plus
//! optional SASL/TLS credentials (the password sealed at rest).
//!
//! | Method | Path | Success | Who |
//! | --- | --- | --- | --- |
//! | GET | `/cmk/v2/clusters?environment=` | 200 | clusters the caller is bound to (at, above or below) |
//! | POST | `/cmk/v2/clusters` | 202 | EnvironmentAdmin or above on `spec.environment` |
//! | GET | `/cmk/v2/clusters/{id}?environment=` | 200 | visible |
//! | PATCH | `/cmk/v2/clusters/{id}` (`spec.environment` required) | 200 | CloudClusterAdmin or above |
//! | DELETE | `/cmk/v2/clusters/{id}?environment=` | 204 | CloudClusterAdmin or above; 409 while it holds connectors |
//!
//! Registration and endpoint/credential changes first check that the
//! cluster answers a metadata request; when it does not, the answer is a
//! 400 naming `spec.kafka_bootstrap_endpoint` and the client's error.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde::Deserialize;
use serde_json::{json, Value};

use super::json::ApiJson;
use super::org::{check_display_name, visible_environment};
use super::v2;
use super::AppState;
use crate::auth::authz::{self, Scope, Target, CLUSTER_ADMIN, ENV_ADMIN};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::tenancy::{self, Cluster, NewCluster};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cmk/v2/clusters", get(list).post(create))
        .route(
            "/cmk/v2/clusters/{id}",
            get(read).patch(update).delete(delete),
        )
}

#[derive(Debug, Deserialize)]
struct ClusterQuery {
    environment: Option<String>,
    page_size: Option<i64>,
    page_token: Option<String>,
}

impl ClusterQuery {
    fn environment(&self) -> Result<&str, ApiError> {
        self.environment
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                ApiError::invalid_field("environment", "query parameter 'environment' is required")
            })
    }
}

const PROTOCOLS: &[&str] = &["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];
const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

pub fn cluster_json(base: &str, c: &Cluster) -> Value {
    let env_url = format!("{base}/org/v2/environments/{}", c.environment_id);
    let props = &c.client_properties.0;
    let mut spec = json!({
        "display_name": c.display_name,
        "availability": "SINGLE_ZONE",
        "cloud": "LOCAL",
        "region": "local",
        "config": { "kind": "Basic" },
        "kafka_bootstrap_endpoint": c.bootstrap_endpoint,
        "environment": {
            "id": c.environment_id,
            "related": env_url,
            "resource_name": v2::env_crn(&c.org_id, &c.environment_id),
        },
    });
    if let Some(p) = props.get("security.protocol") {
        // Never the password: only what identifies the connection.
        let mut cred = json!({ "security_protocol": p });
        if let Some(m) = props.get("sasl.mechanism") {
            cred["sasl_mechanism"] = json!(m);
        }
        if let Some(u) = props.get("sasl.username") {
            cred["username"] = json!(u);
        }
        cred["has_password"] = json!(c.secret_properties.is_some());
        spec["credentials"] = cred;
    }
    json!({
        "api_version": "cmk/v2",
        "kind": "Cluster",
        "id": c.id,
        "metadata": v2::object_meta(
            format!("{base}/cmk/v2/clusters/{}", c.id),
            v2::cluster_crn(&c.org_id, &c.environment_id, &c.id),
            &c.created_at,
            &c.updated_at,
        ),
        "spec": spec,
        "status": { "phase": "PROVISIONED" },
    })
}

#[utoipa::path(
    get,
    path = "/cmk/v2/clusters",
    operation_id = "listCmkV2Clusters",
    tag = "Clusters (cmk/v2)",
    summary = "List the Kafka clusters of an environment",
    description = "The clusters the caller is bound to (at, above or below).",
    params(
        ("environment" = String, Query, description = "The environment, `env-…`"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of clusters", body = crate::api::schemas::ClusterList),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(q): Query<ClusterQuery>,
) -> Result<Json<Value>, ApiError> {
    let env = q.environment()?;
    let page = v2::PageParams {
        page_size: q.page_size,
        page_token: q.page_token.clone(),
    };
    let size = page.size()?;
    visible_environment(&state, &who, env).await?;
    let (rows, total) =
        tenancy::list_clusters_scoped(&state.pool, &Scope::read(&who), env, page.after(), size)
            .await?;
    let last = rows.last().map(|c| c.id.clone());
    let data = rows
        .iter()
        .map(|c| cluster_json(&state.public_url, c))
        .collect();
    let base = format!("{}/cmk/v2/clusters?environment={env}", state.public_url);
    Ok(Json(v2::list_page(
        "cmk/v2",
        "ClusterList",
        &base,
        data,
        last,
        size,
        total,
    )))
}

/// A cluster the caller can see in `env`, or 404.
async fn visible_cluster(
    state: &AppState,
    who: &Principal,
    env: &str,
    id: &str,
) -> Result<Cluster, ApiError> {
    tenancy::get_cluster_scoped(&state.pool, &Scope::read(who), Some(env), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster {id} not found in environment {env}")))
}

#[utoipa::path(
    get,
    path = "/cmk/v2/clusters/{id}",
    operation_id = "getCmkV2Cluster",
    tag = "Clusters (cmk/v2)",
    summary = "Read a Kafka cluster",
    params(
        ("id" = String, Path, description = "The cluster's id, `lkc-…`"),
        ("environment" = String, Query, description = "The cluster's environment, `env-…`"),
    ),
    responses(
        (status = 200, description = "The cluster (never its password)", body = crate::api::schemas::Cluster),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<ClusterQuery>,
) -> Result<Json<Value>, ApiError> {
    let env = q.environment()?;
    let c = visible_cluster(&state, &who, env, &id).await?;
    Ok(Json(cluster_json(&state.public_url, &c)))
}

#[derive(Debug, Default, Deserialize)]
struct EnvRef {
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Credentials {
    security_protocol: Option<String>,
    sasl_mechanism: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ClusterSpec {
    display_name: Option<String>,
    environment: Option<EnvRef>,
    kafka_bootstrap_endpoint: Option<String>,
    credentials: Option<Credentials>,
    // Accepted for compatibility with Confluent clients; a registered
    // cluster's are fixed.
    #[allow(dead_code)]
    availability: Option<Value>,
    #[allow(dead_code)]
    cloud: Option<Value>,
    #[allow(dead_code)]
    region: Option<Value>,
    #[allow(dead_code)]
    config: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ClusterBody {
    spec: Option<ClusterSpec>,
}

impl ClusterBody {
    fn spec(self) -> Result<ClusterSpec, ApiError> {
        self.spec
            .ok_or_else(|| ApiError::invalid_field("spec", "field \"spec\" is required"))
    }
}

fn spec_environment(spec: &ClusterSpec) -> Result<String, ApiError> {
    spec.environment
        .as_ref()
        .and_then(|e| e.id.clone())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_field("spec.environment.id", "spec.environment.id is required")
        })
}

/// `host:port[,host:port…]`, each optionally prefixed by a protocol
/// (`SASL_SSL://…`), which becomes the security protocol when none is given.
fn parse_endpoint(raw: &str) -> Result<(String, Option<String>), ApiError> {
    let field = "spec.kafka_bootstrap_endpoint";
    let mut hosts = Vec::new();
    let mut protocol = None;
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let hostport = match part.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_uppercase();
                if !PROTOCOLS.contains(&scheme.as_str()) {
                    return Err(ApiError::invalid_field(
                        field,
                        format!(
                            "unknown protocol \"{scheme}\" in {field}; use one of {}",
                            PROTOCOLS.join(", ")
                        ),
                    ));
                }
                protocol = Some(scheme);
                rest
            }
            None => part,
        };
        let ok = hostport
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0))
            && !hostport.contains('/')
            && !hostport.chars().any(char::is_whitespace);
        if !ok {
            return Err(ApiError::invalid_field(
                field,
                format!("{field} must be host:port[,host:port…], got \"{part}\""),
            ));
        }
        hosts.push(hostport.to_string());
    }
    if hosts.is_empty() {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} is required"),
        ));
    }
    Ok((hosts.join(","), protocol))
}

type Props = BTreeMap<String, String>;

/// Plain and secret client properties from the credentials.
fn connection(
    protocol_from_endpoint: Option<String>,
    cred: Option<&Credentials>,
) -> Result<(Props, Props), ApiError> {
    let mut plain = BTreeMap::new();
    let mut secret = BTreeMap::new();
    let protocol = cred
        .and_then(|c| c.security_protocol.clone())
        .map(|p| p.to_ascii_uppercase())
        .or(protocol_from_endpoint);
    if let Some(p) = &protocol {
        if !PROTOCOLS.contains(&p.as_str()) {
            return Err(ApiError::invalid_field(
                "spec.credentials.security_protocol",
                format!("security_protocol must be one of {}", PROTOCOLS.join(", ")),
            ));
        }
        plain.insert("security.protocol".to_string(), p.clone());
    }
    let sasl = protocol.as_deref().is_some_and(|p| p.starts_with("SASL_"));
    if let Some(c) = cred {
        if sasl {
            let mech = c
                .sasl_mechanism
                .clone()
                .unwrap_or_else(|| "PLAIN".into())
                .to_ascii_uppercase();
            if !MECHANISMS.contains(&mech.as_str()) {
                return Err(ApiError::invalid_field(
                    "spec.credentials.sasl_mechanism",
                    format!("sasl_mechanism must be one of {}", MECHANISMS.join(", ")),
                ));
            }
            let user = c
                .username
                .clone()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "spec.credentials.username",
                        "a SASL security_protocol needs spec.credentials.username",
                    )
                })?;
            let pass = c
                .password
                .clone()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "spec.credentials.password",
                        "a SASL security_protocol needs spec.credentials.password",
                    )
                })?;
            plain.insert("sasl.mechanism".into(), mech);
            plain.insert("sasl.username".into(), user);
            secret.insert("sasl.password".into(), pass);
        } else if c.username.is_some() || c.password.is_some() {
            return Err(ApiError::invalid_field(
                "spec.credentials.security_protocol",
                "username and password need security_protocol SASL_PLAINTEXT or SASL_SSL",
            ));
        }
    }
    Ok((plain, secret))
}

/// Asks the cluster for its metadata, as connectors will; a cluster that
/// does not answer is a 400 that says so.
async fn check_reachable(
    endpoint: &str,
    props: BTreeMap<String, String>,
    timeout: Duration,
) -> Result<(), ApiError> {
    let field = "spec.kafka_bootstrap_endpoint";
    let servers = endpoint.to_string();
    let result = tokio::task::spawn_blocking(move || -> Result<usize, String> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &servers)
            .set("client.id", "tributary-cluster-check")
            .set("socket.timeout.ms", timeout.as_millis().max(10).to_string())
            .set("log_level", "3");
        for (k, v) in &props {
            cfg.set(k, v);
        }
        let consumer: BaseConsumer = cfg.create().map_err(|e| e.to_string())?;
        let md = consumer
            .fetch_metadata(None, timeout)
            .map_err(|e| e.to_string())?;
        Ok(md.brokers().len())
    })
    .await
    .map_err(ApiError::internal)?;
    match result {
        Ok(n) if n > 0 => Ok(()),
        Ok(_) => Err(ApiError::invalid_field(
            field,
            format!("the Kafka cluster at {endpoint} answered without any brokers"),
        )),
        Err(e) => Err(ApiError::invalid_field(
            field,
            format!(
                "the Kafka cluster at {endpoint} did not answer a metadata request within {} ms \
                 (check {field} and spec.credentials): {e}",
                timeout.as_millis()
            ),
        )),
    }
}

fn seal(state: &AppState, secret: &BTreeMap<String, String>) -> Result<Option<String>, ApiError> {
    if secret.is_empty() {
        return Ok(None);
    }
    let raw = serde_json::to_string(secret).map_err(ApiError::internal)?;
    Ok(Some(state.secrets.encrypt(&raw)))
}

#[utoipa::path(
    post,
    path = "/cmk/v2/clusters",
    operation_id = "createCmkV2Cluster",
    tag = "Clusters (cmk/v2)",
    summary = "Register a Kafka cluster",
    description = "Registers an existing Kafka cluster in `spec.environment` (EnvironmentAdmin or above). \
The cluster must answer a metadata request with the given endpoint and credentials: when it does not, \
the answer is a 400 naming `spec.kafka_bootstrap_endpoint` with the client's error. The password is \
sealed at rest and never returned. Counts against the cluster quota (402).",
    request_body = crate::api::schemas::ClusterRequest,
    responses(
        (status = 202, description = "The registered cluster", body = crate::api::schemas::Cluster),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 402, response = crate::api::schemas::QuotaExceeded),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(body): ApiJson<ClusterBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec = body.spec()?;
    let env = spec_environment(&spec)?;
    visible_environment(&state, &who, &env).await?;
    authz::require(
        &state.pool,
        &who,
        ENV_ADMIN,
        Target::env(&env),
        "register clusters in this environment",
    )
    .await?;
    let name = spec.display_name.clone().ok_or_else(|| {
        ApiError::invalid_field("spec.display_name", "spec.display_name is required")
    })?;
    check_display_name("spec.display_name", &name)?;
    let (endpoint, scheme) =
        parse_endpoint(spec.kafka_bootstrap_endpoint.as_deref().unwrap_or(""))?;
    let (plain, secret) = connection(scheme, spec.credentials.as_ref())?;
    state
        .access
        .quotas
        .check_clusters(&state.pool, &who.org_id, &env)
        .await?;
    let mut all = plain.clone();
    all.extend(secret.clone());
    check_reachable(&endpoint, all, state.access.cluster_check_timeout).await?;
    let sealed = seal(&state, &secret)?;
    let c = tenancy::create_cluster(
        &state.pool,
        NewCluster {
            org_id: &who.org_id,
            environment_id: &env,
            display_name: &name,
            bootstrap_endpoint: &endpoint,
            client_properties: &plain,
            secret_properties: sealed.as_deref(),
        },
    )
    .await?;
    tracing::info!(cluster = %c.id, env = %env, endpoint = %endpoint, "cluster registered");
    Ok((
        StatusCode::ACCEPTED,
        Json(cluster_json(&state.public_url, &c)),
    ))
}

#[utoipa::path(
    patch,
    path = "/cmk/v2/clusters/{id}",
    operation_id = "updateCmkV2Cluster",
    tag = "Clusters (cmk/v2)",
    summary = "Change a Kafka cluster",
    description = "CloudClusterAdmin or above. `spec.environment.id` is required; other fields change \
only when given. A new endpoint or new credentials are checked like a registration.",
    params(("id" = String, Path, description = "The cluster's id, `lkc-…`")),
    request_body = crate::api::schemas::ClusterRequest,
    responses(
        (status = 200, description = "The changed cluster", body = crate::api::schemas::Cluster),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ClusterBody>,
) -> Result<Json<Value>, ApiError> {
    let spec = body.spec()?;
    let env = spec_environment(&spec)?;
    let mut c = visible_cluster(&state, &who, &env, &id).await?;
    authz::require(
        &state.pool,
        &who,
        CLUSTER_ADMIN,
        Target::cluster(&env, &id),
        "update this cluster",
    )
    .await?;
    if let Some(name) = &spec.display_name {
        check_display_name("spec.display_name", name)?;
        c.display_name = name.clone();
    }
    let connection_changed = spec.kafka_bootstrap_endpoint.is_some() || spec.credentials.is_some();
    if connection_changed {
        let (endpoint, scheme) = match &spec.kafka_bootstrap_endpoint {
            Some(e) => parse_endpoint(e)?,
            None => (c.bootstrap_endpoint.clone(), None),
        };
        let (plain, secret) = match &spec.credentials {
            Some(cred) => connection(scheme, Some(cred))?,
            None => {
                // Same credentials, new endpoint.
                let mut plain = c.client_properties.0.clone();
                if let Some(s) = scheme {
                    plain.insert("security.protocol".into(), s);
                }
                let secret = match &c.secret_properties {
                    Some(s) => serde_json::from_str(&state.secrets.decrypt(s)?)
                        .map_err(ApiError::internal)?,
                    None => BTreeMap::new(),
                };
                (plain, secret)
            }
        };
        let mut all = plain.clone();
        all.extend(secret.clone());
        check_reachable(&endpoint, all, state.access.cluster_check_timeout).await?;
        c.bootstrap_endpoint = endpoint;
        c.client_properties = sqlx::types::Json(plain);
        c.secret_properties = seal(&state, &secret)?;
    }
    let c = tenancy::update_cluster(&state.pool, &c)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("cluster {id} not found")))?;
    Ok(Json(cluster_json(&state.public_url, &c)))
}

#[utoipa::path(
    delete,
    path = "/cmk/v2/clusters/{id}",
    operation_id = "deleteCmkV2Cluster",
    tag = "Clusters (cmk/v2)",
    summary = "Unregister a Kafka cluster",
    description = "CloudClusterAdmin or above. A cluster that still holds connectors is refused with 409.",
    params(
        ("id" = String, Path, description = "The cluster's id, `lkc-…`"),
        ("environment" = String, Query, description = "The cluster's environment, `env-…`"),
    ),
    responses(
        (status = 204, description = "Unregistered (the Kafka cluster itself is untouched)"),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        (status = 409, response = crate::api::schemas::Conflict),
        crate::api::schemas::CommonErrors,
    )
)]
async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<ClusterQuery>,
) -> Result<StatusCode, ApiError> {
    let env = q.environment()?;
    visible_cluster(&state, &who, env, &id).await?;
    authz::require(
        &state.pool,
        &who,
        CLUSTER_ADMIN,
        Target::cluster(env, &id),
        "delete this cluster",
    )
    .await?;
    match tenancy::delete_cluster(&state.pool, &who.org_id, &id).await? {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::not_found(format!("cluster {id} not found"))),
        Err(n) => Err(ApiError::conflict_state(format!(
            "cluster {id} still holds {n} connector(s); delete them first"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_parsed() {
        assert_eq!(
            parse_endpoint("SASL_SSL://b1:9092, b2:9093").unwrap(),
            ("b1:9092,b2:9093".into(), Some("SASL_SSL".into()))
        );
        assert_eq!(
            parse_endpoint("127.0.0.1:9092").unwrap(),
            ("127.0.0.1:9092".into(), None)
        );
        for bad in ["", "host", "host:0", "http://x:1", "a b:1", "h:1/x"] {
            let e = parse_endpoint(bad).unwrap_err();
            assert_eq!(
                e.field.as_deref(),
                Some("spec.kafka_bootstrap_endpoint"),
                "{bad}"
            );
        }
    }

    #[test]
    fn sasl_needs_user_and_password_which_is_kept_apart() {
        let c = Credentials {
            security_protocol: Some("sasl_ssl".into()),
            sasl_mechanism: Some("SCRAM-SHA-512".into()),
            username: Some("u".into()),
            password: Some("p".into()),
        };
        let (plain, secret) = connection(None, Some(&c)).unwrap();
        assert_eq!(plain["security.protocol"], "SASL_SSL");
        assert_eq!(plain["sasl.username"], "u");
        assert!(!plain.contains_key("sasl.password"));
        assert_eq!(secret["sasl.password"], "p");
        let no_pass = Credentials {
            password: None,
            ..c
        };
        assert!(connection(None, Some(&no_pass)).is_err());
    }
}
