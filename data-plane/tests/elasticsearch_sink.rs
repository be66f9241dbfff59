//! The Elasticsearch sink through the worker runtime, against the
//! Elasticsearch STAND-IN of the test support (`support::es_standin`; no
//! real Elasticsearch can be installed here): `_bulk` writes with ids from
//! the keys, index creation, upserts, deletes on null values, 429s retried,
//! and a document refused per item going to the dead letter queue.

mod catalogue_support;
mod support;

use catalogue_support::config;
use serde_json::json;
use support::es_standin::EsStandIn;

async fn topic_with(records: &[(Option<&str>, Option<&str>)]) -> String {
    let topic = support::unique("es");
    support::create_topic(&topic, 1).await;
    let on_partition: Vec<(i32, Option<&str>, Option<&str>)> =
        records.iter().map(|(k, v)| (0, *k, *v)).collect();
    support::produce(&topic, &on_partition).await;
    topic
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_writes_upserts_and_deletes_on_null_values_with_429s_retried() {
    catalogue_support::allow_loopback();
    let es = EsStandIn::start().await;
    // Under pressure: the first request and then one item are refused with 429.
    es.reject_requests(1);
    let topic = topic_with(&[
        (
            Some(r#"{"id":1}"#),
            Some(r#"{"id":1,"name":"a","city":"Oslo"}"#),
        ),
        (Some(r#"{"id":2}"#), Some(r#"{"id":2,"name":"b"}"#)),
        (Some(r#"{"id":1}"#), Some(r#"{"id":1,"name":"a2"}"#)),
        (Some(r#"{"id":3}"#), Some(r#"{"id":3,"name":"c"}"#)),
        (Some(r#"{"id":2}"#), None),
    ])
    .await;
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "ElasticsearchSink"),
            ("topics", &topic),
            ("input.data.format", "JSON"),
            ("input.key.format", "JSON"),
            ("connection.url", &es.url),
            ("write.method", "UPSERT"),
            ("behavior.on.null.values", "delete"),
            ("retry.backoff.ms", "10"),
        ]),
    ));
    support::wait_report(&handle, "5 records delivered", |r| r.records == 5).await;
    support::stop(handle).await;
    let docs = es.docs(&topic);
    assert_eq!(
        docs.into_iter().collect::<Vec<_>>(),
        vec![
            (
                "1".to_string(),
                json!({"id": 1, "name": "a2", "city": "Oslo"})
            ),
            ("3".to_string(), json!({"id": 3, "name": "c"})),
        ],
        "upsert merged, the tombstone deleted"
    );
    assert!(es.bulk_requests() >= 2, "the 429 was retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_item_429s_are_retried_and_refused_documents_go_to_the_dead_letter_queue() {
    catalogue_support::allow_loopback();
    let es = EsStandIn::start().await;
    let topic = topic_with(&[
        (Some("1"), Some(r#"{"id":1,"qty":5}"#)),
        (Some("2"), Some(r#"{"id":2,"qty":"many"}"#)),
        (Some("3"), Some(r#"{"id":3,"qty":7}"#)),
    ])
    .await;
    // The index exists with qty mapped as a number: "many" does not fit.
    reqwest::Client::new()
        .put(format!("{}/{topic}", es.url))
        .json(&json!({"mappings": {"properties": {"qty": {"type": "long"}}}}))
        .send()
        .await
        .expect("create index");
    es.reject_items(1);
    let dlq = format!("{topic}-dlq");
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "ElasticsearchSink"),
            ("topics", &topic),
            ("input.data.format", "JSON"),
            ("connection.url", &es.url),
            ("retry.backoff.ms", "10"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
        ]),
    ));
    let dead = catalogue_support::read_topic(&dlq, 1, support::TIMEOUT);
    support::wait_report(&handle, "3 records handled", |r| r.records == 3).await;
    support::stop(handle).await;
    let ids: Vec<String> = es.docs(&topic).into_keys().collect();
    assert_eq!(ids, vec!["1", "3"]);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key.as_deref(), Some("2"));
    let h = &dead[0].headers;
    assert_eq!(h["__connect.errors.class.name"], "ElasticsearchSink");
    assert!(
        h["__connect.errors.exception.message"].contains("mapper_parsing_exception"),
        "{h:?}"
    );
}
