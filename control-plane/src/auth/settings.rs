//! Identity-and-access settings of `control-plane serve` (flattened into
//! [`crate::config::ServeArgs`]): secrets key, tokens, single sign-on, rate
//! limits, body size and quotas.

use clap::Args;

/// The keys that seal stored secrets; shared by `serve` and `rotate-secrets`.
#[derive(Debug, Clone, Args)]
pub struct SecretKeyArgs {
    /// Key that seals stored secrets (cluster credentials, connector passwords): base64 of 32
    /// bytes, e.g. `openssl rand -base64 32`. Generated per process when unset (with a warning):
    /// sealed values then do not survive a restart.
    #[arg(long, env = "TRIBUTARY_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: Option<String>,

    /// Earlier keys (comma-separated), still accepted for opening secrets while
    /// `control-plane rotate-secrets` re-seals them with the current key.
    #[arg(
        long,
        env = "TRIBUTARY_SECRETS_KEY_PREVIOUS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub secrets_key_previous: Vec<String>,
}

impl SecretKeyArgs {
    pub fn secret_box(&self) -> Result<crate::secrets::SecretBox, crate::secrets::SecretError> {
        crate::secrets::SecretBox::from_config(
            self.secrets_key.as_deref(),
            &self.secrets_key_previous,
        )
    }
}

#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    #[command(flatten)]
    pub keys: SecretKeyArgs,

    /// Sustained requests per second allowed per API key or signed-in user (0: no limit).
    #[arg(long, env = "TRIBUTARY_RATE_LIMIT_PER_SECOND", default_value_t = 20)]
    pub rate_limit_per_second: u32,

    /// Requests a key may burst above the sustained rate (the `X-RateLimit-Limit`).
    #[arg(long, env = "TRIBUTARY_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,

    /// Failed sign-ins (wrong secret or password) allowed per key id or email per minute before
    /// further attempts are refused with 429 for a while.
    #[arg(long, env = "TRIBUTARY_AUTH_FAILURES_PER_MINUTE", default_value_t = 20)]
    pub auth_failures_per_minute: u32,

    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, env = "TRIBUTARY_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// How long registering a cluster waits for it to answer a metadata request, in milliseconds.
    #[arg(
        long,
        env = "TRIBUTARY_CLUSTER_CHECK_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub cluster_check_timeout_ms: u64,

    /// Key that signs console login tokens (HS256): base64 of at least 32 bytes. Generated per
    /// process when unset (tokens then do not survive a restart or cross replicas).
    #[arg(long, env = "TRIBUTARY_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of console login tokens, in seconds.
    #[arg(long, env = "TRIBUTARY_JWT_TTL_SECONDS", default_value_t = 3600)]
    pub jwt_ttl_seconds: u64,

    /// Issuer (`iss`) and audience (`aud`) of console login tokens.
    #[arg(long, env = "TRIBUTARY_JWT_ISSUER", default_value = "tributary")]
    pub jwt_issuer: String,

    /// Issuer of an external OpenID Connect provider whose tokens are accepted (single sign-on).
    /// Its tokens' `email` claim names the Tributary user. Unset: SSO is off.
    #[arg(long, env = "TRIBUTARY_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// Audience (`aud`) the provider's tokens must carry (required with TRIBUTARY_OIDC_ISSUER).
    #[arg(long, env = "TRIBUTARY_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,

    /// The provider's JWKS URL (default: `jwks_uri` from ISSUER/.well-known/openid-configuration).
    #[arg(long, env = "TRIBUTARY_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,

    /// How long fetched signing keys are trusted before they are fetched again, in seconds (an
    /// unknown key id triggers an earlier refetch, at most every 10 seconds).
    #[arg(long, env = "TRIBUTARY_OIDC_JWKS_TTL_SECONDS", default_value_t = 300)]
    pub oidc_jwks_ttl_seconds: u64,

    #[command(flatten)]
    pub quotas: QuotaArgs,
}

/// Count limits per tenant; exceeding one is a 402 `quota_exceeded` naming it.
#[derive(Debug, Clone, Args)]
pub struct QuotaArgs {
    #[arg(
        long,
        env = "TRIBUTARY_QUOTA_ENVIRONMENTS_PER_ORG",
        default_value_t = 50
    )]
    pub environments_per_org: i64,
    #[arg(
        long,
        env = "TRIBUTARY_QUOTA_CLUSTERS_PER_ENVIRONMENT",
        default_value_t = 20
    )]
    pub clusters_per_environment: i64,
    #[arg(
        long,
        env = "TRIBUTARY_QUOTA_SERVICE_ACCOUNTS_PER_ORG",
        default_value_t = 200
    )]
    pub service_accounts_per_org: i64,
    #[arg(long, env = "TRIBUTARY_QUOTA_API_KEYS_PER_ORG", default_value_t = 500)]
    pub api_keys_per_org: i64,
    #[arg(
        long,
        env = "TRIBUTARY_QUOTA_CONNECTORS_PER_CLUSTER",
        default_value_t = 100
    )]
    pub connectors_per_cluster: i64,
    /// Sum of `tasks.max` over an organization's connectors.
    #[arg(long, env = "TRIBUTARY_QUOTA_TASKS_PER_ORG", default_value_t = 500)]
    pub tasks_per_org: i64,
}
