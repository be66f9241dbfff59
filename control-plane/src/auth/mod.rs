//! Identity and access: who is calling ([`tenant_gate`]: HTTP Basic API
//! keys, or Bearer JWTs), what it may do ([`authz`]), how much
//! ([`limits`], [`quotas`]), and what it did (the audit log). Workers present
//! the worker token ([`require_worker_token`]).

pub mod api_keys;
pub mod authz;
pub mod jwt;
pub mod limits;
pub mod oidc;
pub mod quotas;
pub mod settings;

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::api::AppState;
use crate::error::ApiError;
use crate::store::audit::{self, AuditRecord};
use limits::{FailureGuard, KeyLimiter, Verdict};

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Credential {
    /// An API key acting for its owner across the organization.
    #[default]
    CloudKey,
    /// An API key limited to one cluster ([`Principal::resource_id`]).
    ResourceKey,
    /// A Bearer token (console login or single sign-on).
    Token,
}

/// The request being authorized, for the checks that depend on it (is it a
/// write? which connector does it name?) and for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub method: Method,
    /// The URI path as sent (percent-encoded).
    pub path: String,
    /// The route template (`/org/v2/environments/{id}`), when routed.
    pub route: Option<String>,
    pub request_id: Option<String>,
}

impl RequestInfo {
    fn of(req: &Request) -> RequestInfo {
        RequestInfo {
            method: req.method().clone(),
            path: req.uri().path().to_string(),
            route: req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_string()),
            request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(128).collect()),
        }
    }

    /// Whether the request changes state (plugin config validation and
    /// translation do not).
    pub fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS)
            && !(self.path.contains("/connector-plugins/")
                && (self.path.ends_with("/config/validate")
                    || self.path.ends_with("/config/translate")))
    }

    /// The connector a Connect path names, percent-decoded: Connect v1's
    /// `/connect/v1/environments/{env}/clusters/{cluster}/connectors/{name}[/…]`
    /// and the Kafka-Connect-compatible root's
    /// `/compat/connect/environments/{env}/clusters/{cluster}/connectors/{name}[/…]`
    /// (segments at fixed places, so ids that read `connectors` are no
    /// trouble); other paths: the segment after the first `connectors`.
    pub fn connector_name(&self) -> Option<String> {
        let segs: Vec<&str> = self.path.split('/').collect();
        let anchored = matches!(
            segs.get(1..4),
            Some(["connect", "v1", "environments"]) | Some(["compat", "connect", "environments"])
        );
        let name = if anchored {
            if segs.get(5) != Some(&"clusters") || segs.get(7) != Some(&"connectors") {
                return None;
            }
            segs.get(8)
        } else {
            let i = segs.iter().position(|s| *s == "connectors")?;
            segs.get(i + 1)
        };
        name.filter(|s| !s.is_empty()).map(|s| percent_decode(s))
    }

    /// `POST …/connectors`: a new connector (its name is in the body).
    pub fn creates_connector(&self) -> bool {
        self.method == Method::POST && self.path.trim_end_matches('/').ends_with("/connectors")
    }
}

fn percent_decode(s: &str) -> String {
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

/// The authenticated caller, placed in request extensions by [`tenant_gate`].
#[derive(Debug, Clone, Default)]
pub struct Principal {
    pub org_id: String,
    /// The service account (`sa-…`) or user (`u-…`) acting.
    pub principal_id: String,
    /// The API key used (empty for tokens).
    pub key_id: String,
    /// Member of the operator's organization (may read fleet state and onboard tenants).
    pub operator: bool,
    pub credential: Credential,
    /// The one cluster a resource key may reach.
    pub resource_id: Option<String>,
    pub request: RequestInfo,
}

impl Principal {
    /// The principal as role bindings name it: `User:sa-…`.
    pub fn binding_principal(&self) -> String {
        format!("User:{}", self.principal_id)
    }

    /// The rate-limit bucket: per API key, or per user for tokens.
    fn rate_key(&self) -> String {
        match self.credential {
            Credential::Token => format!("user:{}", self.principal_id),
            _ => format!("key:{}", self.key_id),
        }
    }
}

/// The identity-and-access machinery shared by all requests.
pub struct AccessControl {
    pub limiter: KeyLimiter,
    pub failures: FailureGuard,
    pub max_body_bytes: usize,
    pub cluster_check_timeout: Duration,
    pub quotas: quotas::Quotas,
    pub tokens: jwt::TokenIssuer,
    pub oidc: Option<oidc::Oidc>,
}

impl AccessControl {
    pub fn from_args(a: &settings::AccessArgs) -> anyhow::Result<AccessControl> {
        let oidc = match (&a.oidc_issuer, &a.oidc_audience) {
            (Some(iss), Some(aud)) if !iss.is_empty() && !aud.is_empty() => {
                Some(oidc::Oidc::new(oidc::OidcSettings {
                    issuer: iss.clone(),
                    audience: aud.clone(),
                    jwks_url: a.oidc_jwks_url.clone().filter(|u| !u.is_empty()),
                    ttl: Duration::from_secs(a.oidc_jwks_ttl_seconds),
                }))
            }
            (Some(iss), _) if !iss.is_empty() => {
                anyhow::bail!("TRIBUTARY_OIDC_ISSUER is set but TRIBUTARY_OIDC_AUDIENCE is not")
            }
            _ => None,
        };
        Ok(AccessControl {
            limiter: KeyLimiter::new(a.rate_limit_per_second, a.rate_limit_burst),
            failures: FailureGuard::new(a.auth_failures_per_minute),
            max_body_bytes: a.max_body_bytes,
            cluster_check_timeout: Duration::from_millis(a.cluster_check_timeout_ms),
            quotas: a.quotas.clone(),
            tokens: jwt::TokenIssuer::new(
                a.jwt_secret.as_deref(),
                &a.jwt_issuer,
                Duration::from_secs(a.jwt_ttl_seconds.max(60)),
            )?,
            oidc,
        })
    }
}

enum Presented {
    Basic(String, String),
    Bearer(String),
}

fn presented(req: &Request) -> Option<Presented> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Presented::Bearer(rest.trim().to_string()));
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (key, secret) = decoded.split_once(':')?;
    Some(Presented::Basic(key.to_string(), secret.to_string()))
}

/// Who is calling, or the response that refuses it (401, or 429 while a
/// credential is locked out after failed attempts).
async fn authenticate(state: &AppState, creds: Option<Presented>) -> Result<Principal, Response> {
    let access = &state.access;
    match creds {
        None => Err(ApiError::unauthenticated().into_response()),
        Some(Presented::Basic(key, secret)) => {
            let guard_key = format!("key:{key}");
            if let Some(secs) = access.failures.locked_for(&guard_key) {
                if !state.keys.is_cached(&key, &secret) {
                    return Err(access.failures.locked_response(secs));
                }
            }
            match state.keys.verify(&state.pool, &key, &secret).await {
                Ok(Some(p)) => Ok(p),
                Ok(None) => {
                    access.failures.failed(&guard_key);
                    Err(ApiError::unauthenticated().into_response())
                }
                Err(e) => Err(e.into_response()),
            }
        }
        Some(Presented::Bearer(token)) => {
            let iss = jwt::peek_issuer(&token);
            let user = if iss.as_deref() == Some(access.tokens.issuer()) {
                match access.tokens.verify(&token) {
                    Some(c) => crate::store::iam::user_principal_by_id(&state.pool, &c.sub, &c.org)
                        .await
                        .map_err(|e| ApiError::from(e).into_response())?,
                    None => None,
                }
            } else if let Some(o) = access
                .oidc
                .as_ref()
                .filter(|o| iss.as_deref() == Some(o.issuer()))
            {
                match o.verify(&token).await.and_then(|c| c.verified_email()) {
                    Some(email) => crate::store::iam::user_principal_by_email(&state.pool, &email)
                        .await
                        .map_err(|e| ApiError::from(e).into_response())?,
                    None => None,
                }
            } else {
                None
            };
            user.ok_or_else(|| ApiError::unauthenticated().into_response())
        }
    }
}

/// The gate of every tenant route: authenticates (401), rate-limits per
/// credential (429 with `Retry-After`; `X-RateLimit-*` on every answer),
/// hands the [`Principal`] to the handler, and writes the audit log entry of
/// every mutating call.
pub async fn tenant_gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let info = RequestInfo::of(&req);
    let creds = presented(&req);
    let mut who = match authenticate(&state, creds).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    who.request = info;
    let verdict = state.access.limiter.check(&who.rate_key());
    if let Some(v @ Verdict::Limited { .. }) = verdict {
        tracing::debug!(principal = %who.principal_id, key = %who.key_id, "rate limited");
        return v.too_many("this API key");
    }
    req.extensions_mut().insert(who.clone());
    let mut resp = next.run(req).await;
    if let Some(v) = verdict {
        v.apply(resp.headers_mut());
    }
    if who.request.is_write() {
        let status = resp.status();
        let error_code = resp.extensions().get::<ApiError>().map(|e| e.code);
        let outcome = if status.is_success() || status.is_redirection() {
            "SUCCESS"
        } else if matches!(status.as_u16(), 401 | 403 | 404 | 429) {
            "DENIED"
        } else {
            "FAILURE"
        };
        let rec = AuditRecord {
            org_id: &who.org_id,
            principal: &who.binding_principal(),
            credential: if who.credential == Credential::Token {
                "token"
            } else {
                &who.key_id
            },
            method: who.request.method.as_str(),
            path: &who.request.path,
            action: &format!(
                "{} {}",
                who.request.method,
                who.request.route.as_deref().unwrap_or(&who.request.path)
            ),
            status: status.as_u16(),
            outcome,
            error_code,
            request_id: who.request.request_id.as_deref(),
        };
        if let Err(e) = audit::record(&state.pool, &rec).await {
            // The change is made; failing the answer would invite a retry.
            tracing::error!(error = %e, action = %rec.action, "audit log write failed");
        }
    }
    resp
}

/// Worker-protocol authentication: the shared worker token as a Bearer token.
pub async fn require_worker_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok: bool = presented
        .as_bytes()
        .ct_eq(state.worker_token.as_bytes())
        .into();
    if !ok || presented.is_empty() {
        return ApiError::unauthenticated().into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: Method, path: &str) -> RequestInfo {
        RequestInfo {
            method,
            path: path.into(),
            ..Default::default()
        }
    }

    #[test]
    fn connect_paths_name_their_connector() {
        let p = "/connect/v1/environments/env-1/clusters/lkc-1/connectors";
        assert_eq!(info(Method::GET, p).connector_name(), None);
        assert!(info(Method::POST, p).creates_connector());
        assert_eq!(
            info(Method::PUT, &format!("{p}/my%20conn/pause")).connector_name(),
            Some("my conn".into())
        );
        assert!(info(Method::PUT, &format!("{p}/x/pause")).is_write());
        assert!(!info(Method::GET, &format!("{p}/x/status")).is_write());
        assert!(!info(
            Method::PUT,
            "/connect/v1/environments/e/clusters/c/connector-plugins/X/config/validate"
        )
        .is_write());
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }

    #[test]
    fn compat_paths_name_their_connector() {
        let root = "/compat/connect/environments/env-1/clusters/lkc-1";
        assert_eq!(info(Method::GET, root).connector_name(), None);
        assert_eq!(
            info(Method::GET, &format!("{root}/")).connector_name(),
            None
        );
        let p = format!("{root}/connectors");
        assert_eq!(info(Method::GET, &p).connector_name(), None);
        assert!(info(Method::POST, &p).creates_connector());
        for (method, path, write) in [
            (Method::GET, "my%20conn", false),
            (Method::GET, "my%20conn/status", false),
            (Method::GET, "my%20conn/tasks/0/status", false),
            (Method::GET, "my%20conn/offsets", false),
            (Method::PUT, "my%20conn/config", true),
            (Method::PATCH, "my%20conn/config", true),
            (Method::PUT, "my%20conn/pause", true),
            (Method::PUT, "my%20conn/stop", true),
            (Method::POST, "my%20conn/restart", true),
            (Method::POST, "my%20conn/tasks/0/restart", true),
            (Method::PATCH, "my%20conn/offsets", true),
            (Method::DELETE, "my%20conn/offsets", true),
            (Method::DELETE, "my%20conn", true),
            (Method::PUT, "my%20conn/topics/reset", true),
        ] {
            let i = info(method.clone(), &format!("{p}/{path}"));
            assert_eq!(
                i.connector_name(),
                Some("my conn".into()),
                "{method} {path}"
            );
            assert_eq!(i.is_write(), write, "{method} {path}");
        }
        // A connector named "connectors", in an environment and cluster of
        // any name, is still the connector.
        let odd = "/compat/connect/environments/connectors/clusters/connectors/connectors/connectors/status";
        assert_eq!(
            info(Method::GET, odd).connector_name(),
            Some("connectors".into())
        );
        let odd = "/connect/v1/environments/connectors/clusters/c/connectors";
        assert_eq!(info(Method::GET, odd).connector_name(), None);
        assert!(!info(
            Method::PUT,
            &format!("{root}/connector-plugins/MySqlSink/config/validate")
        )
        .is_write());
        assert_eq!(
            info(Method::GET, &format!("{root}/connector-plugins")).connector_name(),
            None
        );
    }
}
