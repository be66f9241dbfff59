//! Postgres CDC through the public REST API, as a user of the managed
//! service would: create a `PostgresCdcSourceV2` on a database of its own,
//! change rows, read the change events from the topic, delete the
//! connector, and find its replication slot gone from the database.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tributary_tests::{
    kafka, kafka_bootstrap, unique, ControlPlane, ControlPlaneOptions, TestDatabase,
};

/// `assert_eq!` that returns an error instead of panicking, so that the
/// test still cleans up after itself.
macro_rules! check_eq {
    ($left:expr, $right:expr $(,)?) => {
        check_eq!($left, $right, "")
    };
    ($left:expr, $right:expr, $($msg:tt)+) => {{
        let (l, r) = (&$left, &$right);
        anyhow::ensure!(l == r, "{l:?} != {r:?}: {}", format!($($msg)+));
    }};
}

/// (key, value) of every record of the topic, as JSON.
async fn events(topic: &str, min: usize) -> anyhow::Result<Vec<(Option<Value>, Option<Value>)>> {
    let records = kafka::consume(&kafka_bootstrap(), topic, min, Duration::from_secs(60)).await?;
    records
        .into_iter()
        .map(|r| {
            let json =
                |b: Option<Vec<u8>>| b.map(|b| serde_json::from_slice::<Value>(&b)).transpose();
            Ok((json(r.key)?, json(r.value)?))
        })
        .collect()
}

async fn slots_of(pool: &PgPool, db: &str) -> anyhow::Result<Vec<(String, bool)>> {
    Ok(sqlx::query_as(
        "SELECT slot_name::text, active FROM pg_replication_slots WHERE database = $1",
    )
    .bind(db)
    .fetch_all(pool)
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_arrive_as_debezium_events_and_delete_drops_the_slot() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let source = TestDatabase::create().await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&source.url)
        .await?;
    let result = scenario(&cp, &source, &pool).await;
    if result.is_err() {
        // Leave no slot behind: it would keep the database and WAL forever.
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active",
        )
        .bind(&source.name)
        .execute(&pool)
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = sqlx::query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
        )
        .bind(&source.name)
        .execute(&pool)
        .await;
    }
    pool.close().await;
    source.drop_database().await?;
    cp.stop().await?;
    result
}

async fn scenario(cp: &ControlPlane, source: &TestDatabase, pool: &PgPool) -> anyhow::Result<()> {
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    sqlx::query("CREATE TABLE orders (id int PRIMARY KEY, item text, qty int)")
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO orders VALUES (1, 'apple', 5), (2, 'pear', 7)")
        .execute(pool)
        .await?;
    let prefix = unique("cdc");
    let topic = format!("{prefix}.public.orders");
    let connector = format!("{base}/orders-cdc");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{connector}/config"),
            Some(json!({
                "connector.class": "PostgresCdcSourceV2",
                "database.hostname": "127.0.0.1",
                "database.port": "5432",
                "database.user": "postgres",
                "database.password": "unused-with-trust-auth",
                "database.dbname": source.name,
                "database.sslmode": "disable",
                "topic.prefix": prefix,
                "table.include.list": "public\\.orders",
                "output.data.format": "JSON",
                "tasks.max": "1",
            })),
        )
        .await?;
    check_eq!(code, 200, "{body}");
    check_eq!(body["config"]["database.password"], "****************");

    // The snapshot: both rows as reads. (The topic exists once the task
    // wrote to it; a consumer subscribed before might not see it for long.)
    cp.eventually("the snapshot in Kafka", Duration::from_secs(90), || async {
        Ok((kafka::high_watermark(&kafka_bootstrap(), &topic).unwrap_or(0) > 0).then_some(()))
    })
    .await?;
    let snapshot = events(&topic, 2).await?;
    check_eq!(snapshot.len(), 2, "{snapshot:?}");
    check_eq!(snapshot[0].0, Some(json!({"id": 1})));
    check_eq!(
        snapshot[0].1.as_ref().map(|v| v["op"].clone()),
        Some(json!("r"))
    );

    // Changes stream as they commit.
    for sql in [
        "INSERT INTO orders VALUES (3, 'fig', 1)",
        "UPDATE orders SET qty = 6 WHERE id = 1",
        "DELETE FROM orders WHERE id = 2",
    ] {
        sqlx::query(sql).execute(pool).await?;
    }
    let all = events(&topic, 6).await?;
    let changes: Vec<(Option<Value>, Option<Value>)> = all[2..]
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map(|v| v["op"].clone())))
        .collect();
    check_eq!(
        changes,
        vec![
            (Some(json!({"id": 3})), Some(json!("c"))),
            (Some(json!({"id": 1})), Some(json!("u"))),
            (Some(json!({"id": 2})), Some(json!("d"))),
            (Some(json!({"id": 2})), None),
        ],
        "{all:?}"
    );
    let update = all[3].1.as_ref().expect("update event");
    check_eq!(update["after"], json!({"id": 1, "item": "apple", "qty": 6}));
    check_eq!(update["source"]["name"], json!(prefix));
    check_eq!(update["source"]["db"], json!(source.name));
    let slots = slots_of(pool, &source.name).await?;
    check_eq!(slots.len(), 1, "{slots:?}");
    anyhow::ensure!(slots[0].0.starts_with("tributary_orders_cdc_"), "{slots:?}");

    // Deleting the connector drops its slot (and its publication).
    let (code, body) = cp.call("DELETE", &connector, None).await?;
    check_eq!(code, 200, "{body}");
    cp.eventually(
        "the slot and publication dropped",
        Duration::from_secs(90),
        || async {
            let publications: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_publication")
                .fetch_one(pool)
                .await?;
            Ok((slots_of(pool, &source.name).await?.is_empty() && publications == 0).then_some(()))
        },
    )
    .await?;

    Ok(())
}
