//! The running Elasticsearch sink task: each `put` becomes `_bulk`
//! requests of at most `batch.size` operations, up to
//! `max.in.flight.requests` at a time. A request answered with 429 or 5xx
//! (or that fails to connect) is sent again, and so are the items a
//! `_bulk` answer refuses with 429 or 5xx, with backoff, up to
//! `max.retries`; then the batch is handed back (a retriable error) and
//! delivered again, so offsets are committed only once Elasticsearch
//! acknowledged every item. Items refused for good (4xx: a malformed
//! document) are errant records, handled per `errors.tolerance` (the dead
//! letter queue with `all`), or skipped with
//! `behavior.on.malformed.documents=warn|ignore`. 401 and 403 fail the task.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use rand::Rng;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::bulk::{self, ItemResult, Operation};
use super::settings::EsSettings;
use crate::connectors::{Config, ErrantRecord, SinkTask, TaskError};
use crate::record::Record;

const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub struct EsSinkTask {
    s: EsSettings,
    client: Option<Client>,
    /// Indexes known to exist.
    indexes: HashSet<String>,
    errant: Vec<ErrantRecord>,
}

impl EsSinkTask {
    pub fn new(config: &Config) -> Result<EsSinkTask, TaskError> {
        let s = EsSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid ElasticsearchSink config: {e}")))?;
        Ok(EsSinkTask {
            s,
            client: None,
            indexes: HashSet::new(),
            errant: Vec::new(),
        })
    }

    fn client(&mut self) -> Result<Client, TaskError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let c = Client::builder()
            .timeout(self.s.read_timeout)
            .user_agent(concat!(
                "tributary-elasticsearch-sink/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| TaskError::Fatal(format!("cannot build the HTTP client: {e}")))?;
        self.client = Some(c.clone());
        Ok(c)
    }

    fn request(
        &self,
        client: &Client,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        request(&self.s, client, method, path)
    }

    /// Creates a missing index with mappings from the schema (not for data
    /// streams, which come from index templates).
    async fn ensure_index(
        &mut self,
        client: &Client,
        index: &str,
        record: &Record,
    ) -> Result<(), TaskError> {
        if self.indexes.contains(index) || self.s.data_stream.is_some() {
            return Ok(());
        }
        let head = self
            .request(client, reqwest::Method::HEAD, &format!("/{index}"))
            .send()
            .await
            .map_err(|e| TaskError::Retriable(format!("checking index {index}: {e}")))?;
        check_auth(head.status())?;
        if head.status() == StatusCode::NOT_FOUND {
            let body = match (&record.value_schema, self.s.schema_ignore) {
                (Some(schema), false) if !schema.fields().is_empty() => bulk::mappings(schema),
                _ => serde_json::json!({}),
            };
            let put = self
                .request(client, reqwest::Method::PUT, &format!("/{index}"))
                .json(&body)
                .send()
                .await
                .map_err(|e| TaskError::Retriable(format!("creating index {index}: {e}")))?;
            let status = put.status();
            check_auth(status)?;
            let text = put.text().await.unwrap_or_default();
            // Another task may have created it meanwhile.
            if !status.is_success() && !text.contains("resource_already_exists_exception") {
                return Err(TaskError::Retriable(format!(
                    "creating index {index}: {status} {text}"
                )));
            }
        }
        self.indexes.insert(index.to_string());
        Ok(())
    }
}

fn request(
    s: &EsSettings,
    client: &Client,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    let rb = client.request(method, format!("{}{path}", s.url));
    match &s.username {
        Some(u) => rb.basic_auth(u, Some(s.password.expose())),
        None => rb,
    }
}

/// The wait before retry `attempt + 1`: doubling per attempt (capped), less
/// a random part of up to half.
fn backoff(s: &EsSettings, attempt: u32) -> Duration {
    let full = s
        .retry_backoff
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(MAX_BACKOFF);
    full.mul_f64(1.0 - rand::thread_rng().gen::<f64>() / 2.0)
}

/// Sends one `_bulk` request of `ops`, retrying what may succeed later;
/// returns the errant records (refused items).
async fn send_bulk(
    s: Arc<EsSettings>,
    client: Client,
    ops: Vec<Operation>,
) -> Result<Vec<(usize, String)>, TaskError> {
    let mut pending = ops;
    let mut refused = Vec::new();
    let mut attempt = 0u32;
    loop {
        let body: String = pending.iter().map(|o| o.body.as_str()).collect();
        let sent = request(&s, &client, reqwest::Method::POST, "/_bulk")
            .header("Content-Type", "application/x-ndjson")
            .body(body)
            .send()
            .await;
        let retry_reason = match sent {
            Err(e) => format!("_bulk request failed: {e}"),
            Ok(resp) => {
                let status = resp.status();
                check_auth(status)?;
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    format!("_bulk answered {status}")
                } else if !status.is_success() {
                    let text = resp.text().await.unwrap_or_default();
                    return Err(TaskError::Fatal(format!("_bulk answered {status}: {text}")));
                } else {
                    let answer: Value = resp.json().await.map_err(|e| {
                        TaskError::Retriable(format!("reading the _bulk answer: {e}"))
                    })?;
                    let refs: Vec<&Operation> = pending.iter().collect();
                    let results = bulk::results(&answer, &refs);
                    let mut again = Vec::new();
                    let mut why = String::new();
                    for (op, r) in pending.iter().zip(results) {
                        match r {
                            ItemResult::Done => {}
                            ItemResult::Retry(m) => {
                                why = m;
                                again.push(op.clone());
                            }
                            ItemResult::Refused(m) => refused.push((op.record, m)),
                        }
                    }
                    if again.is_empty() {
                        return Ok(refused);
                    }
                    pending = again;
                    format!("{} items not taken: {why}", pending.len())
                }
            }
        };
        if attempt >= s.max_retries {
            return Err(TaskError::Retriable(format!(
                "{retry_reason} (after {} retries)",
                s.max_retries
            )));
        }
        let wait = backoff(&s, attempt);
        tracing::warn!(attempt = attempt + 1, ?wait, "{retry_reason}; retrying");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

fn check_auth(status: StatusCode) -> Result<(), TaskError> {
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        return Err(TaskError::Fatal(format!(
            "Elasticsearch refused the credentials: {status}"
        )));
    }
    Ok(())
}

#[async_trait]
impl SinkTask for EsSinkTask {
    async fn open(&mut self) -> Result<(), TaskError> {
        self.client().map(|_| ())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        self.errant.clear();
        let client = self.client()?;
        let ops = bulk::operations(&self.s, &records)?;
        for op in &ops {
            if !op.delete {
                self.ensure_index(&client, &op.index, &records[op.record])
                    .await?;
            }
        }
        let chunks: Vec<Vec<Operation>> = ops
            .chunks(self.s.batch_size)
            .map(<[Operation]>::to_vec)
            .collect();
        let s = Arc::new(self.s.clone());
        let results: Vec<Result<Vec<(usize, String)>, TaskError>> = stream::iter(chunks)
            .map(|chunk| send_bulk(Arc::clone(&s), client.clone(), chunk))
            .buffer_unordered(self.s.max_in_flight)
            .collect()
            .await;
        let mut refused = Vec::new();
        for r in results {
            refused.extend(r?);
        }
        for (index, reason) in refused {
            if self.s.malformed_fail {
                self.errant.push(ErrantRecord { index, reason });
            } else {
                tracing::warn!(record = index, %reason, "document refused; skipped (behavior.on.malformed.documents)");
            }
        }
        Ok(())
    }

    fn take_errant_records(&mut self) -> Vec<ErrantRecord> {
        std::mem::take(&mut self.errant)
    }
}
