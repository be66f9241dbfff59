//! `/org/v2`: organizations and their environments.
//!
//! | Method | Path | Success | Who |
//! | --- | --- | --- | --- |
//! | GET | `/org/v2/organizations` | 200 | anyone: their own organization (the operator: all) |
//! | POST | `/org/v2/organizations` | 201 | the operator's OrganizationAdmins: onboards a tenant |
//! | GET / PATCH | `/org/v2/organizations/{id}` | 200 | own org; PATCH: OrganizationAdmin |
//! | GET | `/org/v2/environments` | 200 | environments the caller is bound to (at, above or below) |
//! | POST | `/org/v2/environments` | 201 + `Location` | OrganizationAdmin |
//! | GET / PATCH / DELETE | `/org/v2/environments/{id}` | 200 / 200 / 204 | visible; PATCH and DELETE: EnvironmentAdmin or above |
//!
//! DELETE of an environment that still holds clusters or connectors is a 409.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::iam::{api_key_json, role_binding_json, service_account_json};
use super::json::ApiJson;
use super::v2::{self, PageParams};
use super::AppState;
use crate::auth::authz::{self, Scope, Target, ENV_ADMIN, ORGANIZATION_ADMIN, ORG_ADMIN};
use crate::auth::{api_keys::hash_secret_async, Principal};
use crate::error::ApiError;
use crate::ids;
use crate::store::iam::{self, NewApiKey};
use crate::store::tenancy::{self, Environment, Organization};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/org/v2/organizations",
            get(list_organizations).post(create_organization),
        )
        .route(
            "/org/v2/organizations/{id}",
            get(read_organization).patch(update_organization),
        )
        .route("/org/v2/environments", get(list).post(create))
        .route(
            "/org/v2/environments/{id}",
            get(read).patch(update).delete(delete),
        )
}

pub fn organization_json(base: &str, o: &Organization) -> Value {
    json!({
        "api_version": "org/v2",
        "kind": "Organization",
        "id": o.id,
        "metadata": v2::object_meta(
            format!("{base}/org/v2/organizations/{}", o.id),
            v2::org_crn(&o.id),
            &o.created_at,
            &o.updated_at,
        ),
        "display_name": o.display_name,
        "jit_enabled": false,
    })
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

/// Confluent's organization name rule.
fn check_org_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    if n == 0 || n > 31 || name.chars().any(|c| "<>#%'*^`{|}~\"".contains(c)) {
        return Err(ApiError::invalid_field(
            "display_name",
            "display_name must be 1 to 31 characters, none of <>#%'*^`{|}~\"",
        ));
    }
    Ok(())
}

pub(crate) fn check_display_name(field: &str, name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be 1 to 64 characters without control characters"),
        ));
    }
    Ok(())
}

/// The operator sees every organization; everyone else only their own.
fn org_visibility(who: &Principal) -> Option<&str> {
    if who.operator && who.resource_id.is_none() {
        None
    } else {
        Some(who.org_id.as_str())
    }
}

#[utoipa::path(
    get,
    path = "/org/v2/organizations",
    operation_id = "listOrgV2Organizations",
    tag = "Organizations (org/v2)",
    summary = "List organizations",
    description = "The caller's own organization; the operator's OrganizationAdmins see every organization.",
    params(
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of organizations", body = crate::api::schemas::OrganizationList),
        (status = 400, response = crate::api::schemas::BadRequest),
        crate::api::schemas::CommonErrors,
    )
)]
async fn list_organizations(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(page): Query<PageParams>,
) -> Result<Json<Value>, ApiError> {
    let size = page.size()?;
    let only = if org_visibility(&who).is_none() && authz::is_org_admin(&state.pool, &who).await? {
        None
    } else {
        Some(who.org_id.as_str())
    };
    let (rows, total) = tenancy::list_organizations(&state.pool, only, page.after(), size).await?;
    let last = rows.last().map(|o| o.id.clone());
    let data = rows
        .iter()
        .map(|o| organization_json(&state.public_url, o))
        .collect();
    Ok(Json(v2::list_page(
        "org/v2",
        "OrganizationList",
        &format!("{}/org/v2/organizations", state.public_url),
        data,
        last,
        size,
        total,
    )))
}

#[utoipa::path(
    get,
    path = "/org/v2/organizations/{id}",
    operation_id = "getOrgV2Organization",
    tag = "Organizations (org/v2)",
    summary = "Read an organization",
    params(("id" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The organization", body = crate::api::schemas::Organization),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn read_organization(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let only = if org_visibility(&who).is_none() && authz::is_org_admin(&state.pool, &who).await? {
        None
    } else {
        Some(who.org_id.as_str())
    };
    let o = tenancy::get_organization(&state.pool, only, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("organization {id} not found")))?;
    Ok(Json(organization_json(&state.public_url, &o)))
}

#[derive(Debug, Deserialize)]
struct OrganizationPatch {
    display_name: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/org/v2/organizations/{id}",
    operation_id = "updateOrgV2Organization",
    tag = "Organizations (org/v2)",
    summary = "Rename an organization",
    description = "OrganizationAdmin of that organization only.",
    params(("id" = String, Path, description = "The organization's id")),
    request_body = crate::api::schemas::OrganizationUpdate,
    responses(
        (status = 200, description = "The renamed organization", body = crate::api::schemas::Organization),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn update_organization(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OrganizationPatch>,
) -> Result<Json<Value>, ApiError> {
    if id != who.org_id {
        return Err(ApiError::not_found(format!("organization {id} not found")));
    }
    authz::require_org_admin(&state.pool, &who, "update the organization").await?;
    let name = req
        .display_name
        .ok_or_else(|| ApiError::invalid_field("display_name", "display_name is required"))?;
    check_org_name(&name)?;
    let o = tenancy::update_organization(&state.pool, &id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("organization {id} not found")))?;
    Ok(Json(organization_json(&state.public_url, &o)))
}

#[derive(Debug, Deserialize)]
struct NewOrganization {
    display_name: Option<String>,
    /// Display name of the first OrganizationAdmin service account.
    admin_display_name: Option<String>,
}

/// Onboards a tenant: the organization, its first OrganizationAdmin service
/// account and a cloud API key for it (the secret is in this answer only).
#[utoipa::path(
    post,
    path = "/org/v2/organizations",
    operation_id = "createOrgV2Organization",
    tag = "Organizations (org/v2)",
    summary = "Onboard a tenant",
    description = "Creates an organization together with its first OrganizationAdmin: a service account, \
its role binding and a cloud API key, whose secret is in this answer only. Only the operator's \
OrganizationAdmins may call it (others: 403).",
    request_body = crate::api::schemas::OrganizationCreate,
    responses(
        (status = 201, description = "The organization and its first administrator", body = crate::api::schemas::OrganizationOnboarded,
            headers(("Location" = String, description = "The organization's URL"))),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn create_organization(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(req): ApiJson<NewOrganization>,
) -> Result<(StatusCode, HeaderMap, Json<Value>), ApiError> {
    if !who.operator {
        return Err(ApiError::forbidden(
            "only the operator's OrganizationAdmins may create organizations",
        ));
    }
    authz::require_org_admin(&state.pool, &who, "create organizations").await?;
    let name = req
        .display_name
        .ok_or_else(|| ApiError::invalid_field("display_name", "display_name is required"))?;
    check_org_name(&name)?;
    let admin_name = req
        .admin_display_name
        .unwrap_or_else(|| format!("{name}-admin"));
    check_display_name("admin_display_name", &admin_name)?;

    let key_id = ids::api_key();
    let secret = ids::api_secret();
    let hash = hash_secret_async(secret.clone()).await?;

    let mut tx = state.pool.begin().await?;
    let org = tenancy::create_organization(&mut tx, &name).await?;
    let sa = iam::create_service_account(
        &mut *tx,
        &org.id,
        &admin_name,
        "First OrganizationAdmin, created with the organization",
    )
    .await?;
    let rb = iam::create_role_binding(
        &mut *tx,
        &org.id,
        &format!("User:{}", sa.id),
        ORGANIZATION_ADMIN,
        &v2::org_crn(&org.id),
    )
    .await?;
    iam::create_api_key(
        &mut *tx,
        NewApiKey {
            id: &key_id,
            org_id: &org.id,
            owner_id: &sa.id,
            resource_id: None,
            secret_hash: &hash,
            display_name: "bootstrap",
            description: "Cloud API key of the first OrganizationAdmin",
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(org = %org.id, admin = %sa.id, key = %key_id, "organization onboarded");

    let key = iam::get_api_key(&state.pool, &org.id, None, &key_id)
        .await?
        .ok_or_else(|| ApiError::internal("api key vanished after creation"))?;
    let base = &state.public_url;
    let mut key_json = api_key_json(base, &key);
    key_json["spec"]["secret"] = json!(secret);
    let mut body = organization_json(base, &org);
    body["bootstrap"] = json!({
        "service_account": service_account_json(base, &sa),
        "role_binding": role_binding_json(base, &rb),
        "api_key": key_json,
    });
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}/org/v2/organizations/{}", org.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(body)))
}

#[utoipa::path(
    get,
    path = "/org/v2/environments",
    operation_id = "listOrgV2Environments",
    tag = "Environments (org/v2)",
    summary = "List environments",
    description = "The environments the caller is bound to: at, above (the organization) or below (a cluster or connector in it).",
    params(
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of environments", body = crate::api::schemas::EnvironmentList),
        (status = 400, response = crate::api::schemas::BadRequest),
        crate::api::schemas::CommonErrors,
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(page): Query<PageParams>,
) -> Result<Json<Value>, ApiError> {
    let size = page.size()?;
    let (rows, total) =
        tenancy::list_environments_scoped(&state.pool, &Scope::read(&who), page.after(), size)
            .await?;
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

/// An environment the caller can see, or 404.
pub(crate) async fn visible_environment(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<Environment, ApiError> {
    tenancy::get_environment_scoped(&state.pool, &Scope::read(who), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("environment {id} not found")))
}

#[utoipa::path(
    get,
    path = "/org/v2/environments/{id}",
    operation_id = "getOrgV2Environment",
    tag = "Environments (org/v2)",
    summary = "Read an environment",
    params(("id" = String, Path, description = "The environment's id, `env-…`")),
    responses(
        (status = 200, description = "The environment", body = crate::api::schemas::Environment),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let env = visible_environment(&state, &who, &id).await?;
    Ok(Json(environment_json(&state.public_url, &env)))
}

#[derive(Debug, Deserialize)]
struct EnvironmentBody {
    display_name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    stream_governance_config: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/org/v2/environments",
    operation_id = "createOrgV2Environment",
    tag = "Environments (org/v2)",
    summary = "Create an environment",
    description = "OrganizationAdmin only. Counts against the organization's environment quota (402).",
    request_body = crate::api::schemas::EnvironmentRequest,
    responses(
        (status = 201, description = "The new environment", body = crate::api::schemas::Environment,
            headers(("Location" = String, description = "The environment's URL"))),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 402, response = crate::api::schemas::QuotaExceeded),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    ApiJson(req): ApiJson<EnvironmentBody>,
) -> Result<(StatusCode, HeaderMap, Json<Value>), ApiError> {
    authz::require(
        &state.pool,
        &who,
        ORG_ADMIN,
        Target::org(),
        "create environments",
    )
    .await?;
    let name = req
        .display_name
        .ok_or_else(|| ApiError::invalid_field("display_name", "display_name is required"))?;
    check_display_name("display_name", &name)?;
    state
        .access
        .quotas
        .check_environments(&state.pool, &who.org_id)
        .await?;
    let env = tenancy::create_environment(&state.pool, &who.org_id, &name).await?;
    let body = environment_json(&state.public_url, &env);
    let mut headers = HeaderMap::new();
    if let Some(v) = body["metadata"]["self"]
        .as_str()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(body)))
}

#[utoipa::path(
    patch,
    path = "/org/v2/environments/{id}",
    operation_id = "updateOrgV2Environment",
    tag = "Environments (org/v2)",
    summary = "Rename an environment",
    description = "EnvironmentAdmin on the environment, or OrganizationAdmin.",
    params(("id" = String, Path, description = "The environment's id, `env-…`")),
    request_body = crate::api::schemas::EnvironmentRequest,
    responses(
        (status = 200, description = "The renamed environment", body = crate::api::schemas::Environment),
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
    ApiJson(req): ApiJson<EnvironmentBody>,
) -> Result<Json<Value>, ApiError> {
    visible_environment(&state, &who, &id).await?;
    authz::require(
        &state.pool,
        &who,
        ENV_ADMIN,
        Target::env(&id),
        "update this environment",
    )
    .await?;
    let name = req
        .display_name
        .ok_or_else(|| ApiError::invalid_field("display_name", "display_name is required"))?;
    check_display_name("display_name", &name)?;
    let env = tenancy::update_environment(&state.pool, &who.org_id, &id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("environment {id} not found")))?;
    Ok(Json(environment_json(&state.public_url, &env)))
}

#[utoipa::path(
    delete,
    path = "/org/v2/environments/{id}",
    operation_id = "deleteOrgV2Environment",
    tag = "Environments (org/v2)",
    summary = "Delete an environment",
    description = "EnvironmentAdmin on the environment, or OrganizationAdmin. An environment that still \
holds clusters or connectors is refused with 409 saying how many; delete them first.",
    params(("id" = String, Path, description = "The environment's id, `env-…`")),
    responses(
        (status = 204, description = "Deleted"),
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
) -> Result<StatusCode, ApiError> {
    visible_environment(&state, &who, &id).await?;
    authz::require(
        &state.pool,
        &who,
        ENV_ADMIN,
        Target::env(&id),
        "delete this environment",
    )
    .await?;
    match tenancy::delete_environment(&state.pool, &who.org_id, &id).await? {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::not_found(format!("environment {id} not found"))),
        Err(h) => Err(ApiError::conflict_state(format!(
            "environment {id} still holds {} cluster(s) and {} connector(s); delete them first",
            h.clusters, h.connectors
        ))),
    }
}
