//! The running JDBC sink task: each `put` turns its records into rows,
//! makes sure their tables and columns exist (`auto.create`,
//! `auto.evolve`), and writes the whole batch in one transaction, so a
//! failed batch leaves nothing behind and its redelivery starts clean.

use std::collections::HashMap;

use async_trait::async_trait;

use super::backend::{Backend, JdbcError};
use super::dialect::Dialect;
use super::mysql::MySqlBackend;
use super::postgres::PostgresBackend;
use super::rows::{self, Op};
use super::settings::JdbcSettings;
use super::table::{TableId, TableInfo};
use super::value::SqlType;
use super::writer::{self, Run, Statement};
use crate::connectors::{Config, SinkTask, TaskError};
use crate::record::Record;

pub struct JdbcSinkTask {
    settings: JdbcSettings,
    dialect: Dialect,
    backend: Box<dyn Backend>,
    /// Tables as last described; dropped after a failed write, in case the
    /// table changed under us.
    tables: HashMap<TableId, TableInfo>,
}

impl JdbcSinkTask {
    /// Builds the task without connecting (see [`SinkTask::open`]).
    pub fn new(config: &Config, dialect: Dialect) -> Result<JdbcSinkTask, TaskError> {
        let settings = JdbcSettings::parse(config, dialect).map_err(|e| {
            TaskError::Fatal(format!("invalid {} sink config: {e}", dialect.name()))
        })?;
        let backend: Box<dyn Backend> = match dialect {
            Dialect::MySql => Box::new(MySqlBackend::new(
                &settings.connection,
                &settings.db_timezone,
            )),
            Dialect::Postgres => Box::new(PostgresBackend::new(
                &settings.connection,
                &settings.db_timezone,
            )),
        };
        Ok(JdbcSinkTask {
            settings,
            dialect,
            backend,
            tables: HashMap::new(),
        })
    }

    async fn write(&mut self, records: &[Record]) -> Result<(), JdbcError> {
        let mut rows = Vec::with_capacity(records.len());
        let mut declared: Vec<(TableId, rows::Declared)> = Vec::new();
        for record in records {
            if let Some((row, columns)) = rows::to_row_declared(record, &self.settings)? {
                for c in columns {
                    if !declared
                        .iter()
                        .any(|(t, d)| *t == row.table && d.name == c.name)
                    {
                        declared.push((row.table.clone(), c));
                    }
                }
                rows.push(row);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut runs = writer::group(rows);
        self.prepare_tables(&mut runs, &declared).await?;

        let mut statements: Vec<Statement> = Vec::new();
        for run in &runs {
            let casts = self.casts(run);
            statements.extend(writer::statements(
                self.dialect,
                self.settings.insert_mode,
                run,
                &casts,
                self.settings.batch_size,
            ));
        }
        if statements.is_empty() {
            return Ok(());
        }
        self.backend.write(&statements).await
    }

    /// Describes every table the runs touch, creating missing tables and
    /// columns when allowed. Deletes aimed at a table that does not exist
    /// are dropped: there is nothing to delete.
    async fn prepare_tables(
        &mut self,
        runs: &mut Vec<Run>,
        declared: &[(TableId, rows::Declared)],
    ) -> Result<(), JdbcError> {
        let mut tables: Vec<TableId> = Vec::new();
        for run in runs.iter() {
            if !tables.contains(&run.table) {
                tables.push(run.table.clone());
            }
        }
        for table in tables {
            let needed = needed_columns(runs, &table, declared);
            let writes = runs.iter().any(|r| r.table == table && r.op == Op::Write);
            let info = match self.describe(&table).await? {
                Some(info) => info,
                None if !writes => {
                    runs.retain(|r| r.table != table);
                    continue;
                }
                None if self.settings.auto_create => {
                    self.create(&table, &needed).await?;
                    self.describe(&table)
                        .await?
                        .ok_or_else(|| JdbcError::MissingTable {
                            table: table.clone(),
                        })?
                }
                None => return Err(JdbcError::MissingTable { table }),
            };
            let ci = self.dialect.case_insensitive_columns();
            let missing: Vec<&Needed> = needed
                .iter()
                .filter(|n| info.column(&n.name, ci).is_none())
                .collect();
            if missing.is_empty() {
                continue;
            }
            if !self.settings.auto_evolve {
                return Err(JdbcError::MissingColumns {
                    table,
                    columns: missing
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            for column in missing {
                let sql = self.dialect.add_column(&table, &column.name, column.ty);
                tracing::info!(%table, column = %column.name, "adding column (auto.evolve)");
                self.backend
                    .ddl(
                        &sql,
                        &format!("adding column {} to table {table}", column.name),
                    )
                    .await?;
            }
            self.tables.remove(&table);
            self.describe(&table).await?;
        }
        Ok(())
    }

    async fn describe(&mut self, table: &TableId) -> Result<Option<TableInfo>, JdbcError> {
        if let Some(info) = self.tables.get(table) {
            return Ok(Some(info.clone()));
        }
        let info = self.backend.describe(table).await?;
        if let Some(info) = &info {
            self.tables.insert(table.clone(), info.clone());
        }
        Ok(info)
    }

    async fn create(&mut self, table: &TableId, needed: &[Needed]) -> Result<(), JdbcError> {
        let columns: Vec<(String, SqlType, bool)> = needed
            .iter()
            .map(|n| (n.name.clone(), n.ty, n.nullable))
            .collect();
        let key: Vec<String> = needed
            .iter()
            .filter(|n| n.key)
            .map(|n| n.name.clone())
            .collect();
        let sql = self.dialect.create_table_nullable(table, &columns, &key);
        tracing::info!(%table, "creating table (auto.create)");
        self.backend
            .ddl(&sql, &format!("creating table {table}"))
            .await
    }

    /// Postgres casts each parameter to its column's declared type (and
    /// writes COPY fields as that type takes them).
    fn casts(&self, run: &Run) -> Vec<Option<String>> {
        let info = match (self.dialect, self.tables.get(&run.table)) {
            (Dialect::Postgres, Some(info)) => info,
            _ => return Vec::new(),
        };
        run.columns()
            .iter()
            .map(|c| info.column(c, false).map(|col| col.type_name.clone()))
            .collect()
    }
}

/// A column the rows need, with the type its record's schema declares or,
/// schemaless, the type its first non-null value asks for.
#[derive(Debug, Clone, PartialEq)]
struct Needed {
    name: String,
    ty: SqlType,
    key: bool,
    /// Schemaless columns are nullable: records may leave any field out.
    nullable: bool,
}

fn needed_columns(
    runs: &[Run],
    table: &TableId,
    declared: &[(TableId, rows::Declared)],
) -> Vec<Needed> {
    // (name, type of the first non-null value, is a key column)
    let mut seen: Vec<(&str, Option<SqlType>, bool)> = Vec::new();
    for run in runs.iter().filter(|r| &r.table == table) {
        for row in &run.rows {
            let key = row.key.iter().map(|c| (c, true));
            let values = row.values.iter().map(|c| (c, false));
            for ((name, value), is_key) in key.chain(values) {
                match seen.iter_mut().find(|(n, _, _)| n == name) {
                    Some((_, ty @ None, _)) => *ty = value.sql_type(),
                    Some(_) => {}
                    None => seen.push((name, value.sql_type(), is_key)),
                }
            }
        }
    }
    seen.into_iter()
        .map(|(name, ty, key)| {
            let schema = declared
                .iter()
                .find(|(t, d)| t == table && d.name == name)
                .map(|(_, d)| d);
            Needed {
                name: name.to_string(),
                // Null in every record: TEXT takes whatever comes later.
                ty: schema.map(|d| d.ty).or(ty).unwrap_or(SqlType::Text),
                key,
                nullable: schema.is_none_or(|d| d.nullable),
            }
        })
        .collect()
}

#[async_trait]
impl SinkTask for JdbcSinkTask {
    /// Connection failures here fail the task: a wrong host or password
    /// will not fix itself, and the error names host:port and user.
    async fn open(&mut self) -> Result<(), TaskError> {
        self.backend
            .connect()
            .await
            .map_err(|e| TaskError::Fatal(e.to_string()))?;
        let c = &self.settings.connection;
        tracing::info!(
            database = self.dialect.name(),
            address = %c.address(),
            db = %c.database,
            user = %c.user,
            "connected"
        );
        Ok(())
    }

    async fn put(&mut self, records: Vec<Record>) -> Result<(), TaskError> {
        let result = self.write(&records).await;
        if let Err(e) = &result {
            // Someone may have altered or dropped a table: look again next time.
            self.tables.clear();
            if e.is_transient() {
                tracing::warn!(error = %e, "writing a batch failed; it will be retried");
            }
        }
        result.map_err(TaskError::from)
    }

    async fn close(&mut self) {
        self.backend.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::{Origin, Row};
    use super::super::value::SqlValue;
    use super::*;

    fn row(values: &[(&str, SqlValue)], key: bool) -> Row {
        let cols: Vec<(String, SqlValue)> = values
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        Row {
            table: TableId {
                schema: None,
                name: "t".into(),
            },
            op: Op::Write,
            key: if key { cols[..1].to_vec() } else { Vec::new() },
            values: if key { cols[1..].to_vec() } else { cols },
            origin: Origin {
                topic: "t".into(),
                partition: None,
                offset: None,
            },
        }
    }

    #[test]
    fn column_types_come_from_the_first_non_null_value() {
        let runs = writer::group(vec![
            row(&[("id", SqlValue::Int(1)), ("note", SqlValue::Null)], true),
            row(
                &[("id", SqlValue::Int(2)), ("note", SqlValue::Float(1.5))],
                true,
            ),
            row(
                &[
                    ("id", SqlValue::Int(3)),
                    ("note", SqlValue::Text("x".into())),
                ],
                true,
            ),
        ]);
        let needed = needed_columns(&runs, &runs[0].table, &[]);
        assert_eq!(
            needed,
            vec![
                Needed {
                    name: "id".into(),
                    ty: SqlType::BigInt,
                    key: true,
                    nullable: true,
                },
                Needed {
                    name: "note".into(),
                    ty: SqlType::Double,
                    key: false,
                    nullable: true,
                },
            ]
        );
    }
}
