//! `org.apache.kafka.connect.transforms.Cast$Key` / `$Value`.
//!
//! `spec` is `field:type,…` to cast fields of a map, or a single `type` to
//! cast the whole key/value. Conversions follow Java's: numbers narrow by
//! wrapping (`Number.byteValue()`), strings parse strictly
//! (`Integer.parseInt`), booleans are 1/0 and `"true"` (any case) → true,
//! and anything → string uses Java's `toString`.
//!
//! As upstream in schemaless mode, a spec field missing from the map is
//! written back as null, and maps/arrays cannot be cast.

use serde_json::Value;

use super::props::Props;
use super::util::{java_double, json_f32, json_f64, require_map, type_name, Num, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CastType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
}

const VALID: &str = "int8, int16, int32, int64, float32, float64, boolean, string";

impl CastType {
    /// Case-insensitive, as upstream upper-cases before `Schema.Type.valueOf`.
    fn parse(name: &str) -> Result<CastType, String> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "int8" => CastType::Int8,
            "int16" => CastType::Int16,
            "int32" => CastType::Int32,
            "int64" => CastType::Int64,
            "float32" => CastType::Float32,
            "float64" => CastType::Float64,
            "boolean" => CastType::Boolean,
            "string" => CastType::String,
            // Valid Connect types that Cast cannot produce.
            other @ ("bytes" | "array" | "map" | "struct") => {
                return Err(format!(
                    "casting to '{other}' is not supported; valid types are {VALID}"
                ))
            }
            _ => {
                return Err(format!(
                    "invalid type '{}'; valid types are {VALID}",
                    name.trim()
                ))
            }
        })
    }
}

#[derive(Debug)]
enum Spec {
    Whole(CastType),
    Fields(Vec<(String, CastType)>),
}

#[derive(Debug)]
pub(crate) struct Cast {
    side: Side,
    spec: Spec,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let entries = props.required_list("spec")?;
    let mut whole = None;
    let mut fields = Vec::new();
    for entry in &entries {
        let parts: Vec<&str> = entry.split(':').collect();
        let parsed = match parts.as_slice() {
            [ty] => CastType::parse(ty).map(|t| whole = Some(t)),
            [field, ty] => CastType::parse(ty).map(|t| fields.push((field.trim().to_string(), t))),
            _ => Err(format!(
                "invalid cast mapping '{entry}'; expected field:type"
            )),
        };
        if let Err(message) = parsed {
            props.error("spec", message);
        }
    }
    if whole.is_some() && entries.len() > 1 {
        props.error(
            "spec",
            "a cast of the entire value (a bare type) must be the only entry in spec",
        );
    }
    if props.has_errors() {
        return None;
    }
    let spec = match whole {
        Some(t) => Spec::Whole(t),
        None => Spec::Fields(fields),
    };
    Some(Box::new(Cast { side, spec }))
}

impl Transform for Cast {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let Some(value) = self.side.take(&mut record) else {
            return Ok(Some(record));
        };
        let updated = match &self.spec {
            Spec::Whole(t) => cast_value(&value, *t)?,
            Spec::Fields(fields) => {
                let mut map = require_map(Some(value), "cast types")?;
                for (field, t) in fields {
                    let cast = match map.get(field) {
                        None | Some(Value::Null) => Value::Null,
                        Some(v) => {
                            cast_value(v, *t).map_err(|e| format!("field '{field}': {e}"))?
                        }
                    };
                    map.insert(field.clone(), cast);
                }
                Value::Object(map)
            }
        };
        self.side.set(&mut record, Some(updated));
        Ok(Some(record))
    }
}

/// The value as one of Cast's supported input types.
enum Input<'a> {
    Num(Num),
    Bool(bool),
    Str(&'a str),
}

pub(crate) fn cast_value(value: &Value, target: CastType) -> Result<Value, String> {
    let input = match value {
        Value::Null => return Ok(Value::Null),
        Value::Number(n) => Input::Num(Num::of(n)),
        Value::Bool(b) => Input::Bool(*b),
        Value::String(s) => Input::Str(s),
        other => {
            return Err(format!(
                "Cast transformation does not support casting from {}; supported input types are numbers, booleans and strings",
                type_name(other)
            ))
        }
    };
    match target {
        CastType::Int8 => to_long(
            &input,
            |s| s.parse::<i8>().map(i64::from),
            |l| l as i8 as i64,
            |d| d as i32 as i8 as i64,
        ),
        CastType::Int16 => to_long(
            &input,
            |s| s.parse::<i16>().map(i64::from),
            |l| l as i16 as i64,
            |d| d as i32 as i16 as i64,
        ),
        CastType::Int32 => to_long(
            &input,
            |s| s.parse::<i32>().map(i64::from),
            |l| l as i32 as i64,
            |d| d as i32 as i64,
        ),
        CastType::Int64 => to_long(&input, |s| s.parse::<i64>(), |l| l, |d| d as i64),
        CastType::Float32 => json_f32(match input {
            Input::Num(Num::Long(l)) => l as f32,
            Input::Num(Num::Double(d)) => d as f32,
            Input::Bool(b) => f32::from(u8::from(b)),
            Input::Str(s) => parse_java_float(s)? as f32,
        }),
        CastType::Float64 => json_f64(match input {
            Input::Num(Num::Long(l)) => l as f64,
            Input::Num(Num::Double(d)) => d,
            Input::Bool(b) => f64::from(u8::from(b)),
            Input::Str(s) => parse_java_float(s)?,
        }),
        CastType::Boolean => Ok(Value::Bool(match input {
            // Java: Number.longValue() != 0, so 0.5 is false.
            Input::Num(Num::Long(l)) => l != 0,
            Input::Num(Num::Double(d)) => d as i64 != 0,
            Input::Bool(b) => b,
            Input::Str(s) => s.eq_ignore_ascii_case("true"),
        })),
        CastType::String => Ok(Value::String(match input {
            Input::Num(Num::Long(l)) => l.to_string(),
            Input::Num(Num::Double(d)) => java_double(d),
            Input::Bool(b) => b.to_string(),
            Input::Str(s) => s.to_string(),
        })),
    }
}

/// Integer targets: `parse` for strings (Java's strict `parseX`), `wrap`
/// for longs and `from_double` for doubles (Java's primitive narrowing).
fn to_long<E>(
    input: &Input,
    parse: impl Fn(&str) -> Result<i64, E>,
    wrap: impl Fn(i64) -> i64,
    from_double: impl Fn(f64) -> i64,
) -> Result<Value, String> {
    let n = match input {
        Input::Num(Num::Long(l)) => wrap(*l),
        Input::Num(Num::Double(d)) => from_double(*d),
        Input::Bool(b) => i64::from(*b),
        Input::Str(s) => {
            parse(s).map_err(|_| format!("Value ({s}) was out of range for requested data type"))?
        }
    };
    Ok(Value::from(n))
}

/// `Double.parseDouble`: surrounding whitespace, an `f`/`d` suffix and
/// `NaN`/`Infinity` are accepted.
fn parse_java_float(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
    let body = t.trim_start_matches(['+', '-']);
    let valid_word = matches!(body, "NaN" | "Infinity");
    let numeric = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !(valid_word || numeric) {
        return Err(format!(
            "Value ({s}) was out of range for requested data type"
        ));
    }
    let rust_form = t.replace("Infinity", "inf");
    rust_form
        .parse::<f64>()
        .map_err(|_| format!("Value ({s}) was out of range for requested data type"))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain, config_errors, orders_value};
    use super::{cast_value, CastType};
    use crate::record::Record;
    use serde_json::{json, Value};

    fn cast(v: Value, t: CastType) -> Result<Value, String> {
        cast_value(&v, t)
    }

    #[test]
    fn orders_fields_to_int32_and_string() {
        let c = chain(&[
            ("transforms", "castIt"),
            (
                "transforms.castIt.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.castIt.spec", "orderunits:int32, orderid:string"),
        ]);
        let out = apply_value(&c, orders_value(1_500_000_000_000)).unwrap();
        assert_eq!(out["orderunits"], json!(4));
        assert_eq!(out["orderid"], json!("18"));
        assert_eq!(out["itemid"], json!("Item_184"));
        assert_eq!(out["address"]["city"], json!("City_75"));
    }

    #[test]
    fn whole_key_to_string_and_back_to_int() {
        let to_string = chain(&[
            ("transforms", "k"),
            (
                "transforms.k.type",
                "org.apache.kafka.connect.transforms.Cast$Key",
            ),
            ("transforms.k.spec", "string"),
        ]);
        let r = Record::new("orders", Some(json!(18)), Some(json!({"a": 1})));
        let out = to_string.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Some(json!("18")));
        assert_eq!(out.value, Some(json!({"a": 1})));

        let to_int = chain(&[
            ("transforms", "k"),
            (
                "transforms.k.type",
                "org.apache.kafka.connect.transforms.Cast$Key",
            ),
            ("transforms.k.spec", "INT64"),
        ]);
        let back = to_int.apply(out).unwrap().unwrap();
        assert_eq!(back.key, Some(json!(18)));
        // A null key is passed through.
        let none = to_int.apply(Record::new("t", None, None)).unwrap().unwrap();
        assert_eq!(none.key, None);
    }

    #[test]
    fn numeric_conversions_follow_java() {
        assert_eq!(cast(json!(300), CastType::Int8).unwrap(), json!(44));
        assert_eq!(cast(json!(-129), CastType::Int8).unwrap(), json!(127));
        assert_eq!(cast(json!(3.99), CastType::Int16).unwrap(), json!(3));
        assert_eq!(cast(json!(1e20), CastType::Int32).unwrap(), json!(i32::MAX));
        assert_eq!(cast(json!(true), CastType::Int64).unwrap(), json!(1));
        assert_eq!(cast(json!(7), CastType::Float64).unwrap(), json!(7.0));
        assert_eq!(cast(json!(1.1), CastType::Float32).unwrap(), json!(1.1));
        assert_eq!(cast(json!(0.5), CastType::Boolean).unwrap(), json!(false));
        assert_eq!(cast(json!(-2), CastType::Boolean).unwrap(), json!(true));
    }

    #[test]
    fn string_conversions_follow_java() {
        assert_eq!(cast(json!("42"), CastType::Int32).unwrap(), json!(42));
        assert_eq!(cast(json!("+42"), CastType::Int32).unwrap(), json!(42));
        assert!(cast(json!("128"), CastType::Int8).is_err());
        assert!(cast(json!(" 42"), CastType::Int32).is_err());
        assert!(cast(json!("4.5"), CastType::Int64).is_err());
        assert_eq!(cast(json!(" 4.5 "), CastType::Float64).unwrap(), json!(4.5));
        assert_eq!(cast(json!("2.5f"), CastType::Float32).unwrap(), json!(2.5));
        assert_eq!(cast(json!("TRUE"), CastType::Boolean).unwrap(), json!(true));
        assert_eq!(cast(json!("yes"), CastType::Boolean).unwrap(), json!(false));
        assert_eq!(cast(json!(2.0), CastType::String).unwrap(), json!("2.0"));
        assert_eq!(
            cast(json!(1e10), CastType::String).unwrap(),
            json!("1.0E10")
        );
        assert_eq!(
            cast(json!(false), CastType::String).unwrap(),
            json!("false")
        );
        assert!(
            cast(json!("NaN"), CastType::Float64).is_err(),
            "NaN has no JSON form"
        );
        assert!(cast(json!("abc"), CastType::Float64).is_err());
    }

    #[test]
    fn maps_cannot_be_cast_and_absent_fields_become_null() {
        let c = chain(&[
            ("transforms", "castIt"),
            (
                "transforms.castIt.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.castIt.spec", "address:string,nope:int32"),
        ]);
        let err = c
            .apply(Record::new(
                "t",
                None,
                Some(json!({"address": {"city": "x"}})),
            ))
            .unwrap_err();
        assert_eq!(err.transform, "castIt");
        assert!(err.message.contains("field 'address'"), "{err}");
        let out = apply_value(&c, json!({"address": null}));
        assert_eq!(out, Some(json!({"address": null, "nope": null})));
        let err = c
            .apply(Record::new("t", None, Some(json!("text"))))
            .unwrap_err();
        assert!(err.message.contains("Only Map objects"), "{err}");
    }

    #[test]
    fn spec_errors_name_the_key_and_type() {
        let errors = config_errors(&[
            ("transforms", "castIt"),
            (
                "transforms.castIt.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.castIt.spec", "a:int99,b:bytes,c:int32:x"),
        ]);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors.iter().all(|e| e.key == "transforms.castIt.spec"));
        assert!(
            errors[0].message.starts_with("invalid type 'int99'"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].message.contains("'bytes' is not supported"),
            "{}",
            errors[1]
        );

        let errors = config_errors(&[
            ("transforms", "c"),
            (
                "transforms.c.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.c.spec", "string,a:int8"),
        ]);
        assert!(errors[0].message.contains("only entry"), "{}", errors[0]);

        let errors = config_errors(&[
            ("transforms", "c"),
            (
                "transforms.c.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
        ]);
        assert_eq!(
            errors[0].to_string(),
            "transforms.c.spec: missing required setting"
        );
    }
}
