//! From a record to a row: which table, which key columns (per `pk.mode`),
//! which value columns (per `fields.whitelist`), and whether it writes or,
//! for a tombstone with `delete.enabled`, deletes.

use std::fmt;

use serde_json::{Map, Value};

use super::settings::{JdbcSettings, PkMode};
use super::table::TableId;
use super::value::SqlValue;
use crate::record::Record;

/// Column names of `pk.mode=kafka` (unless `pk.fields` renames them).
pub const KAFKA_PK: [&str; 3] = ["__connect_topic", "__connect_partition", "__connect_offset"];
/// Column of a primitive key under `pk.mode=record_key` without `pk.fields`.
pub const DEFAULT_KEY_COLUMN: &str = "__connect_key";

/// Where a record came from, named in every error about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub topic: String,
    pub partition: Option<i32>,
    pub offset: Option<i64>,
}

impl Origin {
    pub fn of(record: &Record) -> Origin {
        Origin {
            topic: record.topic.clone(),
            partition: record.kafka_partition,
            offset: record.kafka_offset,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "topic {}", self.topic)?;
        if let Some(p) = self.partition {
            write!(f, " partition {p}")?;
        }
        if let Some(o) = self.offset {
            write!(f, " offset {o}")?;
        }
        Ok(())
    }
}

/// A record the sink cannot write, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record at {origin}: {message}")]
pub struct RowError {
    pub origin: Origin,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Insert, upsert or update, per `insert.mode`.
    Write,
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub table: TableId,
    pub op: Op,
    /// Primary key columns, in key order.
    pub key: Vec<(String, SqlValue)>,
    /// The other columns (empty for deletes).
    pub values: Vec<(String, SqlValue)>,
    pub origin: Origin,
}

impl Row {
    pub fn key_names(&self) -> impl Iterator<Item = &str> {
        self.key.iter().map(|(n, _)| n.as_str())
    }
    pub fn value_names(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|(n, _)| n.as_str())
    }
}

/// The row a record becomes; `None` for a tombstone the sink ignores
/// (`delete.enabled=false`).
pub fn to_row(record: &Record, settings: &JdbcSettings) -> Result<Option<Row>, RowError> {
    let origin = Origin::of(record);
    let fail = |message: String| RowError {
        origin: origin.clone(),
        message,
    };
    let table = TableId::from_format(&settings.table_name_format, &record.topic).map_err(fail)?;

    if record.is_tombstone() {
        if !settings.delete_enabled {
            return Ok(None);
        }
        let key = key_columns(record, settings).map_err(fail)?;
        return Ok(Some(Row {
            table,
            op: Op::Delete,
            key,
            values: Vec::new(),
            origin,
        }));
    }

    let fields = match &record.value {
        Some(Value::Object(fields)) => fields,
        other => {
            return Err(fail(format!(
                "the value is {}, not a struct (JSON object); JDBC sinks write a value's fields as columns",
                kind(other.as_ref())
            )))
        }
    };
    let key = match settings.pk_mode {
        PkMode::None => Vec::new(),
        PkMode::Kafka => kafka_key(record, &settings.pk_fields).map_err(fail)?,
        PkMode::RecordKey => key_columns(record, settings).map_err(fail)?,
        PkMode::RecordValue => value_key(fields, &settings.pk_fields).map_err(fail)?,
    };
    let values = fields
        .iter()
        .filter(|(name, _)| !key.iter().any(|(k, _)| k == *name))
        .filter(|(name, _)| {
            settings.fields_whitelist.is_empty() || settings.fields_whitelist.contains(name)
        })
        .map(|(name, v)| (name.clone(), SqlValue::from_json(v)))
        .collect();
    Ok(Some(Row {
        table,
        op: Op::Write,
        key,
        values,
        origin,
    }))
}

/// `pk.mode=kafka`: the record's coordinates.
fn kafka_key(record: &Record, names: &[String]) -> Result<Vec<(String, SqlValue)>, String> {
    let (Some(partition), Some(offset)) = (record.kafka_partition, record.kafka_offset) else {
        return Err("pk.mode=kafka needs the record's Kafka partition and offset".into());
    };
    let name = |i: usize| {
        names
            .get(i)
            .cloned()
            .unwrap_or_else(|| KAFKA_PK[i].to_string())
    };
    Ok(vec![
        (name(0), SqlValue::Text(record.topic.clone())),
        (name(1), SqlValue::Int(i64::from(partition))),
        (name(2), SqlValue::Int(offset)),
    ])
}

/// `pk.mode=record_key`: a primitive key is one column (named by
/// `pk.fields`, default `__connect_key`); a struct key gives the fields
/// `pk.fields` names, or all of them.
fn key_columns(
    record: &Record,
    settings: &JdbcSettings,
) -> Result<Vec<(String, SqlValue)>, String> {
    let names = &settings.pk_fields;
    match &record.key {
        None | Some(Value::Null) => {
            Err("the key is null, but pk.mode=record_key takes the primary key from it".into())
        }
        Some(Value::Object(fields)) => struct_key(fields, names, "key"),
        Some(Value::Array(_)) => {
            Err("the key is an array; pk.mode=record_key needs a primitive or struct key".into())
        }
        Some(primitive) => match names.as_slice() {
            [] => Ok(vec![(
                DEFAULT_KEY_COLUMN.to_string(),
                SqlValue::from_json(primitive),
            )]),
            [name] => Ok(vec![(name.clone(), SqlValue::from_json(primitive))]),
            _ => Err(format!(
                "the key is a primitive {}, so pk.fields must name one column, not {}",
                kind(Some(primitive)),
                names.len()
            )),
        },
    }
}

/// `pk.mode=record_value`: the fields `pk.fields` names, or all of them.
fn value_key(
    fields: &Map<String, Value>,
    names: &[String],
) -> Result<Vec<(String, SqlValue)>, String> {
    struct_key(fields, names, "value")
}

fn struct_key(
    fields: &Map<String, Value>,
    names: &[String],
    what: &str,
) -> Result<Vec<(String, SqlValue)>, String> {
    if names.is_empty() {
        return Ok(fields
            .iter()
            .map(|(n, v)| (n.clone(), SqlValue::from_json(v)))
            .collect());
    }
    names
        .iter()
        .map(|name| match fields.get(name) {
            Some(Value::Null) | None => Err(format!(
                "primary key field {name:?} (pk.fields) is missing or null in the record {what}"
            )),
            Some(v) => Ok((name.clone(), SqlValue::from_json(v))),
        })
        .collect()
}

fn kind(value: Option<&Value>) -> &'static str {
    match value {
        None | Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "an array",
        Some(Value::Object(_)) => "a struct",
    }
}

#[cfg(test)]
mod tests {
    use super::super::dialect::Dialect;
    use super::*;
    use crate::connectors::Config;
    use serde_json::json;

    fn settings(pairs: &[(&str, &str)]) -> JdbcSettings {
        let mut c: Config = [
            ("topics", "orders"),
            ("connection.host", "h"),
            ("connection.user", "u"),
            ("db.name", "d"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        JdbcSettings::parse(&c, Dialect::Postgres).unwrap()
    }

    fn order(key: Option<Value>, value: Option<Value>) -> Record {
        let mut r = Record::new("orders", key, value);
        r.kafka_partition = Some(2);
        r.kafka_offset = Some(41);
        r
    }

    fn names(cols: &[(String, SqlValue)]) -> Vec<&str> {
        cols.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Column names from a JSON object, whose field order depends on
    /// serde_json's `preserve_order`.
    fn sorted_names(cols: &[(String, SqlValue)]) -> Vec<&str> {
        let mut n = names(cols);
        n.sort_unstable();
        n
    }

    fn row(r: &Record, s: &[(&str, &str)]) -> Row {
        to_row(r, &settings(s)).unwrap().unwrap()
    }

    fn value() -> Value {
        json!({"orderid": 7, "itemid": "Item_1", "address": {"city": "City_1"}})
    }

    #[test]
    fn pk_mode_none_writes_every_field() {
        let r = row(&order(Some(json!(7)), Some(value())), &[]);
        assert_eq!(r.op, Op::Write);
        assert!(r.key.is_empty());
        assert_eq!(
            sorted_names(&r.values),
            vec!["address", "itemid", "orderid"]
        );
        assert_eq!(r.table.name, "orders");
    }

    #[test]
    fn pk_mode_kafka_uses_the_coordinates() {
        let r = row(&order(None, Some(value())), &[("pk.mode", "kafka")]);
        assert_eq!(
            r.key,
            vec![
                (
                    "__connect_topic".to_string(),
                    SqlValue::Text("orders".into())
                ),
                ("__connect_partition".to_string(), SqlValue::Int(2)),
                ("__connect_offset".to_string(), SqlValue::Int(41)),
            ]
        );
        let r = row(
            &order(None, Some(value())),
            &[("pk.mode", "kafka"), ("pk.fields", "t,p,o")],
        );
        assert_eq!(names(&r.key), vec!["t", "p", "o"]);
    }

    #[test]
    fn pk_mode_record_key_takes_primitive_and_struct_keys() {
        let r = row(
            &order(Some(json!(7)), Some(value())),
            &[("pk.mode", "record_key"), ("pk.fields", "orderid")],
        );
        assert_eq!(r.key, vec![("orderid".to_string(), SqlValue::Int(7))]);
        // The key column is not written twice from the value.
        assert_eq!(sorted_names(&r.values), vec!["address", "itemid"]);

        let r = row(
            &order(Some(json!("User_1")), Some(value())),
            &[("pk.mode", "record_key")],
        );
        assert_eq!(
            r.key,
            vec![(
                DEFAULT_KEY_COLUMN.to_string(),
                SqlValue::Text("User_1".into())
            )]
        );

        let key = json!({"region": "EU", "id": 3});
        let r = row(
            &order(Some(key.clone()), Some(value())),
            &[("pk.mode", "record_key")],
        );
        assert_eq!(sorted_names(&r.key), vec!["id", "region"]);
        let r = row(
            &order(Some(key), Some(value())),
            &[("pk.mode", "record_key"), ("pk.fields", "region")],
        );
        assert_eq!(
            r.key,
            vec![("region".to_string(), SqlValue::Text("EU".into()))]
        );
    }

    #[test]
    fn pk_mode_record_value_takes_named_fields() {
        let r = row(
            &order(None, Some(value())),
            &[("pk.mode", "record_value"), ("pk.fields", "orderid")],
        );
        assert_eq!(r.key, vec![("orderid".to_string(), SqlValue::Int(7))]);
        assert_eq!(sorted_names(&r.values), vec!["address", "itemid"]);
    }

    #[test]
    fn bad_records_are_named_by_topic_partition_offset() {
        let s = settings(&[("pk.mode", "record_key")]);
        let err = to_row(&order(None, Some(value())), &s)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "record at topic orders partition 2 offset 41: the key is null, but pk.mode=record_key takes the primary key from it"
        );
        let s = settings(&[("pk.mode", "record_value"), ("pk.fields", "nope")]);
        let err = to_row(&order(None, Some(value())), &s)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\""), "{err}");
        let err = to_row(&order(None, Some(json!("text"))), &settings(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a string, not a struct"), "{err}");
    }

    #[test]
    fn tombstones_delete_only_when_enabled() {
        let tombstone = order(Some(json!(7)), None);
        assert_eq!(to_row(&tombstone, &settings(&[])).unwrap(), None);
        let r = row(
            &tombstone,
            &[
                ("pk.mode", "record_key"),
                ("pk.fields", "orderid"),
                ("delete.enabled", "true"),
            ],
        );
        assert_eq!(r.op, Op::Delete);
        assert_eq!(r.key, vec![("orderid".to_string(), SqlValue::Int(7))]);
        assert!(r.values.is_empty());
    }

    #[test]
    fn whitelist_limits_value_fields_but_keeps_keys() {
        let r = row(
            &order(None, Some(value())),
            &[
                ("pk.mode", "record_value"),
                ("pk.fields", "orderid"),
                ("fields.whitelist", "itemid"),
            ],
        );
        assert_eq!(names(&r.key), vec!["orderid"]);
        assert_eq!(names(&r.values), vec!["itemid"]);
    }
}
