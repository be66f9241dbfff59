//! What Debezium's connectors share, whatever the database: the change
//! event envelope `{before, after, source, op, ts_ms, ts_us, ts_ns,
//! transaction}`, the records one row change becomes (a delete is followed
//! by a tombstone; a primary key change is a delete, its tombstone and a
//! create), the common fields of the `source` block, the envelope's Connect
//! schema, and the `table.include.list` / `table.exclude.list` filter.
//!
//! Each CDC source (`postgres_cdc`, `mysql_cdc`) decodes its rows into
//! [`Image`]s and adds its own `source` fields (LSN, binlog file and position…).

use std::sync::Arc;

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::connectors::{Config, FieldError};
use crate::schema::{Field, Schema};

/// How change events are written (`tombstones.on.delete`, `after.state.only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOptions {
    pub tombstones_on_delete: bool,
    pub after_state_only: bool,
}

/// A row image: the row as an object of column name → value, and its key
/// (the primary key columns as an object; `None` without a primary key).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub row: Value,
    pub key: Option<Value>,
}

/// One row change.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A snapshot read (`op` r).
    Read(Image),
    Insert(Image),
    Update {
        /// The old row: the whole row (`old_is_full`) or only its key
        /// columns (Postgres's default replica identity); `None` when the
        /// database did not send it.
        old: Option<Image>,
        old_is_full: bool,
        new: Image,
    },
    Delete(Image),
}

/// A key and value to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: Option<Value>,
    pub value: Option<Value>,
}

/// The records one row change becomes, in order. `source` is the whole
/// `source` block.
pub fn records(opts: EventOptions, source: &Value, change: Change, now_us: i64) -> Vec<KeyValue> {
    let event = |op: &str, before: Option<&Image>, after: Option<&Image>| {
        let row = |i: Option<&Image>| i.map_or(Value::Null, |i| i.row.clone());
        if opts.after_state_only {
            return row(after);
        }
        json!({
            "before": row(before),
            "after": row(after),
            "source": source,
            "op": op,
            "ts_ms": now_us.div_euclid(1_000),
            "ts_us": now_us,
            "ts_ns": now_us.saturating_mul(1_000),
            "transaction": null,
        })
    };
    let upsert = |op: &str, before: Option<&Image>, after: &Image| KeyValue {
        key: after.key.clone(),
        value: Some(event(op, before, Some(after))),
    };
    let delete = |old: &Image| {
        let mut out = Vec::with_capacity(2);
        if !opts.after_state_only {
            out.push(KeyValue {
                key: old.key.clone(),
                value: Some(event("d", Some(old), None)),
            });
        }
        // A tombstone without a key would compact nothing.
        if opts.tombstones_on_delete && old.key.is_some() {
            out.push(KeyValue {
                key: old.key.clone(),
                value: None,
            });
        }
        out
    };
    match change {
        Change::Read(row) => vec![upsert("r", None, &row)],
        Change::Insert(new) => vec![upsert("c", None, &new)],
        Change::Update {
            old,
            old_is_full,
            new,
        } => {
            if let Some(old) = &old {
                if old.key.is_some() && old.key != new.key {
                    // The primary key changed: the old row goes, a new one comes.
                    let mut out = delete(old);
                    out.push(upsert("c", None, &new));
                    return out;
                }
            }
            let before = old.as_ref().filter(|_| old_is_full);
            vec![upsert("u", before, &new)]
        }
        Change::Delete(old) => delete(&old),
    }
}

/// The key and value schemas to produce a record with: a key or value that
/// does not fit its table's schema (a database value the column's Connect
/// type cannot hold) goes schemaless, so plain JSON writes it as it is and
/// the registry formats derive a schema from it, rather than failing the task.
pub fn fitting_schemas(
    topic: &str,
    key_schema: Option<&Arc<Schema>>,
    value_schema: &Arc<Schema>,
    kv: &KeyValue,
) -> (Option<Arc<Schema>>, Option<Arc<Schema>>) {
    let fitting = |schema: &Arc<Schema>, v: &Option<Value>| {
        let fits = v
            .as_ref()
            .is_none_or(|v| schema.validate(v, "record").is_ok());
        if !fits {
            tracing::debug!(%topic, "a record that does not fit its schema goes schemaless");
        }
        fits.then(|| Arc::clone(schema))
    };
    (
        key_schema.and_then(|k| fitting(k, &kv.key)),
        fitting(value_schema, &kv.value),
    )
}

/// The `source` fields every Debezium connector writes, in Debezium's
/// order; each connector appends its own.
pub struct SourceBase<'a> {
    /// `postgresql`, `mysql`.
    pub connector: &'a str,
    /// `topic.prefix`.
    pub name: &'a str,
    /// When the database made the change (read time for a snapshot).
    pub ts_us: i64,
    /// "true", "last" or "false".
    pub snapshot: &'a str,
    pub db: &'a str,
    pub sequence: Option<&'a str>,
}

impl SourceBase<'_> {
    pub fn block(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        m.insert("connector".into(), json!(self.connector));
        m.insert("name".into(), json!(self.name));
        m.insert("ts_ms".into(), json!(self.ts_us.div_euclid(1_000)));
        m.insert("snapshot".into(), json!(self.snapshot));
        m.insert("db".into(), json!(self.db));
        m.insert("sequence".into(), json!(self.sequence));
        m.insert("ts_us".into(), json!(self.ts_us));
        m.insert("ts_ns".into(), json!(self.ts_us.saturating_mul(1_000)));
        m
    }

    /// The schema of [`block`](Self::block)'s fields.
    pub fn fields() -> Vec<Field> {
        vec![
            Field::new("version", Schema::string()),
            Field::new("connector", Schema::string()),
            Field::new("name", Schema::string()),
            Field::new("ts_ms", Schema::int64()),
            Field::new(
                "snapshot",
                Schema::string()
                    .optional()
                    .named("io.debezium.data.Enum")
                    .with_version(1)
                    .with_parameter("allowed", "true,last,false,incremental")
                    .with_default(json!("false")),
            ),
            Field::new("db", Schema::string()),
            Field::new("sequence", Schema::string().optional()),
            Field::new("ts_us", Schema::int64().optional()),
            Field::new("ts_ns", Schema::int64().optional()),
        ]
    }
}

/// The change event envelope's schema (`<topic>.Envelope`) for rows of
/// `row` (a struct named `<topic>.Value`) and a `source` block of `source`.
pub fn envelope_schema(topic: &str, row: Arc<Schema>, source: Arc<Schema>) -> Schema {
    let row = Arc::new(Schema::clone(&row).optional());
    let transaction = Schema::structure(vec![
        Field::new("id", Schema::string()),
        Field::new("total_order", Schema::int64()),
        Field::new("data_collection_order", Schema::int64()),
    ])
    .named("event.block")
    .with_version(1)
    .optional();
    Schema::structure(vec![
        Field::new("before", Arc::clone(&row)),
        Field::new("after", row),
        Field::new("source", source),
        Field::new("op", Schema::string()),
        Field::new("ts_ms", Schema::int64().optional()),
        Field::new("ts_us", Schema::int64().optional()),
        Field::new("ts_ns", Schema::int64().optional()),
        Field::new("transaction", transaction),
    ])
    .named(format!("{topic}.Envelope"))
    .with_version(2)
}

/// Which `<schema or database>.<table>` names are captured: Debezium's
/// include/exclude lists, each pattern matched against the whole name.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl TableFilter {
    pub fn parse(
        config: &Config,
        include_key: &str,
        exclude_key: &str,
    ) -> Result<TableFilter, FieldError> {
        Ok(TableFilter {
            include: patterns(config, include_key)?,
            exclude: patterns(config, exclude_key)?,
        })
    }

    pub fn captures(&self, schema: &str, table: &str) -> bool {
        let name = format!("{schema}.{table}");
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(&name)))
            && !self.exclude.iter().any(|r| r.is_match(&name))
    }
}

/// The comma-separated regular expressions of `key`, each anchored to match
/// a whole name.
pub fn patterns(config: &Config, key: &str) -> Result<Vec<Regex>, FieldError> {
    config
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                        FieldError::new(key, format!("Invalid regular expression {p:?}: {e}"))
                    })
                })
                .collect()
        })
        .unwrap_or_else(|| Ok(Vec::new()))
}

/// For the CDC sources' tests: change events written with their schemas in
/// every Schema Registry format (through an in-memory registry) read back
/// as they were. `protobuf_value` adjusts an expected value for Protobuf,
/// which has no decimal type (decimals read back as their text).
#[cfg(test)]
pub(crate) async fn assert_round_trips_through_the_registry_formats(
    topic: &str,
    key_schema: &Schema,
    value_schema: &Schema,
    events: &[KeyValue],
    protobuf_value: impl Fn(&mut Value),
) {
    use crate::converters::{registry::MemoryRegistry, Format, RecordConverter, Side};
    for format in [Format::Avro, Format::Protobuf, Format::JsonSchema] {
        let registry = MemoryRegistry::new();
        let key = RecordConverter::new(format, Side::Key, Some(registry.clone())).unwrap();
        let value = RecordConverter::new(format, Side::Value, Some(registry)).unwrap();
        for kv in events {
            let k = key
                .from_connect_data(topic, Some(key_schema), kv.key.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{format:?} key: {e}"));
            let back = key.to_connect_data(topic, k.as_deref()).await.unwrap();
            assert_eq!(back.value, kv.key, "{format:?}");
            let v = value
                .from_connect_data(topic, Some(value_schema), kv.value.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{format:?} value: {e}\n{:?}", kv.value));
            let back = value.to_connect_data(topic, v.as_deref()).await.unwrap();
            let mut expected = kv.value.clone();
            if let (Format::Protobuf, Some(e)) = (format, expected.as_mut()) {
                protobuf_value(e);
            }
            assert_eq!(back.value, expected, "{format:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: i64, note: Option<&str>) -> Image {
        Image {
            row: json!({"id": id, "note": note}),
            key: Some(json!({"id": id})),
        }
    }

    const OPTS: EventOptions = EventOptions {
        tombstones_on_delete: true,
        after_state_only: false,
    };

    #[test]
    fn a_primary_key_change_is_delete_tombstone_create() {
        let out = records(
            OPTS,
            &json!({}),
            Change::Update {
                old: Some(image(1, Some("a"))),
                old_is_full: true,
                new: image(2, Some("a")),
            },
            0,
        );
        let ops: Vec<_> = out
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.as_ref().map(|v| v["op"].clone())))
            .collect();
        assert_eq!(
            ops,
            vec![
                (Some(json!({"id": 1})), Some(json!("d"))),
                (Some(json!({"id": 1})), None),
                (Some(json!({"id": 2})), Some(json!("c"))),
            ]
        );
    }

    #[test]
    fn the_envelope_schema_fits_the_events() {
        let row = Arc::new(
            Schema::structure(vec![
                Field::new("id", Schema::int64()),
                Field::new("note", Schema::string().optional()),
            ])
            .named("p.db.t.Value"),
        );
        let mut fields = SourceBase::fields();
        fields.push(Field::new("table", Schema::string().optional()));
        let source =
            Arc::new(Schema::structure(fields).named("io.debezium.connector.mysql.Source"));
        let schema = envelope_schema("p.db.t", row, source);
        let mut block = SourceBase {
            connector: "mysql",
            name: "p",
            ts_us: 5,
            snapshot: "false",
            db: "db",
            sequence: None,
        }
        .block();
        block.insert("table".into(), json!("t"));
        for change in [
            Change::Insert(image(1, None)),
            Change::Delete(image(1, Some("x"))),
        ] {
            let out = records(OPTS, &Value::Object(block.clone()), change, 7);
            schema
                .validate(out[0].value.as_ref().unwrap(), "value")
                .unwrap();
        }
    }
}
