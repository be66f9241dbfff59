//! From a record to a row: which table, which key columns (per `pk.mode`),
//! which value columns (per `fields.whitelist`), and whether it writes or,
//! for a tombstone with `delete.enabled`, deletes. A record with Connect
//! schemas gives its columns in schema order, with the column types and
//! nullability its schemas declare ([`to_row_declared`]).

use std::fmt;

use serde_json::{Map, Value};

use super::settings::{JdbcSettings, PkMode};
use super::table::TableId;
use super::value::{SqlType, SqlValue};
use crate::record::Record;
use crate::schema::{Schema, Type};

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

/// A column's type and nullability as a record's schema declares them.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

type Columns = Vec<(String, SqlValue)>;

/// The row a record becomes; `None` for a tombstone the sink ignores
/// (`delete.enabled=false`).
pub fn to_row(record: &Record, settings: &JdbcSettings) -> Result<Option<Row>, RowError> {
    Ok(to_row_declared(record, settings)?.map(|(row, _)| row))
}

/// [`to_row`] with the columns the record's schemas declare (none for a
/// schemaless record, whose column types come from its values).
pub fn to_row_declared(
    record: &Record,
    settings: &JdbcSettings,
) -> Result<Option<(Row, Vec<Declared>)>, RowError> {
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
        let mut declared = Vec::new();
        let key = key_columns(record, settings, &mut declared).map_err(fail)?;
        let row = Row {
            table,
            op: Op::Delete,
            key,
            values: Vec::new(),
            origin,
        };
        return Ok(Some((row, declared)));
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
    let value_schema = record
        .value_schema
        .as_deref()
        .filter(|s| s.ty() == Type::Struct);
    let mut declared = Vec::new();
    let key = match settings.pk_mode {
        PkMode::None => Vec::new(),
        PkMode::Kafka => {
            let key = kafka_key(record, &settings.pk_fields).map_err(fail)?;
            if value_schema.is_some() {
                // Confluent's types for the coordinates: STRING, INT32, INT64.
                for ((name, _), ty) in
                    key.iter()
                        .zip([SqlType::Text, SqlType::Int, SqlType::BigInt])
                {
                    declared.push(Declared {
                        name: name.clone(),
                        ty,
                        nullable: false,
                    });
                }
            }
            key
        }
        PkMode::RecordKey => key_columns(record, settings, &mut declared).map_err(fail)?,
        PkMode::RecordValue => struct_key(
            fields,
            value_schema,
            &settings.pk_fields,
            "value",
            &mut declared,
        )
        .map_err(fail)?,
    };
    let keep = |name: &str| {
        !key.iter().any(|(k, _)| k == name)
            && (settings.fields_whitelist.is_empty()
                || settings.fields_whitelist.iter().any(|w| w == name))
    };
    let values = match value_schema {
        Some(schema) => schema
            .fields()
            .iter()
            .filter(|f| keep(&f.name))
            .map(|f| {
                declared.push(Declared {
                    name: f.name.clone(),
                    ty: SqlType::of_schema(&f.schema),
                    nullable: f.schema.optional,
                });
                let v = fields.get(&f.name).unwrap_or(&Value::Null);
                (f.name.clone(), SqlValue::from_connect(v, &f.schema))
            })
            .collect(),
        None => fields
            .iter()
            .filter(|(name, _)| keep(name))
            .map(|(name, v)| (name.clone(), SqlValue::from_json(v)))
            .collect(),
    };
    let row = Row {
        table,
        op: Op::Write,
        key,
        values,
        origin,
    };
    Ok(Some((row, declared)))
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
    declared: &mut Vec<Declared>,
) -> Result<Columns, String> {
    let names = &settings.pk_fields;
    let schema = record.key_schema.as_deref();
    match &record.key {
        None | Some(Value::Null) => {
            Err("the key is null, but pk.mode=record_key takes the primary key from it".into())
        }
        Some(Value::Object(fields)) => {
            let schema = schema.filter(|s| s.ty() == Type::Struct);
            struct_key(fields, schema, names, "key", declared)
        }
        Some(Value::Array(_)) => {
            Err("the key is an array; pk.mode=record_key needs a primitive or struct key".into())
        }
        Some(primitive) => {
            let name = match names.as_slice() {
                [] => DEFAULT_KEY_COLUMN.to_string(),
                [name] => name.clone(),
                _ => {
                    return Err(format!(
                        "the key is a primitive {}, so pk.fields must name one column, not {}",
                        kind(Some(primitive)),
                        names.len()
                    ))
                }
            };
            let value = match schema {
                Some(s) => {
                    declared.push(Declared {
                        name: name.clone(),
                        ty: SqlType::of_schema(s),
                        nullable: false,
                    });
                    SqlValue::from_connect(primitive, s)
                }
                None => SqlValue::from_json(primitive),
            };
            Ok(vec![(name, value)])
        }
    }
}

/// The key columns of a struct: the fields `pk.fields` names, or all of
/// them (in schema order when there is a schema).
fn struct_key(
    fields: &Map<String, Value>,
    schema: Option<&Schema>,
    names: &[String],
    what: &str,
    declared: &mut Vec<Declared>,
) -> Result<Columns, String> {
    let all: Vec<String> = match schema {
        Some(s) => s.fields().iter().map(|f| f.name.clone()).collect(),
        None => fields.keys().cloned().collect(),
    };
    let wanted: &[String] = if names.is_empty() { &all } else { names };
    wanted
        .iter()
        .map(|name| {
            let v = fields.get(name).filter(|v| !v.is_null());
            let field_schema = schema.and_then(|s| s.field(name)).map(|f| &*f.schema);
            match (v, names.is_empty()) {
                (None, false) => Err(format!(
                    "primary key field {name:?} (pk.fields) is missing or null in the record {what}"
                )),
                (v, _) => {
                    let v = v.unwrap_or(&Value::Null);
                    let value = match field_schema {
                        Some(fs) => {
                            declared.push(Declared {
                                name: name.clone(),
                                ty: SqlType::of_schema(fs),
                                nullable: false,
                            });
                            SqlValue::from_connect(v, fs)
                        }
                        None => SqlValue::from_json(v),
                    };
                    Ok((name.clone(), value))
                }
            }
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
        assert_eq!(names(&r.values), vec!["orderid", "itemid", "address"]);
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
        assert_eq!(names(&r.values), vec!["itemid", "address"]);

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
        assert_eq!(names(&r.key), vec!["region", "id"]);
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
        assert_eq!(names(&r.values), vec!["itemid", "address"]);
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
    fn schemas_give_columns_types_and_values() {
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        let schema = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("amount", Schema::decimal(2)),
            Field::new("day", Schema::date().optional()),
            Field::new("note", Schema::string().optional()),
        ]);
        let r = order(
            Some(json!(7)),
            Some(json!({"id": 7, "amount": "BOI=", "day": 19000})),
        )
        .with_value_schema(Some(Arc::new(schema)))
        .with_key_schema(Some(Arc::new(Schema::int64())));
        let s = settings(&[("pk.mode", "record_key"), ("pk.fields", "orderid")]);
        let (row, declared) = to_row_declared(&r, &s).unwrap().unwrap();
        assert_eq!(row.key, vec![("orderid".to_string(), SqlValue::Int(7))]);
        // Every schema field, in schema order, absent ones as null.
        assert_eq!(
            row.values,
            vec![
                ("id".to_string(), SqlValue::Int(7)),
                ("amount".to_string(), SqlValue::Text("12.50".into())),
                ("day".to_string(), SqlValue::Text("2022-01-08".into())),
                ("note".to_string(), SqlValue::Null),
            ]
        );
        let d = |n: &str| declared.iter().find(|d| d.name == n).cloned().unwrap();
        assert_eq!(
            (d("orderid").ty, d("orderid").nullable),
            (SqlType::BigInt, false)
        );
        assert_eq!((d("id").ty, d("id").nullable), (SqlType::Int, false));
        assert_eq!(d("amount").ty, SqlType::Decimal(2));
        assert_eq!((d("day").ty, d("day").nullable), (SqlType::Date, true));
        // Schemaless records declare nothing.
        let plain = order(Some(json!(7)), Some(value()));
        assert!(to_row_declared(&plain, &s).unwrap().unwrap().1.is_empty());
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
