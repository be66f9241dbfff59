//! MySQL column types as Debezium MySQL maps them to Connect schemas
//! (`time.precision.mode=adaptive_time_microseconds`,
//! `bigint.unsigned.handling.mode=long`), and column values, as the binlog
//! or the snapshot's binary-protocol query gives them, as JSON in the
//! encoding of [`crate::schema`].
//!
//! | MySQL | Connect schema |
//! | --- | --- |
//! | TINYINT, SMALLINT (and TINYINT UNSIGNED) | INT16 |
//! | MEDIUMINT, INT; SMALLINT/MEDIUMINT UNSIGNED | INT32 |
//! | BIGINT, INT UNSIGNED, BIGINT UNSIGNED | INT64 |
//! | FLOAT / DOUBLE | FLOAT32 / FLOAT64 |
//! | DECIMAL(p,s) | `Decimal` (scale s), or FLOAT64 / STRING per `decimal.handling.mode` |
//! | DATE | `io.debezium.time.Date` INT32, days since the epoch |
//! | DATETIME(0-3) / DATETIME(4-6) | `io.debezium.time.Timestamp` INT64 ms / `MicroTimestamp` µs |
//! | TIMESTAMP | `io.debezium.time.ZonedTimestamp` STRING, ISO-8601 in UTC |
//! | TIME | `io.debezium.time.MicroTime` INT64 µs |
//! | YEAR | `io.debezium.time.Year` INT32 |
//! | CHAR, VARCHAR, TEXT | STRING |
//! | BINARY, VARBINARY, BLOB | BYTES |
//! | ENUM / SET | `io.debezium.data.Enum` / `EnumSet` STRING (parameter `allowed`) |
//! | JSON | `io.debezium.data.Json` STRING |
//! | BIT(1) / BIT(n) | BOOLEAN / `io.debezium.data.Bits` BYTES (little-endian) |
//!
//! The snapshot selects TIMESTAMP columns as `UNIX_TIMESTAMP(c)` and SET
//! columns as `c+0` (see [`Column::select_expr`]), so both paths hand over
//! the same forms the binlog does: seconds since the epoch and bit masks.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike};
use mysql_async::Value as My;
use serde_json::{json, Value};

use super::settings::DecimalMode;
use crate::schema::{self, Schema};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Int { bytes: u8, unsigned: bool },
    Float,
    Double,
    Decimal { precision: u32, scale: u32 },
    Date,
    DateTime { fsp: u32 },
    Timestamp { fsp: u32 },
    Time { fsp: u32 },
    Year,
    Text,
    Binary,
    Enum(Vec<String>),
    Set(Vec<String>),
    Json,
    Bit { bits: u32 },
}

impl Kind {
    /// From `information_schema.columns`: `data_type`, `column_type` (with
    /// `unsigned` and the ENUM/SET values), numeric precision and scale,
    /// and `datetime_precision`.
    pub fn parse(
        data_type: &str,
        column_type: &str,
        precision: Option<u64>,
        scale: Option<u64>,
        fsp: Option<u64>,
    ) -> Kind {
        let unsigned = column_type.to_ascii_lowercase().contains("unsigned");
        let fsp = fsp.unwrap_or(0) as u32;
        match data_type.to_ascii_lowercase().as_str() {
            "tinyint" => Kind::Int { bytes: 1, unsigned },
            "smallint" => Kind::Int { bytes: 2, unsigned },
            "mediumint" => Kind::Int { bytes: 3, unsigned },
            "int" | "integer" => Kind::Int { bytes: 4, unsigned },
            "bigint" => Kind::Int { bytes: 8, unsigned },
            "float" => Kind::Float,
            "double" | "real" => Kind::Double,
            "decimal" | "numeric" => Kind::Decimal {
                precision: precision.unwrap_or(10) as u32,
                scale: scale.unwrap_or(0) as u32,
            },
            "date" => Kind::Date,
            "datetime" => Kind::DateTime { fsp },
            "timestamp" => Kind::Timestamp { fsp },
            "time" => Kind::Time { fsp },
            "year" => Kind::Year,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                Kind::Binary
            }
            "enum" => Kind::Enum(enum_values(column_type)),
            "set" => Kind::Set(enum_values(column_type)),
            "json" => Kind::Json,
            "bit" => Kind::Bit {
                bits: precision.unwrap_or(1) as u32,
            },
            // MariaDB reports JSON columns as longtext with a json_valid check.
            _ => Kind::Text,
        }
    }
}

/// The quoted values of `enum('a','b')` / `set('a','b')`.
fn enum_values(column_type: &str) -> Vec<String> {
    let inner = column_type
        .find('(')
        .and_then(|start| {
            column_type
                .rfind(')')
                .map(|end| &column_type[start + 1..end])
        })
        .unwrap_or("");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '\'') => quoted = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            (true, '\'') => {
                quoted = false;
                out.push(std::mem::take(&mut cur));
            }
            (true, c) => cur.push(c),
            _ => {}
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
    /// Left out of the events (`column.exclude.list`).
    pub excluded: bool,
}

impl Column {
    /// The snapshot's select expression for this column (see the module doc).
    pub fn select_expr(&self) -> String {
        let q = quote_ident(&self.name);
        match self.kind {
            Kind::Timestamp { .. } => format!("UNIX_TIMESTAMP({q})"),
            Kind::Set(_) => format!("({q}+0)"),
            _ => q,
        }
    }

    pub fn schema(&self, decimal: DecimalMode) -> Schema {
        let s = match &self.kind {
            Kind::Int { bytes, unsigned } => match (bytes, unsigned) {
                (1, _) | (2, false) => Schema::int16(),
                (2, true) | (3, _) | (4, false) => Schema::int32(),
                _ => Schema::int64(),
            },
            Kind::Float => Schema::float32(),
            Kind::Double => Schema::float64(),
            Kind::Decimal { precision, scale } => match decimal {
                DecimalMode::Precise => Schema::decimal(*scale as i32)
                    .with_parameter("connect.decimal.precision", precision.to_string()),
                DecimalMode::Double => Schema::float64(),
                DecimalMode::String => Schema::string(),
            },
            Kind::Date => Schema::int32()
                .named("io.debezium.time.Date")
                .with_version(1),
            Kind::DateTime { fsp } if *fsp <= 3 => Schema::int64()
                .named("io.debezium.time.Timestamp")
                .with_version(1),
            Kind::DateTime { .. } => Schema::int64()
                .named("io.debezium.time.MicroTimestamp")
                .with_version(1),
            Kind::Timestamp { .. } => Schema::string()
                .named("io.debezium.time.ZonedTimestamp")
                .with_version(1),
            Kind::Time { .. } => Schema::int64()
                .named("io.debezium.time.MicroTime")
                .with_version(1),
            Kind::Year => Schema::int32()
                .named("io.debezium.time.Year")
                .with_version(1),
            Kind::Text => Schema::string(),
            Kind::Binary => Schema::bytes(),
            Kind::Enum(values) => Schema::string()
                .named("io.debezium.data.Enum")
                .with_version(1)
                .with_parameter("allowed", values.join(",")),
            Kind::Set(values) => Schema::string()
                .named("io.debezium.data.EnumSet")
                .with_version(1)
                .with_parameter("allowed", values.join(",")),
            Kind::Json => Schema::string()
                .named("io.debezium.data.Json")
                .with_version(1),
            Kind::Bit { bits: 1 } => Schema::boolean(),
            Kind::Bit { bits } => Schema::bytes()
                .named("io.debezium.data.Bits")
                .with_version(1)
                .with_parameter("length", bits.to_string()),
        };
        s.with_optional(self.nullable)
    }

    /// The value as JSON; `null` for SQL NULL and for what cannot be read
    /// (a zero date, which Debezium also writes as null).
    pub fn to_json(&self, v: &My, decimal: DecimalMode) -> Value {
        if matches!(v, My::NULL) {
            return Value::Null;
        }
        let text = || match v {
            My::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            My::Int(i) => i.to_string(),
            My::UInt(u) => u.to_string(),
            My::Float(f) => f.to_string(),
            My::Double(d) => d.to_string(),
            other => other.as_sql(true).trim_matches('\'').to_string(),
        };
        let out = match &self.kind {
            Kind::Int { bytes, unsigned } => int(v, *bytes, *unsigned).map(|i| json!(i)),
            Kind::Float | Kind::Double => match v {
                My::Float(f) => Some(json!(f)),
                My::Double(d) => Some(json!(d)),
                _ => text().parse::<f64>().ok().map(|f| json!(f)),
            },
            Kind::Decimal { scale, .. } => {
                let t = text();
                match decimal {
                    DecimalMode::Precise => schema::decimal::from_text(&t, *scale as i32)
                        .ok()
                        .map(|b| schema::encode_bytes(&b)),
                    DecimalMode::Double => t.parse::<f64>().ok().map(|f| json!(f)),
                    DecimalMode::String => Some(json!(t)),
                }
            }
            Kind::Date => date_time(v, &text())
                .map(|dt| json!(dt.date().signed_duration_since(epoch_date()).num_days())),
            Kind::DateTime { fsp } => date_time(v, &text()).map(|dt| {
                let us = dt.and_utc().timestamp_micros();
                if *fsp <= 3 {
                    json!(us.div_euclid(1_000))
                } else {
                    json!(us)
                }
            }),
            Kind::Timestamp { fsp } => zoned(&text(), *fsp).map(Value::String),
            Kind::Time { .. } => time_micros(v, &text()).map(|us| json!(us)),
            Kind::Year => text().parse::<i32>().ok().map(|y| json!(y)),
            Kind::Text | Kind::Json => Some(json!(text())),
            Kind::Binary => match v {
                My::Bytes(b) => Some(schema::encode_bytes(b)),
                _ => Some(schema::encode_bytes(text().as_bytes())),
            },
            Kind::Enum(values) => match v {
                // The binlog writes the 1-based index; 0 is the empty
                // string of an invalid value.
                My::Int(_) | My::UInt(_) => int(v, 8, true).map(|i| {
                    json!(usize::try_from(i - 1)
                        .ok()
                        .and_then(|i| values.get(i))
                        .cloned()
                        .unwrap_or_default())
                }),
                _ => Some(json!(text())),
            },
            Kind::Set(values) => {
                let mask: u64 = match v {
                    My::Int(i) => *i as u64,
                    My::UInt(u) => *u,
                    // The binlog's bit mask, little-endian.
                    My::Bytes(b) => b
                        .iter()
                        .take(8)
                        .enumerate()
                        .fold(0, |m, (i, byte)| m | (u64::from(*byte) << (8 * i))),
                    _ => 0,
                };
                let names: Vec<&str> = values
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, n)| n.as_str())
                    .collect();
                Some(json!(names.join(",")))
            }
            Kind::Bit { bits } => {
                let bytes = match v {
                    My::Bytes(b) => b.clone(),
                    My::Int(i) => i.to_be_bytes().to_vec(),
                    My::UInt(u) => u.to_be_bytes().to_vec(),
                    _ => Vec::new(),
                };
                if *bits == 1 {
                    Some(json!(bytes.iter().any(|b| *b != 0)))
                } else {
                    // Big-endian from the server; Debezium's Bits are little-endian.
                    let n = (*bits as usize).div_ceil(8);
                    let mut le: Vec<u8> = bytes.iter().rev().copied().take(n).collect();
                    le.resize(n, 0);
                    Some(schema::encode_bytes(&le))
                }
            }
        };
        out.unwrap_or(Value::Null)
    }
}

fn int(v: &My, bytes: u8, unsigned: bool) -> Option<i64> {
    let n = match v {
        My::Int(i) => *i,
        // BIGINT UNSIGNED above i64::MAX wraps, as Debezium's `long` mode does.
        My::UInt(u) => *u as i64,
        My::Bytes(b) => {
            let t = String::from_utf8_lossy(b);
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<u64>().ok().map(|u| u as i64))?
        }
        _ => return None,
    };
    // Without the binlog's signedness metadata (MariaDB does not send it by
    // default) unsigned columns come as signed: put them back in range.
    Some(if unsigned && n < 0 && bytes < 8 {
        n + (1_i64 << (8 * u32::from(bytes)))
    } else {
        n
    })
}

fn epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// A DATE or DATETIME, from the binlog's or binary protocol's date value or
/// from text; `None` for zero dates.
fn date_time(v: &My, text: &str) -> Option<NaiveDateTime> {
    match v {
        My::Date(y, mo, d, h, mi, s, us) => {
            NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*mo), u32::from(*d))?
                .and_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
        }
        _ => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            }),
    }
}

/// A TIMESTAMP given as seconds since the epoch (`1700000000` or
/// `1700000000.123456`) as ISO-8601 in UTC with `fsp` fraction digits.
fn zoned(text: &str, fsp: u32) -> Option<String> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.trim().parse().ok()?;
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: u32 = digits.parse().ok()?;
    let dt = DateTime::from_timestamp(secs, nanos)?;
    let base = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    Some(if fsp == 0 {
        format!("{base}Z")
    } else {
        let f = format!("{:09}", dt.nanosecond());
        format!("{base}.{}Z", &f[..fsp.min(9) as usize])
    })
}

/// A TIME as microseconds (it may be negative or above 24 hours).
fn time_micros(v: &My, text: &str) -> Option<i64> {
    match v {
        My::Time(neg, days, h, m, s, us) => {
            let total =
                ((i64::from(*days) * 24 + i64::from(*h)) * 60 + i64::from(*m)) * 60 + i64::from(*s);
            let us = total * 1_000_000 + i64::from(*us);
            Some(if *neg { -us } else { us })
        }
        _ => {
            let (neg, t) = match text.strip_prefix('-') {
                Some(t) => (true, t),
                None => (false, text),
            };
            let mut parts = t.splitn(3, ':');
            let h: i64 = parts.next()?.parse().ok()?;
            let m: i64 = parts.next()?.parse().ok()?;
            let sec = parts.next()?;
            let (s, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let s: i64 = s.parse().ok()?;
            let mut f: String = frac.chars().take(6).collect();
            while f.len() < 6 {
                f.push('0');
            }
            let us = ((h * 60 + m) * 60 + s) * 1_000_000 + f.parse::<i64>().ok()?;
            Some(if neg { -us } else { us })
        }
    }
}

/// A MySQL identifier in backquotes.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(kind: Kind) -> Column {
        Column {
            name: "c".into(),
            kind,
            nullable: true,
            excluded: false,
        }
    }

    #[test]
    fn types_map_as_debezium_maps_them() {
        let k = |dt: &str, ct: &str| Kind::parse(dt, ct, Some(10), Some(2), Some(6));
        assert_eq!(
            col(k("int", "int(10) unsigned"))
                .schema(DecimalMode::Precise)
                .kind,
            Schema::int64().kind
        );
        assert_eq!(
            col(k("tinyint", "tinyint(4)"))
                .schema(DecimalMode::Precise)
                .kind,
            Schema::int16().kind
        );
        let dec = col(k("decimal", "decimal(10,2)")).schema(DecimalMode::Precise);
        assert_eq!(dec.logical(), Some(schema::Logical::Decimal { scale: 2 }));
        assert_eq!(
            col(k("datetime", "datetime(6)"))
                .schema(DecimalMode::Precise)
                .name
                .as_deref(),
            Some("io.debezium.time.MicroTimestamp")
        );
        assert_eq!(
            k("enum", "enum('a','it''s','c')"),
            Kind::Enum(vec!["a".into(), "it's".into(), "c".into()])
        );
    }

    #[test]
    fn values_from_the_binlog_and_the_snapshot_agree() {
        let d = DecimalMode::Precise;
        let u8col = col(Kind::Int {
            bytes: 1,
            unsigned: true,
        });
        assert_eq!(u8col.to_json(&My::Int(-1), d), json!(255));
        assert_eq!(u8col.to_json(&My::UInt(255), d), json!(255));
        let date = col(Kind::Date);
        assert_eq!(date.to_json(&My::Date(1970, 1, 2, 0, 0, 0, 0), d), json!(1));
        assert_eq!(
            date.to_json(&My::Bytes(b"1970-01-02".to_vec()), d),
            json!(1)
        );
        assert_eq!(date.to_json(&My::Date(0, 0, 0, 0, 0, 0, 0), d), Value::Null);
        let ts = col(Kind::Timestamp { fsp: 0 });
        assert_eq!(
            ts.to_json(&My::Bytes(b"86400".to_vec()), d),
            json!("1970-01-02T00:00:00Z")
        );
        assert_eq!(
            ts.to_json(&My::Int(86400), d),
            json!("1970-01-02T00:00:00Z")
        );
        let ts3 = col(Kind::Timestamp { fsp: 3 });
        assert_eq!(
            ts3.to_json(&My::Bytes(b"1.5".to_vec()), d),
            json!("1970-01-01T00:00:01.500Z")
        );
        let t = col(Kind::Time { fsp: 0 });
        assert_eq!(
            t.to_json(&My::Time(true, 1, 1, 0, 0, 0), d),
            json!(-90_000_000_000_i64)
        );
        assert_eq!(
            t.to_json(&My::Bytes(b"-25:00:00".to_vec()), d),
            json!(-90_000_000_000_i64)
        );
        let e = col(Kind::Enum(vec!["s".into(), "m".into()]));
        assert_eq!(e.to_json(&My::Int(2), d), json!("m"));
        assert_eq!(e.to_json(&My::Bytes(b"m".to_vec()), d), json!("m"));
        let s = col(Kind::Set(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(s.to_json(&My::Bytes(vec![5]), d), json!("a,c"));
        assert_eq!(s.to_json(&My::UInt(5), d), json!("a,c"));
        let dec = col(Kind::Decimal {
            precision: 10,
            scale: 2,
        });
        let v = dec.to_json(&My::Bytes(b"12.34".to_vec()), d);
        assert_eq!(schema::decimal::to_string(&v, 2).unwrap(), "12.34");
        assert_eq!(
            dec.to_json(&My::Bytes(b"12.34".to_vec()), DecimalMode::String),
            json!("12.34")
        );
        let bit = col(Kind::Bit { bits: 1 });
        assert_eq!(bit.to_json(&My::Bytes(vec![1]), d), json!(true));
    }
}
