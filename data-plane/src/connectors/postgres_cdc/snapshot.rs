//! The initial snapshot: every captured row read in one REPEATABLE READ
//! transaction (importing the snapshot the slot exported, so the stream
//! continues exactly where the snapshot ends), in batches, by a background
//! task that hands them over through a bounded channel. Receiving from the
//! channel is cancel-safe, so a `poll` dropped by a pause loses nothing.

use std::sync::Arc;

use sqlx::postgres::PgConnection;
use sqlx::Row;
use tokio::sync::mpsc;

use super::catalog::{self, quote_ident};
use super::envelope::TableMeta;
use super::pgoutput::Datum;
use crate::connectors::TaskError;

/// What the snapshot reader hands over.
#[derive(Debug)]
pub enum Item {
    Rows {
        meta: Arc<TableMeta>,
        rows: Vec<Vec<Datum>>,
        /// These are the snapshot's last rows.
        last: bool,
    },
    /// Every table was read.
    Done,
    Failed(TaskError),
}

/// Starts reading `tables` on `conn`, which already is in the snapshot's
/// transaction. Batches of `batch` rows; `Done` (or `Failed`) comes last.
pub fn spawn(
    conn: PgConnection,
    tables: Vec<Arc<TableMeta>>,
    batch: usize,
) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut conn = conn;
        let end = match read_all(&mut conn, &tables, batch.max(1), &tx).await {
            Ok(()) => Item::Done,
            Err(e) => Item::Failed(e),
        };
        let _ = tx.send(end).await;
        let _ = catalog::simple(&mut conn, "COMMIT").await;
        catalog::close(conn).await;
    });
    rx
}

/// Reads table after table, holding each batch back until the next one is
/// read so that the very last batch can say it is the last.
async fn read_all(
    conn: &mut PgConnection,
    tables: &[Arc<TableMeta>],
    batch: usize,
    tx: &mpsc::Sender<Item>,
) -> Result<(), TaskError> {
    let mut held: Option<(Arc<TableMeta>, Vec<Vec<Datum>>)> = None;
    for meta in tables {
        if meta.columns.is_empty() {
            continue;
        }
        let select = meta
            .columns
            .iter()
            .map(|c| format!("{}::text", quote_ident(&c.name)))
            .collect::<Vec<_>>()
            .join(", ");
        let table = format!("{}.{}", quote_ident(&meta.schema), quote_ident(&meta.table));
        let declare =
            format!("DECLARE tributary_snapshot NO SCROLL CURSOR FOR SELECT {select} FROM {table}");
        catalog::simple(conn, &declare)
            .await
            .map_err(|e| catalog::sql_error(&format!("snapshot of {table}"), e))?;
        let mut read = 0usize;
        loop {
            // Not persistent: the same text fetches from each table's cursor.
            let rows = sqlx::query(&format!("FETCH FORWARD {batch} FROM tributary_snapshot"))
                .persistent(false)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| catalog::sql_error(&format!("snapshot of {table}"), e))?;
            if rows.is_empty() {
                break;
            }
            let n = rows.len();
            let rows: Vec<Vec<Datum>> = rows
                .iter()
                .map(|r| {
                    (0..meta.columns.len())
                        .map(|i| match r.try_get::<Option<String>, _>(i) {
                            Ok(Some(t)) => Datum::Text(t),
                            _ => Datum::Null,
                        })
                        .collect()
                })
                .collect();
            read += n;
            if let Some((m, r)) = held.replace((Arc::clone(meta), rows)) {
                let item = Item::Rows {
                    meta: m,
                    rows: r,
                    last: false,
                };
                if tx.send(item).await.is_err() {
                    return Ok(()); // the task is gone
                }
            }
            if n < batch {
                break;
            }
        }
        catalog::simple(conn, "CLOSE tributary_snapshot")
            .await
            .map_err(|e| catalog::sql_error(&format!("snapshot of {table}"), e))?;
        tracing::info!(table = %table, rows = read, "snapshot of table read");
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
    Ok(())
}
