//! From a batch of rows to SQL statements: consecutive rows of the same
//! table and shape form a run, and each run becomes few multi-row
//! statements (rather than one statement per row, the Java sink's way).
//! Order is kept across runs, so a write then a delete of the same key in
//! one batch ends deleted. Postgres copies longer runs instead ([`pg_copy`]).

use std::collections::HashMap;

use super::dialect::{Dialect, OnConflict};
use super::pg_copy::{self, CopyData};
use super::rows::{Op, Row};
use super::settings::InsertMode;
use super::table::TableId;
use super::value::SqlValue;

/// Bind parameters per statement: both databases stop at 65535.
const MAX_PARAMS: usize = 65_000;
/// Rough cap on a statement's size, well under MySQL's default
/// `max_allowed_packet` (16 MiB on MariaDB, 64 MiB on MySQL 8).
const MAX_STATEMENT_BYTES: usize = 4 << 20;

/// Rows of one table with the same operation and the same columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub table: TableId,
    pub op: Op,
    pub key: Vec<String>,
    pub values: Vec<String>,
    pub rows: Vec<Row>,
}

impl Run {
    /// Key columns, then value columns: the order of parameters and casts.
    pub fn columns(&self) -> Vec<String> {
        self.key.iter().chain(self.values.iter()).cloned().collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
    /// The rows of a `COPY … FROM STDIN` (Postgres); such a statement has
    /// no parameters.
    pub copy: Option<CopyData>,
    /// What the statement does, for error messages.
    pub what: String,
}

/// Groups consecutive rows of the same table, operation and columns.
pub fn group(rows: Vec<Row>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for row in rows {
        let fits = runs.last().is_some_and(|run| {
            run.table == row.table
                && run.op == row.op
                && run.key.iter().map(String::as_str).eq(row.key_names())
                && run.values.iter().map(String::as_str).eq(row.value_names())
        });
        if fits {
            if let Some(run) = runs.last_mut() {
                run.rows.push(row);
            }
        } else {
            runs.push(Run {
                table: row.table.clone(),
                op: row.op,
                key: row.key_names().map(str::to_string).collect(),
                values: row.value_names().map(str::to_string).collect(),
                rows: vec![row],
            });
        }
    }
    runs
}

/// The statements of one run. `casts` line up with [`Run::columns`];
/// `max_rows` is `batch.sizes`.
pub fn statements(
    dialect: Dialect,
    mode: InsertMode,
    run: &Run,
    casts: &[Option<String>],
    max_rows: usize,
) -> Vec<Statement> {
    let copy = |rows: usize| dialect == Dialect::Postgres && rows >= pg_copy::MIN_ROWS;
    let (key_casts, value_casts) = casts.split_at(run.key.len().min(casts.len()));
    match (run.op, mode) {
        (Op::Delete, _) => chunks(&run.rows, run.key.len(), max_rows)
            .into_iter()
            .map(|rows| Statement {
                sql: dialect.delete(&run.table, &run.key, key_casts, rows.len()),
                params: rows
                    .iter()
                    .flat_map(|r| params(dialect, &r.key, key_casts))
                    .collect(),
                copy: None,
                what: describe("delete", rows, &run.table),
            })
            .collect(),
        (Op::Write, InsertMode::Update) => {
            if run.values.is_empty() {
                // Nothing to set: the row is all key.
                return Vec::new();
            }
            // The last update of a key is what updating row by row leaves.
            let last = last_per_key(&run.rows);
            if copy(last.len()) {
                return pg_copy::update(run, &last, casts);
            }
            run.rows
                .iter()
                .map(|row| Statement {
                    sql: dialect.update(&run.table, &run.values, value_casts, &run.key, key_casts),
                    params: params(dialect, &row.values, value_casts)
                        .chain(params(dialect, &row.key, key_casts))
                        .collect(),
                    copy: None,
                    what: describe("update", std::slice::from_ref(row), &run.table),
                })
                .collect()
        }
        (Op::Write, InsertMode::Insert | InsertMode::Upsert) => {
            let upsert = mode == InsertMode::Upsert && !run.key.is_empty();
            // Postgres refuses to upsert one key twice in a statement; the
            // last write of a key is what sequential upserts leave anyway.
            let rows: Vec<&Row> = if upsert {
                last_per_key(&run.rows)
            } else {
                run.rows.iter().collect()
            };
            if copy(rows.len()) {
                return if upsert {
                    pg_copy::upsert(run, &rows, casts)
                } else {
                    pg_copy::insert(run, &rows, casts)
                };
            }
            let on_conflict = if upsert {
                OnConflict::Update { key: &run.key }
            } else {
                OnConflict::Fail
            };
            let columns = run.columns();
            chunks(&rows, columns.len(), max_rows)
                .into_iter()
                .map(|rows| Statement {
                    sql: dialect.insert(&run.table, &columns, casts, rows.len(), on_conflict),
                    params: rows
                        .iter()
                        .flat_map(|r| {
                            params(dialect, &r.key, key_casts).chain(params(
                                dialect,
                                &r.values,
                                value_casts,
                            ))
                        })
                        .collect(),
                    copy: None,
                    what: describe(if upsert { "upsert" } else { "insert" }, rows, &run.table),
                })
                .collect()
        }
    }
}

/// The parameters of some columns. Postgres gets every value as text (see
/// [`pg_copy::text`]), cast in the SQL to the column type; MySQL gets each
/// by its JSON type.
fn params<'a>(
    dialect: Dialect,
    columns: &'a [(String, SqlValue)],
    casts: &'a [Option<String>],
) -> impl Iterator<Item = SqlValue> + 'a {
    columns
        .iter()
        .enumerate()
        .map(move |(i, (_, v))| match dialect {
            Dialect::MySql => v.clone(),
            Dialect::Postgres => match pg_copy::text(v, casts.get(i).and_then(|c| c.as_deref())) {
                None => SqlValue::Null,
                Some(text) => SqlValue::Text(text.into_owned()),
            },
        })
}

/// Keeps the last row of each key, in the order of those last rows.
fn last_per_key(rows: &[Row]) -> Vec<&Row> {
    // Values hold floats (no `Hash`): a key's identity is its rendering,
    // made once per row.
    let keys: Vec<String> = rows.iter().map(|r| format!("{:?}", r.key)).collect();
    let last: HashMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    rows.iter()
        .zip(&keys)
        .enumerate()
        .filter(|(i, (_, k))| last.get(k.as_str()) == Some(i))
        .map(|(_, (row, _))| row)
        .collect()
}

/// Splits rows so each statement stays within the row, parameter and size caps.
fn chunks<R: std::borrow::Borrow<Row>>(rows: &[R], columns: usize, max_rows: usize) -> Vec<&[R]> {
    let max_rows = max_rows.min(MAX_PARAMS / columns.max(1)).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, row) in rows.iter().enumerate() {
        let row = row.borrow();
        let size: usize = row
            .key
            .iter()
            .chain(row.values.iter())
            .map(|(_, v)| v.approx_size() + 4)
            .sum();
        let count = i - start;
        if count > 0 && (count >= max_rows || bytes + size > MAX_STATEMENT_BYTES) {
            out.push(&rows[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

pub fn describe<R: std::borrow::Borrow<Row>>(verb: &str, rows: &[R], table: &TableId) -> String {
    let n = rows.len();
    let plural = if n == 1 { "" } else { "s" };
    match rows.first() {
        Some(first) => format!(
            "{verb} of {n} row{plural} into {table} (first record at {})",
            first.borrow().origin
        ),
        None => format!("{verb} into {table}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::Origin;
    use super::*;

    fn row(table: &str, op: Op, key: &[(&str, i64)], values: &[(&str, &str)], offset: i64) -> Row {
        Row {
            table: TableId {
                schema: None,
                name: table.into(),
            },
            op,
            key: key
                .iter()
                .map(|(k, v)| (k.to_string(), SqlValue::Int(*v)))
                .collect(),
            values: values
                .iter()
                .map(|(k, v)| (k.to_string(), SqlValue::Text(v.to_string())))
                .collect(),
            origin: Origin {
                topic: table.into(),
                partition: Some(0),
                offset: Some(offset),
            },
        }
    }

    #[test]
    fn consecutive_rows_of_one_shape_form_a_run() {
        let rows = vec![
            row("a", Op::Write, &[("id", 1)], &[("x", "1")], 0),
            row("a", Op::Write, &[("id", 2)], &[("x", "2")], 1),
            row("a", Op::Write, &[("id", 3)], &[("x", "3"), ("y", "3")], 2),
            row("a", Op::Delete, &[("id", 1)], &[], 3),
            row("b", Op::Write, &[("id", 1)], &[("x", "1")], 4),
            row("a", Op::Write, &[("id", 4)], &[("x", "4")], 5),
        ];
        let runs = group(rows);
        let shape: Vec<(&str, Op, usize)> = runs
            .iter()
            .map(|r| (r.table.name.as_str(), r.op, r.rows.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a", Op::Write, 2),
                ("a", Op::Write, 1),
                ("a", Op::Delete, 1),
                ("b", Op::Write, 1),
                ("a", Op::Write, 1)
            ]
        );
    }

    #[test]
    fn upsert_batches_keep_the_last_write_of_each_key() {
        let runs = group(vec![
            row("t", Op::Write, &[("id", 1)], &[("x", "old")], 0),
            row("t", Op::Write, &[("id", 2)], &[("x", "b")], 1),
            row("t", Op::Write, &[("id", 1)], &[("x", "new")], 2),
        ]);
        let st = statements(
            Dialect::Postgres,
            InsertMode::Upsert,
            &runs[0],
            &[None, None],
            3000,
        );
        assert_eq!(st.len(), 1);
        assert_eq!(
            st[0].sql,
            "INSERT INTO \"t\" (\"id\",\"x\") VALUES ($1,$2),($3,$4) ON CONFLICT (\"id\") DO UPDATE SET \"x\"=EXCLUDED.\"x\""
        );
        assert_eq!(
            st[0].params,
            // Postgres takes every value as text, cast to the column type.
            vec![
                SqlValue::Text("2".into()),
                SqlValue::Text("b".into()),
                SqlValue::Text("1".into()),
                SqlValue::Text("new".into())
            ]
        );
        assert_eq!(
            st[0].what,
            "upsert of 2 rows into t (first record at topic t partition 0 offset 1)"
        );
    }

    #[test]
    fn plain_inserts_keep_every_row_and_split_at_batch_size() {
        let rows: Vec<Row> = (0..5)
            .map(|i| row("t", Op::Write, &[], &[("x", "v")], i))
            .collect();
        let runs = group(rows);
        let st = statements(Dialect::MySql, InsertMode::Insert, &runs[0], &[None], 2);
        let sizes: Vec<usize> = st.iter().map(|s| s.params.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        assert_eq!(st[0].sql, "INSERT INTO `t` (`x`) VALUES (?),(?)");
    }

    #[test]
    fn statements_stay_under_the_parameter_limit() {
        let values: Vec<(String, SqlValue)> = (0..100)
            .map(|i| (format!("c{i}"), SqlValue::Int(i)))
            .collect();
        let rows: Vec<Row> = (0..1000)
            .map(|i| Row {
                values: values.clone(),
                ..row("t", Op::Write, &[], &[], i)
            })
            .collect();
        let runs = group(rows);
        // MySQL: Postgres copies a run this long.
        let st = statements(Dialect::MySql, InsertMode::Insert, &runs[0], &[], 3000);
        assert!(st.iter().all(|s| s.params.len() <= 65_535));
        assert_eq!(st.iter().map(|s| s.params.len()).sum::<usize>(), 100_000);
    }

    #[test]
    fn updates_are_per_row_and_deletes_are_batched() {
        let runs = group(vec![
            row("t", Op::Write, &[("id", 1)], &[("x", "a")], 0),
            row("t", Op::Write, &[("id", 2)], &[("x", "b")], 1),
            row("t", Op::Delete, &[("id", 1)], &[], 2),
            row("t", Op::Delete, &[("id", 2)], &[], 3),
        ]);
        let up = statements(
            Dialect::MySql,
            InsertMode::Update,
            &runs[0],
            &[None, None],
            3000,
        );
        assert_eq!(up.len(), 2);
        assert_eq!(up[0].sql, "UPDATE `t` SET `x`=? WHERE `id`=?");
        assert_eq!(
            up[0].params,
            vec![SqlValue::Text("a".into()), SqlValue::Int(1)]
        );
        let del = statements(Dialect::MySql, InsertMode::Upsert, &runs[1], &[None], 3000);
        assert_eq!(del.len(), 1);
        assert_eq!(del[0].sql, "DELETE FROM `t` WHERE `id` IN (?,?)");
        assert_eq!(del[0].params, vec![SqlValue::Int(1), SqlValue::Int(2)]);
    }
}
