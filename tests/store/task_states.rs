//! The store keeps the task lifecycle: every write of a task's state goes
//! through `store::tasks`, which lets Postgres refuse what the lifecycle
//! table does not list, and the schema refuses states no enum knows. Runs
//! against a real Postgres, a database of its own per test.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tributary_control_plane::lifecycle::{OffsetRequestPhase, TaskState};
use tributary_control_plane::store::connectors::{self, Connector, NewConnector, Task};
use tributary_control_plane::store::tenancy::{self, NewCluster};
use tributary_control_plane::store::{self, offsets, tasks, workers};
use tributary_data_plane::protocol::{TaskId, TaskReport};
use tributary_tests::TestDatabase;

const WORKER: &str = "w-store-test";

/// A database with one connector whose single task is placed on [`WORKER`].
struct Fixture {
    db: TestDatabase,
    pool: PgPool,
    connector: Connector,
}

impl Fixture {
    async fn new() -> anyhow::Result<Fixture> {
        let db = TestDatabase::create().await?;
        let pool = store::connect(&db.url).await?;
        store::migrate(&pool).await?;
        let mut tx = pool.begin().await?;
        let org = tenancy::create_organization(&mut tx, "store test").await?;
        tx.commit().await?;
        let env = tenancy::create_environment(&pool, &org.id, "env").await?;
        let cluster = tenancy::create_cluster(
            &pool,
            NewCluster {
                org_id: &org.id,
                environment_id: &env.id,
                display_name: "cluster",
                bootstrap_endpoint: "127.0.0.1:9092",
                client_properties: &BTreeMap::new(),
                secret_properties: None,
            },
        )
        .await?;
        let config = BTreeMap::from([("topics".to_string(), "t".to_string())]);
        let mut tx = pool.begin().await?;
        let connector = connectors::create(
            &mut tx,
            NewConnector {
                org_id: &org.id,
                environment_id: &env.id,
                cluster_id: &cluster.id,
                name: "c",
                class: "DatagenSource",
                connector_type: "source",
                config: &config,
            },
        )
        .await?;
        tasks::replace(&mut tx, &connector.id, connector.generation, &[config]).await?;
        tx.commit().await?;
        workers::register(&pool, WORKER, 8, "test", None, Duration::from_secs(60)).await?;
        let mut tx = pool.begin().await?;
        tasks::assign(&mut tx, &connector.id, 0, Some(WORKER)).await?;
        tx.commit().await?;
        Ok(Fixture {
            db,
            pool,
            connector,
        })
    }

    async fn task(&self) -> anyhow::Result<Task> {
        connectors::tasks_of(&self.pool, std::slice::from_ref(&self.connector.id))
            .await?
            .pop()
            .context("the connector's task")
    }

    /// A heartbeat of [`WORKER`] reporting task 0 under `epoch`.
    async fn report(&self, epoch: i64, state: TaskState, trace: &str) -> anyhow::Result<()> {
        let report = TaskReport {
            id: TaskId {
                connector_id: self.connector.id.clone(),
                task: 0,
            },
            epoch,
            state,
            trace: Some(trace.to_string()),
            records: 0,
            offsets: vec![],
            topics: vec![],
        };
        workers::heartbeat(&self.pool, WORKER, &[report], Duration::from_secs(60))
            .await?
            .context("the worker's lease")?;
        Ok(())
    }

    async fn drop(self) -> anyhow::Result<()> {
        self.pool.close().await;
        self.db.drop_database().await
    }
}

#[tokio::test]
async fn reports_move_a_task_only_as_the_lifecycle_allows() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let placed = f.task().await?;
    assert_eq!(placed.state, TaskState::Unassigned);
    assert_eq!(placed.worker_id.as_deref(), Some(WORKER));
    let epoch = placed.epoch;

    f.report(epoch, TaskState::Running, "").await?;
    assert_eq!(f.task().await?.state, TaskState::Running);

    // Only the control plane restarts tasks: a worker claiming it changes nothing.
    f.report(epoch, TaskState::Restarting, "claimed").await?;
    let t = f.task().await?;
    assert_eq!(t.state, TaskState::Running);
    assert_eq!(t.trace, "", "a refused report leaves the whole row alone");

    f.report(epoch, TaskState::Failed, "boom").await?;
    let t = f.task().await?;
    assert_eq!((t.state, t.trace.as_str()), (TaskState::Failed, "boom"));

    // A user's restart: a new epoch, RESTARTING on the same worker.
    let mut tx = f.pool.begin().await?;
    let restarted = tasks::restart(&mut tx, &f.connector.id, None, true).await?;
    tx.commit().await?;
    assert_eq!(restarted, vec![0]);
    let t = f.task().await?;
    assert_eq!((t.state, t.trace.as_str()), (TaskState::Restarting, ""));
    assert!(t.epoch > epoch);

    // The failed incarnation's late report is fenced by its epoch.
    f.report(epoch, TaskState::Failed, "late").await?;
    assert_eq!(f.task().await?.state, TaskState::Restarting);
    // The new incarnation's is taken.
    f.report(t.epoch, TaskState::Running, "").await?;
    assert_eq!(f.task().await?.state, TaskState::Running);

    // A restart of failed tasks only leaves a running one alone.
    let mut tx = f.pool.begin().await?;
    assert!(tasks::restart(&mut tx, &f.connector.id, None, true)
        .await?
        .is_empty());
    tx.commit().await?;
    f.drop().await
}

#[tokio::test]
async fn a_failed_task_restarted_in_place_by_its_worker_runs_again() -> anyhow::Result<()> {
    // Workers restart a task under the same epoch when its cluster's
    // connection changes (fixed credentials, say): its reports count.
    let f = Fixture::new().await?;
    let epoch = f.task().await?.epoch;
    f.report(epoch, TaskState::Failed, "authentication failed")
        .await?;
    assert_eq!(f.task().await?.state, TaskState::Failed);
    f.report(epoch, TaskState::Running, "").await?;
    let t = f.task().await?;
    assert_eq!((t.state, t.trace.as_str()), (TaskState::Running, ""));
    f.drop().await
}

#[tokio::test]
async fn the_schema_refuses_states_the_lifecycle_does_not_know() -> anyhow::Result<()> {
    let f = Fixture::new().await?;
    let bogus_task = sqlx::query("UPDATE tasks SET state = 'SLEEPING' WHERE connector_id = $1")
        .bind(&f.connector.id)
        .execute(&f.pool)
        .await;
    assert_check_violation(bogus_task, "tasks_state_check");

    let mut tx = f.pool.begin().await?;
    let request = offsets::put_request(&mut tx, &f.connector.id, "DELETE", &[])
        .await?
        .context("a new offset request")?;
    tx.commit().await?;
    assert_eq!(request.phase, OffsetRequestPhase::Pending);
    let bogus_phase =
        sqlx::query("UPDATE offset_requests SET phase = 'DONE' WHERE connector_id = $1")
            .bind(&f.connector.id)
            .execute(&f.pool)
            .await;
    assert_check_violation(bogus_phase, "offset_requests_phase_check");

    let bogus_target = sqlx::query("UPDATE connectors SET target_state = 'SLEEPING' WHERE id = $1")
        .bind(&f.connector.id)
        .execute(&f.pool)
        .await;
    assert!(bogus_target.is_err(), "target states are checked too");
    f.drop().await
}

fn assert_check_violation<T: std::fmt::Debug>(res: Result<T, sqlx::Error>, constraint: &str) {
    match res {
        Err(sqlx::Error::Database(e)) => {
            assert_eq!(e.code().as_deref(), Some("23514"), "{e}");
            assert_eq!(e.constraint(), Some(constraint), "{e}");
        }
        other => panic!("expected a violation of {constraint}, got {other:?}"),
    }
}
