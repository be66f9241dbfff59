//! The running CDC task: checks the binlog settings, takes the snapshot,
//! then streams the binlog's row changes as Debezium change events.
//!
//! Every step runs inside `poll`, which the runtime may drop at any await
//! (pause, stop): snapshot and binlog are read by background tasks behind
//! channels (cancel-safe receives), and whatever was built but not yet
//! returned waits in `pending`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::binlog;
use super::catalog;
use super::envelope::{self, RowChange, SourceInfo};
use super::offset::{self, BinlogPos, Position, Stored};
use super::settings::{MySqlCdcSettings, SnapshotMode};
use super::snapshot;
use crate::connectors::debezium::KeyValue;
use crate::connectors::{Config, SourceRecord, SourceTask, TaskError};
use crate::protocol::SourceOffset;
use crate::schema::{Field, Schema};

enum Phase {
    Init,
    Snapshot {
        rx: mpsc::Receiver<snapshot::Item>,
        /// Known once the snapshot's transaction started.
        at: Option<(BinlogPos, Option<String>)>,
        then_stream: bool,
    },
    Streaming(mpsc::Receiver<binlog::Item>),
    /// `initial_only` after its snapshot.
    Idle,
}

/// The transaction being streamed.
struct Txn {
    at: BinlogPos,
    gtid: Option<String>,
    /// Row changes seen so far.
    changes: u64,
    /// Row changes already produced before a restart.
    skip: u64,
}

pub struct MySqlCdcTask {
    s: Arc<MySqlCdcSettings>,
    partition: Value,
    stored: Option<Stored>,
    phase: Phase,
    pending: Vec<SourceRecord>,
    /// Where streaming (re)starts: everything before is done.
    resume: Position,
    txn: Option<Txn>,
    last_heartbeat: Instant,
}

impl MySqlCdcTask {
    pub fn new(config: &Config, offsets: &[SourceOffset]) -> Result<MySqlCdcTask, TaskError> {
        let s = MySqlCdcSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid MySqlCdcSourceV2 config: {e}")))?;
        let partition = offset::partition(&s.topic_prefix);
        let stored = offsets
            .iter()
            .find(|o| o.partition == partition)
            .and_then(|o| offset::parse(&o.offset));
        if let Some(st) = &stored {
            tracing::info!(offset = ?st, "resuming from the stored offset");
        }
        Ok(MySqlCdcTask {
            s: Arc::new(s),
            partition,
            stored,
            phase: Phase::Init,
            pending: Vec::new(),
            resume: Position::default(),
            txn: None,
            last_heartbeat: Instant::now(),
        })
    }

    async fn step(&mut self) -> Result<(), TaskError> {
        match self.phase {
            Phase::Init => self.init().await,
            Phase::Snapshot { .. } => self.snapshot_step().await,
            Phase::Streaming(_) => self.stream_step().await,
            Phase::Idle => {
                tokio::time::sleep(Duration::from_millis(self.s.poll_interval_ms)).await;
                Ok(())
            }
        }
    }

    async fn init(&mut self) -> Result<(), TaskError> {
        let s = Arc::clone(&self.s);
        let mut conn = catalog::connect(&s).await?;
        let checked = catalog::check_binlog(&mut conn).await;
        let files = match checked {
            Ok(()) => catalog::binlog_files(&mut conn).await,
            Err(e) => Err(e),
        };
        let current = match &files {
            Ok(_) => catalog::binlog_position(&mut conn).await.map(|(p, _)| p),
            Err(_) => Ok(BinlogPos::default()),
        };
        let _ = conn.disconnect().await;
        let (files, current) = (files?, current?);

        let snapshot = |then_stream| Phase::Snapshot {
            rx: snapshot::spawn(Arc::clone(&s)),
            at: None,
            then_stream,
        };
        match (self.stored.clone(), s.snapshot_mode) {
            (
                Some(Stored::Snapshot { complete: true, .. }) | Some(Stored::Streaming(_)),
                SnapshotMode::InitialOnly,
            ) => {
                tracing::info!(
                    "snapshot.mode=initial_only and the snapshot was taken: nothing to do"
                );
                self.phase = Phase::Idle;
            }
            (
                None
                | Some(Stored::Snapshot {
                    complete: false, ..
                }),
                SnapshotMode::Never,
            ) => {
                tracing::info!(file = %current.file, pos = current.pos, "no snapshot (snapshot.mode): streaming from the current binlog position");
                self.start_streaming(Position {
                    at: current,
                    events: 0,
                });
            }
            (
                None
                | Some(Stored::Snapshot {
                    complete: false, ..
                }),
                mode,
            ) => {
                self.phase = snapshot(mode != SnapshotMode::InitialOnly);
            }
            (Some(Stored::Snapshot { at, complete: true }), _) => {
                self.start_streaming(Position { at, events: 0 });
            }
            (Some(Stored::Streaming(p)), mode) => {
                if files.contains(&p.at.file) {
                    self.start_streaming(p);
                } else if mode == SnapshotMode::WhenNeeded {
                    tracing::warn!(file = %p.at.file, "the stored binlog file is gone: taking a new snapshot (snapshot.mode=when_needed)");
                    self.phase = snapshot(true);
                } else {
                    return Err(TaskError::Fatal(format!(
                        "binlog file {} of the stored offset is no longer on the server: the changes after it can no longer be streamed. Use snapshot.mode=when_needed to take a new snapshot, or reset the connector's offsets",
                        p.at.file
                    )));
                }
            }
        }
        Ok(())
    }

    fn start_streaming(&mut self, from: Position) {
        self.txn = None;
        self.phase = Phase::Streaming(binlog::spawn(Arc::clone(&self.s), from.at.clone()));
        self.resume = from;
    }

    async fn snapshot_step(&mut self) -> Result<(), TaskError> {
        let wait = Duration::from_millis(self.s.poll_interval_ms);
        let Phase::Snapshot {
            rx,
            at,
            then_stream,
        } = &mut self.phase
        else {
            return Ok(());
        };
        let item = match tokio::time::timeout(wait, rx.recv()).await {
            Err(_) => return Ok(()),
            Ok(item) => item,
        };
        match item {
            Some(snapshot::Item::Started { at: pos, gtids }) => {
                *at = Some((pos, gtids));
                Ok(())
            }
            Some(snapshot::Item::Rows { meta, rows, last }) => {
                let (pos, gtids) = at.clone().unwrap_or_default();
                let now = now_us();
                let n = rows.len();
                let mut out = Vec::new();
                for (i, row) in rows.into_iter().enumerate() {
                    let is_last = last && i + 1 == n;
                    let source = SourceInfo {
                        ts_us: now,
                        snapshot: if is_last { "last" } else { "true" },
                        server_id: 0,
                        gtid: None,
                        file: pos.file.clone(),
                        pos: pos.pos,
                        row: 0,
                    };
                    let off = offset::snapshot(
                        &pos,
                        gtids.as_deref(),
                        is_last,
                        now.div_euclid(1_000_000),
                    );
                    for kv in envelope::records(&self.s, &meta, &source, &RowChange::Read(row), now)
                    {
                        out.push((kv, off.clone()));
                    }
                }
                for (kv, off) in out {
                    self.push(&meta, kv, off);
                }
                Ok(())
            }
            Some(snapshot::Item::Done) => {
                tracing::info!("snapshot completed");
                let (pos, _) = at.clone().unwrap_or_default();
                if *then_stream {
                    self.start_streaming(Position { at: pos, events: 0 });
                } else {
                    self.phase = Phase::Idle;
                }
                Ok(())
            }
            Some(snapshot::Item::Failed(e)) => {
                self.phase = Phase::Init;
                Err(e)
            }
            None => {
                self.phase = Phase::Init;
                Err(TaskError::Retriable("the snapshot reader stopped".into()))
            }
        }
    }

    async fn stream_step(&mut self) -> Result<(), TaskError> {
        let wait = Duration::from_millis(self.s.poll_interval_ms);
        let Phase::Streaming(rx) = &mut self.phase else {
            return Ok(());
        };
        let first = match tokio::time::timeout(wait, rx.recv()).await {
            Err(_) => None,
            Ok(None) => {
                self.phase = Phase::Init;
                return Err(TaskError::Retriable("the binlog reader stopped".into()));
            }
            Ok(Some(item)) => Some(item),
        };
        let mut items: Vec<binlog::Item> = first.into_iter().collect();
        while self.pending.len() + items.len() < self.s.max_batch_size {
            match rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        for item in items {
            if let Err(e) = self.streamed(item) {
                // Start over from the last position fully turned into records.
                self.stored = Some(Stored::Streaming(self.resume.clone()));
                self.phase = Phase::Init;
                return Err(e);
            }
        }
        self.heartbeat();
        Ok(())
    }

    fn streamed(&mut self, item: binlog::Item) -> Result<(), TaskError> {
        match item {
            binlog::Item::Begin { at, gtid, .. } => {
                let skip = if at == self.resume.at {
                    self.resume.events
                } else {
                    0
                };
                self.txn = Some(Txn {
                    at,
                    gtid,
                    changes: 0,
                    skip,
                });
            }
            binlog::Item::Rows {
                meta,
                changes,
                at,
                ts_sec,
            } => {
                let txn = self.txn.get_or_insert_with(|| Txn {
                    at: at.clone(),
                    gtid: None,
                    changes: 0,
                    skip: 0,
                });
                let mut out = Vec::new();
                for (row, change) in changes.iter().enumerate() {
                    txn.changes += 1;
                    if txn.changes <= txn.skip {
                        continue;
                    }
                    let source = SourceInfo {
                        ts_us: i64::from(ts_sec) * 1_000_000,
                        snapshot: "false",
                        server_id: self.s.server_id,
                        gtid: txn.gtid.clone(),
                        file: at.file.clone(),
                        pos: at.pos,
                        row: row as u32,
                    };
                    let kvs = envelope::records(&self.s, &meta, &source, change, now_us());
                    let n = kvs.len();
                    for (i, kv) in kvs.into_iter().enumerate() {
                        // Only the change's last record marks it done: a
                        // restart after the others redoes the whole change.
                        let done = if i + 1 == n {
                            txn.changes
                        } else {
                            txn.changes - 1
                        };
                        let p = Position {
                            at: txn.at.clone(),
                            events: done,
                        };
                        out.push((
                            kv,
                            offset::streaming(&p, txn.gtid.as_deref(), i64::from(ts_sec)),
                        ));
                    }
                }
                for (kv, off) in out {
                    self.push(&meta, kv, off);
                }
            }
            binlog::Item::Commit { next } => {
                self.txn = None;
                self.resume = Position {
                    at: next,
                    events: 0,
                };
            }
            binlog::Item::Failed(e) => return Err(e),
        }
        Ok(())
    }

    /// A heartbeat record (Debezium's `__debezium-heartbeat.<prefix>`)
    /// carrying the position, between transactions, every
    /// `heartbeat.interval.ms`.
    fn heartbeat(&mut self) {
        if self.s.heartbeat_ms == 0
            || self.txn.is_some()
            || self.last_heartbeat.elapsed() < Duration::from_millis(self.s.heartbeat_ms)
        {
            return;
        }
        self.last_heartbeat = Instant::now();
        let key_schema = Schema::structure(vec![Field::new("serverName", Schema::string())])
            .named("io.debezium.connector.common.ServerNameKey");
        let value_schema = Schema::structure(vec![Field::new("ts_ms", Schema::int64())])
            .named("io.debezium.connector.common.Heartbeat");
        self.pending.push(
            SourceRecord::new(
                self.s.heartbeat_topic(),
                Some(json!({"serverName": self.s.topic_prefix})),
                Some(json!({"ts_ms": now_us().div_euclid(1_000)})),
                self.partition.clone(),
                offset::streaming(&self.resume, None, now_us().div_euclid(1_000_000)),
            )
            .with_key_schema(Some(Arc::new(key_schema)))
            .with_value_schema(Some(Arc::new(value_schema))),
        );
    }

    fn push(&mut self, meta: &envelope::TableMeta, kv: KeyValue, offset: Value) {
        // A NOT NULL column holding a zero date (null in the event) does not
        // fit its schema: such a record goes schemaless.
        let (key_schema, value_schema) = crate::connectors::debezium::fitting_schemas(
            &meta.topic,
            meta.key_schema.as_ref(),
            &meta.value_schema,
            &kv,
        );
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
}

#[async_trait]
impl SourceTask for MySqlCdcTask {
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
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
