//! `/iam/v2/role-bindings`: roles granted to principals on CRN patterns.
//!
//! | Method | Path | Success |
//! | --- | --- | --- |
//! | GET | `/iam/v2/role-bindings?crn_pattern=&principal=&role_name=` | 200 (`crn_pattern`: at or below) |
//! | POST | `/iam/v2/role-bindings` | 201 (OrganizationAdmin; 409 for a duplicate) |
//! | GET | `/iam/v2/role-bindings/{id}` | 200 |
//! | DELETE | `/iam/v2/role-bindings/{id}` | 200 with the deleted binding |
//!
//! Roles: OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin,
//! ConnectManager, Operator and DeveloperRead (read-only). CRN patterns:
//! `crn://confluent.cloud/organization=<org>[/environment=<env>[/cloud-cluster=<lkc>[/connector=<name>]]]`,
//! the last name optionally ending in `*`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::service_accounts::encode;
use super::{page_of, param, query_pairs, role_binding_json};
use crate::api::json::ApiJson;
use crate::api::v2;
use crate::api::AppState;
use crate::auth::authz::{self, check_crn_pattern, ROLES};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store::iam::{self, BindingFilter};
use crate::store::tenancy;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iam/v2/role-bindings", get(list).post(create))
        .route("/iam/v2/role-bindings/{id}", get(read).delete(delete))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("role binding {id} not found"))
}

/// None for an OrganizationAdmin; otherwise the caller's own `User:…`.
async fn only_principal(state: &AppState, who: &Principal) -> Result<Option<String>, ApiError> {
    Ok(if authz::is_org_admin(&state.pool, who).await? {
        None
    } else {
        Some(who.binding_principal())
    })
}

#[utoipa::path(
    get,
    path = "/iam/v2/role-bindings",
    operation_id = "listIamV2RoleBindings",
    tag = "Role Bindings (iam/v2)",
    summary = "List role bindings",
    description = "OrganizationAdmins see all of the organization's; other callers their own.",
    params(
        ("crn_pattern" = Option<String>, Query, description = "Only bindings at or below this CRN"),
        ("principal" = Option<String>, Query, description = "Only bindings of `User:<id>`"),
        ("role_name" = Option<String>, Query, description = "Only bindings of this role"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of role bindings", body = crate::api::schemas::RoleBindingList),
        (status = 400, response = crate::api::schemas::BadRequest),
        crate::api::schemas::CommonErrors,
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let page = page_of(&pairs)?;
    let size = page.size()?;
    let only = only_principal(&state, &who).await?;
    let principal = param(&pairs, "principal");
    let role_name = param(&pairs, "role_name");
    let crn_pattern = param(&pairs, "crn_pattern");
    let (rows, total) = iam::list_role_bindings(
        &state.pool,
        &who.org_id,
        &BindingFilter {
            only_principal: only.as_deref(),
            principal,
            role_name,
            crn_pattern,
        },
        page.after(),
        size,
    )
    .await?;
    let last = rows.last().map(|b| b.id.clone());
    let data = rows
        .iter()
        .map(|b| role_binding_json(&state.public_url, b))
        .collect();
    let filters: Vec<String> = [
        ("crn_pattern", crn_pattern),
        ("principal", principal),
        ("role_name", role_name),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
    .collect();
    let mut base = format!("{}/iam/v2/role-bindings", state.public_url);
    if !filters.is_empty() {
        base = format!("{base}?{}", filters.join("&"));
    }
    Ok(Json(v2::list_page(
        "iam/v2",
        "RoleBindingList",
        &base,
        data,
        last,
        size,
        total,
    )))
}

#[utoipa::path(
    get,
    path = "/iam/v2/role-bindings/{id}",
    operation_id = "getIamV2RoleBinding",
    tag = "Role Bindings (iam/v2)",
    summary = "Read a role binding",
    params(("id" = String, Path, description = "The binding's id, `rb-…`")),
    responses(
        (status = 200, description = "The role binding", body = crate::api::schemas::RoleBinding),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let only = only_principal(&state, &who).await?;
    let b = iam::get_role_binding(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(role_binding_json(&state.public_url, &b)))
}

#[derive(Debug, Deserialize)]
struct Body {
    principal: Option<String>,
    role_name: Option<String>,
    crn_pattern: Option<String>,
}

#[utoipa::path(
    post,
    path = "/iam/v2/role-bindings",
    operation_id = "createIamV2RoleBinding",
    tag = "Role Bindings (iam/v2)",
    summary = "Grant a role",
    description = "OrganizationAdmin only. Roles: OrganizationAdmin, EnvironmentAdmin, CloudClusterAdmin, \
ConnectManager, Operator, DeveloperRead (read-only). The CRN pattern must be in the caller's \
organization: `crn://confluent.cloud/organization=<org>[/environment=<env>[/cloud-cluster=<lkc>[/connector=<name>]]]`, \
the last name optionally ending in `*`; named environments and clusters must exist. A duplicate is a 409.",
    request_body = crate::api::schemas::RoleBindingCreate,
    responses(
        (status = 201, description = "The new binding", body = crate::api::schemas::RoleBinding),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 409, response = crate::api::schemas::Conflict),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(req): ApiJson<Body>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authz::require_org_admin(&state.pool, &who, "create role bindings").await?;
    let principal = req
        .principal
        .ok_or_else(|| ApiError::invalid_field("principal", "principal is required"))?;
    let pid = principal.strip_prefix("User:").ok_or_else(|| {
        ApiError::invalid_field(
            "principal",
            "principal must be User:<service account or user id>",
        )
    })?;
    if !iam::principal_exists(&state.pool, &who.org_id, pid).await? {
        return Err(ApiError::invalid_field(
            "principal",
            format!("service account or user {pid} not found"),
        ));
    }
    let role = req
        .role_name
        .ok_or_else(|| ApiError::invalid_field("role_name", "role_name is required"))?;
    if !ROLES.contains(&role.as_str()) {
        return Err(ApiError::invalid_field(
            "role_name",
            format!("unknown role \"{role}\"; use one of {}", ROLES.join(", ")),
        ));
    }
    let crn = req
        .crn_pattern
        .ok_or_else(|| ApiError::invalid_field("crn_pattern", "crn_pattern is required"))?;
    let scope = check_crn_pattern(&who.org_id, &crn)
        .map_err(|e| ApiError::invalid_field("crn_pattern", e))?;
    // Named (not wildcard) environments and clusters must exist here.
    if let Some(env) = scope.env.as_deref().filter(|e| !e.ends_with('*')) {
        if tenancy::get_environment(&state.pool, &who.org_id, env)
            .await?
            .is_none()
        {
            return Err(ApiError::invalid_field(
                "crn_pattern",
                format!("environment {env} not found"),
            ));
        }
        if let Some(c) = scope.cluster.as_deref().filter(|c| !c.ends_with('*')) {
            if tenancy::get_cluster(&state.pool, &who.org_id, env, c)
                .await?
                .is_none()
            {
                return Err(ApiError::invalid_field(
                    "crn_pattern",
                    format!("cluster {c} not found in environment {env}"),
                ));
            }
        }
    }
    if iam::find_role_binding(&state.pool, &who.org_id, &principal, &role, &crn)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "{principal} already has {role} on {crn}"
        )));
    }
    let b = iam::create_role_binding(&state.pool, &who.org_id, &principal, &role, &crn).await?;
    tracing::info!(binding = %b.id, principal = %principal, role = %role, crn = %crn, "role binding created");
    Ok((
        StatusCode::CREATED,
        Json(role_binding_json(&state.public_url, &b)),
    ))
}

#[utoipa::path(
    delete,
    path = "/iam/v2/role-bindings/{id}",
    operation_id = "deleteIamV2RoleBinding",
    tag = "Role Bindings (iam/v2)",
    summary = "Revoke a role",
    description = "OrganizationAdmin only. Answers with the deleted binding.",
    params(("id" = String, Path, description = "The binding's id, `rb-…`")),
    responses(
        (status = 200, description = "The deleted binding", body = crate::api::schemas::RoleBinding),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let only = only_principal(&state, &who).await?;
    iam::get_role_binding(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    authz::require_org_admin(&state.pool, &who, "delete role bindings").await?;
    let b = iam::delete_role_binding(&state.pool, &who.org_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(role_binding_json(&state.public_url, &b)))
}
