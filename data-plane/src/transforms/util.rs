//! Helpers shared by the transforms: which part of the record a `$Key` /
//! `$Value` variant works on, Kafka's "requireMap" / "requireStruct"
//! checks, a cache for rewritten schemas, and Java's number-to-text rules
//! (so string casts print what a JVM would).

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::record::Record;
use crate::schema::{Field, Schema, Type};

/// The part of the record a `$Key` or `$Value` transform operates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

impl Side {
    /// The operated value; JSON null and an absent value are both `None`,
    /// as both are Java's `null`.
    pub(crate) fn get(self, record: &Record) -> Option<&Value> {
        let v = match self {
            Side::Key => record.key.as_ref(),
            Side::Value => record.value.as_ref(),
        };
        v.filter(|v| !v.is_null())
    }

    pub(crate) fn take(self, record: &mut Record) -> Option<Value> {
        let v = match self {
            Side::Key => record.key.take(),
            Side::Value => record.value.take(),
        };
        v.filter(|v| !v.is_null())
    }

    pub(crate) fn set(self, record: &mut Record, value: Option<Value>) {
        let value = value.filter(|v| !v.is_null());
        match self {
            Side::Key => record.key = value,
            Side::Value => record.value = value,
        }
    }

    /// The operated part's schema; `None` when it is schemaless.
    pub(crate) fn schema(self, record: &Record) -> Option<Arc<Schema>> {
        match self {
            Side::Key => record.key_schema.clone(),
            Side::Value => record.value_schema.clone(),
        }
    }

    pub(crate) fn set_schema(self, record: &mut Record, schema: Option<Arc<Schema>>) {
        match self {
            Side::Key => record.key_schema = schema,
            Side::Value => record.value_schema = schema,
        }
    }
}

/// Remembers the last schema a transform rewrote, as upstream's
/// `schemaUpdateCache` does: records of one topic share their schema, so
/// the rewrite runs once, not per record.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache(Mutex<Option<(Arc<Schema>, Arc<Schema>)>>);

impl SchemaCache {
    pub(crate) fn get_or_build(
        &self,
        input: &Arc<Schema>,
        build: impl FnOnce(&Schema) -> Result<Schema, String>,
    ) -> Result<Arc<Schema>, String> {
        let mut cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((from, to)) = cached.as_ref() {
            if Arc::ptr_eq(from, input) || **from == **input {
                return Ok(Arc::clone(to));
            }
        }
        let built = Arc::new(build(input)?);
        *cached = Some((Arc::clone(input), Arc::clone(&built)));
        Ok(built)
    }
}

/// Kafka's `Requirements.requireStruct(OrNull)`: schema-based field-level
/// transforms need a struct. `Ok(None)` for a null value.
pub(crate) fn require_struct(
    schema: &Schema,
    value: Option<Value>,
    purpose: &str,
) -> Result<Option<Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if schema.ty() == Type::Struct => Ok(Some(map)),
        Some(_) => Err(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            schema.ty().name().to_ascii_uppercase()
        )),
    }
}

/// `Struct.get(field)`: the field's value, or its schema's default when it
/// is null and `replace_null` (`replace.null.with.default`) is on.
pub(crate) fn field_value(map: &Map<String, Value>, field: &Field, replace_null: bool) -> Value {
    match map.get(&field.name) {
        None | Some(Value::Null) if replace_null => {
            field.schema.default.clone().unwrap_or(Value::Null)
        }
        None => Value::Null,
        Some(v) => v.clone(),
    }
}

/// The error of Connect's `Struct.put`/`validate` for a null in a required field.
pub(crate) fn check_required(schema: &Schema, value: &Value, what: &str) -> Result<(), String> {
    if value.is_null() && !schema.optional && schema.default.is_none() {
        return Err(format!(
            "Invalid value: null used for required {what}, schema type: {}",
            schema.ty().name().to_ascii_uppercase()
        ));
    }
    Ok(())
}

/// A readable name for a JSON value's type in error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "floating-point number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "map",
    }
}

/// Kafka's `Requirements.requireMap`: schemaless field-level transforms need
/// a JSON object.
pub(crate) fn require_map(
    value: Option<Value>,
    purpose: &str,
) -> Result<Map<String, Value>, String> {
    match value {
        Some(Value::Object(map)) => Ok(map),
        other => Err(not_a_map(other.as_ref(), purpose)),
    }
}

pub(crate) fn not_a_map(value: Option<&Value>, purpose: &str) -> String {
    let found = value.map(type_name).unwrap_or("null");
    format!("Only Map objects supported in absence of schema for [{purpose}], found: {found}")
}

/// A JSON number as Java sees it after the schemaless `JsonConverter`:
/// integral numbers are `Long`, everything else `Double`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Long(i64),
    Double(f64),
}

impl Num {
    pub(crate) fn of(n: &serde_json::Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Long(i)
        } else if let Some(u) = n.as_u64() {
            // Beyond Long range Jackson's longValue() wraps; mirror it.
            Num::Long(u as i64)
        } else {
            Num::Double(n.as_f64().unwrap_or(f64::NAN))
        }
    }
}

/// A JSON number from a double; JSON has no NaN or infinities.
pub(crate) fn json_f64(v: f64) -> Result<Value, String> {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| format!("{} cannot be represented in JSON", java_double(v)))
}

/// A JSON number from a float: goes through the float's shortest decimal
/// text so `1.1f` becomes `1.1`, as Jackson writes a Java `Float`.
pub(crate) fn json_f32(v: f32) -> Result<Value, String> {
    let widened = format!("{v}").parse::<f64>().unwrap_or(v as f64);
    json_f64(widened)
}

/// Java's `Double.toString`: plain notation in [1e-3, 1e7), otherwise
/// computerized scientific notation like `1.0E10`; always a fraction digit.
pub(crate) fn java_double(v: f64) -> String {
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return format!("{sign}Infinity");
    }
    if v == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, e.g. "1.2345e3".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let body = if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int, frac) = padded.split_at(int_len);
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{int}.{frac}")
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{first}.{rest}E{exp}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn java_double_text_matches_the_jvm() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(2.5), "2.5");
        assert_eq!(java_double(-0.0), "-0.0");
        assert_eq!(java_double(123456.75), "123456.75");
        assert_eq!(java_double(1.0e7), "1.0E7");
        assert_eq!(java_double(12345678.9), "1.23456789E7");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn float_json_keeps_short_text() {
        assert_eq!(json_f32(1.1).unwrap(), json!(1.1));
        assert!(json_f64(f64::NAN).is_err());
    }

    #[test]
    fn side_treats_json_null_as_absent() {
        let mut r = Record::new("t", Some(Value::Null), Some(json!({"a": 1})));
        assert_eq!(Side::Key.get(&r), None);
        Side::Value.set(&mut r, Some(Value::Null));
        assert_eq!(r.value, None);
    }
}
