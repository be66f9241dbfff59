//! The connector API beyond create/delete, as tenants, Terraform-style tools
//! and the CLI use it: config reads and writes, secrets, lifecycle, tasks,
//! validation, optimistic concurrency and idempotency.

use std::time::Duration;

use serde_json::{json, Value};
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions};

const MASK: &str = "****************";

fn datagen(topic: &str) -> Value {
    json!({
        "connector.class": "DatagenSource",
        "kafka.topic": topic,
        "quickstart": "USERS",
        "max.interval": "50",
        "tasks.max": "2",
        "kafka.api.key": "KEY123",
        "kafka.api.secret": "the-secret-value",
    })
}

async fn state_of(cp: &ControlPlane, path: &str) -> anyhow::Result<Value> {
    let (code, s) = cp.call("GET", &format!("{path}/status"), None).await?;
    anyhow::ensure!(code == 200, "status {code}: {s}");
    Ok(s)
}

async fn wait_state(
    cp: &ControlPlane,
    path: &str,
    connector: &str,
    task: Option<&str>,
) -> anyhow::Result<Value> {
    cp.eventually(
        &format!("{path} to be {connector}"),
        Duration::from_secs(60),
        || async {
            let s = state_of(cp, path).await?;
            let tasks_ok = match task {
                Some(t) => {
                    let ts = s["tasks"].as_array().cloned().unwrap_or_default();
                    !ts.is_empty() && ts.iter().all(|x| x["state"] == t)
                }
                None => s["tasks"].as_array().map(|a| a.is_empty()).unwrap_or(false),
            };
            Ok((s["connector"]["state"] == connector && tasks_ok).then_some(s))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_lifecycle_tasks_and_secrets() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}");
    let name = unique("users");
    let path = format!("{base}/connectors/{name}");
    let topic = unique_topic("users");

    // PUT config creates; the secret never comes back.
    let (code, body) = cp
        .call("PUT", &format!("{path}/config"), Some(datagen(&topic)))
        .await?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["config"]["kafka.api.secret"], MASK);
    assert_eq!(body["config"]["kafka.api.key"], MASK);
    assert_eq!(body["tasks"].as_array().map(Vec::len), Some(2));
    assert!(!body.to_string().contains("the-secret-value"));
    let running = wait_state(&cp, &path, "RUNNING", Some("RUNNING")).await?;
    let first_workers: Vec<Value> = running["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["worker_id"].clone())
        .collect();

    // Reads: config, tasks and expand=info all mask the secret.
    let (code, config) = cp.call("GET", &format!("{path}/config"), None).await?;
    assert_eq!(code, 200);
    assert_eq!(config["kafka.api.secret"], MASK);
    assert_eq!(config["quickstart"], "USERS");
    let (_, tasks) = cp.call("GET", &format!("{path}/tasks"), None).await?;
    assert_eq!(tasks[1]["id"], json!({"connector": name, "task": 1}));
    assert_eq!(tasks[0]["config"]["kafka.api.secret"], MASK);
    let (_, listed) = cp
        .call("GET", &format!("{base}/connectors?expand=info"), None)
        .await?;
    assert_eq!(listed[&name]["info"]["config"]["kafka.api.secret"], MASK);
    for v in [&config, &tasks, &listed] {
        assert!(!v.to_string().contains("the-secret-value"));
    }

    // Round-tripping the masked config keeps the stored secret and changes nothing.
    let mut echoed = config.clone();
    echoed["max.interval"] = json!("50");
    let (code, body) = cp
        .call("PUT", &format!("{path}/config"), Some(echoed))
        .await?;
    assert_eq!(code, 200, "{body}");
    let (db_secret,): (String,) = {
        let pool = sqlx::PgPool::connect(&cp.db.url).await?;
        let row =
            sqlx::query_as("SELECT config->>'kafka.api.secret' FROM connectors WHERE name = $1")
                .bind(&name)
                .fetch_one(&pool)
                .await?;
        pool.close().await;
        row
    };
    assert!(
        db_secret.starts_with("v1:") && !db_secret.contains("the-secret-value"),
        "secrets are encrypted at rest, and a masked PUT keeps them: {db_secret}"
    );
    let s = state_of(&cp, &path).await?;
    let workers: Vec<Value> = s["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["worker_id"].clone())
        .collect();
    assert_eq!(
        workers, first_workers,
        "an unchanged config restarts nothing"
    );

    // PATCH merges; ETag / If-Match guard against lost updates.
    let (code, etagged) = cp
        .call(
            "PATCH",
            &format!("{path}/config"),
            Some(json!({"max.interval": "20"})),
        )
        .await?;
    assert_eq!(code, 200, "{etagged}");
    assert_eq!(etagged["config"]["max.interval"], "20");
    assert_eq!(etagged["config"]["quickstart"], "USERS");
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", cp.url))
        .header("Authorization", cp.basic_auth())
        .send()
        .await?;
    let etag = resp.headers()["etag"].to_str()?.to_string();
    let stale = reqwest::Client::new()
        .patch(format!("{}{path}/config", cp.url))
        .header("Authorization", cp.basic_auth())
        .header("If-Match", "\"lcc-stale.1\"")
        .json(&json!({"max.interval": "30"}))
        .send()
        .await?;
    assert_eq!(stale.status().as_u16(), 412);
    let fresh = reqwest::Client::new()
        .patch(format!("{}{path}/config", cp.url))
        .header("Authorization", cp.basic_auth())
        .header("If-Match", etag.as_str())
        .json(&json!({"max.interval": "30"}))
        .send()
        .await?;
    assert_eq!(fresh.status().as_u16(), 200);

    // A bad update is refused and the running config stays.
    let (code, body) = cp
        .call(
            "PATCH",
            &format!("{path}/config"),
            Some(json!({"tasks.max": "zero"})),
        )
        .await?;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("tasks.max"),
        "{body}"
    );
    let (_, config) = cp.call("GET", &format!("{path}/config"), None).await?;
    assert_eq!(config["tasks.max"], "2");

    // Pause, resume, stop, resume: desired state, 202, converging.
    let (code, _) = cp.call("PUT", &format!("{path}/pause"), None).await?;
    assert_eq!(code, 202);
    wait_state(&cp, &path, "PAUSED", Some("PAUSED")).await?;
    let (code, _) = cp.call("PUT", &format!("{path}/resume"), None).await?;
    assert_eq!(code, 202);
    wait_state(&cp, &path, "RUNNING", Some("RUNNING")).await?;
    let (code, _) = cp.call("PUT", &format!("{path}/stop"), None).await?;
    assert_eq!(code, 202);
    wait_state(&cp, &path, "STOPPED", None).await?;
    let (code, _) = cp.call("PUT", &format!("{path}/resume"), None).await?;
    assert_eq!(code, 202);
    wait_state(&cp, &path, "RUNNING", Some("RUNNING")).await?;

    // Restarts: upstream's form answers with the tasks it restarts.
    let (code, body) = cp
        .call(
            "POST",
            &format!("{path}/restart?includeTasks=true&onlyFailed=false"),
            None,
        )
        .await?;
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["connector"]["state"], "RESTARTING");
    let (code, _) = cp.call("POST", &format!("{path}/restart"), None).await?;
    assert_eq!(code, 202);
    let (code, _) = cp
        .call("POST", &format!("{path}/tasks/1/restart"), None)
        .await?;
    assert_eq!(code, 204);
    let (code, _) = cp
        .call("POST", &format!("{path}/tasks/7/restart"), None)
        .await?;
    assert_eq!(code, 404);
    wait_state(&cp, &path, "RUNNING", Some("RUNNING")).await?;
    let (code, task) = cp
        .call("GET", &format!("{path}/tasks/1/status"), None)
        .await?;
    assert_eq!(code, 200);
    assert_eq!(task["id"], 1);
    assert_eq!(task["state"], "RUNNING");

    // Active topics, as upstream Kafka Connect tracks them.
    let (code, t) = cp
        .eventually("active topics", Duration::from_secs(20), || async {
            let (code, t) = cp.call("GET", &format!("{path}/topics"), None).await?;
            Ok((t[&name]["topics"] == json!([topic])).then_some((code, t)))
        })
        .await?;
    assert_eq!(code, 200, "{t}");
    let (code, _) = cp
        .call("PUT", &format!("{path}/topics/reset"), None)
        .await?;
    assert_eq!(code, 202);

    // Plugins and validation, without a worker.
    let (_, plugins) = cp
        .call("GET", &format!("{base}/connector-plugins"), None)
        .await?;
    assert!(plugins
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["class"] == "DatagenSource" && p["type"] == "source"));
    let (code, v) = cp
        .call(
            "PUT",
            &format!("{base}/connector-plugins/DatagenSource/config/validate"),
            Some(json!({"connector.class": "DatagenSource", "quickstart": "NOPE", "kafka.api.secret": "x"})),
        )
        .await?;
    assert_eq!(code, 200, "{v}");
    assert!(v["error_count"].as_u64().unwrap_or(0) >= 2, "{v}");
    let errors_of = |key: &str| -> Vec<Value> {
        v["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == key)
            .map(|c| c["value"]["errors"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
    };
    assert!(!errors_of("kafka.topic").is_empty());
    assert!(!errors_of("quickstart").is_empty());
    assert!(
        !v.to_string().contains("\"x\""),
        "validate masks passwords: {v}"
    );

    let (code, _) = cp.call("DELETE", &path, None).await?;
    assert_eq!(code, 200);
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_concurrent_writes_yield_one_connector() -> anyhow::Result<()> {
    // The burst below is deliberate: lift the per-key rate limit for it.
    let cp = ControlPlane::start(ControlPlaneOptions {
        extra_env: vec![
            ("TRIBUTARY_RATE_LIMIT_PER_SECOND".into(), "100000".into()),
            ("TRIBUTARY_RATE_LIMIT_BURST".into(), "100000".into()),
        ],
        ..ControlPlaneOptions::default()
    })
    .await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let client = reqwest::Client::new();

    // Idempotency-Key: the retry gets the first answer; a different body is refused.
    let body = json!({"name": "idem", "config": {"connector.class": "DatagenSource", "kafka.topic": unique_topic("idem"), "quickstart": "ORDERS"}});
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = client
            .post(format!("{}{base}", cp.url))
            .header("Authorization", cp.basic_auth())
            .header("Idempotency-Key", "create-idem-1")
            .json(&body)
            .send()
            .await?;
        answers.push((r.status().as_u16(), r.json::<Value>().await?));
    }
    assert_eq!(answers[0].0, 201);
    assert_eq!(answers[0], answers[1]);
    let mut other = body.clone();
    other["config"]["quickstart"] = json!("USERS");
    let r = client
        .post(format!("{}{base}", cp.url))
        .header("Authorization", cp.basic_auth())
        .header("Idempotency-Key", "create-idem-1")
        .json(&other)
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 422);

    // 1,000 concurrent identical PUTs: one connector, one generation.
    let topic = unique_topic("many");
    let config = json!({"connector.class": "DatagenSource", "kafka.topic": topic, "quickstart": "PAGEVIEWS", "max.interval": "1000"});
    let puts = (0..1000).map(|_| {
        let client = client.clone();
        let url = format!("{}{base}/many/config", cp.url);
        let auth = cp.basic_auth();
        let config = config.clone();
        async move {
            client
                .put(url)
                .header("Authorization", auth)
                .json(&config)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let statuses = futures_join_all(puts).await;
    let ok = statuses.iter().filter(|s| matches!(s, Ok(200))).count();
    assert_eq!(
        ok,
        1000,
        "every PUT succeeds: {:?}",
        statuses
            .iter()
            .filter(|s| !matches!(s, Ok(200)))
            .take(5)
            .collect::<Vec<_>>()
    );
    let (_, list) = cp.call("GET", &base, None).await?;
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .filter(|n| *n == "many")
            .count(),
        1
    );
    let pool = sqlx::PgPool::connect(&cp.db.url).await?;
    let (generation,): (i64,) =
        sqlx::query_as("SELECT generation FROM connectors WHERE name = 'many'")
            .fetch_one(&pool)
            .await?;
    pool.close().await;
    assert_eq!(generation, 1, "identical PUTs do not bump the generation");

    // Opt-in pagination with Confluent's list envelope.
    let (code, page) = cp.call("GET", &format!("{base}?page_size=1"), None).await?;
    assert_eq!(code, 200, "{page}");
    assert_eq!(page["data"], json!(["idem"]));
    assert_eq!(page["metadata"]["total_size"], 2);
    let next = page["metadata"]["next"]
        .as_str()
        .expect("next page")
        .to_string();
    let (_, page) = cp
        .call("GET", next.trim_start_matches(&cp.url), None)
        .await?;
    assert_eq!(page["data"], json!(["many"]));
    let (_, page) = cp
        .call(
            "GET",
            &format!("{base}?page_size=1&page_token=many&expand=status"),
            None,
        )
        .await?;
    assert_eq!(page["data"], json!([]));
    assert!(page["metadata"].get("next").is_none(), "{page}");
    let (code, _) = cp
        .call("GET", &format!("{base}?page_size=1000"), None)
        .await?;
    assert_eq!(code, 400);

    cp.stop().await
}

async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Drive them all concurrently.
    let joined = futures::future::join_all(handles).await;
    out.extend(joined);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_key_rotation_reseals_without_restarting_tasks() -> anyhow::Result<()> {
    use tributary_control_plane::secrets::SecretBox;
    let old_key = SecretBox::generate_key();
    let new_key = SecretBox::generate_key();
    let cp = ControlPlane::start(ControlPlaneOptions {
        extra_env: vec![("TRIBUTARY_SECRETS_KEY".into(), old_key.clone())],
        ..ControlPlaneOptions::default()
    })
    .await?;
    let (env, cluster) = cp.default_cluster().await?;
    let path = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors/rot");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{path}/config"),
            Some(datagen(&unique_topic("rot"))),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    wait_state(&cp, &path, "RUNNING", Some("RUNNING")).await?;

    let pool = sqlx::PgPool::connect(&cp.db.url).await?;
    let read = || async {
        let row: (String, i64, i64) = sqlx::query_as(
            "SELECT c.config->>'kafka.api.secret', c.generation, (SELECT max(epoch) FROM tasks t WHERE t.connector_id = c.id)
             FROM connectors c WHERE c.name = 'rot'",
        )
        .fetch_one(&pool)
        .await?;
        anyhow::Ok(row)
    };
    let before = read().await?;
    let out = std::process::Command::new(tributary_tests::bin_dir().join("control-plane"))
        .arg("rotate-secrets")
        .env("DATABASE_URL", &cp.db.url)
        .env("TRIBUTARY_SECRETS_KEY", &new_key)
        .env("TRIBUTARY_SECRETS_KEY_PREVIOUS", &old_key)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("1 connector(s), 2 task(s)"), "{said}");
    let after = read().await?;
    assert_ne!(after.0, before.0, "re-sealed");
    assert_eq!(
        (after.1, after.2),
        (before.1, before.2),
        "no new generation, no restart"
    );
    let new_box = SecretBox::from_config(Some(&new_key), &[])?;
    assert_eq!(new_box.decrypt(&after.0)?, "the-secret-value");
    assert!(new_box.decrypt(&before.0).is_err());
    pool.close().await;
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tasks_restart_with_backoff_and_pause_survives_a_control_plane_restart(
) -> anyhow::Result<()> {
    let opts = ControlPlaneOptions {
        extra_env: vec![
            ("TRIBUTARY_RESTART_BACKOFF_MS".into(), "1000".into()),
            ("TRIBUTARY_RESTART_BACKOFF_MAX_MS".into(), "4000".into()),
        ],
        ..ControlPlaneOptions::default()
    };
    let cp = ControlPlane::start(opts.clone()).await?;
    let (env, cluster) = cp.default_cluster().await?;

    // A cluster nobody answers on: its tasks fail on start.
    let pool = sqlx::PgPool::connect(&cp.db.url).await?;
    sqlx::query(
        "INSERT INTO kafka_clusters (id, org_id, environment_id, display_name, bootstrap_endpoint)
         SELECT 'lkc-dead', org_id, id, 'dead', '127.0.0.1:1' FROM environments WHERE id = $1",
    )
    .bind(&env)
    .execute(&pool)
    .await?;
    let dead = format!("/connect/v1/environments/{env}/clusters/lkc-dead/connectors/doomed");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{dead}/config"),
            Some(datagen(&unique_topic("doomed"))),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    let scheduled = cp
        .eventually(
            "a scheduled automatic restart",
            Duration::from_secs(60),
            || async {
                let s = state_of(&cp, &dead).await?;
                let msg = s["tasks"][0]["msg"].as_str().unwrap_or("").to_string();
                Ok(
                    (s["connector"]["state"] == "FAILED" && msg.contains("automatic restart"))
                        .then_some(msg),
                )
            },
        )
        .await?;
    assert!(
        scheduled.contains("Broker") || scheduled.contains("metadata"),
        "the cause is shown: {scheduled}"
    );
    // Attempts grow with capped backoff rather than storming.
    cp.eventually("a later attempt", Duration::from_secs(30), || async {
        let attempts: i32 = sqlx::query_scalar("SELECT max(restart_attempts) FROM tasks t JOIN connectors c ON c.id = t.connector_id WHERE c.name = 'doomed'")
            .fetch_one(&pool)
            .await?;
        Ok((attempts >= 2).then_some(()))
    })
    .await?;
    let attempts: i32 = sqlx::query_scalar("SELECT max(restart_attempts) FROM tasks t JOIN connectors c ON c.id = t.connector_id WHERE c.name = 'doomed'")
        .fetch_one(&pool)
        .await?;
    assert!(attempts <= 6, "no restart storm: {attempts} attempts");
    let (code, _) = cp.call("DELETE", &dead, None).await?;
    assert_eq!(code, 200);

    // A paused connector stays paused across a control-plane restart.
    let path = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors/napper");
    let (code, _) = cp
        .call(
            "PUT",
            &format!("{path}/config"),
            Some(datagen(&unique_topic("nap"))),
        )
        .await?;
    assert_eq!(code, 200);
    wait_state(&cp, &path, "RUNNING", Some("RUNNING")).await?;
    let (code, _) = cp.call("PUT", &format!("{path}/pause"), None).await?;
    assert_eq!(code, 202);
    wait_state(&cp, &path, "PAUSED", Some("PAUSED")).await?;
    let next = cp.replica(opts).await?;
    let db = cp.db.clone();
    // Stop the first replica (and its workers) without dropping the database.
    let first_pid = cp.pid().expect("pid");
    tributary_tests::signal(first_pid, "TERM")?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while tributary_tests::alive(first_pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_state(&next, &path, "PAUSED", Some("PAUSED")).await?;
    next.stop().await?;
    pool.close().await;
    db.drop_database().await?;
    Ok(())
}
