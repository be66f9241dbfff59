//! Several control-plane replicas: any serves the API, exactly one runs the
//! reconciler, and when it dies another takes over under a higher epoch.

use std::time::{Duration, Instant};

use serde_json::json;
use tributary_tests::{signal, unique_topic, ControlPlane, ControlPlaneOptions};

async fn leader(cp: &ControlPlane) -> anyhow::Result<(i64, String)> {
    let (code, body) = cp.call("GET", "/ops/v1/reconciler", None).await?;
    anyhow::ensure!(code == 200, "{code} {body}");
    Ok((
        body["leader"]["epoch"].as_i64().unwrap_or(0),
        body["leader"]["holder"].as_str().unwrap_or("").to_string(),
    ))
}

/// The worker of task 0 once the connector is RUNNING.
async fn running_on(cp: &ControlPlane, path: &str) -> anyhow::Result<Option<String>> {
    let (_, s) = cp.call("GET", &format!("{path}/status"), None).await?;
    Ok((s["connector"]["state"] == "RUNNING").then(|| {
        s["tasks"][0]["worker_id"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_replica_takes_over_the_reconciler() -> anyhow::Result<()> {
    let a = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let b = a.replica(ControlPlaneOptions::default()).await?;
    let a_pid = a.pid().expect("pid");
    let b_pid = b.pid().expect("pid");

    let (epoch, holder) = leader(&b).await?;
    assert!(
        holder.ends_with(&format!(":{a_pid}")),
        "the first replica leads: {holder}"
    );

    // Any replica serves the API; the leader's reconciler runs the connector.
    let (env, cluster) = b.default_cluster().await?;
    let path = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors/gen");
    let (code, body) = b
        .call("PUT", &format!("{path}/config"), Some(json!({
            "connector.class": "DatagenSource", "kafka.topic": unique_topic("lead"), "quickstart": "USERS", "max.interval": "100"
        })))
        .await?;
    assert_eq!(code, 200, "{body}");
    let first = b
        .eventually(
            "RUNNING under the first leader",
            Duration::from_secs(60),
            || running_on(&b, &path),
        )
        .await?;

    // The leader dies; the standby leads under a higher epoch and the connector runs again.
    signal(a_pid, "KILL")?;
    let killed = Instant::now();
    let (new_epoch, new_holder) = b
        .eventually("the standby to lead", Duration::from_secs(15), || async {
            let (e, h) = leader(&b).await?;
            Ok((e > epoch).then_some((e, h)))
        })
        .await?;
    eprintln!("leadership moved after {:?}", killed.elapsed());
    assert!(new_holder.ends_with(&format!(":{b_pid}")), "{new_holder}");
    assert_eq!(new_epoch, epoch + 1);
    let second = b
        .eventually(
            "RUNNING under the new leader",
            Duration::from_secs(30),
            || async { Ok(running_on(&b, &path).await?.filter(|w| *w != first)) },
        )
        .await?;
    eprintln!(
        "connector RUNNING again on {second} after {:?}",
        killed.elapsed()
    );

    b.stop().await?;
    a.stop().await?;
    Ok(())
}
