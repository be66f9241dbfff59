//! Worker pools with the `process` provider: an organization given a
//! dedicated pool runs its tasks only on workers started for that pool; set
//! back to the shared pool, its tasks move to a shared worker and the pool's
//! worker is drained and stopped. Only the operator may see or change pools.

use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions};

/// The registered workers as `(id, pool, tasks)`.
async fn workers(cp: &ControlPlane) -> anyhow::Result<Vec<(String, Option<String>, i64)>> {
    let (status, body) = cp.call("GET", "/ops/v1/workers", None).await?;
    anyhow::ensure!(status == 200, "ops/workers: {status} {body}");
    Ok(body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            (
                w["id"].as_str().unwrap_or_default().to_string(),
                w["pool"].as_str().map(str::to_string),
                w["tasks"].as_i64().unwrap_or(0),
            )
        })
        .collect())
}

/// The worker running task 0, once the connector is RUNNING.
async fn running_on(cp: &ControlPlane, status_path: &str) -> anyhow::Result<Option<String>> {
    let (code, s) = cp.call("GET", status_path, None).await?;
    anyhow::ensure!(code == 200, "status: {code} {s}");
    Ok((s["tasks"][0]["state"] == "RUNNING")
        .then(|| s["tasks"][0]["worker_id"].as_str().map(str::to_string))
        .flatten())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedicated_pool_runs_its_organizations_tasks_and_goes_when_unset() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let (code, orgs) = cp.call("GET", "/org/v2/organizations", None).await?;
    assert_eq!(code, 200, "{orgs}");
    let org = orgs["data"][0]["id"].as_str().expect("org id").to_string();
    let pool_path = format!("/ops/v1/organizations/{org}");

    // Shared by default; bad names and unknown fields are refused.
    let (code, body) = cp.call("GET", &pool_path, None).await?;
    assert_eq!(
        (code, &body["dedicated_pool"]),
        (200, &Value::Null),
        "{body}"
    );
    for bad in [
        json!({"dedicated_pool": "Acme"}),
        json!({"dedicated_pool": "shared"}),
        json!({"dedicated_pool": ""}),
        json!({"dedicated_pool": 7}),
        json!({"pool": "acme"}),
        json!({}),
    ] {
        let (code, body) = cp.call("PATCH", &pool_path, Some(bad.clone())).await?;
        assert_eq!(code, 400, "{bad} → {body}");
    }
    let (code, body) = cp
        .call(
            "PATCH",
            "/ops/v1/organizations/org-nope",
            Some(json!({"dedicated_pool": "acme"})),
        )
        .await?;
    assert_eq!(code, 404, "{body}");

    // A tenant sees no pools, and cannot set one.
    let (code, tenant) = cp
        .call(
            "POST",
            "/org/v2/organizations",
            Some(json!({"display_name": unique("pool-tenant")})),
        )
        .await?;
    assert_eq!(code, 201, "{tenant}");
    let key = &tenant["bootstrap"]["api_key"];
    let tenant_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            key["id"].as_str().expect("key id"),
            key["spec"]["secret"].as_str().expect("secret")
        ))
    );
    let tenant_org = tenant["id"].as_str().expect("tenant org id");
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"dedicated_pool": "mine"}).to_string())),
    ] {
        let (code, b) = cp
            .call_raw(
                method,
                &format!("/ops/v1/organizations/{tenant_org}"),
                body,
                Some(tenant_auth.clone()),
            )
            .await?;
        assert_eq!(code, 404, "tenant {method}: {b}");
    }

    // The operator gives the organization the pool `acme`.
    let (code, body) = cp
        .call("PATCH", &pool_path, Some(json!({"dedicated_pool": "acme"})))
        .await?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["dedicated_pool"], "acme");

    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let name = unique("pooled-gen");
    let (code, created) = cp
        .call(
            "POST",
            &base,
            Some(json!({
                "name": name,
                "config": {
                    "connector.class": "DatagenSource",
                    "kafka.topic": unique_topic("pooled"),
                    "quickstart": "ORDERS",
                    "output.data.format": "JSON",
                    "max.interval": "100",
                    "tasks.max": "1",
                }
            })),
        )
        .await?;
    assert_eq!(code, 201, "{created}");
    let status_path = format!("{base}/{name}/status");
    let first = cp
        .eventually(
            "task RUNNING in the pool",
            Duration::from_secs(90),
            || async { running_on(&cp, &status_path).await },
        )
        .await?;
    let fleet = workers(&cp).await?;
    assert_eq!(
        fleet,
        vec![(first.clone(), Some("acme".to_string()), 1)],
        "one worker, started for the pool, runs the task; no shared worker"
    );
    let (_, reconciler) = cp.call("GET", "/ops/v1/reconciler", None).await?;
    assert!(
        reconciler["scaling_events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["pool"] == "acme" && e["to"] == 1),
        "{reconciler}"
    );

    // Back to the shared pool: the task moves to a shared worker, the pool's
    // worker is drained and stopped.
    let (code, body) = cp
        .call("PATCH", &pool_path, Some(json!({"dedicated_pool": null})))
        .await?;
    assert_eq!(
        (code, &body["dedicated_pool"]),
        (200, &Value::Null),
        "{body}"
    );
    let second = cp
        .eventually(
            "task RUNNING on a shared worker",
            Duration::from_secs(60),
            || async { Ok(running_on(&cp, &status_path).await?.filter(|w| *w != first)) },
        )
        .await?;
    cp.eventually(
        "the pool's worker to go",
        Duration::from_secs(30),
        || async {
            let fleet = workers(&cp).await?;
            Ok((fleet == vec![(second.clone(), None, 1)]).then_some(()))
        },
    )
    .await?;
    let (code, metrics) = cp.call("GET", "/metrics", None).await?;
    assert_eq!(code, 200);
    let metrics = metrics.as_str().unwrap_or_default();
    assert!(
        metrics.contains("tributary_workers_desired{pool=\"acme\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tributary_workers_desired{pool=\"shared\"} 1"),
        "{metrics}"
    );

    let (code, _) = cp.call("DELETE", &format!("{base}/{name}"), None).await?;
    assert_eq!(code, 200);
    cp.eventually(
        "workers to scale to zero",
        Duration::from_secs(30),
        || async { Ok(workers(&cp).await?.is_empty().then_some(())) },
    )
    .await?;
    cp.stop().await
}
