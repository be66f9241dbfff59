//! `deploy/kubernetes/`: every manifest parses, and the manifests agree with
//! what the `kubernetes` provider expects (its default Deployment name and
//! pod selector, the pool label, the worker id from the pod name, the RBAC
//! for the requests it sends).

use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;
use serde_yaml_ng::Value;
use tributary_control_plane::config::ServeArgs;
use tributary_control_plane::provider::kubernetes::POOL_LABEL;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes")
}

/// Every document of one file.
fn docs(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{file}: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

/// The `name=value` pairs of an equality-based selector.
fn selector(sel: &str) -> Vec<(String, String)> {
    sel.split(',')
        .map(|p| {
            let (k, v) = p.split_once('=').expect("k=v");
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

fn matches(labels: &Value, pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .all(|(k, v)| labels[k.as_str()].as_str() == Some(v.as_str()))
}

fn env<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_sequence()
        .and_then(|e| e.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no env {name}"))
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

fn defaults() -> ServeArgs {
    Cli::try_parse_from(["control-plane"]).unwrap().serve
}

#[test]
fn every_manifest_parses_into_named_objects() {
    let mut files = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        files += 1;
        let docs = docs(&file);
        assert!(!docs.is_empty(), "{file} is empty");
        for d in &docs {
            assert!(
                d["apiVersion"].is_string(),
                "{file}: a document without apiVersion"
            );
            assert!(d["kind"].is_string(), "{file}: a document without kind");
            if d["kind"] != "Kustomization" {
                assert!(
                    d["metadata"]["name"].is_string(),
                    "{file}: an object without a name"
                );
            }
        }
    }
    assert!(files >= 7, "only {files} manifests");
    for r in docs("kustomization.yaml")[0]["resources"]
        .as_sequence()
        .unwrap()
    {
        assert!(
            dir().join(s(r)).is_file(),
            "kustomization names missing {r:?}"
        );
    }
}

#[test]
fn the_worker_deployment_is_what_the_provider_scales() {
    let args = defaults();
    let workers = docs("worker.yaml");
    let d = find(&workers, "Deployment", &args.k8s_deployment);
    assert_eq!(d["spec"]["replicas"].as_i64(), Some(0), "starts at zero");
    let pod = &d["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert!(
        matches(labels, &selector(&args.k8s_selector)),
        "the provider's default selector {} must match the worker pods",
        args.k8s_selector
    );
    assert_eq!(labels[POOL_LABEL], "shared");
    for (k, v) in d["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(&labels[s(k)], v, "the Deployment selects its own pods");
    }
    let c = &pod["spec"]["containers"][0];
    assert_eq!(
        env(c, "TRIBUTARY_WORKER_ID")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name",
        "the worker id is the pod name"
    );
    let token = &env(c, "TRIBUTARY_WORKER_TOKEN")["valueFrom"]["secretKeyRef"];
    let secrets = docs("secret.example.yaml");
    let secret = find(&secrets, "Secret", s(&token["name"]));
    assert!(secret["stringData"][s(&token["key"])].is_string());
    assert_eq!(
        s(&env(c, "TRIBUTARY_WORKER_CAPACITY")["value"]),
        args.worker_capacity.to_string()
    );
    assert_eq!(
        pod["spec"]["automountServiceAccountToken"].as_bool(),
        Some(false)
    );
}

#[test]
fn a_dedicated_pool_is_its_own_deployment_with_its_own_pods() {
    let args = defaults();
    let shared = docs("worker.yaml");
    let shared = find(&shared, "Deployment", &args.k8s_deployment);
    let pools = docs("worker-pool.example.yaml");
    let d = &pools[0];
    let pod = &d["spec"]["template"];
    let pool = s(&pod["metadata"]["labels"][POOL_LABEL]);
    assert_ne!(pool, "shared");
    assert_eq!(
        s(&d["metadata"]["name"]),
        format!("{}-{pool}", args.k8s_deployment),
        "the provider derives the pool's Deployment name"
    );
    assert_eq!(
        s(&env(&pod["spec"]["containers"][0], "TRIBUTARY_WORKER_POOL")["value"]),
        pool
    );
    assert!(matches(
        &pod["metadata"]["labels"],
        &selector(&args.k8s_selector)
    ));
    // Neither Deployment's selector takes the other's pods.
    let shared_sel = &shared["spec"]["selector"]["matchLabels"];
    assert_ne!(
        shared_sel[POOL_LABEL],
        d["spec"]["selector"]["matchLabels"][POOL_LABEL]
    );
    assert!(shared_sel[POOL_LABEL].is_string());
}

#[test]
fn the_control_plane_may_send_exactly_the_requests_it_needs() {
    let rbac = docs("rbac.yaml");
    let role = find(&rbac, "Role", "tributary-worker-scaler");
    let allowed = |group: &str, resource: &str, verb: &str| {
        role["rules"].as_sequence().unwrap().iter().any(|r| {
            r["apiGroups"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|g| g == group)
                && r["resources"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|x| x == resource)
                && r["verbs"].as_sequence().unwrap().iter().any(|v| v == verb)
        })
    };
    for verb in ["get", "patch", "update"] {
        assert!(
            allowed("apps", "deployments/scale", verb),
            "deployments/scale {verb}"
        );
    }
    for verb in ["get", "list", "watch", "delete", "patch"] {
        assert!(allowed("", "pods", verb), "pods {verb}");
    }
    assert!(
        !allowed("apps", "deployments", "patch"),
        "no write access to Deployments themselves"
    );

    let cp = docs("control-plane.yaml");
    let d = find(&cp, "Deployment", "tributary-control-plane");
    assert_eq!(d["spec"]["replicas"].as_i64(), Some(2));
    let sa = s(&d["spec"]["template"]["spec"]["serviceAccountName"]);
    let binding = find(&rbac, "RoleBinding", "tributary-worker-scaler");
    assert_eq!(binding["roleRef"]["name"], "tributary-worker-scaler");
    assert_eq!(s(&binding["subjects"][0]["name"]), sa);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(env(c, "TRIBUTARY_PROVIDER")["value"], "kubernetes");
    // The Service reaches the control-plane pods; the workers use it.
    let svc = find(&cp, "Service", "tributary-control-plane");
    for (k, v) in svc["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(&d["spec"]["template"]["metadata"]["labels"][s(k)], v);
    }
    let workers = docs("worker.yaml");
    let w = &find(&workers, "Deployment", "tributary-worker")["spec"]["template"]["spec"]
        ["containers"][0];
    assert!(s(&env(w, "TRIBUTARY_CONTROL_PLANE_URL")["value"])
        .starts_with("http://tributary-control-plane."));
}
