//! Column values, from Postgres's text output to the JSON Debezium writes
//! (its default `time.precision.mode=adaptive`, `binary.handling.mode=bytes`):
//! integers and booleans as JSON numbers and booleans, `date` as days since
//! the epoch, `timestamp` as epoch milli- or microseconds (by precision),
//! `timestamptz` as an ISO-8601 UTC string, `time` as milli- or microseconds
//! of the day, `bytea` as base64, numerics per `decimal.handling.mode`, and
//! everything else as its text.
//!
//! The text comes from the walsender's or the snapshot session's output
//! functions, both pinned to [`SESSION_OPTIONS`] so values render the same.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::{json, Value};

use super::settings::DecimalMode;
use crate::schema::Schema;

/// Session settings for both the replication and the snapshot connection:
/// ISO dates, UTC, round-trip floats, hex bytea.
pub const SESSION_OPTIONS: &[(&str, &str)] = &[
    ("DateStyle", "ISO,YMD"),
    ("TimeZone", "UTC"),
    ("IntervalStyle", "iso_8601"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
];

pub mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const OID: u32 = 26;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const NUMERIC: u32 = 1700;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const JSON: u32 = 114;
    pub const JSONB: u32 = 3802;
    pub const UUID: u32 = 2950;
}

/// The Connect schema of a column's values as [`to_json`] writes them
/// (Debezium's names for the temporal and semantic types), required; the
/// caller makes it optional.
pub fn schema(type_oid: u32, type_modifier: i32, decimal: DecimalMode) -> Schema {
    let named = |s: Schema, name: &str| s.named(name).with_version(1);
    match type_oid {
        oid::BOOL => Schema::boolean(),
        oid::INT2 => Schema::int16(),
        oid::INT4 => Schema::int32(),
        oid::INT8 | oid::OID => Schema::int64(),
        oid::FLOAT4 => Schema::float32(),
        oid::FLOAT8 => Schema::float64(),
        oid::NUMERIC if decimal == DecimalMode::Double => Schema::float64(),
        oid::BYTEA => Schema::bytes(),
        oid::DATE => named(Schema::int32(), "io.debezium.time.Date"),
        oid::TIMESTAMP if millis_precision(type_modifier) => {
            named(Schema::int64(), "io.debezium.time.Timestamp")
        }
        oid::TIMESTAMP => named(Schema::int64(), "io.debezium.time.MicroTimestamp"),
        oid::TIMESTAMPTZ => named(Schema::string(), "io.debezium.time.ZonedTimestamp"),
        oid::TIME if millis_precision(type_modifier) => {
            named(Schema::int32(), "io.debezium.time.Time")
        }
        oid::TIME => named(Schema::int64(), "io.debezium.time.MicroTime"),
        oid::JSON | oid::JSONB => named(Schema::string(), "io.debezium.data.Json"),
        oid::UUID => named(Schema::string(), "io.debezium.data.Uuid"),
        // Numerics in string mode and everything written as its text.
        _ => Schema::string(),
    }
}

/// The JSON of one non-null column value.
pub fn to_json(type_oid: u32, type_modifier: i32, text: &str, decimal: DecimalMode) -> Value {
    let converted = match type_oid {
        // The output function writes t/f; the snapshot's `::text` cast true/false.
        oid::BOOL => match text {
            "t" | "true" => Some(Value::Bool(true)),
            "f" | "false" => Some(Value::Bool(false)),
            _ => None,
        },
        oid::INT2 | oid::INT4 | oid::INT8 => text.parse::<i64>().ok().map(Value::from),
        oid::OID => text.parse::<u32>().ok().map(Value::from),
        oid::FLOAT4 | oid::FLOAT8 => float(text),
        oid::NUMERIC => match decimal {
            DecimalMode::Double => float(text),
            DecimalMode::String => None,
        },
        oid::BYTEA => text
            .strip_prefix("\\x")
            .and_then(hex)
            .map(|b| Value::String(base64::engine::general_purpose::STANDARD.encode(b))),
        oid::DATE => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| json!(d.signed_duration_since(epoch_date()).num_days())),
        oid::TIMESTAMP => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|t| {
                let utc = t.and_utc();
                if millis_precision(type_modifier) {
                    json!(utc.timestamp_millis())
                } else {
                    json!(utc.timestamp_micros())
                }
            }),
        oid::TIMESTAMPTZ => DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
            .ok()
            .map(|t| {
                let utc = t.naive_utc();
                json!(utc.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
            }),
        oid::TIME => NaiveTime::parse_from_str(text, "%H:%M:%S%.f")
            .ok()
            .map(|t| {
                let micros = i64::from(t.num_seconds_from_midnight()) * 1_000_000
                    + i64::from(t.nanosecond() / 1_000);
                if millis_precision(type_modifier) {
                    json!(micros / 1_000)
                } else {
                    json!(micros)
                }
            }),
        _ => None,
    };
    // Anything we do not map (or cannot parse: 'infinity', BC dates, NaN) as text.
    converted.unwrap_or_else(|| Value::String(text.to_string()))
}

/// Debezium's adaptive mode: precision 0–3 → milliseconds, else microseconds
/// (the type modifier of time and timestamp is the precision; -1 = 6).
fn millis_precision(type_modifier: i32) -> bool {
    (0..=3).contains(&type_modifier)
}

fn float(text: &str) -> Option<Value> {
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

fn epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(type_oid: u32, text: &str) -> Value {
        to_json(type_oid, -1, text, DecimalMode::String)
    }

    #[test]
    fn numbers_and_booleans_are_json_scalars() {
        assert_eq!(v(oid::INT4, "42"), json!(42));
        assert_eq!(v(oid::INT8, "-9223372036854775808"), json!(i64::MIN));
        assert_eq!(v(oid::BOOL, "t"), json!(true));
        assert_eq!(
            v(oid::BOOL, "false"),
            json!(false),
            "as the snapshot reads it"
        );
        assert_eq!(v(oid::FLOAT8, "1.5"), json!(1.5));
        assert_eq!(v(oid::FLOAT8, "NaN"), json!("NaN"));
        assert_eq!(v(oid::NUMERIC, "12.340"), json!("12.340"));
        assert_eq!(
            to_json(oid::NUMERIC, -1, "12.5", DecimalMode::Double),
            json!(12.5)
        );
    }

    #[test]
    fn temporal_values_follow_debezium_adaptive_mode() {
        assert_eq!(v(oid::DATE, "1970-01-02"), json!(1));
        assert_eq!(v(oid::DATE, "1969-12-31"), json!(-1));
        assert_eq!(v(oid::DATE, "infinity"), json!("infinity"));
        assert_eq!(
            v(oid::TIMESTAMP, "1970-01-01 00:00:01.5"),
            json!(1_500_000),
            "precision 6 (default): microseconds"
        );
        assert_eq!(
            to_json(
                oid::TIMESTAMP,
                3,
                "1970-01-01 00:00:01.5",
                DecimalMode::String
            ),
            json!(1_500),
            "precision 3: milliseconds"
        );
        assert_eq!(
            v(oid::TIMESTAMPTZ, "2024-03-01 10:20:30.25+00"),
            json!("2024-03-01T10:20:30.250Z")
        );
        assert_eq!(
            v(oid::TIMESTAMPTZ, "2024-03-01 10:20:30+02"),
            json!("2024-03-01T08:20:30Z")
        );
        assert_eq!(v(oid::TIME, "00:00:01.000002"), json!(1_000_002));
    }

    #[test]
    fn bytea_is_base64_and_others_are_text() {
        assert_eq!(v(oid::BYTEA, "\\x68690a"), json!("aGkK"));
        assert_eq!(v(114, "{\"a\": 1}"), json!("{\"a\": 1}"));
        assert_eq!(
            v(2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
    }
}
