//! Postgres: one connection per task, opened at start and again after it
//! breaks. A batch's statements, COPYs among them, run in one transaction.

use async_trait::async_trait;
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgConnection, PgDatabaseError, PgSslMode, Postgres,
};
use sqlx::query::Query;
use sqlx::Connection;

use super::backend::{self, Backend, JdbcError, LazyConnection, Target};
use super::dialect::Dialect;
use super::pg_copy::CopyData;
use super::settings::{self, SslMode};
use super::table::{ColumnInfo, TableId, TableInfo};
use super::value::SqlValue;
use super::writer::Statement;

/// "Already exists" answers to DDL when another task won the race:
/// duplicate_table, duplicate_column, and the unique violation on
/// `pg_type` that concurrent `CREATE TABLE IF NOT EXISTS` can raise.
const ALREADY_EXISTS: &[&str] = &["42P07", "42701", "23505"];

/// COPY data goes in messages of this size, not one message per run.
const COPY_CHUNK: usize = 1 << 20;

pub struct PostgresBackend {
    link: LazyConnection<PgConnection>,
}

impl PostgresBackend {
    pub fn new(connection: &settings::Connection, timezone: &str) -> PostgresBackend {
        let ssl_mode = match connection.ssl_mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        };
        // Not `new()`: a worker must not pick up ~/.pgpass entries.
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(&connection.host)
            .port(connection.port)
            .username(&connection.user)
            .database(&connection.database)
            .ssl_mode(ssl_mode)
            .application_name("tributary-jdbc-sink")
            // No NOTICEs (sqlx logs each): "already exists, skipping" of
            // the staging tables would come with every batch.
            .options([("TimeZone", timezone), ("client_min_messages", "warning")]);
        if !connection.password.is_empty() {
            options = options.password(connection.password.expose());
        }
        PostgresBackend {
            link: LazyConnection::new(
                options,
                Target {
                    kind: "Postgres",
                    address: connection.address(),
                    database: connection.database.clone(),
                    user: connection.user.clone(),
                },
            ),
        }
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn connect(&mut self) -> Result<(), JdbcError> {
        self.link.get().await.map(|_| ())
    }

    /// Columns with their base type (`format_type(…, NULL)`: no length),
    /// so a cast to it never truncates: `varchar(3)` limits are checked by
    /// the assignment itself.
    async fn describe(&mut self, table: &TableId) -> Result<Option<TableInfo>, JdbcError> {
        let qualified = Dialect::Postgres.table(table);
        let conn = self.link.get().await?;
        let rows: Result<Vec<(Option<String>, Option<String>)>, sqlx::Error> = sqlx::query_as(
            "SELECT a.attname::text, format_type(a.atttypid, NULL) \
             FROM (SELECT to_regclass($1) AS oid) c \
             LEFT JOIN pg_catalog.pg_attribute a \
               ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.oid IS NOT NULL \
             ORDER BY a.attnum",
        )
        .bind(qualified)
        .fetch_all(conn)
        .await;
        let rows = self.link.check(rows.map_err(|source| JdbcError::Sql {
            what: format!("describing table {table}"),
            source,
        }))?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(TableInfo {
            columns: rows
                .into_iter()
                .filter_map(|(name, ty)| Some((name?, ty?)))
                .map(|(name, type_name)| ColumnInfo {
                    name,
                    type_name: cast_type(type_name),
                })
                .collect(),
        }))
    }

    async fn ddl(&mut self, sql: &str, what: &str) -> Result<(), JdbcError> {
        let conn = self.link.get().await?;
        let result = match run_simple(conn, sql).await {
            Ok(_) => Ok(()),
            Err(e)
                if backend::db_code(&e).is_some_and(|c| ALREADY_EXISTS.contains(&c.as_str())) =>
            {
                Ok(())
            }
            Err(source) => Err(JdbcError::Sql {
                what: what.to_string(),
                source,
            }),
        };
        self.link.check(result)
    }

    async fn write(&mut self, statements: &[Statement]) -> Result<(), JdbcError> {
        let conn = self.link.get().await?;
        let result = write_in_transaction(conn, statements).await;
        self.link.check(result)
    }

    async fn close(&mut self) {
        if let Some(conn) = self.link.take() {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing the Postgres connection failed");
            }
        }
    }
}

/// `character` without a length means `character(1)`: casting to it would
/// cut strings, so cast to the unbounded `bpchar` instead.
fn cast_type(type_name: String) -> String {
    if type_name == "character" {
        "bpchar".to_string()
    } else {
        type_name
    }
}

async fn write_in_transaction(
    conn: &mut PgConnection,
    statements: &[Statement],
) -> Result<(), JdbcError> {
    let sql_err = |what: &str| {
        let what = what.to_string();
        move |source| JdbcError::Sql { what, source }
    };
    // Dropping the transaction on an error rolls it back.
    let mut tx = conn
        .begin()
        .await
        .map_err(sql_err("starting a transaction"))?;
    for st in statements {
        let done = match &st.copy {
            Some(copy) => copy_in(&mut tx, &st.sql, copy)
                .await
                .map_err(|source| copy_error(&st.what, copy, source)),
            // No parameters (staging DDL, INSERT … SELECT): the simple
            // protocol, nothing to prepare and cache.
            None if st.params.is_empty() => run_simple(&mut tx, &st.sql)
                .await
                .map_err(sql_err(&st.what)),
            None => bind(sqlx::query(&st.sql), &st.params)
                .execute(&mut *tx)
                .await
                .map(|_| ())
                .map_err(sql_err(&st.what)),
        };
        done?;
    }
    tx.commit().await.map_err(sql_err("committing the batch"))
}

/// `COPY … FROM STDIN` of the data. A refused row fails the whole COPY
/// (and so the transaction); what was sent after it is dropped by the server.
async fn copy_in(conn: &mut PgConnection, sql: &str, copy: &CopyData) -> Result<(), sqlx::Error> {
    let mut writer = conn.copy_in_raw(sql).await?;
    for chunk in copy.data.chunks(COPY_CHUNK) {
        // On an error the writer, dropped, tells the server the COPY failed.
        writer.send(chunk).await?;
    }
    writer.finish().await.map(|_| ())
}

/// A COPY error, naming the record whose line the server refused (its
/// context reads `COPY t, line 40, column n: "…"`).
fn copy_error(what: &str, copy: &CopyData, source: sqlx::Error) -> JdbcError {
    let origin = match &source {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<PgDatabaseError>()
            .and_then(|pg| pg.r#where())
            .and_then(copy_line)
            .and_then(|line| copy.origin_of_line(line)),
        _ => None,
    };
    let what = match origin {
        Some(origin) => format!("{what}, at the row of the record at {origin},"),
        None => what.to_string(),
    };
    JdbcError::Sql { what, source }
}

/// The line number in a COPY error's context.
fn copy_line(context: &str) -> Option<usize> {
    let (_, rest) = context.split_once(", line ")?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// Binds each value by its type (the writer hands Postgres only text and
/// NULLs); the SQL casts it to the column type.
fn bind<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &'q [SqlValue],
) -> Query<'q, Postgres, PgArguments> {
    for p in params {
        query = match p {
            SqlValue::Null => query.bind(None::<&str>),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Bool(b) => query.bind(*b),
            SqlValue::Text(s) | SqlValue::Json(s) => query.bind(s.as_str()),
            SqlValue::Bytes(b) => query.bind(b.as_slice()),
        };
    }
    query
}

/// DDL and other statements without parameters go over the simple (text)
/// protocol: no statement to prepare and cache.
async fn run_simple(conn: &mut PgConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_errors_name_the_line() {
        assert_eq!(
            copy_line("COPY orders, line 40, column qty: \"many\""),
            Some(40)
        );
        assert_eq!(copy_line("COPY orders, line 7"), Some(7));
        assert_eq!(copy_line("SQL statement \"…\""), None);
    }
}
