//! The binlog reader: a background task that registers as a replica
//! (`mysql_async`'s `get_binlog_stream`), decodes the events with
//! `mysql_common` and hands the captured tables' row changes over through a
//! bounded channel (cancel-safe to receive), framed by the transactions'
//! starts and commits.
//!
//! Table definitions come from `information_schema` when a table is first
//! seen, and again after any DDL statement in the binlog or when a table
//! map's column count differs from the one known: later rows then carry the
//! new columns. (The catalog is read as it is now, not as it was at the
//! event: a reader far behind a series of DDL changes may briefly map rows
//! with a newer definition; Debezium keeps a schema history topic for that,
//! which is not implemented.)
//!
//! GTIDs: MariaDB's GTID events (`domain-server-seq`, asked for with
//! `@mariadb_slave_capability=4`; mysql_common does not model them, so
//! their two fixed-size numbers are read here) and MySQL's (`uuid:n`) are
//! passed on with each transaction; positions are always file and position.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use mysql_async::binlog::events::{Event, EventData, RowsEventData};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn, Value as My};
use tokio::sync::mpsc;

use super::catalog::{self, sql_error};
use super::envelope::{RowChange, TableMeta};
use super::offset::BinlogPos;
use super::settings::MySqlCdcSettings;
use crate::connectors::TaskError;

/// MariaDB's GTID_EVENT (not in mysql_common's event types).
const MARIADB_GTID_EVENT: u8 = 162;
/// How often an idle server sends a heartbeat event (ns), so a dead
/// connection is noticed.
const SERVER_HEARTBEAT_NS: u64 = 5_000_000_000;
/// No event (not even a heartbeat) for this long: the connection is dead.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum Item {
    /// A transaction starts at `at`.
    Begin {
        at: BinlogPos,
        gtid: Option<String>,
        ts_sec: u32,
    },
    /// Row changes of one rows event of a captured table.
    Rows {
        meta: Arc<TableMeta>,
        changes: Vec<RowChange>,
        /// The rows event's position.
        at: BinlogPos,
        ts_sec: u32,
    },
    /// The transaction is committed; the next one starts at `next`.
    Commit {
        next: BinlogPos,
    },
    Failed(TaskError),
}

pub fn spawn(s: Arc<MySqlCdcSettings>, start: BinlogPos) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        if let Err(e) = run(&s, start, &tx).await {
            let _ = tx.send(Item::Failed(e)).await;
        }
    });
    rx
}

struct Reader<'a> {
    s: &'a MySqlCdcSettings,
    meta_conn: Conn,
    /// Captured tables by (database, table); refreshed after DDL.
    tables: HashMap<(String, String), Arc<TableMeta>>,
    file: String,
    in_txn: bool,
}

async fn run(
    s: &MySqlCdcSettings,
    start: BinlogPos,
    tx: &mpsc::Sender<Item>,
) -> Result<(), TaskError> {
    let meta_conn = catalog::connect(s).await?;
    let mut conn = catalog::connect(s).await?;
    // MariaDB: send GTID events as they are (older replicas get them as BEGIN).
    let _ = conn.query_drop("SET @mariadb_slave_capability = 4").await;
    let _ = conn
        .query_drop(format!(
            "SET @master_heartbeat_period = {SERVER_HEARTBEAT_NS}"
        ))
        .await;
    let file = start.file.clone();
    let request = BinlogStreamRequest::new(s.server_id)
        .with_filename(file.as_bytes())
        .with_pos(start.pos);
    let mut stream = conn
        .get_binlog_stream(request)
        .await
        .map_err(|e| sql_error("starting the binlog stream", e))?;
    tracing::info!(file = %start.file, pos = start.pos, server_id = s.server_id, "streaming the binlog");
    let mut reader = Reader {
        s,
        meta_conn,
        tables: HashMap::new(),
        file: start.file.clone(),
        in_txn: false,
    };
    loop {
        let event = match tokio::time::timeout(READ_TIMEOUT, stream.next()).await {
            Err(_) => {
                return Err(TaskError::Retriable(format!(
                    "no binlog event or heartbeat for {}s",
                    READ_TIMEOUT.as_secs()
                )))
            }
            Ok(None) => return Err(TaskError::Retriable("the binlog stream ended".into())),
            Ok(Some(e)) => e.map_err(|e| sql_error("reading the binlog", e))?,
        };
        let tme = |id: u64| stream.get_tme(id).cloned();
        let items = reader.event(&event, tme).await?;
        for item in items {
            if tx.send(item).await.is_err() {
                return Ok(()); // the task is gone
            }
        }
    }
}

impl Reader<'_> {
    async fn event(
        &mut self,
        event: &Event,
        tme: impl Fn(u64) -> Option<mysql_async::binlog::events::TableMapEvent<'static>>,
    ) -> Result<Vec<Item>, TaskError> {
        let header = event.header();
        let end = u64::from(header.log_pos());
        let start = end.saturating_sub(u64::from(header.event_size()));
        let ts_sec = header.timestamp();
        let file = self.file.clone();
        let here = |pos: u64| BinlogPos {
            file: file.clone(),
            pos,
        };
        if header.event_type_raw() == MARIADB_GTID_EVENT {
            let d = event.data();
            let seq = d
                .get(0..8)
                .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
            let domain = d
                .get(8..12)
                .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or_default()));
            self.in_txn = true;
            return Ok(vec![Item::Begin {
                at: here(start),
                gtid: Some(format!("{domain}-{}-{seq}", header.server_id())),
                ts_sec,
            }]);
        }
        let data = event
            .read_data()
            .map_err(|e| TaskError::Retriable(format!("decoding a binlog event: {e}")))?;
        let Some(data) = data else {
            return Ok(Vec::new());
        };
        match data {
            EventData::RotateEvent(r) => {
                // The stream opens with an artificial rotate to the file we
                // asked for, read before the format description says that
                // events carry a checksum: its name ends with the 4 checksum
                // bytes. Keep the name we know then.
                let name = r.name();
                if self.file.is_empty() || !name.starts_with(self.file.as_str()) {
                    self.file = name
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || "._-/".contains(*c))
                        .collect();
                }
                Ok(Vec::new())
            }
            EventData::GtidEvent(g) => {
                self.in_txn = true;
                let sid = g.sid();
                let uuid = format!(
                    "{}-{}-{}-{}-{}",
                    hex(&sid[0..4]),
                    hex(&sid[4..6]),
                    hex(&sid[6..8]),
                    hex(&sid[8..10]),
                    hex(&sid[10..16])
                );
                Ok(vec![Item::Begin {
                    at: here(start),
                    gtid: Some(format!("{uuid}:{}", g.gno())),
                    ts_sec,
                }])
            }
            EventData::QueryEvent(q) => {
                let query = q.query();
                let word = query
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                match word.as_str() {
                    "BEGIN" | "XA" => {
                        if self.in_txn {
                            return Ok(Vec::new()); // after a GTID event
                        }
                        self.in_txn = true;
                        Ok(vec![Item::Begin {
                            at: here(start),
                            gtid: None,
                            ts_sec,
                        }])
                    }
                    "COMMIT" => {
                        self.in_txn = false;
                        Ok(vec![Item::Commit { next: here(end) }])
                    }
                    _ => {
                        // DDL (and other statements): a transaction of its
                        // own; table definitions may have changed.
                        if matches!(
                            word.as_str(),
                            "ALTER" | "CREATE" | "DROP" | "RENAME" | "TRUNCATE"
                        ) {
                            tracing::info!(schema = %q.schema(), query = %query, "DDL: table definitions reloaded");
                            self.tables.clear();
                        }
                        let mut out = Vec::new();
                        if !self.in_txn {
                            out.push(Item::Begin {
                                at: here(start),
                                gtid: None,
                                ts_sec,
                            });
                        }
                        self.in_txn = false;
                        out.push(Item::Commit { next: here(end) });
                        Ok(out)
                    }
                }
            }
            EventData::XidEvent(_) => {
                self.in_txn = false;
                Ok(vec![Item::Commit { next: here(end) }])
            }
            EventData::RowsEvent(rows) => {
                let Some(tme) = tme(rows.table_id()) else {
                    return Ok(Vec::new());
                };
                let (db, table) = (
                    tme.database_name().into_owned(),
                    tme.table_name().into_owned(),
                );
                if !self.s.captures(&db, &table) {
                    return Ok(Vec::new());
                }
                let meta = self.meta(&db, &table, tme.columns_count()).await?;
                let Some(meta) = meta else {
                    return Ok(Vec::new());
                };
                let mut changes = Vec::new();
                for row in rows.rows(&tme) {
                    let (before, after) = row.map_err(|e| {
                        TaskError::Fatal(format!("decoding a row of {db}.{table}: {e}"))
                    })?;
                    let (before, after) = (before.map(values), after.map(values));
                    changes.push(match (&rows, before, after) {
                        (
                            RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_),
                            _,
                            Some(a),
                        ) => RowChange::Insert(a),
                        (
                            RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_),
                            Some(b),
                            _,
                        ) => RowChange::Delete(b),
                        (_, Some(b), Some(a)) => RowChange::Update {
                            before: b,
                            after: a,
                        },
                        _ => continue,
                    });
                }
                Ok(vec![Item::Rows {
                    meta,
                    changes,
                    at: here(start),
                    ts_sec,
                }])
            }
            _ => Ok(Vec::new()),
        }
    }

    /// The table's definition, (re)loaded when unknown or when the binlog
    /// shows another number of columns.
    async fn meta(
        &mut self,
        db: &str,
        table: &str,
        columns: u64,
    ) -> Result<Option<Arc<TableMeta>>, TaskError> {
        let key = (db.to_string(), table.to_string());
        if let Some(m) = self.tables.get(&key) {
            if m.columns.len() as u64 == columns {
                return Ok(Some(Arc::clone(m)));
            }
        }
        let Some(meta) = catalog::table_meta(&mut self.meta_conn, self.s, db, table).await? else {
            return Ok(None);
        };
        let meta = Arc::new(meta);
        self.tables.insert(key, Arc::clone(&meta));
        Ok(Some(meta))
    }
}

/// A binlog row's values in column order, as plain MySQL values.
fn values(row: mysql_async::binlog::row::BinlogRow) -> Vec<My> {
    row.unwrap()
        .into_iter()
        .map(|v| My::try_from(v).unwrap_or(My::NULL))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
