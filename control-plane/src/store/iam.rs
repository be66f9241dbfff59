//! Service accounts, users, API keys and role bindings. Every query filters
//! on the caller's organization; `only` parameters further limit a caller
//! that is not an OrganizationAdmin to what concerns itself.

use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::{FromRow, PgExecutor, PgPool};

use crate::auth::{Credential, Principal};

fn random_lower(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| (rng.sample(rand::distributions::Alphanumeric) as char).to_ascii_lowercase())
        .collect()
}

pub fn user_id() -> String {
    format!("u-{}", random_lower(6))
}

// ---------------------------------------------------------------- service accounts

#[derive(Debug, Clone, FromRow)]
pub struct ServiceAccount {
    pub id: String,
    pub org_id: String,
    pub display_name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SA_COLS: &str = "id, org_id, display_name, description, created_at, updated_at";

pub async fn list_service_accounts(
    pool: &PgPool,
    org: &str,
    only: Option<&str>,
    display_names: &[String],
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<ServiceAccount>, i64), sqlx::Error> {
    let filter = "org_id = $1 AND ($2::text IS NULL OR id = $2)
                  AND (cardinality($3::text[]) = 0 OR display_name = ANY($3))";
    let rows = sqlx::query_as(&format!(
        "SELECT {SA_COLS} FROM service_accounts WHERE {filter}
         AND ($4::text IS NULL OR id > $4) ORDER BY id LIMIT $5"
    ))
    .bind(org)
    .bind(only)
    .bind(display_names)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM service_accounts WHERE {filter}"
    ))
    .bind(org)
    .bind(only)
    .bind(display_names)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

pub async fn get_service_account(
    pool: &PgPool,
    org: &str,
    only: Option<&str>,
    id: &str,
) -> Result<Option<ServiceAccount>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {SA_COLS} FROM service_accounts WHERE org_id = $1 AND id = $2
         AND ($3::text IS NULL OR id = $3)"
    ))
    .bind(org)
    .bind(id)
    .bind(only)
    .fetch_optional(pool)
    .await
}

pub async fn create_service_account(
    exec: impl PgExecutor<'_>,
    org: &str,
    display_name: &str,
    description: &str,
) -> Result<ServiceAccount, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO service_accounts (id, org_id, display_name, description) VALUES ($1, $2, $3, $4)
         RETURNING {SA_COLS}"
    ))
    .bind(crate::ids::service_account())
    .bind(org)
    .bind(display_name)
    .bind(description)
    .fetch_one(exec)
    .await
}

pub async fn service_account_name_taken(
    pool: &PgPool,
    org: &str,
    display_name: &str,
    except: Option<&str>,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM service_accounts WHERE org_id = $1 AND display_name = $2
                        AND ($3::text IS NULL OR id <> $3))",
    )
    .bind(org)
    .bind(display_name)
    .bind(except)
    .fetch_one(pool)
    .await
}

pub async fn update_service_account(
    pool: &PgPool,
    org: &str,
    id: &str,
    display_name: Option<&str>,
    description: Option<&str>,
) -> Result<Option<ServiceAccount>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE service_accounts SET display_name = COALESCE($3, display_name),
                description = COALESCE($4, description), updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {SA_COLS}"
    ))
    .bind(org)
    .bind(id)
    .bind(display_name)
    .bind(description)
    .fetch_optional(pool)
    .await
}

/// Deletes a service account or user with its API keys and role bindings;
/// returns the ids of the deleted keys, or None when it did not exist.
pub async fn delete_principal(
    pool: &PgPool,
    org: &str,
    id: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let table = if id.starts_with("u-") {
        "users"
    } else {
        "service_accounts"
    };
    let n = sqlx::query(&format!(
        "DELETE FROM {table} WHERE org_id = $1 AND id = $2"
    ))
    .bind(org)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(None);
    }
    let keys: Vec<String> =
        sqlx::query_scalar("DELETE FROM api_keys WHERE org_id = $1 AND owner_id = $2 RETURNING id")
            .bind(org)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    sqlx::query("DELETE FROM role_bindings WHERE org_id = $1 AND principal = $2")
        .bind(org)
        .bind(format!("User:{id}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(keys))
}

/// Whether `id` names a service account or user of the organization.
pub async fn principal_exists(pool: &PgPool, org: &str, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM service_accounts WHERE org_id = $1 AND id = $2)
             OR EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND id = $2)",
    )
    .bind(org)
    .bind(id)
    .fetch_one(pool)
    .await
}

// ---------------------------------------------------------------- API keys

#[derive(Debug, Clone, FromRow)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub owner_id: String,
    pub resource_id: Option<String>,
    /// The environment of the resource cluster, when there is one.
    pub resource_environment: Option<String>,
    pub display_name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const KEY_COLS: &str =
    "k.id, k.org_id, k.owner_id, k.resource_id, c.environment_id AS resource_environment,
                        k.display_name, k.description, k.created_at, k.updated_at";
const KEY_FROM: &str = "api_keys k LEFT JOIN kafka_clusters c ON c.id = k.resource_id";

pub struct KeyFilter<'a> {
    /// Limits the list to one owner (a non-admin caller's own keys).
    pub only_owner: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub resource: Option<&'a str>,
}

pub async fn list_api_keys(
    pool: &PgPool,
    org: &str,
    f: &KeyFilter<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<ApiKey>, i64), sqlx::Error> {
    let filter = "k.org_id = $1 AND ($2::text IS NULL OR k.owner_id = $2)
                  AND ($3::text IS NULL OR k.owner_id = $3) AND ($4::text IS NULL OR k.resource_id = $4)";
    let rows = sqlx::query_as(&format!(
        "SELECT {KEY_COLS} FROM {KEY_FROM} WHERE {filter} AND ($5::text IS NULL OR k.id > $5)
         ORDER BY k.id LIMIT $6"
    ))
    .bind(org)
    .bind(f.only_owner)
    .bind(f.owner)
    .bind(f.resource)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT count(*) FROM {KEY_FROM} WHERE {filter}"))
        .bind(org)
        .bind(f.only_owner)
        .bind(f.owner)
        .bind(f.resource)
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

pub async fn get_api_key(
    pool: &PgPool,
    org: &str,
    only_owner: Option<&str>,
    id: &str,
) -> Result<Option<ApiKey>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {KEY_COLS} FROM {KEY_FROM} WHERE k.org_id = $1 AND k.id = $2
         AND ($3::text IS NULL OR k.owner_id = $3)"
    ))
    .bind(org)
    .bind(id)
    .bind(only_owner)
    .fetch_optional(pool)
    .await
}

pub struct NewApiKey<'a> {
    pub id: &'a str,
    pub org_id: &'a str,
    pub owner_id: &'a str,
    pub resource_id: Option<&'a str>,
    pub secret_hash: &'a str,
    pub display_name: &'a str,
    pub description: &'a str,
}

pub async fn create_api_key(
    exec: impl PgExecutor<'_>,
    k: NewApiKey<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, owner_id, resource_id, secret_hash, display_name, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(k.id)
    .bind(k.org_id)
    .bind(k.owner_id)
    .bind(k.resource_id)
    .bind(k.secret_hash)
    .bind(k.display_name)
    .bind(k.description)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn update_api_key(
    pool: &PgPool,
    org: &str,
    only_owner: Option<&str>,
    id: &str,
    display_name: Option<&str>,
    description: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE api_keys SET display_name = COALESCE($4, display_name),
                description = COALESCE($5, description), updated_at = now()
         WHERE org_id = $1 AND id = $2 AND ($3::text IS NULL OR owner_id = $3)",
    )
    .bind(org)
    .bind(id)
    .bind(only_owner)
    .bind(display_name)
    .bind(description)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

pub async fn delete_api_key(
    pool: &PgPool,
    org: &str,
    only_owner: Option<&str>,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "DELETE FROM api_keys WHERE org_id = $1 AND id = $2 AND ($3::text IS NULL OR owner_id = $3)",
    )
    .bind(org)
    .bind(id)
    .bind(only_owner)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

// ---------------------------------------------------------------- role bindings

#[derive(Debug, Clone, FromRow)]
pub struct RoleBinding {
    pub id: String,
    pub org_id: String,
    pub principal: String,
    pub role_name: String,
    pub crn_pattern: String,
    pub created_at: DateTime<Utc>,
}

const RB_COLS: &str = "id, org_id, principal, role_name, crn_pattern, created_at";

pub struct BindingFilter<'a> {
    /// Limits the list to one principal (a non-admin caller's own bindings).
    pub only_principal: Option<&'a str>,
    pub principal: Option<&'a str>,
    pub role_name: Option<&'a str>,
    /// Bindings at or below this CRN pattern.
    pub crn_pattern: Option<&'a str>,
}

pub async fn list_role_bindings(
    pool: &PgPool,
    org: &str,
    f: &BindingFilter<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<RoleBinding>, i64), sqlx::Error> {
    let filter = "org_id = $1 AND ($2::text IS NULL OR principal = $2) AND ($3::text IS NULL OR principal = $3)
                  AND ($4::text IS NULL OR role_name = $4)
                  AND ($5::text IS NULL OR crn_pattern = $5 OR starts_with(crn_pattern, $5 || '/'))";
    let rows = sqlx::query_as(&format!(
        "SELECT {RB_COLS} FROM role_bindings WHERE {filter} AND ($6::text IS NULL OR id > $6)
         ORDER BY id LIMIT $7"
    ))
    .bind(org)
    .bind(f.only_principal)
    .bind(f.principal)
    .bind(f.role_name)
    .bind(f.crn_pattern)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM role_bindings WHERE {filter}"
    ))
    .bind(org)
    .bind(f.only_principal)
    .bind(f.principal)
    .bind(f.role_name)
    .bind(f.crn_pattern)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

pub async fn get_role_binding(
    pool: &PgPool,
    org: &str,
    only_principal: Option<&str>,
    id: &str,
) -> Result<Option<RoleBinding>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RB_COLS} FROM role_bindings WHERE org_id = $1 AND id = $2
         AND ($3::text IS NULL OR principal = $3)"
    ))
    .bind(org)
    .bind(id)
    .bind(only_principal)
    .fetch_optional(pool)
    .await
}

pub async fn find_role_binding(
    pool: &PgPool,
    org: &str,
    principal: &str,
    role: &str,
    crn: &str,
) -> Result<Option<RoleBinding>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {RB_COLS} FROM role_bindings WHERE org_id = $1 AND principal = $2 AND role_name = $3
         AND crn_pattern = $4"
    ))
    .bind(org)
    .bind(principal)
    .bind(role)
    .bind(crn)
    .fetch_optional(pool)
    .await
}

pub async fn create_role_binding(
    exec: impl PgExecutor<'_>,
    org: &str,
    principal: &str,
    role: &str,
    crn: &str,
) -> Result<RoleBinding, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO role_bindings (id, org_id, principal, role_name, crn_pattern)
         VALUES ($1, $2, $3, $4, $5) RETURNING {RB_COLS}"
    ))
    .bind(crate::ids::role_binding())
    .bind(org)
    .bind(principal)
    .bind(role)
    .bind(crn)
    .fetch_one(exec)
    .await
}

pub async fn delete_role_binding(
    pool: &PgPool,
    org: &str,
    id: &str,
) -> Result<Option<RoleBinding>, sqlx::Error> {
    sqlx::query_as(&format!(
        "DELETE FROM role_bindings WHERE org_id = $1 AND id = $2 RETURNING {RB_COLS}"
    ))
    .bind(org)
    .bind(id)
    .fetch_optional(pool)
    .await
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub full_name: String,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const USER_COLS: &str = "id, org_id, email, full_name, password_hash, created_at, updated_at";

pub async fn list_users(
    pool: &PgPool,
    org: &str,
    only: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<User>, i64), sqlx::Error> {
    let rows = sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE org_id = $1 AND ($2::text IS NULL OR id = $2)
         AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4"
    ))
    .bind(org)
    .bind(only)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(
        "SELECT count(*) FROM users WHERE org_id = $1 AND ($2::text IS NULL OR id = $2)",
    )
    .bind(org)
    .bind(only)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

pub async fn get_user(
    pool: &PgPool,
    org: &str,
    only: Option<&str>,
    id: &str,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE org_id = $1 AND id = $2 AND ($3::text IS NULL OR id = $3)"
    ))
    .bind(org)
    .bind(id)
    .bind(only)
    .fetch_optional(pool)
    .await
}

/// Creates a user; None when the email is taken.
pub async fn create_user(
    pool: &PgPool,
    org: &str,
    email: &str,
    full_name: &str,
    password_hash: Option<&str>,
) -> Result<Option<User>, sqlx::Error> {
    let res = sqlx::query_as(&format!(
        "INSERT INTO users (id, org_id, email, full_name, password_hash) VALUES ($1, $2, $3, $4, $5)
         RETURNING {USER_COLS}"
    ))
    .bind(user_id())
    .bind(org)
    .bind(email)
    .bind(full_name)
    .bind(password_hash)
    .fetch_one(pool)
    .await;
    match res {
        Ok(u) => Ok(Some(u)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn update_user(
    pool: &PgPool,
    org: &str,
    id: &str,
    full_name: Option<&str>,
    password_hash: Option<&str>,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE users SET full_name = COALESCE($3, full_name),
                password_hash = COALESCE($4, password_hash), updated_at = now()
         WHERE org_id = $1 AND id = $2 RETURNING {USER_COLS}"
    ))
    .bind(org)
    .bind(id)
    .bind(full_name)
    .bind(password_hash)
    .fetch_optional(pool)
    .await
}

/// A user by email (case-insensitive), for sign-in.
pub async fn user_by_email(pool: &PgPool, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE lower(email) = lower($1)"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await
}

#[derive(FromRow)]
struct UserPrincipalRow {
    id: String,
    org_id: String,
    operator: bool,
}

fn user_principal(r: UserPrincipalRow) -> Principal {
    Principal {
        org_id: r.org_id,
        principal_id: r.id,
        key_id: String::new(),
        operator: r.operator,
        credential: Credential::Token,
        resource_id: None,
        request: Default::default(),
    }
}

/// The principal of a console token's subject, if the user still exists in that organization.
pub async fn user_principal_by_id(
    pool: &PgPool,
    id: &str,
    org: &str,
) -> Result<Option<Principal>, sqlx::Error> {
    let row: Option<UserPrincipalRow> = sqlx::query_as(
        "SELECT u.id, u.org_id, o.operator FROM users u JOIN organizations o ON o.id = u.org_id
         WHERE u.id = $1 AND u.org_id = $2",
    )
    .bind(id)
    .bind(org)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(user_principal))
}

/// The principal of a single-sign-on token's email.
pub async fn user_principal_by_email(
    pool: &PgPool,
    email: &str,
) -> Result<Option<Principal>, sqlx::Error> {
    let row: Option<UserPrincipalRow> = sqlx::query_as(
        "SELECT u.id, u.org_id, o.operator FROM users u JOIN organizations o ON o.id = u.org_id
         WHERE lower(u.email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(user_principal))
}
