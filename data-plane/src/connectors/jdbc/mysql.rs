//! MySQL and MariaDB: one connection per task, opened at start and again
//! after it breaks.

use async_trait::async_trait;
use sqlx::mysql::{MySql, MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::query::Query;
use sqlx::{ConnectOptions, Connection};

use super::backend::{self, Backend, JdbcError, Target, CONNECT_TIMEOUT};
use super::settings::{self, SslMode};
use super::table::{ColumnInfo, TableId, TableInfo};
use super::value::SqlValue;
use super::writer::Statement;

/// MySQL has no `ADD COLUMN IF NOT EXISTS`: another task added it first.
const ER_DUP_FIELDNAME: &str = "1060";
const ER_TABLE_EXISTS: &str = "1050";

pub struct MySqlBackend {
    options: MySqlConnectOptions,
    target: Target,
    conn: Option<MySqlConnection>,
}

impl MySqlBackend {
    pub fn new(connection: &settings::Connection, timezone: &str) -> MySqlBackend {
        let ssl_mode = match connection.ssl_mode {
            SslMode::Disable => MySqlSslMode::Disabled,
            SslMode::Allow | SslMode::Prefer => MySqlSslMode::Preferred,
            SslMode::Require => MySqlSslMode::Required,
            SslMode::VerifyCa => MySqlSslMode::VerifyCa,
            SslMode::VerifyFull => MySqlSslMode::VerifyIdentity,
        };
        let mut options = MySqlConnectOptions::new()
            .host(&connection.host)
            .port(connection.port)
            .username(&connection.user)
            .database(&connection.database)
            .ssl_mode(ssl_mode)
            .charset("utf8mb4")
            // Named zones need the server's time zone tables; UTC is an offset.
            .timezone(Some(if timezone.eq_ignore_ascii_case("UTC") {
                "+00:00".to_string()
            } else {
                timezone.to_string()
            }));
        if !connection.password.is_empty() {
            options = options.password(connection.password.expose());
        }
        MySqlBackend {
            options,
            target: Target {
                kind: "MySQL",
                address: connection.address(),
                database: connection.database.clone(),
                user: connection.user.clone(),
            },
            conn: None,
        }
    }

    async fn conn(&mut self) -> Result<&mut MySqlConnection, JdbcError> {
        if self.conn.is_none() {
            let connect_err = |source| JdbcError::Connect {
                target: Box::new(self.target.clone()),
                source,
            };
            let conn = tokio::time::timeout(CONNECT_TIMEOUT, self.options.connect())
                .await
                .map_err(|_| connect_err(timed_out()))?
                .map_err(connect_err)?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| JdbcError::Connect {
            target: Box::new(self.target.clone()),
            source: sqlx::Error::PoolClosed,
        })
    }

    /// Forgets a connection an error has broken; the next call reconnects.
    fn check<T>(&mut self, result: Result<T, JdbcError>) -> Result<T, JdbcError> {
        if result
            .as_ref()
            .err()
            .is_some_and(JdbcError::breaks_connection)
        {
            self.conn = None;
        }
        result
    }
}

#[async_trait]
impl Backend for MySqlBackend {
    async fn connect(&mut self) -> Result<(), JdbcError> {
        self.conn().await.map(|_| ())
    }

    async fn describe(&mut self, table: &TableId) -> Result<Option<TableInfo>, JdbcError> {
        let conn = self.conn().await?;
        // CAST: MySQL 8 types some information_schema columns as binary strings.
        let rows: Result<Vec<(String, String)>, sqlx::Error> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR) \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
        )
        .bind(table.schema.as_deref())
        .bind(table.name.as_str())
        .fetch_all(conn)
        .await;
        let rows = self.check(rows.map_err(|source| JdbcError::Sql {
            what: format!("describing table {table}"),
            source,
        }))?;
        Ok((!rows.is_empty()).then(|| TableInfo {
            columns: rows
                .into_iter()
                .map(|(name, type_name)| ColumnInfo { name, type_name })
                .collect(),
        }))
    }

    async fn ddl(&mut self, sql: &str, what: &str) -> Result<(), JdbcError> {
        let conn = self.conn().await?;
        let result = match run_ddl(conn, sql).await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    backend::db_code(&e).as_deref(),
                    Some(ER_DUP_FIELDNAME | ER_TABLE_EXISTS)
                ) =>
            {
                Ok(())
            }
            Err(source) => Err(JdbcError::Sql {
                what: what.to_string(),
                source,
            }),
        };
        self.check(result)
    }

    async fn write(&mut self, statements: &[Statement]) -> Result<(), JdbcError> {
        let conn = self.conn().await?;
        let result = write_in_transaction(conn, statements).await;
        self.check(result)
    }

    async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing the MySQL connection failed");
            }
        }
    }
}

async fn write_in_transaction(
    conn: &mut MySqlConnection,
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
        bind(sqlx::query(&st.sql), &st.params)
            .execute(&mut *tx)
            .await
            .map_err(sql_err(&st.what))?;
    }
    tx.commit().await.map_err(sql_err("committing the batch"))
}

fn bind<'q>(
    mut query: Query<'q, MySql, MySqlArguments>,
    params: &'q [SqlValue],
) -> Query<'q, MySql, MySqlArguments> {
    for p in params {
        query = match p {
            SqlValue::Null => query.bind(None::<&str>),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Bool(b) => query.bind(*b),
            SqlValue::Text(s) | SqlValue::Json(s) => query.bind(s.as_str()),
        };
    }
    query
}

/// DDL goes over the simple (text) protocol: no statement to prepare and cache.
async fn run_ddl(conn: &mut MySqlConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(|_| ())
}

fn timed_out() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no connection within {CONNECT_TIMEOUT:?}"),
    ))
}
