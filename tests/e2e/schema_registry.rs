//! The environment Schema Registry (Confluent's REST subset, in its shapes)
//! and the Schema Registry converters, end to end: registration, lookup,
//! compatibility refusal, deletes, tenant isolation; then Datagen ORDERS in
//! Avro into a topic (magic byte, schema id the registry serves, Avro that
//! decodes to ORDERS values) and on into MariaDB through a sink reading
//! Avro, with plain JSON records read as Avro sent to the dead letter queue
//! ("Unknown magic byte!").

use std::time::Duration;

use base64::Engine;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::{MySqlPool, Row};
use tributary_tests::{
    kafka, kafka_bootstrap, unique, unique_topic, ControlPlane, ControlPlaneOptions,
};

const V1: &str = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[{"name":"orderid","type":"int"},{"name":"itemid","type":"string"}]}"#;
/// V1 plus a field without a default: not backward compatible.
const V2_BAD: &str = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[{"name":"orderid","type":"int"},{"name":"itemid","type":"string"},{"name":"orderunits","type":"double"}]}"#;
/// V1 plus a field with a default: backward compatible.
const V2: &str = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[{"name":"orderid","type":"int"},{"name":"itemid","type":"string"},{"name":"orderunits","type":"double","default":1.0}]}"#;
/// V2 without itemid (no default in the old schemas): not forward compatible.
const V3: &str = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[{"name":"orderid","type":"int"},{"name":"orderunits","type":"double","default":1.0}]}"#;

fn basic(key: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"))
    )
}

fn schema(text: &str) -> Value {
    json!({ "schema": text })
}

/// A second tenant, onboarded by the operator: its basic auth and environment.
async fn other_tenant(cp: &ControlPlane) -> anyhow::Result<(String, String)> {
    let (code, org) = cp
        .call(
            "POST",
            "/org/v2/organizations",
            Some(json!({"display_name": unique("globex")})),
        )
        .await?;
    anyhow::ensure!(code == 201, "{code} {org}");
    let key = &org["bootstrap"]["api_key"];
    let auth = basic(
        key["id"].as_str().unwrap_or_default(),
        key["spec"]["secret"].as_str().unwrap_or_default(),
    );
    let (code, env) = cp
        .call_raw(
            "POST",
            "/org/v2/environments",
            Some(json!({"display_name": "globex-prod"}).to_string()),
            Some(auth.clone()),
        )
        .await?;
    anyhow::ensure!(code == 201, "{code} {env}");
    Ok((auth, env["id"].as_str().unwrap_or_default().to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_rest_subset_compatibility_and_isolation() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, _) = cp.default_cluster().await?;
    let sr = format!("/schema-registry/v1/environments/{env}");
    let subject = format!("{sr}/subjects/orders-value");

    // Register; the same schema again (spelled differently) keeps its id.
    let (code, body) = cp
        .call("POST", &format!("{subject}/versions"), Some(schema(V1)))
        .await?;
    assert_eq!((code, &body), (200, &json!({"id": 1})));
    let spaced = V1.replace(',', ", ").replace(':', ": ");
    let (code, body) = cp
        .call(
            "POST",
            &format!("{subject}/versions"),
            Some(schema(&spaced)),
        )
        .await?;
    assert_eq!((code, &body), (200, &json!({"id": 1})));

    // Confluent's content type and error shape, with a real SR client's request.
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}{sr}/subjects/nope/versions", cp.url))
        .header("Authorization", cp.basic_auth())
        .header("Accept", "application/vnd.schemaregistry.v1+json")
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.schemaregistry.v1+json"
    );
    assert_eq!(
        resp.json::<Value>().await?,
        json!({"error_code": 40401, "message": "Subject 'nope' not found."})
    );
    let resp = http
        .post(format!("{}{subject}", cp.url))
        .header("Authorization", cp.basic_auth())
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(schema(V1).to_string())
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let found: Value = resp.json().await?;
    assert_eq!(
        (&found["subject"], &found["version"], &found["id"]),
        (&json!("orders-value"), &json!(1), &json!(1))
    );

    // Reads.
    let (code, body) = cp.call("GET", &format!("{sr}/schemas/ids/1"), None).await?;
    assert_eq!(code, 200, "{body}");
    let stored: Value = serde_json::from_str(body["schema"].as_str().unwrap_or_default())?;
    assert_eq!(stored, serde_json::from_str::<Value>(V1)?);
    assert!(body.get("schemaType").is_none(), "AVRO is implied: {body}");
    let (_, body) = cp.call("GET", &format!("{sr}/subjects"), None).await?;
    assert_eq!(body, json!(["orders-value"]));
    let (_, body) = cp.call("GET", &format!("{subject}/versions"), None).await?;
    assert_eq!(body, json!([1]));
    let (code, body) = cp
        .call("GET", &format!("{subject}/versions/latest"), None)
        .await?;
    assert_eq!(code, 200);
    assert_eq!(
        (&body["subject"], &body["version"], &body["id"]),
        (&json!("orders-value"), &json!(1), &json!(1))
    );
    let (code, body) = cp
        .call("GET", &format!("{subject}/versions/7"), None)
        .await?;
    assert_eq!((code, &body["error_code"]), (404, &json!(40402)));
    let (code, body) = cp
        .call("GET", &format!("{subject}/versions/first"), None)
        .await?;
    assert_eq!((code, &body["error_code"]), (422, &json!(42202)));
    let (code, body) = cp
        .call("GET", &format!("{sr}/schemas/ids/99"), None)
        .await?;
    assert_eq!((code, &body["error_code"]), (404, &json!(40403)));
    let (code, body) = cp.call("POST", &subject, Some(schema(V2))).await?;
    assert_eq!((code, &body["error_code"]), (404, &json!(40403)));
    let (code, body) = cp
        .call(
            "POST",
            &format!("{subject}/versions"),
            Some(schema("{\"type\":\"nope\"}")),
        )
        .await?;
    assert_eq!((code, &body["error_code"]), (422, &json!(42201)), "{body}");

    // Compatibility: BACKWARD by default refuses a field without default.
    let (_, body) = cp.call("GET", &format!("{sr}/config"), None).await?;
    assert_eq!(body, json!({"compatibilityLevel": "BACKWARD"}));
    let (code, body) = cp
        .call(
            "POST",
            &format!("{sr}/compatibility/subjects/orders-value/versions/latest?verbose=true"),
            Some(schema(V2_BAD)),
        )
        .await?;
    assert_eq!(code, 200);
    assert_eq!(body["is_compatible"], json!(false));
    assert!(
        body["messages"][0]
            .as_str()
            .unwrap_or_default()
            .contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{body}"
    );
    let (code, body) = cp
        .call("POST", &format!("{subject}/versions"), Some(schema(V2_BAD)))
        .await?;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error_code"], json!(409));
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "Schema being registered is incompatible with an earlier schema for subject \"orders-value\""
        ) && message.contains("READER_FIELD_MISSING_DEFAULT_VALUE")
            && message.contains("{compatibility: 'BACKWARD'}"),
        "{message}"
    );
    let (code, body) = cp
        .call(
            "POST",
            &format!("{sr}/compatibility/subjects/orders-value/versions/latest"),
            Some(schema(V2)),
        )
        .await?;
    assert_eq!((code, &body), (200, &json!({"is_compatible": true})));
    let (code, body) = cp
        .call("POST", &format!("{subject}/versions"), Some(schema(V2)))
        .await?;
    assert_eq!((code, &body), (200, &json!({"id": 2})));

    // A subject-level FORWARD refuses dropping a field the old readers need.
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{sr}/config/orders-value"),
            Some(json!({"compatibility": "FORWARD"})),
        )
        .await?;
    assert_eq!((code, &body), (200, &json!({"compatibility": "FORWARD"})));
    let (_, body) = cp
        .call("GET", &format!("{sr}/config/orders-value"), None)
        .await?;
    assert_eq!(body, json!({"compatibilityLevel": "FORWARD"}));
    let (code, body) = cp
        .call("POST", &format!("{subject}/versions"), Some(schema(V3)))
        .await?;
    assert_eq!((code, &body["error_code"]), (409, &json!(409)), "{body}");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{sr}/config/orders-value"),
            Some(json!({"compatibility": "SOMETIMES"})),
        )
        .await?;
    assert_eq!((code, &body["error_code"]), (422, &json!(42203)));
    let (code, _) = cp
        .call(
            "PUT",
            &format!("{sr}/config/orders-value"),
            Some(json!({"compatibility": "NONE"})),
        )
        .await?;
    assert_eq!(code, 200);
    let (code, body) = cp
        .call("POST", &format!("{subject}/versions"), Some(schema(V3)))
        .await?;
    assert_eq!((code, &body), (200, &json!({"id": 3})));
    let (_, body) = cp.call("GET", &format!("{subject}/versions"), None).await?;
    assert_eq!(body, json!([1, 2, 3]));
    // The same schema under another subject keeps its id.
    let (_, body) = cp
        .call(
            "POST",
            &format!("{sr}/subjects/orders-copy-value/versions"),
            Some(schema(V1)),
        )
        .await?;
    assert_eq!(body, json!({"id": 1}));

    // Another tenant sees none of it, and numbers its own schemas.
    let (other, other_env) = other_tenant(&cp).await?;
    for (method, path, body) in [
        ("GET", format!("{sr}/subjects"), None),
        ("GET", format!("{sr}/schemas/ids/1"), None),
        ("GET", format!("{subject}/versions/latest"), None),
        ("POST", format!("{subject}/versions"), Some(schema(V1))),
        ("DELETE", subject.clone(), None),
        (
            "PUT",
            format!("{sr}/config"),
            Some(json!({"compatibility": "NONE"})),
        ),
    ] {
        let (code, answer) = cp
            .call_raw(
                method,
                &path,
                body.map(|b| b.to_string()),
                Some(other.clone()),
            )
            .await?;
        assert_eq!(code, 404, "{method} {path}: {answer}");
        assert!(answer["error_code"].is_number(), "{answer}");
    }
    let own = format!("/schema-registry/v1/environments/{other_env}");
    let (code, answer) = cp
        .call_raw("GET", &format!("{own}/subjects"), None, Some(other.clone()))
        .await?;
    assert_eq!((code, &answer), (200, &json!([])));
    let (code, answer) = cp
        .call_raw(
            "GET",
            &format!("{own}/schemas/ids/2"),
            None,
            Some(other.clone()),
        )
        .await?;
    assert_eq!((code, &answer["error_code"]), (404, &json!(40403)));
    let (code, answer) = cp
        .call_raw(
            "POST",
            &format!("{own}/subjects/orders-value/versions"),
            Some(schema(V3).to_string()),
            Some(other.clone()),
        )
        .await?;
    assert_eq!((code, &answer), (200, &json!({"id": 1})));
    let (_, mine) = cp.call("GET", &format!("{sr}/schemas/ids/1"), None).await?;
    assert_eq!(
        serde_json::from_str::<Value>(mine["schema"].as_str().unwrap_or_default())?,
        serde_json::from_str::<Value>(V1)?,
        "ids are per environment"
    );

    // Without credentials: 401 in the registry's shape; the worker route wants the worker token.
    let (code, answer) = cp
        .call_raw("GET", &format!("{sr}/subjects"), None, None)
        .await?;
    assert_eq!(
        (code, &answer["error_code"]),
        (401, &json!(401)),
        "{answer}"
    );
    let (code, _) = cp
        .call_raw(
            "GET",
            &format!("/internal/v1/schema-registry/environments/{env}/subjects"),
            None,
            Some(cp.basic_auth()),
        )
        .await?;
    assert_eq!(code, 401);

    // Soft delete, then permanent delete.
    let (code, body) = cp.call("DELETE", &subject, None).await?;
    assert_eq!((code, &body), (200, &json!([1, 2, 3])));
    let (_, body) = cp.call("GET", &format!("{sr}/subjects"), None).await?;
    assert_eq!(body, json!(["orders-copy-value"]));
    let (_, body) = cp
        .call("GET", &format!("{sr}/subjects?deleted=true"), None)
        .await?;
    assert_eq!(body, json!(["orders-copy-value", "orders-value"]));
    let (code, body) = cp.call("DELETE", &subject, None).await?;
    assert_eq!((code, &body["error_code"]), (404, &json!(40404)));
    let (code, body) = cp
        .call("DELETE", &format!("{subject}?permanent=true"), None)
        .await?;
    assert_eq!((code, &body), (200, &json!([1, 2, 3])));
    let (code, body) = cp.call("GET", &format!("{subject}/versions"), None).await?;
    assert_eq!((code, &body["error_code"]), (404, &json!(40401)));
    // The schema itself stays readable by id (records may still carry it).
    let (code, _) = cp.call("GET", &format!("{sr}/schemas/ids/3"), None).await?;
    assert_eq!(code, 200);
    cp.stop().await
}

fn typed(schema_type: &str, text: &str) -> Value {
    json!({ "schemaType": schema_type, "schema": text })
}

/// Registers `body` under `subject`: the status and the answer.
async fn register(cp: &ControlPlane, sr: &str, subject: &str, body: Value) -> (u16, Value) {
    cp.call(
        "POST",
        &format!("{sr}/subjects/{subject}/versions"),
        Some(body),
    )
    .await
    .unwrap_or_else(|e| panic!("register under {subject}: {e}"))
}

/// `POST /compatibility/…/versions/latest?verbose=true`: whether it is
/// compatible, and the messages.
async fn verbose_check(cp: &ControlPlane, sr: &str, subject: &str, body: Value) -> (bool, String) {
    let (code, answer) = cp
        .call(
            "POST",
            &format!("{sr}/compatibility/subjects/{subject}/versions/latest?verbose=true"),
            Some(body),
        )
        .await
        .unwrap_or_else(|e| panic!("check under {subject}: {e}"));
    assert_eq!(code, 200, "{answer}");
    let messages = answer["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    (answer["is_compatible"] == json!(true), messages)
}

/// A 409 in Confluent's shape whose message names `error_type` at `path`.
fn assert_conflict(code: u16, body: &Value, subject: &str, error_type: &str, path: &str) {
    assert_eq!((code, &body["error_code"]), (409, &json!(409)), "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "Schema being registered is incompatible with an earlier schema for subject \"{subject}\""
        )) && message.contains(&format!("{{errorType:\"{error_type}\""))
            && message.contains(&format!("'{path}'"))
            && message.contains("{compatibility: '"),
        "{message}"
    );
}

/// JSON Schema and Protobuf subjects are held to the compatibility level
/// like Avro ones, by Confluent's rules and with its error types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_and_protobuf_compatibility() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, _) = cp.default_cluster().await?;
    let sr = format!("/schema-registry/v1/environments/{env}");

    // JSON Schema, closed content model, BACKWARD (the default).
    let people = "people-value";
    let closed = |props: &str, required: &str| {
        format!(
            r#"{{"type":"object","properties":{{{props}}},"required":[{required}],"additionalProperties":false}}"#
        )
    };
    let v1 = closed(r#""name":{"type":"string","maxLength":20}"#, r#""name""#);
    let (code, body) = register(&cp, &sr, people, typed("JSON", &v1)).await;
    assert_eq!(code, 200, "{body}");
    // An optional property, a longer maxLength, integer widened to number: fine.
    let v2 = closed(
        r#""name":{"type":"string","maxLength":40},"age":{"type":"integer"}"#,
        r#""name""#,
    );
    let (code, body) = register(&cp, &sr, people, typed("JSON", &v2)).await;
    assert_eq!(code, 200, "{body}");
    let v2_id = body["id"].clone();
    let v3 = closed(
        r#""name":{"type":"string","maxLength":40},"age":{"type":"number"}"#,
        r#""name""#,
    );
    let (ok, messages) = verbose_check(&cp, &sr, people, typed("JSON", &v3)).await;
    assert!(ok && messages.is_empty(), "{messages}");
    let (code, body) = register(&cp, &sr, people, typed("JSON", &v3)).await;
    assert_eq!(code, 200, "{body}");
    assert_ne!(body["id"], v2_id);

    // A type change, a tighter maxLength, a new required property: refused,
    // each named.
    let bad_type = closed(
        r#""name":{"type":"string","maxLength":40},"age":{"type":"string"}"#,
        r#""name""#,
    );
    let (ok, messages) = verbose_check(&cp, &sr, people, typed("JSON", &bad_type)).await;
    assert!(!ok, "{messages}");
    assert!(
        messages.contains("{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/age' is different between the new schema and the old schema\"}")
            && messages.contains("{oldSchemaVersion: 3}")
            && messages.contains("{compatibility: 'BACKWARD'}"),
        "{messages}"
    );
    let (code, body) = register(&cp, &sr, people, typed("JSON", &bad_type)).await;
    assert_conflict(code, &body, people, "TYPE_CHANGED", "#/properties/age");
    let shorter = closed(
        r#""name":{"type":"string","maxLength":10},"age":{"type":"number"}"#,
        r#""name""#,
    );
    let (code, body) = register(&cp, &sr, people, typed("JSON", &shorter)).await;
    assert_conflict(
        code,
        &body,
        people,
        "MAX_LENGTH_DECREASED",
        "#/properties/name/maxLength",
    );
    let required = closed(
        r#""name":{"type":"string","maxLength":40},"age":{"type":"number"},"email":{"type":"string"}"#,
        r#""name","email""#,
    );
    let (code, body) = register(&cp, &sr, people, typed("JSON", &required)).await;
    assert_conflict(
        code,
        &body,
        people,
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "#/properties/email",
    );
    let (_, versions) = cp
        .call("GET", &format!("{sr}/subjects/{people}/versions"), None)
        .await?;
    assert_eq!(
        versions,
        json!([1, 2, 3]),
        "refused schemas are not versions"
    );

    // FORWARD on the subject: old closed readers refuse a new property.
    let (code, _) = cp
        .call(
            "PUT",
            &format!("{sr}/config/{people}"),
            Some(json!({"compatibility": "FORWARD"})),
        )
        .await?;
    assert_eq!(code, 200);
    let extra = closed(
        r#""name":{"type":"string","maxLength":40},"age":{"type":"number"},"nick":{"type":"string"}"#,
        r#""name""#,
    );
    let (code, body) = register(&cp, &sr, people, typed("JSON", &extra)).await;
    assert_conflict(
        code,
        &body,
        people,
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "#/properties/nick",
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("The old schema has a closed content model"),
        "{body}"
    );

    // An open content model: a typed property it never declared may
    // already be in the data with any type.
    let events = "events-value";
    let open = r#"{"type":"object","properties":{"id":{"type":"string"}}}"#;
    let (code, body) = register(&cp, &sr, events, typed("JSON", open)).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = register(
        &cp,
        &sr,
        events,
        typed(
            "JSON",
            r#"{"type":"object","properties":{"id":{"type":"string"},"at":{"type":"integer"}}}"#,
        ),
    )
    .await;
    assert_conflict(
        code,
        &body,
        events,
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        "#/properties/at",
    );
    // NONE lets it through.
    let (code, _) = cp
        .call(
            "PUT",
            &format!("{sr}/config/{events}"),
            Some(json!({"compatibility": "NONE"})),
        )
        .await?;
    assert_eq!(code, 200);
    let (code, body) = register(
        &cp,
        &sr,
        events,
        typed(
            "JSON",
            r#"{"type":"object","properties":{"id":{"type":"string"},"at":{"type":"integer"}}}"#,
        ),
    )
    .await;
    assert_eq!(code, 200, "{body}");

    // Protobuf, BACKWARD.
    let orders = "orders-proto-value";
    let p1 = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  int64 id = 1;\n  string item = 2;\n  Status status = 3;\n}\nenum Status { NEW = 0; PAID = 1; }\n";
    let (code, body) = register(&cp, &sr, orders, typed("PROTOBUF", p1)).await;
    assert_eq!(code, 200, "{body}");
    // A new field, a new enum value, a renamed field and int64 → uint64
    // (both varints): all compatible.
    let p2 = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  uint64 order_id = 1;\n  string item = 2;\n  Status status = 3;\n  double units = 4;\n}\nenum Status { NEW = 0; PAID = 1; SHIPPED = 2; }\n";
    let (ok, messages) = verbose_check(&cp, &sr, orders, typed("PROTOBUF", p2)).await;
    assert!(ok && messages.is_empty(), "{messages}");
    let (code, body) = register(&cp, &sr, orders, typed("PROTOBUF", p2)).await;
    assert_eq!(code, 200, "{body}");
    // Field 4 reused as a string: another wire type.
    let reused = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  uint64 order_id = 1;\n  string item = 2;\n  Status status = 3;\n  string units = 4;\n}\nenum Status { NEW = 0; PAID = 1; SHIPPED = 2; }\n";
    let (ok, messages) = verbose_check(&cp, &sr, orders, typed("PROTOBUF", reused)).await;
    assert!(!ok, "{messages}");
    assert!(
        messages.contains("{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/Order/4' in the new schema does not match its kind in the old schema\"}")
            && messages.contains("{oldSchemaVersion: 2}"),
        "{messages}"
    );
    let (code, body) = register(&cp, &sr, orders, typed("PROTOBUF", reused)).await;
    assert_conflict(
        code,
        &body,
        orders,
        "FIELD_SCALAR_KIND_CHANGED",
        "#/Order/4",
    );
    // Two existing fields moved into one oneof: only one case survives.
    let oneof = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  oneof key {\n    uint64 order_id = 1;\n    string item = 2;\n  }\n  Status status = 3;\n  double units = 4;\n}\nenum Status { NEW = 0; PAID = 1; SHIPPED = 2; }\n";
    let (code, body) = register(&cp, &sr, orders, typed("PROTOBUF", oneof)).await;
    assert_conflict(
        code,
        &body,
        orders,
        "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
        "#/Order/key",
    );
    // A field turned into a message.
    let message = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  uint64 order_id = 1;\n  Item item = 2;\n  Status status = 3;\n  double units = 4;\n}\nmessage Item { string sku = 1; }\nenum Status { NEW = 0; PAID = 1; SHIPPED = 2; }\n";
    let (code, body) = register(&cp, &sr, orders, typed("PROTOBUF", message)).await;
    assert_conflict(code, &body, orders, "FIELD_KIND_CHANGED", "#/Order/2");
    // A new message is fine for new readers (BACKWARD); under FULL,
    // dropping it again fails: the new schema cannot read old data of it.
    let with_line = "syntax = \"proto3\";\npackage shop;\nmessage Order {\n  uint64 order_id = 1;\n  string item = 2;\n  Status status = 3;\n  double units = 4;\n}\nmessage Line { string sku = 1; }\nenum Status { NEW = 0; PAID = 1; SHIPPED = 2; }\n";
    let (code, body) = register(&cp, &sr, orders, typed("PROTOBUF", with_line)).await;
    assert_eq!(code, 200, "{body}");
    let (code, _) = cp
        .call(
            "PUT",
            &format!("{sr}/config/{orders}"),
            Some(json!({"compatibility": "FULL"})),
        )
        .await?;
    assert_eq!(code, 200);
    let (ok, messages) = verbose_check(&cp, &sr, orders, typed("PROTOBUF", p2)).await;
    assert!(!ok, "{messages}");
    assert!(
        messages.contains("{errorType:\"MESSAGE_REMOVED\", description:\"The new schema is missing a MESSAGE type at path '#/Line' in the old schema\"}")
            && messages.contains("{compatibility: 'FULL'}"),
        "{messages}"
    );
    let (_, versions) = cp
        .call("GET", &format!("{sr}/subjects/{orders}/versions"), None)
        .await?;
    assert_eq!(versions, json!([1, 2, 3]));
    cp.stop().await
}

// ------------------------------------------------------------ the data path

fn mysql_admin_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

async fn fresh_mysql_database() -> anyhow::Result<(String, MySqlPool)> {
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&mysql_admin_url())
        .await?;
    let db = unique("sr");
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let base = mysql_admin_url();
    let url = format!("{}/{db}", &base[..base.rfind('/').unwrap_or(base.len())]);
    let pool = MySqlPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await?;
    Ok((db, pool))
}

async fn drop_mysql_database(db: &str) -> anyhow::Result<()> {
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&mysql_admin_url())
        .await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute(&admin)
        .await?;
    Ok(())
}

async fn row_count(pool: &MySqlPool, table: &str) -> anyhow::Result<i64> {
    match sqlx::query(&format!("SELECT COUNT(*) FROM `{table}`"))
        .fetch_one(pool)
        .await
    {
        Ok(row) => Ok(row.try_get::<i64, _>(0)?),
        Err(sqlx::Error::Database(e)) if e.message().contains("doesn't exist") => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn mysql_sink(topic: &str, db: &str, extra: &[(&str, &str)]) -> Value {
    let mut config = json!({
        "connector.class": "MySqlSink",
        "topics": topic,
        "input.data.format": "AVRO",
        "connection.host": "127.0.0.1",
        "connection.port": "3306",
        "connection.user": "root",
        "connection.password": "",
        "db.name": db,
        "insert.mode": "UPSERT",
        "pk.mode": "record_value",
        "pk.fields": "orderid",
        "auto.create": "true",
        "auto.evolve": "true",
        "tasks.max": "1",
    });
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    config
}

/// An Avro record value as JSON (unions unwrapped), for assertions.
fn avro_json(v: apache_avro::types::Value) -> Value {
    use apache_avro::types::Value as A;
    match v {
        A::Null => Value::Null,
        A::Boolean(b) => json!(b),
        A::Int(n) => json!(n),
        A::Long(n) => json!(n),
        A::Double(f) => json!(f),
        A::Float(f) => json!(f),
        A::String(s) => json!(s),
        A::Union(_, inner) => avro_json(*inner),
        A::Record(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (k, avro_json(v))).collect())
        }
        A::Array(items) => Value::Array(items.into_iter().map(avro_json).collect()),
        other => json!(format!("{other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_orders_in_avro_through_the_registry_into_mysql() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let sr = format!("/schema-registry/v1/environments/{env}");
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let topic = unique_topic("orders_avro");
    let bootstrap = kafka_bootstrap();

    let (code, body) = cp
        .call(
            "PUT",
            &format!("{base}/orders-avro/config"),
            Some(json!({
                "connector.class": "DatagenSource",
                "kafka.topic": topic,
                "quickstart": "ORDERS",
                "output.data.format": "AVRO",
                "max.interval": "20",
                "tasks.max": "1",
            })),
        )
        .await?;
    assert_eq!(code, 200, "{body}");

    // Every record: magic byte 0, a schema id the registry serves, Avro
    // that decodes to an ORDERS value.
    // (Subscribing before the topic exists would wait for a metadata refresh.)
    cp.eventually(
        "Avro records in the topic",
        Duration::from_secs(90),
        || async { Ok((kafka::high_watermark(&bootstrap, &topic).unwrap_or(0) > 0).then_some(())) },
    )
    .await?;
    let records = kafka::consume(&bootstrap, &topic, 20, Duration::from_secs(60)).await?;
    let mut schemas: std::collections::HashMap<i32, apache_avro::Schema> = Default::default();
    for r in &records {
        let v = r.value.as_deref().unwrap_or_default();
        assert!(v.len() > 5 && v[0] == 0, "magic byte: {v:?}");
        let id = i32::from_be_bytes([v[1], v[2], v[3], v[4]]);
        if let std::collections::hash_map::Entry::Vacant(slot) = schemas.entry(id) {
            let (code, body) = cp
                .call("GET", &format!("{sr}/schemas/ids/{id}"), None)
                .await?;
            assert_eq!(code, 200, "{body}");
            let s = apache_avro::Schema::parse_str(body["schema"].as_str().unwrap_or_default())?;
            slot.insert(s);
        }
        let decoded = apache_avro::from_avro_datum(&schemas[&id], &mut &v[5..], None)?;
        let order = avro_json(decoded);
        assert!(order["orderid"].is_i64(), "{order}");
        assert!(order["ordertime"].is_i64(), "{order}");
        assert!(
            order["itemid"]
                .as_str()
                .is_some_and(|s| s.starts_with("Item_")),
            "{order}"
        );
        let units = order["orderunits"].as_f64().unwrap_or(-1.0);
        assert!((0.1..10.0).contains(&units), "{order}");
        assert!(
            order["address"]["city"]
                .as_str()
                .is_some_and(|s| s.starts_with("City_")),
            "{order}"
        );
        assert!(order["address"]["zipcode"].is_i64(), "{order}");
        // The key stays a string (Datagen's key converter).
        let key = String::from_utf8(r.key.clone().unwrap_or_default())?;
        assert_eq!(key, order["orderid"].to_string());
    }
    assert_eq!(schemas.len(), 1, "one schema for one shape");
    let (_, subjects) = cp.call("GET", &format!("{sr}/subjects"), None).await?;
    let value_subject = format!("{topic}-value");
    assert!(
        subjects
            .as_array()
            .is_some_and(|s| s.contains(&json!(value_subject))),
        "{subjects}"
    );

    // On into MariaDB: the sink reads the Avro with the registry's schema.
    let (db, mysql) = fresh_mysql_database().await?;
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{base}/orders-avro-mysql/config"),
            Some(mysql_sink(&topic, &db, &[])),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    cp.eventually("Avro rows in MariaDB", Duration::from_secs(90), || async {
        Ok((row_count(&mysql, &topic).await? >= 20).then_some(()))
    })
    .await?;
    let row = sqlx::query(&format!(
        "SELECT MIN(orderid), COUNT(DISTINCT orderid), MIN(itemid) FROM `{topic}`"
    ))
    .fetch_one(&mysql)
    .await?;
    let (min, distinct, item): (i64, i64, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    assert_eq!(min, 0);
    assert!(distinct >= 20);
    assert!(item.starts_with("Item_"), "{item}");

    // Plain JSON read as Avro: "Unknown magic byte!", tolerated into the DLQ.
    let plain = unique_topic("orders_plain");
    let dlq = unique_topic("orders_dlq");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    for r in admin
        .create_topics(
            &[NewTopic::new(&plain, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await?
    {
        r.map_err(|(t, e)| anyhow::anyhow!("create topic {t}: {e}"))?;
    }
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    for i in 0..3 {
        let payload = json!({"orderid": i, "itemid": "Item_1"}).to_string();
        producer
            .send(
                FutureRecord::<str, str>::to(&plain).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{base}/plain-as-avro/config"),
            Some(mysql_sink(
                &plain,
                &db,
                &[
                    ("errors.tolerance", "all"),
                    ("errors.log.enable", "true"),
                    ("errors.deadletterqueue.topic.name", &dlq),
                ],
            )),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    // Running, the task has created its dead letter queue topic. (The
    // broker's high watermark may count batches: records are counted by
    // reading them.)
    let status = format!("{base}/plain-as-avro/status");
    cp.eventually(
        "the plain-as-avro sink running",
        Duration::from_secs(90),
        || async {
            let (_, s) = cp.call("GET", &status, None).await?;
            Ok((s["tasks"][0]["state"] == "RUNNING").then_some(()))
        },
    )
    .await?;
    let dead = kafka::consume(&bootstrap, &dlq, 3, Duration::from_secs(60)).await?;
    for r in &dead {
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        assert_eq!(header("__connect.errors.stage"), "VALUE_CONVERTER");
        assert_eq!(
            header("__connect.errors.class.name"),
            "io.confluent.connect.avro.AvroConverter"
        );
        assert!(
            header("__connect.errors.exception.message").contains("Unknown magic byte!"),
            "{}",
            header("__connect.errors.exception.message")
        );
        assert!(r.value.as_deref().is_some_and(|v| v.starts_with(b"{")));
    }
    assert_eq!(row_count(&mysql, &plain).await?, 0);

    let stopped = cp.stop().await;
    drop_mysql_database(&db).await?;
    stopped
}

/// JSON Schema and Protobuf: Datagen writes them through the registry, a
/// sink reads them back into rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_in_json_sr_and_protobuf_into_mysql() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let sr = format!("/schema-registry/v1/environments/{env}");
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let bootstrap = kafka_bootstrap();
    let (db, mysql) = fresh_mysql_database().await?;
    let mut topics = Vec::new();
    for (format, schema_type) in [("JSON_SR", "JSON"), ("PROTOBUF", "PROTOBUF")] {
        let topic = unique_topic(&format!("orders_{}", format.to_ascii_lowercase()));
        let name = format!("orders-{}", format.to_ascii_lowercase());
        let (code, body) = cp
            .call(
                "PUT",
                &format!("{base}/{name}/config"),
                Some(json!({
                    "connector.class": "DatagenSource",
                    "kafka.topic": topic,
                    "quickstart": "ORDERS",
                    "output.data.format": format,
                    "max.interval": "20",
                    "tasks.max": "1",
                })),
            )
            .await?;
        assert_eq!(code, 200, "{body}");
        // The sink subscribes once the topic exists (a consumer subscribed
        // to a missing topic waits for a metadata refresh).
        cp.eventually(
            &format!("records in {topic}"),
            Duration::from_secs(90),
            || async {
                Ok((kafka::high_watermark(&bootstrap, &topic).unwrap_or(0) > 0).then_some(()))
            },
        )
        .await?;
        let (code, body) = cp
            .call(
                "PUT",
                &format!("{base}/{name}-mysql/config"),
                Some(mysql_sink(&topic, &db, &[("input.data.format", format)])),
            )
            .await?;
        assert_eq!(code, 200, "{body}");
        topics.push((topic, schema_type));
    }
    for (topic, schema_type) in &topics {
        cp.eventually(
            &format!("rows from {topic}"),
            Duration::from_secs(90),
            || async { Ok((row_count(&mysql, topic).await? >= 10).then_some(())) },
        )
        .await?;
        let (code, latest) = cp
            .call(
                "GET",
                &format!("{sr}/subjects/{topic}-value/versions/latest"),
                None,
            )
            .await?;
        assert_eq!(code, 200, "{latest}");
        assert_eq!(latest["schemaType"], json!(schema_type), "{latest}");
        let records = kafka::consume(&bootstrap, topic, 1, Duration::from_secs(30)).await?;
        let v = records[0].value.clone().unwrap_or_default();
        assert_eq!(v[0], 0, "magic byte");
        assert_eq!(
            i64::from(i32::from_be_bytes([v[1], v[2], v[3], v[4]])),
            latest["id"].as_i64().unwrap_or(-1)
        );
        let row = sqlx::query(&format!("SELECT MIN(orderid), MIN(itemid) FROM `{topic}`"))
            .fetch_one(&mysql)
            .await?;
        let (min, item): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
        assert_eq!(min, 0, "{topic}");
        assert!(item.starts_with("Item_"), "{topic}: {item}");
    }
    let stopped = cp.stop().await;
    drop_mysql_database(&db).await?;
    stopped
}
