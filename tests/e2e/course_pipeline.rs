//! The Kafka Connect course's pipeline, driven only through the public REST
//! API as a user of the managed service would: a Datagen ORDERS source into
//! a topic, and a MySQL sink from that topic into MariaDB.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::mysql::MySqlPoolOptions;
use sqlx::{MySqlPool, Row};
use tributary_tests::{unique, unique_topic, ControlPlane, ControlPlaneOptions};

fn mysql_admin_url() -> String {
    std::env::var("MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
}

async fn fresh_mysql_database() -> anyhow::Result<(String, MySqlPool)> {
    let admin = MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&mysql_admin_url())
        .await?;
    let db = unique("course");
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

fn mysql_sink(topic: &str, db: &str, extra: &[(&str, &str)]) -> Value {
    let mut config = json!({
        "connector.class": "MySqlSink",
        "topics": topic,
        "input.data.format": "JSON",
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

async fn connector_state(cp: &ControlPlane, path: &str) -> anyhow::Result<(String, Vec<String>)> {
    let (code, s) = cp.call("GET", &format!("{path}/status"), None).await?;
    anyhow::ensure!(code == 200, "{code} {s}");
    let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
    Ok((
        s["connector"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        tasks
            .iter()
            .map(|t| t["state"].as_str().unwrap_or_default().to_string())
            .collect(),
    ))
}

async fn wait_for(cp: &ControlPlane, path: &str, state: &str) -> anyhow::Result<()> {
    cp.eventually(
        &format!("{path} {state}"),
        Duration::from_secs(90),
        || async {
            let (c, tasks) = connector_state(cp, path).await?;
            Ok((c == state && !tasks.is_empty() && tasks.iter().all(|t| t == state)).then_some(()))
        },
    )
    .await
}

async fn row_count(pool: &MySqlPool, table: &str) -> anyhow::Result<i64> {
    match sqlx::query(&format!("SELECT COUNT(*) FROM `{table}`"))
        .fetch_one(pool)
        .await
    {
        Ok(row) => Ok(row.try_get::<i64, _>(0)?),
        // The sink creates the table with its first batch.
        Err(sqlx::Error::Database(e)) if e.message().contains("doesn't exist") => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Waits until the table holds exactly as many rows as the topic holds records.
/// Waits until the table holds exactly as many rows as the (paused) source
/// produced: its committed offset says how many records Kafka acknowledged.
/// (tansu's high watermark can lag the last produce batch, so it is not used.)
async fn wait_caught_up(
    cp: &ControlPlane,
    pool: &MySqlPool,
    source: &str,
    topic: &str,
) -> anyhow::Result<i64> {
    cp.eventually(
        "the sink to catch up with the source",
        Duration::from_secs(90),
        || async {
            let (code, o) = cp.call("GET", &format!("{source}/offsets"), None).await?;
            anyhow::ensure!(code == 200, "offsets: {code} {o}");
            let produced = o["offsets"][0]["offset"]["current.iteration"]
                .as_i64()
                .unwrap_or(0);
            let rows = row_count(pool, topic).await?;
            Ok((produced > 0 && rows == produced).then_some(rows))
        },
    )
    .await
}

async fn assert_contiguous_orderids(pool: &MySqlPool, table: &str, n: i64) -> anyhow::Result<()> {
    let row = sqlx::query(&format!(
        "SELECT MIN(orderid), MAX(orderid), COUNT(DISTINCT orderid) FROM `{table}`"
    ))
    .fetch_one(pool)
    .await?;
    let (min, max, distinct): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    assert_eq!(
        (min, max, distinct),
        (0, n - 1, n),
        "orderids 0..{n} without gaps"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagen_orders_into_mysql_with_pause_and_resume() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let (db, mysql) = fresh_mysql_database().await?;
    let topic = unique_topic("orders");

    let source = format!("{base}/orders-source");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{source}/config"),
            Some(json!({
                "connector.class": "DatagenSource",
                "kafka.topic": topic,
                "quickstart": "ORDERS",
                "output.data.format": "JSON",
                "max.interval": "10",
                "tasks.max": "1",
            })),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    let sink = format!("{base}/orders-mysql");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{sink}/config"),
            Some(mysql_sink(&topic, &db, &[])),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["config"]["connection.password"], "****************");
    wait_for(&cp, &source, "RUNNING").await?;
    wait_for(&cp, &sink, "RUNNING").await?;

    // Rows arrive while the source runs.
    cp.eventually("rows in MariaDB", Duration::from_secs(60), || async {
        Ok((row_count(&mysql, &topic).await? >= 100).then_some(()))
    })
    .await?;

    // Pausing the source stops the flow; every record becomes a row.
    let (code, _) = cp.call("PUT", &format!("{source}/pause"), None).await?;
    assert_eq!(code, 202);
    wait_for(&cp, &source, "PAUSED").await?;
    let paused_rows = wait_caught_up(&cp, &mysql, &source, &topic).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        row_count(&mysql, &topic).await?,
        paused_rows,
        "no records while paused"
    );
    assert_contiguous_orderids(&mysql, &topic, paused_rows).await?;

    // Resuming continues where it stopped: no gaps, no repeats.
    let (code, _) = cp.call("PUT", &format!("{source}/resume"), None).await?;
    assert_eq!(code, 202);
    wait_for(&cp, &source, "RUNNING").await?;
    cp.eventually(
        "more rows after resume",
        Duration::from_secs(60),
        || async { Ok((row_count(&mysql, &topic).await? > paused_rows + 50).then_some(())) },
    )
    .await?;
    let (code, _) = cp.call("PUT", &format!("{source}/pause"), None).await?;
    assert_eq!(code, 202);
    wait_for(&cp, &source, "PAUSED").await?;
    let rows = wait_caught_up(&cp, &mysql, &source, &topic).await?;
    assert_contiguous_orderids(&mysql, &topic, rows).await?;

    // Shapes of the rows: ORDERS fields, the nested address kept as JSON text.
    let row = sqlx::query(&format!(
        "SELECT orderid, itemid, orderunits, CAST(address AS CHAR) AS address FROM `{topic}` WHERE orderid = 0"
    ))
    .fetch_one(&mysql)
    .await?;
    let itemid: String = row.try_get("itemid")?;
    assert!(itemid.starts_with("Item_"), "{itemid}");
    let address: String = row.try_get("address")?;
    let address: Value = serde_json::from_str(&address)?;
    assert!(
        address["city"].as_str().unwrap_or("").starts_with("City_"),
        "{address}"
    );

    for c in [&source, &sink] {
        cp.call("DELETE", c, None).await?;
    }
    mysql.close().await;
    drop_mysql_database(&db).await?;
    cp.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cast_and_timestamp_converter_shape_the_rows() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    let (db, mysql) = fresh_mysql_database().await?;
    let topic = unique_topic("orders_cast");

    let (code, body) = cp
        .call(
            "PUT",
            &format!("{base}/cast-source/config"),
            Some(json!({
                "connector.class": "DatagenSource",
                "kafka.topic": topic,
                "quickstart": "ORDERS",
                "max.interval": "5",
                "iterations": "200",
            })),
        )
        .await?;
    assert_eq!(code, 200, "{body}");
    let sink_config = mysql_sink(
        &topic,
        &db,
        &[
            ("transforms", "castKey,castValue,ts"),
            (
                "transforms.castKey.type",
                "org.apache.kafka.connect.transforms.Cast$Key",
            ),
            ("transforms.castKey.spec", "int64"),
            (
                "transforms.castValue.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            (
                "transforms.castValue.spec",
                "orderunits:int32,orderid:string",
            ),
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            ),
            ("transforms.ts.field", "ordertime"),
            ("transforms.ts.target.type", "string"),
            ("transforms.ts.format", "yyyy-MM-dd HH:mm:ss"),
            ("pk.mode", "record_key"),
            ("pk.fields", "orderkey"),
        ],
    );
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{base}/cast-sink/config"),
            Some(sink_config),
        )
        .await?;
    assert_eq!(code, 200, "{body}");

    cp.eventually("200 transformed rows", Duration::from_secs(90), || async {
        Ok((row_count(&mysql, &topic).await? == 200).then_some(()))
    })
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT orderkey, orderid, orderunits, ordertime FROM `{topic}` ORDER BY orderkey"
    ))
    .fetch_all(&mysql)
    .await?;
    for (i, row) in rows.iter().enumerate() {
        let key: i64 = row.try_get("orderkey")?;
        assert_eq!(
            key, i as i64,
            "Cast$Key made the key an integer primary key"
        );
        let orderid: String = row.try_get("orderid")?;
        assert_eq!(orderid, i.to_string(), "Cast$Value made orderid a string");
        let units: i64 = row.try_get("orderunits")?;
        assert!(
            (0..=10).contains(&units),
            "orderunits cast to an integer: {units}"
        );
        let ts: String = row.try_get("ordertime")?;
        assert!(
            chrono_like(&ts),
            "ordertime formatted as yyyy-MM-dd HH:mm:ss: {ts}"
        );
    }

    mysql.close().await;
    drop_mysql_database(&db).await?;
    cp.stop().await
}

/// `2017-03-14 09:30:00`-shaped.
fn chrono_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && s.chars().filter(|c| c.is_ascii_digit()).count() == 14
}
