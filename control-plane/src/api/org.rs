//! `/org/v2/environments`: the environments of the caller's organization.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::v2::{self, PageParams};
use super::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::tenancy::{self, Environment};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/org/v2/environments", get(list))
        .route("/org/v2/environments/{id}", get(read))
}

pub fn environment_json(base: &str, e: &Environment) -> Value {
    json!({
        "api_version": "org/v2",
        "kind": "Environment",
        "id": e.id,
        "metadata": v2::object_meta(
            format!("{base}/org/v2/environments/{}", e.id),
            v2::env_crn(&e.org_id, &e.id),
            &e.created_at,
            &e.updated_at,
        ),
        "display_name": e.display_name,
        "stream_governance_config": { "package": "ESSENTIALS" },
    })
}

async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(page): Query<PageParams>,
) -> Result<Json<Value>, ApiError> {
    let size = page.size()?;
    let rows = tenancy::list_environments(&state.pool, &who.org_id, page.after(), size).await?;
    let total = tenancy::count_environments(&state.pool, &who.org_id).await?;
    let last = rows.last().map(|e| e.id.clone());
    let data = rows
        .iter()
        .map(|e| environment_json(&state.public_url, e))
        .collect();
    let base = format!("{}/org/v2/environments", state.public_url);
    Ok(Json(v2::list_page(
        "org/v2",
        "EnvironmentList",
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
) -> Result<Json<Value>, ApiError> {
    let env = tenancy::get_environment(&state.pool, &who.org_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("environment {id} not found")))?;
    Ok(Json(environment_json(&state.public_url, &env)))
}
