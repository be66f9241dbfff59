//! Generates records for a [`DatagenSchema`] the way Confluent's
//! avro-random-generator does for kafka-connect-datagen, as JSON values
//! with fields in schema order: enums as their symbols, unions as the
//! value of a randomly chosen branch (so nullable fields are sometimes
//! null), bytes and fixed as base64 text (as Kafka Connect's JSON
//! converter writes bytes).

use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{Map, Number, Value};

use super::schema::{Args, DatagenSchema, Iteration, Length, Range, Schema, Type};

/// Regex samples tried to meet a `length` given next to a `regex`.
const LENGTH_ATTEMPTS: usize = 64;

pub struct Generator {
    schema: DatagenSchema,
    /// One counter per `iteration` annotation: how many values it produced.
    counters: Vec<u64>,
}

impl Generator {
    /// A generator whose iterations continue after `generated` records, as
    /// upstream's `Generator.Builder().generation(count)` does.
    pub fn new(schema: DatagenSchema, generated: u64) -> Generator {
        Generator {
            counters: vec![generated; schema.iteration_slots],
            schema,
        }
    }

    pub fn schema(&self) -> &DatagenSchema {
        &self.schema
    }

    /// Continues the iterations after `generated` records (a resumed task).
    pub fn continue_after(&mut self, generated: u64) {
        self.counters.fill(generated);
    }

    /// The next record: a JSON object with the top-level fields in order.
    pub fn generate(&mut self, rng: &mut StdRng) -> Value {
        value(&self.schema.root, rng, &mut self.counters)
    }
}

fn value(schema: &Schema, rng: &mut StdRng, counters: &mut [u64]) -> Value {
    let args = &schema.args;
    if let Some(options) = &args.options {
        let picked = options.choose(rng).cloned().unwrap_or(Value::Null);
        return match (&schema.ty, picked) {
            (Type::Bytes, Value::String(s)) => Value::String(base64(s.as_bytes())),
            (_, v) => v,
        };
    }
    if let Some((slot, iteration)) = &args.iteration {
        let n = counters.get(*slot).copied().unwrap_or(0);
        if let Some(c) = counters.get_mut(*slot) {
            *c = c.wrapping_add(1);
        }
        return iterate(&schema.ty, iteration, n, args);
    }
    match &schema.ty {
        Type::Null => Value::Null,
        Type::Boolean => Value::Bool(match args.odds {
            Some(p) => rng.gen::<f64>() < p,
            None => rng.gen(),
        }),
        Type::Int => Value::from(match args.range {
            Some(Range::Integral { min, max }) => rng.gen_range(min..max) as i32,
            _ => rng.gen::<i32>(),
        }),
        Type::Long => Value::from(match args.range {
            Some(Range::Integral { min, max }) => rng.gen_range(min..max) as i64,
            _ => rng.gen::<i64>(),
        }),
        Type::Float => float(match args.range {
            Some(Range::Decimal { min, max }) => f64::from(decimal(rng, min, max) as f32),
            _ => f64::from(rng.gen::<f32>()),
        }),
        Type::Double => float(match args.range {
            Some(Range::Decimal { min, max }) => decimal(rng, min, max),
            _ => rng.gen::<f64>(),
        }),
        Type::Bytes => {
            let n = length(rng, args.length_or_default());
            let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            Value::String(base64(&bytes))
        }
        Type::Fixed(size) => {
            let bytes: Vec<u8> = (0..*size).map(|_| rng.gen()).collect();
            Value::String(base64(&bytes))
        }
        Type::String => Value::String(string(schema, args, rng)),
        Type::Enum(symbols) => Value::String(symbols.choose(rng).cloned().unwrap_or_default()),
        Type::Array(items) => {
            let n = length(rng, args.length_or_default());
            Value::Array((0..n).map(|_| value(items, rng, counters)).collect())
        }
        Type::Map(values) => {
            let n = length(rng, args.length_or_default());
            let mut out = Map::new();
            for _ in 0..n {
                let key = match args.keys.as_deref() {
                    Some(keys) => match value(keys, rng, counters) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    None => alphanumeric(rng, Args::default().length_or_default()),
                };
                out.insert(key, value(values, rng, counters));
            }
            Value::Object(out)
        }
        Type::Record(fields) => Value::Object(
            fields
                .iter()
                .map(|f| (f.name.clone(), value(&f.schema, rng, counters)))
                .collect(),
        ),
        Type::Union(types) => match types.choose(rng) {
            Some(t) => value(t, rng, counters),
            None => Value::Null,
        },
    }
}

fn string(schema: &Schema, args: &Args, rng: &mut StdRng) -> String {
    let body = match &args.regex {
        Some(regex) => regex_string(regex, args.length, rng),
        None if schema.logical_type.as_deref() == Some("uuid") && args.length.is_none() => {
            uuid(rng)
        }
        None => alphanumeric(rng, args.length_or_default()),
    };
    if args.prefix.is_empty() && args.suffix.is_empty() {
        body
    } else {
        format!("{}{body}{}", args.prefix, args.suffix)
    }
}

/// A string matching `regex`; with a `length`, samples until one fits
/// (upstream asks Generex for a length in the bounds), else keeps the last.
fn regex_string(regex: &rand_regex::Regex, bounds: Option<Length>, rng: &mut StdRng) -> String {
    let mut sample = || -> String {
        rng.sample::<Result<String, _>, _>(regex)
            .unwrap_or_default()
    };
    let Some(bounds) = bounds else {
        return sample();
    };
    let mut s = sample();
    for _ in 1..LENGTH_ATTEMPTS {
        if (bounds.min..bounds.max).contains(&s.chars().count()) {
            break;
        }
        s = sample();
    }
    s
}

/// Random text for unannotated strings. Upstream draws any 7-bit
/// character, control characters included; letters and digits make the
/// same point without breaking sinks.
fn alphanumeric(rng: &mut StdRng, bounds: Length) -> String {
    let n = length(rng, bounds);
    (0..n)
        .map(|_| char::from(rng.sample(Alphanumeric)))
        .collect()
}

fn uuid(rng: &mut StdRng) -> String {
    let mut b: [u8; 16] = rng.gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn length(rng: &mut StdRng, bounds: Length) -> usize {
    if bounds.max <= bounds.min + 1 {
        bounds.min
    } else {
        rng.gen_range(bounds.min..bounds.max)
    }
}

/// Uniform in `[min, max)`; bounds as wide as the type may overflow a
/// width computation, so those blend the bounds instead.
fn decimal(rng: &mut StdRng, min: f64, max: f64) -> f64 {
    if (max - min).is_finite() {
        rng.gen_range(min..max)
    } else {
        let r: f64 = rng.gen();
        min * (1.0 - r) + max * r
    }
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The `n`-th value (0-based) of an iteration, as upstream's iterators
/// compute it: `start + (initial - start + n * step)`, wrapped into
/// `[start, restart)` (or `(restart, start]` counting down).
fn iterate(ty: &Type, iteration: &Iteration, n: u64, args: &Args) -> Value {
    match *iteration {
        Iteration::Boolean { start } => Value::Bool(start ^ (n % 2 == 1)),
        Iteration::Integral {
            start,
            restart,
            step,
            initial,
        } => {
            let v = integral(start, restart, step, initial, n);
            match ty {
                Type::Int => Value::from(v as i32),
                Type::String => {
                    Value::String(format!("{}{}{}", args.prefix, v as i32, args.suffix))
                }
                _ => Value::from(v as i64),
            }
        }
        Iteration::Decimal {
            start,
            restart,
            step,
            initial,
        } => {
            let v = if n == 0 {
                initial
            } else {
                start + ((initial - start) + n as f64 * step) % (restart - start)
            };
            match ty {
                Type::Float => float(f64::from(v as f32)),
                _ => float(v),
            }
        }
    }
}

fn integral(start: i128, restart: i128, step: i128, initial: i128, n: u64) -> i128 {
    if n == 0 {
        return initial;
    }
    let span = (restart - start).abs();
    let offset = initial - start;
    let moved = match i128::from(n)
        .checked_mul(step)
        .and_then(|m| m.checked_add(offset))
    {
        Some(m) => m.abs() % span,
        // Only reachable near u64::MAX records: reduce first.
        None => ((i128::from(n) % span) * (step.abs() % span) % span + offset.abs()) % span,
    };
    start + moved * step.signum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    fn generator(fields: &str) -> Generator {
        let schema = DatagenSchema::parse(&format!(
            r#"{{"type":"record","name":"t","fields":[{fields}]}}"#
        ))
        .unwrap();
        Generator::new(schema, 0)
    }

    fn sample(g: &mut Generator, n: usize) -> Vec<Value> {
        let mut rng = StdRng::seed_from_u64(1);
        (0..n).map(|_| g.generate(&mut rng)).collect()
    }

    fn column(records: &[Value], field: &str) -> Vec<Value> {
        records.iter().map(|r| r[field].clone()).collect()
    }

    #[test]
    fn options_only_yield_listed_values() {
        let mut g = generator(
            r#"{"name":"s","type":{"type":"string","arg.properties":{"options":["a","b"]}}},
               {"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y","Z"],"arg.properties":{"options":["Z"]}}},
               {"name":"r","type":{"type":"record","name":"R","fields":[{"name":"k","type":"int"}],
                    "arg.properties":{"options":[{"k":7}]}}}"#,
        );
        let records = sample(&mut g, 200);
        let s = column(&records, "s");
        assert!(s.iter().all(|v| v == "a" || v == "b"));
        assert!(
            s.contains(&json!("a")) && s.contains(&json!("b")),
            "both options used"
        );
        assert!(column(&records, "e").iter().all(|v| v == "Z"));
        assert!(column(&records, "r").iter().all(|v| v == &json!({"k": 7})));
    }

    #[test]
    fn ranges_are_half_open() {
        let mut g = generator(
            r#"{"name":"i","type":{"type":"int","arg.properties":{"range":{"min":-3,"max":3}}}},
               {"name":"l","type":{"type":"long","arg.properties":{"range":{"min":10000000000,"max":10000000002}}}},
               {"name":"d","type":{"type":"double","arg.properties":{"range":{"min":0.5,"max":0.75}}}}"#,
        );
        let records = sample(&mut g, 500);
        let ints: Vec<i64> = column(&records, "i")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert_eq!(ints.len(), 500);
        assert!(ints.iter().all(|i| (-3..3).contains(i)));
        assert!(
            ints.contains(&-3) && ints.contains(&2),
            "bounds reached: {ints:?}"
        );
        let longs: Vec<i64> = column(&records, "l")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert!(longs
            .iter()
            .all(|l| *l == 10_000_000_000 || *l == 10_000_000_001));
        assert!(column(&records, "d")
            .iter()
            .filter_map(Value::as_f64)
            .all(|d| (0.5..0.75).contains(&d)));
    }

    #[test]
    fn regexes_and_lengths_shape_strings() {
        let mut g = generator(
            r#"{"name":"plate","type":{"type":"string","arg.properties":{"regex":"[A-Z]{2}\\d{6}[A-Z]"}}},
               {"name":"word","type":{"type":"string","arg.properties":{"regex":"[a-z]*","length":{"min":3,"max":5}}}},
               {"name":"tag","type":{"type":"string","arg.properties":{"length":4,"prefix":"t-"}}},
               {"name":"list","type":{"type":"array","items":"boolean","arg.properties":{"length":{"min":1,"max":3}}}},
               {"name":"m","type":{"type":"map","values":"int","arg.properties":{"length":2,"keys":{"options":["x","y"]}}}}"#,
        );
        let plate = regex::Regex::new(r"^[A-Z]{2}[0-9]{6}[A-Z]$").unwrap();
        for r in sample(&mut g, 300) {
            let p = r["plate"].as_str().unwrap();
            assert!(plate.is_match(p), "{p}: \\d is ASCII as in Java");
            let w = r["word"].as_str().unwrap();
            assert!(
                (3..5).contains(&w.len()) && w.chars().all(|c| c.is_ascii_lowercase()),
                "{w}"
            );
            let t = r["tag"].as_str().unwrap();
            assert!(t.len() == 6 && t.starts_with("t-"), "{t}");
            let n = r["list"].as_array().unwrap().len();
            assert!((1..3).contains(&n));
            let m = r["m"].as_object().unwrap();
            assert!(
                !m.is_empty() && m.keys().all(|k| k == "x" || k == "y"),
                "{m:?}"
            );
        }
    }

    #[test]
    fn iterations_count_step_and_wrap() {
        let mut g = generator(
            r#"{"name":"id","type":{"type":"int","arg.properties":{"iteration":{"start":0}}}},
               {"name":"t","type":{"type":"long","arg.properties":{"iteration":{"start":1,"step":10}}}},
               {"name":"w","type":{"type":"int","arg.properties":{"iteration":{"start":5,"restart":8}}}},
               {"name":"down","type":{"type":"int","arg.properties":{"iteration":{"start":3,"restart":0}}}},
               {"name":"b","type":{"type":"boolean","arg.properties":{"iteration":{"start":true}}}},
               {"name":"s","type":{"type":"string","arg.properties":{"iteration":{"start":100,"step":5},"prefix":"n"}}},
               {"name":"d","type":{"type":"double","arg.properties":{"iteration":{"start":0.5,"step":0.25}}}}"#,
        );
        let records = sample(&mut g, 5);
        assert_eq!(column(&records, "id"), [0, 1, 2, 3, 4].map(|v| json!(v)));
        assert_eq!(column(&records, "t"), [1, 11, 21, 31, 41].map(|v| json!(v)));
        assert_eq!(column(&records, "w"), [5, 6, 7, 5, 6].map(|v| json!(v)));
        assert_eq!(column(&records, "down"), [3, 2, 1, 3, 2].map(|v| json!(v)));
        assert_eq!(
            column(&records, "b"),
            [true, false, true, false, true].map(|v| json!(v))
        );
        assert_eq!(
            column(&records, "s"),
            ["n100", "n105", "n110", "n115", "n120"].map(|v| json!(v))
        );
        assert_eq!(
            column(&records, "d"),
            [0.5, 0.75, 1.0, 1.25, 1.5].map(|v| json!(v))
        );
    }

    #[test]
    fn iterations_resume_after_the_records_already_generated() {
        let fields = r#"{"name":"id","type":{"type":"long","arg.properties":{"iteration":{"start":1000,"step":2}}}}"#;
        let schema = DatagenSchema::parse(&format!(
            r#"{{"type":"record","name":"t","fields":[{fields}]}}"#
        ))
        .unwrap();
        let mut g = Generator::new(schema, 42);
        assert_eq!(
            sample(&mut g, 2),
            [json!({"id": 1084}), json!({"id": 1086})]
        );
    }

    #[test]
    fn ints_wrap_at_the_type_bound_like_upstream() {
        // Upstream restarts at `start` when reaching Integer.MAX_VALUE.
        assert_eq!(integral(0, i32::MAX.into(), 1, 0, i32::MAX as u64), 0);
        assert_eq!(integral(0, i32::MAX.into(), 1, 0, i32::MAX as u64 + 5), 5);
        assert!(integral(0, i64::MAX.into(), 1, 0, u64::MAX) >= 0);
    }

    #[test]
    fn unions_produce_every_branch_and_records_keep_field_order() {
        let mut g = generator(
            r#"{"name":"z","type":"string"},
               {"name":"maybe","type":["null",{"type":"int","arg.properties":{"range":{"min":1,"max":2}}}]},
               {"name":"a","type":{"type":"record","name":"A","fields":[{"name":"y","type":"int"},{"name":"b","type":"boolean"}]}}"#,
        );
        let records = sample(&mut g, 100);
        let maybe = column(&records, "maybe");
        assert!(maybe.contains(&Value::Null) && maybe.contains(&json!(1)));
        for r in &records {
            let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["z", "maybe", "a"]);
            let inner: Vec<&String> = r["a"].as_object().unwrap().keys().collect();
            assert_eq!(inner, ["y", "b"]);
            g.schema().root.check(r).unwrap();
        }
    }

    #[test]
    fn same_seed_same_records() {
        let fields = r#"{"name":"s","type":{"type":"string","arg.properties":{"regex":"[a-z]{5,9}"}}},
                        {"name":"d","type":"double"}"#;
        let a = sample(&mut generator(fields), 50);
        let b = sample(&mut generator(fields), 50);
        assert_eq!(a, b);
        let mut other = StdRng::seed_from_u64(2);
        let mut g = generator(fields);
        let c: Vec<Value> = (0..50).map(|_| g.generate(&mut other)).collect();
        assert_ne!(a, c);
    }
}
