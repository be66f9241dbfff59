//! Postgres CDC through the public REST API, as a user of the managed
//! service would: create a `PostgresCdcSourceV2` on a database of its own,
//! change rows, read the change events from the topic, delete the
//! connector, and find its replication slot gone from the database.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
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

/// Leaves no slot behind after a failed test: it would keep the database
/// and WAL forever.
async fn drop_slots(pool: &PgPool, db: &str) {
    let _ = sqlx::query(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active",
    )
    .bind(db)
    .execute(pool)
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = sqlx::query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
    )
    .bind(db)
    .execute(pool)
    .await;
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
        drop_slots(&pool, &source.name).await;
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

/// The columns both tables have, as text, so rows compare across databases.
const ACCOUNT_COLUMNS: &str = "id::text, name, balance::text, rate::text, active::text, \
     tags::text, updated::text, note";

const ACCOUNTS_DDL: &str = "CREATE TABLE accounts (id int PRIMARY KEY, name text, \
     balance numeric(12,2), rate double precision, active boolean, tags jsonb, \
     updated timestamptz, note text)";

async fn accounts(pool: &PgPool) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (0..8).map(|i| r.get::<Option<String>, _>(i)).collect())
        .collect())
}

/// The issue's CDC pipeline: a `PostgresCdcSourceV2` on a source table and
/// a `PostgresSink` (UPSERT by the record key, `delete.enabled`) from its
/// topic into another database leave an identical copy of the table
/// through the snapshot, updates, deletes, NULLs and special characters.
/// The source writes full Debezium envelopes; the sink flattens them with
/// Debezium's `ExtractNewRecordState` (keeping the tombstones that follow
/// deletes, which `delete.enabled` turns into DELETEs by the record key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_into_postgres_sink_leaves_an_identical_table() -> anyhow::Result<()> {
    cdc_into_postgres_sink("JSON").await
}

/// The same pipeline in AVRO: the change events' schemas go through the
/// environment's Schema Registry, and the records read back with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdc_in_avro_into_postgres_sink_leaves_an_identical_table() -> anyhow::Result<()> {
    cdc_into_postgres_sink("AVRO").await
}

async fn cdc_into_postgres_sink(format: &str) -> anyhow::Result<()> {
    let cp = ControlPlane::start(ControlPlaneOptions::default()).await?;
    let source = TestDatabase::create().await?;
    let target = TestDatabase::create().await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&source.url)
        .await?;
    let copy = PgPoolOptions::new()
        .max_connections(1)
        .connect(&target.url)
        .await?;
    let result = replicate(&cp, &source, &pool, &target, &copy, format).await;
    if result.is_err() {
        drop_slots(&pool, &source.name).await;
    }
    pool.close().await;
    copy.close().await;
    source.drop_database().await?;
    target.drop_database().await?;
    cp.stop().await?;
    result
}

async fn replicate(
    cp: &ControlPlane,
    source: &TestDatabase,
    pool: &PgPool,
    target: &TestDatabase,
    copy: &PgPool,
    format: &str,
) -> anyhow::Result<()> {
    let (env, cluster) = cp.default_cluster().await?;
    let base = format!("/connect/v1/environments/{env}/clusters/{cluster}/connectors");
    sqlx::query(ACCOUNTS_DDL).execute(pool).await?;
    // The same table on the other side: the types then match exactly.
    sqlx::query(ACCOUNTS_DDL).execute(copy).await?;
    // The snapshot: enough rows for the sink to COPY them.
    sqlx::query(
        "INSERT INTO accounts SELECT g, 'name ' || g, g * 1.25, g / 3.0, g % 2 = 0, \
         jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g)), \
         '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour 1.5 seconds', NULL \
         FROM generate_series(1, 20) g",
    )
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO accounts (id, name, note) VALUES (21, $1, $2)")
        .bind("tab\there, new\nline, back\\slash \\N, 'single' \"double\" Grüße 東京 🚀")
        .bind("\\.")
        .execute(pool)
        .await?;

    let prefix = unique("cdc");
    let topic = format!("{prefix}.public.accounts");
    // Slot names follow connector names, and slots are the server's: the
    // formats' tests, which run at the same time, need names of their own.
    let source_path = format!("{base}/accounts-cdc-{}", format.to_lowercase());
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{source_path}/config"),
            Some(json!({
                "connector.class": "PostgresCdcSourceV2",
                "database.hostname": "127.0.0.1",
                "database.port": "5432",
                "database.user": "postgres",
                "database.password": "unused-with-trust-auth",
                "database.dbname": source.name,
                "database.sslmode": "disable",
                "topic.prefix": prefix,
                "table.include.list": "public\\.accounts",
                "output.data.format": format,
                "output.key.format": format,
                "tasks.max": "1",
            })),
        )
        .await?;
    check_eq!(code, 200, "{body}");
    cp.eventually("the snapshot in Kafka", Duration::from_secs(90), || async {
        Ok((kafka::high_watermark(&kafka_bootstrap(), &topic).unwrap_or(0) > 0).then_some(()))
    })
    .await?;

    let sink_path = format!("{base}/accounts-copy");
    let (code, body) = cp
        .call(
            "PUT",
            &format!("{sink_path}/config"),
            Some(json!({
                "connector.class": "PostgresSink",
                "topics": topic,
                "input.data.format": format,
                "input.key.format": format,
                "connection.host": "127.0.0.1",
                "connection.port": "5432",
                "connection.user": "postgres",
                "connection.password": "unused-with-trust-auth",
                "db.name": target.name,
                "ssl.mode": "disable",
                "table.name.format": "accounts",
                "insert.mode": "UPSERT",
                "pk.mode": "record_key",
                "pk.fields": "id",
                "delete.enabled": "true",
                "transforms": "unwrap",
                "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
                "transforms.unwrap.drop.tombstones": "false",
                "tasks.max": "1",
            })),
        )
        .await?;
    check_eq!(code, 200, "{body}");

    for sql in [
        // Several updates of one row, one setting NULLs.
        "UPDATE accounts SET balance = 1 WHERE id = 1",
        "UPDATE accounts SET balance = 2, note = 'second' WHERE id = 1",
        "UPDATE accounts SET balance = 3, rate = NULL, tags = NULL WHERE id = 1",
        "DELETE FROM accounts WHERE id = 2",
        "INSERT INTO accounts (id) VALUES (100)",
        // Inserted and deleted in one transaction.
        "BEGIN; INSERT INTO accounts (id, name) VALUES (101, 'brief'); \
         DELETE FROM accounts WHERE id = 101; COMMIT",
        // Deleted, then back with other values.
        "DELETE FROM accounts WHERE id = 4",
        "INSERT INTO accounts (id, name, active) VALUES (4, 'back', true)",
        // Many rows in one transaction: a batch long enough to COPY.
        "UPDATE accounts SET active = NOT active, updated = updated + interval '1 day' WHERE id > 5",
        "INSERT INTO accounts (id, name, balance, rate) \
         SELECT g, repeat('x', g), g, g * 0.1 FROM generate_series(200, 229) g",
        "DELETE FROM accounts WHERE id BETWEEN 205 AND 209",
        "UPDATE accounts SET note = E'multi\\nline\\ttab \\\\N end' WHERE id = 21",
    ] {
        sqlx::raw_sql(sql).execute(pool).await?;
    }

    let expected = accounts(pool).await?;
    check_eq!(expected.len(), 21 - 1 + 1 + 25, "the source table");
    let status_path = format!("{sink_path}/status");
    let waited = cp
        .eventually(
            "the copy identical to the source table",
            Duration::from_secs(120),
            || async {
                let (_, status) = cp.call("GET", &status_path, None).await?;
                if status["tasks"][0]["state"] == "FAILED" {
                    anyhow::bail!("the sink failed: {}", status["tasks"][0]["trace"]);
                }
                Ok((accounts(copy).await.unwrap_or_default() == expected).then_some(()))
            },
        )
        .await;
    if let Err(e) = waited {
        let last = accounts(copy).await.unwrap_or_default();
        let missing = |a: &[Vec<Option<String>>], b: &[Vec<Option<String>>]| {
            a.iter()
                .filter(|r| !b.contains(r))
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        anyhow::bail!(
            "{e:#}\nsource rows not in the copy:\n{}\ncopy rows not in the source:\n{}",
            missing(&expected, &last),
            missing(&last, &expected)
        );
    }
    if format == "AVRO" {
        check_avro_snapshot_record(cp, &topic).await?;
    }
    let one = &expected[0];
    check_eq!(one[2].as_deref(), Some("3.00"), "{one:?}");
    check_eq!(one[3], None);
    check_eq!(one[7].as_deref(), Some("second"));

    for path in [&sink_path, &source_path] {
        let (code, body) = cp.call("DELETE", path, None).await?;
        check_eq!(code, 200, "{body}");
    }
    cp.eventually("the slot dropped", Duration::from_secs(90), || async {
        Ok(slots_of(pool, &source.name).await?.is_empty().then_some(()))
    })
    .await?;
    Ok(())
}

/// The topic's first record is Avro (magic byte, a schema id the
/// environment's registry serves) and decodes with that schema to the
/// snapshot's first row; the key likewise.
async fn check_avro_snapshot_record(cp: &ControlPlane, topic: &str) -> anyhow::Result<()> {
    let (env, _) = cp.default_cluster().await?;
    let first = kafka::consume(&kafka_bootstrap(), topic, 1, Duration::from_secs(30)).await?;
    use apache_avro::types::Value as A;
    let key = decode_avro(cp, &env, first[0].key.as_deref().unwrap_or_default()).await?;
    check_eq!(key, A::Record(vec![("id".into(), A::Int(1))]));
    let value = decode_avro(cp, &env, first[0].value.as_deref().unwrap_or_default()).await?;
    let A::Record(fields) = value else {
        anyhow::bail!("not a record: {value:?}");
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    check_eq!(field("op"), Some(A::String("r".into())));
    let Some(A::Union(_, after)) = field("after") else {
        anyhow::bail!("no after: {fields:?}");
    };
    let A::Record(after) = *after else {
        anyhow::bail!("after is not a record: {after:?}");
    };
    let column = |name: &str| {
        after
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    check_eq!(column("id"), Some(A::Int(1)));
    check_eq!(
        column("name"),
        Some(A::Union(1, Box::new(A::String("name 1".into()))))
    );
    check_eq!(
        column("balance"),
        Some(A::Union(1, Box::new(A::String("1.25".into()))))
    );
    Ok(())
}

/// Decodes Schema Registry framed Avro with the writer schema the
/// environment's registry serves for its id.
async fn decode_avro(
    cp: &ControlPlane,
    env: &str,
    bytes: &[u8],
) -> anyhow::Result<apache_avro::types::Value> {
    anyhow::ensure!(bytes.len() > 5 && bytes[0] == 0, "not Avro: {bytes:?}");
    let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let (code, body) = cp
        .call(
            "GET",
            &format!("/schema-registry/v1/environments/{env}/schemas/ids/{id}"),
            None,
        )
        .await?;
    check_eq!(code, 200, "{body}");
    let schema = apache_avro::Schema::parse_str(body["schema"].as_str().unwrap_or_default())?;
    Ok(apache_avro::from_avro_datum(
        &schema,
        &mut &bytes[5..],
        None,
    )?)
}
