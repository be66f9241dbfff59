//! The seam between the sink task and a database: connect, describe a
//! table, run DDL, and run a batch of statements in one transaction. Also
//! the JDBC sinks' error type and which of its errors are worth a retry.

use std::time::Duration;

use async_trait::async_trait;

use super::rows::RowError;
use super::table::{TableId, TableInfo};
use super::writer::Statement;
use crate::connectors::TaskError;

/// A connection attempt that takes longer than this is a failure (a
/// black-holed host would otherwise hang the task for minutes).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[async_trait]
pub trait Backend: Send {
    /// Connects now (the first call of a task), so a wrong host or password
    /// fails the task at start rather than at its first record.
    async fn connect(&mut self) -> Result<(), JdbcError>;
    /// The table's columns, or `None` when it does not exist.
    async fn describe(&mut self, table: &TableId) -> Result<Option<TableInfo>, JdbcError>;
    /// Runs one DDL statement outside any transaction; "already exists"
    /// (another task won the race) counts as success.
    async fn ddl(&mut self, sql: &str, what: &str) -> Result<(), JdbcError>;
    /// Runs the statements in one transaction: all or nothing.
    async fn write(&mut self, statements: &[Statement]) -> Result<(), JdbcError>;
    async fn close(&mut self);
}

/// Who a connection is for, as named in errors (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: &'static str,
    pub address: String,
    pub database: String,
    pub user: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JdbcError {
    #[error("cannot connect to {} at {} (database {}, user {}): {source}", target.kind, target.address, target.database, target.user)]
    Connect {
        target: Box<Target>,
        #[source]
        source: sqlx::Error,
    },
    #[error("{what} failed: {source}")]
    Sql {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Row(#[from] RowError),
    #[error("table {table} does not exist; create it or set auto.create=true")]
    MissingTable { table: TableId },
    #[error("table {table} has no column {columns}; add them or set auto.evolve=true")]
    MissingColumns { table: TableId, columns: String },
}

impl JdbcError {
    /// Worth retrying the batch: the connection broke, or the database
    /// refused for a passing reason (deadlock, lock timeout, shutdown).
    pub fn is_transient(&self) -> bool {
        match self {
            JdbcError::Connect { .. } => true,
            JdbcError::Sql { source, .. } => is_transient(source),
            _ => false,
        }
    }

    /// The connection cannot be used again after this error.
    pub fn breaks_connection(&self) -> bool {
        match self {
            JdbcError::Connect { .. } => true,
            JdbcError::Sql { source, .. } => breaks_connection(source),
            _ => false,
        }
    }
}

impl From<JdbcError> for TaskError {
    fn from(e: JdbcError) -> TaskError {
        if e.is_transient() {
            TaskError::Retriable(e.to_string())
        } else {
            TaskError::Fatal(e.to_string())
        }
    }
}

/// The connection is gone: I/O or protocol trouble, or the server said it
/// is closing the session (shutdown, killed, failover).
pub fn breaks_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Server shutdown, connection killed, server gone, lost connection.
                return matches!(my.number(), 1053 | 1927 | 2006 | 2013);
            }
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            code.starts_with("08") || code.starts_with("57P")
        }
        _ => false,
    }
}

fn is_transient(e: &sqlx::Error) -> bool {
    if breaks_connection(e) {
        return true;
    }
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // Lock wait timeout, deadlock, too many connections.
        return matches!(my.number(), 1205 | 1213 | 1040);
    }
    // Serialization failure, deadlock, too many connections.
    matches!(db.code().as_deref(), Some("40001" | "40P01" | "53300"))
}

/// The database error number (MySQL) or SQLSTATE (Postgres) of an error.
pub fn db_code(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return Some(my.number().to_string());
    }
    db.code().map(|c| c.into_owned())
}

/// One connection per task, opened lazily and opened again after an error
/// broke it: the same for every database.
pub struct LazyConnection<C: sqlx::Connection> {
    options: C::Options,
    target: Target,
    conn: Option<C>,
}

impl<C: sqlx::Connection> LazyConnection<C> {
    pub fn new(options: C::Options, target: Target) -> LazyConnection<C> {
        LazyConnection {
            options,
            target,
            conn: None,
        }
    }

    fn connect_error(&self, source: sqlx::Error) -> JdbcError {
        JdbcError::Connect {
            target: Box::new(self.target.clone()),
            source,
        }
    }

    /// The open connection, opening it first if needed.
    pub async fn get(&mut self) -> Result<&mut C, JdbcError> {
        use sqlx::ConnectOptions;
        if self.conn.is_none() {
            let opened = tokio::time::timeout(CONNECT_TIMEOUT, self.options.connect()).await;
            let conn = match opened {
                Err(_) => Err(self.connect_error(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no connection within {CONNECT_TIMEOUT:?}"),
                )))),
                Ok(r) => r.map_err(|e| self.connect_error(e)),
            }?;
            self.conn = Some(conn);
        }
        let target = &self.target;
        self.conn.as_mut().ok_or_else(|| JdbcError::Connect {
            target: Box::new(target.clone()),
            source: sqlx::Error::PoolClosed,
        })
    }

    /// Forgets a connection an error has broken; the next call reconnects.
    pub fn check<T>(&mut self, result: Result<T, JdbcError>) -> Result<T, JdbcError> {
        if result
            .as_ref()
            .err()
            .is_some_and(JdbcError::breaks_connection)
        {
            self.conn = None;
        }
        result
    }

    /// Takes the connection out (to close it).
    pub fn take(&mut self) -> Option<C> {
        self.conn.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_errors_name_host_and_port_and_are_retriable() {
        let e = JdbcError::Connect {
            target: Box::new(Target {
                kind: "MySQL",
                address: "db.example.com:3306".into(),
                database: "shop".into(),
                user: "app".into(),
            }),
            source: sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "Connection refused",
            )),
        };
        assert_eq!(
            e.to_string(),
            "cannot connect to MySQL at db.example.com:3306 (database shop, user app): \
             error communicating with database: Connection refused"
        );
        assert!(e.is_transient());
        assert!(matches!(TaskError::from(e), TaskError::Retriable(_)));
    }

    #[test]
    fn schema_problems_are_fatal() {
        let e = JdbcError::MissingTable {
            table: TableId {
                schema: None,
                name: "orders".into(),
            },
        };
        assert!(matches!(TaskError::from(e), TaskError::Fatal(m) if m.contains("auto.create")));
    }
}
