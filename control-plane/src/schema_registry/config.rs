//! Compatibility levels: each subject's own, else the registry's, else
//! BACKWARD.

use sqlx::{PgConnection, PgPool};

use super::{Registry, RegistryError, Result};
use crate::store::schemas as store;

/// The level of a registry where none was set.
pub const DEFAULT_COMPATIBILITY: &str = "BACKWARD";
pub const LEVELS: &[&str] = &[
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
];

/// The level that applies to a subject: its own, else the registry's,
/// else BACKWARD.
pub(super) async fn level_for(
    conn: &mut PgConnection,
    reg: &Registry,
    subject: &str,
) -> Result<String> {
    if let Some(l) = store::compatibility(conn, &reg.org_id, &reg.env_id, subject).await? {
        return Ok(l);
    }
    registry_level_in(conn, reg).await
}

async fn registry_level_in(conn: &mut PgConnection, reg: &Registry) -> Result<String> {
    Ok(store::compatibility(conn, &reg.org_id, &reg.env_id, "")
        .await?
        .unwrap_or_else(|| DEFAULT_COMPATIBILITY.to_string()))
}

/// The registry's level (of subjects without their own).
pub async fn registry_level(pool: &PgPool, reg: &Registry) -> Result<String> {
    let mut conn = pool.acquire().await?;
    registry_level_in(&mut conn, reg).await
}

/// The subject's own level; with `default_to_registry`, the registry's
/// when it has none.
pub async fn subject_level(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    default_to_registry: bool,
) -> Result<String> {
    let mut conn = pool.acquire().await?;
    match store::compatibility(&mut conn, &reg.org_id, &reg.env_id, subject).await? {
        Some(l) => Ok(l),
        None if default_to_registry => registry_level_in(&mut conn, reg).await,
        None => Err(RegistryError::NoSubjectLevel(subject.to_string())),
    }
}

/// Sets the level of `subject` (`""`: the registry's) to `level`, in any
/// case. Answers the level set.
pub async fn set_level(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    level: Option<&str>,
) -> Result<String> {
    let level = level
        .map(|l| l.trim().to_ascii_uppercase())
        .filter(|l| LEVELS.contains(&l.as_str()))
        .ok_or(RegistryError::InvalidLevel)?;
    let mut conn = pool.acquire().await?;
    store::set_compatibility(&mut conn, &reg.org_id, &reg.env_id, subject, &level).await?;
    Ok(level)
}

/// Removes the subject's own level; answers it. The subject follows the
/// registry's level again.
pub async fn delete_subject_level(pool: &PgPool, reg: &Registry, subject: &str) -> Result<String> {
    let mut conn = pool.acquire().await?;
    store::delete_compatibility(&mut conn, &reg.org_id, &reg.env_id, subject)
        .await?
        .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_string()))
}
