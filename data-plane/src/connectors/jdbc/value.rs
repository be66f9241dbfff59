//! Column values and column types. A record with a Connect schema gives
//! both from its schema, as Confluent's JDBC sink does ([`SqlType::of_schema`],
//! [`SqlValue::from_connect`]); for a schemaless record a value's JSON type
//! decides both how it is bound and, for `auto.create`/`auto.evolve`, which
//! column type is created for it.

use serde_json::Value;

use crate::schema::{self, Kind, Logical, Schema};

/// A column type the sinks create (per-database names in `Dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// `INT8` (Postgres has no one-byte integer: SMALLINT).
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Real,
    Double,
    Boolean,
    Text,
    Bytes,
    /// Connect's `Decimal` with its scale.
    Decimal(i32),
    Date,
    Time,
    Timestamp,
    /// Nested objects and arrays, stored as JSON text: flattening them into
    /// columns is a transform's job (Flatten), not the sink's.
    Json,
}

impl SqlType {
    /// The column type of a Connect schema (Confluent's `getSqlType`).
    pub fn of_schema(schema: &Schema) -> SqlType {
        match (schema.logical(), &schema.kind) {
            (Some(Logical::Decimal { scale }), _) => SqlType::Decimal(scale),
            (Some(Logical::Date), _) => SqlType::Date,
            (Some(Logical::Time), _) => SqlType::Time,
            (Some(Logical::Timestamp), _) => SqlType::Timestamp,
            (None, Kind::Int8) => SqlType::TinyInt,
            (None, Kind::Int16) => SqlType::SmallInt,
            (None, Kind::Int32) => SqlType::Int,
            (None, Kind::Int64) => SqlType::BigInt,
            (None, Kind::Float32) => SqlType::Real,
            (None, Kind::Float64) => SqlType::Double,
            (None, Kind::Boolean) => SqlType::Boolean,
            (None, Kind::String) => SqlType::Text,
            (None, Kind::Bytes) => SqlType::Bytes,
            (None, Kind::Array(_) | Kind::Map(..) | Kind::Struct(_)) => SqlType::Json,
        }
    }
}

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    /// Serialized JSON of an object or array.
    Json(String),
    /// A `BYTES` value (bound as binary).
    Bytes(Vec<u8>),
}

impl SqlValue {
    pub fn from_json(value: &Value) -> SqlValue {
        match value {
            Value::Null => SqlValue::Null,
            Value::Bool(b) => SqlValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => SqlValue::Int(i),
                // u64 beyond i64 and decimals: a double is the closest column type.
                None => SqlValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => SqlValue::Text(s.clone()),
            Value::Array(_) | Value::Object(_) => SqlValue::Json(value.to_string()),
        }
    }

    /// A value of a Connect schema (the record model's encoding): dates and
    /// times as ISO text in UTC and decimals as decimal text, which both
    /// databases convert to the column type; bytes as binary.
    pub fn from_connect(value: &Value, schema: &Schema) -> SqlValue {
        if value.is_null() {
            return SqlValue::Null;
        }
        let text = |t: Option<String>| t.map(SqlValue::Text).unwrap_or(SqlValue::Null);
        match schema.logical() {
            Some(Logical::Decimal { scale }) => text(schema::decimal::to_string(value, scale).ok()),
            Some(l @ (Logical::Date | Logical::Time | Logical::Timestamp)) => {
                let time = schema::logical_millis(l, value)
                    .and_then(chrono::DateTime::from_timestamp_millis);
                let format = match l {
                    Logical::Date => "%Y-%m-%d",
                    Logical::Time => "%H:%M:%S%.3f",
                    _ => "%Y-%m-%d %H:%M:%S%.3f",
                };
                text(time.map(|t| t.format(format).to_string()))
            }
            None if matches!(schema.kind, Kind::Bytes) => schema::decode_bytes(value)
                .map(SqlValue::Bytes)
                .unwrap_or_else(|| SqlValue::from_json(value)),
            None => SqlValue::from_json(value),
        }
    }

    /// The column type this value asks for; `None` for null, which fits any.
    pub fn sql_type(&self) -> Option<SqlType> {
        match self {
            SqlValue::Null => None,
            SqlValue::Int(_) => Some(SqlType::BigInt),
            SqlValue::Float(_) => Some(SqlType::Double),
            SqlValue::Bool(_) => Some(SqlType::Boolean),
            SqlValue::Text(_) => Some(SqlType::Text),
            SqlValue::Json(_) => Some(SqlType::Json),
            SqlValue::Bytes(_) => Some(SqlType::Bytes),
        }
    }

    /// Rough encoded size, to keep statements well under packet limits.
    pub fn approx_size(&self) -> usize {
        match self {
            SqlValue::Null | SqlValue::Bool(_) => 1,
            SqlValue::Int(_) | SqlValue::Float(_) => 8,
            SqlValue::Text(s) | SqlValue::Json(s) => s.len(),
            SqlValue::Bytes(b) => b.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_types_map_to_column_types() {
        let cases = [
            (json!(7), Some(SqlType::BigInt)),
            (json!(-1_519_273_364_600i64), Some(SqlType::BigInt)),
            (json!(2.5), Some(SqlType::Double)),
            (json!(true), Some(SqlType::Boolean)),
            (json!("Item_1"), Some(SqlType::Text)),
            (json!({"city": "City_1"}), Some(SqlType::Json)),
            (json!([1, 2]), Some(SqlType::Json)),
            (json!(null), None),
        ];
        for (value, ty) in cases {
            assert_eq!(SqlValue::from_json(&value).sql_type(), ty, "{value}");
        }
    }

    #[test]
    fn schemas_give_column_types_and_values() {
        use crate::schema::Schema;
        let cases = [
            (Schema::int32(), SqlType::Int),
            (Schema::int8(), SqlType::TinyInt),
            (Schema::float32(), SqlType::Real),
            (Schema::decimal(2), SqlType::Decimal(2)),
            (Schema::date(), SqlType::Date),
            (Schema::timestamp(), SqlType::Timestamp),
            (Schema::bytes(), SqlType::Bytes),
            (Schema::array(Schema::int32()), SqlType::Json),
        ];
        for (schema, ty) in cases {
            assert_eq!(SqlType::of_schema(&schema), ty, "{schema:?}");
        }
        let v = |value: Value, schema: Schema| SqlValue::from_connect(&value, &schema);
        assert_eq!(
            v(json!("BOI="), Schema::decimal(2)),
            SqlValue::Text("12.50".into())
        );
        assert_eq!(
            v(json!(19000), Schema::date()),
            SqlValue::Text("2022-01-08".into())
        );
        assert_eq!(
            v(json!(1_500_000_000_123i64), Schema::timestamp()),
            SqlValue::Text("2017-07-14 02:40:00.123".into())
        );
        assert_eq!(
            v(json!(3_600_000), Schema::time()),
            SqlValue::Text("01:00:00.000".into())
        );
        assert_eq!(
            v(json!("3q0="), Schema::bytes()),
            SqlValue::Bytes(vec![0xde, 0xad])
        );
        assert_eq!(v(json!(7), Schema::int32()), SqlValue::Int(7));
        assert_eq!(v(Value::Null, Schema::int32().optional()), SqlValue::Null);
    }

    #[test]
    fn nested_values_are_stored_as_json_text() {
        let v = SqlValue::from_json(&json!({"city": "City_1", "zipcode": 12345}));
        assert_eq!(
            v,
            SqlValue::Json(r#"{"city":"City_1","zipcode":12345}"#.into())
        );
    }
}
