//! The Kafka-Connect-compatible root (`/compat/connect/environments/{env}/clusters/{cluster}`):
//! every endpoint's happy path and error codes with upstream Kafka Connect's
//! exact bodies, authorization equal to Connect v1's, the egress policy on
//! connector hosts, and an upstream client library from PyPI
//! (`kafka-connect-py`, which this project did not write) driving it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions};

const MASK: &str = "****************";

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

/// An HTTP caller with one set of credentials.
struct Client {
    url: String,
    auth: Option<String>,
    http: reqwest::Client,
}

impl Client {
    fn admin(cp: &ControlPlane) -> Client {
        Client {
            url: cp.url.clone(),
            auth: Some(cp.basic_auth()),
            http: reqwest::Client::new(),
        }
    }

    fn with_key(cp: &ControlPlane, key: &str, secret: &str) -> Client {
        Client {
            url: cp.url.clone(),
            auth: Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
            )),
            http: reqwest::Client::new(),
        }
    }

    fn anonymous(cp: &ControlPlane) -> Client {
        Client {
            url: cp.url.clone(),
            auth: None,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Resp> {
        let mut req = self
            .http
            .request(method.parse()?, format!("{}{}", self.url, path));
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
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
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    /// Sends and checks the status; returns the body.
    async fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let r = self.send(method, path, body).await?;
        anyhow::ensure!(
            r.status == status,
            "{method} {path}: expected {status}, got {}: {}",
            r.status,
            r.body
        );
        Ok(r.body)
    }

    /// Expects upstream's error body exactly.
    async fn expect_error(
        &self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<Value>,
        message: &str,
    ) -> anyhow::Result<()> {
        let got = self.expect(status, method, path, body).await?;
        assert_eq!(
            got,
            json!({"error_code": status, "message": message}),
            "{method} {path}"
        );
        Ok(())
    }
}

fn datagen(topic: &str) -> Value {
    json!({
        "connector.class": "DatagenSource",
        "kafka.topic": topic,
        "quickstart": "USERS",
        "max.interval": "100",
        "tasks.max": 1,
        "kafka.api.key": "KEY123",
        "kafka.api.secret": "the-secret-value",
    })
}

/// Polls `GET …/status` until the connector and every task are in the given
/// upstream states (`tasks: None`: no tasks listed).
async fn wait_status(
    cp: &ControlPlane,
    c: &Client,
    path: &str,
    connector: &str,
    tasks: Option<&str>,
) -> anyhow::Result<Value> {
    cp.eventually(
        &format!("{path} to be {connector}/{tasks:?}"),
        Duration::from_secs(60),
        || async {
            let s = c
                .expect(200, "GET", &format!("{path}/status"), None)
                .await?;
            let list = s["tasks"].as_array().cloned().unwrap_or_default();
            let tasks_ok = match tasks {
                Some(t) => !list.is_empty() && list.iter().all(|x| x["state"] == t),
                None => list.is_empty(),
            };
            Ok((s["connector"]["state"] == connector && tasks_ok).then_some(s))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_compat_endpoint_answers_like_upstream() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let admin = Client::admin(&cp);
    let root = format!("/compat/connect/environments/{env}/clusters/{cluster}");
    let conns = format!("{root}/connectors");
    let name = unique("users");
    let path = format!("{conns}/{name}");
    let topic = unique_topic("compat");

    // GET / (with and without the trailing slash) and /health.
    for p in [root.clone(), format!("{root}/")] {
        let info = admin.expect(200, "GET", &p, None).await?;
        assert_eq!(info["version"], "3.9.0");
        assert!(info["commit"]
            .as_str()
            .unwrap_or("")
            .starts_with("tributary-"));
        assert_eq!(info["kafka_cluster_id"], cluster.as_str());
        assert_eq!(info.as_object().map(|o| o.len()), Some(3), "{info}");
    }
    let health = admin
        .expect(200, "GET", &format!("{root}/health"), None)
        .await?;
    assert_eq!(health["status"], "healthy");

    // Errors come in upstream's shape: unauthenticated, unknown routes and
    // methods, unknown environment, cluster and connector.
    Client::anonymous(&cp)
        .expect_error(
            401,
            "GET",
            &conns,
            None,
            "Valid authentication credentials must be provided",
        )
        .await?;
    Client::with_key(&cp, "NOPE", "wrong")
        .expect_error(
            401,
            "GET",
            &root,
            None,
            "Valid authentication credentials must be provided",
        )
        .await?;
    admin
        .expect_error(
            404,
            "GET",
            &format!("{root}/nope"),
            None,
            "HTTP 404 Not Found",
        )
        .await?;
    admin
        .expect_error(405, "DELETE", &conns, None, "HTTP 405 Method Not Allowed")
        .await?;
    admin
        .expect_error(
            404,
            "GET",
            &format!("/compat/connect/environments/env-nope/clusters/{cluster}/connectors"),
            None,
            "environment env-nope not found",
        )
        .await?;
    admin
        .expect_error(
            404,
            "GET",
            &format!("/compat/connect/environments/{env}/clusters/lkc-nope/connectors"),
            None,
            &format!("cluster lkc-nope not found in environment {env}"),
        )
        .await?;
    for (method, suffix) in [
        ("GET", ""),
        ("GET", "/config"),
        ("GET", "/status"),
        ("GET", "/tasks"),
        ("GET", "/topics"),
        ("GET", "/offsets"),
        ("DELETE", ""),
        ("PUT", "/pause"),
        ("PUT", "/resume"),
        ("PUT", "/stop"),
        ("POST", "/restart"),
        ("DELETE", "/offsets"),
    ] {
        admin
            .expect_error(
                404,
                method,
                &format!("{conns}/missing{suffix}"),
                None,
                "Connector missing not found",
            )
            .await?;
    }
    admin
        .expect_error(
            404,
            "PATCH",
            &format!("{conns}/missing/config"),
            Some(json!({"max.interval": "5"})),
            "Connector missing not found",
        )
        .await?;

    // GET /connectors: none yet.
    assert_eq!(admin.expect(200, "GET", &conns, None).await?, json!([]));

    // POST /connectors: 201 + Location + ConnectorInfo (numbers taken as text).
    let created = admin
        .send(
            "POST",
            &conns,
            Some(json!({"name": name, "config": datagen(&topic)})),
        )
        .await?;
    assert_eq!(created.status, 201, "{}", created.body);
    let location = created.headers["location"].to_str()?;
    assert_eq!(location, format!("{}{path}", cp.url));
    let info = &created.body;
    assert_eq!(info["name"], name.as_str());
    assert_eq!(info["type"], "source");
    assert_eq!(info["config"]["tasks.max"], "1");
    assert_eq!(info["config"]["name"], name.as_str());
    assert_eq!(info["config"]["kafka.api.secret"], MASK);
    assert_eq!(info["tasks"], json!([{"connector": name, "task": 0}]));
    let mut keys: Vec<String> = info
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["config", "name", "tasks", "type"]);
    assert!(!created.body.to_string().contains("the-secret-value"));

    // POST errors: 409 when it exists; name mismatch; invalid config; no such class.
    admin
        .expect_error(
            409,
            "POST",
            &conns,
            Some(json!({"name": name, "config": datagen(&topic)})),
            &format!("Connector {name} already exists"),
        )
        .await?;
    let mut renamed = datagen(&topic);
    renamed["name"] = json!("other");
    admin
        .expect_error(
            400,
            "POST",
            &conns,
            Some(json!({"name": "x-1", "config": renamed})),
            "Connector name configuration (other) doesn't match connector name in the URL (x-1)",
        )
        .await?;
    let mut no_topic = datagen(&topic);
    no_topic.as_object_mut().map(|o| o.remove("kafka.topic"));
    let bad = admin
        .expect(
            400,
            "POST",
            &conns,
            Some(json!({"name": unique("bad"), "config": no_topic})),
        )
        .await?;
    assert_eq!(bad["error_code"], 400);
    let msg = bad["message"].as_str().unwrap_or("");
    assert!(
        msg.starts_with(
            "Connector configuration is invalid and contains the following 1 error(s):\n"
        ) && msg.contains("kafka.topic"),
        "{bad}"
    );

    // Listing, reading, config.
    assert_eq!(admin.expect(200, "GET", &conns, None).await?, json!([name]));
    let read = admin.expect(200, "GET", &path, None).await?;
    assert_eq!(read["name"], name.as_str());
    assert_eq!(read["type"], "source");
    let config = admin
        .expect(200, "GET", &format!("{path}/config"), None)
        .await?;
    assert_eq!(config["quickstart"], "USERS");
    assert_eq!(config["kafka.api.secret"], MASK);
    assert_eq!(config["connector.class"], "DatagenSource");

    // Status in upstream's shape.
    let s = wait_status(&cp, &admin, &path, "RUNNING", Some("RUNNING")).await?;
    assert_eq!(s["name"], name.as_str());
    assert_eq!(s["type"], "source");
    let worker = s["tasks"][0]["worker_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(worker.starts_with("w-"), "{s}");
    assert_eq!(
        s["connector"],
        json!({"state": "RUNNING", "worker_id": worker})
    );
    assert_eq!(
        s["tasks"],
        json!([{"id": 0, "state": "RUNNING", "worker_id": worker}])
    );

    // ?expand=status&expand=info (and unknown expansions ignored).
    let expanded = admin
        .expect(
            200,
            "GET",
            &format!("{conns}?expand=status&expand=info&expand=bogus"),
            None,
        )
        .await?;
    assert_eq!(expanded[&name]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(expanded[&name]["info"]["config"]["kafka.api.secret"], MASK);
    assert_eq!(expanded[&name]["info"]["type"], "source");
    let only_status = admin
        .expect(200, "GET", &format!("{conns}?expand=status"), None)
        .await?;
    assert!(only_status[&name].get("info").is_none());

    // Tasks and task status.
    let tasks = admin
        .expect(200, "GET", &format!("{path}/tasks"), None)
        .await?;
    assert_eq!(tasks[0]["id"], json!({"connector": name, "task": 0}));
    assert_eq!(tasks[0]["config"]["kafka.api.secret"], MASK);
    let ts = admin
        .expect(200, "GET", &format!("{path}/tasks/0/status"), None)
        .await?;
    assert_eq!(
        ts,
        json!({"id": 0, "state": "RUNNING", "worker_id": worker})
    );
    admin
        .expect_error(
            404,
            "GET",
            &format!("{path}/tasks/7/status"),
            None,
            &format!("No status found for task {name}-7"),
        )
        .await?;
    admin
        .expect_error(
            404,
            "GET",
            &format!("{path}/tasks/x/status"),
            None,
            "HTTP 404 Not Found",
        )
        .await?;

    // Restarts: task (204 / 404), connector only (204), with tasks (202 + body).
    assert_eq!(
        admin
            .expect(204, "POST", &format!("{path}/tasks/0/restart"), None)
            .await?,
        Value::Null
    );
    admin
        .expect_error(
            404,
            "POST",
            &format!("{path}/tasks/7/restart"),
            None,
            &format!("Unknown task: {name}-7"),
        )
        .await?;
    admin
        .expect(204, "POST", &format!("{path}/restart"), None)
        .await?;
    admin
        .expect(
            204,
            "POST",
            &format!("{path}/restart?includeTasks=false&onlyFailed=false"),
            None,
        )
        .await?;
    wait_status(&cp, &admin, &path, "RUNNING", Some("RUNNING")).await?;
    let plan = admin
        .expect(
            202,
            "POST",
            &format!("{path}/restart?includeTasks=true&onlyFailed=false"),
            None,
        )
        .await?;
    assert_eq!(plan["name"], name.as_str());
    assert_eq!(plan["type"], "source");
    assert_eq!(plan["connector"]["state"], "RESTARTING");
    assert_eq!(plan["tasks"][0]["id"], 0);
    assert_eq!(plan["tasks"][0]["state"], "RESTARTING");
    wait_status(&cp, &admin, &path, "RUNNING", Some("RUNNING")).await?;
    let plan = admin
        .expect(
            202,
            "POST",
            &format!("{path}/restart?includeTasks=true&onlyFailed=true"),
            None,
        )
        .await?;
    assert_eq!(
        plan["connector"]["state"], "RUNNING",
        "only failed instances restart: {plan}"
    );
    assert_eq!(plan["tasks"][0]["state"], "RUNNING");

    // Pause and resume: 202 and no body.
    assert_eq!(
        admin
            .expect(202, "PUT", &format!("{path}/pause"), None)
            .await?,
        Value::Null
    );
    wait_status(&cp, &admin, &path, "PAUSED", Some("PAUSED")).await?;
    admin
        .expect(202, "PUT", &format!("{path}/pause"), None)
        .await?;
    admin
        .expect(202, "PUT", &format!("{path}/resume"), None)
        .await?;
    wait_status(&cp, &admin, &path, "RUNNING", Some("RUNNING")).await?;

    // PUT config: 200 when it updates (masked secret kept), 201 + Location
    // when it creates; upstream's 400 on a name mismatch.
    let mut echoed = config.clone();
    echoed["max.interval"] = json!("50");
    let updated = admin
        .send("PUT", &format!("{path}/config"), Some(echoed))
        .await?;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert!(updated.headers.get("location").is_none());
    assert_eq!(updated.body["config"]["max.interval"], "50");
    assert_eq!(updated.body["config"]["kafka.api.secret"], MASK);
    let secret: String = {
        let pool = sqlx::PgPool::connect(&cp.db.url).await?;
        let (s,): (String,) =
            sqlx::query_as("SELECT config->>'kafka.api.secret' FROM connectors WHERE name = $1")
                .bind(&name)
                .fetch_one(&pool)
                .await?;
        pool.close().await;
        s
    };
    assert!(secret.starts_with("v1:"), "still sealed: {secret}");
    admin
        .expect_error(
            400,
            "PUT",
            &format!("{path}/config"),
            Some(json!({"connector.class": "DatagenSource", "name": "someone-else"})),
            &format!(
                "Connector name configuration (someone-else) doesn't match connector name in the URL ({name})"
            ),
        )
        .await?;
    let second = unique("second");
    let put_created = admin
        .send(
            "PUT",
            &format!("{conns}/{second}/config"),
            Some(datagen(&unique_topic("second"))),
        )
        .await?;
    assert_eq!(put_created.status, 201, "{}", put_created.body);
    assert_eq!(
        put_created.headers["location"].to_str()?,
        format!("{}{conns}/{second}", cp.url)
    );
    assert_eq!(put_created.body["name"], second.as_str());

    // PATCH config: merge, null removes a key; 200 with ConnectorInfo.
    let patched = admin
        .expect(
            200,
            "PATCH",
            &format!("{conns}/{second}/config"),
            Some(json!({"max.interval": 25, "kafka.api.key": null})),
        )
        .await?;
    assert_eq!(patched["config"]["max.interval"], "25");
    assert!(
        patched["config"].get("kafka.api.key").is_none(),
        "{patched}"
    );
    assert_eq!(patched["config"]["quickstart"], "USERS");
    admin
        .expect_error(
            400,
            "PATCH",
            &format!("{conns}/{second}/config"),
            Some(json!({"name": "renamed"})),
            &format!(
                "Connector name configuration (renamed) doesn't match connector name in the URL ({second})"
            ),
        )
        .await?;
    assert_eq!(
        admin
            .expect(204, "DELETE", &format!("{conns}/{second}"), None)
            .await?,
        Value::Null
    );

    // Topics (KIP-558): recorded once the task produced; reset is 202.
    let topics = cp
        .eventually(
            "the topic to be recorded",
            Duration::from_secs(30),
            || async {
                let t = admin
                    .expect(200, "GET", &format!("{path}/topics"), None)
                    .await?;
                Ok((t[&name]["topics"] == json!([topic])).then_some(t))
            },
        )
        .await?;
    assert_eq!(topics, json!({ name.clone(): {"topics": [topic]} }));
    admin
        .expect(202, "PUT", &format!("{path}/topics/reset"), None)
        .await?;

    // Offsets (KIP-875): read while running; changes need STOPPED.
    let offsets = cp
        .eventually("source offsets", Duration::from_secs(30), || async {
            let o = admin
                .expect(200, "GET", &format!("{path}/offsets"), None)
                .await?;
            Ok(o["offsets"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
                .then_some(o))
        })
        .await?;
    assert_eq!(offsets.as_object().map(|o| o.len()), Some(1), "{offsets}");
    assert_eq!(offsets["offsets"][0]["partition"], json!({"task.id": 0}));
    let not_stopped = format!(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
    );
    let alter = json!({"offsets": [{"partition": {"task.id": 0}, "offset": {"task.generation": 1, "current.iteration": 1000}}]});
    admin
        .expect_error(
            400,
            "PATCH",
            &format!("{path}/offsets"),
            Some(alter.clone()),
            &not_stopped,
        )
        .await?;
    admin
        .expect_error(
            400,
            "DELETE",
            &format!("{path}/offsets"),
            None,
            &not_stopped,
        )
        .await?;
    admin
        .expect_error(
            400,
            "PATCH",
            &format!("{path}/offsets"),
            Some(json!({"offsets": []})),
            "Partitions / offsets need to be provided for an alter offsets request",
        )
        .await?;

    // Stop: 204; then no tasks are listed and offsets can change.
    assert_eq!(
        admin
            .expect(204, "PUT", &format!("{path}/stop"), None)
            .await?,
        Value::Null
    );
    let stopped = wait_status(&cp, &admin, &path, "STOPPED", None).await?;
    assert_eq!(stopped["tasks"], json!([]));
    let altered = admin
        .expect(200, "PATCH", &format!("{path}/offsets"), Some(alter))
        .await?;
    assert_eq!(
        altered,
        json!({"message": "The offsets for this connector have been altered successfully"})
    );
    let now = admin
        .expect(200, "GET", &format!("{path}/offsets"), None)
        .await?;
    assert_eq!(
        now,
        json!({"offsets": [{"partition": {"task.id": 0}, "offset": {"task.generation": 1, "current.iteration": 1000}}]})
    );
    let reset = admin
        .expect(200, "DELETE", &format!("{path}/offsets"), None)
        .await?;
    assert_eq!(
        reset,
        json!({"message": "The offsets for this connector have been reset successfully"})
    );
    assert_eq!(
        admin
            .expect(200, "GET", &format!("{path}/offsets"), None)
            .await?,
        json!({"offsets": []})
    );
    // Resume also leaves STOPPED.
    admin
        .expect(202, "PUT", &format!("{path}/resume"), None)
        .await?;
    wait_status(&cp, &admin, &path, "RUNNING", Some("RUNNING")).await?;

    // Plugins, their config definitions, and validate.
    let plugins = admin
        .expect(200, "GET", &format!("{root}/connector-plugins"), None)
        .await?;
    let datagen_plugin = plugins
        .as_array()
        .and_then(|a| a.iter().find(|p| p["class"] == "DatagenSource"))
        .cloned()
        .context("DatagenSource listed")?;
    assert_eq!(datagen_plugin["type"], "source");
    assert!(datagen_plugin["version"].is_string());
    let defs = admin
        .expect(
            200,
            "GET",
            &format!("{root}/connector-plugins/DatagenSource/config"),
            None,
        )
        .await?;
    let topic_def = defs
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "kafka.topic"))
        .cloned()
        .context("kafka.topic defined")?;
    for k in [
        "name",
        "type",
        "required",
        "default_value",
        "importance",
        "documentation",
        "group",
        "order",
        "width",
        "display_name",
        "dependents",
    ] {
        assert!(topic_def.get(k).is_some(), "ConfigKeyInfo.{k}: {topic_def}");
    }
    assert!(topic_def.get("alias").is_none());
    let mut invalid = datagen(&topic);
    invalid["kafka.topic"] = json!("");
    let v = admin
        .expect(
            200,
            "PUT",
            &format!("{root}/connector-plugins/DatagenSource/config/validate"),
            Some(invalid),
        )
        .await?;
    assert_eq!(v["name"], "DatagenSource");
    assert_eq!(v["error_count"], 1, "{v}");
    let configs = v["configs"].as_array().cloned().unwrap_or_default();
    let entry = |key: &str| {
        configs
            .iter()
            .find(|c| c["definition"]["name"] == key)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        entry("kafka.topic")["value"]["errors"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(entry("kafka.api.secret")["value"]["value"], "[hidden]");
    assert!(entry("kafka.topic").get("metadata").is_none());
    assert!(!v.to_string().contains("the-secret-value"));
    admin
        .expect_error(
            400,
            "PUT",
            &format!("{root}/connector-plugins/DatagenSource/config/validate"),
            Some(json!({"connector.class": "MySqlSink"})),
            "Included connector type MySqlSink does not match request type DatagenSource",
        )
        .await?;
    admin
        .expect_error(
            404,
            "PUT",
            &format!("{root}/connector-plugins/NoSuchPlugin/config/validate"),
            Some(json!({})),
            "Connector plugin NoSuchPlugin not found",
        )
        .await?;

    // DELETE: 204, then 404.
    assert_eq!(admin.expect(204, "DELETE", &path, None).await?, Value::Null);
    admin
        .expect_error(
            404,
            "DELETE",
            &path,
            None,
            &format!("Connector {name} not found"),
        )
        .await?;
    assert_eq!(admin.expect(200, "GET", &conns, None).await?, json!([]));
    cp.stop().await
}

/// The organization of the bootstrap key (from an environment's CRN).
async fn org_of(admin: &Client) -> anyhow::Result<String> {
    let envs = admin
        .expect(200, "GET", "/org/v2/environments", None)
        .await?;
    let crn = envs["data"][0]["metadata"]["resource_name"]
        .as_str()
        .context("environment CRN")?;
    Ok(crn
        .trim_start_matches("crn://confluent.cloud/organization=")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string())
}

/// A service account with `role` on `crn`, and an API key for it.
async fn key_with_role(
    cp: &ControlPlane,
    admin: &Client,
    label: &str,
    role: &str,
    crn: &str,
) -> anyhow::Result<Client> {
    let sa = admin
        .expect(
            201,
            "POST",
            "/iam/v2/service-accounts",
            Some(json!({"display_name": unique(label), "description": "compat test"})),
        )
        .await?;
    let id = sa["id"].as_str().context("sa id")?;
    admin
        .expect(
            201,
            "POST",
            "/iam/v2/role-bindings",
            Some(json!({"principal": format!("User:{id}"), "role_name": role, "crn_pattern": crn})),
        )
        .await?;
    let key = admin
        .expect(
            202,
            "POST",
            "/iam/v2/api-keys",
            Some(json!({"spec": {"display_name": unique(label), "owner": {"id": id}}})),
        )
        .await?;
    Ok(Client::with_key(
        cp,
        key["id"].as_str().unwrap_or_default(),
        key["spec"]["secret"].as_str().unwrap_or_default(),
    ))
}

/// The compatible root is authorized exactly like Connect v1: the same
/// roles, connector-scoped bindings and tenant isolation, in upstream's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compat_root_is_authorized_like_connect_v1() -> anyhow::Result<()> {
    // No workers needed: connectors stay desired state.
    let cp = ControlPlane::start(ControlPlaneOptions {
        extra_env: vec![("TRIBUTARY_PROVIDER".into(), "static".into())],
        ..ControlPlaneOptions::default()
    })
    .await?;
    let (env, cluster) = cp.default_cluster().await?;
    let admin = Client::admin(&cp);
    let org = org_of(&admin).await?;
    let root = format!("/compat/connect/environments/{env}/clusters/{cluster}");
    let conns = format!("{root}/connectors");
    let mine = unique("orders");
    let theirs = unique("billing");
    for n in [&mine, &theirs] {
        admin
            .expect(
                201,
                "POST",
                &conns,
                Some(json!({"name": n, "config": datagen(&unique_topic("authz"))})),
            )
            .await?;
    }
    let cluster_crn = format!(
        "crn://confluent.cloud/organization={org}/environment={env}/cloud-cluster={cluster}"
    );

    // DeveloperRead on the cluster: reads, but every write is a 403.
    let reader = key_with_role(&cp, &admin, "reader", "DeveloperRead", &cluster_crn).await?;
    reader
        .expect(200, "GET", &format!("{conns}/{mine}/status"), None)
        .await?;
    reader.expect(200, "GET", &root, None).await?;
    let mut listed = reader.expect(200, "GET", &conns, None).await?;
    if let Some(a) = listed.as_array_mut() {
        a.sort_by_key(|v| v.to_string());
    }
    let mut both = vec![json!(mine), json!(theirs)];
    both.sort_by_key(|v| v.to_string());
    assert_eq!(listed, json!(both));
    // Validation changes nothing, so a reader may validate.
    reader
        .expect(
            200,
            "PUT",
            &format!("{root}/connector-plugins/DatagenSource/config/validate"),
            Some(datagen("t")),
        )
        .await?;
    for (method, p, body) in [
        ("PUT", format!("{conns}/{mine}/pause"), None),
        ("POST", format!("{conns}/{mine}/restart"), None),
        ("DELETE", format!("{conns}/{mine}"), None),
        (
            "PATCH",
            format!("{conns}/{mine}/config"),
            Some(json!({"max.interval": "5"})),
        ),
        (
            "POST",
            conns.clone(),
            Some(json!({"name": unique("x"), "config": datagen("t")})),
        ),
    ] {
        let r = reader.send(method, &p, body).await?;
        assert_eq!(r.status, 403, "{method} {p}: {}", r.body);
        assert_eq!(r.body["error_code"], 403, "{}", r.body);
        assert!(
            r.body["message"].as_str().unwrap_or("").contains("may not"),
            "{}",
            r.body
        );
    }

    // ConnectManager on one connector: sees and changes that one only.
    let scoped = key_with_role(
        &cp,
        &admin,
        "scoped",
        "ConnectManager",
        &format!("{cluster_crn}/connector={mine}"),
    )
    .await?;
    assert_eq!(
        scoped.expect(200, "GET", &conns, None).await?,
        json!([mine])
    );
    scoped
        .expect(202, "PUT", &format!("{conns}/{mine}/pause"), None)
        .await?;
    scoped
        .expect_error(
            404,
            "GET",
            &format!("{conns}/{theirs}/status"),
            None,
            &format!("Connector {theirs} not found"),
        )
        .await?;
    scoped
        .expect_error(
            404,
            "PUT",
            &format!("{conns}/{theirs}/pause"),
            None,
            &format!("Connector {theirs} not found"),
        )
        .await?;
    let expanded = scoped
        .expect(200, "GET", &format!("{conns}?expand=status"), None)
        .await?;
    assert!(expanded.get(&theirs).is_none(), "{expanded}");

    // Another organization sees nothing of this one.
    let other = admin
        .expect(
            201,
            "POST",
            "/org/v2/organizations",
            Some(json!({"display_name": unique("other-org")})),
        )
        .await?;
    let other_admin = Client::with_key(
        &cp,
        other["bootstrap"]["api_key"]["id"]
            .as_str()
            .unwrap_or_default(),
        other["bootstrap"]["api_key"]["spec"]["secret"]
            .as_str()
            .unwrap_or_default(),
    );
    other_admin
        .expect_error(
            404,
            "GET",
            &format!("{conns}/{mine}/status"),
            None,
            &format!("environment {env} not found"),
        )
        .await?;
    other_admin
        .expect_error(
            404,
            "DELETE",
            &format!("{conns}/{mine}"),
            None,
            &format!("environment {env} not found"),
        )
        .await?;
    admin
        .expect(200, "GET", &format!("{conns}/{mine}"), None)
        .await?;
    cp.stop().await
}

fn mysql_sink(host: &str) -> Value {
    json!({
        "connector.class": "MySqlSink",
        "topics": "orders",
        "input.data.format": "JSON",
        "connection.host": host,
        "connection.port": "3306",
        "connection.user": "root",
        "connection.password": "",
        "db.name": "shop",
        "tasks.max": "1",
    })
}

/// Hosts in connector configs pass the egress policy: the harness allows
/// loopback and private ranges, not link-local, so the cloud metadata
/// address is refused on both faces, naming `connection.host`; a config
/// that reaches a worker anyway is refused again at task start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_hosts_pass_the_egress_policy() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions {
        extra_env: vec![("TRIBUTARY_EGRESS_ALLOW".into(), "loopback,private".into())],
        ..ControlPlaneOptions::default()
    })
    .await?;
    let (env, cluster) = cp.default_cluster().await?;
    let admin = Client::admin(&cp);
    let v1 = format!("/connect/v1/environments/{env}/clusters/{cluster}");
    let compat = format!("/compat/connect/environments/{env}/clusters/{cluster}");
    let name = unique("to_metadata");
    let metadata = "host \"169.254.169.254\" is refused by the egress policy: it is the cloud metadata address";

    // Connect v1: create (POST and PUT) is a 400 naming the field.
    let r = admin
        .send(
            "POST",
            &format!("{v1}/connectors"),
            Some(json!({"name": name, "config": mysql_sink("169.254.169.254")})),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"]["code"], 400);
    let msg = r.body["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(&format!("connection.host: {metadata}")),
        "{}",
        r.body
    );
    let r = admin
        .send(
            "PUT",
            &format!("{v1}/connectors/{name}/config"),
            Some(mysql_sink("169.254.169.254")),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    // Link-local, legacy numeric forms and IPv6-mapped forms are refused too;
    // so is a URL naming the address.
    for host in [
        "169.254.10.1",
        "2852039166",
        "::ffff:169.254.169.254",
        "fe80::1",
    ] {
        let r = admin
            .send(
                "PUT",
                &format!("{v1}/connectors/{name}/config"),
                Some(mysql_sink(host)),
            )
            .await?;
        assert_eq!(r.status, 400, "{host}: {}", r.body);
        assert!(r.body.to_string().contains("connection.host"), "{}", r.body);
    }
    let mut by_url = mysql_sink("127.0.0.1");
    by_url.as_object_mut().map(|o| o.remove("connection.host"));
    by_url["connection.url"] = json!("jdbc:mysql://169.254.169.254:3306/shop");
    let r = admin
        .send(
            "PUT",
            &format!("{v1}/connectors/{name}/config"),
            Some(by_url),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.to_string().contains("connection.url"), "{}", r.body);

    // The compatible root: upstream's error body.
    let r = admin
        .send(
            "POST",
            &format!("{compat}/connectors"),
            Some(json!({"name": name, "config": mysql_sink("169.254.169.254")})),
        )
        .await?;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error_code"], 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("connection.host: {metadata}")),
        "{}",
        r.body
    );

    // Validate (both faces): 200 with the error on connection.host.
    for path in [
        format!("{v1}/connector-plugins/MySqlSink/config/validate"),
        format!("{compat}/connector-plugins/MySqlSink/config/validate"),
    ] {
        let v = admin
            .expect(200, "PUT", &path, Some(mysql_sink("169.254.169.254")))
            .await?;
        assert_eq!(v["error_count"], 1, "{v}");
        let host = v["configs"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|c| c["definition"]["name"] == "connection.host")
            })
            .cloned()
            .context("connection.host in validate")?;
        assert_eq!(host["value"]["errors"], json!([metadata]), "{path}");
    }

    // Loopback is allowed by this deployment.
    let ok = admin
        .expect(
            200,
            "PUT",
            &format!("{compat}/connector-plugins/MySqlSink/config/validate"),
            Some(mysql_sink("127.0.0.1")),
        )
        .await?;
    assert_eq!(ok["error_count"], 0, "{ok}");

    // Defence in depth: a config that reaches a worker with a refused host
    // (written before the policy was tightened: here, straight into the
    // database) fails its task at start, naming the key; nothing connects.
    // Created STOPPED (upstream's initial_state), so no task runs before.
    let created = admin
        .expect(
            201,
            "POST",
            &format!("{compat}/connectors"),
            Some(json!({"name": name, "config": mysql_sink("127.0.0.1"), "initial_state": "STOPPED"})),
        )
        .await?;
    assert_eq!(created["name"], name.as_str());
    wait_status(
        &cp,
        &admin,
        &format!("{compat}/connectors/{name}"),
        "STOPPED",
        None,
    )
    .await?;
    {
        let pool = sqlx::PgPool::connect(&cp.db.url).await?;
        sqlx::query(
            "UPDATE connectors SET config = jsonb_set(config, '{connection.host}', '\"169.254.169.254\"'),
               generation = generation + 1, version = version + 1 WHERE name = $1",
        )
        .bind(&name)
        .execute(&pool)
        .await?;
        pool.close().await;
    }
    admin
        .expect(
            202,
            "PUT",
            &format!("{compat}/connectors/{name}/resume"),
            None,
        )
        .await?;
    let failed = cp
        .eventually(
            "the task to be refused",
            Duration::from_secs(60),
            || async {
                let s = admin
                    .expect(
                        200,
                        "GET",
                        &format!("{compat}/connectors/{name}/status"),
                        None,
                    )
                    .await?;
                let trace = s["tasks"][0]["trace"].as_str().unwrap_or("").to_string();
                Ok((s["tasks"][0]["state"] == "FAILED" && trace.contains("egress")).then_some(s))
            },
        )
        .await?;
    assert_eq!(
        failed["tasks"][0]["trace"],
        format!("connection.host: {metadata}"),
        "{failed}"
    );
    cp.stop().await
}

/// Where the upstream client lives: a virtualenv cached across runs.
fn venv_dir() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".cache/tributary/venv")
}

/// The pinned upstream Kafka Connect REST client from PyPI.
const CLIENT_PACKAGE: &str = "kafka-connect-py==1.0.0";

/// A virtualenv with `kafka-connect-py` installed (created once, then reused).
async fn python_with_client() -> anyhow::Result<PathBuf> {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    let ready = |python: &PathBuf| {
        std::process::Command::new(python)
            .args([
                "-c",
                "import kafka_connect; from kafka_connect import KafkaConnect",
            ])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if python.is_file() && ready(&python) {
        return Ok(python);
    }
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let status = tokio::process::Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .await
        .context("python3 is needed for the upstream-client test")?;
    anyhow::ensure!(
        status.success(),
        "python3 -m venv {} failed",
        venv.display()
    );
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                CLIENT_PACKAGE,
            ])
            .output(),
    )
    .await
    .context("pip install timed out")??;
    anyhow::ensure!(
        out.status.success(),
        "pip install {CLIENT_PACKAGE} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(
        ready(&python),
        "{CLIENT_PACKAGE} installed but not importable"
    );
    Ok(python)
}

/// An upstream Kafka Connect REST client this project did not write
/// (PyPI `kafka-connect-py`), pointed at the compatible root with Basic
/// auth, creates, reads, pauses, resumes, restarts, stops and deletes a
/// Datagen connector (`e2e/compat_client.py`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_kafka_connect_client_drives_the_compatible_root() -> anyhow::Result<()> {
    let python = python_with_client().await?;
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!(
        "{}/compat/connect/environments/{env}/clusters/{cluster}",
        cp.url
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e/compat_client.py");
    let name = unique("py_users");
    let topic = unique_topic("py");
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new(&python)
            .arg(&script)
            .args([
                &base,
                &format!("{}:{}", cp.key, cp.secret),
                &name,
                &topic,
                &cluster,
            ])
            .output(),
    )
    .await
    .context("the client script timed out")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the upstream client failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- control plane\n{}",
        cp.log_tail()
    );
    assert!(stdout.contains("ALL STEPS PASSED"), "{stdout}\n{stderr}");
    // What the client did is what the service holds: it deleted the connector.
    let (code, list) = cp
        .call(
            "GET",
            &format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors"),
            None,
        )
        .await?;
    assert_eq!(code, 200);
    assert!(!list.to_string().contains(&name), "{list}");
    cp.stop().await
}
