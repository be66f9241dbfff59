//! Identity and access end to end, against a real control plane, Postgres
//! and broker: onboarding tenants, tenant isolation (another tenant's
//! resources are 404 and never data), role bindings and resource keys, key
//! lifecycle, console and single-sign-on tokens, rate and body limits,
//! quotas, the audit log and pagination. Responses are validated against
//! Confluent's published OpenAPI documents.

mod schemas;
mod tenant_matrix;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{json, Value};
use tributary_tests::{kafka_bootstrap, unique, ControlPlane, ControlPlaneOptions};

use schemas::Schemas;

fn basic(key: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
    )
}

/// A control plane that starts no workers (connectors stay desired state).
fn options(extra: &[(&str, &str)]) -> ControlPlaneOptions {
    let mut env = vec![("TRIBUTARY_PROVIDER".to_string(), "static".to_string())];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ControlPlaneOptions {
        extra_env: env,
        ..ControlPlaneOptions::default()
    }
}

/// Someone calling the API with one credential.
#[derive(Clone)]
struct Caller {
    url: String,
    auth: String,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Caller {
    fn new(cp: &ControlPlane, auth: String) -> Caller {
        Caller {
            url: cp.url.clone(),
            auth,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Answer> {
        self.send_raw(method, path, body.map(|b| b.to_string()))
            .await
    }

    async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<Answer> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.url)
        };
        let mut req = self
            .http
            .request(method.parse()?, url)
            .header("Authorization", &self.auth);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends and insists on `want`; returns the body.
    async fn expect(
        &self,
        want: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let a = self.send(method, path, body).await?;
        anyhow::ensure!(
            a.status == want,
            "{method} {path}: want {want}, got {} {}",
            a.status,
            a.body
        );
        Ok(a.body)
    }
}

/// A tenant onboarded by the operator, with an environment, a cluster and a connector.
struct Tenant {
    org: String,
    admin: Caller,
    admin_sa: String,
    admin_key: String,
    env: String,
    cluster: String,
    connector: String,
}

impl Tenant {
    fn connectors(&self) -> String {
        format!(
            "/connect/v1/environments/{}/clusters/{}/connectors",
            self.env, self.cluster
        )
    }
}

fn datagen(name: &str) -> Value {
    json!({
        "name": name,
        "config": {
            "connector.class": "DatagenSource",
            "kafka.topic": unique("t_identity"),
            "quickstart": "ORDERS",
            "output.data.format": "JSON",
            "tasks.max": "1",
        }
    })
}

async fn onboard(cp: &ControlPlane, s: &Schemas, name: &str) -> anyhow::Result<Tenant> {
    let operator = Caller::new(cp, cp.basic_auth());
    let org = operator
        .expect(
            201,
            "POST",
            "/org/v2/organizations",
            Some(json!({"display_name": name})),
        )
        .await?;
    s.check("org", "org.v2.Organization", &org);
    let key = &org["bootstrap"]["api_key"];
    s.check("apikeys", "iam.v2.ApiKey", key);
    s.check(
        "iam",
        "iam.v2.ServiceAccount",
        &org["bootstrap"]["service_account"],
    );
    assert_eq!(
        org["bootstrap"]["role_binding"]["role_name"],
        "OrganizationAdmin"
    );
    let secret = key["spec"]["secret"].as_str().expect("secret").to_string();
    assert_eq!(secret.len(), 64);
    let admin_key = key["id"].as_str().expect("key id").to_string();
    let admin = Caller::new(cp, basic(&admin_key, &secret));

    let env = admin
        .send(
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": format!("{name}-prod")})),
        )
        .await?;
    assert_eq!(env.status, 201, "{}", env.body);
    s.check("org", "org.v2.Environment", &env.body);
    let env_id = env.body["id"].as_str().expect("env id").to_string();
    assert_eq!(
        env.headers["location"].to_str()?,
        env.body["metadata"]["self"].as_str().unwrap_or_default()
    );

    let cluster = register_cluster(&admin, &env_id, &format!("{name}-kafka")).await?;
    s.check("cmk", "cmk.v2.Cluster", &cluster);
    let cluster_id = cluster["id"].as_str().expect("cluster id").to_string();

    let connector = unique("gen");
    let mut t = Tenant {
        org: org["id"].as_str().expect("org id").to_string(),
        admin,
        admin_sa: org["bootstrap"]["service_account"]["id"]
            .as_str()
            .expect("sa")
            .to_string(),
        admin_key,
        env: env_id,
        cluster: cluster_id,
        connector: String::new(),
    };
    t.admin
        .expect(201, "POST", &t.connectors(), Some(datagen(&connector)))
        .await?;
    t.connector = connector;
    Ok(t)
}

async fn register_cluster(admin: &Caller, env: &str, name: &str) -> anyhow::Result<Value> {
    admin
        .expect(
            202,
            "POST",
            "/cmk/v2/clusters",
            Some(json!({"spec": {
                "display_name": name,
                "environment": {"id": env},
                "kafka_bootstrap_endpoint": kafka_bootstrap(),
            }})),
        )
        .await
}

/// A service account of `t` with one role binding and a cloud (or resource) key.
async fn service_account(
    t: &Tenant,
    name: &str,
    role: Option<(&str, String)>,
    resource: Option<(&str, &str)>,
) -> anyhow::Result<(String, Caller)> {
    let sa = t
        .admin
        .expect(
            201,
            "POST",
            "/iam/v2/service-accounts",
            Some(json!({"display_name": name, "description": "test"})),
        )
        .await?;
    let id = sa["id"].as_str().expect("sa id").to_string();
    if let Some((role, crn)) = role {
        t.admin
            .expect(
                201,
                "POST",
                "/iam/v2/role-bindings",
                Some(json!({"principal": format!("User:{id}"), "role_name": role, "crn_pattern": crn})),
            )
            .await?;
    }
    let mut spec = json!({"display_name": format!("{name}-key"), "owner": {"id": id}});
    if let Some((cluster, env)) = resource {
        spec["resource"] = json!({"id": cluster, "environment": env});
    }
    let key = t
        .admin
        .expect(
            202,
            "POST",
            "/iam/v2/api-keys",
            Some(json!({ "spec": spec })),
        )
        .await?;
    let caller = Caller {
        url: t.admin.url.clone(),
        auth: basic(
            key["id"].as_str().unwrap_or_default(),
            key["spec"]["secret"].as_str().unwrap_or_default(),
        ),
        http: reqwest::Client::new(),
    };
    Ok((id, caller))
}

fn crn(t: &Tenant, suffix: &str) -> String {
    format!("crn://confluent.cloud/organization={}{suffix}", t.org)
}

/// Every way `who` might reach `victim`'s resources: each must be 404 (or
/// 403 where the endpoint itself is admin-only), never data.
async fn assert_isolated(who: &Caller, victim: &Tenant, label: &str) -> anyhow::Result<()> {
    let v = victim;
    let c = v.connectors();
    let n = &v.connector;
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/org/v2/organizations/{}", v.org), None),
        (
            "PATCH",
            format!("/org/v2/organizations/{}", v.org),
            Some(json!({"display_name": "pwned"})),
        ),
        ("GET", format!("/org/v2/environments/{}", v.env), None),
        (
            "PATCH",
            format!("/org/v2/environments/{}", v.env),
            Some(json!({"display_name": "pwned"})),
        ),
        ("DELETE", format!("/org/v2/environments/{}", v.env), None),
        (
            "GET",
            format!("/cmk/v2/clusters?environment={}", v.env),
            None,
        ),
        (
            "GET",
            format!("/cmk/v2/clusters/{}?environment={}", v.cluster, v.env),
            None,
        ),
        (
            "PATCH",
            format!("/cmk/v2/clusters/{}", v.cluster),
            Some(json!({"spec": {"environment": {"id": v.env}, "display_name": "pwned"}})),
        ),
        (
            "DELETE",
            format!("/cmk/v2/clusters/{}?environment={}", v.cluster, v.env),
            None,
        ),
        (
            "POST",
            "/cmk/v2/clusters".to_string(),
            Some(
                json!({"spec": {"display_name": "x", "environment": {"id": v.env}, "kafka_bootstrap_endpoint": kafka_bootstrap()}}),
            ),
        ),
        ("GET", c.clone(), None),
        ("GET", format!("{c}?expand=status,info,id"), None),
        ("POST", c.clone(), Some(datagen("intruder"))),
        ("GET", format!("{c}/{n}"), None),
        ("GET", format!("{c}/{n}/status"), None),
        ("GET", format!("{c}/{n}/config"), None),
        (
            "PUT",
            format!("{c}/{n}/config"),
            Some(json!({"connector.class": "DatagenSource"})),
        ),
        ("PUT", format!("{c}/{n}/pause"), None),
        ("PUT", format!("{c}/{n}/resume"), None),
        ("POST", format!("{c}/{n}/restart"), None),
        ("GET", format!("{c}/{n}/tasks"), None),
        ("DELETE", format!("{c}/{n}"), None),
        (
            "GET",
            format!(
                "/connect/v1/environments/{}/clusters/{}/connector-plugins",
                v.env, v.cluster
            ),
            None,
        ),
        (
            "GET",
            format!("/iam/v2/service-accounts/{}", v.admin_sa),
            None,
        ),
        (
            "PATCH",
            format!("/iam/v2/service-accounts/{}", v.admin_sa),
            Some(json!({"description": "pwned"})),
        ),
        (
            "DELETE",
            format!("/iam/v2/service-accounts/{}", v.admin_sa),
            None,
        ),
        ("GET", format!("/iam/v2/api-keys/{}", v.admin_key), None),
        (
            "PATCH",
            format!("/iam/v2/api-keys/{}", v.admin_key),
            Some(json!({"spec": {"description": "pwned"}})),
        ),
        ("DELETE", format!("/iam/v2/api-keys/{}", v.admin_key), None),
    ];
    for (method, path, body) in cases {
        let a = who.send(method, &path, body).await?;
        anyhow::ensure!(
            a.status == 404 || a.status == 403,
            "{label}: {method} {path} must be 404/403, got {} {}",
            a.status,
            a.body
        );
        let text = a.body.to_string();
        for secret_id in [&v.env, &v.cluster, &v.org] {
            // The path is echoed in "not found" messages; data would carry more.
            anyhow::ensure!(
                a.status == 404 || !text.contains(secret_id.as_str()),
                "{label}: {method} {path} leaked {secret_id}: {text}"
            );
        }
    }
    // Lists never contain the other tenant's resources.
    for path in [
        "/org/v2/organizations",
        "/org/v2/environments?page_size=100",
        "/iam/v2/service-accounts?page_size=100",
        "/iam/v2/api-keys?page_size=100",
        "/iam/v2/role-bindings?page_size=100",
        "/iam/v2/users?page_size=100",
    ] {
        let a = who.send("GET", path, None).await?;
        anyhow::ensure!(
            a.status == 200,
            "{label}: GET {path}: {} {}",
            a.status,
            a.body
        );
        let text = a.body.to_string();
        for id in [&v.env, &v.cluster, &v.org, &v.admin_sa, &v.admin_key] {
            anyhow::ensure!(
                !text.contains(id.as_str()),
                "{label}: GET {path} lists {id}: {text}"
            );
        }
    }
    // Role bindings cannot be pointed at another organization.
    let a = who
        .send(
            "POST",
            "/iam/v2/role-bindings",
            Some(json!({"principal": format!("User:{}", v.admin_sa), "role_name": "OrganizationAdmin",
                        "crn_pattern": format!("crn://confluent.cloud/organization={}", v.org)})),
        )
        .await?;
    anyhow::ensure!(
        matches!(a.status, 400 | 403),
        "{label}: binding across organizations: {} {}",
        a.status,
        a.body
    );
    Ok(())
}

/// Ids of one tenant's resources, to fill Confluent's path templates.
struct Ids<'a> {
    org: &'a str,
    env: &'a str,
    cluster: &'a str,
    connector: &'a str,
    sa: &'a str,
    key: &'a str,
    user: &'a str,
    binding: &'a str,
}

/// A Confluent path template with `ids` filled in; None when a placeholder is unknown.
fn fill(template: &str, ids: &Ids<'_>) -> Option<String> {
    let id = if template.starts_with("/org/v2/environments/") {
        ids.env
    } else if template.starts_with("/org/v2/organizations/") {
        ids.org
    } else if template.starts_with("/cmk/v2/clusters/") {
        ids.cluster
    } else if template.starts_with("/iam/v2/service-accounts/") {
        ids.sa
    } else if template.starts_with("/iam/v2/api-keys/") {
        ids.key
    } else if template.starts_with("/iam/v2/users/") {
        ids.user
    } else {
        "i-000000"
    };
    let mut p = template
        .replace("{environment_id}", ids.env)
        .replace("{kafka_cluster_id}", ids.cluster)
        .replace("{connector_name}", ids.connector)
        .replace("{plugin_name}", "DatagenSource")
        .replace("{id}", id);
    if p.contains('{') {
        return None;
    }
    if p.starts_with("/cmk/v2/clusters/") {
        p.push_str(&format!("?environment={}", ids.env));
    }
    Some(p)
}

/// Every operation of Confluent's documents that names a resource, with the
/// other tenant's ids and with ids that exist nowhere: both must be refused
/// alike (same status, 4xx), so answers reveal neither data nor existence.
async fn assert_isolated_by_spec(
    who: &Caller,
    victim: &Ids<'_>,
    label: &str,
) -> anyhow::Result<()> {
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
    let ops = schemas::operations(&[
        "org-v2.yaml",
        "cmk-v2.yaml",
        "iam-v2.yaml",
        "apikeys-v2.yaml",
        "connect-v1.yaml",
    ]);
    let mut checked = 0;
    for (method, template) in &ops {
        if !template.contains('{') {
            continue;
        }
        let (Some(theirs), Some(none)) = (fill(template, victim), fill(template, &nowhere)) else {
            anyhow::bail!("{label}: no ids for {method} {template}; extend fill()");
        };
        let body = (method != "GET" && method != "DELETE").then(|| json!({}));
        let a = who.send(method, &theirs, body.clone()).await?;
        let b = who.send(method, &none, body).await?;
        anyhow::ensure!(
            (400..500).contains(&a.status) && a.status != 401,
            "{label}: {method} {theirs}: {} {}",
            a.status,
            a.body
        );
        anyhow::ensure!(
            a.status == b.status,
            "{label}: {method} {template} answers {} for the other tenant's resource but {} for none: {} / {}",
            a.status,
            b.status,
            a.body,
            b.body
        );
        checked += 1;
    }
    anyhow::ensure!(checked >= 30, "{label}: only {checked} operations checked");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_see_or_touch_each_other() -> anyhow::Result<()> {
    let s = Schemas::load();
    let cp = ControlPlane::start(options(&[])).await?;
    let a = onboard(&cp, &s, "acme").await?;
    let b = onboard(&cp, &s, "globex").await?;

    // Lists validate against Confluent's schemas and hold only one's own.
    let envs = a
        .admin
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    s.check("org", "org.v2.EnvironmentList", &envs);
    assert_eq!(envs["data"].as_array().map(Vec::len), Some(1), "{envs}");
    let clusters = a
        .admin
        .expect(
            200,
            "GET",
            &format!("/cmk/v2/clusters?environment={}", a.env),
            None,
        )
        .await?;
    s.check("cmk", "cmk.v2.ClusterList", &clusters);
    let orgs = a
        .admin
        .expect(200, "GET", "/org/v2/organizations", None)
        .await?;
    s.check("org", "org.v2.OrganizationList", &orgs);
    assert_eq!(orgs["data"].as_array().map(Vec::len), Some(1));
    let keys = a.admin.expect(200, "GET", "/iam/v2/api-keys", None).await?;
    s.check("apikeys", "iam.v2.ApiKeyList", &keys);
    assert!(!keys.to_string().contains("\"secret\""), "{keys}");
    let sas = a
        .admin
        .expect(200, "GET", "/iam/v2/service-accounts", None)
        .await?;
    s.check("iam", "iam.v2.ServiceAccountList", &sas);

    // A tenant may not onboard tenants.
    let nope = a
        .admin
        .send(
            "POST",
            "/org/v2/organizations",
            Some(json!({"display_name": "evil"})),
        )
        .await?;
    assert_eq!(nope.status, 403, "{}", nope.body);
    s.check("org", "Failure", &nope.body);

    // The cross-tenant matrix: cloud key, resource key, console token of A against B.
    assert_isolated(&a.admin, &b, "A's admin cloud key").await?;
    assert_isolated(&b.admin, &a, "B's admin cloud key").await?;
    let (_, a_resource) = service_account(
        &a,
        "a-rk",
        Some((
            "CloudClusterAdmin",
            crn(
                &a,
                &format!("/environment={}/cloud-cluster={}", a.env, a.cluster),
            ),
        )),
        Some((&a.cluster, &a.env)),
    )
    .await?;
    assert_isolated(&a_resource, &b, "A's resource key").await?;
    let email = format!("{}@acme.test", unique("ops"));
    a.admin
        .expect(
            201,
            "POST",
            "/iam/v2/users",
            Some(json!({"email": email, "full_name": "Ops", "password": "correct horse battery"})),
        )
        .await?;
    let token = login(&cp, &email, "correct horse battery").await?;
    let a_token = Caller::new(&cp, format!("Bearer {token}"));
    assert_isolated(&a_token, &b, "A's user token").await?;

    // Every resource operation of Confluent's documents, with B's ids.
    let b_user = b
        .admin
        .expect(
            201,
            "POST",
            "/iam/v2/users",
            Some(json!({"email": format!("{}@globex.test", unique("hank")), "full_name": "Hank"})),
        )
        .await?;
    let b_bindings = b
        .admin
        .expect(200, "GET", "/iam/v2/role-bindings", None)
        .await?;
    let b_ids = Ids {
        org: &b.org,
        env: &b.env,
        cluster: &b.cluster,
        connector: &b.connector,
        sa: &b.admin_sa,
        key: &b.admin_key,
        user: b_user["id"].as_str().unwrap_or_default(),
        binding: b_bindings["data"][0]["id"].as_str().unwrap_or_default(),
    };
    assert_isolated_by_spec(&a.admin, &b_ids, "A's admin, by spec").await?;
    assert_isolated_by_spec(&a_resource, &b_ids, "A's resource key, by spec").await?;

    // Every operation of our own document (openapi/openapi.json), each with
    // an entry in the matrix, with each of A's credentials.
    tenant_matrix::seed_registry(&b.admin, &b.env).await?;
    let anonymous = Caller::new(&cp, String::new());
    for (who, label) in [
        (&a.admin, "A's admin cloud key, by our spec"),
        (&a_resource, "A's resource key, by our spec"),
        (&a_token, "A's user token, by our spec"),
    ] {
        let n = tenant_matrix::assert_isolated_by_our_spec(who, &anonymous, &b_ids, label).await?;
        assert!(n >= 60, "{label}: only {n} operations documented");
    }
    tenant_matrix::assert_docs_are_served(&cp.url).await?;
    // And the victim's own reads (the operator's for the operator's
    // endpoints) answer what the document says, body and all.
    let operator = Caller::new(&cp, cp.basic_auth());
    let ok =
        tenant_matrix::assert_own_reads_conform(&b.admin, &operator, &anonymous, &b_ids).await?;
    assert!(ok >= 30, "only {ok} reads answered 2xx");

    // The victim's data is intact.
    b.admin
        .expect(
            200,
            "GET",
            &format!("{}/{}", b.connectors(), b.connector),
            None,
        )
        .await?;
    b.admin
        .expect(200, "GET", &format!("/org/v2/environments/{}", b.env), None)
        .await?;
    cp.stop().await
}

async fn login(cp: &ControlPlane, email: &str, password: &str) -> anyhow::Result<String> {
    let (status, body) = cp
        .call_raw(
            "POST",
            "/auth/v1/login",
            Some(json!({"email": email, "password": password}).to_string()),
            None,
        )
        .await?;
    anyhow::ensure!(status == 200, "login: {status} {body}");
    assert_eq!(body["token_type"], "Bearer");
    Ok(body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_resource_keys_limit_what_service_accounts_do() -> anyhow::Result<()> {
    let s = Schemas::load();
    let cp = ControlPlane::start(options(&[])).await?;
    let t = onboard(&cp, &s, "initech").await?;
    let other = register_cluster(&t.admin, &t.env, "second").await?;
    let other = other["id"].as_str().expect("id").to_string();
    let other_connectors = format!(
        "/connect/v1/environments/{}/clusters/{other}/connectors",
        t.env
    );

    // Read-only on the environment: reads work, writes are 403 (visible, not allowed).
    let (_, reader) = service_account(
        &t,
        "reader",
        Some(("DeveloperRead", crn(&t, &format!("/environment={}", t.env)))),
        None,
    )
    .await?;
    reader.expect(200, "GET", &t.connectors(), None).await?;
    reader
        .expect(
            200,
            "GET",
            &format!("{}/{}/status", t.connectors(), t.connector),
            None,
        )
        .await?;
    let denied = reader
        .send("POST", &t.connectors(), Some(datagen("nope")))
        .await?;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(
        denied.body["error"]["code"], 403,
        "Connect error shape: {}",
        denied.body
    );
    reader
        .expect(
            403,
            "PUT",
            &format!("{}/{}/pause", t.connectors(), t.connector),
            None,
        )
        .await?;
    reader
        .expect(
            403,
            "DELETE",
            &format!("{}/{}", t.connectors(), t.connector),
            None,
        )
        .await?;
    reader
        .expect(
            403,
            "DELETE",
            &format!("/org/v2/environments/{}", t.env),
            None,
        )
        .await?;
    reader
        .expect(
            403,
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": "x"})),
        )
        .await?;
    reader.expect(403, "GET", "/audit/v1/events", None).await?;
    reader
        .expect(
            403,
            "POST",
            "/iam/v2/service-accounts",
            Some(json!({"display_name": "x"})),
        )
        .await?;
    // It sees only itself among identities.
    let sas = reader
        .expect(200, "GET", "/iam/v2/service-accounts", None)
        .await?;
    assert_eq!(sas["data"].as_array().map(Vec::len), Some(1), "{sas}");
    reader
        .expect(
            404,
            "GET",
            &format!("/iam/v2/service-accounts/{}", t.admin_sa),
            None,
        )
        .await?;

    // ConnectManager on one cluster: writes there, and nothing of the other cluster.
    let (_, manager) = service_account(
        &t,
        "manager",
        Some((
            "ConnectManager",
            crn(
                &t,
                &format!("/environment={}/cloud-cluster={}", t.env, t.cluster),
            ),
        )),
        None,
    )
    .await?;
    let made = unique("mgr");
    manager
        .expect(201, "POST", &t.connectors(), Some(datagen(&made)))
        .await?;
    let paused = manager
        .send("PUT", &format!("{}/{made}/pause", t.connectors()), None)
        .await?;
    assert!(
        (200..300).contains(&paused.status),
        "pause: {} {}",
        paused.status,
        paused.body
    );
    manager.expect(404, "GET", &other_connectors, None).await?;
    manager
        .expect(404, "POST", &other_connectors, Some(datagen("x")))
        .await?;
    manager
        .expect(
            404,
            "GET",
            &format!("/cmk/v2/clusters/{other}?environment={}", t.env),
            None,
        )
        .await?;
    let envs = manager
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    assert_eq!(envs["data"][0]["id"], t.env.as_str(), "{envs}");
    let visible = manager
        .expect(
            200,
            "GET",
            &format!("/cmk/v2/clusters?environment={}", t.env),
            None,
        )
        .await?;
    assert_eq!(
        visible["data"].as_array().map(Vec::len),
        Some(1),
        "{visible}"
    );
    manager
        .expect(
            403,
            "DELETE",
            &format!("/cmk/v2/clusters/{}?environment={}", t.cluster, t.env),
            None,
        )
        .await?;

    // Bound to one connector only: that connector, not its neighbours.
    let (_, single) = service_account(
        &t,
        "single",
        Some((
            "ConnectManager",
            crn(
                &t,
                &format!(
                    "/environment={}/cloud-cluster={}/connector={made}",
                    t.env, t.cluster
                ),
            ),
        )),
        None,
    )
    .await?;
    single
        .expect(
            200,
            "GET",
            &format!("{}/{made}/status", t.connectors()),
            None,
        )
        .await?;
    single
        .expect(
            404,
            "GET",
            &format!("{}/{}", t.connectors(), t.connector),
            None,
        )
        .await?;
    single
        .expect(
            404,
            "DELETE",
            &format!("{}/{}", t.connectors(), t.connector),
            None,
        )
        .await?;

    // No bindings: nothing is visible.
    let (_, nobody) = service_account(&t, "nobody", None, None).await?;
    let envs = nobody
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    assert_eq!(envs["data"], json!([]), "{envs}");
    nobody
        .expect(404, "GET", &format!("/org/v2/environments/{}", t.env), None)
        .await?;
    nobody.expect(404, "GET", &t.connectors(), None).await?;

    // A resource key for cluster X: X only, even though its owner is an admin of the org.
    let (_, rk) = service_account(
        &t,
        "rk-owner",
        Some(("OrganizationAdmin", crn(&t, ""))),
        Some((&t.cluster, &t.env)),
    )
    .await?;
    rk.expect(200, "GET", &t.connectors(), None).await?;
    rk.expect(404, "GET", &other_connectors, None).await?;
    rk.expect(
        404,
        "GET",
        &format!("/cmk/v2/clusters/{other}?environment={}", t.env),
        None,
    )
    .await?;
    let seen = rk
        .expect(
            200,
            "GET",
            &format!("/cmk/v2/clusters?environment={}", t.env),
            None,
        )
        .await?;
    assert_eq!(seen["data"].as_array().map(Vec::len), Some(1), "{seen}");
    assert_eq!(seen["data"][0]["id"], t.cluster.as_str());
    rk.expect(
        403,
        "POST",
        "/iam/v2/api-keys",
        Some(json!({"spec": {"owner": {"id": t.admin_sa}}})),
    )
    .await?;
    rk.expect(
        403,
        "POST",
        "/org/v2/environments",
        Some(json!({"display_name": "x"})),
    )
    .await?;
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_lifecycle_and_deletion_guards() -> anyhow::Result<()> {
    let s = Schemas::load();
    let cp =
        ControlPlane::start(options(&[("TRIBUTARY_CLUSTER_CHECK_TIMEOUT_MS", "1500")])).await?;
    let t = onboard(&cp, &s, "hooli").await?;
    let (sa, user) =
        service_account(&t, "lifecycle", Some(("DeveloperRead", crn(&t, ""))), None).await?;
    user.expect(200, "GET", "/org/v2/environments", None)
        .await?;
    let keys = t
        .admin
        .expect(
            200,
            "GET",
            &format!("/iam/v2/api-keys?spec.owner={sa}"),
            None,
        )
        .await?;
    s.check("apikeys", "iam.v2.ApiKeyList", &keys);
    assert_eq!(keys["data"].as_array().map(Vec::len), Some(1));
    assert!(keys["data"][0]["spec"].get("secret").is_none(), "{keys}");
    let key_id = keys["data"][0]["id"].as_str().expect("id").to_string();
    let one = t
        .admin
        .expect(200, "GET", &format!("/iam/v2/api-keys/{key_id}"), None)
        .await?;
    assert!(one["spec"].get("secret").is_none());
    t.admin
        .expect(204, "DELETE", &format!("/iam/v2/api-keys/{key_id}"), None)
        .await?;
    let after = user.send("GET", "/org/v2/environments", None).await?;
    assert_eq!(
        after.status, 401,
        "deleted key must stop at once: {}",
        after.body
    );
    s.check("org", "Failure", &after.body);
    assert!(after.headers.contains_key("www-authenticate"));

    // Renames: organization, cluster (an unreachable new endpoint is refused).
    let org = t
        .admin
        .expect(
            200,
            "PATCH",
            &format!("/org/v2/organizations/{}", t.org),
            Some(json!({"display_name": "hooli-xyz"})),
        )
        .await?;
    s.check("org", "org.v2.Organization", &org);
    assert_eq!(org["display_name"], "hooli-xyz");
    let renamed = t
        .admin
        .expect(
            200,
            "PATCH",
            &format!("/cmk/v2/clusters/{}", t.cluster),
            Some(json!({"spec": {"environment": {"id": t.env}, "display_name": "renamed"}})),
        )
        .await?;
    s.check("cmk", "cmk.v2.Cluster", &renamed);
    assert_eq!(renamed["spec"]["display_name"], "renamed");
    let moved = t
        .admin
        .send(
            "PATCH",
            &format!("/cmk/v2/clusters/{}", t.cluster),
            Some(json!({"spec": {"environment": {"id": t.env}, "kafka_bootstrap_endpoint": "127.0.0.1:1"}})),
        )
        .await?;
    assert_eq!(moved.status, 400, "{}", moved.body);
    let still = t
        .admin
        .expect(
            200,
            "GET",
            &format!("/cmk/v2/clusters/{}?environment={}", t.cluster, t.env),
            None,
        )
        .await?;
    assert_eq!(still["spec"]["kafka_bootstrap_endpoint"], kafka_bootstrap());

    // Wrong secrets and unknown keys are 401 alike.
    let bad = Caller::new(&cp, basic(&t.admin_key, "wrong"));
    assert_eq!(
        bad.send("GET", "/org/v2/environments", None).await?.status,
        401
    );
    let unknown = Caller::new(&cp, basic("NOSUCHKEY0000000", "x"));
    assert_eq!(
        unknown
            .send("GET", "/org/v2/environments", None)
            .await?
            .status,
        401
    );

    // Deleting a service account takes its bindings and keys along.
    t.admin
        .expect(
            204,
            "DELETE",
            &format!("/iam/v2/service-accounts/{sa}"),
            None,
        )
        .await?;
    let rbs = t
        .admin
        .expect(
            200,
            "GET",
            &format!("/iam/v2/role-bindings?principal=User:{sa}"),
            None,
        )
        .await?;
    assert_eq!(rbs["data"], json!([]), "{rbs}");

    // An environment that holds a cluster and a connector is not deleted.
    let refused = t
        .admin
        .send("DELETE", &format!("/org/v2/environments/{}", t.env), None)
        .await?;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let detail = refused.body["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        detail.contains("1 cluster(s) and 1 connector(s)"),
        "{detail}"
    );
    let refused = t
        .admin
        .send(
            "DELETE",
            &format!("/cmk/v2/clusters/{}?environment={}", t.cluster, t.env),
            None,
        )
        .await?;
    assert_eq!(refused.status, 409, "{}", refused.body);
    t.admin
        .expect(
            200,
            "DELETE",
            &format!("{}/{}", t.connectors(), t.connector),
            None,
        )
        .await?;
    t.admin
        .expect(
            204,
            "DELETE",
            &format!("/cmk/v2/clusters/{}?environment={}", t.cluster, t.env),
            None,
        )
        .await?;
    t.admin
        .expect(
            204,
            "DELETE",
            &format!("/org/v2/environments/{}", t.env),
            None,
        )
        .await?;
    t.admin
        .expect(404, "GET", &format!("/org/v2/environments/{}", t.env), None)
        .await?;

    // A cluster that does not answer is refused, naming the endpoint field.
    let env = t
        .admin
        .expect(
            201,
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": "e2"})),
        )
        .await?;
    let unreachable = t
        .admin
        .send(
            "POST",
            "/cmk/v2/clusters",
            Some(
                json!({"spec": {"display_name": "ghost", "environment": {"id": env["id"]},
                                 "kafka_bootstrap_endpoint": "127.0.0.1:1"}}),
            ),
        )
        .await?;
    assert_eq!(unreachable.status, 400, "{}", unreachable.body);
    s.check("cmk", "Failure", &unreachable.body);
    let detail = unreachable.body["errors"][0]["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(detail.contains("spec.kafka_bootstrap_endpoint"), "{detail}");
    assert!(detail.contains("127.0.0.1:1"), "{detail}");

    // SASL credentials are stored sealed and never shown.
    let sasl = t
        .admin
        .send(
            "POST",
            "/cmk/v2/clusters",
            Some(json!({"spec": {"display_name": "sasl", "environment": {"id": env["id"]},
                                 "kafka_bootstrap_endpoint": "127.0.0.1:1",
                                 "credentials": {"security_protocol": "SASL_PLAINTEXT", "username": "u", "password": "hunter2-secret"}}})),
        )
        .await?;
    assert_eq!(sasl.status, 400, "unreachable still: {}", sasl.body);
    assert!(!sasl.body.to_string().contains("hunter2-secret"));
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_body_limits_and_quotas() -> anyhow::Result<()> {
    let s = Schemas::load();
    let cp = ControlPlane::start(options(&[
        ("TRIBUTARY_RATE_LIMIT_PER_SECOND", "1"),
        ("TRIBUTARY_RATE_LIMIT_BURST", "40"),
        ("TRIBUTARY_MAX_BODY_BYTES", "4096"),
        ("TRIBUTARY_QUOTA_ENVIRONMENTS_PER_ORG", "2"),
        ("TRIBUTARY_QUOTA_CONNECTORS_PER_CLUSTER", "1"),
    ]))
    .await?;
    let t = onboard(&cp, &s, "umbrella").await?;

    // Quotas: a second connector on the cluster, a third environment.
    let q = t
        .admin
        .send("POST", &t.connectors(), Some(datagen("second")))
        .await?;
    assert_eq!(q.status, 402, "{}", q.body);
    assert!(
        q.body.to_string().contains("connectors_per_cluster"),
        "{}",
        q.body
    );
    t.admin
        .expect(
            201,
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": "two"})),
        )
        .await?;
    let q = t
        .admin
        .send(
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": "three"})),
        )
        .await?;
    assert_eq!(q.status, 402, "{}", q.body);
    s.check("org", "Failure", &q.body);
    assert_eq!(q.body["errors"][0]["code"], "quota_exceeded");

    // Body limit: 413 with an error body, in both error shapes.
    let big = json!({"display_name": "x".repeat(8192)}).to_string();
    let a = t
        .admin
        .send_raw("POST", "/org/v2/environments", Some(big.clone()))
        .await?;
    assert_eq!(a.status, 413, "{}", a.body);
    s.check("org", "Failure", &a.body);
    assert_eq!(a.body["errors"][0]["status"], "413");
    let a = t
        .admin
        .send_raw("POST", &t.connectors(), Some(big.clone()))
        .await?;
    assert_eq!(a.status, 413);
    assert_eq!(a.body["error"]["code"], 413, "{}", a.body);
    // The Schema Registry answers in Confluent's shape, for 413s and
    // unknown registry paths too.
    let registry = format!("/schema-registry/v1/environments/{}", t.env);
    let a = t
        .admin
        .send_raw(
            "POST",
            &format!("{registry}/subjects/big-value/versions"),
            Some(big),
        )
        .await?;
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(a.body["error_code"], 413, "{}", a.body);
    let a = t
        .admin
        .send_raw("GET", &format!("{registry}/no-such-resource"), None)
        .await?;
    assert_eq!(a.status, 404, "{}", a.body);
    assert_eq!(a.body["error_code"], 404, "{}", a.body);
    assert_eq!(a.body["message"], "HTTP 404 Not Found", "{}", a.body);

    // Rate limit: the burst runs out, then 429 with Retry-After; other keys are unaffected.
    let first = t.admin.send("GET", "/org/v2/environments", None).await?;
    assert_eq!(first.status, 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(first.headers.contains_key(h), "missing {h}");
    }
    assert_eq!(first.headers["x-ratelimit-limit"], "40");
    let mut limited = None;
    for _ in 0..80 {
        let a = t.admin.send("GET", "/org/v2/environments", None).await?;
        if a.status == 429 {
            limited = Some(a);
            break;
        }
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let limited = limited.expect("a 429 within twice the burst");
    s.check("org", "Failure", &limited.body);
    assert_eq!(limited.body["errors"][0]["status"], "429");
    let retry: u64 = limited.headers["retry-after"].to_str()?.parse()?;
    assert!(retry >= 1, "Retry-After {retry}");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    // The Connect API says it in its own error shape, with the same headers.
    let connect = t.admin.send("GET", &t.connectors(), None).await?;
    assert_eq!(connect.status, 429, "{}", connect.body);
    assert_eq!(connect.body["error"]["code"], 429, "{}", connect.body);
    assert!(connect.headers.contains_key("retry-after"));
    assert!(connect.headers.contains_key("x-ratelimit-limit"));
    let operator = Caller::new(&cp, cp.basic_auth());
    operator
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_and_pagination() -> anyhow::Result<()> {
    let s = Schemas::load();
    let cp = ControlPlane::start(options(&[])).await?;
    let t = onboard(&cp, &s, "stark").await?;
    for i in 0..4 {
        t.admin
            .expect(
                201,
                "POST",
                "/org/v2/environments",
                Some(json!({"display_name": format!("env-{i}")})),
            )
            .await?;
    }
    // 5 environments, pages of 2: 2 + 2 + 1, following metadata.next.
    let mut seen = vec![];
    let mut next = Some("/org/v2/environments?page_size=2".to_string());
    let mut pages = 0;
    while let Some(url) = next {
        let page = t.admin.expect(200, "GET", &url, None).await?;
        s.check("org", "org.v2.EnvironmentList", &page);
        assert_eq!(page["metadata"]["total_size"], 5);
        for e in page["data"].as_array().expect("data") {
            seen.push(e["id"].as_str().unwrap_or_default().to_string());
        }
        next = page["metadata"]["next"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages <= 4, "pagination does not end");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5, "{seen:?}");
    let bad = t
        .admin
        .send("GET", "/org/v2/environments?page_size=101", None)
        .await?;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // A denied mutation by someone else, then read the log as OrganizationAdmin.
    let (reader_sa, reader) =
        service_account(&t, "auditee", Some(("DeveloperRead", crn(&t, ""))), None).await?;
    reader
        .expect(
            403,
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": "no"})),
        )
        .await?;
    let log = t
        .admin
        .expect(200, "GET", "/audit/v1/events?page_size=100", None)
        .await?;
    assert_eq!(log["kind"], "AuditEventList");
    let events = log["data"].as_array().expect("events");
    let created = events
        .iter()
        .find(|e| e["action"] == "POST /org/v2/environments" && e["outcome"] == "SUCCESS")
        .expect("environment creation audited");
    assert_eq!(created["principal"], format!("User:{}", t.admin_sa));
    assert_eq!(created["credential"], t.admin_key.as_str());
    assert_eq!(created["status"], 201);
    assert!(created["time"].as_str().is_some());
    let denied = events
        .iter()
        .find(|e| e["principal"] == format!("User:{reader_sa}"))
        .expect("denied attempt audited");
    assert_eq!(denied["outcome"], "DENIED");
    assert_eq!(denied["status"], 403);
    assert!(
        events.iter().all(|e| e["method"] != "GET"),
        "reads are not audited"
    );
    // Filters and paging.
    let only = t
        .admin
        .expect(
            200,
            "GET",
            &format!("/audit/v1/events?principal=User:{reader_sa}"),
            None,
        )
        .await?;
    assert_eq!(only["data"].as_array().map(Vec::len), Some(1), "{only}");
    let p1 = t
        .admin
        .expect(200, "GET", "/audit/v1/events?page_size=2", None)
        .await?;
    let next = p1["metadata"]["next"].as_str().expect("next page");
    let p2 = t.admin.expect(200, "GET", next, None).await?;
    assert_ne!(p1["data"][0]["id"], p2["data"][0]["id"]);
    // The operator's log does not show the tenant's events.
    let operator = Caller::new(&cp, cp.basic_auth());
    let theirs = operator
        .expect(200, "GET", "/audit/v1/events?page_size=100", None)
        .await?;
    assert!(
        !theirs.to_string().contains(&t.admin_key),
        "another organization's events: {theirs}"
    );
    cp.stop().await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A tiny JWKS endpoint whose key set the test can swap (key rotation).
async fn jwks_server(keys: Arc<Mutex<Value>>) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let keys = keys.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = keys.lock().map(|k| k.to_string()).unwrap_or_default();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    Ok(format!("http://{addr}/jwks.json"))
}

struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

fn ed25519(kid: &str) -> SigningKey {
    use ring::signature::KeyPair;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("keygen");
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    SigningKey {
        kid: kid.into(),
        public: pair.public_key().as_ref().to_vec(),
        pkcs8: pkcs8.as_ref().to_vec(),
    }
}

fn jwk(k: &SigningKey) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k.kid,
           "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&k.public)})
}

fn sso_token(k: &SigningKey, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(k.kid.clone());
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ed_der(&k.pkcs8),
    )
    .expect("sign")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_and_single_sign_on_tokens() -> anyhow::Result<()> {
    let s = Schemas::load();
    let jwt_secret = [42u8; 32];
    let k1 = ed25519("k1");
    let k2 = ed25519("k2");
    let keys = Arc::new(Mutex::new(json!({"keys": [jwk(&k1)]})));
    let jwks_url = jwks_server(keys.clone()).await?;
    let secret_b64 = base64::engine::general_purpose::STANDARD.encode(jwt_secret);
    let cp = ControlPlane::start(options(&[
        ("TRIBUTARY_JWT_SECRET", secret_b64.as_str()),
        ("TRIBUTARY_OIDC_ISSUER", "https://idp.test"),
        ("TRIBUTARY_OIDC_AUDIENCE", "tributary-console"),
        ("TRIBUTARY_OIDC_JWKS_URL", jwks_url.as_str()),
        ("TRIBUTARY_OIDC_JWKS_TTL_SECONDS", "1"),
    ]))
    .await?;
    let t = onboard(&cp, &s, "wayne").await?;
    let email = format!("{}@wayne.test", unique("bruce"));
    let user = t
        .admin
        .expect(
            201,
            "POST",
            "/iam/v2/users",
            Some(json!({"email": email, "full_name": "Bruce", "password": "i am the night!"})),
        )
        .await?;
    s.check("iam", "iam.v2.User", &user);
    let uid = user["id"].as_str().expect("id").to_string();
    t.admin
        .expect(
            201,
            "POST",
            "/iam/v2/role-bindings",
            Some(
                json!({"principal": format!("User:{uid}"), "role_name": "EnvironmentAdmin",
                        "crn_pattern": crn(&t, &format!("/environment={}", t.env))}),
            ),
        )
        .await?;

    // Console login.
    let (status, _) = cp
        .call_raw(
            "POST",
            "/auth/v1/login",
            Some(json!({"email": email, "password": "wrong password!"}).to_string()),
            None,
        )
        .await?;
    assert_eq!(status, 401);
    let token = login(&cp, &email, "i am the night!").await?;
    let bearer = Caller::new(&cp, format!("Bearer {token}"));
    let envs = bearer
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    assert_eq!(envs["data"][0]["id"], t.env.as_str());
    bearer.expect(200, "GET", &t.connectors(), None).await?;

    // Tokens that must not work.
    let claims = |iss: &str, aud: &str, exp: u64| json!({"iss": iss, "aud": aud, "sub": uid, "org": t.org, "iat": now(), "exp": exp, "jti": "x"});
    let hs = |c: &Value, key: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            c,
            &jsonwebtoken::EncodingKey::from_secret(key),
        )
        .expect("sign")
    };
    let good = hs(
        &claims("tributary", "tributary-api", now() + 300),
        &jwt_secret,
    );
    Caller::new(&cp, format!("Bearer {good}"))
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    let parts: Vec<&str> = good.split('.').collect();
    let none_header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let tampered_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        claims("tributary", "tributary-api", now() + 99_999)
            .to_string()
            .as_bytes(),
    );
    let bad_tokens = [
        (
            "expired",
            hs(
                &claims("tributary", "tributary-api", now() - 120),
                &jwt_secret,
            ),
        ),
        (
            "wrong issuer",
            hs(
                &claims("someone", "tributary-api", now() + 300),
                &jwt_secret,
            ),
        ),
        (
            "wrong audience",
            hs(&claims("tributary", "elsewhere", now() + 300), &jwt_secret),
        ),
        (
            "other key",
            hs(
                &claims("tributary", "tributary-api", now() + 300),
                &[1u8; 32],
            ),
        ),
        ("alg none", format!("{none_header}.{}.", parts[1])),
        (
            "tampered",
            format!("{}.{tampered_payload}.{}", parts[0], parts[2]),
        ),
        ("malformed", "not.a.token".to_string()),
    ];
    for (what, tok) in &bad_tokens {
        let a = Caller::new(&cp, format!("Bearer {tok}"))
            .send("GET", "/org/v2/environments", None)
            .await?;
        assert_eq!(a.status, 401, "{what}: {}", a.body);
    }

    // Single sign-on: the provider's tokens name the user by email.
    let sso = |k: &SigningKey, aud: &str, exp: u64| {
        sso_token(
            k,
            &json!({"iss": "https://idp.test", "aud": aud, "sub": "idp-123", "email": email,
                    "iat": now(), "exp": exp}),
        )
    };
    Caller::new(
        &cp,
        format!("Bearer {}", sso(&k1, "tributary-console", now() + 300)),
    )
    .expect(200, "GET", "/org/v2/environments", None)
    .await?;
    for (what, tok) in [
        ("sso expired", sso(&k1, "tributary-console", now() - 120)),
        ("sso wrong audience", sso(&k1, "other-app", now() + 300)),
        (
            "sso unknown key",
            sso(&k2, "tributary-console", now() + 300),
        ),
        (
            "sso unverified email",
            sso_token(
                &k1,
                &json!({"iss": "https://idp.test", "aud": "tributary-console", "sub": "idp-123",
                        "email": email, "email_verified": false, "iat": now(), "exp": now() + 300}),
            ),
        ),
    ] {
        let a = Caller::new(&cp, format!("Bearer {tok}"))
            .send("GET", "/org/v2/environments", None)
            .await?;
        assert_eq!(a.status, 401, "{what}: {}", a.body);
    }
    // Rotation: the provider now signs with k2; after the cache's TTL the new key is fetched.
    *keys.lock().expect("lock") = json!({"keys": [jwk(&k2)]});
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    Caller::new(
        &cp,
        format!("Bearer {}", sso(&k2, "tributary-console", now() + 300)),
    )
    .expect(200, "GET", "/org/v2/environments", None)
    .await?;
    let old = Caller::new(
        &cp,
        format!("Bearer {}", sso(&k1, "tributary-console", now() + 300)),
    )
    .send("GET", "/org/v2/environments", None)
    .await?;
    assert_eq!(old.status, 401, "a retired key: {}", old.body);

    // Sign-ins are audited, failed ones too.
    let log = t
        .admin
        .expect(
            200,
            "GET",
            &format!("/audit/v1/events?principal=User:{uid}"),
            None,
        )
        .await?;
    let outcomes: Vec<&str> = log["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["action"] == "POST /auth/v1/login")
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert!(
        outcomes.contains(&"SUCCESS") && outcomes.contains(&"DENIED"),
        "{log}"
    );

    // Deleting the user ends its tokens.
    t.admin
        .expect(204, "DELETE", &format!("/iam/v2/users/{uid}"), None)
        .await?;
    assert_eq!(
        bearer
            .send("GET", "/org/v2/environments", None)
            .await?
            .status,
        401
    );
    cp.stop().await
}
