//! The initial snapshot: every captured row read in one consistent-snapshot
//! transaction whose binlog position is known, so streaming continues
//! exactly where the snapshot ends. MariaDB reports that position itself
//! (`binlog_snapshot_file` / `binlog_snapshot_position`), without a lock;
//! on MySQL a global read lock is held while the transaction starts and the
//! position is read (`snapshot.locking.mode=minimal`). A background task
//! reads the tables in batches and hands them over through a bounded
//! channel, whose receiving is cancel-safe.

use std::sync::Arc;

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value as My};
use tokio::sync::mpsc;

use super::catalog::{self, sql_error};
use super::columns::quote_ident;
use super::envelope::TableMeta;
use super::offset::BinlogPos;
use super::settings::MySqlCdcSettings;
use crate::connectors::TaskError;

#[derive(Debug)]
pub enum Item {
    /// The snapshot's transaction started at this binlog position.
    Started {
        at: BinlogPos,
        gtids: Option<String>,
    },
    Rows {
        meta: Arc<TableMeta>,
        rows: Vec<Vec<My>>,
        /// These are the snapshot's last rows.
        last: bool,
    },
    /// Every table was read.
    Done,
    Failed(TaskError),
}

pub fn spawn(s: Arc<MySqlCdcSettings>) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let end = match run(&s, &tx).await {
            Ok(()) => Item::Done,
            Err(e) => Item::Failed(e),
        };
        let _ = tx.send(end).await;
    });
    rx
}

async fn run(s: &MySqlCdcSettings, tx: &mpsc::Sender<Item>) -> Result<(), TaskError> {
    let mut conn = catalog::connect(s).await?;
    let (at, gtids) = start(&mut conn, s).await?;
    tracing::info!(file = %at.file, pos = at.pos, gtids = ?gtids, "snapshot started");
    if tx.send(Item::Started { at, gtids }).await.is_err() {
        return Ok(());
    }
    let tables = catalog::captured_tables(&mut conn, s).await?;
    let mut held: Option<(Arc<TableMeta>, Vec<Vec<My>>)> = None;
    let batch = s.max_batch_size.max(1);
    for (db, table) in tables {
        let Some(meta) = catalog::table_meta(&mut conn, s, &db, &table).await? else {
            continue;
        };
        let meta = Arc::new(meta);
        let select = meta
            .columns
            .iter()
            .map(|c| c.select_expr())
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {select} FROM {}.{}",
            quote_ident(&db),
            quote_ident(&table)
        );
        let what = format!("snapshot of {db}.{table}");
        let mut result = conn
            .exec_iter(sql, ())
            .await
            .map_err(|e| sql_error(&what, e))?;
        let mut read = 0usize;
        if let Some(mut stream) = result
            .stream::<Row>()
            .await
            .map_err(|e| sql_error(&what, e))?
        {
            let mut rows = Vec::with_capacity(batch);
            loop {
                let next = stream.next().await;
                let done = next.is_none();
                if let Some(row) = next {
                    rows.push(row.map_err(|e| sql_error(&what, e))?.unwrap());
                }
                if rows.len() >= batch || (done && !rows.is_empty()) {
                    read += rows.len();
                    let full = std::mem::replace(&mut rows, Vec::with_capacity(batch));
                    if let Some((m, r)) = held.replace((Arc::clone(&meta), full)) {
                        let item = Item::Rows {
                            meta: m,
                            rows: r,
                            last: false,
                        };
                        if tx.send(item).await.is_err() {
                            return Ok(()); // the task is gone
                        }
                    }
                }
                if done {
                    break;
                }
            }
        }
        tracing::info!(table = %format!("{db}.{table}"), rows = read, "snapshot of table read");
    }
    if let Some((meta, rows)) = held {
        let _ = tx
            .send(Item::Rows {
                meta,
                rows,
                last: true,
            })
            .await;
    }
    let _ = conn.query_drop("COMMIT").await;
    let _ = conn.disconnect().await;
    Ok(())
}

/// Starts the snapshot's transaction on `conn` and returns its binlog position.
async fn start(
    conn: &mut Conn,
    s: &MySqlCdcSettings,
) -> Result<(BinlogPos, Option<String>), TaskError> {
    let exec = |e| sql_error("starting the snapshot", e);
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(exec)?
        .unwrap_or_default();
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let lock = s.snapshot_lock && !mariadb;
    if lock {
        conn.query_drop("FLUSH TABLES WITH READ LOCK")
            .await
            .map_err(exec)?;
    }
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(exec)?;
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .map_err(exec)?;
    let position = if mariadb {
        let rows: Vec<(String, String)> = conn
            .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .await
            .map_err(exec)?;
        let get = |name: &str| {
            rows.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let file = get("binlog_snapshot_file").filter(|f| !f.is_empty());
        let pos = get("binlog_snapshot_position").and_then(|p| p.parse().ok());
        match (file, pos) {
            (Some(file), Some(pos)) => {
                // The GTID position of the snapshot is not reported with it;
                // the current one is informational only (offsets resume by file
                // and position).
                Some((BinlogPos { file, pos }, catalog::gtids(conn).await))
            }
            _ => None,
        }
    } else {
        None
    };
    let position = match position {
        Some(p) => p,
        None => catalog::binlog_position(conn).await?,
    };
    if lock {
        conn.query_drop("UNLOCK TABLES").await.map_err(exec)?;
    }
    Ok(position)
}
