//! `/iam/v2/api-keys`. A key without `spec.resource` is a cloud key acting
//! for its owner across the organization; a key whose `spec.resource` is a
//! cluster is a resource key that reaches only that cluster. The secret is
//! in the create answer only and stored as an argon2 hash.
//!
//! | Method | Path | Success |
//! | --- | --- | --- |
//! | GET | `/iam/v2/api-keys?spec.owner=&spec.resource=` | 200 (never secrets) |
//! | POST | `/iam/v2/api-keys` | 202 with `spec.secret` |
//! | GET / PATCH / DELETE | `/iam/v2/api-keys/{id}` | 200 / 200 / 204 (the key stops working at once) |
//!
//! OrganizationAdmins manage every key of the organization; other callers
//! manage their own keys with a cloud key or token.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::service_accounts::encode;
use super::{admin_or_self, api_key_json, page_of, param, query_pairs};
use crate::api::json::ApiJson;
use crate::api::v2;
use crate::api::AppState;
use crate::auth::api_keys::hash_secret_async;
use crate::auth::authz::Scope;
use crate::auth::{Credential, Principal};
use crate::error::ApiError;
use crate::ids;
use crate::store::iam::{self, KeyFilter, NewApiKey};
use crate::store::tenancy;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iam/v2/api-keys", get(list).post(create))
        .route(
            "/iam/v2/api-keys/{id}",
            get(read).patch(update).delete(delete),
        )
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("API key {id} not found"))
}

/// Resource keys may not manage keys (a resource key minting a cloud key
/// would escape its cluster).
fn no_resource_key(who: &Principal, what: &str) -> Result<(), ApiError> {
    if who.credential == Credential::ResourceKey {
        return Err(ApiError::forbidden(format!(
            "a resource API key may not {what}; use a cloud API key"
        )));
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/iam/v2/api-keys",
    operation_id = "listIamV2ApiKeys",
    tag = "API Keys (iam/v2)",
    summary = "List API keys",
    description = "OrganizationAdmins see all of the organization's keys; other callers their own. Secrets are never listed.",
    params(
        ("spec.owner" = Option<String>, Query, description = "Only keys of this owner, `sa-…` or `u-…`"),
        ("spec.resource" = Option<String>, Query, description = "Only resource keys of this cluster, `lkc-…`"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of API keys", body = crate::api::schemas::ApiKeyList),
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
    let only = admin_or_self(&state, &who).await?;
    let owner = param(&pairs, "spec.owner");
    let resource = param(&pairs, "spec.resource");
    let (rows, total) = iam::list_api_keys(
        &state.pool,
        &who.org_id,
        &KeyFilter {
            only_owner: only.as_deref(),
            owner,
            resource,
        },
        page.after(),
        size,
    )
    .await?;
    let last = rows.last().map(|k| k.id.clone());
    let data = rows
        .iter()
        .map(|k| api_key_json(&state.public_url, k))
        .collect();
    let mut filters = vec![];
    if let Some(o) = owner {
        filters.push(format!("spec.owner={}", encode(o)));
    }
    if let Some(r) = resource {
        filters.push(format!("spec.resource={}", encode(r)));
    }
    let mut base = format!("{}/iam/v2/api-keys", state.public_url);
    if !filters.is_empty() {
        base = format!("{base}?{}", filters.join("&"));
    }
    Ok(Json(v2::list_page(
        "iam/v2",
        "ApiKeyList",
        &base,
        data,
        last,
        size,
        total,
    )))
}

#[utoipa::path(
    get,
    path = "/iam/v2/api-keys/{id}",
    operation_id = "getIamV2ApiKey",
    tag = "API Keys (iam/v2)",
    summary = "Read an API key",
    description = "Never the secret.",
    params(("id" = String, Path, description = "The key id")),
    responses(
        (status = 200, description = "The API key", body = crate::api::schemas::ApiKey),
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
    let k = iam::get_api_key(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(api_key_json(&state.public_url, &k)))
}

#[derive(Debug, Default, Deserialize)]
struct Ref {
    id: Option<String>,
    environment: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Spec {
    display_name: Option<String>,
    description: Option<String>,
    owner: Option<Ref>,
    resource: Option<Ref>,
}

#[derive(Debug, Deserialize)]
struct Body {
    spec: Option<Spec>,
}

fn check_text(field: &str, v: &Option<String>) -> Result<(), ApiError> {
    if v.as_ref()
        .is_some_and(|s| s.chars().count() > 512 || s.chars().any(char::is_control))
    {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be at most 512 characters without control characters"),
        ));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/iam/v2/api-keys",
    operation_id = "createIamV2ApiKey",
    tag = "API Keys (iam/v2)",
    summary = "Create an API key",
    description = "A cloud key (no `spec.resource`) acts for its owner across the organization; a resource \
key (`spec.resource` a cluster) reaches only that cluster. The secret is in this answer only and is \
stored as an argon2 hash. OrganizationAdmins create keys for anyone; others only for themselves, and \
never with a resource key (403).",
    request_body = crate::api::schemas::ApiKeyCreate,
    responses(
        (status = 202, description = "The new key with its secret", body = crate::api::schemas::ApiKeyCreated),
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
    ApiJson(body): ApiJson<Body>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    no_resource_key(&who, "create API keys")?;
    let spec = body
        .spec
        .ok_or_else(|| ApiError::invalid_field("spec", "field \"spec\" is required"))?;
    check_text("spec.display_name", &spec.display_name)?;
    check_text("spec.description", &spec.description)?;
    let owner = spec
        .owner
        .as_ref()
        .and_then(|o| o.id.clone())
        .filter(|o| !o.is_empty())
        .ok_or_else(|| ApiError::invalid_field("spec.owner.id", "spec.owner.id is required"))?;
    let only = admin_or_self(&state, &who).await?;
    if let Some(me) = &only {
        if &owner != me {
            return Err(ApiError::forbidden(format!(
                "User:{me} may create API keys only for itself; creating keys for {owner} needs OrganizationAdmin"
            )));
        }
    }
    if !iam::principal_exists(&state.pool, &who.org_id, &owner).await? {
        return Err(ApiError::invalid_field(
            "spec.owner.id",
            format!("service account or user {owner} not found"),
        ));
    }
    let resource = match spec.resource.as_ref().and_then(|r| r.id.clone()) {
        None => None,
        Some(cluster) => {
            let env = spec.resource.as_ref().and_then(|r| r.environment.clone());
            let scope = Scope::read(&who);
            let c = tenancy::get_cluster_scoped(&state.pool, &scope, env.as_deref(), &cluster)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "spec.resource.id",
                        format!("cluster {cluster} not found"),
                    )
                })?;
            Some(c.id)
        }
    };
    state
        .access
        .quotas
        .check_api_keys(&state.pool, &who.org_id)
        .await?;
    let id = ids::api_key();
    let secret = ids::api_secret();
    let hash = hash_secret_async(secret.clone()).await?;
    iam::create_api_key(
        &state.pool,
        NewApiKey {
            id: &id,
            org_id: &who.org_id,
            owner_id: &owner,
            resource_id: resource.as_deref(),
            secret_hash: &hash,
            display_name: spec.display_name.as_deref().unwrap_or(""),
            description: spec.description.as_deref().unwrap_or(""),
        },
    )
    .await?;
    let k = iam::get_api_key(&state.pool, &who.org_id, None, &id)
        .await?
        .ok_or_else(|| ApiError::internal("api key vanished after creation"))?;
    tracing::info!(key = %id, owner = %owner, resource = ?resource, "API key created");
    let mut body = api_key_json(&state.public_url, &k);
    body["spec"]["secret"] = json!(secret);
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[derive(Debug, Deserialize)]
struct PatchSpec {
    display_name: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PatchBody {
    spec: Option<PatchSpec>,
}

#[utoipa::path(
    patch,
    path = "/iam/v2/api-keys/{id}",
    operation_id = "updateIamV2ApiKey",
    tag = "API Keys (iam/v2)",
    summary = "Change an API key's name or description",
    params(("id" = String, Path, description = "The key id")),
    request_body = crate::api::schemas::ApiKeyUpdate,
    responses(
        (status = 200, description = "The changed key", body = crate::api::schemas::ApiKey),
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
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let only = admin_or_self(&state, &who).await?;
    iam::get_api_key(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    no_resource_key(&who, "update API keys")?;
    let spec = body
        .spec
        .ok_or_else(|| ApiError::invalid_field("spec", "field \"spec\" is required"))?;
    check_text("spec.display_name", &spec.display_name)?;
    check_text("spec.description", &spec.description)?;
    iam::update_api_key(
        &state.pool,
        &who.org_id,
        only.as_deref(),
        &id,
        spec.display_name.as_deref(),
        spec.description.as_deref(),
    )
    .await?;
    let k = iam::get_api_key(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(api_key_json(&state.public_url, &k)))
}

#[utoipa::path(
    delete,
    path = "/iam/v2/api-keys/{id}",
    operation_id = "deleteIamV2ApiKey",
    tag = "API Keys (iam/v2)",
    summary = "Delete an API key",
    description = "The key stops working at once (401 on its next use), on every replica.",
    params(("id" = String, Path, description = "The key id")),
    responses(
        (status = 204, description = "Deleted"),
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
    iam::get_api_key(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    no_resource_key(&who, "delete API keys")?;
    if !iam::delete_api_key(&state.pool, &who.org_id, only.as_deref(), &id).await? {
        return Err(not_found(&id));
    }
    state.keys.forget(&id);
    tracing::info!(key = %id, "API key deleted");
    Ok(StatusCode::NO_CONTENT)
}
