//! An Elasticsearch STAND-IN for the tests (no Elasticsearch or OpenSearch
//! can be installed on these machines): a small in-memory HTTP server with
//! the subset of the REST API the ElasticsearchSink uses, `_bulk` with
//! per-item results and errors, index creation with mappings (`HEAD`/`PUT
//! /{index}`, `GET /{index}/_mapping`), `GET /{index}/_doc/{id}`, `_search`
//! (match-all) and `_count`, and 429s on demand ("under pressure"). A field
//! mapped as a number that gets a non-number is refused per item
//! (`mapper_parsing_exception`), as Elasticsearch refuses it.
//!
//! Also used by the end-to-end tests (tests/e2e), which include this file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

#[derive(Default)]
struct Index {
    mappings: Value,
    docs: BTreeMap<String, Value>,
}

#[derive(Default)]
struct Inner {
    indexes: BTreeMap<String, Index>,
    /// The next this many `_bulk` requests are answered 429 as a whole.
    reject_requests: u32,
    /// The next this many `_bulk` items are answered 429 each.
    reject_items: u32,
    bulk_requests: u64,
    next_id: u64,
}

/// A running stand-in; dropped with the test's runtime.
#[derive(Clone)]
pub struct EsStandIn {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl EsStandIn {
    pub async fn start() -> EsStandIn {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/_bulk", post(bulk))
            .route(
                "/{index}",
                get(index_info).head(index_head).put(create_index),
            )
            .route("/{index}/_mapping", get(mapping))
            .route("/{index}/_doc/{id}", get(get_doc))
            .route("/{index}/_search", get(search).post(search))
            .route("/{index}/_count", get(count).post(count))
            .route("/{index}/_bulk", post(bulk))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Elasticsearch stand-in");
        let addr: SocketAddr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        EsStandIn {
            url: format!("http://{addr}"),
            inner,
        }
    }

    /// Answers the next `n` `_bulk` requests with 429 Too Many Requests.
    pub fn reject_requests(&self, n: u32) {
        self.inner.lock().unwrap().reject_requests = n;
    }

    /// Answers the next `n` `_bulk` items with a per-item 429.
    pub fn reject_items(&self, n: u32) {
        self.inner.lock().unwrap().reject_items = n;
    }

    pub fn bulk_requests(&self) -> u64 {
        self.inner.lock().unwrap().bulk_requests
    }

    /// The documents of `index` by id.
    pub fn docs(&self, index: &str) -> BTreeMap<String, Value> {
        self.inner
            .lock()
            .unwrap()
            .indexes
            .get(index)
            .map(|i| i.docs.clone())
            .unwrap_or_default()
    }

    pub fn mappings(&self, index: &str) -> Option<Value> {
        self.inner
            .lock()
            .unwrap()
            .indexes
            .get(index)
            .map(|i| i.mappings.clone())
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"type": "index_not_found_exception", "reason": format!("no such index [{what}]")}, "status": 404})),
    )
        .into_response()
}

async fn index_head(State(s): Shared, Path(index): Path<String>) -> StatusCode {
    if s.lock().unwrap().indexes.contains_key(&index) {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn index_info(State(s): Shared, Path(index): Path<String>) -> Response {
    match s.lock().unwrap().indexes.get(&index) {
        Some(i) => Json(json!({index.clone(): {"mappings": i.mappings}})).into_response(),
        None => not_found(&index),
    }
}

async fn create_index(State(s): Shared, Path(index): Path<String>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let mut inner = s.lock().unwrap();
    if inner.indexes.contains_key(&index) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"type": "resource_already_exists_exception", "reason": format!("index [{index}] already exists")}, "status": 400})),
        )
            .into_response();
    }
    inner.indexes.insert(
        index.clone(),
        Index {
            mappings: body.get("mappings").cloned().unwrap_or(json!({})),
            docs: BTreeMap::new(),
        },
    );
    Json(json!({"acknowledged": true, "index": index})).into_response()
}

async fn mapping(State(s): Shared, Path(index): Path<String>) -> Response {
    index_info(State(s), Path(index)).await
}

async fn get_doc(State(s): Shared, Path((index, id)): Path<(String, String)>) -> Response {
    let inner = s.lock().unwrap();
    match inner.indexes.get(&index).and_then(|i| i.docs.get(&id)) {
        Some(doc) => {
            Json(json!({"_index": index, "_id": id, "found": true, "_source": doc})).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"_index": index, "_id": id, "found": false})),
        )
            .into_response(),
    }
}

/// A match-all search (any query is treated as match-all).
async fn search(State(s): Shared, Path(index): Path<String>) -> Response {
    let inner = s.lock().unwrap();
    let Some(i) = inner.indexes.get(&index) else {
        return not_found(&index);
    };
    let hits: Vec<Value> = i
        .docs
        .iter()
        .map(|(id, d)| json!({"_index": index, "_id": id, "_source": d}))
        .collect();
    Json(json!({"hits": {"total": {"value": hits.len(), "relation": "eq"}, "hits": hits}}))
        .into_response()
}

async fn count(State(s): Shared, Path(index): Path<String>) -> Response {
    let inner = s.lock().unwrap();
    match inner.indexes.get(&index) {
        Some(i) => Json(json!({"count": i.docs.len()})).into_response(),
        None => not_found(&index),
    }
}

/// Why a document does not fit the index's mappings, if it does not.
fn misfit(mappings: &Value, doc: &Value) -> Option<String> {
    let props = mappings.get("properties")?.as_object()?;
    let doc = doc.as_object()?;
    for (field, m) in props {
        let (Some(v), Some(ty)) = (doc.get(field), m.get("type").and_then(Value::as_str)) else {
            continue;
        };
        let numeric = matches!(
            ty,
            "byte" | "short" | "integer" | "long" | "float" | "double"
        );
        let ok = v.is_null()
            || !numeric
            || v.is_number()
            || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok());
        if !ok {
            return Some(format!(
                "failed to parse field [{field}] of type [{ty}]: {v}"
            ));
        }
    }
    None
}

async fn bulk(State(s): Shared, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut inner = s.lock().unwrap();
    inner.bulk_requests += 1;
    if inner.reject_requests > 0 {
        inner.reject_requests -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {"type": "es_rejected_execution_exception", "reason": "rejected: the stand-in is under pressure"}, "status": 429})),
        )
            .into_response();
    }
    let mut items = Vec::new();
    let mut errors = false;
    while let Some(action_line) = lines.next() {
        let Ok(Value::Object(action)) = serde_json::from_str::<Value>(action_line) else {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": {"type": "parse_exception", "reason": "bad action line"}, "status": 400}))).into_response();
        };
        let Some((op, meta)) = action.into_iter().next() else {
            continue;
        };
        let index = meta["_index"].as_str().unwrap_or("").to_string();
        let id = meta["_id"].as_str().map(str::to_string);
        let source: Option<Value> = if op == "delete" {
            None
        } else {
            lines.next().and_then(|l| serde_json::from_str(l).ok())
        };
        let item = |status: u16, result: Option<&str>, error: Option<(&str, String)>, id: &str| {
            let mut m = Map::new();
            m.insert("_index".into(), json!(index));
            m.insert("_id".into(), json!(id));
            m.insert("status".into(), json!(status));
            if let Some(r) = result {
                m.insert("result".into(), json!(r));
            }
            if let Some((ty, reason)) = error {
                m.insert("error".into(), json!({"type": ty, "reason": reason}));
            }
            json!({op.clone(): m})
        };
        if inner.reject_items > 0 {
            inner.reject_items -= 1;
            errors = true;
            items.push(item(
                429,
                None,
                Some((
                    "es_rejected_execution_exception",
                    "rejected: the stand-in is under pressure".into(),
                )),
                id.as_deref().unwrap_or(""),
            ));
            continue;
        }
        let id = id.unwrap_or_else(|| {
            inner.next_id += 1;
            format!("auto-{}", inner.next_id)
        });
        let idx = inner.indexes.entry(index.clone()).or_default();
        match op.as_str() {
            "delete" => match idx.docs.remove(&id) {
                Some(_) => items.push(item(200, Some("deleted"), None, &id)),
                None => items.push(item(404, Some("not_found"), None, &id)),
            },
            "index" | "create" | "update" => {
                let doc = match (op.as_str(), source) {
                    ("update", Some(u)) => {
                        let mut merged = idx.docs.get(&id).cloned().unwrap_or(json!({}));
                        if let (Some(m), Some(d)) = (merged.as_object_mut(), u["doc"].as_object()) {
                            for (k, v) in d {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                        merged
                    }
                    (_, Some(d)) => d,
                    (_, None) => {
                        errors = true;
                        items.push(item(
                            400,
                            None,
                            Some(("parse_exception", "missing document".into())),
                            &id,
                        ));
                        continue;
                    }
                };
                if let Some(reason) = misfit(&idx.mappings, &doc) {
                    errors = true;
                    items.push(item(
                        400,
                        None,
                        Some(("mapper_parsing_exception", reason)),
                        &id,
                    ));
                    continue;
                }
                let created = idx.docs.insert(id.clone(), doc).is_none();
                items.push(item(
                    if created { 201 } else { 200 },
                    Some(if created { "created" } else { "updated" }),
                    None,
                    &id,
                ));
            }
            other => {
                errors = true;
                items.push(item(
                    400,
                    None,
                    Some((
                        "illegal_argument_exception",
                        format!("unknown action [{other}]"),
                    )),
                    &id,
                ));
            }
        }
    }
    Json(json!({"took": 1, "errors": errors, "items": items})).into_response()
}
