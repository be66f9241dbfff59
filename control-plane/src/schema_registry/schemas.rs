//! Schemas by id (ids are numbered per registry).

use sqlx::PgPool;

use super::{Registry, RegistryError, Result};
use crate::store::schemas::{self as store, StoredSchema};

/// The schema with id `id` (as the caller named it).
pub async fn schema(pool: &PgPool, reg: &Registry, id: &str) -> Result<StoredSchema> {
    let n = id
        .parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| RegistryError::SchemaIdNotFound(id.to_string()))?;
    let mut conn = pool.acquire().await?;
    store::schema_by_id(&mut conn, &reg.org_id, &reg.env_id, n)
        .await?
        .ok_or_else(|| RegistryError::SchemaIdNotFound(id.to_string()))
}

/// The live subject versions that use schema `id`, by subject and version.
pub async fn usages(pool: &PgPool, reg: &Registry, id: &str) -> Result<Vec<(String, i32)>> {
    let s = schema(pool, reg, id).await?;
    let mut conn = pool.acquire().await?;
    Ok(store::versions_of_schema(&mut conn, &reg.org_id, &reg.env_id, s.id).await?)
}
