//! A store outage is credited to the worker leases that were live when it
//! began, once however many replicas saw it (`store::workers::credit_outage`,
//! issue 19). Runs against a real Postgres, a database of its own.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tributary_control_plane::store::{self, workers};
use tributary_tests::TestDatabase;

async fn expiry(pool: &PgPool, id: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(
        sqlx::query_scalar("SELECT lease_expires_at FROM workers WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?,
    )
}

#[tokio::test]
async fn an_outage_extends_live_leases_once() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let pool = store::connect(&db.url).await?;
    store::migrate(&pool).await?;
    let lease = Duration::from_secs(10);
    workers::register(&pool, "w-live", 4, "test", None, lease).await?;
    workers::register(&pool, "w-dead", 4, "test", None, lease).await?;
    // Its lease ran out before the outage began: the outage changes nothing for it.
    sqlx::query(
        "UPDATE workers SET lease_expires_at = now() - interval '5 seconds' WHERE id = 'w-dead'",
    )
    .execute(&pool)
    .await?;
    let live = expiry(&pool, "w-live").await?;
    let dead = expiry(&pool, "w-dead").await?;

    let c = workers::credit_outage(&pool, Duration::from_secs(3)).await?;
    assert_eq!(c.leases, 1, "{c:?}");
    assert!((3.0..3.5).contains(&c.credited_secs), "{c:?}");
    let extended = expiry(&pool, "w-live").await? - live;
    assert!(
        (extended.num_milliseconds() as f64 - c.credited_secs * 1000.0).abs() < 1.0,
        "extended by {extended}, credited {c:?}"
    );
    assert_eq!(expiry(&pool, "w-dead").await?, dead);

    // Another replica reports the same outage: nothing more is credited.
    let again = workers::credit_outage(&pool, Duration::from_secs(3)).await?;
    assert!(again.credited_secs < 0.5, "{again:?}");

    pool.close().await;
    db.drop_database().await
}
