//! Debezium's change events: the key (the primary key columns as an
//! object), the value envelope `{before, after, source, op, ts_ms, ts_us,
//! ts_ns, transaction}`, and the records one row change becomes (a delete
//! is followed by a tombstone; a primary key change is a delete, its
//! tombstone and a create).

use serde_json::{json, Map, Value};

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

/// A captured table: its columns in order and which of them form the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    pub schema: String,
    pub table: String,
    pub topic: String,
    pub columns: Vec<ColumnMeta>,
    /// Indexes into `columns` of the primary key, in key order; empty for a
    /// table without one (its records have no key).
    pub key: Vec<usize>,
}

impl TableMeta {
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

/// A key and value to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: Option<Value>,
    pub value: Option<Value>,
}

/// The records one row change becomes, in order.
pub fn records(
    settings: &CdcSettings,
    meta: &TableMeta,
    source: &SourceInfo,
    change: &RowChange,
    now_us: i64,
) -> Vec<KeyValue> {
    let d = settings.decimal;
    let event = |op: &str, before: Option<&Tuple>, after: Option<&Tuple>| {
        let before = before.map_or(Value::Null, |t| meta.row(t, d));
        let after = after.map_or(Value::Null, |t| meta.row(t, d));
        if settings.after_state_only {
            return after;
        }
        json!({
            "before": before,
            "after": after,
            "source": source_block(settings, meta, source),
            "op": op,
            "ts_ms": now_us.div_euclid(1_000),
            "ts_us": now_us,
            "ts_ns": now_us.saturating_mul(1_000),
            "transaction": null,
        })
    };
    let upsert = |op: &str, before: Option<&Tuple>, after: &Tuple| KeyValue {
        key: meta.key(after, d),
        value: Some(event(op, before, Some(after))),
    };
    let delete = |old: &Tuple| {
        let key = meta.key(old, d);
        let mut out = Vec::with_capacity(2);
        if !settings.after_state_only {
            out.push(KeyValue {
                key: key.clone(),
                value: Some(event("d", Some(old), None)),
            });
        }
        // A tombstone without a key would compact nothing.
        if settings.tombstones_on_delete && key.is_some() {
            out.push(KeyValue { key, value: None });
        }
        out
    };
    match change {
        RowChange::Read(row) => vec![upsert("r", None, row)],
        RowChange::Insert(new) => vec![upsert("c", None, new)],
        RowChange::Update {
            old,
            old_is_key,
            new,
        } => {
            if let Some(old) = old {
                let old_key = meta.key(old, d);
                if old_key.is_some() && old_key != meta.key(new, d) {
                    // The primary key changed: the old row goes, a new one comes.
                    let mut out = delete(old);
                    out.push(upsert("c", None, new));
                    return out;
                }
            }
            // Only a whole old row (REPLICA IDENTITY FULL) is a before image.
            let before = old.as_ref().filter(|_| !old_is_key);
            vec![upsert("u", before, new)]
        }
        RowChange::Delete(old) => delete(old),
    }
}

fn source_block(settings: &CdcSettings, meta: &TableMeta, s: &SourceInfo) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "connector": "postgresql",
        "name": settings.topic_prefix,
        "ts_ms": s.ts_us.div_euclid(1_000),
        "ts_us": s.ts_us,
        "ts_ns": s.ts_us.saturating_mul(1_000),
        "snapshot": s.snapshot,
        "db": settings.database,
        "sequence": s.sequence,
        "schema": meta.schema,
        "table": meta.table,
        "txId": s.tx_id,
        "lsn": s.lsn,
        "xmin": null,
    })
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
        TableMeta {
            schema: "public".into(),
            table: "orders".into(),
            topic: "shop.public.orders".into(),
            columns: vec![
                ColumnMeta {
                    name: "id".into(),
                    type_oid: value::oid::INT4,
                    type_modifier: -1,
                },
                ColumnMeta {
                    name: "note".into(),
                    type_oid: 25,
                    type_modifier: -1,
                },
            ],
            key: vec![0],
        }
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
}
