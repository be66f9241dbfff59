//! The Schema Registry as converters see it: register a schema under a
//! subject, fetch a schema by id. Workers reach their connector's
//! environment registry through the control plane
//! (`/internal/v1/schema-registry/environments/{env}`, worker token);
//! [`MemoryRegistry`] stands in for it in tests.
//!
//! A registry that cannot be reached, or answers 5xx or 429, is retried by
//! the client for a while; when the client gives up the call fails with
//! [`RegistryError::Unavailable`], which the runtime treats as retriable
//! (`errors.retry.timeout`, see `runtime::errors`). Any other answer is
//! final: retrying a 404 or a 422 cannot help.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

/// A registered schema as `GET /schemas/ids/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    /// `AVRO`, `JSON` or `PROTOBUF`.
    pub schema_type: String,
    pub schema: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused (incompatible 409, invalid 422, …).
    #[error("Schema Registry answered {status} (error code {code}): {message}")]
    Rejected {
        status: u16,
        code: i64,
        message: String,
    },
    /// Not reachable (or 5xx/429) for long enough that the client gives
    /// up: retriable. The text starts with [`UNAVAILABLE`].
    #[error("Schema Registry unavailable: {0}")]
    Unavailable(String),
    /// A success answer that is not what the API promises.
    #[error("Schema Registry answered unreadably: {0}")]
    Invalid(String),
}

/// How [`RegistryError::Unavailable`] reads. Converters quote registry
/// errors in their messages, so [`ConvertError::is_retriable`](super::ConvertError::is_retriable)
/// recognises an outage by this text.
pub const UNAVAILABLE: &str = "Schema Registry unavailable: ";

impl RegistryError {
    /// Whether the call may succeed later (see [`RegistryError::Unavailable`]).
    pub fn is_retriable(&self) -> bool {
        matches!(self, RegistryError::Unavailable(_))
    }
}

#[async_trait]
pub trait SchemaRegistry: Send + Sync {
    /// Registers (or finds) `schema` under `subject`; returns its id.
    async fn register(
        &self,
        subject: &str,
        schema_type: &str,
        schema: &str,
    ) -> Result<i32, RegistryError>;
    async fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, RegistryError>;
}

/// What a converter registered: the id of each schema (a Connect schema, or
/// a shape derived from a schemaless value) per subject, so each schema is
/// registered once, and a record's lookup clones nothing.
pub struct SubjectIds<K> {
    ids: Mutex<HashMap<String, HashMap<K, i32>>>,
}

impl<K: Hash + Eq + Clone> SubjectIds<K> {
    pub fn new() -> SubjectIds<K> {
        SubjectIds {
            ids: Mutex::new(HashMap::new()),
        }
    }

    /// The id of `schema` under `subject`; `register` is called (and its
    /// id kept) only the first time.
    pub async fn get_or_register<E, F: Future<Output = Result<i32, E>>>(
        &self,
        subject: &str,
        schema: &K,
        register: impl FnOnce() -> F,
    ) -> Result<i32, E> {
        let cached = lock(&self.ids)
            .get(subject)
            .and_then(|ids| ids.get(schema))
            .copied();
        if let Some(id) = cached {
            return Ok(id);
        }
        let id = register().await?;
        lock(&self.ids)
            .entry(subject.to_string())
            .or_default()
            .insert(schema.clone(), id);
        Ok(id)
    }
}

impl<K: Hash + Eq + Clone> Default for SubjectIds<K> {
    fn default() -> Self {
        SubjectIds::new()
    }
}

/// What a converter read: the writer's schema of each id, parsed once.
pub struct SchemasById<V> {
    schemas: Mutex<HashMap<i32, V>>,
}

impl<V: Clone> SchemasById<V> {
    pub fn new() -> SchemasById<V> {
        SchemasById {
            schemas: Mutex::new(HashMap::new()),
        }
    }

    /// The schema of `id`; `fetch` is called (and a success kept) only
    /// until one succeeds.
    pub async fn get_or_fetch<E, F: Future<Output = Result<V, E>>>(
        &self,
        id: i32,
        fetch: impl FnOnce() -> F,
    ) -> Result<V, E> {
        let cached = lock(&self.schemas).get(&id).cloned();
        if let Some(schema) = cached {
            return Ok(schema);
        }
        let schema = fetch().await?;
        lock(&self.schemas).insert(id, schema.clone());
        Ok(schema)
    }
}

impl<V: Clone> Default for SchemasById<V> {
    fn default() -> Self {
        SchemasById::new()
    }
}

/// A poisoned cache is still a valid cache: a panic elsewhere leaves no
/// half-written entry behind.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where this worker's registry calls go: the control plane and its token.
#[derive(Clone)]
struct Endpoint {
    base_url: String,
    token: Option<String>,
    http: reqwest::Client,
    retry_for: Duration,
}

static ENDPOINT: OnceLock<Endpoint> = OnceLock::new();

/// How long the client rides out an outage by itself (a control-plane
/// restart) before a call fails as [`RegistryError::Unavailable`].
pub const CLIENT_RETRY_FOR: Duration = Duration::from_secs(30);

/// Called once by the worker: registry calls go to this control plane.
pub fn set_endpoint(control_plane_url: &str, token: Option<String>) {
    set_endpoint_with(control_plane_url, token, CLIENT_RETRY_FOR);
}

/// [`set_endpoint`] with the client's own retry budget: with
/// `Duration::ZERO` every outage reaches the runtime's retries
/// (`errors.retry.timeout`) at once.
pub fn set_endpoint_with(control_plane_url: &str, token: Option<String>, retry_for: Duration) {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("tributary-worker/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default();
    let _ = ENDPOINT.set(Endpoint {
        base_url: control_plane_url.trim().trim_end_matches('/').to_string(),
        token: token.filter(|t| !t.is_empty()),
        http,
        retry_for,
    });
}

/// The registry of `environment` through the control plane, when the
/// worker knows its control plane and the assignment names an environment.
pub fn for_environment(environment: &str) -> Option<Arc<dyn SchemaRegistry>> {
    let e = ENDPOINT.get()?;
    if environment.is_empty() {
        return None;
    }
    Some(Arc::new(HttpRegistry {
        base: format!(
            "{}/internal/v1/schema-registry/environments/{environment}",
            e.base_url
        ),
        token: e.token.clone(),
        http: e.http.clone(),
        retry_for: e.retry_for,
    }))
}

/// The registry over HTTP. Connection failures and 5xx/429 answers are
/// retried with backoff for `retry_for`, so a control-plane restart does not
/// fail tasks or send good records to a dead letter queue; then the call
/// fails as [`RegistryError::Unavailable`].
pub struct HttpRegistry {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    retry_for: Duration,
}

impl HttpRegistry {
    pub fn new(base: &str, token: Option<String>) -> HttpRegistry {
        HttpRegistry {
            base: base.trim_end_matches('/').to_string(),
            token,
            http: reqwest::Client::new(),
            retry_for: CLIENT_RETRY_FOR,
        }
    }

    /// How long calls retry transient failures before giving up.
    pub fn retry_for(mut self, retry_for: Duration) -> HttpRegistry {
        self.retry_for = retry_for;
        self
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RegistryError> {
        let deadline = tokio::time::Instant::now() + self.retry_for;
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .header("Accept", "application/vnd.schemaregistry.v1+json");
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(b.to_string());
            }
            let transient = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    if status.is_success() {
                        return serde_json::from_str(&text).map_err(|e| {
                            RegistryError::Invalid(format!("unreadable answer to {path}: {e}"))
                        });
                    }
                    let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let rejected = RegistryError::Rejected {
                        status: status.as_u16(),
                        code: parsed["error_code"]
                            .as_i64()
                            .unwrap_or(i64::from(status.as_u16())),
                        message: parsed["message"]
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or(text),
                    };
                    if !status.is_server_error() && status.as_u16() != 429 {
                        return Err(rejected);
                    }
                    rejected.to_string()
                }
                Err(e) => format!("{path}: {e}"),
            };
            let now = tokio::time::Instant::now();
            if now + backoff > deadline {
                return Err(RegistryError::Unavailable(transient));
            }
            tracing::warn!(error = %transient, "Schema Registry call failed; retrying in {backoff:?}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

#[async_trait]
impl SchemaRegistry for HttpRegistry {
    async fn register(
        &self,
        subject: &str,
        schema_type: &str,
        schema: &str,
    ) -> Result<i32, RegistryError> {
        let mut body = json!({"schema": schema});
        if schema_type != "AVRO" {
            body["schemaType"] = json!(schema_type);
        }
        let path = format!("/subjects/{}/versions", encode_segment(subject));
        let v = self.call(reqwest::Method::POST, &path, Some(&body)).await?;
        v["id"]
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| RegistryError::Invalid(format!("no id in the answer to {path}: {v}")))
    }

    async fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, RegistryError> {
        let v = self
            .call(reqwest::Method::GET, &format!("/schemas/ids/{id}"), None)
            .await?;
        Ok(RegisteredSchema {
            schema_type: v["schemaType"].as_str().unwrap_or("AVRO").to_string(),
            schema: v["schema"].as_str().unwrap_or_default().to_string(),
        })
    }
}

/// Percent-encodes a path segment (subjects are topic names plus a suffix,
/// but a transform may route to any name).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An in-memory registry (tests; no compatibility checks): the same
/// schema gets the same id, ids count from 1.
#[derive(Default)]
pub struct MemoryRegistry {
    inner: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    schemas: Vec<RegisteredSchema>,
    subjects: HashMap<String, Vec<i32>>,
    registrations: usize,
    /// Calls still to fail as an outage (see [`MemoryRegistry::fail_next`]).
    outage: usize,
    /// When each call arrived.
    calls: Vec<tokio::time::Instant>,
}

impl MemoryRegistry {
    pub fn new() -> Arc<MemoryRegistry> {
        Arc::new(MemoryRegistry::default())
    }

    /// How many register calls reached the registry (to test caching).
    pub fn registrations(&self) -> usize {
        self.lock().registrations
    }

    /// The ids registered under `subject`, in order.
    pub fn versions(&self, subject: &str) -> Vec<i32> {
        self.lock()
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// Stores a schema directly (as another producer would have).
    pub fn insert(&self, schema_type: &str, schema: &str) -> i32 {
        let mut m = self.lock();
        m.schemas.push(RegisteredSchema {
            schema_type: schema_type.to_string(),
            schema: schema.to_string(),
        });
        m.schemas.len() as i32
    }

    /// The next `calls` calls fail as an unreachable registry would.
    pub fn fail_next(&self, calls: usize) {
        self.lock().outage = calls;
    }

    /// When each call (failed or not) arrived, in order.
    pub fn calls(&self) -> Vec<tokio::time::Instant> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a call; fails it while an outage lasts.
    fn call(&self) -> Result<std::sync::MutexGuard<'_, Memory>, RegistryError> {
        let mut m = self.lock();
        m.calls.push(tokio::time::Instant::now());
        if m.outage > 0 {
            m.outage -= 1;
            return Err(RegistryError::Unavailable(
                "connection refused (injected outage)".into(),
            ));
        }
        Ok(m)
    }
}

#[async_trait]
impl SchemaRegistry for MemoryRegistry {
    async fn register(
        &self,
        subject: &str,
        schema_type: &str,
        schema: &str,
    ) -> Result<i32, RegistryError> {
        let mut m = self.call()?;
        m.registrations += 1;
        let existing = m
            .schemas
            .iter()
            .position(|s| s.schema_type == schema_type && s.schema == schema);
        let id = match existing {
            Some(i) => i as i32 + 1,
            None => {
                m.schemas.push(RegisteredSchema {
                    schema_type: schema_type.to_string(),
                    schema: schema.to_string(),
                });
                m.schemas.len() as i32
            }
        };
        let versions = m.subjects.entry(subject.to_string()).or_default();
        if !versions.contains(&id) {
            versions.push(id);
        }
        Ok(id)
    }

    async fn schema_by_id(&self, id: i32) -> Result<RegisteredSchema, RegistryError> {
        let m = self.call()?;
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| m.schemas.get(i))
            .cloned()
            .ok_or_else(|| RegistryError::Rejected {
                status: 404,
                code: 40403,
                message: format!("Schema {id} not found"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_schema_is_registered_once_per_subject() {
        let ids = SubjectIds::<&str>::new();
        let calls = std::sync::atomic::AtomicI32::new(0);
        let register =
            || async { Ok::<_, ()>(calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1) };
        assert_eq!(ids.get_or_register("t-value", &"s", register).await, Ok(1));
        assert_eq!(ids.get_or_register("t-value", &"s", register).await, Ok(1));
        assert_eq!(ids.get_or_register("u-value", &"s", register).await, Ok(2));
        assert_eq!(ids.get_or_register("t-value", &"s2", register).await, Ok(3));
        assert_eq!(ids.get_or_register("t-value", &"s", register).await, Ok(1));
    }

    #[tokio::test]
    async fn a_failed_fetch_is_retried_on_the_next_record() {
        let schemas = SchemasById::<String>::new();
        let failed = schemas
            .get_or_fetch(7, || async { Err::<String, _>("registry down") })
            .await;
        assert_eq!(failed, Err("registry down"));
        let fetched = schemas.get_or_fetch(7, || async { Ok::<_, ()>("s".into()) });
        assert_eq!(fetched.await.as_deref(), Ok("s"));
        let cached = schemas.get_or_fetch(7, || async { Err(()) });
        assert_eq!(cached.await.as_deref(), Ok("s"));
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("orders-value"), "orders-value");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }

    #[tokio::test]
    async fn memory_registry_reuses_ids() {
        let r = MemoryRegistry::new();
        let a = r.register("t-value", "AVRO", "\"long\"").await.unwrap();
        let b = r.register("u-value", "AVRO", "\"long\"").await.unwrap();
        let c = r.register("t-value", "AVRO", "\"string\"").await.unwrap();
        assert_eq!((a, b, c), (1, 1, 2));
        assert_eq!(r.versions("t-value"), vec![1, 2]);
        assert_eq!(r.schema_by_id(2).await.unwrap().schema, "\"string\"");
        assert!(r.schema_by_id(9).await.is_err());
    }

    #[tokio::test]
    async fn http_errors_are_not_retried_but_outages_are_given_up_on() {
        let r = HttpRegistry::new("http://127.0.0.1:9", None).retry_for(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let err = r.schema_by_id(1).await.unwrap_err();
        assert!(matches!(err, RegistryError::Unavailable(_)), "{err}");
        assert!(err.is_retriable());
        assert!(err.to_string().starts_with(UNAVAILABLE), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn only_outages_are_retriable() {
        let rejected = RegistryError::Rejected {
            status: 404,
            code: 40403,
            message: "Schema 9 not found".into(),
        };
        assert!(!rejected.is_retriable());
        assert!(!RegistryError::Invalid("no id".into()).is_retriable());
        assert!(!rejected.to_string().contains(UNAVAILABLE));
        assert!(!RegistryError::Invalid("x".into())
            .to_string()
            .contains(UNAVAILABLE));
    }

    #[tokio::test]
    async fn memory_registry_outages_end() {
        let r = MemoryRegistry::new();
        let id = r.insert("AVRO", "\"long\"");
        r.fail_next(2);
        assert!(r.schema_by_id(id).await.unwrap_err().is_retriable());
        assert!(r.register("t-value", "AVRO", "\"long\"").await.is_err());
        assert_eq!(r.schema_by_id(id).await.unwrap().schema, "\"long\"");
        assert_eq!(r.calls().len(), 3);
    }
}
