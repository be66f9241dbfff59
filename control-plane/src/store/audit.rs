//! The audit log: one row per mutating API call (who, what, when, outcome).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};

pub struct AuditRecord<'a> {
    pub org_id: &'a str,
    pub principal: &'a str,
    pub credential: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub action: &'a str,
    pub status: u16,
    pub outcome: &'a str,
    pub error_code: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

pub async fn record(pool: &PgPool, r: &AuditRecord<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (org_id, principal, credential, method, path, action, status, outcome,
                                   error_code, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(r.org_id)
    .bind(r.principal)
    .bind(r.credential)
    .bind(r.method)
    .bind(r.path)
    .bind(r.action)
    .bind(i32::from(r.status))
    .bind(r.outcome)
    .bind(r.error_code)
    .bind(r.request_id)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub org_id: String,
    pub at: DateTime<Utc>,
    pub principal: String,
    pub credential: String,
    pub method: String,
    pub path: String,
    pub action: String,
    pub status: i32,
    pub outcome: String,
    pub error_code: Option<String>,
    pub request_id: Option<String>,
}

pub struct EventFilter<'a> {
    pub principal: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub since: Option<DateTime<Utc>>,
}

/// Newest first; `before` is the id the page starts below.
pub async fn list(
    pool: &PgPool,
    org: &str,
    f: &EventFilter<'_>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEvent>, i64), sqlx::Error> {
    let filter = "org_id = $1 AND ($2::text IS NULL OR principal = $2) AND ($3::text IS NULL OR outcome = $3)
                  AND ($4::timestamptz IS NULL OR at >= $4)";
    let rows = sqlx::query_as(&format!(
        "SELECT id, org_id, at, principal, credential, method, path, action, status, outcome, error_code,
                request_id
         FROM audit_events WHERE {filter} AND ($5::bigint IS NULL OR id < $5) ORDER BY id DESC LIMIT $6"
    ))
    .bind(org)
    .bind(f.principal)
    .bind(f.outcome)
    .bind(f.since)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM audit_events WHERE {filter}"))
        .bind(org)
        .bind(f.principal)
        .bind(f.outcome)
        .bind(f.since)
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}
