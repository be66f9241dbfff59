//! Column values and column types as the JDBC sinks infer them from
//! schemaless JSON: the record model has no schemas, so a value's JSON type
//! decides both how it is bound and, for `auto.create`/`auto.evolve`, which
//! column type is created for it.

use serde_json::Value;

/// A column type the sinks create (per-database names in `Dialect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    BigInt,
    Double,
    Boolean,
    Text,
    /// Nested objects and arrays, stored as JSON text: flattening them into
    /// columns is a transform's job (Flatten), not the sink's.
    Json,
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

    /// The column type this value asks for; `None` for null, which fits any.
    pub fn sql_type(&self) -> Option<SqlType> {
        match self {
            SqlValue::Null => None,
            SqlValue::Int(_) => Some(SqlType::BigInt),
            SqlValue::Float(_) => Some(SqlType::Double),
            SqlValue::Bool(_) => Some(SqlType::Boolean),
            SqlValue::Text(_) => Some(SqlType::Text),
            SqlValue::Json(_) => Some(SqlType::Json),
        }
    }

    /// Rough encoded size, to keep statements well under packet limits.
    pub fn approx_size(&self) -> usize {
        match self {
            SqlValue::Null | SqlValue::Bool(_) => 1,
            SqlValue::Int(_) | SqlValue::Float(_) => 8,
            SqlValue::Text(s) | SqlValue::Json(s) => s.len(),
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
    fn nested_values_are_stored_as_json_text() {
        let v = SqlValue::from_json(&json!({"city": "City_1", "zipcode": 12345}));
        assert_eq!(
            v,
            SqlValue::Json(r#"{"city":"City_1","zipcode":12345}"#.into())
        );
    }
}
