//! The Kafka Connect course's second pipeline, through the public REST API
//! as a user of the managed service would build it: a MariaDB table's
//! changes (inserts, updates, a primary key change, deletes) captured by a
//! `MySqlCdcSourceV2` as Debezium change events in AVRO (schemas in the
//! environment's Schema Registry), flattened by Debezium's
//! `ExtractNewRecordState`, into an `ElasticsearchSink` (one document per
//! row, deletes removed) and a `MySqlSink` (a copy table). Both copies end
//! up equal to the source table, also when the source's worker is killed
//! with `kill -9` in the middle of the stream.
//!
//! Elasticsearch cannot be installed on these machines: the sink writes to
//! the Elasticsearch STAND-IN of the data plane's tests (an in-memory
//! server with the subset of the REST API the sink uses), run inside this
//! test process.

#[allow(dead_code)]
#[path = "../../data-plane/tests/support/es_standin.rs"]
mod es_standin;

use std::time::Duration;

use es_standin::EsStandIn;
use rand::Rng;
use serde_json::{json, Value};
use sqlx::{MySqlPool, Row};
use tributary_tests::mysql::MySqlDatabase;
use tributary_tests::{
    kafka, kafka_bootstrap, signal, unique, worker_pid, ControlPlane, ControlPlaneOptions,
};

const PRODUCTS_DDL: &str = "CREATE TABLE products (
    id INT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    price DECIMAL(10,2),
    qty INT,
    size ENUM('s','m','l'),
    note TEXT
)";

/// A row as text, column by column (`None` for NULL).
type Cells = Vec<Option<String>>;

async fn products(pool: &MySqlPool) -> anyhow::Result<Vec<Cells>> {
    let rows = sqlx::query(
        "SELECT CAST(id AS CHAR), name, CAST(price AS CHAR), CAST(qty AS CHAR), \
         CAST(size AS CHAR), note FROM products ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (0..6).map(|i| r.get::<Option<String>, _>(i)).collect())
        .collect())
}

/// The stand-in's documents as rows, in id order: each document's fields
/// in the table's column order, numbers as MariaDB prints them.
fn documents(es: &EsStandIn, index: &str) -> Vec<Cells> {
    let text = |v: &Value| match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let mut rows: Vec<(i64, Cells)> = es
        .docs(index)
        .into_iter()
        .map(|(id, d)| {
            let price = d["price"].as_f64().map(|p| format!("{p:.2}"));
            let row = vec![
                Some(id.clone()),
                text(&d["name"]),
                price.or_else(|| text(&d["price"])),
                text(&d["qty"]),
                text(&d["size"]),
                text(&d["note"]),
            ];
            (id.parse().unwrap_or(i64::MAX), row)
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, r)| r).collect()
}

fn missing(a: &[Cells], b: &[Cells]) -> String {
    a.iter()
        .filter(|r| !b.contains(r))
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

struct Pipeline {
    source: String,
    sinks: [String; 2],
    topic: String,
}

fn unwrap_transform(config: &mut Value) {
    config["transforms"] = json!("unwrap");
    config["transforms.unwrap.type"] = json!("io.debezium.transforms.ExtractNewRecordState");
    // The tombstones after deletes remove the row and the document.
    config["transforms.unwrap.drop.tombstones"] = json!("false");
}

/// Creates the source, waits for its snapshot in Kafka, then the two sinks.
async fn create_pipeline(
    cp: &ControlPlane,
    source_db: &str,
    copy_db: &str,
    es: &EsStandIn,
) -> anyhow::Result<Pipeline> {
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let prefix = unique("mycdc");
    let topic = format!("{prefix}.{source_db}.products");
    let source = format!("{base}/products-cdc");
    // Binlog readers need server ids of their own.
    let server_id = rand::thread_rng().gen_range(10_000..4_000_000_000u32);
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{source}/config"),
            Some(json!({
                "connector.class": "MySqlCdcSourceV2",
                "database.hostname": "127.0.0.1",
                "database.port": "3306",
                "database.user": "root",
                "database.password": "",
                "database.server.id": server_id.to_string(),
                "topic.prefix": prefix,
                "table.include.list": format!("{source_db}\\.products"),
                "output.data.format": "AVRO",
                "output.key.format": "AVRO",
                "poll.interval.ms": "100",
                "tasks.max": "1",
            })),
        )
        .await?;
    anyhow::ensure!(code == 200, "{code} {body}");
    check_running(cp, &source).await?;
    cp.eventually("the snapshot in Kafka", Duration::from_secs(90), || async {
        check_failed(cp, &source).await?;
        Ok((kafka::high_watermark(&kafka_bootstrap(), &topic).unwrap_or(0) > 0).then_some(()))
    })
    .await?;

    let mut es_sink = json!({
        "connector.class": "ElasticsearchSink",
        "topics": topic,
        "input.data.format": "AVRO",
        "input.key.format": "AVRO",
        "connection.url": es.url,
        "key.ignore": "false",
        "schema.ignore": "false",
        "behavior.on.null.values": "delete",
        "write.method": "INSERT",
        "tasks.max": "1",
    });
    unwrap_transform(&mut es_sink);
    let mut mysql_sink = json!({
        "connector.class": "MySqlSink",
        "topics": topic,
        "input.data.format": "AVRO",
        "input.key.format": "AVRO",
        "connection.host": "127.0.0.1",
        "connection.port": "3306",
        "connection.user": "root",
        "connection.password": "",
        "db.name": copy_db,
        "table.name.format": "products",
        "insert.mode": "UPSERT",
        "pk.mode": "record_key",
        "pk.fields": "id",
        "delete.enabled": "true",
        "tasks.max": "1",
    });
    unwrap_transform(&mut mysql_sink);
    let sinks = [
        format!("{base}/products-elasticsearch"),
        format!("{base}/products-mysql"),
    ];
    for (path, config) in sinks.iter().zip([es_sink, mysql_sink]) {
        let (code, body) = cp
            .call("PUT", &format!("{path}/config"), Some(config))
            .await?;
        anyhow::ensure!(code == 200, "{path}: {code} {body}");
    }
    Ok(Pipeline {
        source,
        sinks,
        topic,
    })
}

/// Fails with the task's trace when it FAILED.
async fn check_failed(cp: &ControlPlane, path: &str) -> anyhow::Result<()> {
    let (_, status) = cp.call("GET", &format!("{path}/status"), None).await?;
    if status["tasks"][0]["state"] == "FAILED" {
        anyhow::bail!("{path} failed: {}", status["tasks"][0]["trace"]);
    }
    Ok(())
}

/// Waits for task 0 RUNNING; returns its worker.
async fn check_running(cp: &ControlPlane, path: &str) -> anyhow::Result<String> {
    cp.eventually(
        &format!("{path} RUNNING"),
        Duration::from_secs(90),
        || async {
            check_failed(cp, path).await?;
            let (_, s) = cp.call("GET", &format!("{path}/status"), None).await?;
            let t = &s["tasks"][0];
            Ok(t["worker_id"]
                .as_str()
                .filter(|w| !w.is_empty() && t["state"] == "RUNNING")
                .map(str::to_string))
        },
    )
    .await
}

/// Waits until the stand-in's documents and the copy table equal the source table.
async fn wait_for_copies(
    cp: &ControlPlane,
    p: &Pipeline,
    source: &MySqlPool,
    copy: &MySqlPool,
    es: &EsStandIn,
) -> anyhow::Result<Vec<Cells>> {
    let expected = products(source).await?;
    let waited = cp
        .eventually(
            "Elasticsearch and the copy equal to the source table",
            Duration::from_secs(120),
            || async {
                for path in p.sinks.iter().chain([&p.source]) {
                    check_failed(cp, path).await?;
                }
                let copied = products(copy).await.unwrap_or_default();
                Ok((copied == expected && documents(es, &p.topic) == expected).then_some(()))
            },
        )
        .await;
    if let Err(e) = waited {
        let copied = products(copy).await.unwrap_or_default();
        let docs = documents(es, &p.topic);
        anyhow::bail!(
            "{e:#}\nsource rows not in the copy:\n{}\ncopy rows not in the source:\n{}\n\
             source rows not in Elasticsearch:\n{}\ndocuments not in the source:\n{}",
            missing(&expected, &copied),
            missing(&copied, &expected),
            missing(&expected, &docs),
            missing(&docs, &expected),
        );
    }
    Ok(expected)
}

/// Inserts, updates (NULLs, a primary key change, many rows in one
/// transaction) and deletes; round `n` of them, on ids of its own.
fn changes(n: i64) -> Vec<String> {
    let b = 1_000 * n;
    vec![
        format!(
            "INSERT INTO products VALUES ({}, 'lamp', 19.99, 3, 's', NULL), \
             ({}, 'desk', 120.00, 1, 'l', 'oak'), ({}, 'chair', 45.50, 4, 'm', NULL)",
            b + 1,
            b + 2,
            b + 3
        ),
        format!(
            "UPDATE products SET price = 17.49, note = 'sale' WHERE id = {}",
            b + 1
        ),
        format!(
            "UPDATE products SET note = NULL, size = NULL, qty = NULL WHERE id = {}",
            b + 2
        ),
        // The primary key changes: a delete and an insert for the sinks.
        format!("UPDATE products SET id = {} WHERE id = {}", b + 30, b + 3),
        format!("DELETE FROM products WHERE id = {}", b + 2),
        format!(
            "INSERT INTO products VALUES ({}, 'tab\\there, \\'quoted\\' Grüße 東京 🚀', 0.01, 0, 'm', 'x')",
            b + 4
        ),
        format!("DELETE FROM products WHERE id = {}", b + 4),
        format!(
            "INSERT INTO products VALUES ({}, 'back', 1.00, 1, 's', 'again')",
            b + 4
        ),
        format!(
            "UPDATE products SET qty = qty + 1 WHERE id BETWEEN {} AND {}",
            b + 1,
            b + 999
        ),
    ]
}

/// The snapshot's rows: enough for several batches, and one of each kind.
async fn fill(pool: &MySqlPool) -> anyhow::Result<()> {
    sqlx::query(PRODUCTS_DDL).execute(pool).await?;
    for i in 0..10 {
        let values: Vec<String> = (1..=50)
            .map(|j| {
                let id = i * 50 + j;
                format!(
                    "({id}, 'item {id}', {}.{:02}, {}, '{}', {})",
                    id,
                    id % 100,
                    id % 7,
                    ["s", "m", "l"][id as usize % 3],
                    if id % 5 == 0 {
                        "NULL".to_string()
                    } else {
                        format!("'note {id}'")
                    }
                )
            })
            .collect();
        sqlx::query(&format!("INSERT INTO products VALUES {}", values.join(",")))
            .execute(pool)
            .await?;
    }
    Ok(())
}

async fn run(kill_source_worker: bool) -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let source = MySqlDatabase::create("mycdc_src").await?;
    let copy = MySqlDatabase::create("mycdc_copy").await?;
    let es = EsStandIn::start().await;
    let result = scenario(&cp, &source, &copy, &es, kill_source_worker).await;
    source.drop().await?;
    copy.drop().await?;
    cp.stop().await?;
    result
}

async fn scenario(
    cp: &ControlPlane,
    source: &MySqlDatabase,
    copy: &MySqlDatabase,
    es: &EsStandIn,
    kill_source_worker: bool,
) -> anyhow::Result<()> {
    fill(&source.pool).await?;
    // The copy has the source's columns and types; the sink writes into it.
    sqlx::query(PRODUCTS_DDL).execute(&copy.pool).await?;
    let (env, _) = cp.default_cluster().await?;
    let p = create_pipeline(cp, &source.name, &copy.name, es).await?;

    // The snapshot arrives whole first.
    let snapshot = wait_for_copies(cp, &p, &source.pool, &copy.pool, es).await?;
    anyhow::ensure!(snapshot.len() == 500, "{} rows", snapshot.len());

    let rounds = if kill_source_worker { 8 } else { 2 };
    // Changes keep coming, a statement every 100 ms…
    let writer = {
        let pool = source.pool.clone();
        tokio::spawn(async move {
            for round in 1..=rounds {
                for sql in changes(round) {
                    sqlx::query(&sql).execute(&pool).await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                sqlx::query(&format!(
                    "UPDATE products SET price = price + 1 WHERE id <= {}",
                    round * 20
                ))
                .execute(&pool)
                .await?;
            }
            anyhow::Ok(())
        })
    };
    if kill_source_worker {
        // …while the source's worker dies.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let worker = check_running(cp, &p.source).await?;
        let pid =
            worker_pid(&worker).ok_or_else(|| anyhow::anyhow!("no process for worker {worker}"))?;
        anyhow::ensure!(!writer.is_finished(), "the changes ended before the kill");
        signal(pid, "KILL")?;
        eprintln!("killed worker {worker} (pid {pid}) running the source");
        let next = cp
            .eventually(
                "the source RUNNING on another worker",
                Duration::from_secs(60),
                || async {
                    let (_, s) = cp
                        .call("GET", &format!("{}/status", p.source), None)
                        .await?;
                    let t = &s["tasks"][0];
                    Ok(t["worker_id"]
                        .as_str()
                        .filter(|w| *w != worker && t["state"] == "RUNNING")
                        .map(str::to_string))
                },
            )
            .await?;
        eprintln!("the source runs on {next} again");
    }
    writer.await??;

    let end = wait_for_copies(cp, &p, &source.pool, &copy.pool, es).await?;
    // The primary key change moved the row; the deleted rows are gone.
    let ids: Vec<&str> = end.iter().filter_map(|r| r[0].as_deref()).collect();
    for round in 1..=rounds {
        let b = 1_000 * round;
        for (id, present) in [
            (b + 3, false),
            (b + 30, true),
            (b + 2, false),
            (b + 4, true),
        ] {
            anyhow::ensure!(
                ids.contains(&id.to_string().as_str()) == present,
                "row {id} present: {}",
                !present
            );
        }
    }

    // The change events went through the registry: AVRO key and value subjects.
    let (_, subjects) = cp
        .call(
            "GET",
            &format!("/schema-registry/v1/environments/{env}/subjects"),
            None,
        )
        .await?;
    for subject in [format!("{}-key", p.topic), format!("{}-value", p.topic)] {
        anyhow::ensure!(
            subjects
                .as_array()
                .is_some_and(|s| s.contains(&json!(subject))),
            "{subject} not in {subjects}"
        );
    }
    let first = kafka::consume(&kafka_bootstrap(), &p.topic, 1, Duration::from_secs(30)).await?;
    let value = first[0].value.as_deref().unwrap_or_default();
    anyhow::ensure!(value.len() > 5 && value[0] == 0, "not Avro: {value:?}");

    for path in p.sinks.iter().chain([&p.source]) {
        let (code, body) = cp.call("DELETE", path, None).await?;
        anyhow::ensure!(code == 200, "{path}: {code} {body}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_changes_reach_elasticsearch_and_a_mysql_copy_in_avro() -> anyhow::Result<()> {
    run(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_survives_kill_nine_of_the_source_worker() -> anyhow::Result<()> {
    run(true).await
}
