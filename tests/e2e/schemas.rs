//! Confluent's published OpenAPI documents (`shared/reference/confluent-openapi`
//! beside the repository, or `TRIBUTARY_CONFLUENT_OPENAPI_DIR`) as JSON Schema
//! validators for our responses.
//!
//! OpenAPI 3.0 schemas are close to JSON Schema; the differences that matter
//! here are converted: `nullable: true` (also inside `allOf`) becomes "or null".

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

pub struct Schemas {
    /// file stem (`org`, `cmk`, `apikeys`, `iam`) → converted `components`.
    docs: HashMap<&'static str, Value>,
}

fn dir() -> PathBuf {
    if let Ok(d) = std::env::var("TRIBUTARY_CONFLUENT_OPENAPI_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/confluent-openapi")
}

fn is_nullable(v: &Value) -> bool {
    v.get("nullable").and_then(Value::as_bool) == Some(true)
}

/// OpenAPI 3.0 → JSON Schema, for the keywords Confluent's documents use.
fn convert(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            let mut nullable = is_nullable(v);
            for (k, child) in m {
                match k.as_str() {
                    "nullable" | "discriminator" | "example" | "examples" => {}
                    "allOf" => {
                        let parts: Vec<Value> = child
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|p| {
                                        if is_nullable(p) {
                                            nullable = true;
                                            // A part that only says "nullable" adds nothing else.
                                            let rest: Map<String, Value> = p
                                                .as_object()
                                                .map(|o| {
                                                    o.iter()
                                                        .filter(|(k, _)| k.as_str() != "nullable")
                                                        .map(|(k, v)| (k.clone(), convert(v)))
                                                        .collect()
                                                })
                                                .unwrap_or_default();
                                            (!rest.is_empty()).then_some(Value::Object(rest))
                                        } else {
                                            Some(convert(p))
                                        }
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Array(parts));
                    }
                    "properties"
                    | "items"
                    | "additionalProperties"
                    | "oneOf"
                    | "anyOf"
                    | "not"
                    | "schemas"
                    | "components" => {
                        let c = match child {
                            Value::Object(props) if k == "properties" || k == "schemas" => {
                                Value::Object(
                                    props.iter().map(|(n, s)| (n.clone(), convert(s))).collect(),
                                )
                            }
                            other => convert(other),
                        };
                        out.insert(k.clone(), c);
                    }
                    _ => {
                        out.insert(k.clone(), child.clone());
                    }
                }
            }
            let out = Value::Object(out);
            if nullable {
                json!({"anyOf": [{"type": "null"}, out]})
            } else {
                out
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(convert).collect()),
        other => other.clone(),
    }
}

impl Schemas {
    pub fn load() -> Schemas {
        let dir = dir();
        let mut docs = HashMap::new();
        for (stem, file) in [
            ("org", "org-v2.yaml"),
            ("cmk", "cmk-v2.yaml"),
            ("apikeys", "apikeys-v2.yaml"),
            ("iam", "iam-v2.yaml"),
        ] {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "cannot read {} ({e}); set TRIBUTARY_CONFLUENT_OPENAPI_DIR to the folder of \
                     Confluent's OpenAPI documents",
                    path.display()
                )
            });
            let doc: Value = serde_yaml_ng::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            docs.insert(stem, convert(&doc["components"]));
        }
        Schemas { docs }
    }

    /// Panics with every violation when `instance` does not validate
    /// against schema `name` of document `doc`.
    pub fn check(&self, doc: &str, name: &str, instance: &Value) {
        let components = self
            .docs
            .get(doc)
            .unwrap_or_else(|| panic!("no document {doc}"));
        assert!(
            components["schemas"].get(name).is_some(),
            "{doc} has no schema {name}"
        );
        let schema = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": components,
        });
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("schema {doc}/{name}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "response does not validate against {doc}/{name}:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }
}

/// Every operation (`METHOD`, path template) of the given documents, e.g.
/// `("GET", "/org/v2/environments/{id}")`.
pub fn operations(files: &[&str]) -> Vec<(String, String)> {
    let mut out = vec![];
    for file in files {
        let path = dir().join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (p, ops) in doc["paths"].as_object().into_iter().flatten() {
            for m in ops.as_object().into_iter().flatten().map(|(m, _)| m) {
                if ["get", "post", "put", "patch", "delete"].contains(&m.as_str()) {
                    out.push((m.to_ascii_uppercase(), p.clone()));
                }
            }
        }
    }
    out
}

/// Tributary's own OpenAPI document, generated from the code and checked in
/// at `openapi/openapi.json` (kept fresh by the control plane's tests).
pub fn ours() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One operation of our document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path template, e.g. `/org/v2/environments/{id}`.
    pub path: String,
    /// Names of the path parameters and of the required query parameters.
    pub path_params: Vec<String>,
    pub required_query: Vec<String>,
    /// Whether the operation needs credentials (it has no empty security requirement).
    pub authenticated: bool,
}

/// Every operation of our document.
pub fn our_operations() -> Vec<Operation> {
    let doc = ours();
    let mut out = vec![];
    for (p, ops) in doc["paths"].as_object().into_iter().flatten() {
        for (m, op) in ops.as_object().into_iter().flatten() {
            if !["get", "post", "put", "patch", "delete"].contains(&m.as_str()) {
                continue;
            }
            let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
            let named = |location: &str, required_only: bool| -> Vec<String> {
                params
                    .iter()
                    .filter(|q| q["in"] == location)
                    .filter(|q| !required_only || q["required"] == true)
                    .filter_map(|q| q["name"].as_str().map(String::from))
                    .collect()
            };
            // The document's default is "credentials needed"; `security: [{}]` makes them optional.
            let authenticated = !op["security"].as_array().is_some_and(|reqs| {
                reqs.iter()
                    .any(|r| r.as_object().is_some_and(Map::is_empty))
            });
            out.push(Operation {
                method: m.to_ascii_uppercase(),
                path: p.clone(),
                path_params: named("path", false),
                required_query: named("query", true),
                authenticated,
            });
        }
    }
    out
}

/// The JSON Schema of operation `method path`'s answer with `status`, as a
/// self-contained document (`components` of ours alongside); None when the
/// answer has no JSON body. Panics when the status is not documented.
pub fn our_response_schema(doc: &Value, method: &str, path: &str, status: u16) -> Option<Value> {
    let op = &doc["paths"][path][method.to_ascii_lowercase()];
    assert!(
        op.is_object(),
        "{method} {path} is not in openapi/openapi.json"
    );
    let mut response = op["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| {
            panic!(
                "{method} {path} answered {status}, which openapi/openapi.json does not document"
            )
        })
        .clone();
    if let Some(r) = response["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or_default();
        response = doc["components"]["responses"][name].clone();
    }
    let schema = response["content"]["application/json"]["schema"].clone();
    if schema.is_null() {
        return None;
    }
    let mut full = schema.as_object().cloned().unwrap_or_default();
    full.insert("components".into(), doc["components"].clone());
    Some(Value::Object(full))
}

/// Panics with every violation when `instance` does not validate against `schema`.
pub fn check_with(schema: &Value, instance: &Value, what: &str) {
    let validator =
        jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("schema of {what}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the answer does not validate against openapi/openapi.json:\n{}\n{instance:#}",
        errors.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_or_null() {
        let c = convert(&json!({"allOf": [{"$ref": "#/x"}, {"nullable": true}]}));
        assert_eq!(
            c,
            json!({"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/x"}]}]})
        );
    }

    #[test]
    fn validation_catches_wrong_shapes() {
        let s = Schemas::load();
        let env = json!({"api_version": "org/v2", "kind": "Environment", "id": "env-1",
                         "metadata": {"self": "http://x/org/v2/environments/env-1"}, "display_name": "d"});
        s.check("org", "org.v2.Environment", &env);
        let mut wrong = env.clone();
        wrong["kind"] = json!("Cluster");
        let caught = std::panic::catch_unwind(|| s.check("org", "org.v2.Environment", &wrong));
        assert!(caught.is_err(), "a wrong kind must not validate");
        let caught = std::panic::catch_unwind(|| {
            s.check("org", "Failure", &json!({"errors": [{"status": 404}]}))
        });
        assert!(caught.is_err(), "status must be a string");
        // A cloud key's null resource is allowed.
        s.check(
            "apikeys",
            "iam.v2.ApiKey",
            &json!({"api_version": "iam/v2", "kind": "ApiKey", "id": "K",
                    "metadata": {"self": "http://x"}, "spec": {"resource": null}}),
        );
    }
}
