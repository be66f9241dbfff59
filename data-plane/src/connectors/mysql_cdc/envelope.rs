//! MySQL rows as Debezium's change events: a captured table's columns,
//! key and Connect schemas, its rows as [`Image`]s, and the `source`
//! block's MySQL fields (`server_id`, `gtid`, `file`, `pos`, `row`…); the
//! envelope itself is [`debezium`]'s.

use std::sync::Arc;

use mysql_async::Value as My;
use serde_json::{json, Map, Value};

use super::columns::Column;
use super::settings::MySqlCdcSettings;
use crate::connectors::debezium::{self, Change, EventOptions, Image, KeyValue, SourceBase};
use crate::schema::{Field, Schema};

/// A captured table as the events show it.
#[derive(Debug, Clone)]
pub struct TableMeta {
    pub db: String,
    pub table: String,
    pub topic: String,
    /// Every column in table order (excluded ones too: binlog rows have them).
    pub columns: Vec<Column>,
    /// Indexes into `columns` of the primary key; empty without one.
    pub key: Vec<usize>,
    pub key_schema: Option<Arc<Schema>>,
    pub value_schema: Arc<Schema>,
}

impl TableMeta {
    pub fn new(
        s: &MySqlCdcSettings,
        db: &str,
        table: &str,
        columns: Vec<Column>,
        key: Vec<usize>,
    ) -> TableMeta {
        let topic = s.topic(db, table);
        let fields = |idx: &mut dyn Iterator<Item = usize>| -> Vec<Field> {
            idx.filter_map(|i| columns.get(i))
                .filter(|c| !c.excluded)
                .map(|c| Field::new(c.name.clone(), c.schema(s.decimal)))
                .collect()
        };
        let key_schema = (!key.is_empty()).then(|| {
            Arc::new(
                Schema::structure(fields(&mut key.iter().copied())).named(format!("{topic}.Key")),
            )
        });
        let row = Arc::new(
            Schema::structure(fields(&mut (0..columns.len()))).named(format!("{topic}.Value")),
        );
        let value_schema = if s.after_state_only {
            Arc::new(Schema::clone(&row).optional())
        } else {
            Arc::new(debezium::envelope_schema(&topic, row, source_schema()))
        };
        TableMeta {
            db: db.to_string(),
            table: table.to_string(),
            topic,
            columns,
            key,
            key_schema,
            value_schema,
        }
    }

    /// A row image from the row's values, one per column in table order.
    pub fn image(&self, values: &[My], s: &MySqlCdcSettings) -> Image {
        let get = |i: usize| {
            let c = &self.columns[i];
            values
                .get(i)
                .map_or(Value::Null, |v| c.to_json(v, s.decimal))
        };
        let mut row = Map::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            if !c.excluded {
                row.insert(c.name.clone(), get(i));
            }
        }
        let key = (!self.key.is_empty()).then(|| {
            Value::Object(
                self.key
                    .iter()
                    .map(|&i| (self.columns[i].name.clone(), get(i)))
                    .collect(),
            )
        });
        Image {
            row: Value::Object(row),
            key,
        }
    }
}

/// Where a change comes from: the `source` block's varying fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceInfo {
    /// When the server wrote the event (read time for a snapshot).
    pub ts_us: i64,
    /// "true", "last" or "false".
    pub snapshot: &'static str,
    pub server_id: u32,
    pub gtid: Option<String>,
    pub file: String,
    pub pos: u64,
    /// The row's index in its rows event.
    pub row: u32,
}

/// One row change of a captured table.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    Read(Vec<My>),
    Insert(Vec<My>),
    Update { before: Vec<My>, after: Vec<My> },
    Delete(Vec<My>),
}

/// The records one row change becomes, in order.
pub fn records(
    s: &MySqlCdcSettings,
    meta: &TableMeta,
    source: &SourceInfo,
    change: &RowChange,
    now_us: i64,
) -> Vec<KeyValue> {
    let image = |values: &Vec<My>| meta.image(values, s);
    let change = match change {
        RowChange::Read(row) => Change::Read(image(row)),
        RowChange::Insert(row) => Change::Insert(image(row)),
        RowChange::Update { before, after } => Change::Update {
            // binlog_row_image=FULL: the whole old row.
            old: Some(image(before)),
            old_is_full: true,
            new: image(after),
        },
        RowChange::Delete(row) => Change::Delete(image(row)),
    };
    let opts = EventOptions {
        tombstones_on_delete: s.tombstones_on_delete,
        after_state_only: s.after_state_only,
    };
    debezium::records(opts, &source_block(s, meta, source), change, now_us)
}

fn source_block(s: &MySqlCdcSettings, meta: &TableMeta, src: &SourceInfo) -> Value {
    let mut block = SourceBase {
        connector: "mysql",
        name: &s.topic_prefix,
        ts_us: src.ts_us,
        snapshot: src.snapshot,
        db: &meta.db,
        sequence: None,
    }
    .block();
    block.insert("table".into(), json!(meta.table));
    block.insert("server_id".into(), json!(src.server_id));
    block.insert("gtid".into(), json!(src.gtid));
    block.insert("file".into(), json!(src.file));
    block.insert("pos".into(), json!(src.pos));
    block.insert("row".into(), json!(src.row));
    block.insert("thread".into(), Value::Null);
    block.insert("query".into(), Value::Null);
    Value::Object(block)
}

/// `io.debezium.connector.mysql.Source`.
pub fn source_schema() -> Arc<Schema> {
    let mut fields = SourceBase::fields();
    fields.extend([
        Field::new("table", Schema::string().optional()),
        Field::new("server_id", Schema::int64()),
        Field::new("gtid", Schema::string().optional()),
        Field::new("file", Schema::string()),
        Field::new("pos", Schema::int64()),
        Field::new("row", Schema::int32()),
        Field::new("thread", Schema::int64().optional()),
        Field::new("query", Schema::string().optional()),
    ]);
    Arc::new(Schema::structure(fields).named("io.debezium.connector.mysql.Source"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::mysql_cdc::columns::Kind;
    use crate::connectors::Config;

    fn settings(extra: &[(&str, &str)]) -> MySqlCdcSettings {
        let mut c: Config = [
            ("connector.class", "MySqlCdcSourceV2"),
            ("database.hostname", "db"),
            ("database.user", "u"),
            ("topic.prefix", "shop"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        MySqlCdcSettings::parse(&c).unwrap()
    }

    fn meta(s: &MySqlCdcSettings) -> TableMeta {
        let col = |name: &str, kind: Kind, nullable: bool| Column {
            name: name.into(),
            kind,
            nullable,
            excluded: s.excludes_column("inv", "customers", name),
        };
        TableMeta::new(
            s,
            "inv",
            "customers",
            vec![
                col(
                    "id",
                    Kind::Int {
                        bytes: 4,
                        unsigned: false,
                    },
                    false,
                ),
                col("email", Kind::Text, true),
                col("secret", Kind::Text, true),
            ],
            vec![0],
        )
    }

    fn row(id: i64, email: &str) -> Vec<My> {
        vec![
            My::Int(id),
            My::Bytes(email.as_bytes().to_vec()),
            My::Bytes(b"pw".to_vec()),
        ]
    }

    #[test]
    fn events_fit_their_schemas_and_leave_excluded_columns_out() {
        let s = settings(&[("column.exclude.list", "inv\\.customers\\.secret")]);
        let m = meta(&s);
        let src = SourceInfo {
            ts_us: 1_000,
            snapshot: "false",
            server_id: 1,
            gtid: Some("0-1-5".into()),
            file: "mysql-bin.000001".into(),
            pos: 400,
            row: 0,
        };
        let out = records(
            &s,
            &m,
            &src,
            &RowChange::Update {
                before: row(1, "a@x"),
                after: row(1, "b@x"),
            },
            2_000,
        );
        assert_eq!(out.len(), 1);
        let v = out[0].value.as_ref().unwrap();
        assert_eq!(v["op"], "u");
        assert_eq!(v["before"], json!({"id": 1, "email": "a@x"}));
        assert_eq!(v["after"], json!({"id": 1, "email": "b@x"}));
        assert_eq!(v["source"]["connector"], "mysql");
        assert_eq!(v["source"]["gtid"], "0-1-5");
        assert_eq!(v["source"]["table"], "customers");
        assert_eq!(out[0].key, Some(json!({"id": 1})));
        m.value_schema.validate(v, "value").unwrap();
        m.key_schema
            .as_ref()
            .unwrap()
            .validate(out[0].key.as_ref().unwrap(), "key")
            .unwrap();
        assert_eq!(
            m.value_schema.name.as_deref(),
            Some("shop.inv.customers.Envelope")
        );
    }

    /// Every column kind, in change events written and read back with the
    /// Schema Registry formats (their Connect schemas become Avro, Protobuf
    /// and JSON Schema schemas), key and value.
    #[tokio::test]
    async fn events_of_every_column_kind_round_trip_through_the_registry_formats() {
        let s = settings(&[]);
        let col = |name: &str, kind: Kind, nullable: bool| Column {
            name: name.into(),
            kind,
            nullable,
            excluded: false,
        };
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = TableMeta::new(
            &s,
            "inv",
            "customers",
            vec![
                col(
                    "id",
                    Kind::Int {
                        bytes: 4,
                        unsigned: true,
                    },
                    false,
                ),
                col("email", Kind::Text, false),
                col(
                    "balance",
                    Kind::Decimal {
                        precision: 10,
                        scale: 2,
                    },
                    true,
                ),
                col("born", Kind::Date, true),
                col("seen", Kind::DateTime { fsp: 6 }, true),
                col("at", Kind::DateTime { fsp: 0 }, true),
                col("changed", Kind::Timestamp { fsp: 0 }, true),
                col("opens", Kind::Time { fsp: 0 }, true),
                col("yr", Kind::Year, true),
                col("size", Kind::Enum(set(&["s", "m", "l"])), true),
                col("tags", Kind::Set(set(&["a", "b", "c"])), true),
                col("doc", Kind::Json, true),
                col("raw", Kind::Binary, true),
                col(
                    "flag",
                    Kind::Int {
                        bytes: 1,
                        unsigned: true,
                    },
                    true,
                ),
                col(
                    "big",
                    Kind::Int {
                        bytes: 8,
                        unsigned: true,
                    },
                    true,
                ),
                col("f", Kind::Float, true),
                col("d", Kind::Double, true),
                col("on", Kind::Bit { bits: 1 }, true),
                col("bits", Kind::Bit { bits: 12 }, true),
            ],
            vec![0, 1],
        );
        let full = |id: i64| {
            vec![
                My::Int(id),
                My::Bytes(b"a@x".to_vec()),
                My::Bytes(b"-12.34".to_vec()),
                My::Date(1970, 1, 11, 0, 0, 0, 0),
                My::Date(1970, 1, 1, 0, 0, 1, 500_000),
                My::Date(2024, 2, 29, 23, 59, 59, 0),
                My::Bytes(b"86400".to_vec()),
                My::Time(true, 1, 1, 0, 0, 0),
                My::Int(2024),
                My::Int(2),
                My::Int(5),
                My::Bytes(br#"{"k": [1, "x"]}"#.to_vec()),
                My::Bytes(vec![0, 1, 255]),
                My::Int(255),
                My::UInt(u64::MAX),
                My::Float(1.5),
                My::Double(-2.25e10),
                My::Bytes(vec![1]),
                My::Bytes(vec![0x0f, 0xff]),
            ]
        };
        let mut nulls = vec![My::Int(2), My::Bytes(b"b@x".to_vec())];
        nulls.resize(19, My::NULL);
        let src = SourceInfo {
            ts_us: 1_000,
            snapshot: "false",
            server_id: 1,
            gtid: None,
            file: "mysql-bin.000001".into(),
            pos: 4,
            row: 0,
        };
        let mut events = Vec::new();
        for change in [
            RowChange::Read(full(1)),
            RowChange::Insert(nulls.clone()),
            RowChange::Update {
                before: nulls.clone(),
                after: full(2),
            },
            // A key change: delete, tombstone, create.
            RowChange::Update {
                before: full(2),
                after: full(3),
            },
            RowChange::Delete(full(3)),
        ] {
            events.extend(records(&s, &m, &src, &change, 2_000));
        }
        // Both updates change the key (id, email): three records each.
        assert_eq!(events.len(), 1 + 1 + 3 + 3 + 2);
        // Protobuf writes decimals as their text.
        let decimal_text = |v: &mut Value| {
            for image in ["before", "after"] {
                let balance = v
                    .get_mut(image)
                    .and_then(|i| i.get_mut("balance"))
                    .filter(|b| !b.is_null());
                if let Some(b) = balance {
                    *b = json!(crate::schema::decimal::to_string(b, 2).unwrap());
                }
            }
        };
        debezium::assert_round_trips_through_the_registry_formats(
            &m.topic,
            m.key_schema.as_deref().unwrap(),
            &m.value_schema,
            &events,
            decimal_text,
        )
        .await;
    }
}
