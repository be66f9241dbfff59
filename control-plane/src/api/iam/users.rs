//! `/iam/v2/users` (people who sign in to the console) and
//! `POST /auth/v1/login`, which trades email and password for a Bearer
//! token (HS256, signed by the control plane).
//!
//! | Method | Path | Success |
//! | --- | --- | --- |
//! | GET | `/iam/v2/users` | 200 |
//! | POST | `/iam/v2/users` (`email`, `full_name`, `password`; OrganizationAdmin) | 201 (409: email taken) |
//! | GET / PATCH / DELETE | `/iam/v2/users/{id}` | 200 / 200 / 204 |
//! | POST | `/auth/v1/login` (`email`, `password`; no credentials) | 200 `{access_token, token_type, expires_in}`; 401; 429 after repeated failures |
//!
//! A user acts with the role bindings of `User:u-…`, like a service account.

use std::sync::OnceLock;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{admin_or_self, user_json};
use crate::api::json::ApiJson;
use crate::api::v2::{self, PageParams};
use crate::api::AppState;
use crate::auth::api_keys::{hash_secret, hash_secret_async, verify_hash_async};
use crate::auth::{authz, Credential, Principal};
use crate::error::ApiError;
use crate::store::iam;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/iam/v2/users", get(list).post(create))
        .route("/iam/v2/users/{id}", get(read).patch(update).delete(delete))
}

pub fn public_routes() -> Router<AppState> {
    Router::new().route("/auth/v1/login", post(login))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("user {id} not found"))
}

const MIN_PASSWORD: usize = 12;

fn check_password(p: &str) -> Result<(), ApiError> {
    if p.chars().count() < MIN_PASSWORD || p.len() > 1024 {
        return Err(ApiError::invalid_field(
            "password",
            format!("password must be {MIN_PASSWORD} to 1024 characters"),
        ));
    }
    Ok(())
}

async fn hash(p: String) -> Result<String, ApiError> {
    hash_secret_async(p).await
}

#[utoipa::path(
    get,
    path = "/iam/v2/users",
    operation_id = "listIamV2Users",
    tag = "Users (iam/v2)",
    summary = "List users",
    description = "OrganizationAdmins see all of the organization's; other callers only themselves.",
    params(
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of users", body = crate::api::schemas::UserList),
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
    let only = admin_or_self(&state, &who).await?;
    let (rows, total) = iam::list_users(
        &state.pool,
        &who.org_id,
        only.as_deref(),
        page.after(),
        size,
    )
    .await?;
    let last = rows.last().map(|u| u.id.clone());
    let data = rows
        .iter()
        .map(|u| user_json(&state.public_url, u))
        .collect();
    Ok(Json(v2::list_page(
        "iam/v2",
        "UserList",
        &format!("{}/iam/v2/users", state.public_url),
        data,
        last,
        size,
        total,
    )))
}

#[utoipa::path(
    get,
    path = "/iam/v2/users/{id}",
    operation_id = "getIamV2User",
    tag = "Users (iam/v2)",
    summary = "Read a user",
    params(("id" = String, Path, description = "The user's id, `u-…`")),
    responses(
        (status = 200, description = "The user", body = crate::api::schemas::User),
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
    let u = iam::get_user(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(user_json(&state.public_url, &u)))
}

#[derive(Debug, Deserialize)]
struct NewUser {
    email: Option<String>,
    full_name: Option<String>,
    /// Omit for a user who signs in only through single sign-on.
    password: Option<String>,
}

#[utoipa::path(
    post,
    path = "/iam/v2/users",
    operation_id = "createIamV2User",
    tag = "Users (iam/v2)",
    summary = "Create a user",
    description = "OrganizationAdmin only. Emails are unique across organizations (409). A user acts with \
the role bindings of `User:u-…`, like a service account.",
    request_body = crate::api::schemas::UserCreate,
    responses(
        (status = 201, description = "The new user", body = crate::api::schemas::User),
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
    ApiJson(req): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    authz::require_org_admin(&state.pool, &who, "create users").await?;
    let email = req
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| {
            e.len() <= 254
                && e.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        })
        .ok_or_else(|| ApiError::invalid_field("email", "a valid email is required"))?;
    let full_name = req.full_name.unwrap_or_default();
    if full_name.chars().count() > 128 || full_name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "full_name",
            "full_name must be at most 128 characters",
        ));
    }
    let password_hash = match req.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let u = iam::create_user(
        &state.pool,
        &who.org_id,
        &email,
        &full_name,
        password_hash.as_deref(),
    )
    .await?
    // Emails are unique across organizations (they sign in without naming
    // one); say only that it is taken.
    .ok_or_else(|| ApiError::conflict("a user with this email already exists"))?;
    Ok((StatusCode::CREATED, Json(user_json(&state.public_url, &u))))
}

#[derive(Debug, Deserialize)]
struct UserPatch {
    full_name: Option<String>,
    password: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/iam/v2/users/{id}",
    operation_id = "updateIamV2User",
    tag = "Users (iam/v2)",
    summary = "Change a user's name or password",
    description = "Users may change their own; OrganizationAdmins anyone's. Not with a resource API key (403).",
    params(("id" = String, Path, description = "The user's id, `u-…`")),
    request_body = crate::api::schemas::UserUpdate,
    responses(
        (status = 200, description = "The changed user", body = crate::api::schemas::User),
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
    ApiJson(req): ApiJson<UserPatch>,
) -> Result<Json<Value>, ApiError> {
    let only = admin_or_self(&state, &who).await?;
    iam::get_user(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    // Users may change their own name and password; admins anyone's.
    if who.credential == Credential::ResourceKey {
        return Err(ApiError::forbidden(
            "a resource API key may not update users",
        ));
    }
    if let Some(n) = &req.full_name {
        if n.chars().count() > 128 || n.chars().any(char::is_control) {
            return Err(ApiError::invalid_field(
                "full_name",
                "full_name must be at most 128 characters",
            ));
        }
    }
    let password_hash = match req.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let u = iam::update_user(
        &state.pool,
        &who.org_id,
        &id,
        req.full_name.as_deref(),
        password_hash.as_deref(),
    )
    .await?
    .ok_or_else(|| not_found(&id))?;
    Ok(Json(user_json(&state.public_url, &u)))
}

#[utoipa::path(
    delete,
    path = "/iam/v2/users/{id}",
    operation_id = "deleteIamV2User",
    tag = "Users (iam/v2)",
    summary = "Delete a user",
    description = "OrganizationAdmin only. The user's API keys and role bindings go with it.",
    params(("id" = String, Path, description = "The user's id, `u-…`")),
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
    iam::get_user(&state.pool, &who.org_id, only.as_deref(), &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    authz::require_org_admin(&state.pool, &who, "delete users").await?;
    let keys = iam::delete_principal(&state.pool, &who.org_id, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    for k in keys {
        state.keys.forget(&k);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct Login {
    email: Option<String>,
    password: Option<String>,
}

/// A real hash to check unknown emails against, so that they cost as much
/// as a wrong password (no timing oracle on who has an account).
fn decoy() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_secret("decoy-password").unwrap_or_default())
        .clone()
}

#[utoipa::path(
    post,
    path = "/auth/v1/login",
    operation_id = "login",
    tag = "Sign-in",
    summary = "Sign in to the console",
    description = "Trades a user's email and password for a Bearer token (HS256, signed by the control \
plane) to use as `Authorization: Bearer <token>`. Needs no credentials. Unknown emails and wrong \
passwords are the same 401 and take the same time; repeated failures for one email are refused with \
429 for a while.",
    request_body = crate::api::schemas::LoginRequest,
    security(()),
    responses(
        (status = 200, description = "A token", body = crate::api::schemas::LoginResponse),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 401, response = crate::api::schemas::Unauthorized),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        (status = 429, response = crate::api::schemas::TooManyRequests),
        (status = 500, response = crate::api::schemas::InternalError),
    )
)]
async fn login(State(state): State<AppState>, ApiJson(req): ApiJson<Login>) -> Response {
    let (Some(email), Some(password)) = (req.email, req.password) else {
        return ApiError::bad_request("email and password are required").into_response();
    };
    let guard_key = format!("login:{}", email.trim().to_lowercase());
    if let Some(secs) = state.access.failures.locked_for(&guard_key) {
        return state.access.failures.locked_response(secs);
    }
    let user = match iam::user_by_email(&state.pool, email.trim()).await {
        Ok(u) => u,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let hash = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(decoy);
    let ok = verify_hash_async(password, hash).await;
    let user = match user {
        Some(u) if ok && u.password_hash.is_some() => u,
        other => {
            state.access.failures.failed(&guard_key);
            if let Some(u) = other {
                audit_login(&state, &u, 401).await;
            }
            return ApiError::unauthenticated().into_response();
        }
    };
    audit_login(&state, &user, 200).await;
    match state.access.tokens.issue(&user.id, &user.org_id) {
        Ok((token, ttl)) => {
            tracing::info!(user = %user.id, "console sign-in");
            Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ttl,
            }))
            .into_response()
        }
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Sign-ins of known users go to their organization's audit log.
async fn audit_login(state: &AppState, u: &iam::User, status: u16) {
    let rec = crate::store::audit::AuditRecord {
        org_id: &u.org_id,
        principal: &format!("User:{}", u.id),
        credential: "password",
        method: "POST",
        path: "/auth/v1/login",
        action: "POST /auth/v1/login",
        status,
        outcome: if status == 200 { "SUCCESS" } else { "DENIED" },
        error_code: (status != 200).then_some("user_unauthenticated"),
        request_id: None,
    };
    if let Err(e) = crate::store::audit::record(&state.pool, &rec).await {
        tracing::error!(error = %e, "audit log write failed");
    }
}
