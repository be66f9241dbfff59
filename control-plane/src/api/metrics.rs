//! `GET /metrics`: Prometheus text exposition of the fleet and reconciler
//! state, read from Postgres at scrape time so any replica answers the same.
//! Operator credentials only (Prometheus `basic_auth`); tenants get 404.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};

use super::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::store;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Writes one metric family: HELP, TYPE and samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, v) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "Operations",
    summary = "Prometheus metrics",
    description = "Prometheus text exposition of the fleet and reconciler state, read from Postgres at \
scrape time so any replica answers the same. Operator credentials only (Prometheus `basic_auth`); \
tenants get 404.",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, response = crate::api::schemas::NotFound),
        crate::api::schemas::CommonErrors,
    )
)]
async fn metrics(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<impl IntoResponse, ApiError> {
    if !who.operator {
        return Err(ApiError::not_found("not found"));
    }
    let fleet = store::metrics::fleet(&state.pool).await?;
    let mut out = String::new();
    family(
        &mut out,
        "tributary_reconciler_leader_epoch",
        "gauge",
        "Epoch of the current reconciler leader (fences stale leaders).",
        &fleet
            .leader
            .iter()
            .map(|(e, h)| (format!("holder=\"{}\"", label(h)), *e as f64))
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "tributary_workers",
        "gauge",
        "Registered workers by lease and draining state.",
        &fleet
            .workers
            .iter()
            .map(|(draining, live, n)| {
                (
                    format!(
                        "draining=\"{draining}\",lease=\"{}\"",
                        if *live { "live" } else { "expired" }
                    ),
                    *n as f64,
                )
            })
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "tributary_tasks",
        "gauge",
        "Tasks by reported state.",
        &fleet
            .tasks
            .iter()
            .map(|(s, n)| (format!("state=\"{}\"", label(s.as_str())), *n as f64))
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "tributary_connectors",
        "gauge",
        "Connectors by target state.",
        &fleet
            .connectors
            .iter()
            .map(|(s, n)| (format!("target_state=\"{}\"", label(s.as_str())), *n as f64))
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "tributary_connector_records",
        "gauge",
        "Records produced (source) or delivered (sink) by the running task incarnations.",
        &fleet
            .records
            .iter()
            .map(|(id, kind, n)| {
                (
                    format!("connector=\"{}\",type=\"{}\"", label(id), label(kind)),
                    *n as f64,
                )
            })
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "tributary_scaling_decisions_total",
        "counter",
        "Scaling decisions taken by the reconciler.",
        &[(String::new(), fleet.scaling_decisions as f64)],
    );
    family(
        &mut out,
        "tributary_workers_desired",
        "gauge",
        "Worker count asked of the provider by the last scaling decision, per worker pool.",
        &fleet
            .desired_workers
            .iter()
            .map(|(p, n)| {
                (
                    format!("pool=\"{}\"", label(p.as_deref().unwrap_or("shared"))),
                    f64::from(*n),
                )
            })
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "tributary_task_restart_attempts",
        "gauge",
        "Automatic restart attempts of currently failing tasks.",
        &[(String::new(), fleet.restart_attempts as f64)],
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
