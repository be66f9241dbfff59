//! `openapi/openapi.json` is the document the code generates: a change to an
//! endpoint's annotations or documentation types must come with the
//! regenerated file, so that clients generated from the checked-in document
//! match the API.

use std::path::PathBuf;

const REGENERATE: &str = "cargo run -p tributary-control-plane -- openapi > openapi/openapi.json";

#[test]
fn checked_in_openapi_document_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let generated = tributary_control_plane::api::openapi::json();
    let checked_in = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); generate it from the repository root with:\n  {REGENERATE}",
            path.display()
        )
    });
    if checked_in.replace("\r\n", "\n") != generated {
        let first_difference = checked_in
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| checked_in.lines().count().min(generated.lines().count()) + 1);
        panic!(
            "openapi/openapi.json is stale (first difference at line {first_difference}): the API's \
             annotations or documentation types changed. Regenerate it from the repository root \
             with:\n  {REGENERATE}\nand commit it."
        );
    }
}

#[test]
fn document_is_public_api_only_with_unique_operation_ids() {
    let doc: serde_json::Value =
        serde_json::from_str(tributary_control_plane::api::openapi::json()).expect("valid JSON");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths.keys().all(|p| !p.starts_with("/internal/")),
        "the worker protocol is not public"
    );
    let mut ids = std::collections::BTreeSet::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().into_iter().flatten() {
            if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            } else if op.is_object() && method != "parameters" {
                panic!("{method} {path} has no operationId");
            }
        }
    }
    // Every reference resolves (reusable responses and schemas are registered).
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r);
                }
                m.values().for_each(|c| refs(c, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }
    let mut all = vec![];
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or(r);
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
    for scheme in ["cloud-api-key", "bearer"] {
        assert!(
            doc["components"]["securitySchemes"].get(scheme).is_some(),
            "security scheme {scheme}"
        );
    }
}
