//! Authorization: what a principal may see and do, from its role bindings.
//!
//! A role binding grants a role on a CRN pattern (organization, environment,
//! cluster or connector scope; a trailing `*` matches a name prefix). The
//! database derives each binding's scope as LIKE patterns
//! (`role_bindings.env_like`, `cluster_like`, `connector_like`), so every
//! check below — and every list query in the store — is one SQL predicate
//! over the caller's bindings: a forgotten check cannot leak rows.
//!
//! * A resource is **visible** when some binding (any role) is at, above or
//!   below it: a ConnectManager on one cluster sees that cluster's
//!   environment. Invisible resources, including every resource of another
//!   organization, are 404.
//! * An action is **allowed** when a binding with a role that may do it is at
//!   or above the resource ("covering"). A visible resource whose action is
//!   not allowed is 403.
//! * A resource key (an API key whose resource is a cluster) reaches only
//!   that cluster (and sees only the environment holding it); cloud keys and
//!   tokens act with all their owner's bindings.

use sqlx::PgPool;

use super::Principal;
use crate::error::ApiError;

pub const ORGANIZATION_ADMIN: &str = "OrganizationAdmin";
pub const ENVIRONMENT_ADMIN: &str = "EnvironmentAdmin";
pub const CLOUD_CLUSTER_ADMIN: &str = "CloudClusterAdmin";
pub const CONNECT_MANAGER: &str = "ConnectManager";
pub const OPERATOR: &str = "Operator";
/// The read-only role: reads configuration and status, changes nothing.
pub const DEVELOPER_READ: &str = "DeveloperRead";

/// Every role a binding may name.
pub const ROLES: &[&str] = &[
    ORGANIZATION_ADMIN,
    ENVIRONMENT_ADMIN,
    CLOUD_CLUSTER_ADMIN,
    CONNECT_MANAGER,
    OPERATOR,
    DEVELOPER_READ,
];
/// Roles that may read what they are bound to.
pub const READ: &[&str] = ROLES;
/// Roles that may create, configure, pause, restart and delete connectors.
pub const CONNECT_WRITE: &[&str] = &[
    ORGANIZATION_ADMIN,
    ENVIRONMENT_ADMIN,
    CLOUD_CLUSTER_ADMIN,
    CONNECT_MANAGER,
];
/// Roles that may change or remove a registered cluster.
pub const CLUSTER_ADMIN: &[&str] = &[ORGANIZATION_ADMIN, ENVIRONMENT_ADMIN, CLOUD_CLUSTER_ADMIN];
/// Roles that may change an environment and register clusters in it.
pub const ENV_ADMIN: &[&str] = &[ORGANIZATION_ADMIN, ENVIRONMENT_ADMIN];
/// Organization-wide administration: environments, IAM, audit log.
pub const ORG_ADMIN: &[&str] = &[ORGANIZATION_ADMIN];

/// The caller's grants for one check, as SQL parameters: organization
/// (`$1`), principal (`$2`) and the roles that count (`$3`); list queries
/// bind the resource-key cluster as `$4`.
#[derive(Debug, Clone)]
pub struct Scope {
    pub org_id: String,
    /// `User:sa-…` / `User:u-…`, as role bindings name principals.
    pub principal: String,
    pub roles: Vec<String>,
    pub resource_id: Option<String>,
}

impl Scope {
    pub fn new(who: &Principal, roles: &[&str]) -> Scope {
        Scope {
            org_id: who.org_id.clone(),
            principal: who.binding_principal(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            resource_id: who.resource_id.clone(),
        }
    }

    /// Any role: what the caller can see.
    pub fn read(who: &Principal) -> Scope {
        Scope::new(who, READ)
    }
}

/// The resource a check is about; unset levels are above it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Target<'a> {
    pub env: Option<&'a str>,
    pub cluster: Option<&'a str>,
    pub connector: Option<&'a str>,
}

impl<'a> Target<'a> {
    pub fn org() -> Self {
        Target::default()
    }
    pub fn env(env: &'a str) -> Self {
        Target {
            env: Some(env),
            ..Target::default()
        }
    }
    pub fn cluster(env: &'a str, cluster: &'a str) -> Self {
        Target {
            env: Some(env),
            cluster: Some(cluster),
            connector: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A binding at, above or below the target.
    Visible,
    /// A binding at or above the target.
    Covering,
}

/// SQL predicate over `role_bindings b` for a resource whose environment,
/// cluster and connector are the given SQL expressions (None: the resource
/// is above that level). With [`Reach::Visible`], bindings below the
/// resource count too. Uses `$1` (org), `$2` (principal), `$3` (roles).
pub fn binding_predicate(
    env: Option<&str>,
    cluster: Option<&str>,
    connector: Option<&str>,
    reach: Reach,
) -> String {
    let level = |col: &str, expr: Option<&str>| -> String {
        match (expr, reach) {
            // A NULL expression is a resource above this level: bindings
            // below it make it visible, and only bindings above cover it.
            (Some(e), Reach::Visible) => {
                format!(" AND ({e} IS NULL OR b.{col} IS NULL OR {e} LIKE b.{col})")
            }
            (Some(e), Reach::Covering) => format!(" AND (b.{col} IS NULL OR {e} LIKE b.{col})"),
            (None, Reach::Covering) => format!(" AND b.{col} IS NULL"),
            (None, Reach::Visible) => String::new(),
        }
    };
    format!(
        "EXISTS (SELECT 1 FROM role_bindings b WHERE b.org_id = $1 AND b.principal = $2 \
         AND b.role_name = ANY($3){}{}{})",
        level("env_like", env),
        level("cluster_like", cluster),
        level("connector_like", connector)
    )
}

/// Whether the caller's bindings (with `scope`'s roles) reach `target`.
pub async fn has_grant(
    pool: &PgPool,
    scope: &Scope,
    target: Target<'_>,
    reach: Reach,
) -> Result<bool, sqlx::Error> {
    if let Some(rk) = scope.resource_id.as_deref() {
        match (target.cluster, target.env, reach) {
            (Some(c), _, _) if c == rk => {}
            (None, Some(env), Reach::Visible) => {
                let holds: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM kafka_clusters WHERE id = $1 AND org_id = $2 AND environment_id = $3)",
                )
                .bind(rk)
                .bind(&scope.org_id)
                .bind(env)
                .fetch_one(pool)
                .await?;
                if !holds {
                    return Ok(false);
                }
            }
            _ => return Ok(false),
        }
    }
    let pred = binding_predicate(Some("$4::text"), Some("$5::text"), Some("$6::text"), reach);
    sqlx::query_scalar(&format!("SELECT {pred}"))
        .bind(&scope.org_id)
        .bind(&scope.principal)
        .bind(&scope.roles)
        .bind(target.env)
        .bind(target.cluster)
        .bind(target.connector)
        .fetch_one(pool)
        .await
}

/// OrganizationAdmin on the whole organization, with a cloud key or a token.
pub async fn is_org_admin(pool: &PgPool, who: &Principal) -> Result<bool, ApiError> {
    if who.resource_id.is_some() {
        return Ok(false);
    }
    Ok(has_grant(
        pool,
        &Scope::new(who, ORG_ADMIN),
        Target::org(),
        Reach::Covering,
    )
    .await?)
}

/// 403 unless the caller's bindings with `roles` cover `target`.
pub async fn require(
    pool: &PgPool,
    who: &Principal,
    roles: &[&str],
    target: Target<'_>,
    what: &str,
) -> Result<(), ApiError> {
    if has_grant(pool, &Scope::new(who, roles), target, Reach::Covering).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(refusal(who, roles, what)))
    }
}

/// Why `who` may not do `what`: it lacks all of `roles` on the resource.
pub fn refusal(who: &Principal, roles: &[&str], what: &str) -> String {
    format!(
        "{} may not {what}: it needs one of the roles {} on this resource",
        who.binding_principal(),
        roles.join(", ")
    )
}

/// 403 unless the caller is an OrganizationAdmin of its organization.
pub async fn require_org_admin(pool: &PgPool, who: &Principal, what: &str) -> Result<(), ApiError> {
    if is_org_admin(pool, who).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "{} may not {what}: it needs the OrganizationAdmin role on the organization{}",
            who.binding_principal(),
            if who.resource_id.is_some() {
                " (and a cloud API key, not a resource key)"
            } else {
                ""
            }
        )))
    }
}

/// A CRN pattern parsed and checked for a role binding of `org_id`: only
/// organization, environment, cloud-cluster and connector segments, in that
/// order, with `*` allowed only at the end of the last name.
pub fn check_crn_pattern(org_id: &str, crn: &str) -> Result<CrnScope, String> {
    let rest = crn
        .strip_prefix("crn://confluent.cloud/")
        .ok_or_else(|| "crn_pattern must start with crn://confluent.cloud/".to_string())?;
    let mut scope = CrnScope::default();
    let segments: Vec<&str> = rest.split('/').collect();
    let order = ["organization", "environment", "cloud-cluster", "connector"];
    for (i, seg) in segments.iter().enumerate() {
        let (k, v) = seg
            .split_once('=')
            .ok_or_else(|| format!("crn_pattern segment \"{seg}\" is not key=value"))?;
        if order.get(i) != Some(&k) {
            return Err(format!(
                "crn_pattern segment \"{k}\" is not allowed here; use organization=…[/environment=…[/cloud-cluster=…[/connector=…]]]"
            ));
        }
        if v.is_empty() || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("crn_pattern segment \"{k}\" has an invalid value"));
        }
        let last = i + 1 == segments.len();
        if v.contains('*') && (!last || k == "organization" || v.find('*') != Some(v.len() - 1)) {
            return Err(
                "a wildcard '*' may only end the last segment of a crn_pattern (below the organization)"
                    .into(),
            );
        }
        match k {
            "organization" => {
                if v != org_id {
                    return Err(format!("crn_pattern must be within organization {org_id}"));
                }
            }
            "environment" => scope.env = Some(v.to_string()),
            "cloud-cluster" => scope.cluster = Some(v.to_string()),
            _ => scope.connector = Some(v.to_string()),
        }
    }
    Ok(scope)
}

/// The named levels of a CRN pattern (values may end in `*`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CrnScope {
    pub env: Option<String>,
    pub cluster: Option<String>,
    pub connector: Option<String>,
}

/// Of `names` (connectors of `cluster` in `env`), those the caller may see:
/// all of them for a binding on the cluster or above, else those its
/// connector-scoped bindings (`…/connector=orders-*`) cover. For the
/// connector lists, after the connector service admitted the caller
/// (`service::connectors::ConnectorService::admit`).
pub async fn visible_connectors(
    pool: &PgPool,
    who: &Principal,
    env: &str,
    cluster: &str,
    names: Vec<String>,
) -> Result<Vec<String>, sqlx::Error> {
    let read = Scope::read(who);
    if has_grant(pool, &read, Target::cluster(env, cluster), Reach::Covering).await? {
        return Ok(names);
    }
    if read.resource_id.as_deref().is_some_and(|rk| rk != cluster) {
        return Ok(vec![]);
    }
    let pred = binding_predicate(
        Some("$4::text"),
        Some("$5::text"),
        Some("n"),
        Reach::Covering,
    );
    sqlx::query_scalar(&format!(
        "SELECT n FROM unnest($6::text[]) WITH ORDINALITY AS u(n, i) WHERE {pred} ORDER BY i"
    ))
    .bind(&read.org_id)
    .bind(&read.principal)
    .bind(&read.roles)
    .bind(env)
    .bind(cluster)
    .bind(&names)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_follow_the_reach() {
        let v = binding_predicate(Some("e.id"), None, None, Reach::Visible);
        assert!(v.contains("e.id LIKE b.env_like"));
        assert!(!v.contains("cluster_like"));
        let c = binding_predicate(Some("e.id"), None, None, Reach::Covering);
        assert!(c.contains("b.cluster_like IS NULL"));
        assert!(c.contains("b.connector_like IS NULL"));
    }

    #[test]
    fn crn_patterns_are_checked() {
        let org = "o-1";
        assert_eq!(
            check_crn_pattern(org, "crn://confluent.cloud/organization=o-1").unwrap(),
            CrnScope::default()
        );
        let s = check_crn_pattern(
            org,
            "crn://confluent.cloud/organization=o-1/environment=env-1/cloud-cluster=lkc-1/connector=orders*",
        )
        .unwrap();
        assert_eq!(s.connector.as_deref(), Some("orders*"));
        for bad in [
            "crn://confluent.cloud/organization=o-2",
            "crn://confluent.cloud/organization=o-1/cloud-cluster=lkc-1",
            "crn://confluent.cloud/organization=o-1/environment=env-*/cloud-cluster=lkc-1",
            "crn://confluent.cloud/organization=o-1/environment=env-1/cloud-cluster=lkc-1/kafka=lkc-1/topic=x",
            "crn://confluent.cloud/organization=*",
            "crn://confluent.cloud/organization=o-1/environment=a*b",
            "https://example.com",
        ] {
            assert!(check_crn_pattern(org, bad).is_err(), "{bad}");
        }
    }
}
