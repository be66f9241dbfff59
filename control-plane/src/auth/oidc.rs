//! Single sign-on: tokens of an external OpenID Connect provider, verified
//! against the provider's JWKS. Keys are cached for a TTL; a token signed by
//! a key id the cache does not know triggers a refetch (rate-limited), so
//! the provider can rotate keys without a restart.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

/// Least time between two JWKS fetches caused by unknown key ids (or the
/// TTL, when shorter).
const MIN_REFETCH: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: Option<String>,
    pub ttl: Duration,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OidcClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    /// When the provider says the email is not verified, it names no one.
    #[serde(default)]
    pub email_verified: Option<bool>,
}

impl OidcClaims {
    /// The email that names the Tributary user, if the provider vouches for it.
    pub fn verified_email(self) -> Option<String> {
        if self.email_verified == Some(false) {
            return None;
        }
        self.email.filter(|e| !e.is_empty())
    }
}

struct Cache {
    keys: Option<JwkSet>,
    fetched: Option<Instant>,
    jwks_url: Option<String>,
}

pub struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.settings.issuer)
            .finish()
    }
}

fn asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Oidc {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Oidc {
            cache: Mutex::new(Cache {
                keys: None,
                fetched: None,
                jwks_url: settings.jwks_url.clone(),
            }),
            settings,
            http,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    async fn fetch(&self, cache: &mut Cache) -> anyhow::Result<()> {
        let url = match &cache.jwks_url {
            Some(u) => u.clone(),
            None => {
                #[derive(Deserialize)]
                struct Discovery {
                    jwks_uri: String,
                }
                let d: Discovery = self
                    .http
                    .get(format!(
                        "{}/.well-known/openid-configuration",
                        self.settings.issuer.trim_end_matches('/')
                    ))
                    .send()
                    .await?
                    .error_for_status()?
                    .json()
                    .await?;
                cache.jwks_url = Some(d.jwks_uri.clone());
                d.jwks_uri
            }
        };
        let set: JwkSet = self
            .http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        tracing::info!(keys = set.keys.len(), url = %url, "fetched OIDC signing keys");
        cache.keys = Some(set);
        cache.fetched = Some(Instant::now());
        Ok(())
    }

    /// The key the token names; refetches when the cache is stale or does not know it.
    async fn key(&self, kid: Option<&str>) -> Option<Jwk> {
        let mut cache = self.cache.lock().await;
        let find = |c: &Cache| -> Option<Jwk> {
            let keys = c.keys.as_ref()?;
            match kid {
                Some(k) => keys.find(k).cloned(),
                None if keys.keys.len() == 1 => keys.keys.first().cloned(),
                None => None,
            }
        };
        let age = cache.fetched.map(|t| t.elapsed());
        let stale = age.is_none_or(|a| a > self.settings.ttl);
        if !stale {
            if let Some(k) = find(&cache) {
                return Some(k);
            }
        }
        let min_refetch = MIN_REFETCH.min(self.settings.ttl);
        if stale || age.is_some_and(|a| a >= min_refetch) {
            if let Err(e) = self.fetch(&mut cache).await {
                tracing::warn!(error = %e, issuer = %self.settings.issuer, "fetching OIDC signing keys failed");
            }
        }
        find(&cache)
    }

    /// The claims of a valid token of this provider; None for anything else.
    pub async fn verify(&self, token: &str) -> Option<OidcClaims> {
        let header = decode_header(token).ok()?;
        if !asymmetric(header.alg) {
            return None;
        }
        let jwk = self.key(header.kid.as_deref()).await?;
        if let Some(ka) = jwk.common.key_algorithm {
            if format!("{ka:?}") != format!("{:?}", header.alg) {
                return None;
            }
        }
        let key = DecodingKey::from_jwk(&jwk).ok()?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.settings.issuer]);
        v.set_audience(&[&self.settings.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        decode::<OidcClaims>(token, &key, &v).ok().map(|d| d.claims)
    }
}
