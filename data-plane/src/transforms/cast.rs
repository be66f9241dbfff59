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
//!
//! With a schema (upstream's schema path) the cast fields' schemas become
//! the target types (optional and default kept), spec fields the schema
//! lacks are ignored, a null field takes its default
//! (`replace.null.with.default`), bytes cast to string stay base64 text,
//! decimals cast like Java's `BigDecimal`, and `Date`/`Time`/`Timestamp`
//! cast to string in ISO 8601 and to `int64` as epoch milliseconds.

use std::sync::Arc;

use serde_json::Value;

use super::props::Props;
use super::util::{
    field_value, java_double, json_f32, json_f64, require_map, require_struct, type_name, Num,
    SchemaCache, Side,
};
use super::Transform;
use crate::record::Record;
use crate::schema::{self, Kind, Logical, Schema, Type};

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
    fn schema(self) -> Schema {
        match self {
            CastType::Int8 => Schema::int8(),
            CastType::Int16 => Schema::int16(),
            CastType::Int32 => Schema::int32(),
            CastType::Int64 => Schema::int64(),
            CastType::Float32 => Schema::float32(),
            CastType::Float64 => Schema::float64(),
            CastType::Boolean => Schema::boolean(),
            CastType::String => Schema::string(),
        }
    }

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
    replace_null: bool,
    schemas: SchemaCache,
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
    let replace_null = props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    let spec = match whole {
        Some(t) => Spec::Whole(t),
        None => Spec::Fields(fields),
    };
    Some(Box::new(Cast {
        side,
        spec,
        replace_null,
        schemas: SchemaCache::default(),
    }))
}

impl Transform for Cast {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
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

impl Cast {
    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let Some(value) = self.side.take(&mut record) else {
            return Ok(Some(record));
        };
        let updated_schema = self
            .schemas
            .get_or_build(&schema, |s| self.cast_schema(s))?;
        let updated = match &self.spec {
            Spec::Whole(t) => cast_typed(&value, &schema, *t)?,
            Spec::Fields(casts) => {
                let map = require_struct(&schema, Some(value), "cast types")?.unwrap_or_default();
                let mut out = serde_json::Map::with_capacity(map.len());
                for field in schema.fields() {
                    let v = field_value(&map, field, self.replace_null);
                    let v = match casts.iter().find(|(n, _)| *n == field.name) {
                        Some((_, t)) => cast_typed(&v, &field.schema, *t)
                            .map_err(|e| format!("field '{}': {e}", field.name))?,
                        None => v,
                    };
                    out.insert(field.name.clone(), v);
                }
                Value::Object(out)
            }
        };
        self.side.set(&mut record, Some(updated));
        self.side.set_schema(&mut record, Some(updated_schema));
        Ok(Some(record))
    }

    /// Upstream's `getOrBuildSchema`.
    fn cast_schema(&self, schema: &Schema) -> Result<Schema, String> {
        let target = |s: &Schema, t: CastType| -> Result<Schema, String> {
            check_input(s)?;
            let mut out = t.schema().with_optional(s.optional);
            if let Some(d) = &s.default {
                out = out.with_default(cast_typed(d, s, t)?);
            }
            Ok(out)
        };
        match &self.spec {
            Spec::Whole(t) => {
                let mut out = target(schema, *t)?;
                // The name, version, doc and parameters stay, unless they
                // named a logical type the cast value no longer is.
                if schema.logical().is_none() {
                    let basics = schema.basics(out.kind.clone());
                    out = Schema {
                        optional: out.optional,
                        default: out.default,
                        ..basics
                    };
                }
                Ok(out)
            }
            Spec::Fields(casts) => {
                if schema.ty() != Type::Struct {
                    return Err(format!(
                        "Only Struct objects supported for [cast types], found: {}",
                        schema.ty().name().to_ascii_uppercase()
                    ));
                }
                let mut fields = Vec::with_capacity(schema.fields().len());
                for f in schema.fields() {
                    let fs = match casts.iter().find(|(n, _)| *n == f.name) {
                        Some((_, t)) => Arc::new(
                            target(&f.schema, *t)
                                .map_err(|e| format!("field '{}': {e}", f.name))?,
                        ),
                        None => Arc::clone(&f.schema),
                    };
                    fields.push(schema::Field {
                        name: f.name.clone(),
                        schema: fs,
                    });
                }
                let mut out = schema.basics(Kind::Struct(fields));
                out.optional = schema.optional;
                out.default = schema.default.clone();
                Ok(out)
            }
        }
    }
}

/// Upstream's `validCastType(…, INPUT)`: primitives, decimals and dates only.
fn check_input(schema: &Schema) -> Result<(), String> {
    match schema.ty() {
        Type::Array | Type::Map | Type::Struct => Err(format!(
            "Cast transformation does not support casting from {}; supported input types are numbers, booleans, strings, bytes and Connect's logical types",
            schema.ty().name().to_ascii_uppercase()
        )),
        _ => Ok(()),
    }
}

/// Casts a value of `schema` (the record model's encoding) to `target`.
fn cast_typed(value: &Value, schema: &Schema, target: CastType) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match schema.logical() {
        Some(Logical::Decimal { scale }) => {
            let text = schema::decimal::to_string(value, scale)?;
            match target {
                CastType::String => Ok(Value::String(text)),
                CastType::Float32 | CastType::Float64 => cast_value(&Value::String(text), target),
                _ => {
                    // Number.longValue(): the integral part.
                    let f: f64 = text.parse().map_err(|_| format!("bad decimal {text}"))?;
                    let n = json_f64(f.trunc())?;
                    cast_value(&n, target)
                }
            }
        }
        Some(logical @ (Logical::Date | Logical::Time | Logical::Timestamp)) => {
            let millis = schema::logical_millis(logical, value)
                .ok_or_else(|| format!("{value} is not a {logical:?} value"))?;
            match target {
                CastType::String => Ok(Value::String(iso_text(logical, millis))),
                CastType::Int64 => Ok(Value::from(millis)),
                other => Err(format!(
                    "Cast transformation does not support casting {logical:?} to {other:?}"
                )),
            }
        }
        None if schema.ty() == Type::Bytes => match target {
            // Base64 text, which the record model already holds.
            CastType::String => Ok(value.clone()),
            other => Err(format!(
                "Cast transformation does not support casting BYTES to {other:?}"
            )),
        },
        None => cast_value(value, target),
    }
}

/// Connect's `Values.dateFormatFor`: ISO 8601 in UTC.
fn iso_text(logical: Logical, millis: i64) -> String {
    let Some(t) = chrono::DateTime::from_timestamp_millis(millis) else {
        return millis.to_string();
    };
    match logical {
        Logical::Date => t.format("%Y-%m-%d").to_string(),
        Logical::Time => t.format("%H:%M:%S%.3fZ").to_string(),
        _ => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
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
    fn schemas_change_with_the_cast_fields() {
        use crate::schema::{Field, Schema, Type};
        use std::sync::Arc;
        // Kafka's docs example: `spec=price:float64` on a struct.
        let c = chain(&[
            ("transforms", "castIt"),
            (
                "transforms.castIt.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            (
                "transforms.castIt.spec",
                "id:string,price:float64,day:string",
            ),
        ]);
        let schema = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("price", Schema::decimal(2).optional()),
            Field::new("day", Schema::date()),
            Field::new("qty", Schema::int8().optional().with_default(json!(1))),
        ])
        .named("Order");
        let r = Record::new(
            "t",
            None,
            Some(json!({"id": 7, "price": "BOI=", "day": 19000, "qty": null})),
        )
        .with_value_schema(Some(Arc::new(schema)));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(json!({"id": "7", "price": 12.5, "day": "2022-01-08", "qty": 1}))
        );
        let s = out.value_schema.unwrap();
        assert_eq!(s.name.as_deref(), Some("Order"));
        let f = |n: &str| s.field(n).unwrap().schema.clone();
        assert_eq!(*f("id"), Schema::string());
        assert_eq!(*f("price"), Schema::float64().optional());
        assert_eq!(f("day").ty(), Type::String);
        assert_eq!(
            f("qty").ty(),
            Type::Int8,
            "fields not in spec keep their schema"
        );
        // A whole-value cast changes the value's schema.
        let whole = chain(&[
            ("transforms", "k"),
            (
                "transforms.k.type",
                "org.apache.kafka.connect.transforms.Cast$Key",
            ),
            ("transforms.k.spec", "int64"),
        ]);
        let r = Record::new("t", Some(json!("42")), None)
            .with_key_schema(Some(Arc::new(Schema::string().optional())));
        let out = whole.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Some(json!(42)));
        assert_eq!(out.key_schema.as_deref(), Some(&Schema::int64().optional()));
        // Structs cannot be cast.
        let nested = Schema::structure(vec![Field::new("a", Schema::structure(vec![]))]);
        let c = chain(&[
            ("transforms", "c"),
            (
                "transforms.c.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.c.spec", "a:string"),
        ]);
        let r = Record::new("t", None, Some(json!({"a": {}})))
            .with_value_schema(Some(Arc::new(nested)));
        assert!(c.apply(r).unwrap_err().message.contains("STRUCT"));
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
