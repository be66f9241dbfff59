//! Schema Registry storage: schemas (numbered per environment), subject
//! versions and compatibility levels. Every query filters on the
//! organization and the environment, so one tenant's registry never shows
//! another's rows.
//!
//! Registrations of one environment are serialized by a transaction-scoped
//! advisory lock ([`lock_environment`]): ids and version numbers are
//! `max + 1`, and the compatibility check must see the versions it is
//! checking against.

use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};

/// One stored schema.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct StoredSchema {
    pub id: i32,
    pub schema_type: String,
    pub schema_text: String,
    pub refs: Json<serde_json::Value>,
}

/// One version of a subject with its schema.
#[derive(Debug, Clone, FromRow, PartialEq)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: i32,
    pub deleted: bool,
    pub id: i32,
    pub schema_type: String,
    pub schema_text: String,
    pub refs: Json<serde_json::Value>,
}

const VERSION_COLS: &str =
    "v.subject, v.version, v.deleted, s.id, s.schema_type, s.schema_text, s.refs";
const VERSION_FROM: &str = "sr_subject_versions v JOIN sr_schemas s
     ON s.environment_id = v.environment_id AND s.id = v.schema_id";

/// The organization an environment belongs to (for worker calls, which
/// name only the environment).
pub async fn environment_org(pool: &PgPool, env: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT org_id FROM environments WHERE id = $1")
        .bind(env)
        .fetch_optional(pool)
        .await
}

/// Serializes registrations (and deletes) in one environment until the
/// transaction ends.
pub async fn lock_environment(conn: &mut PgConnection, env: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('tributary-sr:' || $1, 0))")
        .bind(env)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn schema_by_id(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    id: i32,
) -> Result<Option<StoredSchema>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, schema_type, schema_text, refs FROM sr_schemas
         WHERE org_id = $1 AND environment_id = $2 AND id = $3",
    )
    .bind(org)
    .bind(env)
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn schema_by_fingerprint(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    fingerprint: &str,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM sr_schemas WHERE org_id = $1 AND environment_id = $2 AND fingerprint = $3",
    )
    .bind(org)
    .bind(env)
    .bind(fingerprint)
    .fetch_optional(conn)
    .await
}

/// Stores a new schema under the next id of the environment.
pub async fn insert_schema(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    schema_type: &str,
    text: &str,
    fingerprint: &str,
    refs: &serde_json::Value,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO sr_schemas (org_id, environment_id, id, schema_type, schema_text, fingerprint, refs)
         SELECT $1, $2, COALESCE(MAX(id), 0) + 1, $3, $4, $5, $6
         FROM sr_schemas WHERE environment_id = $2
         RETURNING id",
    )
    .bind(org)
    .bind(env)
    .bind(schema_type)
    .bind(text)
    .bind(fingerprint)
    .bind(Json(refs))
    .fetch_one(conn)
    .await
}

/// Adds a version to a subject: one past its highest (deleted ones too).
pub async fn insert_version(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
    schema_id: i32,
) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO sr_subject_versions (org_id, environment_id, subject, version, schema_id)
         SELECT $1, $2, $3, COALESCE(MAX(version), 0) + 1, $4
         FROM sr_subject_versions WHERE environment_id = $2 AND subject = $3
         RETURNING version",
    )
    .bind(org)
    .bind(env)
    .bind(subject)
    .bind(schema_id)
    .fetch_one(conn)
    .await
}

/// A subject's versions, oldest first; soft-deleted ones only when asked.
pub async fn versions(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
    include_deleted: bool,
) -> Result<Vec<SubjectVersion>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {VERSION_COLS} FROM {VERSION_FROM}
         WHERE v.org_id = $1 AND v.environment_id = $2 AND v.subject = $3 AND ($4 OR NOT v.deleted)
         ORDER BY v.version"
    ))
    .bind(org)
    .bind(env)
    .bind(subject)
    .bind(include_deleted)
    .fetch_all(conn)
    .await
}

/// Subjects with at least one version (live ones, or soft-deleted too),
/// sorted, optionally by name prefix.
pub async fn subjects(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    prefix: &str,
    include_deleted: bool,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT subject FROM sr_subject_versions
         WHERE org_id = $1 AND environment_id = $2 AND ($4 OR NOT deleted)
           AND starts_with(subject, $3)
         ORDER BY subject",
    )
    .bind(org)
    .bind(env)
    .bind(prefix)
    .bind(include_deleted)
    .fetch_all(conn)
    .await
}

/// Soft-deletes every live version of a subject; returns their numbers.
pub async fn soft_delete_subject(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
) -> Result<Vec<i32>, sqlx::Error> {
    let mut v: Vec<i32> = sqlx::query_scalar(
        "UPDATE sr_subject_versions SET deleted = true
         WHERE org_id = $1 AND environment_id = $2 AND subject = $3 AND NOT deleted
         RETURNING version",
    )
    .bind(org)
    .bind(env)
    .bind(subject)
    .fetch_all(conn)
    .await?;
    v.sort_unstable();
    Ok(v)
}

/// Removes a subject's (soft-deleted) versions and its compatibility
/// override for good; returns the version numbers removed. Schemas stay:
/// their ids may be in records already.
pub async fn hard_delete_subject(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
) -> Result<Vec<i32>, sqlx::Error> {
    let mut v: Vec<i32> = sqlx::query_scalar(
        "DELETE FROM sr_subject_versions
         WHERE org_id = $1 AND environment_id = $2 AND subject = $3 AND deleted
         RETURNING version",
    )
    .bind(org)
    .bind(env)
    .bind(subject)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM sr_config WHERE org_id = $1 AND environment_id = $2 AND subject = $3")
        .bind(org)
        .bind(env)
        .bind(subject)
        .execute(conn)
        .await?;
    v.sort_unstable();
    Ok(v)
}

/// The compatibility level set for `subject` (empty: the environment-wide
/// level); `None` when none is set.
pub async fn compatibility(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT compatibility FROM sr_config WHERE org_id = $1 AND environment_id = $2 AND subject = $3",
    )
    .bind(org)
    .bind(env)
    .bind(subject)
    .fetch_optional(conn)
    .await
}

/// Sets a compatibility level (`subject` empty: the environment-wide one).
pub async fn set_compatibility(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
    level: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sr_config (org_id, environment_id, subject, compatibility) VALUES ($1, $2, $3, $4)
         ON CONFLICT (environment_id, subject) DO UPDATE SET compatibility = $4, updated_at = now()",
    )
    .bind(org)
    .bind(env)
    .bind(subject)
    .bind(level)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a compatibility level; returns the one removed.
pub async fn delete_compatibility(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    subject: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM sr_config WHERE org_id = $1 AND environment_id = $2 AND subject = $3
         RETURNING compatibility",
    )
    .bind(org)
    .bind(env)
    .bind(subject)
    .fetch_optional(conn)
    .await
}

/// The live subject versions that use schema `id`.
pub async fn versions_of_schema(
    conn: &mut PgConnection,
    org: &str,
    env: &str,
    id: i32,
) -> Result<Vec<(String, i32)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT subject, version FROM sr_subject_versions
         WHERE org_id = $1 AND environment_id = $2 AND schema_id = $3 AND NOT deleted
         ORDER BY subject, version",
    )
    .bind(org)
    .bind(env)
    .bind(id)
    .fetch_all(conn)
    .await
}
