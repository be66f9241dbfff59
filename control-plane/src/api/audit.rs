//! `GET /audit/v1/events`: the organization's audit log, newest first, for
//! OrganizationAdmins (others: 403).
//!
//! Every mutating call (POST, PUT, PATCH, DELETE) that passed
//! authentication is recorded with who (`principal`, `credential`: the API
//! key id or `token`), what (`method`, `path`, `action` = method and route
//! template), when (`time`) and how it ended (`status`, `outcome`:
//! SUCCESS, DENIED for 401/403/404/429, FAILURE otherwise; `error_code`).
//! Console sign-ins (`POST /auth/v1/login`) of known users are recorded
//! too, failed ones as DENIED. Calls refused before authentication and
//! calls refused by the rate limiter are not recorded (they would let a
//! flood write the log).
//!
//! Query parameters: `page_size` (1–100, default 10), `page_token` (from
//! `metadata.next`), `principal` (`User:sa-…`), `outcome`, `since` (RFC 3339).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::iam::{page_of, param, query_pairs};
use super::v2;
use super::AppState;
use crate::auth::{authz, Principal};
use crate::error::ApiError;
use crate::store::audit::{self, AuditEvent, EventFilter};

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit/v1/events", get(list))
}

pub fn event_json(e: &AuditEvent) -> Value {
    let mut v = json!({
        "api_version": "audit/v1",
        "kind": "AuditEvent",
        "id": e.id.to_string(),
        "time": v2::timestamp(&e.at),
        "principal": e.principal,
        "credential": e.credential,
        "method": e.method,
        "path": e.path,
        "action": e.action,
        "status": e.status,
        "outcome": e.outcome,
    });
    if let Some(c) = &e.error_code {
        v["error_code"] = json!(c);
    }
    if let Some(r) = &e.request_id {
        v["request_id"] = json!(r);
    }
    v
}

#[utoipa::path(
    get,
    path = "/audit/v1/events",
    operation_id = "listAuditV1Events",
    tag = "Audit",
    summary = "Read the audit log",
    description = "The organization's audit log, newest first; OrganizationAdmins only (others: 403). \
Every mutating call (POST, PUT, PATCH, DELETE) that passed authentication is recorded, and console \
sign-ins of known users. Calls refused before authentication or by the rate limiter are not.",
    params(
        ("principal" = Option<String>, Query, description = "Only events of `User:<id>`"),
        ("outcome" = Option<String>, Query, description = "Only `SUCCESS`, `DENIED` or `FAILURE`"),
        ("since" = Option<String>, Query, format = DateTime, description = "Only events at or after this RFC 3339 time"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size (default 10)"),
        ("page_token" = Option<String>, Query, description = "From `metadata.next` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events", body = crate::api::schemas::AuditEventList),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        crate::api::schemas::CommonErrors,
    )
)]
async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    authz::require_org_admin(&state.pool, &who, "read the audit log").await?;
    let pairs = query_pairs(raw.as_deref());
    let page = page_of(&pairs)?;
    let size = page.size()?;
    let before = match page.after() {
        None => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::invalid_field("page_token", "page_token is not one this API issued")
        })?),
    };
    let since = match param(&pairs, "since") {
        None => None,
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| ApiError::invalid_field("since", "since must be an RFC 3339 time"))?
                .with_timezone(&Utc),
        ),
    };
    let principal = param(&pairs, "principal");
    let outcome = param(&pairs, "outcome");
    let (rows, total) = audit::list(
        &state.pool,
        &who.org_id,
        &EventFilter {
            principal,
            outcome,
            since,
        },
        before,
        size,
    )
    .await?;
    let last = rows.last().map(|e| e.id.to_string());
    let data = rows.iter().map(event_json).collect();
    let mut filters = vec![];
    for (k, v) in [
        ("principal", principal),
        ("outcome", outcome),
        ("since", param(&pairs, "since")),
    ] {
        if let Some(v) = v {
            filters.push(format!("{k}={}", super::iam::service_accounts::encode(v)));
        }
    }
    let mut base = format!("{}/audit/v1/events", state.public_url);
    if !filters.is_empty() {
        base = format!("{base}?{}", filters.join("&"));
    }
    Ok(Json(v2::list_page(
        "audit/v1",
        "AuditEventList",
        &base,
        data,
        last,
        size,
        total,
    )))
}
