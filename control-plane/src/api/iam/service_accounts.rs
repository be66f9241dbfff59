//! `/iam/v2/service-accounts`.
//!
//! | Method | Path | Success |
//! | --- | --- | --- |
//! | GET | `/iam/v2/service-accounts?display_name=…(repeatable)` | 200 |
//! | POST | `/iam/v2/service-accounts` | 201 (OrganizationAdmin; 409 when the name is taken) |
//! | GET / PATCH / DELETE | `/iam/v2/service-accounts/{id}` | 200 / 200 / 204 (DELETE removes its keys and bindings) |

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::{admin_or_self, page_of, query_pairs, service_account_json};
use crate::api::json::ApiJson;
use crate::api::org::check_display_name;
use crate::api::v2;
use crate::api::AppState;
use crate::auth::{authz, Principal};
use crate::error::ApiError;
use crate::store::iam;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iam/v2/service-accounts", get(list).post(create))
        .route(
            "/iam/v2/service-accounts/{id}",
            get(read).patch(update).delete(delete),
        )
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("service account {id} not found"))
}

#[utoipa::path(
    get,
    path = "/iam/v2/service-accounts",
    operation_id = "listIamV2ServiceAccounts",
    tag = "Service Accounts (iam/v2)",
    summary = "List service accounts",
    description = "OrganizationAdmins see all of the organization's; other callers only themselves.",
    params(
        ("display_name" = Option<Vec<String>>, Query, explode, description = "Only these names (repeatable)"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of service accounts", body = crate::api::schemas::ServiceAccountList),
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
    let names: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "display_name")
        .map(|(_, v)| v.clone())
        .collect();
    let only = admin_or_self(&state, &who).await?;
    let (rows, total) = iam::list_service_accounts(
        &state.pool,
        &who.org_id,
        only.as_deref(),
        &names,
        page.after(),
        size,
    )
    .await?;
    let last = rows.last().map(|s| s.id.clone());
    let data = rows
        .iter()
        .map(|s| service_account_json(&state.public_url, s))
        .collect();
    let mut base = format!("{}/iam/v2/service-accounts", state.public_url);
    for (i, n) in names.iter().enumerate() {
        base.push(if i == 0 { '?' } else { '&' });
        base.push_str(&format!("display_name={}", encode(n)));
    }
    Ok(Json(v2::list_page(
        "iam/v2",
        "ServiceAccountList",
        &base,
        data,
        last,
        size,
        total,
    )))
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/iam/v2/service-accounts/{id}",
    operation_id = "getIamV2ServiceAccount",
    tag = "Service Accounts (iam/v2)",
    summary = "Read a service account",
    params(("id" = String, Path, description = "The service account's id, `sa-…`")),
    responses(
        (status = 200, description = "The service account", body = crate::api::schemas::ServiceAccount),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let only = admin_or_self(&state, &who).await?;
    let sa = iam::get_service_account(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(service_account_json(&state.public_url, &sa)))
}

#[derive(Debug, Deserialize)]
struct Body {
    display_name: Option<String>,
    description: Option<String>,
}

fn check_description(d: &Option<String>) -> Result<(), ApiError> {
    if d.as_ref().is_some_and(|d| d.chars().count() > 512) {
        return Err(ApiError::invalid_field(
            "description",
            "description must be at most 512 characters",
        ));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/iam/v2/service-accounts",
    operation_id = "createIamV2ServiceAccount",
    tag = "Service Accounts (iam/v2)",
    summary = "Create a service account",
    description = "OrganizationAdmin only. `display_name` is required and unique in the organization (409).",
    request_body = crate::api::schemas::ServiceAccountRequest,
    responses(
        (status = 201, description = "The new service account", body = crate::api::schemas::ServiceAccount),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 402, response = crate::api::schemas::QuotaExceeded),
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
    authz::require_org_admin(&state.pool, &who, "create service accounts").await?;
    let name = req
        .display_name
        .ok_or_else(|| ApiError::invalid_field("display_name", "display_name is required"))?;
    check_display_name("display_name", &name)?;
    check_description(&req.description)?;
    if iam::service_account_name_taken(&state.pool, &who.org_id, &name, None).await? {
        return Err(ApiError::conflict(format!(
            "a service account named \"{name}\" already exists"
        )));
    }
    state
        .access
        .quotas
        .check_service_accounts(&state.pool, &who.org_id)
        .await?;
    let sa = iam::create_service_account(
        &state.pool,
        &who.org_id,
        &name,
        req.description.as_deref().unwrap_or(""),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(service_account_json(&state.public_url, &sa)),
    ))
}

#[utoipa::path(
    patch,
    path = "/iam/v2/service-accounts/{id}",
    operation_id = "updateIamV2ServiceAccount",
    tag = "Service Accounts (iam/v2)",
    summary = "Change a service account",
    description = "OrganizationAdmin only; only the given fields change.",
    params(("id" = String, Path, description = "The service account's id, `sa-…`")),
    request_body = crate::api::schemas::ServiceAccountRequest,
    responses(
        (status = 200, description = "The changed service account", body = crate::api::schemas::ServiceAccount),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        (status = 409, response = crate::api::schemas::Conflict),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Body>,
) -> Result<Json<Value>, ApiError> {
    let only = admin_or_self(&state, &who).await?;
    iam::get_service_account(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    authz::require_org_admin(&state.pool, &who, "update service accounts").await?;
    if let Some(n) = &req.display_name {
        check_display_name("display_name", n)?;
        if iam::service_account_name_taken(&state.pool, &who.org_id, n, Some(&id)).await? {
            return Err(ApiError::conflict(format!(
                "a service account named \"{n}\" already exists"
            )));
        }
    }
    check_description(&req.description)?;
    let sa = iam::update_service_account(
        &state.pool,
        &who.org_id,
        &id,
        req.display_name.as_deref(),
        req.description.as_deref(),
    )
    .await?
    .ok_or_else(|| not_found(&id))?;
    Ok(Json(service_account_json(&state.public_url, &sa)))
}

#[utoipa::path(
    delete,
    path = "/iam/v2/service-accounts/{id}",
    operation_id = "deleteIamV2ServiceAccount",
    tag = "Service Accounts (iam/v2)",
    summary = "Delete a service account",
    description = "OrganizationAdmin only. Its API keys (which stop working at once) and role bindings go with it. \
A service account cannot delete itself (400).",
    params(("id" = String, Path, description = "The service account's id, `sa-…`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let only = admin_or_self(&state, &who).await?;
    iam::get_service_account(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    authz::require_org_admin(&state.pool, &who, "delete service accounts").await?;
    if id == who.principal_id {
        return Err(ApiError::invalid_field(
            "id",
            "a service account cannot delete itself; use another administrator",
        ));
    }
    let keys = iam::delete_principal(&state.pool, &who.org_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    for k in keys {
        state.keys.forget(&k);
    }
    Ok(StatusCode::NO_CONTENT)
}
