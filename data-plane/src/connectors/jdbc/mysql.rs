//! MySQL and MariaDB: one connection per task, opened at start and again
//! after it breaks.

use async_trait::async_trait;
use sqlx::mysql::{MySql, MySqlArguments, MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::query::Query;
use sqlx::Connection;

use super::backend::{self, Backend, JdbcError, LazyConnection, Target};
use super::settings::{self, SslMode};
use super::table::{ColumnInfo, TableId, TableInfo};
use super::value::SqlValue;
use super::writer::Statement;

/// MySQL has no `ADD COLUMN IF NOT EXISTS`: another task added it first.
const ER_DUP_FIELDNAME: &str = "1060";
const ER_TABLE_EXISTS: &str = "1050";

pub struct MySqlBackend {
    link: LazyConnection<MySqlConnection>,
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
            link: LazyConnection::new(
                options,
                Target {
                    kind: "MySQL",
                    address: connection.address(),
                    database: connection.database.clone(),
                    user: connection.user.clone(),
                },
            ),
        }
    }
}

#[async_trait]
impl Backend for MySqlBackend {
    async fn connect(&mut self) -> Result<(), JdbcError> {
        self.link.get().await.map(|_| ())
    }

    async fn describe(&mut self, table: &TableId) -> Result<Option<TableInfo>, JdbcError> {
        let conn = self.link.get().await?;
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
        let rows = self.link.check(rows.map_err(|source| JdbcError::Sql {
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
        let conn = self.link.get().await?;
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
            SqlValue::Bytes(b) => query.bind(b.as_slice()),
        };
    }
    query
}

/// DDL goes over the simple (text) protocol: no statement to prepare and cache.
async fn run_ddl(conn: &mut MySqlConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sql).await.map(|_| ())
}
