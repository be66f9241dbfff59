//! The walking skeleton, as a user lives it: discover the ids, create a
//! Datagen connector over REST, see it RUNNING on an autoscaled worker, read
//! its records from Kafka, delete it and see the workers go away.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{json, Value};
use tributary_tests::{
    kafka, kafka_bootstrap, unique, unique_topic, ControlPlane, ControlPlaneOptions,
};

async fn worker_count(cp: &ControlPlane) -> anyhow::Result<usize> {
    let (status, body) = cp.call("GET", "/ops/v1/workers", None).await?;
    anyhow::ensure!(status == 200, "ops/workers: {status} {body}");
    Ok(body["data"].as_array().map(Vec::len).unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_connector_fills_a_topic_on_an_autoscaled_worker() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    assert!(env.starts_with("env-"), "{env}");
    assert!(cluster.starts_with("lkc-"), "{cluster}");
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");

    // No connectors, no workers.
    assert_eq!(worker_count(&cp).await?, 0);

    let topic = unique_topic("orders");
    let name = unique("orders-gen");
    let (status, created) = cp
        .call(
            "POST",
            &base,
            Some(json!({
                "name": name,
                "config": {
                    "connector.class": "DatagenSource",
                    "kafka.topic": topic,
                    "quickstart": "ORDERS",
                    "output.data.format": "JSON",
                    "max.interval": "0",
                    "tasks.max": "1",
                }
            })),
        )
        .await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["type"], "source");
    assert_eq!(created["config"]["kafka.topic"], topic.as_str());
    assert_eq!(created["config"]["name"], name.as_str());
    assert_eq!(created["tasks"], json!([{"connector": name, "task": 0}]));

    // PROVISIONING → RUNNING, with the task on a worker the provider started.
    let status_path = format!("{base}/{name}/status");
    let running: Value = cp
        .eventually("connector RUNNING", Duration::from_secs(90), || async {
            let (code, s) = cp.call("GET", &status_path, None).await?;
            anyhow::ensure!(code == 200, "status: {code} {s}");
            Ok((s["connector"]["state"] == "RUNNING").then_some(s))
        })
        .await?;
    assert_eq!(running["name"], name.as_str());
    assert_eq!(running["type"], "source");
    let tasks = running["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["id"], 0);
    assert_eq!(tasks[0]["state"], "RUNNING");
    let worker = tasks[0]["worker_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        worker.starts_with("w-"),
        "task runs on a provider-started worker: {running}"
    );
    assert_eq!(worker_count(&cp).await?, 1);
    let (code, metrics) = cp.call("GET", "/metrics", None).await?;
    assert_eq!(code, 200);
    let metrics = metrics.as_str().unwrap_or_default().to_string();
    assert!(
        metrics.contains("tributary_tasks{state=\"RUNNING\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tributary_reconciler_leader_epoch{holder="),
        "{metrics}"
    );
    let (code, _) = cp.call_raw("GET", "/metrics", None, None).await?;
    assert_eq!(code, 401);

    // At least 1,000 ORDERS records, shaped as the quickstart says, keyed by orderid.
    let records = kafka::consume(&kafka_bootstrap(), &topic, 1000, Duration::from_secs(60)).await?;
    let mut order_ids = HashSet::new();
    for r in &records {
        let value: Value = serde_json::from_slice(r.value.as_deref().expect("value"))?;
        let key = String::from_utf8(r.key.clone().expect("key"))?;
        let orderid = value["orderid"].as_i64().expect("orderid is an integer");
        assert_eq!(key, orderid.to_string(), "key is the orderid");
        assert!(value["ordertime"].is_i64(), "{value}");
        let item = value["itemid"].as_str().expect("itemid");
        assert!(item.starts_with("Item_"), "{item}");
        let units = value["orderunits"].as_f64().expect("orderunits");
        assert!((0.0..=10.0).contains(&units), "{units}");
        let zip = value["address"]["zipcode"].as_i64().expect("zipcode");
        assert!((10000..=99999).contains(&zip), "{zip}");
        assert!(value["address"]["city"]
            .as_str()
            .expect("city")
            .starts_with("City_"));
        assert!(value["address"]["state"]
            .as_str()
            .expect("state")
            .starts_with("State_"));
        order_ids.insert(orderid);
    }
    assert!(
        order_ids.len() >= 1000,
        "orderids iterate: {} distinct",
        order_ids.len()
    );

    // The connector reads back and lists with the expansions Confluent's clients use.
    let (code, read) = cp.call("GET", &format!("{base}/{name}"), None).await?;
    assert_eq!(code, 200, "{read}");
    assert_eq!(read["config"]["quickstart"], "ORDERS");
    let (code, list) = cp.call("GET", &base, None).await?;
    assert_eq!((code, list), (200, json!([name])));
    let (_, expanded) = cp
        .call("GET", &format!("{base}?expand=id,status"), None)
        .await?;
    assert!(
        expanded[&name]["id"]["id"]
            .as_str()
            .unwrap_or("")
            .starts_with("lcc-"),
        "{expanded}"
    );
    assert_eq!(expanded[&name]["status"]["connector"]["state"], "RUNNING");

    // Delete: the body Confluent returns, then the task stops within seconds…
    let (code, deleted) = cp.call("DELETE", &format!("{base}/{name}"), None).await?;
    assert_eq!((code, deleted), (200, json!({"error": null})));
    let (code, _) = cp.call("GET", &status_path, None).await?;
    assert_eq!(code, 404);
    let bootstrap = kafka_bootstrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut last = kafka::high_watermark(&bootstrap, &topic)?;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = kafka::high_watermark(&bootstrap, &topic)?;
        if now == last {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the topic still grows 10 s after delete ({last} → {now})"
        );
        last = now;
    }

    // …and the fleet scales back to zero.
    cp.eventually(
        "workers to scale to zero",
        Duration::from_secs(30),
        || async { Ok((worker_count(&cp).await? == 0).then_some(())) },
    )
    .await?;

    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_confluent_errors_and_store_nothing() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");

    // Authentication.
    let (code, body) = cp.call_raw("GET", &base, None, None).await?;
    assert_eq!(code, 401, "{body}");
    assert_eq!(body["error"]["code"], 401, "Connect error shape: {body}");
    let wrong = format!(
        "Basic {}",
        base64_encode(&format!("{}:{}", cp.key, "not-the-secret"))
    );
    let (code, body) = cp
        .call_raw("GET", "/org/v2/environments", None, Some(wrong))
        .await?;
    assert_eq!(code, 401, "{body}");
    assert_eq!(body["errors"][0]["status"], "401", "v2 error shape: {body}");
    let unknown = format!("Basic {}", base64_encode("NOSUCHKEY:whatever"));
    let (code, _) = cp.call_raw("GET", &base, None, Some(unknown)).await?;
    assert_eq!(code, 401);

    // Malformed JSON.
    let (code, body) = cp
        .call_raw(
            "POST",
            &base,
            Some("{\"name\": ".into()),
            Some(cp.basic_auth()),
        )
        .await?;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("JSON"),
        "{body}"
    );

    // A config value that is not a string names its field.
    let (code, body) = cp
        .call(
            "POST",
            &base,
            Some(json!({"name": "x", "config": {"connector.class": "DatagenSource", "tasks.max": 1}})),
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

    // Unknown connector class.
    let (code, body) = cp
        .call(
            "POST",
            &base,
            Some(json!({"name": "x", "config": {"connector.class": "NoSuchSource"}})),
        )
        .await?;
    assert_eq!(code, 400, "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("NoSuchSource") && msg.contains("DatagenSource"),
        "{body}"
    );

    // Missing required key.
    let (code, body) = cp
        .call(
            "POST",
            &base,
            Some(json!({"name": "x", "config": {"connector.class": "DatagenSource", "quickstart": "ORDERS"}})),
        )
        .await?;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("kafka.topic"),
        "{body}"
    );

    // Unknown environment and cluster.
    let good = json!({"name": "x", "config": {"connector.class": "DatagenSource", "quickstart": "ORDERS", "kafka.topic": "t"}});
    let (code, body) = cp
        .call(
            "POST",
            &format!("/connect/v1/environments/env-nope/clusters/{cluster}/connectors"),
            Some(good.clone()),
        )
        .await?;
    assert_eq!(code, 404, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("env-nope"),
        "{body}"
    );
    let (code, body) = cp
        .call(
            "POST",
            &format!("/connect/v1/environments/{env}/clusters/lkc-nope/connectors"),
            Some(good.clone()),
        )
        .await?;
    assert_eq!(code, 404, "{body}");
    let (code, body) = cp.call("GET", "/cmk/v2/clusters", None).await?;
    assert_eq!(code, 400, "environment is required: {body}");

    // Nothing was stored, and no worker was started for any of it.
    let (code, list) = cp.call("GET", &base, None).await?;
    assert_eq!((code, list), (200, json!([])));
    let (_, workers) = cp.call("GET", "/ops/v1/workers", None).await?;
    assert_eq!(workers["data"], json!([]));

    // A duplicate name is refused without touching the first.
    let (code, _) = cp.call("POST", &base, Some(good.clone())).await?;
    assert_eq!(code, 201);
    let (code, body) = cp.call("POST", &base, Some(good)).await?;
    assert_eq!(code, 409, "{body}");
    let (code, _) = cp.call("DELETE", &format!("{base}/x"), None).await?;
    assert_eq!(code, 200);
    let (code, body) = cp.call("DELETE", &format!("{base}/x"), None).await?;
    assert_eq!(code, 404, "{body}");

    cp.stop().await
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
