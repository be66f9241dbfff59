//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`.
//!
//! Converts a timestamp field (or the whole key/value when `field` is
//! empty) between `string` (a SimpleDateFormat `format`), `unix` (an integer
//! in `unix.precision` units) and Connect's `Timestamp`, `Date` and `Time`.
//!
//! With a schema (upstream's schema path) the input kind comes from the
//! schema (`Timestamp`, `Date`, `Time`, a string, or an `int64` unix time)
//! and the output's schema becomes the target type: `string`, `int64`, or
//! Connect's `Date` (days since the epoch), `Time` or `Timestamp`.
//!
//! Schemaless JSON has no logical types, so — as a design decision of ours —
//! `Timestamp` is written as epoch milliseconds, `Date` as the epoch
//! milliseconds of that day's UTC midnight and `Time` as milliseconds since
//! midnight. The input kind is inferred like upstream: strings are parsed
//! with `format`, integers are unix time; anything else is an error.

use std::sync::Arc;

use serde_json::Value;

use super::datefmt::DateFormat;
use super::props::Props;
use super::util::{field_value, require_map, require_struct, type_name, SchemaCache, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{self, Field, Kind, Logical, Schema, Type};

const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl Precision {
    /// Java's `TimeUnit.X.toMillis`: truncating division, saturating products.
    fn to_millis(self, v: i64) -> i64 {
        match self {
            Precision::Seconds => v.saturating_mul(1000),
            Precision::Milliseconds => v,
            Precision::Microseconds => v / 1000,
            Precision::Nanoseconds => v / 1_000_000,
        }
    }

    fn of_millis(self, ms: i64) -> i64 {
        match self {
            Precision::Seconds => ms / 1000,
            Precision::Milliseconds => ms,
            Precision::Microseconds => ms.saturating_mul(1000),
            Precision::Nanoseconds => ms.saturating_mul(1_000_000),
        }
    }
}

#[derive(Debug)]
pub(crate) struct TimestampConverter {
    side: Side,
    field: String,
    target: Target,
    format: Option<DateFormat>,
    precision: Precision,
    replace_null: bool,
    schemas: SchemaCache,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let field = props.string_or("field", "");
    let target = props
        .one_of(
            "target.type",
            &["string", "unix", "Date", "Time", "Timestamp"],
            None,
        )
        .map(|t| match t {
            "string" => Target::String,
            "unix" => Target::Unix,
            "Date" => Target::Date,
            "Time" => Target::Time,
            _ => Target::Timestamp,
        });
    let pattern = props.string_or("format", "");
    let format = if pattern.is_empty() {
        if target == Some(Target::String) {
            props.error(
                "format",
                "TimestampConverter requires format option to be specified when using string timestamps",
            );
        }
        None
    } else {
        match DateFormat::new(&pattern) {
            Ok(f) => Some(f),
            Err(e) => {
                props.error(
                    "format",
                    format!("invalid SimpleDateFormat pattern '{pattern}': {e}"),
                );
                None
            }
        }
    };
    let precision = props
        .one_of(
            "unix.precision",
            &["seconds", "milliseconds", "microseconds", "nanoseconds"],
            Some("milliseconds"),
        )
        .map(|p| match p {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Microseconds,
            "nanoseconds" => Precision::Nanoseconds,
            _ => Precision::Milliseconds,
        });
    let replace_null = props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(TimestampConverter {
        side,
        field,
        target: target?,
        format,
        precision: precision?,
        replace_null,
        schemas: SchemaCache::default(),
    }))
}

impl Transform for TimestampConverter {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
        let value = self.side.take(&mut record);
        let updated = if value.is_none() || self.field.is_empty() {
            self.convert(value.as_ref())?
        } else {
            let mut map = require_map(value, "converting timestamp formats")?;
            let converted = self
                .convert(map.get(&self.field))
                .map_err(|e| format!("field '{}': {e}", self.field))?;
            // Upstream puts the (possibly null) result back even when the
            // field was absent.
            map.insert(self.field.clone(), converted);
            Value::Object(map)
        };
        self.side.set(&mut record, Some(updated));
        Ok(Some(record))
    }
}

impl TimestampConverter {
    /// The schema of a converted value.
    fn target_schema(&self, optional: bool) -> Schema {
        let s = match self.target {
            Target::String => Schema::string(),
            Target::Unix => Schema::int64(),
            Target::Date => Schema::date(),
            Target::Time => Schema::time(),
            Target::Timestamp => Schema::timestamp(),
        };
        s.with_optional(optional)
    }

    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record);
        if self.field.is_empty() {
            let updated = self
                .schemas
                .get_or_build(&schema, |s| Ok(self.target_schema(s.optional)))?;
            let converted = self.convert_typed(value.as_ref().unwrap_or(&Value::Null), &schema)?;
            self.side.set(&mut record, Some(converted));
            self.side.set_schema(&mut record, Some(updated));
            return Ok(Some(record));
        }
        let map = require_struct(&schema, value, "converting timestamp formats")?;
        let updated = self.schemas.get_or_build(&schema, |s| {
            if s.field(&self.field).is_none() {
                return Err(format!("Unknown field: {}", self.field));
            }
            let fields = s
                .fields()
                .iter()
                .map(|f| {
                    if f.name == self.field {
                        Field::new(f.name.clone(), self.target_schema(f.schema.optional))
                    } else {
                        f.clone()
                    }
                })
                .collect();
            let mut out = s.basics(Kind::Struct(fields));
            out.optional = s.optional;
            Ok(out)
        })?;
        let value = match map {
            None => None,
            Some(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for f in schema.fields() {
                    let v = field_value(&map, f, self.replace_null);
                    let v = if f.name == self.field {
                        self.convert_typed(&v, &f.schema)
                            .map_err(|e| format!("field '{}': {e}", self.field))?
                    } else {
                        v
                    };
                    out.insert(f.name.clone(), v);
                }
                Some(Value::Object(out))
            }
        };
        self.side.set(&mut record, value);
        self.side.set_schema(&mut record, Some(updated));
        Ok(Some(record))
    }

    /// Upstream's `timestampTypeFromSchema`, then the conversion to the
    /// target in the record model's encoding of its schema.
    fn convert_typed(&self, value: &Value, schema: &Schema) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let bad = || format!("{value} does not fit its {} schema", schema.ty().name());
        let millis = match (schema.logical(), schema.ty()) {
            (Some(l @ (Logical::Timestamp | Logical::Date | Logical::Time)), _) => {
                schema::logical_millis(l, value).ok_or_else(bad)?
            }
            (None, Type::String) => match (&self.format, value.as_str()) {
                (Some(f), Some(s)) => f.parse_millis(s)?,
                (None, _) => {
                    return Err(
                        "cannot parse a string timestamp: the 'format' setting is empty".into(),
                    )
                }
                _ => return Err(bad()),
            },
            (None, Type::Int64) => self.precision.to_millis(value.as_i64().ok_or_else(bad)?),
            _ => {
                return Err(format!(
                    "Schema {} does not correspond to a known timestamp type format",
                    schema.ty().name().to_ascii_uppercase()
                ))
            }
        };
        Ok(match self.target {
            Target::String => match &self.format {
                Some(f) => Value::String(f.format_millis(millis)?),
                None => return Err("the 'format' setting is empty".into()),
            },
            Target::Unix => Value::from(self.precision.of_millis(millis)),
            Target::Timestamp => Value::from(millis),
            Target::Date => schema::millis_to_logical(Logical::Date, millis),
            Target::Time => schema::millis_to_logical(Logical::Time, millis),
        })
    }

    fn convert(&self, value: Option<&Value>) -> Result<Value, String> {
        let millis = match value {
            None | Some(Value::Null) => return Ok(Value::Null),
            Some(Value::String(s)) => match &self.format {
                Some(f) => f.parse_millis(s)?,
                None => {
                    return Err(
                        "cannot parse a string timestamp: the 'format' setting is empty".into(),
                    )
                }
            },
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
                let v = n.as_i64().ok_or("unix timestamp is out of range")?;
                self.precision.to_millis(v)
            }
            Some(other) => {
                return Err(format!(
                    "TimestampConverter does not support {} values as timestamps",
                    type_name(other)
                ))
            }
        };
        Ok(match self.target {
            Target::String => match &self.format {
                Some(f) => Value::String(f.format_millis(millis)?),
                None => return Err("the 'format' setting is empty".into()),
            },
            Target::Unix => Value::from(self.precision.of_millis(millis)),
            Target::Timestamp => Value::from(millis),
            Target::Date => Value::from(millis.div_euclid(MILLIS_PER_DAY) * MILLIS_PER_DAY),
            Target::Time => Value::from(millis.rem_euclid(MILLIS_PER_DAY)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{chain, orders_value};
    use crate::record::Record;
    use serde_json::{json, Value};

    const ORDERTIME: i64 = 1_500_000_000_123;

    fn apply(pairs: &[(&str, &str)], value: Value) -> Result<Value, String> {
        let mut all = vec![("transforms", "ts")];
        all.extend_from_slice(pairs);
        let out = chain(&all)
            .apply(Record::new("orders", None, Some(value)))
            .map_err(|e| e.to_string())?;
        Ok(out.and_then(|r| r.value).unwrap_or(Value::Null))
    }

    const TO_STRING: &[(&str, &str)] = &[
        (
            "transforms.ts.type",
            "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        ),
        ("transforms.ts.field", "ordertime"),
        ("transforms.ts.target.type", "string"),
        ("transforms.ts.format", "yyyy-MM-dd HH:mm:ss"),
    ];

    #[test]
    fn ordertime_millis_to_string_and_back() {
        let out = apply(TO_STRING, orders_value(ORDERTIME)).unwrap();
        assert_eq!(out["ordertime"], json!("2017-07-14 02:40:00"));
        assert_eq!(out["orderid"], orders_value(ORDERTIME)["orderid"]);

        let back = apply(
            &[
                (
                    "transforms.ts.type",
                    "org.apache.kafka.connect.transforms.TimestampConverter$Value",
                ),
                ("transforms.ts.field", "ordertime"),
                ("transforms.ts.target.type", "unix"),
                ("transforms.ts.format", "yyyy-MM-dd HH:mm:ss"),
            ],
            out,
        )
        .unwrap();
        // The format has no milliseconds, so they are lost on the way.
        assert_eq!(back["ordertime"], json!(1_500_000_000_000i64));
    }

    #[test]
    fn unix_precision_applies_on_input_and_output() {
        let base = [
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            ),
            ("transforms.ts.target.type", "unix"),
            ("transforms.ts.unix.precision", "seconds"),
        ];
        assert_eq!(
            apply(&base, json!(1_500_000_000i64)).unwrap(),
            json!(1_500_000_000i64)
        );
        let to_ts = [
            base[0],
            ("transforms.ts.target.type", "Timestamp"),
            ("transforms.ts.unix.precision", "microseconds"),
        ];
        assert_eq!(
            apply(&to_ts, json!(1_500_000_000_123_456i64)).unwrap(),
            json!(ORDERTIME)
        );
    }

    #[test]
    fn date_and_time_split_the_day() {
        let date = [
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            ),
            ("transforms.ts.target.type", "Date"),
        ];
        assert_eq!(
            apply(&date, json!(ORDERTIME)).unwrap(),
            json!(1_499_990_400_000i64)
        );
        let time = [date[0], ("transforms.ts.target.type", "Time")];
        assert_eq!(apply(&time, json!(ORDERTIME)).unwrap(), json!(9_600_123));
        // Before 1970 the day still starts at the preceding midnight.
        assert_eq!(apply(&date, json!(-1)).unwrap(), json!(-86_400_000));
    }

    #[test]
    fn key_variant_and_nulls() {
        let c = chain(&[
            ("transforms", "ts"),
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Key",
            ),
            ("transforms.ts.target.type", "string"),
            ("transforms.ts.format", "yyyyMMdd"),
        ]);
        let r = c
            .apply(Record::new("t", Some(json!(ORDERTIME)), None))
            .unwrap()
            .unwrap();
        assert_eq!(r.key, Some(json!("20170714")));
        let r = c.apply(Record::new("t", None, None)).unwrap().unwrap();
        assert_eq!(r.key, None);
        // A missing field comes back as null, as upstream's map.put does.
        let out = apply(TO_STRING, json!({"other": 1})).unwrap();
        assert_eq!(out, json!({"other": 1, "ordertime": null}));
    }

    #[test]
    fn schemas_take_the_target_type() {
        use crate::schema::{Field, Logical, Schema};
        use std::sync::Arc;
        // Kafka's docs example: field=ts, target.type=string, format=yyyy-MM-dd…
        let to_string = chain(&[
            ("transforms", "ts"),
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            ),
            ("transforms.ts.field", "ordertime"),
            ("transforms.ts.target.type", "string"),
            ("transforms.ts.format", "yyyy-MM-dd HH:mm:ss"),
        ]);
        let schema = Arc::new(Schema::structure(vec![
            Field::new("ordertime", Schema::timestamp()),
            Field::new("id", Schema::int32()),
        ]));
        let r = Record::new("t", None, Some(json!({"ordertime": ORDERTIME, "id": 1})))
            .with_value_schema(Some(Arc::clone(&schema)));
        let out = to_string.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(json!({"ordertime": "2017-07-14 02:40:00", "id": 1}))
        );
        let s = out.value_schema.unwrap();
        assert_eq!(*s.field("ordertime").unwrap().schema, Schema::string());
        // A Timestamp field to Date: days since the epoch, Date schema.
        let to_date = chain(&[
            ("transforms", "ts"),
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            ),
            ("transforms.ts.field", "ordertime"),
            ("transforms.ts.target.type", "Date"),
        ]);
        let r = Record::new("t", None, Some(json!({"ordertime": ORDERTIME, "id": 1})))
            .with_value_schema(Some(Arc::clone(&schema)));
        let out = to_date.apply(r).unwrap().unwrap();
        assert_eq!(out.value, Some(json!({"ordertime": 17_361, "id": 1})));
        let s = out.value_schema.unwrap();
        assert_eq!(
            s.field("ordertime").unwrap().schema.logical(),
            Some(Logical::Date)
        );
        // A whole int64 key (unix seconds) to Timestamp.
        let key = chain(&[
            ("transforms", "ts"),
            (
                "transforms.ts.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Key",
            ),
            ("transforms.ts.target.type", "Timestamp"),
            ("transforms.ts.unix.precision", "seconds"),
        ]);
        let r = Record::new("t", Some(json!(1_500_000_000i64)), None)
            .with_key_schema(Some(Arc::new(Schema::int64())));
        let out = key.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Some(json!(1_500_000_000_000i64)));
        assert_eq!(out.key_schema.as_deref(), Some(&Schema::timestamp()));
        // A boolean is no timestamp.
        let r = Record::new("t", Some(json!(true)), None)
            .with_key_schema(Some(Arc::new(Schema::boolean())));
        assert!(key.apply(r).unwrap_err().message.contains("BOOLEAN"));
    }

    #[test]
    fn rejects_inputs_that_are_not_timestamps() {
        let err = apply(TO_STRING, json!({"ordertime": 1.5})).unwrap_err();
        assert!(
            err.contains("ts") && err.contains("floating-point"),
            "{err}"
        );
        let err = apply(TO_STRING, json!({"ordertime": "14/07/2017"})).unwrap_err();
        assert!(
            err.contains("does not match pattern (yyyy-MM-dd HH:mm:ss)"),
            "{err}"
        );
        let err = apply(TO_STRING, json!("not a map")).unwrap_err();
        assert!(err.contains("Only Map objects"), "{err}");
    }
}
