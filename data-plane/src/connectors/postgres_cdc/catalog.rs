//! What the connector asks and tells the source database over an ordinary
//! connection: which tables it captures, their columns and keys, the
//! publication, and the replication slot's state.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection, Row};

use super::envelope::{ColumnMeta, TableMeta};
use super::settings::{AutocreateMode, CdcSettings, SslMode};
use super::value::SESSION_OPTIONS;
use crate::connectors::TaskError;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// SQLSTATE classes that retrying will not fix: authentication (28),
/// invalid database (3D), syntax or access rules (42), object state (55 is
/// not here: "object in use" passes).
const FATAL_CLASSES: &[&str] = &["28", "3D", "42"];

/// A database error as a task error: fatal when retrying cannot help.
pub fn sql_error(what: &str, e: sqlx::Error) -> TaskError {
    let fatal = match &e {
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| FATAL_CLASSES.iter().any(|f| c.starts_with(f))),
        sqlx::Error::Configuration(_) | sqlx::Error::Tls(_) => true,
        _ => false,
    };
    let msg = format!("{what}: {e}");
    if fatal {
        TaskError::Fatal(msg)
    } else {
        TaskError::Retriable(msg)
    }
}

pub fn connect_options(s: &CdcSettings) -> PgConnectOptions {
    let ssl_mode = match s.ssl_mode {
        SslMode::Disable => PgSslMode::Disable,
        SslMode::Prefer => PgSslMode::Prefer,
        SslMode::Require => PgSslMode::Require,
        SslMode::VerifyCa => PgSslMode::VerifyCa,
        SslMode::VerifyFull => PgSslMode::VerifyFull,
    };
    // Not `new()`: a worker must not pick up ~/.pgpass or PG* variables.
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&s.host)
        .port(s.port)
        .username(&s.user)
        .database(&s.database)
        .ssl_mode(ssl_mode)
        .application_name("tributary-cdc")
        .options(SESSION_OPTIONS.iter().copied());
    if !s.password.is_empty() {
        options = options.password(s.password.expose());
    }
    options.disable_statement_logging()
}

pub async fn connect(s: &CdcSettings) -> Result<PgConnection, TaskError> {
    let target = format!("{}:{}/{}", s.host, s.port, s.database);
    tokio::time::timeout(CONNECT_TIMEOUT, connect_options(s).connect())
        .await
        .map_err(|_| TaskError::Retriable(format!("connecting to Postgres at {target} timed out")))?
        .map_err(|e| sql_error(&format!("connecting to Postgres at {target}"), e))
}

/// `"name"` with inner quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table as the catalog names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableRef {
    pub schema: String,
    pub table: String,
    pub oid: u32,
}

impl TableRef {
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

/// The ordinary tables outside the system schemas that the include and
/// exclude lists select, sorted by name.
pub async fn captured_tables(
    conn: &mut PgConnection,
    s: &CdcSettings,
) -> Result<Vec<TableRef>, TaskError> {
    let rows = sqlx::query(
        "SELECT n.nspname::text, c.relname::text, c.oid::int8
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND NOT c.relispartition
            AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
          ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| sql_error("listing tables", e))?;
    let mut out = Vec::new();
    for row in rows {
        let schema: String = row.get(0);
        let table: String = row.get(1);
        let oid: i64 = row.get(2);
        if s.tables.captures(&schema, &table) {
            out.push(TableRef {
                schema,
                table,
                oid: oid as u32,
            });
        }
    }
    Ok(out)
}

/// The primary key columns of a table in key order (empty without one).
pub async fn primary_key(conn: &mut PgConnection, oid: u32) -> Result<Vec<String>, TaskError> {
    let rows = sqlx::query(
        "SELECT a.attname::text
           FROM pg_index i
           JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON true
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = $1::int8::oid AND i.indisprimary
          ORDER BY k.pos",
    )
    .bind(i64::from(oid))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| sql_error("reading a primary key", e))?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// A table's columns (in order) and key, for the snapshot.
pub async fn table_meta(
    conn: &mut PgConnection,
    s: &CdcSettings,
    t: &TableRef,
) -> Result<TableMeta, TaskError> {
    let rows = sqlx::query(
        "SELECT attname::text, atttypid::int8, atttypmod
           FROM pg_attribute
          WHERE attrelid = $1::int8::oid AND attnum > 0 AND NOT attisdropped
          ORDER BY attnum",
    )
    .bind(i64::from(t.oid))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| sql_error("reading table columns", e))?;
    let columns: Vec<ColumnMeta> = rows
        .iter()
        .map(|r| ColumnMeta {
            name: r.get(0),
            type_oid: r.get::<i64, _>(1) as u32,
            type_modifier: r.get(2),
        })
        .collect();
    let pk = primary_key(conn, t.oid).await?;
    let key = key_indexes(&columns, &pk);
    Ok(TableMeta::new(s, &t.schema, &t.table, columns, key))
}

/// Positions of the key columns among `columns`, in key order.
pub fn key_indexes(columns: &[ColumnMeta], pk: &[String]) -> Vec<usize> {
    pk.iter()
        .filter_map(|k| columns.iter().position(|c| &c.name == k))
        .collect()
}

/// Makes the publication exist (and, in `filtered` mode, publish exactly
/// the captured tables).
pub async fn ensure_publication(
    conn: &mut PgConnection,
    s: &CdcSettings,
    tables: &[TableRef],
) -> Result<(), TaskError> {
    let exists: Option<bool> =
        sqlx::query_scalar("SELECT puballtables FROM pg_publication WHERE pubname = $1")
            .bind(&s.publication)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| sql_error("reading the publication", e))?;
    let name = quote_ident(&s.publication);
    let list = tables
        .iter()
        .map(TableRef::quoted)
        .collect::<Vec<_>>()
        .join(", ");
    let statement = match (s.autocreate, exists) {
        (AutocreateMode::Disabled, None) => {
            return Err(TaskError::Fatal(format!(
                "publication {} does not exist and publication.autocreate.mode is disabled",
                s.publication
            )))
        }
        (AutocreateMode::Disabled, Some(_)) | (AutocreateMode::AllTables, Some(_)) => {
            return Ok(())
        }
        (AutocreateMode::AllTables, None) => format!("CREATE PUBLICATION {name} FOR ALL TABLES"),
        (AutocreateMode::Filtered, None) if tables.is_empty() => {
            tracing::warn!(publication = %s.publication, "no table matches table.include.list; the publication starts empty");
            format!("CREATE PUBLICATION {name}")
        }
        (AutocreateMode::Filtered, None) => format!("CREATE PUBLICATION {name} FOR TABLE {list}"),
        (AutocreateMode::Filtered, Some(true)) => {
            return Err(TaskError::Fatal(format!(
                "publication {} is FOR ALL TABLES; publication.autocreate.mode=filtered cannot narrow it (use all_tables or another publication.name)",
                s.publication
            )))
        }
        (AutocreateMode::Filtered, Some(false)) => {
            let published = sqlx::query(
                "SELECT schemaname::text, tablename::text FROM pg_publication_tables
                  WHERE pubname = $1 ORDER BY 1, 2",
            )
            .bind(&s.publication)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| sql_error("reading the publication's tables", e))?;
            let published: Vec<(String, String)> = published
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let wanted: Vec<(String, String)> = tables
                .iter()
                .map(|t| (t.schema.clone(), t.table.clone()))
                .collect();
            if published == wanted {
                return Ok(());
            }
            if tables.is_empty() {
                let all = published
                    .iter()
                    .map(|(s, t)| format!("{}.{}", quote_ident(s), quote_ident(t)))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("ALTER PUBLICATION {name} DROP TABLE {all}")
            } else {
                format!("ALTER PUBLICATION {name} SET TABLE {list}")
            }
        }
    };
    tracing::info!(publication = %s.publication, tables = tables.len(), "{statement}");
    match simple(conn, &statement).await {
        Ok(_) => Ok(()),
        // Another session created it meanwhile.
        Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42710") => Ok(()),
        Err(e) => Err(sql_error("creating the publication", e)),
    }
}

/// A replication slot's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub plugin: Option<String>,
    pub database: Option<String>,
    pub active_pid: Option<i32>,
    pub confirmed_flush: Option<u64>,
}

pub async fn slot(conn: &mut PgConnection, name: &str) -> Result<Option<SlotInfo>, TaskError> {
    let row = sqlx::query(
        "SELECT plugin::text, database::text, active_pid, confirmed_flush_lsn::text
           FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| sql_error("reading the replication slot", e))?;
    Ok(row.map(|r| SlotInfo {
        plugin: r.get(0),
        database: r.get(1),
        active_pid: r.get(2),
        confirmed_flush: r
            .get::<Option<String>, _>(3)
            .and_then(|l| super::offset::parse_lsn(&l)),
    }))
}

/// Drops a slot no session uses. `Ok(false)` when it does not exist.
pub async fn drop_slot(conn: &mut PgConnection, name: &str) -> Result<bool, TaskError> {
    let dropped = sqlx::query_scalar::<_, bool>(
        "SELECT true FROM (SELECT pg_drop_replication_slot(slot_name)
                             FROM pg_replication_slots WHERE slot_name = $1) d",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| sql_error(&format!("dropping replication slot {name}"), e))?;
    Ok(dropped.is_some())
}

/// Drops a publication if it exists.
pub async fn drop_publication(conn: &mut PgConnection, name: &str) -> Result<(), TaskError> {
    simple(
        conn,
        &format!("DROP PUBLICATION IF EXISTS {}", quote_ident(name)),
    )
    .await
    .map_err(|e| sql_error(&format!("dropping publication {name}"), e))?;
    Ok(())
}

/// Runs a statement without parameters (simple query protocol).
pub async fn simple(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(|_| ())
}

/// Ends a connection politely; errors do not matter any more.
pub async fn close(conn: PgConnection) {
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        let t = TableRef {
            schema: "public".into(),
            table: "x".into(),
            oid: 1,
        };
        assert_eq!(t.quoted(), "\"public\".\"x\"");
    }

    #[test]
    fn key_indexes_follow_key_order() {
        let cols: Vec<ColumnMeta> = ["a", "b", "c"]
            .iter()
            .map(|n| ColumnMeta {
                name: n.to_string(),
                type_oid: 23,
                type_modifier: -1,
            })
            .collect();
        assert_eq!(key_indexes(&cols, &["c".into(), "a".into()]), vec![2, 0]);
        assert!(key_indexes(&cols, &[]).is_empty());
    }
}
