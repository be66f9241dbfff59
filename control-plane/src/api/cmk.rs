//! `/cmk/v2/clusters`: the Kafka clusters registered in an environment.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::v2;
use super::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::tenancy::{self, Cluster};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cmk/v2/clusters", get(list))
        .route("/cmk/v2/clusters/{id}", get(read))
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

pub fn cluster_json(base: &str, c: &Cluster) -> Value {
    let env_url = format!("{base}/org/v2/environments/{}", c.environment_id);
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
        "spec": {
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
        },
        "status": { "phase": "PROVISIONED" },
    })
}

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
    if tenancy::get_environment(&state.pool, &who.org_id, env)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found(format!("environment {env} not found")));
    }
    let rows = tenancy::list_clusters(&state.pool, &who.org_id, env, page.after(), size).await?;
    let total = tenancy::count_clusters(&state.pool, &who.org_id, env).await?;
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

async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<ClusterQuery>,
) -> Result<Json<Value>, ApiError> {
    let env = q.environment()?;
    let c = tenancy::get_cluster(&state.pool, &who.org_id, env, &id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("cluster {id} not found in environment {env}"))
        })?;
    Ok(Json(cluster_json(&state.public_url, &c)))
}
