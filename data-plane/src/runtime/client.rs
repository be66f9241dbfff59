//! The worker's HTTP client for the control plane's worker protocol.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::{
    heartbeat_path, HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse,
    StoreUnavailable, REGISTER_PATH,
};

/// Bodies of error answers are cut to this length in messages.
const MAX_ERROR_BODY: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The control plane no longer knows this worker's lease (410 Gone or
    /// 404): every task must stop and the worker must register again.
    #[error("lease lost: control plane answered {0}")]
    LeaseLost(StatusCode),
    /// The control plane answers but its store does not (protocol revision
    /// 2): the worker keeps its tasks.
    #[error("control plane's store is unavailable")]
    StoreUnavailable(StoreUnavailable),
    #[error("control plane answered {status} to {path}: {body}")]
    Rejected {
        path: String,
        status: StatusCode,
        body: String,
    },
    #[error("control plane request to {path} failed: {}", error_chain(.source))]
    Http {
        path: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("invalid control plane URL {url:?}: expected http:// or https://")]
    BadUrl { url: String },
    #[error("cannot build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// An error with its causes, since reqwest's own message leaves out the
/// interesting part ("connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[derive(Clone)]
pub struct ControlPlaneClient {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

impl std::fmt::Debug for ControlPlaneClient {
    // Hand-written so the token never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlaneClient")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "****"))
            .finish()
    }
}

impl ControlPlaneClient {
    pub fn new(base_url: &str, token: Option<String>) -> Result<ControlPlaneClient, ClientError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::BadUrl { url: base_url });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("tributary-worker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::Build)?;
        Ok(ControlPlaneClient {
            http,
            base_url,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    pub async fn register(
        &self,
        req: &RegisterRequest,
        timeout: Duration,
    ) -> Result<RegisterResponse, ClientError> {
        self.post(REGISTER_PATH, req, timeout).await
    }

    /// Renews the lease, reports task states and returns the full desired
    /// assignment. `timeout` bounds a long-polled answer.
    pub async fn heartbeat(
        &self,
        worker_id: &str,
        req: &HeartbeatRequest,
        timeout: Duration,
    ) -> Result<HeartbeatResponse, ClientError> {
        self.post(&heartbeat_path(worker_id), req, timeout).await
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<R, ClientError> {
        let http_err = |source| ClientError::Http {
            path: path.to_string(),
            source,
        };
        let mut request = self
            .http
            .post(format!("{}{}", self.base_url, path))
            .timeout(timeout)
            .json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(http_err)?;
        let status = response.status();
        if status == StatusCode::GONE || status == StatusCode::NOT_FOUND {
            return Err(ClientError::LeaseLost(status));
        }
        if !status.is_success() {
            let mut body = response.text().await.unwrap_or_default();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                if let Some(u) = store_unavailable(&body) {
                    return Err(ClientError::StoreUnavailable(u));
                }
            }
            if body.trim().is_empty() {
                body = "(no body)".to_string();
            }
            if body.len() > MAX_ERROR_BODY {
                let cut = (0..=MAX_ERROR_BODY)
                    .rev()
                    .find(|i| body.is_char_boundary(*i))
                    .unwrap_or(0);
                body.truncate(cut);
                body.push('…');
            }
            return Err(ClientError::Rejected {
                path: path.to_string(),
                status,
                body,
            });
        }
        response.json::<R>().await.map_err(http_err)
    }
}

/// The typed body of a 503 that says the store is down; any other 503 is a
/// plain failure.
fn store_unavailable(body: &str) -> Option<StoreUnavailable> {
    serde_json::from_str::<StoreUnavailable>(body)
        .ok()
        .filter(|u| u.store_unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_typed_503_body_means_store_unavailable() {
        let u =
            store_unavailable(r#"{"store_unavailable":true,"lease_ms":3000,"heartbeat_ms":500}"#)
                .unwrap();
        assert_eq!(u.lease_ms, 3000);
        assert!(
            store_unavailable(r#"{"store_unavailable":false,"lease_ms":1,"heartbeat_ms":1}"#)
                .is_none()
        );
        assert!(store_unavailable(r#"{"errors":[{"status":"503"}]}"#).is_none());
        assert!(store_unavailable("upstream down").is_none());
    }

    #[test]
    fn rejects_urls_without_scheme_and_hides_token() {
        assert!(matches!(
            ControlPlaneClient::new("localhost:8080", None),
            Err(ClientError::BadUrl { .. })
        ));
        let c = ControlPlaneClient::new("http://127.0.0.1:8080/", Some("s3cret".into())).unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
