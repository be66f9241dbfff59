//! Bearer tokens: HS256 tokens the control plane issues when a user signs
//! in with email and password (the web console), and — when configured —
//! tokens of an external OpenID Connect provider (single sign-on), checked
//! against its JWKS by [`super::oidc`].
//!
//! Expired, not-yet-valid, malformed, wrongly signed, wrong-issuer and
//! wrong-audience tokens, and `alg: none`, are all rejected (401).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Claims of a console token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id (`u-…`).
    pub sub: String,
    /// The user's organization.
    pub org: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    ttl: Duration,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// The audience of console tokens: the issuer's own API.
pub const AUDIENCE: &str = "tributary-api";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenIssuer {
    /// From a base64 secret of at least 32 bytes, or a random one (with a warning).
    pub fn new(secret: Option<&str>, issuer: &str, ttl: Duration) -> anyhow::Result<TokenIssuer> {
        let key = match secret.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                let raw = STANDARD
                    .decode(s)
                    .map_err(|_| anyhow::anyhow!("TRIBUTARY_JWT_SECRET must be base64"))?;
                anyhow::ensure!(
                    raw.len() >= 32,
                    "TRIBUTARY_JWT_SECRET must decode to at least 32 bytes"
                );
                raw
            }
            None => {
                tracing::warn!(
                    "TRIBUTARY_JWT_SECRET is not set: console login tokens are signed with a \
                     random key of this process and stop working after a restart or on other replicas"
                );
                let mut raw = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
                raw
            }
        };
        Ok(TokenIssuer {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            issuer: issuer.to_string(),
            ttl,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A signed token for `user` of `org`, and its lifetime in seconds.
    pub fn issue(&self, user: &str, org: &str) -> anyhow::Result<(String, u64)> {
        let iat = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_string(),
            sub: user.to_string(),
            org: org.to_string(),
            iat,
            exp: iat + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, self.ttl.as_secs()))
    }

    /// The claims of a valid console token; None for anything else.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// The unverified `iss` claim, to route a token to the issuer that can check it.
pub fn peek_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            Some(&STANDARD.encode([7u8; 32])),
            "tributary",
            Duration::from_secs(60),
        )
        .unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_others_do_not() {
        let i = issuer();
        let (t, ttl) = i.issue("u-1", "org-1").unwrap();
        assert_eq!(ttl, 60);
        let c = i.verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.org.as_str()), ("u-1", "org-1"));
        assert_eq!(peek_issuer(&t).as_deref(), Some("tributary"));

        // Tampered payload.
        let parts: Vec<&str> = t.split('.').collect();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"tributary","aud":"tributary-api","sub":"u-2","org":"org-1","iat":0,"exp":9999999999,"jti":"x"}"#);
        assert!(i
            .verify(&format!("{}.{forged}.{}", parts[0], parts[2]))
            .is_none());
        // alg: none.
        let none = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(i.verify(&format!("{none}.{}.", parts[1])).is_none());
        // Another key.
        let other = TokenIssuer::new(
            Some(&STANDARD.encode([8u8; 32])),
            "tributary",
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(other.verify(&t).is_none());
        // Another issuer.
        let elsewhere = TokenIssuer::new(
            Some(&STANDARD.encode([7u8; 32])),
            "elsewhere",
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(elsewhere.verify(&t).is_none());
        assert!(i.verify("garbage").is_none());
    }

    #[test]
    fn expired_tokens_fail() {
        let i = issuer();
        let claims = Claims {
            iss: "tributary".into(),
            aud: AUDIENCE.into(),
            sub: "u-1".into(),
            org: "o".into(),
            iat: 1,
            exp: now() - 60,
            jti: "j".into(),
        };
        let t = encode(&Header::new(Algorithm::HS256), &claims, &i.encoding).unwrap();
        assert!(i.verify(&t).is_none());
        let wrong_aud = Claims {
            aud: "someone-else".into(),
            exp: now() + 60,
            ..claims
        };
        let t = encode(&Header::new(Algorithm::HS256), &wrong_aud, &i.encoding).unwrap();
        assert!(i.verify(&t).is_none());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenIssuer::new(Some("c2hvcnQ="), "t", Duration::from_secs(1)).is_err());
    }
}
