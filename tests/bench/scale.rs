//! Section 7: the reconciler at 1k and 10k connectors: real passes of the control
//! plane's reconciler (in-process, on a database of its own, connectors and
//! workers inserted with SQL, the `static` provider), timed for the initial
//! placement, a pass with nothing to do, a lost worker and a new worker;
//! against the same reads and writes done as set-based SQL in one
//! transaction (what the database needs at least), and the planner alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;
use tributary_control_plane::provider::static_pool::StaticPool;
use tributary_control_plane::reconciler::assign::{self, TaskSlot, WorkerSlot};
use tributary_control_plane::reconciler::{leader, Reconciler, ReconcilerSettings};
use tributary_control_plane::secrets::SecretBox;
use tributary_control_plane::store;
use tributary_tests::TestDatabase;

use crate::report::{fmt_num, Row};
use crate::util::{ms, percentile};
use crate::Ctx;

const SECTION: &str = "7 scale";
/// Tasks per worker when all are placed.
const PER_WORKER: usize = 100;
const CAPACITY: i32 = 128;
/// Runs of the idle, worker-lost and worker-joins passes (medians reported).
const REPEAT: usize = 3;

pub async fn run(ctx: &Ctx) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &n in &ctx.scale_sizes {
        let db = TestDatabase::create().await?;
        let r = at_size(&db, n).await;
        db.drop_database().await?;
        rows.extend(r?);
    }
    Ok(rows)
}

async fn seed(pool: &PgPool, n: usize, workers: usize) -> anyhow::Result<()> {
    sqlx::raw_sql(
        "INSERT INTO organizations (id, display_name) VALUES ('org-bench', 'bench');
         INSERT INTO environments (id, org_id, display_name) VALUES ('env-bench', 'org-bench', 'bench');
         INSERT INTO kafka_clusters (id, org_id, environment_id, display_name, bootstrap_endpoint)
           VALUES ('lkc-bench', 'org-bench', 'env-bench', 'bench', '127.0.0.1:9092');",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO connectors (id, org_id, environment_id, cluster_id, name, class, connector_type, config)
         SELECT 'lcc-' || lpad(g::text, 6, '0'), 'org-bench', 'env-bench', 'lkc-bench', 'c' || g,
                'DatagenSource', 'source',
                jsonb_build_object('connector.class', 'DatagenSource', 'kafka.topic', 't' || g,
                                   'quickstart', 'ORDERS', 'tasks.max', '1', 'name', 'c' || g)
         FROM generate_series(1, $1) g",
    )
    .bind(n as i32)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO workers (id, capacity, lease_expires_at)
         SELECT 'w-' || lpad(g::text, 4, '0'), $2, now() + interval '1 hour'
         FROM generate_series(1, $1) g",
    )
    .bind(workers as i32)
    .bind(CAPACITY)
    .execute(pool)
    .await?;
    Ok(())
}

/// The same reads a pass makes and `writes` rows written, as set-based SQL
/// in one transaction (rolled back): `insert` task rows created from
/// connectors, or `update` rows re-pointed to another worker.
async fn set_based(pool: &PgPool, insert: bool, update: usize) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let mut tx = pool.begin().await?;
    let _: Vec<(String, i32, bool)> =
        sqlx::query_as("SELECT id, capacity, draining FROM workers ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    if insert {
        sqlx::query("DELETE FROM tasks").execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO tasks (connector_id, task_id, generation, config)
             SELECT id, 0, generation, config FROM connectors",
        )
        .execute(&mut *tx)
        .await?;
    }
    let tasks: Vec<(String, i32, Option<String>, i32)> = sqlx::query_as(
        "SELECT connector_id, task_id, worker_id, weight FROM tasks ORDER BY connector_id, task_id FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    let ids: Vec<String> = tasks.iter().take(update).map(|t| t.0.clone()).collect();
    if !ids.is_empty() {
        sqlx::query(
            "UPDATE tasks t SET worker_id = (SELECT id FROM workers ORDER BY id LIMIT 1),
                    epoch = nextval('task_epochs'), state = $2, state_updated_at = now()
             FROM unnest($1::text[]) AS m(id) WHERE t.connector_id = m.id AND t.task_id = 0",
        )
        .bind(&ids)
        .bind(tributary_control_plane::lifecycle::TaskTransition::Assigned.to())
        .execute(&mut *tx)
        .await?;
    }
    tx.rollback().await?;
    Ok(t0.elapsed())
}

async fn slots(pool: &PgPool) -> anyhow::Result<(Vec<WorkerSlot>, Vec<TaskSlot>)> {
    let workers: Vec<(String, i32, bool)> =
        sqlx::query_as("SELECT id, capacity, draining FROM workers ORDER BY id")
            .fetch_all(pool)
            .await?;
    let tasks: Vec<(String, i32, Option<String>, i32)> = sqlx::query_as(
        "SELECT connector_id, task_id, worker_id, weight FROM tasks ORDER BY connector_id, task_id",
    )
    .fetch_all(pool)
    .await?;
    Ok((
        workers
            .into_iter()
            .map(|(id, capacity, draining)| WorkerSlot {
                id,
                capacity: capacity.max(0) as u32,
                draining,
                pool: None,
            })
            .collect(),
        tasks
            .into_iter()
            .map(|(connector_id, task_id, worker, weight)| TaskSlot {
                connector_id,
                task_id,
                worker,
                weight: weight.max(1) as u32,
                pool: None,
            })
            .collect(),
    ))
}

/// Median time of the planner alone on the current state.
async fn plan_time(pool: &PgPool) -> anyhow::Result<(f64, usize)> {
    let (workers, tasks) = slots(pool).await?;
    let mut times = Vec::new();
    let mut moves = 0;
    for _ in 0..5 {
        let t0 = Instant::now();
        moves = assign::plan(&workers, &tasks).len();
        times.push(ms(t0.elapsed()));
    }
    Ok((percentile(&times, 50.0), moves))
}

async fn pass(
    reconciler: &mut Reconciler,
    epoch: i64,
) -> anyhow::Result<tributary_control_plane::reconciler::PassReport> {
    reconciler
        .pass(epoch)
        .await
        .map_err(|e| anyhow::anyhow!("reconcile pass: {e}"))
}

async fn at_size(db: &TestDatabase, n: usize) -> anyhow::Result<Vec<Row>> {
    let pool = store::connect(&db.url).await?;
    store::migrate(&pool).await?;
    let workers = n.div_ceil(PER_WORKER).max(2);
    seed(&pool, n, workers).await?;
    sqlx::raw_sql("ANALYZE").execute(&pool).await?;
    let leadership = leader::try_acquire(&pool, "bench")
        .await?
        .context("reconciler leadership of the bench database")?;
    let epoch = leadership.epoch;
    let mut reconciler = Reconciler::new(
        pool.clone(),
        Arc::new(SecretBox::from_base64(&SecretBox::generate_key())?),
        Arc::new(StaticPool),
        ReconcilerSettings {
            holder: "bench".into(),
            interval: Duration::from_secs(1),
            worker_capacity: CAPACITY as u32,
            max_workers: 100_000,
            scale_down_cooldown: Duration::from_secs(5),
            worker_lease: Duration::from_secs(10),
            restart_backoff: Duration::from_secs(2),
            restart_backoff_max: Duration::from_secs(300),
        },
    );
    let size = format!("{}k", n / 1000);
    let mut rows = Vec::new();
    // The initial placement: expand every connector into its task, place all.
    let ref_initial = set_based(&pool, true, n).await?;
    let t0 = Instant::now();
    let report = pass(&mut reconciler, epoch).await?;
    let initial = t0.elapsed();
    rows.push(
        Row::new(
            SECTION,
            &format!("{size} connectors: first pass (expand + place all)"),
            ms(initial),
            "ms",
        )
        .vs(
            "set-based SQL: insert + re-point all tasks",
            ms(ref_initial),
        )
        .note(format!(
            "{} tasks moved, {workers} workers; {:.0} µs per task",
            report.moved_tasks,
            initial.as_secs_f64() * 1e6 / n as f64
        )),
    );

    // Nothing to do.
    let mut idle = Vec::new();
    let mut ref_idle = Vec::new();
    for _ in 0..REPEAT {
        ref_idle.push(ms(set_based(&pool, false, 0).await?));
        let t0 = Instant::now();
        let report = pass(&mut reconciler, epoch).await?;
        idle.push(ms(t0.elapsed()));
        anyhow::ensure!(report.moved_tasks == 0, "an idle pass moved tasks");
    }
    rows.push(
        Row::new(
            SECTION,
            &format!("{size} connectors: pass with nothing to do"),
            percentile(&idle, 50.0),
            "ms",
        )
        .vs("set-based SQL: the same reads", percentile(&ref_idle, 50.0))
        .note(format!("median of {REPEAT}")),
    );

    // A worker's lease lapses (its tasks move), then a new worker joins (it
    // takes its share, nothing else moves); REPEAT times.
    let expected = n / workers;
    let (mut lost, mut ref_lost, mut lost_moves) = (Vec::new(), Vec::new(), Vec::new());
    let (mut joined, mut ref_join, mut join_moves) = (Vec::new(), Vec::new(), Vec::new());
    let mut plans = Vec::new();
    for i in 0..REPEAT {
        sqlx::query(
            "UPDATE workers SET lease_expires_at = now() - interval '1 second'
             WHERE id = (SELECT id FROM workers ORDER BY id LIMIT 1)",
        )
        .execute(&pool)
        .await?;
        ref_lost.push(ms(set_based(&pool, false, expected).await?));
        let t0 = Instant::now();
        let report = pass(&mut reconciler, epoch).await?;
        lost.push(ms(t0.elapsed()));
        lost_moves.push(report.moved_tasks);

        sqlx::query(
            "INSERT INTO workers (id, capacity, lease_expires_at)
             VALUES ('x-new-' || $2, $1, now() + interval '1 hour')",
        )
        .bind(CAPACITY)
        .bind(i as i32)
        .execute(&pool)
        .await?;
        let (plan_ms, plan_moves) = plan_time(&pool).await?;
        plans.push(plan_ms);
        ref_join.push(ms(set_based(&pool, false, plan_moves).await?));
        let t0 = Instant::now();
        let report = pass(&mut reconciler, epoch).await?;
        joined.push(ms(t0.elapsed()));
        join_moves.push(report.moved_tasks);
    }
    let list = |v: &[usize]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    };
    rows.push(
        Row::new(
            SECTION,
            &format!("{size} connectors: a worker lost"),
            percentile(&lost, 50.0),
            "ms",
        )
        .vs(
            "set-based SQL: reads + re-point its tasks",
            percentile(&ref_lost, 50.0),
        )
        .note(format!(
            "median of {REPEAT}; tasks moved {} (its share: {expected})",
            list(&lost_moves)
        )),
    );
    rows.push(
        Row::new(
            SECTION,
            &format!("{size} connectors: a worker joins"),
            percentile(&joined, 50.0),
            "ms",
        )
        .vs(
            "set-based SQL: reads + re-point the moved tasks",
            percentile(&ref_join, 50.0),
        )
        .note(format!(
            "median of {REPEAT}; tasks moved {} (fair share about {})",
            list(&join_moves),
            fmt_num((n / workers) as f64)
        )),
    );
    rows.push(
        Row::new(
            SECTION,
            &format!("{size} connectors: assign::plan alone (worker joins)"),
            percentile(&plans, 50.0),
            "ms",
        )
        .vs("the whole pass", percentile(&joined, 50.0))
        .note("in memory, the planner's share of a pass"),
    );
    leadership.release().await;
    pool.close().await;
    Ok(rows)
}
