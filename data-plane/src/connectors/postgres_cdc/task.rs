//! The running CDC task: sets up the publication and the slot, takes the
//! snapshot, then streams the slot's changes as Debezium change events.
//!
//! Every step runs inside `poll`, which the runtime may drop at any await
//! (pause, stop): whatever was decoded but not yet returned waits in
//! `pending`, an event whose handling needs a query waits in
//! `pending_relation`, and the only other awaits are cancel-safe channel
//! receives or idempotent set-up steps that are simply done again.
//!
//! The slot is told a position is flushed (so Postgres may recycle the WAL
//! before it) only once the runtime reports the offsets of the records up to
//! it committable (Kafka acknowledged them and everything before), through
//! [`SourceTask::commit`]; while every produced record is committed and no
//! transaction is open, the server's keepalive position is confirmed too, so
//! an idle connector does not hold WAL back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig, ReplicationEvent, TlsConfig};
use serde_json::{json, Value};
use sqlx::postgres::PgConnection;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::catalog::{self, TableRef};
use super::envelope::{self, ColumnMeta, RowChange, SourceInfo, TableMeta, PG_EPOCH_OFFSET_US};
use super::offset::{self, Position, Stored};
use super::pgoutput::{self, Message, Relation};
use super::settings::{CdcSettings, SnapshotMode, SslMode};
use super::snapshot::{self, Item};
use super::value::SESSION_OPTIONS;
use crate::connectors::{Config, SourceRecord, SourceTask, TaskError};
use crate::protocol::SourceOffset;

/// How long the server may take to accept START_REPLICATION.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the replication client reports progress to the server.
const STATUS_INTERVAL: Duration = Duration::from_secs(1);

enum Phase {
    /// Publication, slot and snapshot decisions are next.
    Init,
    Snapshot {
        rx: mpsc::Receiver<Item>,
        /// The slot's consistent point (the snapshot's position).
        lsn: u64,
        /// Stream once the snapshot is read (else: `initial_only`, idle).
        then_stream: bool,
    },
    /// The replication stream must be (re)opened.
    Connect,
    Streaming(Box<ReplicationClient>),
    /// `initial_only` after its snapshot: nothing more to do.
    Idle,
}

/// The transaction being streamed.
struct Txn {
    final_lsn: u64,
    xid: u32,
    commit_us: i64,
    /// Changes seen so far (each insert, update, delete, truncate).
    changes: u64,
    /// Changes already produced before a restart or reconnect.
    skip: u64,
}

pub struct PostgresCdcTask {
    s: Arc<CdcSettings>,
    partition: Value,
    /// The offset the task started from.
    stored: Option<Stored>,
    phase: Phase,
    /// For catalog look-ups while streaming.
    meta_conn: Option<PgConnection>,
    /// Records built but not returned yet.
    pending: Vec<SourceRecord>,
    /// A Relation message waiting for its primary key look-up.
    pending_relation: Option<Relation>,
    /// Relations of this stream session: `None` for tables not captured.
    relations: HashMap<u32, Option<Arc<TableMeta>>>,
    txn: Option<Txn>,
    /// Everything up to here has been turned into records.
    resume: Position,
    /// Commit LSN of the last transaction streamed (`source.sequence`).
    last_commit_lsn: Option<u64>,
    /// Streamed transactions by commit LSN: (end LSN, number of changes).
    completed: BTreeMap<u64, (u64, u64)>,
    last_emitted: Option<Value>,
    last_committed: Option<Value>,
    /// The highest LSN the slot may be told is flushed.
    confirm_lsn: u64,
}

impl PostgresCdcTask {
    pub fn new(config: &Config, offsets: &[SourceOffset]) -> Result<PostgresCdcTask, TaskError> {
        let s = CdcSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid PostgresCdcSourceV2 config: {e}")))?;
        let partition = offset::partition(&s.topic_prefix);
        let stored_value = offsets
            .iter()
            .find(|o| o.partition == partition)
            .map(|o| o.offset.clone());
        let stored = stored_value.as_ref().and_then(offset::parse);
        if let Some(st) = &stored {
            tracing::info!(offset = ?st, "resuming from the stored offset");
        }
        Ok(PostgresCdcTask {
            s: Arc::new(s),
            partition,
            stored,
            phase: Phase::Init,
            meta_conn: None,
            pending: Vec::new(),
            pending_relation: None,
            relations: HashMap::new(),
            txn: None,
            resume: Position::default(),
            last_commit_lsn: None,
            completed: BTreeMap::new(),
            last_emitted: None,
            last_committed: stored_value,
            confirm_lsn: 0,
        })
    }

    /// The catalog connection, taken out while in use: one an error or a
    /// cancelled poll did not give back is opened again.
    async fn take_meta(&mut self) -> Result<PgConnection, TaskError> {
        match self.meta_conn.take() {
            Some(conn) => Ok(conn),
            None => catalog::connect(&self.s).await,
        }
    }

    async fn step(&mut self) -> Result<(), TaskError> {
        match self.phase {
            Phase::Init => {
                let mut conn = self.take_meta().await?;
                self.init(&mut conn).await?;
                self.meta_conn = Some(conn);
                Ok(())
            }
            Phase::Snapshot { .. } => self.snapshot_step().await,
            Phase::Connect => {
                let mut conn = self.take_meta().await?;
                self.connect_stream(&mut conn).await?;
                self.meta_conn = Some(conn);
                Ok(())
            }
            Phase::Streaming(_) => self.stream_step().await,
            Phase::Idle => {
                tokio::time::sleep(Duration::from_millis(self.s.poll_interval_ms)).await;
                Ok(())
            }
        }
    }

    async fn init(&mut self, conn: &mut PgConnection) -> Result<(), TaskError> {
        let s = Arc::clone(&self.s);
        let tables = catalog::captured_tables(conn, &s).await?;
        tracing::info!(tables = ?tables.iter().map(|t| format!("{}.{}", t.schema, t.table)).collect::<Vec<_>>(), "captured tables");

        if s.snapshot_mode == SnapshotMode::InitialOnly {
            if matches!(
                self.stored,
                Some(Stored::Snapshot { complete: true, .. }) | Some(Stored::Streaming(_))
            ) {
                tracing::info!(
                    "snapshot.mode=initial_only and the snapshot was taken: nothing to do"
                );
                self.phase = Phase::Idle;
                return Ok(());
            }
            let metas = table_metas(conn, &s, &tables).await?;
            let mut snap = catalog::connect(&s).await?;
            exec(&mut snap, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
            let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
                .fetch_one(&mut snap)
                .await
                .map_err(|e| catalog::sql_error("reading the WAL position", e))?;
            let lsn = Lsn::parse(&lsn).map(Lsn::as_u64).unwrap_or(0);
            self.phase = Phase::Snapshot {
                rx: snapshot::spawn(snap, metas, s.max_batch_size),
                lsn,
                then_stream: false,
            };
            return Ok(());
        }

        catalog::ensure_publication(conn, &s, &tables).await?;
        let slot = catalog::slot(conn, &s.slot).await?;
        if let Some(info) = &slot {
            if info.plugin.as_deref() != Some("pgoutput")
                || info.database.as_deref() != Some(s.database.as_str())
            {
                return Err(TaskError::Fatal(format!(
                    "replication slot {} exists for plugin {:?} on database {:?}, not pgoutput on {}; choose another slot.name",
                    s.slot, info.plugin, info.database, s.database
                )));
            }
        }
        let snapshot_needed = match (self.stored, s.snapshot_mode) {
            (_, SnapshotMode::Never) => false,
            (
                None
                | Some(Stored::Snapshot {
                    complete: false, ..
                }),
                _,
            ) => true,
            (Some(_), SnapshotMode::WhenNeeded) => slot.is_none(),
            (Some(_), _) => false,
        };

        if snapshot_needed {
            if let Some(info) = &slot {
                if let Some(pid) = info.active_pid {
                    return Err(TaskError::Retriable(format!(
                        "replication slot {} is in use by process {pid} (a previous task still stopping?)",
                        s.slot
                    )));
                }
                tracing::warn!(slot = %s.slot, "dropping the replication slot to take a new snapshot");
                catalog::drop_slot(conn, &s.slot).await?;
            }
            let metas = table_metas(conn, &s, &tables).await?;
            let (gated, cp, name) = create_slot(&s, true).await?;
            let mut snap = catalog::connect(&s).await?;
            exec(&mut snap, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
            exec(&mut snap, &format!("SET TRANSACTION SNAPSHOT '{name}'")).await?;
            // The importing transaction holds the snapshot now.
            drop(gated);
            tracing::info!(slot = %s.slot, lsn = %Lsn(cp), tables = metas.len(), "snapshot started");
            // The old position (if any) is void: a failed snapshot starts over.
            self.stored = None;
            self.resume = Position {
                commit_lsn: cp,
                events: 0,
            };
            self.phase = Phase::Snapshot {
                rx: snapshot::spawn(snap, metas, s.max_batch_size),
                lsn: cp,
                then_stream: true,
            };
            return Ok(());
        }

        self.resume = match (&slot, self.stored) {
            (None, Some(stored)) => {
                return Err(TaskError::Fatal(format!(
                    "replication slot {} is missing: the changes after the stored offset ({stored:?}) can no longer be streamed. Use snapshot.mode=when_needed to take a new snapshot, or reset the connector's offsets",
                    s.slot
                )))
            }
            (None, None) => {
                let (gated, cp, _) = create_slot(&s, false).await?;
                drop(gated);
                tracing::info!(slot = %s.slot, lsn = %Lsn(cp), "replication slot created");
                Position { commit_lsn: cp, events: 0 }
            }
            (Some(info), None) => Position {
                commit_lsn: info.confirmed_flush.unwrap_or(0),
                events: 0,
            },
            (Some(_), Some(Stored::Snapshot { lsn, .. })) => Position { commit_lsn: lsn, events: 0 },
            (Some(_), Some(Stored::Streaming(p))) => p,
        };
        self.phase = Phase::Connect;
        Ok(())
    }

    async fn snapshot_step(&mut self) -> Result<(), TaskError> {
        let wait = Duration::from_millis(self.s.poll_interval_ms);
        let Phase::Snapshot {
            rx,
            lsn,
            then_stream,
        } = &mut self.phase
        else {
            return Ok(());
        };
        let (lsn, then_stream) = (*lsn, *then_stream);
        let item = match tokio::time::timeout(wait, rx.recv()).await {
            Err(_) => return Ok(()),
            Ok(item) => item,
        };
        match item {
            Some(Item::Rows { meta, rows, last }) => {
                let now = now_us();
                let n = rows.len();
                for (i, row) in rows.into_iter().enumerate() {
                    let is_last = last && i + 1 == n;
                    let source = SourceInfo {
                        ts_us: now,
                        snapshot: if is_last { "last" } else { "true" },
                        lsn: Some(lsn),
                        tx_id: None,
                        sequence: None,
                    };
                    let offset = offset::snapshot(lsn, is_last, now);
                    for kv in envelope::records(&self.s, &meta, &source, &RowChange::Read(row), now)
                    {
                        self.push(&meta, kv, offset.clone());
                    }
                }
                Ok(())
            }
            Some(Item::Done) => {
                tracing::info!("snapshot completed");
                self.phase = if then_stream {
                    Phase::Connect
                } else {
                    Phase::Idle
                };
                Ok(())
            }
            Some(Item::Failed(e)) => {
                self.phase = Phase::Init;
                Err(e)
            }
            None => {
                self.phase = Phase::Init;
                Err(TaskError::Retriable("the snapshot reader stopped".into()))
            }
        }
    }

    async fn connect_stream(&mut self, conn: &mut PgConnection) -> Result<(), TaskError> {
        let s = Arc::clone(&self.s);
        let Some(info) = catalog::slot(conn, &s.slot).await? else {
            return Err(TaskError::Fatal(format!(
                "replication slot {} was dropped while the connector ran",
                s.slot
            )));
        };
        if let Some(pid) = info.active_pid {
            return Err(TaskError::Retriable(format!(
                "replication slot {} is in use by process {pid} (a previous task still stopping?)",
                s.slot
            )));
        }
        // Never report less than the slot has confirmed: before Postgres 17
        // that would move its confirmed position backwards.
        let ack = info.confirmed_flush.unwrap_or(0).max(self.confirm_lsn);
        let start = self.resume.commit_lsn.max(ack);
        let cfg = replication_config(&s)
            .with_start_lsn(Lsn(start))
            .with_ack_lsn(Lsn(ack))
            .with_buffer_size(s.max_batch_size.max(256));
        let mut client = ReplicationClient::connect(cfg)
            .await
            .map_err(|e| replication_error("starting replication", e))?;
        match tokio::time::timeout(START_TIMEOUT, client.wait_started()).await {
            Err(_) => return Err(TaskError::Retriable("START_REPLICATION timed out".into())),
            Ok(r) => r.map_err(|e| replication_error("starting replication", e))?,
        }
        tracing::info!(slot = %s.slot, start = %Lsn(start), confirmed = %Lsn(ack), "streaming changes");
        self.confirm_lsn = ack;
        self.relations.clear();
        self.pending_relation = None;
        self.txn = None;
        self.phase = Phase::Streaming(Box::new(client));
        Ok(())
    }

    async fn stream_step(&mut self) -> Result<(), TaskError> {
        let deadline = Instant::now() + Duration::from_millis(self.s.poll_interval_ms);
        loop {
            if let Some(rel) = self.pending_relation.take() {
                self.pending_relation = Some(rel.clone());
                self.relation(rel).await?;
                self.pending_relation = None;
            }
            if self.pending.len() >= self.s.max_batch_size {
                return Ok(());
            }
            let Phase::Streaming(client) = &mut self.phase else {
                return Ok(());
            };
            // Once there is something to return, return it rather than wait.
            let until = if self.pending.is_empty() {
                deadline
            } else {
                Instant::now()
            };
            let event = match tokio::time::timeout_at(until, client.recv()).await {
                Err(_) => return Ok(()),
                Ok(Ok(Some(ev))) => ev,
                Ok(result) => {
                    self.phase = Phase::Connect;
                    let error = match result {
                        Err(e) => replication_error("replication stream", e),
                        _ => TaskError::Retriable("the replication stream ended".into()),
                    };
                    if self.pending.is_empty() {
                        return Err(error);
                    }
                    tracing::warn!(%error, "replication stream lost; reconnecting after this batch");
                    return Ok(());
                }
            };
            self.event(event)?;
        }
    }

    /// Handles one replication event without awaiting anything.
    fn event(&mut self, event: ReplicationEvent) -> Result<(), TaskError> {
        match event {
            ReplicationEvent::Begin {
                final_lsn,
                xid,
                commit_time_micros,
            } => {
                let l = final_lsn.as_u64();
                let skip = match l.cmp(&self.resume.commit_lsn) {
                    std::cmp::Ordering::Less => u64::MAX,
                    std::cmp::Ordering::Equal => self.resume.events,
                    std::cmp::Ordering::Greater => 0,
                };
                self.txn = Some(Txn {
                    final_lsn: l,
                    xid,
                    commit_us: commit_time_micros.saturating_add(PG_EPOCH_OFFSET_US),
                    changes: 0,
                    skip,
                });
            }
            ReplicationEvent::Commit { end_lsn, .. } => {
                if let Some(t) = self.txn.take() {
                    if t.final_lsn >= self.resume.commit_lsn {
                        self.resume = Position {
                            commit_lsn: t.final_lsn,
                            events: t.changes,
                        };
                    }
                    self.completed
                        .insert(t.final_lsn, (end_lsn.as_u64(), t.changes));
                    self.last_commit_lsn = Some(t.final_lsn);
                    if self.caught_up() {
                        self.confirm(end_lsn.as_u64());
                    }
                }
            }
            ReplicationEvent::XLogData {
                wal_start, data, ..
            } => {
                let message =
                    pgoutput::decode(&data).map_err(|e| TaskError::Fatal(e.to_string()))?;
                self.message(message, wal_start.as_u64())?;
            }
            ReplicationEvent::KeepAlive { wal_end, .. }
                if self.txn.is_none() && self.caught_up() =>
            {
                self.confirm(wal_end.as_u64());
            }
            _ => {}
        }
        Ok(())
    }

    fn message(&mut self, message: Message, lsn: u64) -> Result<(), TaskError> {
        let (relation, change) = match message {
            Message::Relation(rel) => {
                if let Some(meta) = self.relation_from_flags(&rel) {
                    self.relations.insert(rel.oid, meta);
                } else {
                    // Needs the catalog: done (and awaited) by `stream_step`.
                    self.pending_relation = Some(rel);
                }
                return Ok(());
            }
            Message::Insert { relation, new } => (relation, RowChange::Insert(new)),
            Message::Update {
                relation,
                old,
                old_is_key,
                new,
            } => (
                relation,
                RowChange::Update {
                    old,
                    old_is_key,
                    new,
                },
            ),
            Message::Delete { relation, old, .. } => (relation, RowChange::Delete(old)),
            Message::Truncate { .. } => {
                // Debezium skips truncates by default (skipped.operations=t).
                if let Some(t) = self.txn.as_mut() {
                    t.changes += 1;
                }
                return Ok(());
            }
            Message::Other(_) => return Ok(()),
        };
        let Some(t) = self.txn.as_mut() else {
            return Err(TaskError::Fatal(
                "pgoutput: a change outside a transaction".into(),
            ));
        };
        t.changes += 1;
        let k = t.changes;
        if k <= t.skip {
            return Ok(());
        }
        let (final_lsn, xid, commit_us) = (t.final_lsn, t.xid, t.commit_us);
        self.resume = Position {
            commit_lsn: final_lsn,
            events: k,
        };
        let meta = match self.relations.get(&relation) {
            Some(Some(meta)) => Arc::clone(meta),
            Some(None) => return Ok(()), // a table we do not capture
            None => {
                return Err(TaskError::Fatal(format!(
                    "pgoutput: a change for relation {relation} before its Relation message"
                )))
            }
        };
        let source = SourceInfo {
            ts_us: commit_us,
            snapshot: "false",
            lsn: Some(lsn),
            tx_id: Some(xid),
            sequence: Some(
                json!([self.last_commit_lsn.map(|l| l.to_string()), lsn.to_string()]).to_string(),
            ),
        };
        let kvs = envelope::records(&self.s, &meta, &source, &change, now_us());
        let n = kvs.len();
        for (i, kv) in kvs.into_iter().enumerate() {
            // A change that becomes several records counts as done only
            // with its last one: a restart after the first repeats it whole.
            let events = if i + 1 == n { k } else { k - 1 };
            let position = Position {
                commit_lsn: final_lsn,
                events,
            };
            self.push(&meta, kv, offset::streaming(position, lsn, xid, commit_us));
        }
        Ok(())
    }

    /// The table of a Relation message when its replica identity columns
    /// are its primary key (REPLICA IDENTITY DEFAULT); `None` when the
    /// catalog must say what the key is.
    fn relation_from_flags(&self, rel: &Relation) -> Option<Option<Arc<TableMeta>>> {
        if !self.s.tables.captures(&rel.schema, &rel.table) {
            return Some(None);
        }
        if rel.replica_identity != b'd' {
            return None;
        }
        let key: Vec<String> = rel
            .columns
            .iter()
            .filter(|c| c.identity)
            .map(|c| c.name.clone())
            .collect();
        Some(Some(Arc::new(self.table_meta(rel, &key))))
    }

    /// Completes a Relation message with the table's primary key.
    async fn relation(&mut self, rel: Relation) -> Result<(), TaskError> {
        let mut conn = self.take_meta().await?;
        let key = catalog::primary_key(&mut conn, rel.oid).await?;
        self.meta_conn = Some(conn);
        let meta = self.table_meta(&rel, &key);
        self.relations.insert(rel.oid, Some(Arc::new(meta)));
        Ok(())
    }

    fn table_meta(&self, rel: &Relation, key: &[String]) -> TableMeta {
        let columns: Vec<ColumnMeta> = rel
            .columns
            .iter()
            .map(|c| ColumnMeta {
                name: c.name.clone(),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
            })
            .collect();
        let key = catalog::key_indexes(&columns, key);
        TableMeta::new(&self.s, &rel.schema, &rel.table, columns, key)
    }

    fn push(&mut self, meta: &TableMeta, kv: envelope::KeyValue, offset: Value) {
        self.last_emitted = Some(offset.clone());
        let (key_schema, value_schema) = meta.schemas(&kv);
        self.pending.push(
            SourceRecord::new(
                meta.topic.clone(),
                kv.key,
                kv.value,
                self.partition.clone(),
                offset,
            )
            .with_key_schema(key_schema)
            .with_value_schema(value_schema),
        );
    }

    /// Every record produced so far is committed.
    fn caught_up(&self) -> bool {
        self.pending.is_empty()
            && match &self.last_emitted {
                None => true,
                Some(e) => self.last_committed.as_ref() == Some(e),
            }
    }

    fn confirm(&mut self, lsn: u64) {
        if lsn <= self.confirm_lsn {
            return;
        }
        self.confirm_lsn = lsn;
        if let Phase::Streaming(client) = &self.phase {
            client.update_applied_lsn(Lsn(lsn));
        }
    }
}

#[async_trait]
impl SourceTask for PostgresCdcTask {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        if self.pending.is_empty() {
            self.step().await?;
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// Topics are per table and tables come and go: the runtime creates
    /// each topic when its first record comes.
    fn topics(&self) -> Vec<String> {
        Vec::new()
    }

    fn commit(&mut self, offsets: &[SourceOffset]) {
        let Some(o) = offsets.iter().find(|o| o.partition == self.partition) else {
            return;
        };
        self.last_committed = Some(o.offset.clone());
        let Some(Stored::Streaming(p)) = offset::parse(&o.offset) else {
            return;
        };
        // A whole transaction done: the slot may move past its commit.
        // Part of one: to its commit LSN, so that it is sent again.
        let lsn = match self.completed.get(&p.commit_lsn) {
            Some(&(end, total)) if p.events >= total => end,
            _ => p.commit_lsn,
        };
        self.completed.retain(|&l, _| l >= p.commit_lsn);
        self.confirm(lsn);
    }
}

/// Columns and keys of the tables to snapshot.
async fn table_metas(
    conn: &mut PgConnection,
    s: &CdcSettings,
    tables: &[TableRef],
) -> Result<Vec<Arc<TableMeta>>, TaskError> {
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        out.push(Arc::new(catalog::table_meta(conn, s, t).await?));
    }
    Ok(out)
}

async fn exec(conn: &mut PgConnection, sql: &str) -> Result<(), TaskError> {
    catalog::simple(conn, sql)
        .await
        .map_err(|e| catalog::sql_error("starting the snapshot", e))
}

fn replication_config(s: &CdcSettings) -> ReplicationConfig {
    let tls = match s.ssl_mode {
        SslMode::Disable => TlsConfig::disabled(),
        SslMode::Prefer => TlsConfig {
            mode: pgwire_replication::SslMode::Prefer,
            ..TlsConfig::default()
        },
        SslMode::Require => TlsConfig::require(),
        SslMode::VerifyCa => TlsConfig::verify_ca(None),
        SslMode::VerifyFull => TlsConfig::verify_full(None),
    };
    let options = SESSION_OPTIONS
        .iter()
        .map(|(k, v)| format!("-c {k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    ReplicationConfig::new(
        s.host.clone(),
        s.user.clone(),
        s.password.expose().to_string(),
        s.database.clone(),
        s.slot.clone(),
        s.publication.clone(),
    )
    .with_port(s.port)
    .with_tls(tls)
    .with_options(options)
    .with_application_name("tributary-cdc")
    .with_status_interval(STATUS_INTERVAL)
}

/// Creates the slot on a replication session. With `export`, the session
/// exports the slot's snapshot, valid while the returned client lives.
/// Returns the session, the consistent point and the snapshot name.
async fn create_slot(
    s: &CdcSettings,
    export: bool,
) -> Result<(ReplicationClient, u64, String), TaskError> {
    let mut client = ReplicationClient::connect_gated(replication_config(s))
        .await
        .map_err(|e| replication_error("opening a replication session", e))?;
    let sql = format!(
        "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput {}",
        s.slot,
        if export {
            "EXPORT_SNAPSHOT"
        } else {
            "NOEXPORT_SNAPSHOT"
        }
    );
    let rows = tokio::time::timeout(START_TIMEOUT * 4, client.simple_query(&sql))
        .await
        .map_err(|_| {
            TaskError::Retriable(format!(
                "creating replication slot {} timed out (a long-running transaction?)",
                s.slot
            ))
        })?
        .map_err(|e| replication_error(&format!("creating replication slot {}", s.slot), e))?;
    let text = |i: usize| {
        rows.first()
            .and_then(|r| r.get(i))
            .and_then(|v| v.as_ref())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let cp = text(1).and_then(|l| Lsn::parse(&l).ok()).ok_or_else(|| {
        TaskError::Retriable("CREATE_REPLICATION_SLOT returned no consistent point".into())
    })?;
    let snapshot_name = text(2).unwrap_or_default();
    if export
        && (snapshot_name.is_empty()
            || !snapshot_name
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '-'))
    {
        return Err(TaskError::Retriable(format!(
            "CREATE_REPLICATION_SLOT returned an unexpected snapshot name {snapshot_name:?}"
        )));
    }
    Ok((client, cp.as_u64(), snapshot_name))
}

fn replication_error(what: &str, e: pgwire_replication::PgWireError) -> TaskError {
    let msg = format!("{what}: {e}");
    if e.is_auth() || e.is_tls() || e.is_message_too_large() {
        TaskError::Fatal(msg)
    } else {
        TaskError::Retriable(msg)
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::postgres_cdc::pgoutput::{encode, Column, Datum};

    const REL: u32 = 16384;

    fn config() -> Config {
        [
            ("connector.class", "PostgresCdcSourceV2"),
            ("name", "cdc"),
            ("database.hostname", "db"),
            ("database.user", "u"),
            ("database.dbname", "shop"),
            ("topic.prefix", "shop"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn task(offsets: &[SourceOffset]) -> PostgresCdcTask {
        PostgresCdcTask::new(&config(), offsets).unwrap()
    }

    fn relation() -> Relation {
        Relation {
            oid: REL,
            schema: "public".into(),
            table: "orders".into(),
            replica_identity: b'd',
            columns: vec![
                Column {
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1,
                    identity: true,
                },
                Column {
                    name: "qty".into(),
                    type_oid: 23,
                    type_modifier: -1,
                    identity: false,
                },
            ],
        }
    }

    fn row(id: i32, qty: i32) -> Vec<Datum> {
        vec![Datum::Text(id.to_string()), Datum::Text(qty.to_string())]
    }

    fn xlog(lsn: u64, data: Vec<u8>) -> ReplicationEvent {
        ReplicationEvent::XLogData {
            wal_start: Lsn(lsn),
            wal_end: Lsn(0),
            server_time_micros: 0,
            data: data.into(),
        }
    }

    fn begin(lsn: u64, xid: u32) -> ReplicationEvent {
        ReplicationEvent::Begin {
            final_lsn: Lsn(lsn),
            xid,
            commit_time_micros: 1_000_000,
        }
    }

    fn commit(lsn: u64, end: u64) -> ReplicationEvent {
        ReplicationEvent::Commit {
            lsn: Lsn(lsn),
            end_lsn: Lsn(end),
            commit_time_micros: 1_000_000,
        }
    }

    /// One transaction at commit LSN 1000: insert 1, update 1, delete 1.
    fn transaction() -> Vec<ReplicationEvent> {
        vec![
            begin(1000, 77),
            xlog(900, encode::relation(&relation())),
            xlog(910, encode::insert(REL, &row(1, 5))),
            xlog(920, encode::update(REL, None, &row(1, 6))),
            xlog(
                930,
                encode::delete(REL, b'K', &[Datum::Text("1".into()), Datum::Null]),
            ),
            commit(1000, 1010),
        ]
    }

    fn feed(t: &mut PostgresCdcTask, events: Vec<ReplicationEvent>) -> Vec<SourceRecord> {
        for e in events {
            t.event(e).unwrap();
        }
        std::mem::take(&mut t.pending)
    }

    fn ops(records: &[SourceRecord]) -> Vec<(Option<Value>, Option<String>, u64)> {
        records
            .iter()
            .map(|r| {
                (
                    r.key.clone(),
                    r.value
                        .as_ref()
                        .map(|v| v["op"].as_str().unwrap().to_string()),
                    r.source_offset["event"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_transaction_becomes_change_events_with_positions() {
        let mut t = task(&[]);
        let records = feed(&mut t, transaction());
        let k = Some(json!({"id": 1}));
        assert_eq!(
            ops(&records),
            vec![
                (k.clone(), Some("c".into()), 1),
                (k.clone(), Some("u".into()), 2),
                (k.clone(), Some("d".into()), 2),
                (k, None, 3),
            ]
        );
        let first = &records[0];
        assert_eq!(first.topic, "shop.public.orders");
        assert_eq!(first.source_partition, json!({"server": "shop"}));
        assert_eq!(first.source_offset["lsn_commit"], 1000);
        assert_eq!(first.source_offset["lsn"], 910);
        assert_eq!(first.source_offset["txId"], 77);
        let v = first.value.as_ref().unwrap();
        assert_eq!(v["after"], json!({"id": 1, "qty": 5}));
        assert_eq!(v["source"]["lsn"], 910);
        assert_eq!(v["source"]["txId"], 77);
        // Commit time: 1 s after Postgres's epoch.
        assert_eq!(v["source"]["ts_ms"], 946_684_801_000_i64);
        assert_eq!(
            records[2].value.as_ref().unwrap()["before"],
            json!({"id": 1, "qty": null})
        );
    }

    #[test]
    fn a_restart_skips_what_the_stored_offset_covers() {
        let mut first = task(&[]);
        let records = feed(&mut first, transaction());
        // Kafka acknowledged up to the update (event 2) before a crash.
        let stored = SourceOffset {
            partition: json!({"server": "shop"}),
            offset: records[1].source_offset.clone(),
        };
        let mut second = task(&[stored]);
        second.resume = match second.stored {
            Some(Stored::Streaming(p)) => p,
            other => panic!("{other:?}"),
        };
        let replayed = feed(&mut second, transaction());
        assert_eq!(
            ops(&replayed),
            vec![
                (Some(json!({"id": 1})), Some("d".into()), 2),
                (Some(json!({"id": 1})), None, 3),
            ],
            "the delete and its tombstone, nothing before"
        );
        // An earlier transaction is skipped whole; a later one is not.
        let mut earlier = transaction();
        earlier[0] = begin(500, 70);
        assert!(feed(&mut second, earlier).is_empty());
    }

    #[test]
    fn the_slot_is_confirmed_only_up_to_committed_offsets() {
        let mut t = task(&[]);
        let records = feed(&mut t, transaction());
        assert_eq!(t.confirm_lsn, 0, "nothing committed yet");
        // Not while records are outstanding, even when the server asks.
        t.event(ReplicationEvent::KeepAlive {
            wal_end: Lsn(5000),
            reply_requested: true,
            server_time_micros: 0,
        })
        .unwrap();
        assert_eq!(t.confirm_lsn, 0);

        let offset = |r: &SourceRecord| SourceOffset {
            partition: r.source_partition.clone(),
            offset: r.source_offset.clone(),
        };
        // Part of the transaction: the slot keeps it (its commit LSN).
        t.commit(&[offset(&records[1])]);
        assert_eq!(t.confirm_lsn, 1000);
        // All of it: past its end.
        t.commit(&[offset(&records[3])]);
        assert_eq!(t.confirm_lsn, 1010);
        // Caught up and between transactions: the keepalive position.
        t.event(ReplicationEvent::KeepAlive {
            wal_end: Lsn(5000),
            reply_requested: false,
            server_time_micros: 0,
        })
        .unwrap();
        assert_eq!(t.confirm_lsn, 5000);
        // A transaction of tables we do not capture confirms at once.
        let mut other = relation();
        other.table = "audit".into();
        let mut c = config();
        c.insert("table.include.list".into(), "public\\.orders".into());
        let mut filtered = PostgresCdcTask::new(&c, &[]).unwrap();
        let out = feed(
            &mut filtered,
            vec![
                begin(6000, 80),
                xlog(5900, encode::relation(&other)),
                xlog(5910, encode::insert(REL, &row(9, 9))),
                commit(6000, 6010),
            ],
        );
        assert!(out.is_empty());
        assert_eq!(filtered.confirm_lsn, 6010);
    }

    #[test]
    fn a_table_with_full_replica_identity_waits_for_its_key() {
        let mut t = task(&[]);
        let mut rel = relation();
        rel.replica_identity = b'f';
        t.event(begin(1000, 1)).unwrap();
        t.event(xlog(900, encode::relation(&rel))).unwrap();
        assert_eq!(t.pending_relation.as_ref().map(|r| r.oid), Some(REL));
        assert!(!t.relations.contains_key(&REL));
    }
}
