//! The running HTTP sink task: each `put` becomes requests (see
//! [`batch`](super::batch)), sent one after the other. A request answered
//! with a retriable status (`retry.on.status.codes`: 429 and 5xx by
//! default), or that fails to connect or times out, is retried with
//! backoff, honouring `Retry-After`; once `max.retries` are spent the task
//! fails, and the batch (never committed) is delivered again after the
//! restart. 401, 403 and 407 fail the task (the credentials are wrong, not
//! the records). Any other non-2xx answer refuses the request's records for
//! good: they become errant records, which the runtime handles per
//! `errors.tolerance` (dead letter queue with `all`). A refused request of
//! several records is retried record by record first, so that only the
//! records the endpoint refuses are errant.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, Method, StatusCode};

use super::batch::{self, Item, Kind, Request};
use super::settings::{Auth, BackoffPolicy, HttpSettings};
use crate::connectors::{Config, ErrantRecord, SinkTask, TaskError};
use crate::record::Record;

/// Longest wait between retries computed from `retry.backoff.ms`.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest `Retry-After` honoured; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// Most characters of a response body quoted in an error.
const QUOTED_BODY: usize = 300;

pub struct HttpSinkTask {
    settings: HttpSettings,
    client: Option<Client>,
    errant: Vec<ErrantRecord>,
}

/// What became of one request.
enum Outcome {
    Delivered,
    /// Refused for good: the status and what the endpoint said.
    Refused(String),
}

impl HttpSinkTask {
    /// Builds the task without connecting (see [`SinkTask::open`]).
    pub fn new(config: &Config) -> Result<HttpSinkTask, TaskError> {
        let settings = HttpSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid HttpSink config: {e}")))?;
        Ok(HttpSinkTask {
            settings,
            client: None,
            errant: Vec::new(),
        })
    }

    fn client(&mut self) -> Result<Client, TaskError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(batch::content_type(&self.settings)),
        );
        // Configured headers win, Content-Type included.
        for (name, value) in &self.settings.headers {
            headers.insert(name.clone(), value.clone());
        }
        let client = Client::builder()
            .default_headers(headers)
            .connect_timeout(self.settings.connect_timeout)
            .timeout(self.settings.request_timeout)
            .user_agent(concat!("tributary-http-sink/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TaskError::Fatal(format!("cannot build the HTTP client: {e}")))?;
        self.client = Some(client.clone());
        Ok(client)
    }

    async fn deliver(&mut self, request: Request) -> Result<(), TaskError> {
        let body = match request.kind {
            Kind::Records => Some(batch::body(&self.settings, &request.items)),
            Kind::Delete => None,
        };
        let reason = match self.send(&request.url, &request.kind, body).await? {
            Outcome::Delivered => return Ok(()),
            Outcome::Refused(reason) => reason,
        };
        if request.items.len() == 1 {
            self.refuse(&request.url, &request.items, &reason);
            return Ok(());
        }
        // Find the records the endpoint refuses: one request each.
        tracing::info!(
            url = %redact(&request.url),
            records = request.items.len(),
            %reason,
            "a batch was refused; sending its records one by one"
        );
        for item in request.items {
            let body = Some(batch::body(&self.settings, std::slice::from_ref(&item)));
            if let Outcome::Refused(reason) = self.send(&request.url, &request.kind, body).await? {
                self.refuse(&request.url, std::slice::from_ref(&item), &reason);
            }
        }
        Ok(())
    }

    fn refuse(&mut self, url: &str, items: &[Item], reason: &str) {
        if self.settings.ignore_errors {
            tracing::warn!(
                url = %redact(url),
                records = items.len(),
                %reason,
                "the endpoint refused records; dropping them (behavior.on.error=ignore)"
            );
            return;
        }
        self.errant.extend(items.iter().map(|i| ErrantRecord {
            index: i.index,
            reason: reason.to_string(),
        }));
    }

    /// Sends one request until it is delivered, refused, or out of retries
    /// (an `Err`, which fails the task).
    async fn send(
        &mut self,
        url: &str,
        kind: &Kind,
        body: Option<String>,
    ) -> Result<Outcome, TaskError> {
        let client = self.client()?;
        let method = match kind {
            Kind::Records => self.settings.method.clone(),
            Kind::Delete => Method::DELETE,
        };
        let mut attempt: u32 = 0;
        loop {
            let mut request = client.request(method.clone(), url);
            request = match &self.settings.auth {
                Auth::None => request,
                Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
                Auth::Bearer(token) => request.bearer_auth(token.expose()),
            };
            if let Some(body) = &body {
                request = request.body(body.clone());
            }
            let (reason, retry_after) = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(Outcome::Delivered),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let text = response.text().await.unwrap_or_default();
                    let reason = describe(&method, url, status, &text);
                    if !self.settings.retry_codes.contains(status.as_u16()) {
                        if refuses_the_connector(status) {
                            // The credentials or permissions are wrong, not
                            // the records: no record would pass.
                            return Err(TaskError::Fatal(format!(
                                "{reason} (check auth.type and the credentials)"
                            )));
                        }
                        return Ok(Outcome::Refused(reason));
                    }
                    (reason, retry_after)
                }
                // Connection refused or reset, DNS, timeouts: passing, retried.
                Err(e) => (
                    format!("{method} {} failed: {}", redact(url), error_chain(&e)),
                    None,
                ),
            };
            if attempt >= self.settings.max_retries {
                let retries = if attempt > 0 {
                    format!(" (after {attempt} retries)")
                } else {
                    String::new()
                };
                return Err(TaskError::Fatal(format!("{reason}{retries}")));
            }
            let wait = retry_after
                .map(|d| d.min(MAX_RETRY_AFTER))
                .unwrap_or_else(|| self.backoff(attempt));
            attempt += 1;
            tracing::warn!(%reason, attempt, max = self.settings.max_retries, "request failed; retrying in {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        backoff(
            self.settings.backoff_policy,
            self.settings.retry_backoff,
            attempt,
            rand::thread_rng().gen::<f64>(),
        )
    }
}

/// Answers about the caller rather than the request's records.
fn refuses_the_connector(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::PROXY_AUTHENTICATION_REQUIRED
    )
}

/// The wait before retry `attempt + 1`: constant, or doubling per attempt
/// (capped) less a random part of up to half (`jitter` in [0, 1)).
fn backoff(policy: BackoffPolicy, base: Duration, attempt: u32, jitter: f64) -> Duration {
    match policy {
        BackoffPolicy::Constant => base,
        BackoffPolicy::ExponentialWithJitter => {
            let full = base
                .saturating_mul(2u32.saturating_pow(attempt.min(16)))
                .min(MAX_BACKOFF);
            full.mul_f64(1.0 - jitter.clamp(0.0, 1.0) / 2.0)
        }
    }
}

/// `Retry-After`: a number of seconds or an HTTP date.
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(at.timestamp_millis()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn describe(method: &Method, url: &str, status: StatusCode, body: &str) -> String {
    let mut quoted: String = body.trim().chars().take(QUOTED_BODY).collect();
    if body.trim().chars().count() > QUOTED_BODY {
        quoted.push('…');
    }
    if quoted.is_empty() {
        format!("{method} {} answered {status}", redact(url))
    } else {
        format!("{method} {} answered {status}: {quoted}", redact(url))
    }
}

/// The URL without its query (which may carry an API key) or user info.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.to_string()
        }
        Err(_) => url.split('?').next().unwrap_or_default().to_string(),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[async_trait]
impl SinkTask for HttpSinkTask {
    async fn open(&mut self) -> Result<(), TaskError> {
        // Nothing to connect to ahead of the first request: build the client
        // so that a TLS setup problem shows now.
        self.client()?;
        tracing::info!(method = %self.settings.method, "HTTP sink ready");
        Ok(())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        self.errant.clear();
        let plan = batch::plan(&self.settings, &records);
        self.errant.extend(plan.errant);
        for request in plan.requests {
            self.deliver(request).await?;
        }
        Ok(())
    }

    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        std::mem::take(&mut self.errant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        let p = BackoffPolicy::ExponentialWithJitter;
        assert_eq!(backoff(p, base, 0, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(p, base, 3, 0.0), Duration::from_millis(800));
        assert_eq!(backoff(p, base, 3, 0.999_999).as_millis(), 400);
        assert_eq!(backoff(p, base, 30, 0.0), MAX_BACKOFF);
        assert_eq!(backoff(BackoffPolicy::Constant, base, 5, 0.5), base);
    }

    #[test]
    fn auth_failures_fail_the_task_other_4xx_refuse_records() {
        assert!(refuses_the_connector(StatusCode::UNAUTHORIZED));
        assert!(refuses_the_connector(StatusCode::FORBIDDEN));
        assert!(!refuses_the_connector(StatusCode::BAD_REQUEST));
        assert!(!refuses_the_connector(StatusCode::UNPROCESSABLE_ENTITY));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn urls_in_messages_lose_query_and_credentials() {
        assert_eq!(
            redact("https://user:pw@api.example.com/in?api_key=secret"),
            "https://api.example.com/in"
        );
        let msg = describe(
            &Method::POST,
            "http://h.example.com/x?k=s",
            StatusCode::BAD_REQUEST,
            &"e".repeat(400),
        );
        assert!(msg.starts_with("POST http://h.example.com/x answered 400 Bad Request: eee"));
        assert!(msg.ends_with('…') && !msg.contains("k=s"));
    }
}
