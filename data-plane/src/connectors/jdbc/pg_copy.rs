//! Postgres bulk writes with `COPY … FROM STDIN`, the fastest way into a
//! Postgres table: one round trip of tab-separated text for the whole run
//! instead of statements whose bind parameters the server parses one by one.
//!
//! * INSERT: `COPY` straight into the table.
//! * UPSERT and UPDATE: `COPY` into a staging table, then one
//!   `INSERT … SELECT … ON CONFLICT DO UPDATE` or `UPDATE … FROM` from it.
//!   The staging table is temporary, shaped like the run's columns of the
//!   table, and kept by the connection for the next batch of that shape
//!   (`ON COMMIT DELETE ROWS`): creating and dropping one per batch costs
//!   more than the COPY saves at the default 500 rows per batch.
//!
//! Text rather than binary format: the server then converts every field
//! with the column type's own input function, exactly as the `$n::type`
//! casts of the statement path do, so a string lands in a timestamp, uuid,
//! enum or jsonb column without the sink knowing each type's binary layout.
//! Numbers and booleans are written the way the casts from `bigint`,
//! `double precision` and `boolean` would convert them; the statement path
//! binds the same text ([`text`]), so both write the same.

use std::borrow::Cow;

use super::dialect::Dialect;
use super::rows::{Origin, Row};
use super::value::SqlValue;
use super::writer::{describe, Run, Statement};

/// Runs shorter than this go as multi-row statements: a staging table and
/// a COPY cost more round trips than they save on a handful of rows (say
/// CDC changes where writes and deletes alternate).
pub const MIN_ROWS: usize = 8;

/// The rows of a `COPY … FROM STDIN`.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyData {
    /// COPY's text format: one line per row, fields separated by tabs.
    pub data: Vec<u8>,
    /// The record of each line, to name the one the database refuses.
    pub origins: Vec<Origin>,
}

impl CopyData {
    /// The record of a 1-based line number of the data, as COPY errors name it.
    pub fn origin_of_line(&self, line: usize) -> Option<&Origin> {
        line.checked_sub(1).and_then(|i| self.origins.get(i))
    }
}

/// `INSERT`: the rows copied straight into the table.
pub fn insert(run: &Run, rows: &[&Row], types: &[Option<String>]) -> Vec<Statement> {
    let columns = run.columns();
    vec![copy(
        &Dialect::Postgres.table(&run.table),
        &columns,
        rows,
        types,
        describe("copy", rows, &run.table),
    )]
}

/// `UPSERT`: the rows (one per key) staged, then inserted, overwriting the
/// non-key columns of existing keys.
pub fn upsert(run: &Run, rows: &[&Row], types: &[Option<String>]) -> Vec<Statement> {
    let pg = Dialect::Postgres;
    let columns = run.columns();
    let staged = staging_table(run, types);
    let list = pg.column_list(&columns);
    let merge = format!(
        "INSERT INTO {} ({list}) SELECT {list} FROM {staged} {}",
        pg.table(&run.table),
        pg.upsert_clause(&columns, &run.key)
    );
    staged_write(run, rows, types, &staged, merge, "upsert")
}

/// `UPDATE`: the rows (one per key) staged, then their non-key columns set
/// on the existing rows with the same key; keys not in the table change nothing.
pub fn update(run: &Run, rows: &[&Row], types: &[Option<String>]) -> Vec<Statement> {
    let pg = Dialect::Postgres;
    let staged = staging_table(run, types);
    let set: Vec<String> = run
        .values
        .iter()
        .map(|c| format!("{q}=s.{q}", q = pg.quote(c)))
        .collect();
    let on: Vec<String> = run
        .key
        .iter()
        .map(|c| format!("t.{q}=s.{q}", q = pg.quote(c)))
        .collect();
    let apply = format!(
        "UPDATE {} AS t SET {} FROM {staged} AS s WHERE {}",
        pg.table(&run.table),
        set.join(","),
        on.join(" AND ")
    );
    staged_write(run, rows, types, &staged, apply, "update")
}

fn staged_write(
    run: &Run,
    rows: &[&Row],
    types: &[Option<String>],
    staged: &str,
    apply: String,
    verb: &str,
) -> Vec<Statement> {
    let pg = Dialect::Postgres;
    let columns = run.columns();
    // The table's own column types (a SELECT of no rows), none of its
    // constraints: those are checked when the rows reach the table. The
    // DELETE empties it when an earlier run of this batch used it.
    let prepare = format!(
        "CREATE TEMPORARY TABLE IF NOT EXISTS {staged} ON COMMIT DELETE ROWS \
         AS SELECT {} FROM {} WITH NO DATA; DELETE FROM {staged}",
        pg.column_list(&columns),
        pg.table(&run.table)
    );
    vec![
        Statement {
            sql: prepare,
            params: Vec::new(),
            copy: None,
            what: format!(
                "preparing a staging table for the {verb} into {}",
                run.table
            ),
        },
        copy(
            staged,
            &columns,
            rows,
            types,
            describe(&format!("staging for the {verb}"), rows, &run.table),
        ),
        Statement {
            sql: apply,
            params: Vec::new(),
            copy: None,
            what: describe(verb, rows, &run.table),
        },
    ]
}

/// The staging table of a run's shape: its table, columns and their types
/// (hashed, to keep within Postgres' 63-byte names). Schema-qualified with
/// `pg_temp`, so the name can never mean a table of the user's.
fn staging_table(run: &Run, types: &[Option<String>]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (&run.table, run.columns(), types).hash(&mut h);
    format!("pg_temp.\"tributary_stage_{:016x}\"", h.finish())
}

fn copy(
    table: &str,
    columns: &[String],
    rows: &[&Row],
    types: &[Option<String>],
    what: String,
) -> Statement {
    Statement {
        sql: format!(
            "COPY {table} ({}) FROM STDIN",
            Dialect::Postgres.column_list(columns)
        ),
        params: Vec::new(),
        copy: Some(CopyData {
            data: encode(rows, types),
            origins: rows.iter().map(|r| r.origin.clone()).collect(),
        }),
        what,
    }
}

/// How a column type takes numbers and booleans, mirroring the casts from
/// `bigint`, `double precision` and `boolean` the statement path applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// smallint, integer, bigint: a double is rounded (half to even), a
    /// boolean is 1 or 0.
    Integer,
    /// A double keeps 15 significant digits.
    Numeric,
    /// double precision, real: any exact text of the double.
    Float,
    /// Text and everything else: a double as Postgres prints one.
    Other,
}

impl Target {
    fn of(type_name: Option<&str>) -> Target {
        match type_name {
            Some("smallint" | "integer" | "bigint") => Target::Integer,
            Some("numeric") => Target::Numeric,
            Some("double precision" | "real") => Target::Float,
            _ => Target::Other,
        }
    }
}

/// The rows in COPY's text format; `types` (the columns' declared types)
/// line up with each row's key then value columns.
pub fn encode(rows: &[&Row], types: &[Option<String>]) -> Vec<u8> {
    let targets: Vec<Target> = types.iter().map(|t| Target::of(t.as_deref())).collect();
    let size: usize = rows
        .iter()
        .flat_map(|r| r.key.iter().chain(r.values.iter()))
        .map(|(_, v)| v.approx_size() + 1)
        .sum();
    let mut out = Vec::with_capacity(size + size / 16);
    for row in rows {
        for (i, (_, value)) in row.key.iter().chain(row.values.iter()).enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            let target = targets.get(i).copied().unwrap_or(Target::Other);
            push_value(&mut out, value, target);
        }
        out.push(b'\n');
    }
    out
}

fn push_value(out: &mut Vec<u8>, value: &SqlValue, target: Target) {
    match render(value, target) {
        None => out.extend_from_slice(b"\\N"),
        Some(text) => push_escaped(out, &text),
    }
}

/// `bytea`'s hex input format, `\x` then two hex digits per byte.
fn bytea_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
    }
    out
}

/// A value as the text the column type's input function reads (`None`
/// for NULL): what a COPY field holds, before escaping, and what the
/// statement path binds. Binding every value as text keeps each
/// statement's parameter types the same from one batch to the next, as
/// the connection's cache of prepared statements needs.
pub fn text<'a>(value: &'a SqlValue, type_name: Option<&str>) -> Option<Cow<'a, str>> {
    render(value, Target::of(type_name))
}

/// [`text`] for a column type already classified (once per column, not per value).
fn render(value: &SqlValue, target: Target) -> Option<Cow<'_, str>> {
    match value {
        SqlValue::Null => None,
        SqlValue::Int(i) => Some(Cow::Owned(i.to_string())),
        SqlValue::Bool(b) => Some(Cow::Borrowed(bool_text(*b, target))),
        SqlValue::Float(f) => Some(Cow::Owned(float_text(*f, target))),
        SqlValue::Text(s) | SqlValue::Json(s) => Some(Cow::Borrowed(s)),
        SqlValue::Bytes(b) => Some(Cow::Owned(bytea_text(b))),
    }
}

/// Booleans into integer columns as 1 and 0, as the cast to integer does.
fn bool_text(b: bool, target: Target) -> &'static str {
    match (target, b) {
        (Target::Integer, true) => "1",
        (Target::Integer, false) => "0",
        (_, true) => "true",
        (_, false) => "false",
    }
}

/// Backslash, tab, newline and carriage return are the characters COPY's
/// text format gives a meaning; everything else (any Unicode) goes as is.
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        // ASCII bytes never occur inside a multi-byte UTF-8 character.
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// A double as the cast from `double precision` to the column type would
/// turn it into text.
fn float_text(f: f64, target: Target) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    match target {
        // Out of range stays out of range: the column refuses it, as the cast does.
        Target::Integer => format!("{}", f.round_ties_even()),
        Target::Numeric => {
            // Postgres converts with "%.15g": 15 significant digits, no trailing zeros.
            let sci = format!("{f:.14e}");
            match sci.split_once('e') {
                Some((mantissa, exp)) if mantissa.contains('.') => {
                    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
                    format!("{mantissa}e{exp}")
                }
                _ => sci,
            }
        }
        Target::Float => format!("{f}"),
        Target::Other => pg_float8_text(f),
    }
}

/// Postgres' output of a double: the shortest exact digits, in exponent
/// notation below 1e-4 and from 1e15 on (`1e+21`, `1.5e-07`).
fn pg_float8_text(f: f64) -> String {
    let sci = format!("{f:e}");
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    match exp.parse::<i32>() {
        Ok(e) if !(-4..15).contains(&e) => {
            let sign = if e < 0 { '-' } else { '+' };
            format!("{mantissa}e{sign}{:02}", e.unsigned_abs())
        }
        _ => format!("{f}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::Op;
    use super::super::settings::InsertMode;
    use super::super::table::TableId;
    use super::super::writer;
    use super::*;

    fn origin(offset: i64) -> Origin {
        Origin {
            topic: "t".into(),
            partition: Some(0),
            offset: Some(offset),
        }
    }

    fn row(key: Option<i64>, values: Vec<(&str, SqlValue)>, offset: i64) -> Row {
        Row {
            table: TableId {
                schema: None,
                name: "t".into(),
            },
            op: Op::Write,
            key: key
                .map(|k| vec![("id".to_string(), SqlValue::Int(k))])
                .unwrap_or_default(),
            values: values
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            origin: origin(offset),
        }
    }

    fn text(rows: &[Row], types: &[Option<&str>]) -> String {
        let refs: Vec<&Row> = rows.iter().collect();
        let types: Vec<Option<String>> = types.iter().map(|t| t.map(str::to_string)).collect();
        String::from_utf8(encode(&refs, &types)).expect("utf-8")
    }

    #[test]
    fn special_characters_are_escaped_and_nulls_are_marked() {
        let rows = vec![
            row(
                Some(1),
                vec![
                    (
                        "a",
                        SqlValue::Text("tab\there\nnew\rline \\N back\\slash".into()),
                    ),
                    ("b", SqlValue::Null),
                    ("c", SqlValue::Text(String::new())),
                ],
                0,
            ),
            row(
                Some(2),
                vec![
                    ("a", SqlValue::Text("Grüße, 東京 🚀 \\.".into())),
                    ("b", SqlValue::Json(r#"{"q":"a\tb"}"#.into())),
                    ("c", SqlValue::Text("\\".into())),
                ],
                1,
            ),
        ];
        assert_eq!(
            text(&rows, &[None, None, None, None]),
            "1\ttab\\there\\nnew\\rline \\\\N back\\\\slash\t\\N\t\n\
             2\tGrüße, 東京 🚀 \\\\.\t{\"q\":\"a\\\\tb\"}\t\\\\\n"
        );
    }

    #[test]
    fn numbers_and_booleans_are_written_as_the_casts_convert_them() {
        let value = |v: SqlValue, ty: &str| text(&[row(None, vec![("x", v)], 0)], &[Some(ty)]);
        assert_eq!(value(SqlValue::Int(-42), "bigint"), "-42\n");
        assert_eq!(value(SqlValue::Float(2.5), "integer"), "2\n");
        assert_eq!(value(SqlValue::Float(3.5), "bigint"), "4\n");
        assert_eq!(value(SqlValue::Float(-0.4), "smallint"), "-0\n");
        assert_eq!(value(SqlValue::Bool(true), "integer"), "1\n");
        assert_eq!(value(SqlValue::Bool(false), "boolean"), "false\n");
        assert_eq!(value(SqlValue::Bool(true), "text"), "true\n");
        assert_eq!(value(SqlValue::Float(0.1 + 0.2), "numeric"), "3e-1\n");
        assert_eq!(value(SqlValue::Float(123.456), "numeric"), "1.23456e2\n");
        assert_eq!(
            value(SqlValue::Float(0.1 + 0.2), "double precision"),
            "0.30000000000000004\n"
        );
        assert_eq!(value(SqlValue::Float(1e21), "text"), "1e+21\n");
        assert_eq!(value(SqlValue::Float(1.5e-7), "text"), "1.5e-07\n");
        assert_eq!(value(SqlValue::Float(0.0001), "text"), "0.0001\n");
        assert_eq!(value(SqlValue::Float(2.5), "text"), "2.5\n");
        assert_eq!(
            value(SqlValue::Float(123456789012345.0), "text"),
            "123456789012345\n"
        );
        assert_eq!(
            value(SqlValue::Float(1234567890123456.0), "text"),
            "1.234567890123456e+15\n"
        );
        assert_eq!(value(SqlValue::Float(f64::NAN), "real"), "NaN\n");
        assert_eq!(
            value(SqlValue::Float(f64::NEG_INFINITY), "double precision"),
            "-Infinity\n"
        );
    }

    fn run_of(n: i64, dup: bool) -> writer::Run {
        let mut rows: Vec<Row> = (0..n)
            .map(|i| row(Some(i), vec![("x", SqlValue::Int(i))], i))
            .collect();
        if dup {
            rows.push(row(Some(0), vec![("x", SqlValue::Int(100))], n));
        }
        writer::group(rows).remove(0)
    }

    #[test]
    fn short_runs_stay_statements_and_long_runs_copy() {
        let casts = [Some("bigint".to_string()), Some("bigint".to_string())];
        let short = run_of(MIN_ROWS as i64 - 1, false);
        let st = writer::statements(Dialect::Postgres, InsertMode::Insert, &short, &casts, 3000);
        assert!(st[0].copy.is_none());
        assert!(st[0].sql.starts_with("INSERT INTO"), "{}", st[0].sql);

        let long = run_of(MIN_ROWS as i64, false);
        let st = writer::statements(Dialect::Postgres, InsertMode::Insert, &long, &casts, 3);
        assert_eq!(st.len(), 1, "one COPY whatever batch.sizes says");
        assert_eq!(st[0].sql, "COPY \"t\" (\"id\",\"x\") FROM STDIN");
        let copy = st[0].copy.as_ref().expect("copy data");
        assert!(copy.data.starts_with(b"0\t0\n1\t1\n"));
        assert_eq!(copy.origin_of_line(2), Some(&origin(1)));
        assert_eq!(copy.origin_of_line(0), None);

        // MySQL keeps its multi-row statements.
        let st = writer::statements(Dialect::MySql, InsertMode::Insert, &long, &[], 3000);
        assert!(st.iter().all(|s| s.copy.is_none()));
    }

    #[test]
    fn upserts_stage_one_row_per_key_then_merge() {
        let casts = [Some("bigint".to_string()), Some("bigint".to_string())];
        let run = run_of(MIN_ROWS as i64, true);
        let st = writer::statements(Dialect::Postgres, InsertMode::Upsert, &run, &casts, 3000);
        let stage = st[1]
            .sql
            .strip_prefix("COPY ")
            .and_then(|s| s.strip_suffix(" (\"id\",\"x\") FROM STDIN"))
            .expect("a COPY into the staging table");
        assert!(stage.starts_with("pg_temp.\"tributary_stage_"), "{stage}");
        assert_eq!(
            st[0].sql,
            format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS \
                 AS SELECT \"id\",\"x\" FROM \"t\" WITH NO DATA; DELETE FROM {stage}"
            )
        );
        assert_eq!(
            st[2].sql,
            format!(
                "INSERT INTO \"t\" (\"id\",\"x\") SELECT \"id\",\"x\" FROM {stage} \
                 ON CONFLICT (\"id\") DO UPDATE SET \"x\"=EXCLUDED.\"x\""
            )
        );
        // One staging table per shape: other column types, another table.
        let text = [Some("bigint".to_string()), Some("text".to_string())];
        let other = writer::statements(Dialect::Postgres, InsertMode::Upsert, &run, &text, 3000);
        assert_ne!(other[1].sql, st[1].sql);
        let copy = st[1].copy.as_ref().expect("copy data");
        let lines: Vec<&str> = std::str::from_utf8(&copy.data)
            .expect("utf-8")
            .lines()
            .collect();
        // Key 0 once, with its last value, in the place of its last write.
        assert_eq!(lines.len(), MIN_ROWS);
        assert_eq!(lines.first(), Some(&"1\t1"));
        assert_eq!(lines.last(), Some(&"0\t100"));
        assert_eq!(
            copy.origin_of_line(MIN_ROWS),
            Some(&origin(MIN_ROWS as i64))
        );
        assert_eq!(
            st[2].what,
            format!(
                "upsert of {MIN_ROWS} rows into t (first record at topic t partition 0 offset 1)"
            )
        );
    }

    #[test]
    fn updates_stage_then_update_from() {
        let casts = [Some("bigint".to_string()), Some("bigint".to_string())];
        let run = run_of(MIN_ROWS as i64, true);
        let st = writer::statements(Dialect::Postgres, InsertMode::Update, &run, &casts, 3000);
        assert_eq!(st.len(), 3);
        assert!(
            st[2]
                .sql
                .starts_with("UPDATE \"t\" AS t SET \"x\"=s.\"x\" FROM pg_temp.\"tributary_stage_"),
            "{}",
            st[2].sql
        );
        assert!(
            st[2].sql.ends_with("\" AS s WHERE t.\"id\"=s.\"id\""),
            "{}",
            st[2].sql
        );
        assert_eq!(st[1].copy.as_ref().map(|c| c.origins.len()), Some(MIN_ROWS));
    }
}
