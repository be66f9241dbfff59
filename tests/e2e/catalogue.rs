//! The connector catalogue end to end, driven only through the public REST
//! API with real processes: a Datagen ORDERS source into a topic, then an
//! HttpSink from that topic into an HTTP endpoint this test runs, and a
//! RedisSink into the real Redis (`REDIS_URL`, default redis://127.0.0.1:6379).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use redis::AsyncCommands;
use serde_json::{json, Value};
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions};

const ORDERS: usize = 60;

/// What the endpoint received: (authorization header, body) per request.
type Received = Arc<Mutex<Vec<(String, String)>>>;

async fn endpoint() -> anyhow::Result<(String, Received, tokio::task::JoinHandle<()>)> {
    async fn take(State(r): State<Received>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if auth != "Bearer e2e-token" {
            return StatusCode::UNAUTHORIZED;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        r.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((auth, body));
        StatusCode::OK
    }
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route("/orders", axum::routing::post(take))
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/orders", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, received, server))
}

async fn put_config(cp: &ControlPlane, path: &str, config: Value) -> anyhow::Result<Value> {
    let (code, body) = cp
        .call("PUT", &format!("{path}/config"), Some(config))
        .await?;
    anyhow::ensure!(code == 200, "PUT {path}/config: {code} {body}");
    Ok(body)
}

async fn wait_running(cp: &ControlPlane, path: &str) -> anyhow::Result<()> {
    cp.eventually(
        &format!("{path} RUNNING"),
        Duration::from_secs(90),
        || async {
            let (code, s) = cp.call("GET", &format!("{path}/status"), None).await?;
            anyhow::ensure!(code == 200, "{code} {s}");
            let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
            Ok((s["connector"]["state"] == "RUNNING"
                && !tasks.is_empty()
                && tasks.iter().all(|t| t["state"] == "RUNNING"))
            .then_some(()))
        },
    )
    .await
}

fn datagen(topic: &str) -> Value {
    json!({
        "connector.class": "DatagenSource",
        "kafka.topic": topic,
        "quickstart": "ORDERS",
        "output.data.format": "JSON",
        "max.interval": "5",
        "iterations": ORDERS.to_string(),
        "tasks.max": "1",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_orders_into_an_http_endpoint() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}");
    let (url, received, server) = endpoint().await?;
    let topic = unique_topic("orders_http");

    // The plugin is listed, and validation names a bad key.
    let (code, plugins) = cp
        .call("GET", &format!("{base}/connector-plugins"), None)
        .await?;
    assert_eq!(code, 200, "{plugins}");
    assert!(plugins.to_string().contains("HttpSink"), "{plugins}");
    let (code, v) = cp
        .call(
            "PUT",
            &format!("{base}/connector-plugins/HttpSink/config/validate"),
            Some(json!({"connector.class": "HttpSink", "topics": topic,
                        "http.api.url": url, "request.method": "GET"})),
        )
        .await?;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["error_count"], 1, "{v}");

    let connectors = format!("{base}/connectors");
    put_config(&cp, &format!("{connectors}/orders-source"), datagen(&topic)).await?;
    let sink = format!("{connectors}/orders-http");
    let body = put_config(
        &cp,
        &sink,
        json!({
            "connector.class": "HttpSink",
            "topics": topic,
            "input.data.format": "JSON",
            "http.api.url": url,
            "request.body.format": "json",
            "batch.json.as.array": "true",
            "batch.max.size": "25",
            "auth.type": "BEARER",
            "bearer.token": "e2e-token",
            "tasks.max": "1",
        }),
    )
    .await?;
    assert_eq!(body["config"]["bearer.token"], "****************");
    wait_running(&cp, &sink).await?;

    let ids = cp
        .eventually(
            "every order at the endpoint",
            Duration::from_secs(90),
            || async {
                let bodies: Vec<String> = received
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .map(|(_, b)| b.clone())
                    .collect();
                let mut ids = BTreeSet::new();
                for body in &bodies {
                    let batch: Vec<Value> = serde_json::from_str(body)?;
                    anyhow::ensure!(
                        batch.len() <= 25,
                        "batch.max.size exceeded: {}",
                        batch.len()
                    );
                    for order in batch {
                        anyhow::ensure!(
                            order["itemid"]
                                .as_str()
                                .is_some_and(|i| i.starts_with("Item_")),
                            "an ORDERS record: {order}"
                        );
                        ids.insert(order["orderid"].as_i64().unwrap_or(-1));
                    }
                }
                Ok((ids.len() >= ORDERS).then_some(ids))
            },
        )
        .await?;
    assert_eq!(ids, (0..ORDERS as i64).collect::<BTreeSet<_>>());

    let (code, status) = cp.call("GET", &format!("{sink}/status"), None).await?;
    assert_eq!(code, 200);
    assert_eq!(status["connector"]["state"], "RUNNING", "{status}");
    for c in ["orders-source", "orders-http"] {
        cp.call("DELETE", &format!("{connectors}/{c}"), None)
            .await?;
    }
    server.abort();
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_orders_into_redis() -> anyhow::Result<()> {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let authority = redis_url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_string();
    let (host, port) = authority
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap_or((authority.clone(), "6379".into()));
    let mut redis = redis::Client::open(format!("redis://{host}:{port}/4"))?
        .get_multiplexed_async_connection()
        .await?;

    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let connectors = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let topic = unique_topic("orders_redis");
    let prefix = format!("{}:", unique("orders"));

    put_config(&cp, &format!("{connectors}/orders-source"), datagen(&topic)).await?;
    let sink = format!("{connectors}/orders-redis");
    let body = put_config(
        &cp,
        &sink,
        json!({
            "connector.class": "RedisSink",
            "topics": topic,
            "input.data.format": "JSON",
            "redis.hostname": host,
            "redis.portnumber": port,
            "redis.database": "4",
            "redis.password": "",
            "redis.type": "HASH",
            "redis.key.prefix": prefix,
            "tasks.max": "1",
        }),
    )
    .await?;
    assert_eq!(body["config"]["connector.class"], "RedisSink", "{body}");
    wait_running(&cp, &sink).await?;

    let pattern = format!("{prefix}*");
    let keys = cp
        .eventually("every order in Redis", Duration::from_secs(90), || async {
            let keys: Vec<String> = redis.clone().keys(&pattern).await?;
            Ok((keys.len() >= ORDERS).then_some(keys))
        })
        .await?;
    assert_eq!(keys.len(), ORDERS);
    // Keys are the ORDERS key field (orderid), values whole hashes.
    let order: std::collections::HashMap<String, String> =
        redis.hgetall(format!("{prefix}7")).await?;
    assert_eq!(
        order.get("orderid").map(String::as_str),
        Some("7"),
        "{order:?}"
    );
    assert!(order["itemid"].starts_with("Item_"), "{order:?}");
    let address: Value = serde_json::from_str(&order["address"])?;
    assert!(address["city"].as_str().unwrap_or("").starts_with("City_"));

    for c in ["orders-source", "orders-redis"] {
        cp.call("DELETE", &format!("{connectors}/{c}"), None)
            .await?;
    }
    let _: () = redis.del(&keys).await?;
    cp.stop().await
}

/// RabbitMQ on loopback (`RABBITMQ_URL`, default amqp://guest:guest@127.0.0.1:5672/%2f),
/// through the AMQP client the connectors use.
mod rabbitmq {
    use std::str::FromStr;

    use lapin::options::{
        BasicGetOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions, QueueDeleteOptions,
    };
    use lapin::types::FieldTable;
    use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
    pub use tributary_data_plane::connectors::rabbitmq::lapin;

    pub fn url() -> String {
        std::env::var("RABBITMQ_URL")
            .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
    }

    /// host, port, user, password, virtual host.
    pub fn endpoint() -> anyhow::Result<(String, String, String, String, String)> {
        let uri = lapin::uri::AMQPUri::from_str(&url()).map_err(anyhow::Error::msg)?;
        Ok((
            uri.authority.host,
            uri.authority.port.to_string(),
            uri.authority.userinfo.username,
            uri.authority.userinfo.password,
            uri.vhost,
        ))
    }

    pub async fn channel() -> anyhow::Result<(Connection, Channel)> {
        let conn = Connection::connect(&url(), ConnectionProperties::default()).await?;
        let ch = conn.create_channel().await?;
        ch.confirm_select(Default::default()).await?;
        Ok((conn, ch))
    }

    pub async fn queue(ch: &Channel, name: &str) -> anyhow::Result<u32> {
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        Ok(ch
            .queue_declare(name.into(), options, FieldTable::default())
            .await?
            .message_count())
    }

    pub async fn bound_queue(
        ch: &Channel,
        exchange: &str,
        queue_name: &str,
        routing_key: &str,
    ) -> anyhow::Result<()> {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        ch.exchange_declare(
            exchange.into(),
            ExchangeKind::Direct,
            options,
            FieldTable::default(),
        )
        .await?;
        queue(ch, queue_name).await?;
        ch.queue_bind(
            queue_name.into(),
            exchange.into(),
            routing_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        Ok(())
    }

    pub async fn publish(ch: &Channel, queue: &str, body: &str) -> anyhow::Result<()> {
        let confirm = ch
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body.as_bytes(),
                BasicProperties::default(),
            )
            .await?
            .await?;
        anyhow::ensure!(confirm.is_ack(), "RabbitMQ nacked our publish");
        Ok(())
    }

    /// Takes what `queue` holds: (body, routing key).
    pub async fn take(ch: &Channel, queue: &str) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        while let Some(m) = ch
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await?
        {
            out.push((
                String::from_utf8_lossy(&m.delivery.data).into_owned(),
                m.delivery.routing_key.to_string(),
            ));
        }
        Ok(out)
    }

    pub async fn delete(ch: &Channel, queue: &str) {
        let _ = ch
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_source_to_kafka_to_rabbitmq_sink() -> anyhow::Result<()> {
    const MESSAGES: usize = 20;
    let (host, port, user, password, vhost) = rabbitmq::endpoint()?;
    let (_conn, ch) = rabbitmq::channel().await?;
    let source_queue = unique("rmq_in");
    let exchange = unique("rmq_shop");
    let sink_queue = unique("rmq_out");
    rabbitmq::queue(&ch, &source_queue).await?;
    rabbitmq::bound_queue(&ch, &exchange, &sink_queue, "orders.copied").await?;

    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}");
    let topic = unique_topic("rabbitmq");

    // Both plugins are listed, and validation names a bad key.
    let (code, plugins) = cp
        .call("GET", &format!("{base}/connector-plugins"), None)
        .await?;
    assert_eq!(code, 200, "{plugins}");
    for class in ["RabbitMQSource", "RabbitMQSink"] {
        assert!(plugins.to_string().contains(class), "{class}: {plugins}");
    }
    let (code, v) = cp
        .call(
            "PUT",
            &format!("{base}/connector-plugins/RabbitMQSink/config/validate"),
            Some(json!({"connector.class": "RabbitMQSink", "topics": topic,
                        "rabbitmq.host": host, "rabbitmq.exchange": exchange,
                        "rabbitmq.routing.key": "k", "rabbitmq.delivery.mode": "SOMETIMES"})),
        )
        .await?;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["error_count"], 1, "{v}");
    assert!(
        v.to_string().contains("rabbitmq.delivery.mode"),
        "the error names its key: {v}"
    );

    let connectors = format!("{base}/connectors");
    let source = format!("{connectors}/rabbitmq-in");
    let body = put_config(
        &cp,
        &source,
        json!({
            "connector.class": "RabbitMQSource",
            "kafka.topic": topic,
            "rabbitmq.host": host,
            "rabbitmq.port": port,
            "rabbitmq.username": user,
            "rabbitmq.password": password,
            "rabbitmq.virtual.host": vhost,
            "rabbitmq.queue": source_queue,
            "rabbitmq.prefetch.count": "10",
            "tasks.max": "1",
        }),
    )
    .await?;
    assert_eq!(body["config"]["rabbitmq.password"], "****************");
    let sink = format!("{connectors}/rabbitmq-out");
    put_config(
        &cp,
        &sink,
        json!({
            "connector.class": "io.confluent.connect.rabbitmq.sink.RabbitMQSinkConnector",
            "topics": topic,
            "input.data.format": "BYTES",
            "rabbitmq.host": host,
            "rabbitmq.port": port,
            "rabbitmq.username": user,
            "rabbitmq.password": password,
            "rabbitmq.virtual.host": vhost,
            "rabbitmq.exchange": exchange,
            "rabbitmq.routing.key": "orders.copied",
            "tasks.max": "1",
        }),
    )
    .await?;
    wait_running(&cp, &source).await?;
    wait_running(&cp, &sink).await?;

    let sent: BTreeSet<String> = (0..MESSAGES)
        .map(|i| format!(r#"{{"order": {i}, "note": "as sent"}}"#))
        .collect();
    for body in &sent {
        rabbitmq::publish(&ch, &source_queue, body).await?;
    }
    let mut received = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while received.len() < MESSAGES {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{} of {MESSAGES} messages reached the sink's queue; control plane log:\n{}",
            received.len(),
            cp.log_tail()
        );
        received.extend(rabbitmq::take(&ch, &sink_queue).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Byte for byte (BYTES both ways), routed with the sink's routing key.
    let bodies: BTreeSet<String> = received.iter().map(|(b, _)| b.clone()).collect();
    assert_eq!(bodies, sent);
    assert!(received.iter().all(|(_, rk)| rk == "orders.copied"));
    assert_eq!(received.len(), MESSAGES, "each message once");
    for c in ["rabbitmq-in", "rabbitmq-out"] {
        cp.call("DELETE", &format!("{connectors}/{c}"), None)
            .await?;
    }
    // The source acknowledged every message once Kafka had it: none comes
    // back when its connection closes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rabbitmq::queue(&ch, &source_queue).await?, 0);
    assert!(
        rabbitmq::take(&ch, &sink_queue).await?.is_empty(),
        "no duplicates"
    );
    rabbitmq::delete(&ch, &source_queue).await;
    rabbitmq::delete(&ch, &sink_queue).await;
    cp.stop().await
}
