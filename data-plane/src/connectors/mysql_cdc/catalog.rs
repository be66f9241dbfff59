//! The server's catalog over plain SQL: connections, the binlog settings
//! and position, the captured tables and their columns and keys.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row};

use super::columns::{Column, Kind};
use super::envelope::TableMeta;
use super::offset::BinlogPos;
use super::settings::MySqlCdcSettings;
use crate::connectors::TaskError;

pub fn opts(s: &MySqlCdcSettings) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname(s.host.clone())
        .tcp_port(s.port)
        .user(Some(s.user.clone()))
        .pass(Some(s.password.expose().to_string()))
        .prefer_socket(false)
        .into()
}

pub async fn connect(s: &MySqlCdcSettings) -> Result<Conn, TaskError> {
    Conn::new(opts(s))
        .await
        .map_err(|e| sql_error(&format!("connecting to {}:{}", s.host, s.port), e))
}

/// A server error that retrying will not cure is fatal (access denied, a
/// missing privilege, a binlog file that is gone); anything else is retried.
pub fn sql_error(what: &str, e: mysql_async::Error) -> TaskError {
    let msg = format!("{what}: {e}");
    match &e {
        mysql_async::Error::Server(se) if matches!(se.code, 1044 | 1045 | 1142 | 1227 | 1236) => {
            TaskError::Fatal(msg)
        }
        _ => TaskError::Retriable(msg),
    }
}

async fn variable(conn: &mut Conn, name: &str) -> Result<Option<String>, TaskError> {
    let row: Option<Row> = conn
        .query_first(format!("SHOW GLOBAL VARIABLES LIKE '{name}'"))
        .await
        .map_err(|e| sql_error(&format!("reading {name}"), e))?;
    Ok(row.and_then(|r| r.get_opt::<String, _>(1).and_then(Result::ok)))
}

/// The binlog must be on, row-based and with full row images.
pub async fn check_binlog(conn: &mut Conn) -> Result<(), TaskError> {
    let log_bin = variable(conn, "log_bin").await?.unwrap_or_default();
    let format = variable(conn, "binlog_format").await?.unwrap_or_default();
    let image = variable(conn, "binlog_row_image")
        .await?
        .unwrap_or_else(|| "FULL".into());
    if !log_bin.eq_ignore_ascii_case("ON") || !format.eq_ignore_ascii_case("ROW") {
        return Err(TaskError::Fatal(format!(
            "the server's binary log is not row-based (log_bin={log_bin}, binlog_format={format}): set log_bin, binlog_format=ROW and binlog_row_image=FULL (deploy/local/lib.sh ensure_mariadb_binlog does it for the local MariaDB)"
        )));
    }
    if !image.eq_ignore_ascii_case("FULL") {
        return Err(TaskError::Fatal(format!(
            "binlog_row_image is {image}: MySqlCdcSourceV2 needs FULL row images"
        )));
    }
    Ok(())
}

/// The current end of the binlog and, where the server has them, its GTIDs.
pub async fn binlog_position(conn: &mut Conn) -> Result<(BinlogPos, Option<String>), TaskError> {
    // MySQL 8.4 renamed SHOW MASTER STATUS.
    let mut row: Option<Row> = None;
    for q in ["SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"] {
        if let Ok(r) = conn.query_first(q).await {
            row = r;
            break;
        }
    }
    let row = row.ok_or_else(|| {
        TaskError::Fatal("SHOW MASTER STATUS returned nothing: is the binary log on?".into())
    })?;
    let pos = BinlogPos {
        file: row
            .get_opt::<String, _>(0)
            .and_then(Result::ok)
            .unwrap_or_default(),
        pos: row.get_opt::<u64, _>(1).and_then(Result::ok).unwrap_or(4),
    };
    Ok((pos, gtids(conn).await))
}

/// The server's GTID position: MariaDB's `gtid_binlog_pos`
/// (`domain-server-seq`, …) or MySQL's `gtid_executed`; `None` when empty.
pub async fn gtids(conn: &mut Conn) -> Option<String> {
    for q in ["SELECT @@gtid_binlog_pos", "SELECT @@gtid_executed"] {
        if let Ok(Some(g)) = conn.query_first::<Option<String>, _>(q).await {
            return g.filter(|g| !g.trim().is_empty());
        }
    }
    None
}

/// The binlog files the server still has.
pub async fn binlog_files(conn: &mut Conn) -> Result<Vec<String>, TaskError> {
    let rows: Vec<Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| sql_error("listing the binary logs", e))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.get_opt::<String, _>(0).and_then(Result::ok))
        .collect())
}

/// The captured tables, as (database, table), in name order.
pub async fn captured_tables(
    conn: &mut Conn,
    s: &MySqlCdcSettings,
) -> Result<Vec<(String, String)>, TaskError> {
    let rows: Vec<(String, String)> = conn
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' ORDER BY table_schema, table_name",
        )
        .await
        .map_err(|e| sql_error("listing tables", e))?;
    Ok(rows
        .into_iter()
        .filter(|(db, t)| s.captures(db, t))
        .collect())
}

type ColumnRow = (
    String,
    String,
    String,
    Option<u64>,
    Option<u64>,
    Option<u64>,
    String,
);

/// A table's columns and primary key as they are now; `None` when the
/// table is gone.
pub async fn table_meta(
    conn: &mut Conn,
    s: &MySqlCdcSettings,
    db: &str,
    table: &str,
) -> Result<Option<TableMeta>, TaskError> {
    let what = format!("reading the columns of {db}.{table}");
    let rows: Vec<ColumnRow> = conn
        .exec(
            "SELECT column_name, data_type, column_type, numeric_precision, numeric_scale, \
             datetime_precision, is_nullable FROM information_schema.columns \
             WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            (db, table),
        )
        .await
        .map_err(|e| sql_error(&what, e))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let key_names: Vec<String> = conn
        .exec(
            "SELECT column_name FROM information_schema.statistics \
             WHERE table_schema = ? AND table_name = ? AND index_name = 'PRIMARY' \
             ORDER BY seq_in_index",
            (db, table),
        )
        .await
        .map_err(|e| sql_error(&what, e))?;
    let columns: Vec<Column> = rows
        .into_iter()
        .map(
            |(name, data_type, column_type, precision, scale, fsp, nullable)| Column {
                excluded: s.excludes_column(db, table, &name),
                kind: Kind::parse(&data_type, &column_type, precision, scale, fsp),
                nullable: nullable.eq_ignore_ascii_case("YES"),
                name,
            },
        )
        .collect();
    let key = key_names
        .iter()
        .filter_map(|k| columns.iter().position(|c| &c.name == k))
        .collect();
    Ok(Some(TableMeta::new(s, db, table, columns, key)))
}
