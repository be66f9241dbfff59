//! `/ops/v1`: fleet state for the operator (workers with their leases and
//! tasks, the reconciler leader, recent scaling decisions) and worker pools
//! of organizations. Tenants get 404.
//!
//! | Method | Path | Who |
//! | --- | --- | --- |
//! | GET | `/ops/v1/workers` | operator |
//! | GET | `/ops/v1/reconciler` | operator |
//! | GET | `/ops/v1/organizations/{id}` | operator: the organization's worker pool |
//! | PATCH | `/ops/v1/organizations/{id}` | the operator's OrganizationAdmins: `{"dedicated_pool": "name" \| null}` |

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::json::ApiJson;
use super::v2::timestamp;
use super::AppState;
use crate::auth::{authz, Principal};
use crate::error::ApiError;
use crate::store::{ops, workers};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops/v1/workers", get(list_workers))
        .route("/ops/v1/reconciler", get(reconciler))
        .route(
            "/ops/v1/organizations/{id}",
            get(read_organization_pool).patch(update_organization_pool),
        )
}

/// What a worker pool may be called (it becomes part of Kubernetes names).
pub const POOL_NAME_RULE: &str = "a pool name is 1-40 lowercase letters, digits or '-', starting and ending with a letter or digit, and not 'shared' (the shared pool has no name)";

pub fn valid_pool_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=40).contains(&name.len())
        && name.chars().all(|c| alnum(c) || c == '-')
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name != "shared"
}

fn operator_only(who: &Principal) -> Result<(), ApiError> {
    if who.operator {
        Ok(())
    } else {
        Err(ApiError::not_found("not found"))
    }
}

#[utoipa::path(
    get,
    path = "/ops/v1/workers",
    operation_id = "listOpsV1Workers",
    tag = "Operations",
    summary = "List the data-plane workers",
    description = "Operator only (tenants: 404): every registered worker with its lease, pool and task count.",
    responses(
        (status = 200, description = "The workers", body = crate::api::schemas::WorkerList),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn list_workers(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let rows = workers::list(&state.pool).await?;
    let loads = ops::worker_loads(&state.pool).await?;
    let data: Vec<Value> = rows
        .iter()
        .map(|w| {
            let tasks = loads
                .iter()
                .find(|(id, _)| id == &w.id)
                .map(|(_, n)| *n)
                .unwrap_or(0);
            json!({
                "id": w.id,
                "capacity": w.capacity,
                "version": w.version,
                "registered_at": timestamp(&w.registered_at),
                "last_heartbeat": timestamp(&w.last_heartbeat),
                "lease_expires_at": timestamp(&w.lease_expires_at),
                "draining": w.draining,
                "pool": w.pool,
                "tasks": tasks,
            })
        })
        .collect();
    Ok(Json(json!({"kind": "WorkerList", "data": data})))
}

#[utoipa::path(
    get,
    path = "/ops/v1/reconciler",
    operation_id = "getOpsV1Reconciler",
    tag = "Operations",
    summary = "Read the reconciler's leader and recent scaling decisions",
    description = "Operator only (tenants: 404).",
    responses(
        (status = 200, description = "The leader and the last 20 scaling decisions", body = crate::api::schemas::ReconcilerState),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn reconciler(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let leader = ops::leader(&state.pool).await?;
    let events = ops::scaling_events(&state.pool, 20).await?;
    Ok(Json(json!({
        "leader": leader.map(|l| json!({"epoch": l.epoch, "holder": l.holder, "acquired_at": timestamp(&l.acquired_at)})),
        "scaling_events": events.iter().map(|e| json!({
            "at": timestamp(&e.at), "from": e.from_count, "to": e.to_count, "reason": e.reason, "pool": e.pool
        })).collect::<Vec<_>>(),
    })))
}

fn organization_pool_json(id: &str, display_name: &str, pool: Option<&str>) -> Value {
    json!({
        "kind": "OrganizationPool",
        "id": id,
        "display_name": display_name,
        "dedicated_pool": pool,
    })
}

#[utoipa::path(
    get,
    path = "/ops/v1/organizations/{id}",
    operation_id = "getOpsV1OrganizationPool",
    tag = "Operations",
    summary = "Read an organization's worker pool",
    description = "Operator only (tenants: 404).",
    params(("id" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The organization's pool", body = crate::api::schemas::OrganizationPool),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn read_organization_pool(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let row = ops::organization_pool(&state.pool, &id).await?;
    let (name, pool) = row.ok_or_else(|| ApiError::not_found("organization not found"))?;
    Ok(Json(organization_pool_json(&id, &name, pool.as_deref())))
}

/// Gives an organization a dedicated worker pool (its tasks then run only
/// on workers of that pool) or, with `null`, returns it to the shared pool.
/// Its tasks move at the next reconcile pass.
#[utoipa::path(
    patch,
    path = "/ops/v1/organizations/{id}",
    operation_id = "updateOpsV1OrganizationPool",
    tag = "Operations",
    summary = "Give an organization a dedicated worker pool",
    description = "The operator's OrganizationAdmins only (other tenants: 404). With a pool name the \
organization's tasks run only on workers of that pool; with `null` they return to the shared pool. \
The tasks move at the next reconcile pass.",
    params(("id" = String, Path, description = "The organization's id")),
    request_body = crate::api::schemas::OrganizationPoolUpdate,
    responses(
        (status = 200, description = "The organization's pool", body = crate::api::schemas::OrganizationPool),
        (status = 400, response = crate::api::schemas::BadRequest),
        (status = 403, response = crate::api::schemas::Forbidden),
        (status = 404, response = crate::api::schemas::NotFound),
        (status = 413, response = crate::api::schemas::PayloadTooLarge),
        crate::api::schemas::CommonErrors,
    )
)]
async fn update_organization_pool(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    authz::require_org_admin(&state.pool, &who, "change worker pools").await?;
    let fields = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
    if let Some(other) = fields.keys().find(|k| *k != "dedicated_pool") {
        return Err(ApiError::invalid_field(
            other.as_str(),
            format!("unknown field {other}: only dedicated_pool may be changed"),
        ));
    }
    let pool = match fields.get("dedicated_pool") {
        Some(Value::Null) => None,
        Some(Value::String(p)) if valid_pool_name(p) => Some(p.clone()),
        Some(_) => return Err(ApiError::invalid_field("dedicated_pool", POOL_NAME_RULE)),
        None => {
            return Err(ApiError::invalid_field(
                "dedicated_pool",
                "dedicated_pool is required: a pool name, or null for the shared pool",
            ))
        }
    };
    let mut tx = state.pool.begin().await?;
    let name = ops::set_organization_pool(&mut tx, &id, pool.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found("organization not found"))?;
    crate::store::notify_reconciler(&mut *tx, "worker pool changed").await?;
    tx.commit().await?;
    tracing::info!(org = %id, pool = pool.as_deref().unwrap_or("shared"), "organization worker pool set");
    Ok(Json(organization_pool_json(&id, &name, pool.as_deref())))
}
