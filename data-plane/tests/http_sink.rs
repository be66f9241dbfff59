//! The HTTP sink through the worker runtime: records produced to the real
//! broker reach a recording HTTP endpoint on loopback, batched, with
//! headers and authentication; 5xx and 429 answers are retried (honouring
//! `Retry-After`); a record the endpoint refuses with a 4xx goes to the
//! dead letter queue (`errors.tolerance=all`) or fails the task (`none`).

mod catalogue_support;
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use catalogue_support::{config, Recorder};
use serde_json::{json, Value};

async fn topic_with(records: &[(Option<&str>, Option<&str>)]) -> String {
    let topic = support::unique("http");
    support::create_topic(&topic, 1).await;
    let on_partition: Vec<(i32, Option<&str>, Option<&str>)> =
        records.iter().map(|(k, v)| (0, *k, *v)).collect();
    support::produce(&topic, &on_partition).await;
    topic
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_batches_with_basic_auth_headers_and_per_key_urls() {
    catalogue_support::allow_loopback();
    let values: Vec<String> = (0..10)
        .map(|i| json!({"id": i, "n": "x"}).to_string())
        .collect();
    let keys: Vec<String> = (0..10).map(|i| format!("k{}", i % 2)).collect();
    let records: Vec<(Option<&str>, Option<&str>)> = (0..10)
        .map(|i| (Some(keys[i].as_str()), Some(values[i].as_str())))
        .collect();
    let topic = topic_with(&records).await;
    let endpoint = Recorder::ok().await;
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        config(&[
            ("connector.class", "HttpSink"),
            ("topics", &topic),
            (
                "http.api.url",
                &format!("{}/in/${{topic}}/${{key}}", endpoint.url),
            ),
            ("request.method", "PUT"),
            ("request.body.format", "json"),
            ("batch.json.as.array", "true"),
            ("batch.max.size", "3"),
            ("auth.type", "BASIC"),
            ("connection.user", "svc"),
            ("connection.password", "s3cret"),
            ("headers", "X-Source:tributary|X-Env:test"),
        ]),
    ));
    let received = endpoint
        .wait("10 records", |r| {
            r.iter()
                .map(|r| serde_json::from_str::<Vec<Value>>(&r.body).map_or(0, |v| v.len()))
                .sum::<usize>()
                >= 10
        })
        .await;
    support::wait_report(&handle, "10 delivered records", |r| r.records == 10).await;
    support::stop(handle).await;

    let mut ids: Vec<i64> = Vec::new();
    for r in &received {
        assert_eq!(r.method, "PUT");
        let key = if r.path == format!("/in/{topic}/k0") {
            0
        } else {
            1
        };
        assert_eq!(r.path, format!("/in/{topic}/k{key}"));
        // svc:s3cret
        assert_eq!(r.headers["authorization"], "Basic c3ZjOnMzY3JldA==");
        assert_eq!(r.headers["x-source"], "tributary");
        assert_eq!(r.headers["x-env"], "test");
        assert_eq!(r.headers["content-type"], "application/json");
        let batch: Vec<Value> = serde_json::from_str(&r.body).expect("a JSON array");
        assert!(batch.len() <= 3, "batch.max.size: {}", r.body);
        for v in batch {
            let id = v["id"].as_i64().expect("id");
            assert_eq!(id % 2, key, "records go to their key's URL");
            ids.push(id);
        }
    }
    ids.sort();
    assert_eq!(ids, (0..10).collect::<Vec<_>>());
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![10]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_bodies_through_a_template_with_a_bearer_token() {
    catalogue_support::allow_loopback();
    let topic = topic_with(&[(Some("a"), Some("hello")), (Some("b"), Some("world"))]).await;
    let endpoint = Recorder::ok().await;
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "HttpSink"),
            ("topics", &topic),
            ("input.data.format", "STRING"),
            ("http.api.url", &format!("{}/events", endpoint.url)),
            ("request.body.template", "${key}=${value}@${offset}"),
            ("batch.max.size", "10"),
            ("batch.prefix", "<"),
            ("batch.suffix", ">"),
            ("batch.separator", ";"),
            ("auth.type", "BEARER"),
            ("bearer.token", "t0ken"),
        ]),
    ));
    let received = endpoint
        .wait("both records", |r| {
            r.iter().map(|r| r.body.matches('=').count()).sum::<usize>() >= 2
        })
        .await;
    support::stop(handle).await;
    let bodies: Vec<&str> = received.iter().map(|r| r.body.as_str()).collect();
    assert!(
        bodies == ["<a=hello@0;b=world@1>"] || bodies == ["<a=hello@0>", "<b=world@1>"],
        "{bodies:?}"
    );
    assert_eq!(received[0].headers["authorization"], "Bearer t0ken");
    assert_eq!(received[0].method, "POST");
    assert!(received[0].headers["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/plain"));
}

/// 503 twice, then 429 with `Retry-After: 1`, then success: the batch
/// arrives once the endpoint takes it, the 429 wait lasts a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_throttling_are_retried_with_backoff() {
    catalogue_support::allow_loopback();
    let topic = topic_with(&[(None, Some(r#"{"id":1}"#))]).await;
    let endpoint = Recorder::start(Arc::new(|n, _| match n {
        0 | 1 => (StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
        2 => (
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "1".to_string())],
        ),
        _ => (StatusCode::OK, Vec::new()),
    }))
    .await;
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "HttpSink"),
            ("topics", &topic),
            ("http.api.url", &format!("{}/in", endpoint.url)),
            ("request.body.format", "json"),
            ("max.retries", "5"),
            ("retry.backoff.ms", "50"),
        ]),
    ));
    let received = endpoint.wait("four attempts", |r| r.len() >= 4).await;
    support::wait_report(&handle, "the record delivered", |r| r.records == 1).await;
    support::stop(handle).await;
    assert_eq!(received.len(), 4, "no request after the success");
    assert!(received.iter().all(|r| r.body == r#"{"id":1}"#));
    let throttled = received[3].at.duration_since(received[2].at);
    assert!(
        throttled >= Duration::from_millis(950),
        "Retry-After honoured: {throttled:?}"
    );
    let backoff = received[1].at.duration_since(received[0].at);
    assert!(
        backoff < Duration::from_millis(900),
        "retry.backoff.ms used: {backoff:?}"
    );
}

/// Retries run out: the task fails, naming the status, and commits nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_outage_fails_the_task_after_max_retries() {
    catalogue_support::allow_loopback();
    let topic = topic_with(&[(None, Some(r#"{"id":1}"#))]).await;
    let endpoint = Recorder::start(Arc::new(|_, _| (StatusCode::BAD_GATEWAY, Vec::new()))).await;
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        config(&[
            ("connector.class", "HttpSink"),
            ("topics", &topic),
            ("http.api.url", &format!("{}/in", endpoint.url)),
            ("max.retries", "2"),
            ("retry.backoff.ms", "10"),
        ]),
    ));
    let trace = support::wait_failed(&handle).await;
    support::stop(handle).await;
    assert!(trace.contains("502 Bad Gateway"), "{trace}");
    assert!(trace.contains("after 2 retries"), "{trace}");
    assert_eq!(endpoint.received().len(), 3);
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![-1]
    );
}

/// A batch the endpoint refuses with a 400 because of one record: the
/// records are sent one by one, the good ones arrive, and the poison record
/// reaches the dead letter queue with the TASK_PUT context headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_goes_to_the_dead_letter_queue() {
    catalogue_support::allow_loopback();
    let topic = topic_with(&[
        (Some("1"), Some(r#"{"id":1}"#)),
        (Some("2"), Some(r#"{"id":2,"poison":true}"#)),
        (Some("3"), Some(r#"{"id":3}"#)),
    ])
    .await;
    let endpoint = Recorder::start(Arc::new(|_, r| {
        if r.body.contains("poison") {
            (StatusCode::UNPROCESSABLE_ENTITY, Vec::new())
        } else {
            (StatusCode::OK, Vec::new())
        }
    }))
    .await;
    let dlq = format!("{topic}-dlq");
    let connector = support::unique("lcc");
    let handle = support::start(support::assignment(
        &connector,
        config(&[
            ("connector.class", "HttpSink"),
            ("topics", &topic),
            ("http.api.url", &format!("{}/in", endpoint.url)),
            ("request.body.format", "json"),
            ("batch.json.as.array", "true"),
            ("batch.max.size", "10"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
        ]),
    ));
    let dead = catalogue_support::read_topic(&dlq, 1, support::TIMEOUT);
    support::wait_report(&handle, "3 records handled", |r| r.records == 3).await;
    support::stop(handle).await;

    let delivered: Vec<i64> = endpoint
        .received()
        .iter()
        .filter(|r| !r.body.contains("poison"))
        .flat_map(|r| serde_json::from_str::<Vec<Value>>(&r.body).unwrap_or_default())
        .filter_map(|v| v["id"].as_i64())
        .collect();
    let mut unique = delivered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, vec![1, 3], "{delivered:?}");
    assert_eq!(dead.len(), 1, "one dead letter");
    assert_eq!(dead[0].key.as_deref(), Some("2"));
    assert_eq!(dead[0].value.as_deref(), Some(r#"{"id":2,"poison":true}"#));
    let h = &dead[0].headers;
    assert_eq!(h["__connect.errors.stage"], "TASK_PUT");
    assert_eq!(h["__connect.errors.class.name"], "HttpSink");
    assert_eq!(h["__connect.errors.offset"], "1");
    assert!(
        h["__connect.errors.exception.message"].contains("422"),
        "{h:?}"
    );
    assert_eq!(
        support::committed(&format!("connect-{connector}"), &topic, 1),
        vec![3]
    );
}

/// With `errors.tolerance=none` a refused record fails the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_fails_the_task_without_tolerance() {
    catalogue_support::allow_loopback();
    let topic = topic_with(&[(None, Some(r#"{"id":1}"#))]).await;
    let endpoint = Recorder::start(Arc::new(|_, _| (StatusCode::BAD_REQUEST, Vec::new()))).await;
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "HttpSink"),
            ("topics", &topic),
            ("http.api.url", &format!("{}/in", endpoint.url)),
        ]),
    ));
    let trace = support::wait_failed(&handle).await;
    support::stop(handle).await;
    assert!(trace.contains("TASK_PUT"), "{trace}");
    assert!(trace.contains("400 Bad Request"), "{trace}");
    assert_eq!(endpoint.received().len(), 1, "a 400 is not retried");
}
