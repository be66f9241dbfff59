//! Subjects and their versions: register a schema under a subject (when
//! its level allows it to follow the earlier versions), look one up, list,
//! read and delete.

use serde_json::json;
use sqlx::PgPool;

use super::compatibility::{checked_against, details, incompatibilities};
use super::references::{parse_input, SchemaInput};
use super::{config, Registry, RegistryError, Result};
use crate::store::schemas::{self as store, SubjectVersion};

/// A version of a subject as requests name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionId {
    /// The last one (`latest`, or `-1`).
    Latest,
    Number(i32),
}

impl VersionId {
    /// `latest`, `-1`, or a number from 1 to 2^31-1.
    pub fn parse(v: &str) -> Result<VersionId> {
        if v.eq_ignore_ascii_case("latest") || v == "-1" {
            return Ok(VersionId::Latest);
        }
        match v.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(VersionId::Number(n)),
            _ => Err(RegistryError::InvalidVersion(v.to_string())),
        }
    }
}

/// Version `v` of `versions` (in version order).
pub(super) fn pick(versions: &[SubjectVersion], v: VersionId) -> Option<&SubjectVersion> {
    match v {
        VersionId::Latest => versions.last(),
        VersionId::Number(n) => versions.iter().find(|sv| sv.version == n),
    }
}

/// Registers `input` as the next version of `subject` when it is
/// compatible with the earlier versions under the subject's level; answers
/// its id. The same schema registered again answers its existing id and
/// adds no version; a schema already registered under another subject of
/// the registry keeps its id.
pub async fn register(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    input: &SchemaInput,
) -> Result<i32> {
    let mut tx = pool.begin().await?;
    store::lock_environment(&mut tx, &reg.env_id).await?;
    let (parsed, refs) = parse_input(&mut tx, reg, input).await?;
    let versions = store::versions(&mut tx, &reg.org_id, &reg.env_id, subject, false).await?;
    let existing =
        store::schema_by_fingerprint(&mut tx, &reg.org_id, &reg.env_id, &parsed.fingerprint)
            .await?;
    if let Some(id) = existing {
        if versions.iter().any(|v| v.id == id) {
            return Ok(id);
        }
    }
    let level = config::level_for(&mut tx, reg, subject).await?;
    let against = checked_against(&level, &versions);
    let failures = incompatibilities(&mut tx, reg, &level, &parsed, &against).await?;
    if let Some((old, issues)) = failures.first() {
        return Err(RegistryError::Incompatible {
            subject: subject.to_string(),
            details: details(&level, old, issues).join(", "),
        });
    }
    let id = match existing {
        Some(id) => id,
        None => {
            let refs = serde_json::to_value(&refs).unwrap_or_else(|_| json!([]));
            store::insert_schema(
                &mut tx,
                &reg.org_id,
                &reg.env_id,
                parsed.schema_type.as_str(),
                &parsed.text,
                &parsed.fingerprint,
                &refs,
            )
            .await?
        }
    };
    let version = store::insert_version(&mut tx, &reg.org_id, &reg.env_id, subject, id).await?;
    tx.commit().await?;
    tracing::info!(
        environment = %reg.env_id, subject = %subject, id, version,
        schema_type = parsed.schema_type.as_str(), "schema registered"
    );
    Ok(id)
}

/// The latest version of `subject` that holds `input` (the same type and
/// normalized text); soft-deleted versions too with `deleted`.
pub async fn lookup(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    input: &SchemaInput,
    deleted: bool,
) -> Result<SubjectVersion> {
    let mut conn = pool.acquire().await?;
    let (parsed, _) = parse_input(&mut conn, reg, input).await?;
    let versions = store::versions(&mut conn, &reg.org_id, &reg.env_id, subject, deleted).await?;
    if versions.is_empty() {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    let id = store::schema_by_fingerprint(&mut conn, &reg.org_id, &reg.env_id, &parsed.fingerprint)
        .await?;
    id.and_then(|id| versions.iter().rev().find(|v| v.id == id))
        .cloned()
        .ok_or(RegistryError::SchemaNotFound)
}

/// The registry's subjects starting with `prefix`, sorted.
pub async fn subjects(
    pool: &PgPool,
    reg: &Registry,
    prefix: &str,
    deleted: bool,
) -> Result<Vec<String>> {
    let mut conn = pool.acquire().await?;
    Ok(store::subjects(&mut conn, &reg.org_id, &reg.env_id, prefix, deleted).await?)
}

/// The version numbers of `subject`, ascending; not found when it has none.
pub async fn versions(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    deleted: bool,
) -> Result<Vec<i32>> {
    let mut conn = pool.acquire().await?;
    let versions = store::versions(&mut conn, &reg.org_id, &reg.env_id, subject, deleted).await?;
    if versions.is_empty() {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    Ok(versions.iter().map(|v| v.version).collect())
}

/// Version `v` of `subject` with its schema.
pub async fn version(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    v: VersionId,
    deleted: bool,
) -> Result<SubjectVersion> {
    let mut conn = pool.acquire().await?;
    let versions = store::versions(&mut conn, &reg.org_id, &reg.env_id, subject, deleted).await?;
    if versions.is_empty() {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    pick(&versions, v).cloned().ok_or_else(|| match v {
        VersionId::Number(n) => RegistryError::VersionNotFound(n),
        VersionId::Latest => RegistryError::SubjectNotFound(subject.to_string()),
    })
}

/// Soft-deletes the versions of `subject` (their schemas stay readable by
/// id); with `permanent`, removes them once soft-deleted. Answers the
/// versions deleted.
pub async fn delete_subject(
    pool: &PgPool,
    reg: &Registry,
    subject: &str,
    permanent: bool,
) -> Result<Vec<i32>> {
    let mut tx = pool.begin().await?;
    store::lock_environment(&mut tx, &reg.env_id).await?;
    let all = store::versions(&mut tx, &reg.org_id, &reg.env_id, subject, true).await?;
    if all.is_empty() {
        return Err(RegistryError::SubjectNotFound(subject.to_string()));
    }
    let live = all.iter().any(|v| !v.deleted);
    let removed = if permanent {
        if live {
            return Err(RegistryError::SubjectNotSoftDeleted(subject.to_string()));
        }
        store::hard_delete_subject(&mut tx, &reg.org_id, &reg.env_id, subject).await?
    } else {
        if !live {
            return Err(RegistryError::SubjectSoftDeleted(subject.to_string()));
        }
        store::soft_delete_subject(&mut tx, &reg.org_id, &reg.env_id, subject).await?
    };
    tx.commit().await?;
    Ok(removed)
}
