//! `/iam/v2`: service accounts, users, API keys and role bindings, plus the
//! console sign-in (`POST /auth/v1/login`).
//!
//! OrganizationAdmins manage all of their organization's identities. Any
//! other caller sees only itself: its own account, its own API keys (which
//! it may create and delete with a cloud key or token, never with a
//! resource key) and its own role bindings. Identities of another
//! organization are 404.

pub mod api_keys;
pub mod role_bindings;
pub mod service_accounts;
pub mod users;

use axum::Router;
use serde_json::{json, Value};

use super::v2;
use super::AppState;
use crate::auth::{authz, Principal};
use crate::error::ApiError;
use crate::store::iam::{ApiKey, RoleBinding, ServiceAccount, User};

/// The authenticated `/iam/v2` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(service_accounts::routes())
        .merge(users::routes())
        .merge(api_keys::routes())
        .merge(role_bindings::routes())
}

/// Routes that need no credentials (sign-in).
pub fn public_routes() -> Router<AppState> {
    users::public_routes()
}

/// None for an OrganizationAdmin (sees everything in the organization);
/// otherwise the caller's own id, to which its view is limited.
pub(crate) async fn admin_or_self(
    state: &AppState,
    who: &Principal,
) -> Result<Option<String>, ApiError> {
    if authz::is_org_admin(&state.pool, who).await? {
        Ok(None)
    } else {
        Ok(Some(who.principal_id.clone()))
    }
}

pub fn principal_crn(org: &str, id: &str) -> String {
    let kind = if id.starts_with("u-") {
        "user"
    } else {
        "service-account"
    };
    format!("{}/{kind}={id}", v2::org_crn(org))
}

pub fn service_account_json(base: &str, s: &ServiceAccount) -> Value {
    json!({
        "api_version": "iam/v2",
        "kind": "ServiceAccount",
        "id": s.id,
        "metadata": v2::object_meta(
            format!("{base}/iam/v2/service-accounts/{}", s.id),
            principal_crn(&s.org_id, &s.id),
            &s.created_at,
            &s.updated_at,
        ),
        "display_name": s.display_name,
        "description": s.description,
    })
}

pub fn user_json(base: &str, u: &User) -> Value {
    json!({
        "api_version": "iam/v2",
        "kind": "User",
        "id": u.id,
        "metadata": v2::object_meta(
            format!("{base}/iam/v2/users/{}", u.id),
            principal_crn(&u.org_id, &u.id),
            &u.created_at,
            &u.updated_at,
        ),
        "email": u.email,
        "full_name": u.full_name,
        "auth_type": if u.password_hash.is_some() { "AUTH_TYPE_LOCAL" } else { "AUTH_TYPE_SSO" },
    })
}

/// An API key without its secret (only the create answer adds `spec.secret`).
pub fn api_key_json(base: &str, k: &ApiKey) -> Value {
    let (owner_kind, owner_path) = if k.owner_id.starts_with("u-") {
        ("User", "users")
    } else {
        ("ServiceAccount", "service-accounts")
    };
    let resource = match (&k.resource_id, &k.resource_environment) {
        (Some(c), Some(env)) => json!({
            "id": c,
            "environment": env,
            "api_version": "cmk/v2",
            "kind": "Cluster",
            "related": format!("{base}/cmk/v2/clusters/{c}?environment={env}"),
            "resource_name": v2::cluster_crn(&k.org_id, env, c),
        }),
        _ => Value::Null,
    };
    json!({
        "api_version": "iam/v2",
        "kind": "ApiKey",
        "id": k.id,
        "metadata": v2::object_meta(
            format!("{base}/iam/v2/api-keys/{}", k.id),
            format!("{}/api-key={}", principal_crn(&k.org_id, &k.owner_id), k.id),
            &k.created_at,
            &k.updated_at,
        ),
        "spec": {
            "display_name": k.display_name,
            "description": k.description,
            "owner": {
                "id": k.owner_id,
                "api_version": "iam/v2",
                "kind": owner_kind,
                "related": format!("{base}/iam/v2/{owner_path}/{}", k.owner_id),
                "resource_name": principal_crn(&k.org_id, &k.owner_id),
            },
            "resource": resource,
        },
    })
}

pub fn role_binding_json(base: &str, b: &RoleBinding) -> Value {
    json!({
        "api_version": "iam/v2",
        "kind": "RoleBinding",
        "id": b.id,
        "metadata": {
            "self": format!("{base}/iam/v2/role-bindings/{}", b.id),
            "resource_name": format!("{}/role-binding={}", v2::org_crn(&b.org_id), b.id),
            "created_at": v2::timestamp(&b.created_at),
        },
        "principal": b.principal,
        "role_name": b.role_name,
        "crn_pattern": b.crn_pattern,
    })
}

/// Query parameters in order, decoded (`+` is a space), repeats kept.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let hex = |c: u8| (c as char).to_digit(16);
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Paging parameters from decoded query pairs (the last of each wins).
pub(crate) fn page_of(pairs: &[(String, String)]) -> Result<v2::PageParams, ApiError> {
    let mut page = v2::PageParams::default();
    for (k, v) in pairs {
        match k.as_str() {
            "page_size" => {
                page.page_size = Some(v.parse().map_err(|_| {
                    ApiError::invalid_field(
                        "page_size",
                        format!("page_size must be a number, got \"{v}\""),
                    )
                })?)
            }
            "page_token" => page.page_token = Some(v.clone()),
            _ => {}
        }
    }
    Ok(page)
}

/// The value of a single-valued query parameter.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_pairs_decode_and_repeat() {
        let p = super::query_pairs(Some("display_name=a+b&display_name=c%2Fd&page_size=5"));
        assert_eq!(p[0], ("display_name".into(), "a b".into()));
        assert_eq!(p[1].1, "c/d");
        assert_eq!(super::page_of(&p).unwrap().page_size, Some(5));
        assert_eq!(super::param(&p, "display_name"), Some("c/d"));
    }
}
