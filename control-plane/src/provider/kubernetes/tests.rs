//! The Kubernetes provider against a mock API server: every request it
//! sends is checked for method, path, query, content type and JSON body.

use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};
use tower_test::mock::{self, Handle, SendResponse};

use super::*;

const NS: &str = "tributary";
const SCALE: &str = "/apis/apps/v1/namespaces/tributary/deployments/tributary-worker/scale";
const ACME_SCALE: &str =
    "/apis/apps/v1/namespaces/tributary/deployments/tributary-worker-acme/scale";
const PODS: &str = "/api/v1/namespaces/tributary/pods";

type Api = Handle<Request<Body>, Response<Body>>;

fn provider() -> (KubernetesProvider, Api) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, NS);
    let provider = KubernetesProvider::new(
        client,
        KubernetesSettings {
            namespace: NS.into(),
            deployment: "tributary-worker".into(),
            selector: "app.kubernetes.io/name=tributary-worker".into(),
        },
    );
    (provider, handle)
}

/// The next request must be `method uri` (path and query) with `body` as
/// its JSON body (`None`: no body); returns the way to answer it.
async fn expect(
    api: &mut Api,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> SendResponse<Response<Body>> {
    let (req, send) = tokio::time::timeout(Duration::from_secs(5), api.next_request())
        .await
        .unwrap_or_else(|_| panic!("no request came; expected {method} {uri}"))
        .expect("the provider dropped the client");
    assert_eq!(
        (req.method().as_str(), req.uri().to_string().as_str()),
        (method, uri),
        "request line"
    );
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = req.into_body().collect_bytes().await.unwrap();
    match body {
        None => assert!(bytes.is_empty(), "{method} {uri} has a body: {bytes:?}"),
        Some(expected) => {
            if method == "PATCH" {
                assert_eq!(
                    content_type.as_deref(),
                    Some("application/merge-patch+json"),
                    "{method} {uri} content type"
                );
            }
            let sent: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(sent, expected, "body of {method} {uri}");
        }
    }
    send
}

fn reply(send: SendResponse<Response<Body>>, status: u16, body: Value) {
    send.send_response(
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap(),
    );
}

fn scale(name: &str, replicas: i32, resource_version: &str) -> Value {
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": resource_version},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "selector": "app.kubernetes.io/name=tributary-worker"}
    })
}

fn status(code: u16, reason: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Status", "status": "Failure",
        "message": reason, "reason": reason, "code": code
    })
}

fn pod(name: &str, pool: Option<&str>, phase: &str, extra: Value) -> Value {
    let mut labels = json!({"app.kubernetes.io/name": "tributary-worker"});
    if let Some(p) = pool {
        labels[POOL_LABEL] = json!(p);
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "status": {"phase": phase}
    });
    if phase == "Running" {
        pod["status"]["startTime"] = json!("2026-01-01T00:00:00Z");
    }
    merge(&mut pod, extra);
    pod
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn pod_list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "100"}, "items": items})
}

const LIST: &str =
    "/api/v1/namespaces/tributary/pods?&labelSelector=app.kubernetes.io%2Fname%3Dtributary-worker";

#[tokio::test]
async fn scale_up_reads_the_scale_then_patches_replicas_conditionally() {
    let (provider, mut api) = provider();
    let call = tokio::spawn(async move {
        let ids = provider.start(None, 2).await.unwrap();
        (provider, ids)
    });
    let send = expect(&mut api, "GET", SCALE, None).await;
    reply(send, 200, scale("tributary-worker", 1, "41"));
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{SCALE}?"),
        Some(json!({"metadata": {"resourceVersion": "41"}, "spec": {"replicas": 3}})),
    )
    .await;
    reply(send, 200, scale("tributary-worker", 3, "42"));
    let (provider, ids) = call.await.unwrap();
    assert!(ids.is_empty(), "pod names are not known at once");

    // A dedicated pool scales its own Deployment; a 409 (someone changed
    // the replicas in between) makes it read again and retry.
    let call = tokio::spawn(async move { provider.start(Some("acme"), 1).await.unwrap() });
    let send = expect(&mut api, "GET", ACME_SCALE, None).await;
    reply(send, 200, scale("tributary-worker-acme", 0, "7"));
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{ACME_SCALE}?"),
        Some(json!({"metadata": {"resourceVersion": "7"}, "spec": {"replicas": 1}})),
    )
    .await;
    reply(send, 409, status(409, "Conflict"));
    let send = expect(&mut api, "GET", ACME_SCALE, None).await;
    reply(send, 200, scale("tributary-worker-acme", 2, "9"));
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{ACME_SCALE}?"),
        Some(json!({"metadata": {"resourceVersion": "9"}, "spec": {"replicas": 3}})),
    )
    .await;
    reply(send, 200, scale("tributary-worker-acme", 3, "10"));
    call.await.unwrap();
}

#[tokio::test]
async fn scale_down_marks_the_victim_lowers_replicas_then_deletes_it() {
    let (provider, mut api) = provider();
    let victim = "tributary-worker-5d8f7c9b4-x2k4p";
    let call = tokio::spawn(async move { provider.stop(victim).await });
    // 1. The victim gets the lowest deletion cost, so the ReplicaSet removes it.
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{PODS}/{victim}?"),
        Some(json!({"metadata": {"annotations": {
            "controller.kubernetes.io/pod-deletion-cost": "-2147483648"
        }}})),
    )
    .await;
    reply(send, 200, pod(victim, None, "Running", json!({})));
    // 2. One replica fewer, so it is not replaced.
    let send = expect(&mut api, "GET", SCALE, None).await;
    reply(send, 200, scale("tributary-worker", 3, "50"));
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{SCALE}?"),
        Some(json!({"metadata": {"resourceVersion": "50"}, "spec": {"replicas": 2}})),
    )
    .await;
    reply(send, 200, scale("tributary-worker", 2, "51"));
    // 3. Then the pod itself goes, whichever pod the ReplicaSet picked.
    let send = expect(
        &mut api,
        "DELETE",
        &format!("{PODS}/{victim}?"),
        Some(json!({})),
    )
    .await;
    reply(send, 200, pod(victim, None, "Running", json!({})));
    call.await.unwrap();
}

#[tokio::test]
async fn stopping_a_pod_of_a_dedicated_pool_scales_that_pool() {
    let (provider, mut api) = provider();
    let victim = "tributary-worker-acme-6c9d-7hq2m";
    let call = tokio::spawn(async move { provider.stop(victim).await });
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{PODS}/{victim}?"),
        Some(json!({"metadata": {"annotations": {DELETION_COST: VICTIM_COST}}})),
    )
    .await;
    reply(send, 200, pod(victim, Some("acme"), "Running", json!({})));
    let send = expect(&mut api, "GET", ACME_SCALE, None).await;
    reply(send, 200, scale("tributary-worker-acme", 1, "3"));
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{ACME_SCALE}?"),
        Some(json!({"metadata": {"resourceVersion": "3"}, "spec": {"replicas": 0}})),
    )
    .await;
    reply(send, 200, scale("tributary-worker-acme", 0, "4"));
    let send = expect(
        &mut api,
        "DELETE",
        &format!("{PODS}/{victim}?"),
        Some(json!({})),
    )
    .await;
    reply(send, 404, status(404, "NotFound")); // the ReplicaSet was faster: fine
    call.await.unwrap();
}

#[tokio::test]
async fn stopping_a_pod_that_is_gone_changes_nothing() {
    let (provider, mut api) = provider();
    let call = tokio::spawn(async move {
        provider.stop("tributary-worker-gone-1").await;
        provider
    });
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{PODS}/tributary-worker-gone-1?"),
        Some(json!({"metadata": {"annotations": {DELETION_COST: VICTIM_COST}}})),
    )
    .await;
    reply(send, 404, status(404, "NotFound"));
    let _provider = call.await.unwrap();
    // No scale request followed.
    assert!(
        tokio::time::timeout(Duration::from_millis(100), api.next_request())
            .await
            .is_err(),
        "no further request"
    );
}

#[tokio::test]
async fn lists_worker_pods_by_selector_and_reports_the_gone_ones() {
    let (provider, mut api) = provider();
    let call = tokio::spawn(async move {
        let running = provider.running().await;
        (provider, running)
    });
    let send = expect(&mut api, "GET", LIST, None).await;
    reply(
        send,
        200,
        pod_list(vec![
            pod("w-shared-a", None, "Running", json!({})),
            pod("w-shared-b", Some("shared"), "Pending", json!({})),
            pod("w-acme-a", Some("acme"), "Running", json!({})),
            // Being deleted: neither running nor gone yet.
            pod(
                "w-shared-old",
                None,
                "Running",
                json!({"metadata": {"deletionTimestamp": "2026-01-01T00:01:00Z"}}),
            ),
            // Evicted: its worker has ended.
            pod("w-shared-evicted", None, "Failed", json!({})),
        ]),
    );
    // Each pool's replicas are read once, to see pods not created yet.
    let send = expect(&mut api, "GET", SCALE, None).await;
    reply(send, 200, scale("tributary-worker", 3, "60"));
    let send = expect(&mut api, "GET", ACME_SCALE, None).await;
    reply(send, 200, scale("tributary-worker-acme", 1, "8"));
    let (provider, running) = call.await.unwrap();
    let ids: Vec<(&str, Option<&str>)> = running
        .iter()
        .map(|w| (w.id.as_str(), w.pool.as_deref()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("pending/shared/2", None),
            ("w-acme-a", Some("acme")),
            ("w-shared-a", None),
            ("w-shared-b", None),
        ]
    );
    // A running pod's start is its start time; a pending one is starting now.
    let by_id = |id: &str| running.iter().find(|w| w.id == id).unwrap().started;
    assert!(by_id("w-shared-a").elapsed() > Duration::from_secs(3600));
    assert!(by_id("w-shared-b").elapsed() < Duration::from_secs(60));
    assert!(provider.take_exited().await.is_empty(), "first sight");

    // Next list: w-shared-a and the deleted pod are gone, acme's pod failed.
    let call = tokio::spawn(async move {
        let running = provider.running().await;
        (provider, running)
    });
    let send = expect(&mut api, "GET", LIST, None).await;
    reply(
        send,
        200,
        pod_list(vec![
            pod("w-shared-b", None, "Running", json!({})),
            pod("w-acme-a", Some("acme"), "Failed", json!({})),
        ]),
    );
    // The replicas were read moments ago: no new read.
    let (provider, running) = call.await.unwrap();
    let ids: Vec<&str> = running.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "pending/acme/0",
            "pending/shared/1",
            "pending/shared/2",
            "w-shared-b"
        ]
    );
    let mut exited = provider.take_exited().await;
    exited.sort();
    assert_eq!(exited, vec!["w-acme-a", "w-shared-a", "w-shared-old"]);
    assert!(provider.take_exited().await.is_empty());
}

#[tokio::test]
async fn a_failed_list_keeps_the_last_answer() {
    let (provider, mut api) = provider();
    let call = tokio::spawn(async move {
        let running = provider.running().await;
        (provider, running)
    });
    let send = expect(&mut api, "GET", LIST, None).await;
    reply(
        send,
        200,
        pod_list(vec![pod("w-1", None, "Running", json!({}))]),
    );
    let send = expect(&mut api, "GET", SCALE, None).await;
    reply(send, 200, scale("tributary-worker", 1, "1"));
    let (provider, first) = call.await.unwrap();
    assert_eq!(first.len(), 1);

    let call = tokio::spawn(async move {
        let running = provider.running().await;
        (provider, running)
    });
    let send = expect(&mut api, "GET", LIST, None).await;
    reply(send, 403, status(403, "Forbidden"));
    let (provider, second) = call.await.unwrap();
    assert_eq!(second, first, "an API error is not a fleet that vanished");
    assert!(provider.take_exited().await.is_empty());
}

#[tokio::test]
async fn stopping_a_placeholder_only_lowers_replicas() {
    let (provider, mut api) = provider();
    let call = tokio::spawn(async move { provider.stop("pending/acme/0").await });
    let send = expect(&mut api, "GET", ACME_SCALE, None).await;
    reply(send, 200, scale("tributary-worker-acme", 2, "12"));
    let send = expect(
        &mut api,
        "PATCH",
        &format!("{ACME_SCALE}?"),
        Some(json!({"metadata": {"resourceVersion": "12"}, "spec": {"replicas": 1}})),
    )
    .await;
    reply(send, 200, scale("tributary-worker-acme", 1, "13"));
    call.await.unwrap();
}

#[test]
fn placeholder_ids_name_their_pool_and_never_a_pod() {
    assert_eq!(placeholder(&None, 0), "pending/shared/0");
    assert_eq!(placeholder_pool("pending/shared/0"), Some(None));
    assert_eq!(placeholder_pool("pending/acme/3"), Some(Some("acme")));
    assert_eq!(placeholder_pool("tributary-worker-5d8f7c9b4-x2k4p"), None);
}
