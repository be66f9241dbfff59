//! The Redis sink through the worker runtime against the real Redis on
//! loopback (`REDIS_URL`, default redis://127.0.0.1:6379): strings and
//! hashes written by key, tombstones delete, keyless records go to the
//! dead letter queue.

mod catalogue_support;
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use catalogue_support::config;
use redis::AsyncCommands;

fn redis_host_port() -> (String, String) {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let rest = url.trim_start_matches("redis://");
    let authority = rest.split('/').next().unwrap_or("127.0.0.1:6379");
    match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.to_string()),
        None => (authority.to_string(), "6379".to_string()),
    }
}

async fn redis(db: i64) -> redis::aio::MultiplexedConnection {
    let (host, port) = redis_host_port();
    let client = redis::Client::open(format!("redis://{host}:{port}/{db}")).expect("redis url");
    client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {host}:{port} is not reachable: {e}"))
}

async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + support::TIMEOUT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_by_key_tombstones_delete_and_keyless_records_are_dead_lettered() {
    catalogue_support::allow_loopback();
    let topic = support::unique("redis");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (0, Some("a"), Some(r#"{"n":1}"#)),
            (0, Some("b"), Some(r#""plain""#)),
            (0, Some("c"), Some(r#"{"n":3}"#)),
            (0, None, Some(r#"{"n":4}"#)),
            (0, Some("a"), Some(r#"{"n":5}"#)),
            (0, Some("c"), None),
        ],
    )
    .await;
    let prefix = format!("{topic}:");
    let (host, port) = redis_host_port();
    let dlq = format!("{topic}-dlq");
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "RedisSink"),
            ("topics", &topic),
            ("redis.hostname", &host),
            ("redis.portnumber", &port),
            ("redis.database", "2"),
            ("redis.key.prefix", "${topic}:"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", &dlq),
        ]),
    ));
    support::wait_report(&handle, "6 records handled", |r| r.records == 6).await;
    let mut con = redis(2).await;
    let a: Option<String> = con.get(format!("{prefix}a")).await.expect("GET");
    let b: Option<String> = con.get(format!("{prefix}b")).await.expect("GET");
    let c: Option<String> = con.get(format!("{prefix}c")).await.expect("GET");
    assert_eq!(
        a.as_deref(),
        Some(r#"{"n":5}"#),
        "the last write of a key wins"
    );
    assert_eq!(
        b.as_deref(),
        Some("plain"),
        "strings are stored as they are"
    );
    assert_eq!(c, None, "the tombstone deleted c");
    let dead = catalogue_support::read_topic(&dlq, 1, support::TIMEOUT);
    support::stop(handle).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(r#"{"n":4}"#));
    assert_eq!(dead[0].headers["__connect.errors.stage"], "TASK_PUT");
    let keys: Vec<String> = con.keys(format!("{prefix}*")).await.expect("KEYS");
    let _: () = con.del(&keys).await.expect("DEL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_replace_the_whole_hash() {
    catalogue_support::allow_loopback();
    let topic = support::unique("redis");
    support::create_topic(&topic, 1).await;
    support::produce(
        &topic,
        &[
            (
                0,
                Some("u1"),
                Some(r#"{"name":"Ann","age":41,"tags":["x"]}"#),
            ),
            (0, Some("u2"), Some(r#"{"name":"Bob"}"#)),
            (0, Some("u1"), Some(r#"{"name":"Ann B."}"#)),
        ],
    )
    .await;
    let (host, port) = redis_host_port();
    let prefix = format!("{topic}:");
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "RedisSink"),
            ("topics", &topic),
            ("redis.hostname", &host),
            ("redis.portnumber", &port),
            ("redis.database", "3"),
            ("redis.type", "HASH"),
            ("redis.key.prefix", &prefix),
        ]),
    ));
    support::wait_report(&handle, "3 records", |r| r.records == 3).await;
    support::stop(handle).await;
    let mut con = redis(3).await;
    let u1: HashMap<String, String> = eventually("u1", async || {
        let h: HashMap<String, String> = con.hgetall(format!("{prefix}u1")).await.ok()?;
        (!h.is_empty()).then_some(h)
    })
    .await;
    assert_eq!(
        u1,
        HashMap::from([("name".to_string(), "Ann B.".to_string())])
    );
    let u2: HashMap<String, String> = con.hgetall(format!("{prefix}u2")).await.expect("HGETALL");
    assert_eq!(u2["name"], "Bob");
    let _: () = con
        .del(&[format!("{prefix}u1"), format!("{prefix}u2")])
        .await
        .expect("DEL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_host_fails_the_task_naming_it() {
    catalogue_support::allow_loopback();
    let topic = support::unique("redis");
    support::create_topic(&topic, 1).await;
    let handle = support::start(support::assignment(
        &support::unique("lcc"),
        config(&[
            ("connector.class", "RedisSink"),
            ("topics", &topic),
            ("redis.hostname", "127.0.0.1"),
            // Nothing listens there.
            ("redis.portnumber", "1"),
            ("redis.operation.timeout.ms", "2000"),
        ]),
    ));
    let trace = support::wait_failed(&handle).await;
    support::stop(handle).await;
    assert!(trace.contains("127.0.0.1:1"), "{trace}");
}
