//! Postgres rows as Debezium's change events: the key (the primary key
//! columns as an object), the row values, their Connect schemas, and the
//! `source` block's Postgres fields; the envelope itself is [`debezium`]'s.

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::connectors::debezium::{self, Change, EventOptions, Image, SourceBase};
use crate::schema::{Field, Schema};

use super::pgoutput::{Datum, Tuple};
use super::settings::{CdcSettings, DecimalMode};
use super::value;

/// What Debezium writes for a TOASTed value the change did not carry
/// (`unavailable.value.placeholder`).
pub const UNAVAILABLE: &str = "__debezium_unavailable_value";

/// Microseconds between the Unix epoch and Postgres's (2000-01-01).
pub const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// A captured table: its columns in order, which of them form the key, and
/// the Connect schemas of its records.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMeta {
    pub schema: String,
    pub table: String,
    pub topic: String,
    pub columns: Vec<ColumnMeta>,
    /// Indexes into `columns` of the primary key, in key order; empty for a
    /// table without one (its records have no key).
    pub key: Vec<usize>,
    /// `<topic>.Key`; `None` without a primary key.
    pub key_schema: Option<Arc<Schema>>,
    /// `<topic>.Envelope`, or the optional `<topic>.Value` with `after.state.only`.
    pub value_schema: Arc<Schema>,
}

impl TableMeta {
    pub fn new(
        s: &CdcSettings,
        schema: &str,
        table: &str,
        columns: Vec<ColumnMeta>,
        key: Vec<usize>,
    ) -> TableMeta {
        let topic = s.topic(schema, table);
        // pgoutput does not say which columns are NOT NULL: all are optional
        // but the key's.
        let field = |i: usize, c: &ColumnMeta| {
            let schema = value::schema(c.type_oid, c.type_modifier, s.decimal);
            Field::new(c.name.clone(), schema.with_optional(!key.contains(&i)))
        };
        let key_schema = (!key.is_empty()).then(|| {
            let fields = key.iter().filter_map(|&i| Some(field(i, columns.get(i)?)));
            Arc::new(Schema::structure(fields.collect()).named(format!("{topic}.Key")))
        });
        let row = columns
            .iter()
            .enumerate()
            .map(|(i, c)| field(i, c))
            .collect();
        let row = Arc::new(Schema::structure(row).named(format!("{topic}.Value")));
        let value_schema = if s.after_state_only {
            Arc::new(Schema::clone(&row).optional())
        } else {
            Arc::new(debezium::envelope_schema(&topic, row, source_schema()))
        };
        TableMeta {
            schema: schema.to_string(),
            table: table.to_string(),
            topic,
            columns,
            key,
            key_schema,
            value_schema,
        }
    }

    /// The key and value schemas of a record of this table (see
    /// [`debezium::fitting_schemas`]: 'infinity' dates and timestamps, NaN
    /// and BC dates are written as their text, which their schemas do not take).
    pub fn schemas(&self, kv: &KeyValue) -> (Option<Arc<Schema>>, Option<Arc<Schema>>) {
        debezium::fitting_schemas(
            &self.topic,
            self.key_schema.as_ref(),
            &self.value_schema,
            kv,
        )
    }

    /// The row as an object of column name → JSON value.
    pub fn row(&self, tuple: &Tuple, decimal: DecimalMode) -> Value {
        let mut m = Map::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            m.insert(c.name.clone(), self.datum(i, tuple.get(i), decimal));
        }
        Value::Object(m)
    }

    /// The key object; `None` without a primary key.
    pub fn key(&self, tuple: &Tuple, decimal: DecimalMode) -> Option<Value> {
        if self.key.is_empty() {
            return None;
        }
        let mut m = Map::with_capacity(self.key.len());
        for &i in &self.key {
            if let Some(c) = self.columns.get(i) {
                m.insert(c.name.clone(), self.datum(i, tuple.get(i), decimal));
            }
        }
        Some(Value::Object(m))
    }

    fn datum(&self, i: usize, d: Option<&Datum>, decimal: DecimalMode) -> Value {
        match (d, self.columns.get(i)) {
            (Some(Datum::Text(t)), Some(c)) => {
                value::to_json(c.type_oid, c.type_modifier, t, decimal)
            }
            // Debezium writes the placeholder's bytes into binary columns.
            (Some(Datum::UnchangedToast), Some(c)) if c.type_oid == value::oid::BYTEA => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(UNAVAILABLE))
            }
            (Some(Datum::UnchangedToast), _) => Value::String(UNAVAILABLE.into()),
            _ => Value::Null,
        }
    }
}

/// Where a change comes from: the `source` block's varying fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// When the database made the change (commit time; read time for a snapshot).
    pub ts_us: i64,
    /// Debezium's `snapshot` field: "true", "last" or "false".
    pub snapshot: &'static str,
    pub lsn: Option<u64>,
    pub tx_id: Option<u32>,
    /// Debezium's `sequence`: `["<last commit LSN>","<this LSN>"]` as text.
    pub sequence: Option<String>,
}

/// One row change, decoded and attributed to its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    Read(Tuple),
    Insert(Tuple),
    Update {
        old: Option<Tuple>,
        /// `old` holds only the replica identity key.
        old_is_key: bool,
        new: Tuple,
    },
    Delete(Tuple),
}

pub use crate::connectors::debezium::KeyValue;

/// The records one row change becomes, in order (see [`debezium::records`]).
pub fn records(
    settings: &CdcSettings,
    meta: &TableMeta,
    source: &SourceInfo,
    change: &RowChange,
    now_us: i64,
) -> Vec<KeyValue> {
    let d = settings.decimal;
    let image = |t: &Tuple| Image {
        row: meta.row(t, d),
        key: meta.key(t, d),
    };
    let change = match change {
        RowChange::Read(row) => Change::Read(image(row)),
        RowChange::Insert(new) => Change::Insert(image(new)),
        RowChange::Update {
            old,
            old_is_key,
            new,
        } => Change::Update {
            old: old.as_ref().map(image),
            // Only a whole old row (REPLICA IDENTITY FULL) is a before image.
            old_is_full: !old_is_key,
            new: image(new),
        },
        RowChange::Delete(old) => Change::Delete(image(old)),
    };
    let opts = EventOptions {
        tombstones_on_delete: settings.tombstones_on_delete,
        after_state_only: settings.after_state_only,
    };
    debezium::records(opts, &source_block(settings, meta, source), change, now_us)
}

fn source_block(settings: &CdcSettings, meta: &TableMeta, s: &SourceInfo) -> Value {
    let mut block = SourceBase {
        connector: "postgresql",
        name: &settings.topic_prefix,
        ts_us: s.ts_us,
        snapshot: s.snapshot,
        db: &settings.database,
        sequence: s.sequence.as_deref(),
    }
    .block();
    block.insert("schema".into(), json!(meta.schema));
    block.insert("table".into(), json!(meta.table));
    block.insert("txId".into(), json!(s.tx_id));
    block.insert("lsn".into(), json!(s.lsn));
    block.insert("xmin".into(), Value::Null);
    Value::Object(block)
}

/// `io.debezium.connector.postgresql.Source`.
pub fn source_schema() -> Arc<Schema> {
    let mut fields = SourceBase::fields();
    fields.extend([
        Field::new("schema", Schema::string()),
        Field::new("table", Schema::string()),
        Field::new("txId", Schema::int64().optional()),
        Field::new("lsn", Schema::int64().optional()),
        Field::new("xmin", Schema::int64().optional()),
    ]);
    Arc::new(Schema::structure(fields).named("io.debezium.connector.postgresql.Source"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::Config;

    fn settings(extra: &[(&str, &str)]) -> CdcSettings {
        let mut c: Config = [
            ("connector.class", "PostgresCdcSourceV2"),
            ("name", "cdc"),
            ("database.hostname", "db"),
            ("database.user", "u"),
            ("database.dbname", "shop"),
            ("topic.prefix", "shop"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        CdcSettings::parse(&c).unwrap()
    }

    fn meta() -> TableMeta {
        let col = |name: &str, type_oid: u32| ColumnMeta {
            name: name.into(),
            type_oid,
            type_modifier: -1,
        };
        TableMeta::new(
            &settings(&[]),
            "public",
            "orders",
            vec![col("id", value::oid::INT4), col("note", 25)],
            vec![0],
        )
    }

    fn row(id: &str, note: Option<&str>) -> Tuple {
        vec![
            Datum::Text(id.into()),
            note.map_or(Datum::Null, |n| Datum::Text(n.into())),
        ]
    }

    fn source() -> SourceInfo {
        SourceInfo {
            ts_us: 1_700_000_000_123_456,
            snapshot: "false",
            lsn: Some(100),
            tx_id: Some(7),
            sequence: Some("[\"90\",\"100\"]".into()),
        }
    }

    #[test]
    fn insert_is_a_create_event_keyed_by_the_primary_key() {
        let out = records(
            &settings(&[]),
            &meta(),
            &source(),
            &RowChange::Insert(row("1", Some("hi"))),
            5_000_000,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key, Some(json!({"id": 1})));
        let v = out[0].value.as_ref().unwrap();
        assert_eq!(v["op"], "c");
        assert_eq!(v["before"], Value::Null);
        assert_eq!(v["after"], json!({"id": 1, "note": "hi"}));
        assert_eq!(v["ts_ms"], 5_000);
        let s = &v["source"];
        assert_eq!(s["connector"], "postgresql");
        assert_eq!(s["name"], "shop");
        assert_eq!(s["db"], "shop");
        assert_eq!(s["schema"], "public");
        assert_eq!(s["table"], "orders");
        assert_eq!(s["lsn"], 100);
        assert_eq!(s["txId"], 7);
        assert_eq!(s["ts_ms"], 1_700_000_000_123_i64);
        assert_eq!(s["snapshot"], "false");
    }

    #[test]
    fn delete_is_followed_by_a_tombstone_unless_disabled() {
        let old = row("1", None);
        let out = records(
            &settings(&[]),
            &meta(),
            &source(),
            &RowChange::Delete(old.clone()),
            0,
        );
        assert_eq!(out.len(), 2);
        let v = out[0].value.as_ref().unwrap();
        assert_eq!(v["op"], "d");
        assert_eq!(v["before"], json!({"id": 1, "note": null}));
        assert_eq!(v["after"], Value::Null);
        assert_eq!(
            out[1],
            KeyValue {
                key: Some(json!({"id": 1})),
                value: None
            }
        );

        let out = records(
            &settings(&[("tombstones.on.delete", "false")]),
            &meta(),
            &source(),
            &RowChange::Delete(old),
            0,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn update_before_image_only_with_a_full_old_row() {
        let s = settings(&[]);
        let new = row("1", Some("new"));
        let out = records(
            &s,
            &meta(),
            &source(),
            &RowChange::Update {
                old: None,
                old_is_key: false,
                new: new.clone(),
            },
            0,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].value.as_ref().unwrap()["op"], "u");
        assert_eq!(out[0].value.as_ref().unwrap()["before"], Value::Null);

        let out = records(
            &s,
            &meta(),
            &source(),
            &RowChange::Update {
                old: Some(row("1", Some("old"))),
                old_is_key: false,
                new,
            },
            0,
        );
        assert_eq!(
            out[0].value.as_ref().unwrap()["before"],
            json!({"id": 1, "note": "old"})
        );
    }

    #[test]
    fn primary_key_change_is_delete_tombstone_create() {
        let out = records(
            &settings(&[]),
            &meta(),
            &source(),
            &RowChange::Update {
                old: Some(vec![Datum::Text("1".into()), Datum::Null]),
                old_is_key: true,
                new: row("2", Some("moved")),
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
    fn unchanged_toast_is_the_placeholder_and_tables_without_key_have_none() {
        let mut m = meta();
        m.key.clear();
        let out = records(
            &settings(&[]),
            &m,
            &source(),
            &RowChange::Update {
                old: None,
                old_is_key: false,
                new: vec![Datum::Text("1".into()), Datum::UnchangedToast],
            },
            0,
        );
        assert_eq!(out[0].key, None);
        assert_eq!(
            out[0].value.as_ref().unwrap()["after"]["note"],
            json!(UNAVAILABLE)
        );
        let deleted = records(
            &settings(&[]),
            &m,
            &source(),
            &RowChange::Delete(row("1", None)),
            0,
        );
        assert_eq!(deleted.len(), 1, "no tombstone without a key");
    }

    #[test]
    fn after_state_only_writes_rows_and_tombstones() {
        let s = settings(&[("after.state.only", "true")]);
        let out = records(
            &s,
            &meta(),
            &source(),
            &RowChange::Read(row("3", Some("x"))),
            0,
        );
        assert_eq!(out[0].value, Some(json!({"id": 3, "note": "x"})));
        let out = records(
            &s,
            &meta(),
            &source(),
            &RowChange::Delete(row("3", None)),
            0,
        );
        assert_eq!(
            out,
            vec![KeyValue {
                key: Some(json!({"id": 3})),
                value: None
            }]
        );
    }

    /// Every mapped column type, in change events that fit their schemas
    /// and read back the same through AVRO, PROTOBUF and JSON_SR.
    #[tokio::test]
    async fn events_round_trip_through_the_registry_formats() {
        use value::oid;
        for decimal in ["precise", "double"] {
            let s = settings(&[("decimal.handling.mode", decimal)]);
            let col = |name: &str, type_oid: u32, type_modifier: i32| ColumnMeta {
                name: name.into(),
                type_oid,
                type_modifier,
            };
            let m = TableMeta::new(
                &s,
                "public",
                "accounts",
                vec![
                    col("id", oid::INT8, -1),
                    col("small", oid::INT2, -1),
                    col("n", oid::INT4, -1),
                    col("o", oid::OID, -1),
                    col("active", oid::BOOL, -1),
                    col("rate", oid::FLOAT8, -1),
                    col("ratio", oid::FLOAT4, -1),
                    col("balance", oid::NUMERIC, -1),
                    col("raw", oid::BYTEA, -1),
                    col("born", oid::DATE, -1),
                    col("at", oid::TIMESTAMP, -1),
                    col("at_ms", oid::TIMESTAMP, 3),
                    col("updated", oid::TIMESTAMPTZ, -1),
                    col("opens", oid::TIME, -1),
                    col("opens_ms", oid::TIME, 3),
                    col("tags", oid::JSONB, -1),
                    col("uid", oid::UUID, -1),
                    col("note", 25, -1),
                ],
                vec![0],
            );
            let text = |t: &str| Datum::Text(t.into());
            let full = |id: &str| {
                vec![
                    text(id),
                    text("-3"),
                    text("42"),
                    text("4000000000"),
                    text("t"),
                    text("0.1"),
                    text("1.5"),
                    text("12.340"),
                    text("\\x00ff"),
                    text("1969-12-31"),
                    text("2024-03-01 10:20:30.123456"),
                    text("2024-03-01 10:20:30.123"),
                    text("2024-03-01 10:20:30+02"),
                    text("23:59:59.999999"),
                    text("00:00:01.5"),
                    text("{\"a\": [1]}"),
                    text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                    Datum::UnchangedToast,
                ]
            };
            let mut nulls = vec![text("2")];
            nulls.resize(18, Datum::Null);
            let mut events = Vec::new();
            for change in [
                RowChange::Read(full("1")),
                RowChange::Insert(nulls.clone()),
                RowChange::Update {
                    old: Some(full("1")),
                    old_is_key: false,
                    new: full("1"),
                },
                RowChange::Update {
                    old: Some(full("1")),
                    old_is_key: false,
                    new: full("3"),
                },
                RowChange::Delete(nulls.clone()),
            ] {
                events.extend(records(&s, &m, &source(), &change, 7));
            }
            for kv in &events {
                if let Some(v) = &kv.value {
                    m.value_schema.validate(v, "value").unwrap();
                }
            }
            debezium::assert_round_trips_through_the_registry_formats(
                &m.topic,
                m.key_schema.as_deref().unwrap(),
                &m.value_schema,
                &events,
                |_| {},
            )
            .await;
        }
    }

    #[test]
    fn values_outside_their_schema_go_schemaless() {
        let s = settings(&[]);
        let m = TableMeta::new(
            &s,
            "public",
            "events",
            vec![
                ColumnMeta {
                    name: "id".into(),
                    type_oid: value::oid::INT4,
                    type_modifier: -1,
                },
                ColumnMeta {
                    name: "at".into(),
                    type_oid: value::oid::TIMESTAMP,
                    type_modifier: -1,
                },
            ],
            vec![0],
        );
        let insert = |at: &str| {
            let row = vec![Datum::Text("1".into()), Datum::Text(at.into())];
            records(&s, &m, &source(), &RowChange::Insert(row), 0).remove(0)
        };
        let (k, v) = m.schemas(&insert("2024-01-01 00:00:00"));
        assert!(k.is_some() && v.is_some());
        let odd = insert("infinity");
        assert_eq!(odd.value.as_ref().unwrap()["after"]["at"], "infinity");
        let (k, v) = m.schemas(&odd);
        assert!(k.is_some() && v.is_none());
    }
}
