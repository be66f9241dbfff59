//! The cross-tenant matrix over our own OpenAPI document
//! (`openapi/openapi.json`): every operation it documents must have an entry
//! here that says how another tenant's credentials are kept out of it, and
//! every entry is exercised with each credential of the attacking tenant.
//! A new endpoint without an entry fails the test, and so does an entry
//! whose endpoint is gone.
//!
//! Every answer is also checked against the document: its status must be
//! documented for the operation and its body must validate against the
//! documented schema, so the document cannot drift from the wire.
//!
//! The victim's Schema Registry holds a subject and a schema
//! ([`seed_registry`]), so its operations are refused with real data behind
//! the names, and every one of them is listed in [`REGISTRY_OPERATIONS`].

use std::collections::BTreeSet;

use serde_json::{json, Value};
use tributary_tests::kafka_bootstrap;

use super::schemas::{self, Operation};
use super::{Caller, Ids};

/// The victim's registry: one subject, whose first version is schema 1 of
/// the environment (ids are numbered per environment), with a
/// subject-level compatibility level.
pub const REGISTRY_SUBJECT: &str = "tenant-matrix-value";
const REGISTRY_SCHEMA_ID: &str = "1";
const REGISTRY_VERSION: &str = "1";
/// A field name only the victim's schema has: no answer to another tenant may show it.
const REGISTRY_MARKER: &str = "victimOnlyField";
const REGISTRY: &str = "/schema-registry/v1/environments/{env}";
/// The Schema Registry's media type, of its answers and errors.
const REGISTRY_MEDIA_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Every Schema Registry operation of our document. Each names the
/// environment in its path; one added to the document but not here fails
/// the matrix, and one here but gone from the document fails it too.
pub const REGISTRY_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/schema-registry/v1/environments/{env}/subjects"),
    ("POST", "/schema-registry/v1/environments/{env}/subjects/{subject}"),
    ("DELETE", "/schema-registry/v1/environments/{env}/subjects/{subject}"),
    ("GET", "/schema-registry/v1/environments/{env}/subjects/{subject}/versions"),
    ("POST", "/schema-registry/v1/environments/{env}/subjects/{subject}/versions"),
    ("GET", "/schema-registry/v1/environments/{env}/subjects/{subject}/versions/{version}"),
    ("GET", "/schema-registry/v1/environments/{env}/subjects/{subject}/versions/{version}/schema"),
    ("GET", "/schema-registry/v1/environments/{env}/schemas/types"),
    ("GET", "/schema-registry/v1/environments/{env}/schemas/ids/{id}"),
    ("GET", "/schema-registry/v1/environments/{env}/schemas/ids/{id}/schema"),
    ("GET", "/schema-registry/v1/environments/{env}/schemas/ids/{id}/versions"),
    ("GET", "/schema-registry/v1/environments/{env}/schemas/ids/{id}/subjects"),
    ("GET", "/schema-registry/v1/environments/{env}/config"),
    ("PUT", "/schema-registry/v1/environments/{env}/config"),
    ("GET", "/schema-registry/v1/environments/{env}/config/{subject}"),
    ("PUT", "/schema-registry/v1/environments/{env}/config/{subject}"),
    ("DELETE", "/schema-registry/v1/environments/{env}/config/{subject}"),
    ("POST", "/schema-registry/v1/environments/{env}/compatibility/subjects/{subject}/versions"),
    ("POST", "/schema-registry/v1/environments/{env}/compatibility/subjects/{subject}/versions/{version}"),
];

/// The victim's Avro schema.
fn registry_schema() -> String {
    json!({"type": "record", "name": "Secret", "namespace": "victim",
           "fields": [{"name": REGISTRY_MARKER, "type": "string"}]})
    .to_string()
}

/// What another tenant sends to a registry write: a body that would
/// succeed in its own registry, so only the environment check stands
/// between it and the victim's data.
fn registry_body(path: &str) -> Value {
    if path.contains("/config") {
        json!({"compatibility": "NONE"})
    } else {
        let schema = json!({"type": "record", "name": "Intruder",
                            "fields": [{"name": "pwned", "type": "string", "default": ""}]});
        json!({"schema": schema.to_string()})
    }
}

/// Fills the victim's registry (`owner` is the victim's administrator,
/// `env` its environment): [`REGISTRY_SUBJECT`] with one version, schema
/// [`REGISTRY_SCHEMA_ID`], and a subject-level level FULL.
pub async fn seed_registry(owner: &Caller, env: &str) -> anyhow::Result<()> {
    let base = REGISTRY.replace("{env}", env);
    let registered = owner
        .expect(
            200,
            "POST",
            &format!("{base}/subjects/{REGISTRY_SUBJECT}/versions"),
            Some(json!({ "schema": registry_schema() })),
        )
        .await?;
    anyhow::ensure!(
        registered["id"].as_i64() == REGISTRY_SCHEMA_ID.parse().ok(),
        "the victim's first schema must be id {REGISTRY_SCHEMA_ID}: {registered}"
    );
    owner
        .expect(
            200,
            "PUT",
            &format!("{base}/config/{REGISTRY_SUBJECT}"),
            Some(json!({"compatibility": "FULL"})),
        )
        .await?;
    Ok(())
}

/// The victim's registry is as [`seed_registry`] left it: the attempts of
/// other tenants (registering, deleting, changing levels) changed nothing.
async fn assert_registry_intact(owner: &Caller, env: &str) -> anyhow::Result<()> {
    let base = REGISTRY.replace("{env}", env);
    let subjects = owner
        .expect(200, "GET", &format!("{base}/subjects"), None)
        .await?;
    anyhow::ensure!(
        subjects == json!([REGISTRY_SUBJECT]),
        "the victim's subjects changed: {subjects}"
    );
    let latest = owner
        .expect(
            200,
            "GET",
            &format!("{base}/subjects/{REGISTRY_SUBJECT}/versions/latest"),
            None,
        )
        .await?;
    // The registry stores the schema's canonical form: compare as JSON.
    let stored: Value =
        serde_json::from_str(latest["schema"].as_str().unwrap_or_default()).unwrap_or_default();
    let seeded: Value = serde_json::from_str(&registry_schema())?;
    anyhow::ensure!(
        latest["version"].as_i64() == REGISTRY_VERSION.parse().ok()
            && latest["id"].as_i64() == REGISTRY_SCHEMA_ID.parse().ok()
            && stored == seeded,
        "the victim's subject changed: {latest}"
    );
    for (path, level) in [
        (format!("{base}/config/{REGISTRY_SUBJECT}"), "FULL"),
        (format!("{base}/config"), "BACKWARD"),
    ] {
        let config = owner.expect(200, "GET", &path, None).await?;
        anyhow::ensure!(
            config["compatibilityLevel"] == level,
            "GET {path}: the victim's level changed: {config}"
        );
    }
    Ok(())
}

/// How an operation keeps another tenant out.
pub enum Entry {
    /// Names resources in its path (or required query): the victim's ids
    /// and ids that exist nowhere are refused alike (same 4xx, an error
    /// body), so answers reveal neither data nor existence.
    Named,
    /// Names resources in its body (built from the ids): refused alike, as [`Entry::Named`].
    NamedInBody(fn(&Ids<'_>) -> Value),
    /// A collection of the caller's own organization: 200 (or 403) and
    /// never one of the victim's ids.
    OwnList,
    /// Creates in the caller's own organization, whose body can name
    /// nothing of another (sent empty: refused as invalid or forbidden).
    OwnCreate,
    /// The audit log: only the caller's organization's events, none by the
    /// victim's principals.
    OwnEvents,
    /// The operator's alone: tenants get 403 or 404.
    OperatorOnly,
    /// Needs no credentials and shows no tenant's data.
    Public,
}

/// The matrix: one entry per operation of our document.
pub fn entry(method: &str, path: &str) -> Option<Entry> {
    use Entry::*;
    let connect = "/connect/v1/environments/{environment_id}/clusters/{kafka_cluster_id}";
    let compat = "/compat/connect/environments/";
    Some(match (method, path) {
        ("GET", "/health") | ("GET", "/ready") | ("POST", "/auth/v1/login") => Public,
        ("GET", "/metrics") | ("GET", "/ops/v1/workers") | ("GET", "/ops/v1/reconciler") => {
            OperatorOnly
        }
        ("GET" | "PATCH", "/ops/v1/organizations/{id}") => Named,
        ("POST", "/org/v2/organizations") => OperatorOnly,
        ("GET", "/org/v2/organizations")
        | ("GET", "/org/v2/environments")
        | ("GET", "/iam/v2/service-accounts")
        | ("GET", "/iam/v2/users")
        | ("GET", "/iam/v2/api-keys")
        | ("GET", "/iam/v2/role-bindings") => OwnList,
        ("GET", "/audit/v1/events") => OwnEvents,
        ("POST", "/org/v2/environments")
        | ("POST", "/iam/v2/service-accounts")
        | ("POST", "/iam/v2/users") => OwnCreate,
        ("GET" | "PATCH", "/org/v2/organizations/{id}")
        | ("GET" | "PATCH" | "DELETE", "/org/v2/environments/{id}")
        | ("GET", "/cmk/v2/clusters")
        | ("GET" | "PATCH" | "DELETE", "/cmk/v2/clusters/{id}")
        | ("GET" | "PATCH" | "DELETE", "/iam/v2/service-accounts/{id}")
        | ("GET" | "PATCH" | "DELETE", "/iam/v2/users/{id}")
        | ("GET" | "PATCH" | "DELETE", "/iam/v2/api-keys/{id}")
        | ("GET" | "DELETE", "/iam/v2/role-bindings/{id}") => Named,
        ("POST", "/cmk/v2/clusters") => NamedInBody(|ids| {
            json!({"spec": {"display_name": "intruder", "environment": {"id": ids.env},
                            "kafka_bootstrap_endpoint": kafka_bootstrap()}})
        }),
        ("POST", "/iam/v2/api-keys") => NamedInBody(|ids| {
            json!({"spec": {"display_name": "intruder", "owner": {"id": ids.sa},
                            "resource": {"id": ids.cluster, "environment": ids.env}}})
        }),
        ("POST", "/iam/v2/role-bindings") => NamedInBody(|ids| {
            json!({"principal": format!("User:{}", ids.sa), "role_name": "OrganizationAdmin",
                   "crn_pattern": format!("crn://confluent.cloud/organization={}", ids.org)})
        }),
        // Every Connect v1 and Kafka-Connect-compatible operation names the
        // environment and cluster in its path.
        (_, p) if p.starts_with(connect) || p.starts_with(compat) => Named,
        // Every Schema Registry operation names the environment in its path.
        (m, p) if REGISTRY_OPERATIONS.contains(&(m, p)) => Named,
        _ => return None,
    })
}

/// Every (method, path) the matrix has an entry for, to find stale entries.
fn known() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GET", "/health"),
        ("GET", "/ready"),
        ("POST", "/auth/v1/login"),
        ("GET", "/metrics"),
        ("GET", "/ops/v1/workers"),
        ("GET", "/ops/v1/reconciler"),
        ("POST", "/org/v2/organizations"),
        ("GET", "/audit/v1/events"),
        ("POST", "/cmk/v2/clusters"),
        ("POST", "/iam/v2/api-keys"),
        ("POST", "/iam/v2/role-bindings"),
    ]
    .into_iter()
    .chain(REGISTRY_OPERATIONS.iter().copied())
    .collect()
}

/// The value of a path or required query parameter for `ids`; None when unknown.
fn param(name: &str, path: &str, ids: &Ids<'_>) -> Option<String> {
    Some(
        match name {
            "environment_id" | "env" | "environment" => ids.env,
            "kafka_cluster_id" | "cluster" => ids.cluster,
            "connector_name" | "connector" | "name" => ids.connector,
            "plugin_name" | "plugin" => "DatagenSource",
            "task_id" | "task" => "0",
            "subject" => REGISTRY_SUBJECT,
            "version" => REGISTRY_VERSION,
            "id" if path.starts_with(REGISTRY) => REGISTRY_SCHEMA_ID,
            "id" => {
                let by_prefix = [
                    ("/org/v2/organizations/", ids.org),
                    ("/ops/v1/organizations/", ids.org),
                    ("/org/v2/environments/", ids.env),
                    ("/cmk/v2/clusters/", ids.cluster),
                    ("/iam/v2/service-accounts/", ids.sa),
                    ("/iam/v2/api-keys/", ids.key),
                    ("/iam/v2/users/", ids.user),
                    ("/iam/v2/role-bindings/", ids.binding),
                ];
                by_prefix.iter().find(|(p, _)| path.starts_with(p))?.1
            }
            _ => return None,
        }
        .to_string(),
    )
}

/// `op`'s path with `ids` filled in (and its required query parameters).
fn fill(op: &Operation, ids: &Ids<'_>) -> anyhow::Result<String> {
    let mut path = op.path.clone();
    for name in &op.path_params {
        let v = param(name, &op.path, ids).ok_or_else(|| {
            anyhow::anyhow!(
                "{} {}: no id for path parameter {name}; extend tenant_matrix::param",
                op.method,
                op.path
            )
        })?;
        path = path.replace(&format!("{{{name}}}"), &v);
    }
    let query: Vec<String> = op
        .required_query
        .iter()
        .map(|name| {
            param(name, &op.path, ids)
                .map(|v| format!("{name}={v}"))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{} {}: no id for query parameter {name}; extend tenant_matrix::param",
                        op.method,
                        op.path
                    )
                })
        })
        .collect::<anyhow::Result<_>>()?;
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    Ok(path)
}

/// Fails when `body` carries one of `ids`.
fn no_ids(body: &Value, ids: &[&str], what: &str) -> anyhow::Result<()> {
    let text = body.to_string();
    for id in ids.iter().filter(|i| !i.is_empty()) {
        anyhow::ensure!(!text.contains(id), "{what} shows {id}: {text}");
    }
    Ok(())
}

/// An error body of ours (v2, Connect or Kafka Connect's) from a handler:
/// the route exists and a handler refused, rather than the router not
/// knowing the path or method (an empty body, or the compatible root's
/// generic `HTTP 404 Not Found` / `HTTP 405 Method Not Allowed`).
fn is_error_body(body: &Value) -> bool {
    let generic = body["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("HTTP 4"));
    (body.get("errors").is_some()
        || body.get("error").is_some()
        || body.get("error_code").is_some())
        && !generic
}

/// The documented schema of a Schema Registry answer, which has the
/// registry's media type rather than `application/json`.
fn registry_response_schema(doc: &Value, op: &Operation, status: u16) -> Option<Value> {
    let mut response = doc["paths"][&op.path][op.method.to_ascii_lowercase()]["responses"]
        [status.to_string()]
    .clone();
    if let Some(r) = response["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        response = doc["components"]["responses"][name].clone();
    }
    let mut full = response["content"][REGISTRY_MEDIA_TYPE]["schema"]
        .as_object()?
        .clone();
    full.insert("components".into(), doc["components"].clone());
    Some(Value::Object(full))
}

/// The answer validates against the document (its status documented).
fn conforms(doc: &Value, op: &Operation, status: u16, body: &Value, what: &str) {
    let schema = schemas::our_response_schema(doc, &op.method, &op.path, status)
        .or_else(|| registry_response_schema(doc, op, status));
    match schema {
        Some(schema) => schemas::check_with(&schema, body, what),
        None => assert!(
            body.is_null() || status == 200,
            "{what}: {status} is documented without a body, got {body}"
        ),
    }
}

/// Every operation of our document, with `who` (of another organization)
/// against `victim`'s resources. Returns how many operations were checked.
pub async fn assert_isolated_by_our_spec(
    who: &Caller,
    anonymous: &Caller,
    victim: &Ids<'_>,
    label: &str,
) -> anyhow::Result<usize> {
    let nowhere = Ids {
        org: "00000000-0000-4000-8000-000000000000",
        env: "env-zz9zz9",
        cluster: "lkc-zz9zz9",
        connector: "no-such-connector",
        sa: "sa-zz9zz9",
        key: "ZZZZZZZZZZZZZZZZ",
        user: "u-zz9zz9",
        binding: "rb-zz9zz9",
    };
    let victim_ids = [
        victim.org,
        victim.env,
        victim.cluster,
        victim.sa,
        victim.key,
        victim.user,
        victim.binding,
    ];
    let doc = schemas::ours();
    let ops = schemas::our_operations();
    let documented: BTreeSet<(String, String)> = ops
        .iter()
        .map(|o| (o.method.clone(), o.path.clone()))
        .collect();
    for (m, p) in known() {
        anyhow::ensure!(
            documented.contains(&(m.to_string(), p.to_string())),
            "the matrix has an entry for {m} {p}, which openapi/openapi.json no longer documents; \
             remove it from tests/e2e/tenant_matrix.rs"
        );
    }
    let missing: Vec<String> = ops
        .iter()
        .filter(|o| entry(&o.method, &o.path).is_none())
        .map(|o| format!("{} {}", o.method, o.path))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{label}: no cross-tenant matrix entry for {}; add one to tenant_matrix::entry \
         (tests/e2e/tenant_matrix.rs) saying how other tenants are kept out",
        missing.join(", ")
    );
    for op in &ops {
        let Some(e) = entry(&op.method, &op.path) else {
            continue;
        };
        let what = format!("{label}: {} {}", op.method, op.path);
        let body_for = |ids: &Ids<'_>| match &e {
            Entry::NamedInBody(f) => Some(f(ids)),
            _ if op.method == "GET" || op.method == "DELETE" => None,
            _ if op.path.starts_with(REGISTRY) => Some(registry_body(&op.path)),
            _ => Some(json!({})),
        };
        match &e {
            Entry::Named | Entry::NamedInBody(_) => {
                let theirs = fill(op, victim)?;
                let none = fill(op, &nowhere)?;
                let a = who.send(&op.method, &theirs, body_for(victim)).await?;
                let b = who.send(&op.method, &none, body_for(&nowhere)).await?;
                anyhow::ensure!(
                    (400..500).contains(&a.status) && a.status != 401,
                    "{what}: {theirs} answers {} {}",
                    a.status,
                    a.body
                );
                anyhow::ensure!(
                    a.status == b.status,
                    "{what}: {} for the other tenant's resource but {} for none: {} / {}",
                    a.status,
                    b.status,
                    a.body,
                    b.body
                );
                anyhow::ensure!(
                    is_error_body(&a.body),
                    "{what}: {theirs} answers {} without an error body (is the documented path routed?): {}",
                    a.status,
                    a.body
                );
                no_ids(&a.body, &[REGISTRY_MARKER], &what)?;
                conforms(&doc, op, a.status, &a.body, &what);
            }
            Entry::OwnList => {
                let a = who.send(&op.method, &op.path, None).await?;
                anyhow::ensure!(
                    a.status == 200 || a.status == 403,
                    "{what}: {} {}",
                    a.status,
                    a.body
                );
                no_ids(&a.body, &victim_ids, &what)?;
                conforms(&doc, op, a.status, &a.body, &what);
            }
            Entry::OwnCreate => {
                let a = who.send(&op.method, &op.path, Some(json!({}))).await?;
                anyhow::ensure!(
                    a.status == 400 || a.status == 403,
                    "{what}: an empty body answers {} {}",
                    a.status,
                    a.body
                );
                no_ids(&a.body, &victim_ids, &what)?;
                conforms(&doc, op, a.status, &a.body, &what);
            }
            Entry::OwnEvents => {
                let a = who
                    .send(&op.method, &format!("{}?page_size=100", op.path), None)
                    .await?;
                anyhow::ensure!(
                    a.status == 200 || a.status == 403,
                    "{what}: {} {}",
                    a.status,
                    a.body
                );
                // Its own failed attempts name the victim's ids in their
                // paths; no event is the victim's own.
                let theirs = format!("User:{}", victim.sa);
                anyhow::ensure!(
                    a.body["data"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .all(|ev| ev["principal"] != theirs.as_str()),
                    "{what}: shows events of {theirs}: {}",
                    a.body
                );
                conforms(&doc, op, a.status, &a.body, &what);
            }
            Entry::OperatorOnly => {
                let a = who.send(&op.method, &op.path, body_for(victim)).await?;
                anyhow::ensure!(
                    a.status == 403 || a.status == 404,
                    "{what}: {} {}",
                    a.status,
                    a.body
                );
                no_ids(&a.body, &victim_ids, &what)?;
                conforms(&doc, op, a.status, &a.body, &what);
            }
            Entry::Public => {
                anyhow::ensure!(
                    !op.authenticated,
                    "{what}: the matrix says public but the document asks for credentials"
                );
                let a = anonymous
                    .send(&op.method, &op.path, body_for(victim))
                    .await?;
                anyhow::ensure!(
                    a.status != 401 || op.method == "POST",
                    "{what}: needs credentials: {}",
                    a.body
                );
                no_ids(&a.body, &victim_ids, &what)?;
                conforms(&doc, op, a.status, &a.body, &what);
            }
        }
    }
    Ok(ops.len())
}

/// The document and the interactive docs are served without credentials,
/// from the binary itself (no internet): `GET /openapi.json` is the
/// checked-in document, `GET /docs` the Swagger UI with its assets.
pub async fn assert_docs_are_served(base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let served: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    anyhow::ensure!(
        served == schemas::ours(),
        "GET /openapi.json differs from openapi/openapi.json"
    );
    let page = http.get(format!("{base}/docs")).send().await?;
    anyhow::ensure!(page.status() == 200, "GET /docs: {}", page.status());
    let html = page.text().await?;
    anyhow::ensure!(
        html.contains("swagger-ui"),
        "GET /docs is not Swagger UI: {html}"
    );
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        let a = http.get(format!("{base}/docs/{asset}")).send().await?;
        anyhow::ensure!(a.status() == 200, "GET /docs/{asset}: {}", a.status());
        let text = a.text().await?;
        anyhow::ensure!(text.len() > 100, "GET /docs/{asset} is empty");
        if asset == "swagger-initializer.js" {
            anyhow::ensure!(
                text.contains("/openapi.json"),
                "the docs do not load /openapi.json: {text}"
            );
        }
    }
    Ok(())
}

/// Every read (GET) of our document, by the resources' own tenant (the
/// operator for the operator's endpoints): the answer's status is
/// documented and its body validates against the documented schema, so the
/// success shapes of the document cannot drift from the handlers.
pub async fn assert_own_reads_conform(
    owner: &Caller,
    operator: &Caller,
    anonymous: &Caller,
    ids: &Ids<'_>,
) -> anyhow::Result<usize> {
    let doc = schemas::ours();
    let mut ok = 0;
    for op in schemas::our_operations()
        .iter()
        .filter(|o| o.method == "GET")
    {
        let who = match entry(&op.method, &op.path) {
            Some(Entry::OperatorOnly) => operator,
            Some(Entry::Public) => anonymous,
            _ if op.path.starts_with("/ops/") => operator,
            _ => owner,
        };
        let path = fill(op, ids)?;
        let a = who.send("GET", &path, None).await?;
        let what = format!("the owner's GET {}", op.path);
        conforms(&doc, op, a.status, &a.body, &what);
        if (200..300).contains(&a.status) {
            ok += 1;
        }
    }
    if schemas::our_operations()
        .iter()
        .any(|o| o.path.starts_with(REGISTRY))
    {
        assert_registry_intact(owner, ids.env).await?;
    }
    Ok(ok)
}
