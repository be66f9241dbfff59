//! Avro schemas annotated for generation, as kafka-connect-datagen reads
//! them: a record schema whose types may carry `arg.properties`, the
//! annotations of Confluent's avro-random-generator:
//!
//! * `options`: pick one of the listed values (any type; records as objects);
//! * `iteration` `{start, step?, restart?, initial?}`: numbers counting up
//!   (or down) by `step` and wrapping at `restart`; booleans alternating;
//!   strings counting as decimal text;
//! * `range` `{min?, max?}`: numbers in `[min, max)`;
//! * `length` (a number or `{min?, max?}`): strings, bytes, arrays, maps;
//! * `regex`: strings matching the expression; `prefix`, `suffix`;
//! * `keys`: the annotations for a map's keys; `odds`: a boolean's chance
//!   of `true`.
//!
//! Parsing checks the annotations once, so a task never fails on them and
//! `schema.string` errors surface when the config is validated. Annotations
//! that do not apply to a type are ignored, as upstream ignores them.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// The attribute holding the generator annotations.
pub const ARG_PROPERTIES: &str = "arg.properties";

/// Length bounds when `length` is absent (upstream's `LengthBounds` default).
const DEFAULT_LENGTH: Length = Length { min: 8, max: 16 };
/// `length.max` when only `length.min` is given: upstream leaves it at
/// `Integer.MAX_VALUE`, which would let one record exhaust a worker's memory.
const OPEN_LENGTH_SPAN: usize = 16;
/// The largest length this service generates (strings, bytes, arrays, maps).
pub const MAX_LENGTH: usize = 65_536;
/// Extra repetitions `*`, `+` and `{n,}` may produce in a `regex`.
const REGEX_MAX_REPEAT: u32 = 16;

/// A schema problem, located by the path of names from the top-level record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError {
        path: path.to_string(),
        message: message.into(),
    })
}

/// A parsed, annotated schema whose top level is a record.
#[derive(Debug, Clone)]
pub struct DatagenSchema {
    pub root: Schema,
    /// How many `iteration` counters the generator keeps (one per annotated type).
    pub iteration_slots: usize,
    /// The schema JSON as given.
    pub json: Value,
}

impl DatagenSchema {
    pub fn parse(text: &str) -> Result<DatagenSchema, SchemaError> {
        let json: Value = serde_json::from_str(text).map_err(|e| SchemaError {
            path: "schema".into(),
            message: format!("not valid JSON: {e}"),
        })?;
        DatagenSchema::from_json(json)
    }

    pub fn from_json(json: Value) -> Result<DatagenSchema, SchemaError> {
        let mut parser = Parser::default();
        let root = parser.parse(&json, "", None)?;
        if !matches!(root.ty, Type::Record(_)) {
            return err(
                "schema",
                "the top-level schema must be a record (Datagen generates records)",
            );
        }
        Ok(DatagenSchema {
            root,
            iteration_slots: parser.slots,
            json,
        })
    }

    /// The top-level record's fields, in schema order.
    pub fn fields(&self) -> &[Field] {
        match &self.root.ty {
            Type::Record(fields) => fields,
            _ => &[],
        }
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// The schema JSON without the generator annotations: the Avro schema of
    /// the generated records, as a registry should store it.
    pub fn avro_json(&self) -> Value {
        without_annotations(&self.json)
    }
}

/// `json` with every `arg.properties` attribute removed.
pub fn without_annotations(json: &Value) -> Value {
    match json {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != ARG_PROPERTIES)
                .map(|(k, v)| (k.clone(), without_annotations(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_annotations).collect()),
        other => other.clone(),
    }
}

#[derive(Debug, Clone)]
pub struct Schema {
    pub ty: Type,
    pub logical_type: Option<String>,
    pub args: Args,
}

#[derive(Debug, Clone)]
pub enum Type {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    Enum(Vec<String>),
    Array(Box<Schema>),
    Map(Box<Schema>),
    Record(Vec<Field>),
    Union(Vec<Schema>),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub schema: Schema,
    pub default: Option<Value>,
}

/// Bounds on a generated length: `min <= len < max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    pub min: usize,
    pub max: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Iteration {
    /// int, long, and strings (which count like ints).
    Integral {
        start: i128,
        restart: i128,
        step: i128,
        initial: i128,
    },
    Decimal {
        start: f64,
        restart: f64,
        step: f64,
        initial: f64,
    },
    Boolean {
        start: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    Integral { min: i128, max: i128 },
    Decimal { min: f64, max: f64 },
}

/// The generator annotations of one type, checked against it.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// Values already checked against the type (records with their fields
    /// in schema order and defaults filled in).
    pub options: Option<Vec<Value>>,
    /// The counter slot and the sequence.
    pub iteration: Option<(usize, Iteration)>,
    pub range: Option<Range>,
    pub length: Option<Length>,
    pub regex: Option<rand_regex::Regex>,
    /// A map's keys: a string schema carrying the `keys` annotations.
    pub keys: Option<Box<Schema>>,
    pub odds: Option<f64>,
    pub prefix: String,
    pub suffix: String,
}

impl Args {
    /// `length` or the default bounds.
    pub fn length_or_default(&self) -> Length {
        self.length.unwrap_or(DEFAULT_LENGTH)
    }
}

#[derive(Default)]
struct Parser {
    /// Named types by full name, for references.
    named: HashMap<String, Schema>,
    /// Named types being parsed: a reference to one would be recursive.
    defining: HashSet<String>,
    slots: usize,
}

const PRIMITIVES: &[&str] = &[
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

fn primitive(name: &str) -> Option<Type> {
    Some(match name {
        "null" => Type::Null,
        "boolean" => Type::Boolean,
        "int" => Type::Int,
        "long" => Type::Long,
        "float" => Type::Float,
        "double" => Type::Double,
        "bytes" => Type::Bytes,
        "string" => Type::String,
        _ => return None,
    })
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Parser {
    fn parse(
        &mut self,
        json: &Value,
        path: &str,
        namespace: Option<&str>,
    ) -> Result<Schema, SchemaError> {
        let here = if path.is_empty() { "schema" } else { path };
        match json {
            Value::String(name) => self.named_or_primitive(name, here, namespace),
            Value::Array(branches) => {
                if branches.is_empty() {
                    return err(here, "a union needs at least one type");
                }
                let mut types = Vec::with_capacity(branches.len());
                for (i, b) in branches.iter().enumerate() {
                    let s = self.parse(b, &format!("{here}[{i}]"), namespace)?;
                    if matches!(s.ty, Type::Union(_)) {
                        return err(here, "a union may not directly contain a union");
                    }
                    types.push(s);
                }
                Ok(Schema {
                    ty: Type::Union(types),
                    logical_type: None,
                    args: Args::default(),
                })
            }
            Value::Object(o) => self.parse_object(o, path, here, namespace),
            other => err(here, format!("not a schema: {other}")),
        }
    }

    fn named_or_primitive(
        &self,
        name: &str,
        here: &str,
        namespace: Option<&str>,
    ) -> Result<Schema, SchemaError> {
        if let Some(ty) = primitive(name) {
            return Ok(Schema {
                ty,
                logical_type: None,
                args: Args::default(),
            });
        }
        let candidates = [
            namespace
                .filter(|_| !name.contains('.'))
                .map(|ns| format!("{ns}.{name}")),
            Some(name.to_string()),
        ];
        for full in candidates.into_iter().flatten() {
            if self.defining.contains(&full) {
                return err(
                    here,
                    format!("recursive type {full} is not supported by the generator"),
                );
            }
            if let Some(s) = self.named.get(&full) {
                return Ok(s.clone());
            }
        }
        err(here, format!("unknown type \"{name}\""))
    }

    fn parse_object(
        &mut self,
        o: &Map<String, Value>,
        path: &str,
        here: &str,
        namespace: Option<&str>,
    ) -> Result<Schema, SchemaError> {
        let type_name = match o.get("type") {
            Some(Value::String(t)) => t.as_str(),
            // `{"type": {...}}` or `{"type": [...]}`: a wrapped schema.
            Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                return self.parse(inner, path, namespace)
            }
            Some(other) => return err(here, format!("\"type\" must be a string, not {other}")),
            None => return err(here, "missing \"type\""),
        };
        let logical_type = o
            .get("logicalType")
            .and_then(Value::as_str)
            .map(str::to_string);
        let annotations = o.get(ARG_PROPERTIES);
        let ty = match type_name {
            "record" | "error" => {
                return self.parse_named(o, here, namespace, |p, full, ns| {
                    p.parse_record(o, path, here, full, ns)
                });
            }
            "enum" => {
                let symbols = match o.get("symbols") {
                    Some(Value::Array(s)) => s
                        .iter()
                        .map(|s| s.as_str().filter(|s| valid_name(s)).map(str::to_string))
                        .collect::<Option<Vec<_>>>(),
                    _ => None,
                };
                let Some(symbols) = symbols.filter(|s| !s.is_empty()) else {
                    return err(
                        here,
                        "an enum needs \"symbols\": a non-empty array of names",
                    );
                };
                return self.parse_named(o, here, namespace, |_, _, _| Ok(Type::Enum(symbols)));
            }
            "fixed" => {
                let Some(size) = o.get("size").and_then(Value::as_u64) else {
                    return err(here, "a fixed type needs a non-negative integer \"size\"");
                };
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if size > MAX_LENGTH {
                    return err(here, format!("fixed size {size} is above {MAX_LENGTH}"));
                }
                return self.parse_named(o, here, namespace, |_, _, _| Ok(Type::Fixed(size)));
            }
            "array" => {
                let Some(items) = o.get("items") else {
                    return err(here, "an array needs \"items\"");
                };
                Type::Array(Box::new(self.parse(
                    items,
                    &format!("{here}[]"),
                    namespace,
                )?))
            }
            "map" => {
                let Some(values) = o.get("values") else {
                    return err(here, "a map needs \"values\"");
                };
                Type::Map(Box::new(self.parse(
                    values,
                    &format!("{here}{{}}"),
                    namespace,
                )?))
            }
            name if PRIMITIVES.contains(&name) => primitive(name).unwrap_or(Type::Null),
            // A named type referenced with attributes around it.
            name => {
                let mut s = self.named_or_primitive(name, here, namespace)?;
                if annotations.is_some() {
                    s.args = self.parse_args(annotations, &s, here)?;
                }
                return Ok(s);
            }
        };
        let mut schema = Schema {
            ty,
            logical_type,
            args: Args::default(),
        };
        schema.args = self.parse_args(annotations, &schema, here)?;
        Ok(schema)
    }

    /// Records, enums and fixed: registers the full name for references.
    fn parse_named(
        &mut self,
        o: &Map<String, Value>,
        here: &str,
        namespace: Option<&str>,
        build: impl FnOnce(&mut Parser, &str, Option<&str>) -> Result<Type, SchemaError>,
    ) -> Result<Schema, SchemaError> {
        let Some(name) = o.get("name").and_then(Value::as_str) else {
            return err(here, "a named type needs a \"name\"");
        };
        let (full, ns) = match name.rsplit_once('.') {
            Some((ns, _)) => (name.to_string(), Some(ns.to_string())),
            None => {
                let ns = o
                    .get("namespace")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .or(namespace)
                    .map(str::to_string);
                let full = match &ns {
                    Some(ns) => format!("{ns}.{name}"),
                    None => name.to_string(),
                };
                (full, ns)
            }
        };
        if !full.split('.').all(valid_name) {
            return err(here, format!("\"{full}\" is not a valid Avro name"));
        }
        if self.named.contains_key(&full) || self.defining.contains(&full) {
            return err(here, format!("type {full} is defined twice"));
        }
        self.defining.insert(full.clone());
        let ty = build(self, &full, ns.as_deref());
        self.defining.remove(&full);
        let mut schema = Schema {
            ty: ty?,
            logical_type: o
                .get("logicalType")
                .and_then(Value::as_str)
                .map(str::to_string),
            args: Args::default(),
        };
        schema.args = self.parse_args(o.get(ARG_PROPERTIES), &schema, here)?;
        self.named.insert(full, schema.clone());
        Ok(schema)
    }

    fn parse_record(
        &mut self,
        o: &Map<String, Value>,
        path: &str,
        here: &str,
        _full: &str,
        namespace: Option<&str>,
    ) -> Result<Type, SchemaError> {
        let Some(Value::Array(fields_json)) = o.get("fields") else {
            return err(here, "a record needs \"fields\": an array");
        };
        let mut fields: Vec<Field> = Vec::with_capacity(fields_json.len());
        for (i, f) in fields_json.iter().enumerate() {
            let Some(name) = f.get("name").and_then(Value::as_str) else {
                return err(here, format!("field {i} has no \"name\""));
            };
            if !valid_name(name) {
                return err(here, format!("\"{name}\" is not a valid field name"));
            }
            if fields.iter().any(|x| x.name == name) {
                return err(here, format!("field \"{name}\" is defined twice"));
            }
            let field_path = child(path, name);
            let Some(type_json) = f.get("type") else {
                return err(&field_path, "a field needs a \"type\"");
            };
            let schema = self.parse(type_json, &field_path, namespace)?;
            let default = f.get("default").cloned();
            if let Some(d) = &default {
                // A union's default is of its first type.
                let first = match &schema.ty {
                    Type::Union(types) => &types[0],
                    _ => &schema,
                };
                if let Err(e) = first.normalize(d) {
                    return err(&field_path, format!("invalid default: {e}"));
                }
            }
            fields.push(Field {
                name: name.to_string(),
                schema,
                default,
            });
        }
        Ok(Type::Record(fields))
    }

    fn parse_args(
        &mut self,
        annotations: Option<&Value>,
        schema: &Schema,
        here: &str,
    ) -> Result<Args, SchemaError> {
        let Some(annotations) = annotations else {
            return Ok(Args::default());
        };
        let Value::Object(props) = annotations else {
            return err(here, format!("{ARG_PROPERTIES} must be an object"));
        };
        let at = format!("{here} {ARG_PROPERTIES}");
        let has = |k: &str| props.contains_key(k);
        for (given, excluded) in [
            ("options", &["length", "regex", "iteration", "range"][..]),
            ("iteration", &["length", "regex", "options", "range"][..]),
        ] {
            if has(given) {
                if let Some(x) = excluded.iter().find(|x| has(x)) {
                    return err(&at, format!("cannot specify {x} when {given} is given"));
                }
            }
        }
        let mut args = Args::default();
        if let Some(options) = props.get("options") {
            let Value::Array(list) = options else {
                return err(
                    &at,
                    "options must be an array (options files are not available on this service)",
                );
            };
            if list.is_empty() {
                return err(&at, "options cannot be empty");
            }
            let mut normalized = Vec::with_capacity(list.len());
            for o in list {
                match schema.normalize(o) {
                    Ok(v) => normalized.push(v),
                    Err(e) => return err(&at, format!("invalid option {o}: {e}")),
                }
            }
            args.options = Some(normalized);
        }
        let numeric = matches!(
            schema.ty,
            Type::Int | Type::Long | Type::Float | Type::Double
        );
        if let Some(it) = props.get("iteration") {
            let iteration = parse_iteration(it, &schema.ty, &at)?;
            if let Some(iteration) = iteration {
                args.iteration = Some((self.slots, iteration));
                self.slots += 1;
            }
        }
        if numeric {
            if let Some(range) = props.get("range") {
                args.range = Some(parse_range(range, &schema.ty, &at)?);
            }
        }
        if matches!(
            schema.ty,
            Type::String | Type::Bytes | Type::Array(_) | Type::Map(_)
        ) {
            if let Some(length) = props.get("length") {
                args.length = Some(parse_length(length, &at)?);
            }
        }
        if matches!(schema.ty, Type::String) {
            if let Some(regex) = props.get("regex") {
                let Some(pattern) = regex.as_str() else {
                    return err(&at, "regex must be a string");
                };
                args.regex = Some(compile_regex(pattern).map_err(|m| SchemaError {
                    path: at.clone(),
                    message: m,
                })?);
            }
            for (key, slot) in [("prefix", &mut args.prefix), ("suffix", &mut args.suffix)] {
                match props.get(key) {
                    None => {}
                    Some(Value::String(s)) => *slot = s.clone(),
                    Some(_) => return err(&at, format!("{key} must be a string")),
                }
            }
        }
        if matches!(schema.ty, Type::Map(_)) {
            if let Some(keys) = props.get("keys") {
                let mut key_schema = Schema {
                    ty: Type::String,
                    logical_type: None,
                    args: Args::default(),
                };
                key_schema.args =
                    self.parse_args(Some(keys), &key_schema, &format!("{here} keys"))?;
                args.keys = Some(Box::new(key_schema));
            }
        }
        if matches!(schema.ty, Type::Boolean) {
            if let Some(odds) = props.get("odds") {
                match odds.as_f64() {
                    Some(p) if (0.0..=1.0).contains(&p) => args.odds = Some(p),
                    _ => return err(&at, "odds must be a number in [0.0, 1.0]"),
                }
            }
        }
        Ok(args)
    }
}

fn integral_field(
    o: &Map<String, Value>,
    key: &str,
    ty: &Type,
    at: &str,
    what: &str,
) -> Result<Option<i128>, SchemaError> {
    let Some(v) = o.get(key) else {
        return Ok(None);
    };
    let n = v
        .as_i64()
        .map(i128::from)
        .or_else(|| v.as_u64().map(i128::from));
    let Some(n) = n else {
        return err(
            at,
            format!("'{key}' field of {what} must be an integral number, was {v}"),
        );
    };
    if matches!(ty, Type::Int | Type::String) && i32::try_from(n).is_err() {
        return err(at, format!("'{key}' field of {what} must be a valid int"));
    }
    Ok(Some(n))
}

fn decimal_field(
    o: &Map<String, Value>,
    key: &str,
    at: &str,
    what: &str,
) -> Result<Option<f64>, SchemaError> {
    match o.get(key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => err(
                at,
                format!("'{key}' field of {what} must be a number, was {v}"),
            ),
        },
    }
}

/// `iteration` for the types it applies to; `None` for the others (ignored).
fn parse_iteration(it: &Value, ty: &Type, at: &str) -> Result<Option<Iteration>, SchemaError> {
    let Value::Object(o) = it else {
        return err(at, "iteration must be an object");
    };
    let what = "iteration";
    match ty {
        Type::Boolean => {
            let Some(start) = o.get("start") else {
                return err(at, "iteration must contain a 'start' field");
            };
            let Some(start) = start.as_bool() else {
                return err(at, "'start' of iteration for a boolean must be a boolean");
            };
            if o.contains_key("restart") || o.contains_key("step") {
                return err(at, "iteration of a boolean takes only 'start'");
            }
            Ok(Some(Iteration::Boolean { start }))
        }
        Type::Int | Type::Long | Type::String => {
            let (low, high) = match ty {
                Type::Long => (i128::from(i64::MIN), i128::from(i64::MAX)),
                _ => (i128::from(i32::MIN), i128::from(i32::MAX)),
            };
            let Some(start) = integral_field(o, "start", ty, at, what)? else {
                return err(at, "iteration must contain a 'start' field");
            };
            let restart = integral_field(o, "restart", ty, at, what)?;
            let step = integral_field(o, "step", ty, at, what)?;
            let initial = integral_field(o, "initial", ty, at, what)?.unwrap_or(start);
            let (restart, step) = iteration_bounds(start, restart, step, high, low, at)?;
            Ok(Some(Iteration::Integral {
                start,
                restart,
                step,
                initial,
            }))
        }
        Type::Float | Type::Double => {
            let high = if matches!(ty, Type::Float) {
                f64::from(f32::MAX)
            } else {
                f64::MAX
            };
            let Some(start) = decimal_field(o, "start", at, what)? else {
                return err(at, "iteration must contain a 'start' field");
            };
            let restart = decimal_field(o, "restart", at, what)?;
            let step = decimal_field(o, "step", at, what)?;
            let initial = decimal_field(o, "initial", at, what)?.unwrap_or(start);
            let (restart, step) = match (restart, step) {
                (None, None) => (high, 1.0),
                (None, Some(s)) if s > 0.0 => (high, s),
                (None, Some(s)) if s < 0.0 => (-high, s),
                (Some(r), None) if r > start => (r, 1.0),
                (Some(r), None) if r < start => (r, -1.0),
                (Some(r), Some(s)) if s != 0.0 && r != start && (r > start) == (s > 0.0) => (r, s),
                _ => {
                    return err(
                        at,
                        "iteration needs a non-zero 'step' moving from 'start' towards 'restart'",
                    )
                }
            };
            Ok(Some(Iteration::Decimal {
                start,
                restart,
                step,
                initial,
            }))
        }
        _ => Ok(None),
    }
}

/// Upstream's defaults: `step` 1 (or -1 towards a lower `restart`), `restart`
/// the type's bound in the direction of `step`.
fn iteration_bounds(
    start: i128,
    restart: Option<i128>,
    step: Option<i128>,
    high: i128,
    low: i128,
    at: &str,
) -> Result<(i128, i128), SchemaError> {
    match (restart, step) {
        (None, None) => Ok((high, 1)),
        (None, Some(0)) | (Some(_), Some(0)) => err(at, "'step' field of iteration cannot be zero"),
        (None, Some(s)) => Ok((if s > 0 { high } else { low }, s)),
        (Some(r), _) if r == start => err(
            at,
            "'start' and 'restart' fields of iteration cannot be equal",
        ),
        (Some(r), None) => Ok((r, if r > start { 1 } else { -1 })),
        (Some(r), Some(s)) if (r > start) != (s > 0) => err(
            at,
            "'step' field of iteration must move from 'start' towards 'restart'",
        ),
        (Some(r), Some(s)) => Ok((r, s)),
    }
}

fn parse_range(range: &Value, ty: &Type, at: &str) -> Result<Range, SchemaError> {
    let Value::Object(o) = range else {
        return err(at, "range must be an object");
    };
    let what = "range";
    if !o.contains_key("min") && !o.contains_key("max") {
        return err(at, "range must contain 'min' or 'max'");
    }
    let range = match ty {
        Type::Int | Type::Long => {
            let (low, high) = match ty {
                Type::Long => (i128::from(i64::MIN), i128::from(i64::MAX)),
                _ => (i128::from(i32::MIN), i128::from(i32::MAX)),
            };
            let min = integral_field(o, "min", ty, at, what)?.unwrap_or(low);
            let max = integral_field(o, "max", ty, at, what)?.unwrap_or(high);
            if min >= max {
                return err(at, "'min' must be strictly less than 'max' in range");
            }
            Range::Integral { min, max }
        }
        _ => {
            let high = if matches!(ty, Type::Float) {
                f64::from(f32::MAX)
            } else {
                f64::MAX
            };
            let min = decimal_field(o, "min", at, what)?.unwrap_or(-high);
            let max = decimal_field(o, "max", at, what)?.unwrap_or(high);
            if min >= max {
                return err(at, "'min' must be strictly less than 'max' in range");
            }
            Range::Decimal { min, max }
        }
    };
    Ok(range)
}

fn parse_length(length: &Value, at: &str) -> Result<Length, SchemaError> {
    let bound = |v: &Value, key: &str| -> Result<usize, SchemaError> {
        match v.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n <= MAX_LENGTH => Ok(n),
            Some(_) => err(
                at,
                format!("length {key} must be at most {MAX_LENGTH} on this service"),
            ),
            None => err(
                at,
                format!("length {key} must be a non-negative integer, was {v}"),
            ),
        }
    };
    match length {
        Value::Number(_) => {
            let n = bound(length, "")?;
            Ok(Length { min: n, max: n + 1 })
        }
        Value::Object(o) => {
            let min = o.get("min").map(|v| bound(v, "min")).transpose()?;
            let max = o.get("max").map(|v| bound(v, "max")).transpose()?;
            let (min, max) = match (min, max) {
                (None, None) => return err(at, "length must contain 'min' or 'max'"),
                (Some(min), None) => (min, min + OPEN_LENGTH_SPAN),
                (None, Some(max)) => (0, max),
                (Some(min), Some(max)) => (min, max),
            };
            if max <= min {
                return err(at, "length 'max' must be strictly greater than 'min'");
            }
            Ok(Length { min, max })
        }
        other => err(
            at,
            format!("length must be a number or an object, was {other}"),
        ),
    }
}

/// Compiles a generator regex. Java's (and so upstream's) `\d`, `\w` and
/// `\s` are ASCII, so the pattern is first tried with Unicode classes off;
/// patterns that need Unicode (`.`, non-ASCII classes) fall back to it.
/// Anchors mean nothing to a generator and are dropped.
fn compile_regex(pattern: &str) -> Result<rand_regex::Regex, String> {
    let trimmed = pattern.strip_prefix('^').unwrap_or(pattern);
    let trimmed = match trimmed.strip_suffix('$') {
        Some(t) if !t.ends_with('\\') => t,
        _ => trimmed,
    };
    let regex = rand_regex::Regex::compile(&format!("(?-u:{trimmed})"), REGEX_MAX_REPEAT)
        .or_else(|_| rand_regex::Regex::compile(trimmed, REGEX_MAX_REPEAT))
        .map_err(|e| format!("invalid regex \"{pattern}\": {e}"))?;
    if !regex.is_utf8() {
        return Err(format!("regex \"{pattern}\" can produce invalid UTF-8"));
    }
    Ok(regex)
}

impl Schema {
    /// Checks `value` against this schema and returns it in the shape the
    /// generator emits: records with their fields in schema order and missing
    /// fields filled from their defaults; bytes and fixed as strings.
    pub fn normalize(&self, value: &Value) -> Result<Value, String> {
        let mismatch = || Err(format!("{value} is not {}", self.type_name()));
        match (&self.ty, value) {
            (Type::Null, Value::Null) => Ok(Value::Null),
            (Type::Boolean, Value::Bool(_)) => Ok(value.clone()),
            (Type::Int, Value::Number(n))
                if n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()) =>
            {
                Ok(value.clone())
            }
            (Type::Long, Value::Number(n)) if n.as_i64().is_some() => Ok(value.clone()),
            (Type::Float | Type::Double, Value::Number(_)) => Ok(value.clone()),
            (Type::Bytes | Type::String, Value::String(_)) => Ok(value.clone()),
            (Type::Fixed(size), Value::String(s)) if s.len() == *size => Ok(value.clone()),
            (Type::Enum(symbols), Value::String(s)) if symbols.contains(s) => Ok(value.clone()),
            (Type::Array(items), Value::Array(vs)) => Ok(Value::Array(
                vs.iter()
                    .map(|v| items.normalize(v))
                    .collect::<Result<_, _>>()?,
            )),
            (Type::Map(values), Value::Object(o)) => Ok(Value::Object(
                o.iter()
                    .map(|(k, v)| Ok((k.clone(), values.normalize(v)?)))
                    .collect::<Result<_, String>>()?,
            )),
            (Type::Record(fields), Value::Object(o)) => {
                if let Some(extra) = o.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                    return Err(format!("\"{extra}\" is not a field of the record"));
                }
                let mut out = Map::new();
                for f in fields {
                    let v = match (o.get(&f.name), &f.default) {
                        (Some(v), _) => f.schema.normalize(v),
                        (None, Some(d)) => match &f.schema.ty {
                            Type::Union(types) => types[0].normalize(d),
                            _ => f.schema.normalize(d),
                        },
                        (None, None) => Err(format!("missing field \"{}\"", f.name)),
                    }
                    .map_err(|e| format!("field {}: {e}", f.name))?;
                    out.insert(f.name.clone(), v);
                }
                Ok(Value::Object(out))
            }
            (Type::Union(types), v) => types
                .iter()
                .find_map(|t| t.normalize(v).ok())
                .map_or_else(mismatch, Ok),
            _ => mismatch(),
        }
    }

    /// Checks that `value` is exactly what the generator emits for this
    /// schema (field order included).
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let normalized = self.normalize(value)?;
        // Compared as text: map equality ignores the order of the fields.
        let (expected, got) = (normalized.to_string(), value.to_string());
        if expected != got {
            return Err(format!("{value} is not in schema shape ({normalized})"));
        }
        Ok(())
    }

    pub fn type_name(&self) -> String {
        match &self.ty {
            Type::Null => "null".into(),
            Type::Boolean => "a boolean".into(),
            Type::Int => "an int".into(),
            Type::Long => "a long".into(),
            Type::Float => "a float".into(),
            Type::Double => "a double".into(),
            Type::Bytes => "bytes".into(),
            Type::String => "a string".into(),
            Type::Fixed(n) => format!("a fixed of {n} bytes"),
            Type::Enum(symbols) => format!("one of the symbols {}", symbols.join(", ")),
            Type::Array(_) => "an array".into(),
            Type::Map(_) => "a map".into(),
            Type::Record(_) => "a record".into(),
            Type::Union(types) => types
                .iter()
                .map(Schema::type_name)
                .collect::<Vec<_>>()
                .join(" or "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(schema: &str) -> Result<DatagenSchema, SchemaError> {
        DatagenSchema::parse(schema)
    }

    fn record_with(field_type: &str) -> String {
        format!(r#"{{"type":"record","name":"r","fields":[{{"name":"f","type":{field_type}}}]}}"#)
    }

    #[test]
    fn parses_nested_records_named_references_and_namespaces() {
        let s = parse(
            r#"{"type":"record","name":"outer","namespace":"ns","fields":[
                {"name":"a","type":{"type":"record","name":"inner","fields":[{"name":"x","type":"int"}]}},
                {"name":"b","type":"inner"},
                {"name":"c","type":["null","ns.inner"]},
                {"name":"d","type":{"type":"enum","name":"e","symbols":["A","B"]}},
                {"name":"m","type":{"type":"map","values":"e"}}
            ]}"#,
        )
        .unwrap();
        let names: Vec<&str> = s.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "m"]);
        assert!(matches!(s.field("b").unwrap().schema.ty, Type::Record(_)));
    }

    #[test]
    fn rejects_what_the_generator_cannot_produce() {
        let cases = [
            ("[1,2]", "schema"),
            (r#""int""#, "top-level schema must be a record"),
            (&record_with(r#""nope""#), "unknown type \"nope\""),
            (
                r#"{"type":"record","name":"r","fields":[{"name":"next","type":["null","r"]}]}"#,
                "recursive",
            ),
            (
                &record_with(r#"{"type":"int","arg.properties":{"range":{"min":5,"max":5}}}"#),
                "strictly less",
            ),
            (
                &record_with(r#"{"type":"int","arg.properties":{"range":{"min":0.5}}}"#),
                "integral",
            ),
            (
                &record_with(r#"{"type":"int","arg.properties":{"options":[1,"two"]}}"#),
                "invalid option \"two\"",
            ),
            (
                &record_with(
                    r#"{"type":"int","arg.properties":{"options":[1],"range":{"min":0}}}"#,
                ),
                "cannot specify range when options is given",
            ),
            (
                &record_with(r#"{"type":"long","arg.properties":{"iteration":{"step":2}}}"#),
                "'start'",
            ),
            (
                &record_with(
                    r#"{"type":"int","arg.properties":{"iteration":{"start":5,"restart":0,"step":1}}}"#,
                ),
                "towards 'restart'",
            ),
            (
                &record_with(r#"{"type":"string","arg.properties":{"regex":"[a-"}}"#),
                "invalid regex",
            ),
            (
                &record_with(
                    r#"{"type":"array","items":"int","arg.properties":{"length":{"min":3,"max":2}}}"#,
                ),
                "strictly greater",
            ),
            (
                &record_with(r#"{"type":"string","arg.properties":{"length":100000000}}"#),
                "at most",
            ),
        ];
        for (schema, expected) in cases {
            let e = parse(schema).expect_err(schema);
            assert!(e.to_string().contains(expected), "{schema}: {e}");
        }
    }

    #[test]
    fn record_options_are_put_in_field_order_with_defaults() {
        let s = parse(
            r#"{"type":"record","name":"r","fields":[
                {"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}],
               "arg.properties":{"options":[{"b":"y","a":1},{"a":2}]}}"#,
        )
        .unwrap();
        let options = s.root.args.options.clone().unwrap();
        assert_eq!(
            serde_json::to_string(&options).unwrap(),
            r#"[{"a":1,"b":"y"},{"a":2,"b":"x"}]"#
        );
    }

    #[test]
    fn avro_json_drops_only_the_annotations() {
        let s = parse(&record_with(
            r#"{"type":"long","logicalType":"timestamp-millis","arg.properties":{"range":{"min":1}}}"#,
        ))
        .unwrap();
        assert_eq!(
            s.avro_json(),
            serde_json::json!({"type":"record","name":"r","fields":[
                {"name":"f","type":{"type":"long","logicalType":"timestamp-millis"}}]})
        );
    }

    #[test]
    fn check_is_strict_about_types() {
        let s = parse(
            r#"{"type":"record","name":"r","fields":[{"name":"i","type":"int"},{"name":"u","type":["null","string"]}]}"#,
        )
        .unwrap();
        assert!(s
            .root
            .check(&serde_json::json!({"i": 1, "u": null}))
            .is_ok());
        assert!(s.root.check(&serde_json::json!({"i": 1, "u": "x"})).is_ok());
        assert!(s
            .root
            .check(&serde_json::json!({"i": 1.5, "u": null}))
            .is_err());
        assert!(s
            .root
            .check(&serde_json::json!({"i": 3_000_000_000i64, "u": null}))
            .is_err());
        assert!(s
            .root
            .check(&serde_json::json!({"u": null, "i": 1}))
            .is_err());
        assert!(s.root.check(&serde_json::json!({"i": 1})).is_err());
    }
}
