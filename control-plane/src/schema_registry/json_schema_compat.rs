//! JSON Schema compatibility, as Confluent's Schema Registry decides it
//! (`io.confluent.kafka.schemaregistry.json.diff.SchemaDiff`): the writer's
//! schema ("original") and the reader's ("update") are diffed into typed
//! differences (`TYPE_CHANGED #/properties/foo`), and the reader can read
//! the writer when every difference is in the compatible set.
//!
//! Schemas are modelled the way Confluent's loader (everit) sees them:
//! `true`/`{}` are empty schemas, `false` refuses everything, `type`
//! selects a string, number (`integer` is a number that must be whole),
//! object, array, boolean or null schema, and keywords without `type` imply
//! theirs (`properties` makes an object schema). `enum`, `const`, `not` and
//! `allOf`/`anyOf`/`oneOf` are schemas of their own; several of them on one
//! object are an `allOf`, and a list of types an `anyOf`. Local `$ref`s
//! (`#/definitions/x`) resolve to what they point at.
//!
//! The main rules:
//! * objects: a reader with an *open* content model (no
//!   `additionalProperties: false`, no `patternProperties`, no schema for
//!   additional properties) may drop properties but not add typed ones
//!   (`PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`); a closed reader may add
//!   optional ones but not required ones without a default, and may not
//!   drop one the writer had (`PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL`);
//!   `additionalProperties` may open (`ADDITIONAL_PROPERTIES_ADDED`) but not
//!   close; a property may stop being required but not become required;
//! * types: `integer` → `number` is a widening (`TYPE_EXTENDED`), the
//!   reverse a narrowing (`TYPE_NARROWED`), anything else `TYPE_CHANGED`;
//!   anything may become the empty schema; a type may become a `oneOf`/`anyOf`
//!   that has a compatible branch (`SUM_TYPE_EXTENDED`);
//! * constraints may relax but not tighten: `maxLength`, `maximum`,
//!   `maxItems`, `maxProperties` may grow or go; `min…` may shrink or go;
//!   `pattern` may go; enums may gain values, not lose or change them;
//! * arrays compare `items` (and tuple items like properties, with
//!   `additionalItems` as the content model).
//!
//! BACKWARD checks that the new schema reads the old one (old = writer),
//! FORWARD the reverse, FULL both. Messages are Confluent's
//! (`{errorType:"…", description:"…"}`, with "new"/"old" filled in).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::avro_compat::Labels;

/// One difference between two schemas in Confluent's vocabulary (used for
/// JSON Schema here and for Protobuf in [`super::protobuf_compat`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `TYPE_CHANGED`, `PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`, `FIELD_KIND_CHANGED`, …
    pub kind: &'static str,
    /// Where, as Confluent writes it: `#/properties/foo`, `#/TestMessage/2`.
    pub path: String,
    /// Whether a reader still reads the writer despite this difference.
    pub compatible: bool,
    /// Confluent's description: the first `%s` names the reader, the
    /// second the writer, `{path}` is the path.
    template: &'static str,
}

impl Difference {
    /// As Confluent prints it in a 409's message and in `messages`.
    pub fn render(&self, labels: Labels) -> String {
        // The template is static text: filling the labels first keeps a
        // `%s` inside a property name from being taken for a placeholder.
        let description = self
            .template
            .replacen("%s", labels.reader, 1)
            .replacen("%s", labels.writer, 1)
            .replace("{path}", &self.path);
        format!(
            "{{errorType:\"{}\", description:\"{}\"}}",
            self.kind, description
        )
    }
}

/// Why `reader` cannot read data valid under `writer`; empty when it can.
pub fn check(reader: &Value, writer: &Value) -> Vec<Difference> {
    incompatible(differences(writer, reader))
}

/// Every difference from `original` (the writer) to `update` (the reader),
/// compatible ones included.
pub fn differences(original: &Value, update: &Value) -> Vec<Difference> {
    let mut differ = Differ {
        in_progress: HashSet::new(),
        steps: 0,
    };
    let mut ctx = Ctx::new(&JSON_SCHEMA);
    differ.compare(&mut ctx, Some(Sch::root(original)), Some(Sch::root(update)));
    ctx.diffs
}

// ------------------------------------------------------------ vocabulary

/// Confluent's `SchemaDiff.COMPATIBLE_CHANGES`.
const COMPATIBLE: &[&str] = &[
    "ID_CHANGED",
    "DESCRIPTION_CHANGED",
    "TITLE_CHANGED",
    "DEFAULT_CHANGED",
    "SCHEMA_REMOVED",
    "TYPE_EXTENDED",
    "MAX_LENGTH_INCREASED",
    "MAX_LENGTH_REMOVED",
    "MIN_LENGTH_DECREASED",
    "MIN_LENGTH_REMOVED",
    "PATTERN_REMOVED",
    "MAXIMUM_INCREASED",
    "MAXIMUM_REMOVED",
    "MINIMUM_DECREASED",
    "MINIMUM_REMOVED",
    "EXCLUSIVE_MAXIMUM_INCREASED",
    "EXCLUSIVE_MAXIMUM_REMOVED",
    "EXCLUSIVE_MINIMUM_DECREASED",
    "EXCLUSIVE_MINIMUM_REMOVED",
    "MULTIPLE_OF_REDUCED",
    "MULTIPLE_OF_REMOVED",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
    "REQUIRED_ATTRIBUTE_REMOVED",
    "DEPENDENCY_ARRAY_NARROWED",
    "DEPENDENCY_ARRAY_REMOVED",
    "DEPENDENCY_SCHEMA_REMOVED",
    "MAX_PROPERTIES_INCREASED",
    "MAX_PROPERTIES_REMOVED",
    "MIN_PROPERTIES_DECREASED",
    "MIN_PROPERTIES_REMOVED",
    "ADDITIONAL_PROPERTIES_ADDED",
    "ADDITIONAL_PROPERTIES_EXTENDED",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "MAX_ITEMS_INCREASED",
    "MAX_ITEMS_REMOVED",
    "MIN_ITEMS_DECREASED",
    "MIN_ITEMS_REMOVED",
    "UNIQUE_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_ADDED",
    "ADDITIONAL_ITEMS_EXTENDED",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ENUM_ARRAY_EXTENDED",
    "COMBINED_TYPE_EXTENDED",
    "PRODUCT_TYPE_NARROWED",
    "SUM_TYPE_EXTENDED",
    "NOT_TYPE_NARROWED",
];

/// Confluent's description of a difference type (its `Difference.error()`).
fn template(kind: &str) -> &'static str {
    match kind {
        "MAXIMUM_ADDED"
        | "MINIMUM_ADDED"
        | "EXCLUSIVE_MAXIMUM_ADDED"
        | "EXCLUSIVE_MINIMUM_ADDED"
        | "MULTIPLE_OF_ADDED"
        | "MAX_LENGTH_ADDED"
        | "MIN_LENGTH_ADDED"
        | "PATTERN_ADDED"
        | "REQUIRED_ATTRIBUTE_ADDED"
        | "MAX_PROPERTIES_ADDED"
        | "MIN_PROPERTIES_ADDED"
        | "DEPENDENCY_ARRAY_ADDED"
        | "DEPENDENCY_SCHEMA_ADDED"
        | "MAX_ITEMS_ADDED"
        | "MIN_ITEMS_ADDED"
        | "UNIQUE_ITEMS_ADDED"
        | "ADDITIONAL_ITEMS_REMOVED"
        | "ADDITIONAL_PROPERTIES_REMOVED"
        // Confluent leaves this one blank; the keyword wording fits it.
        | "SCHEMA_ADDED" => {
            "The keyword at path '{path}' in the %s schema is not present in the %s schema"
        }
        "MIN_LENGTH_INCREASED"
        | "MINIMUM_INCREASED"
        | "EXCLUSIVE_MINIMUM_INCREASED"
        | "MIN_PROPERTIES_INCREASED"
        | "MULTIPLE_OF_EXPANDED"
        | "MIN_ITEMS_INCREASED" => {
            "The value at path '{path}' in the %s schema is more than its value in the %s schema"
        }
        "MAX_LENGTH_DECREASED"
        | "MAXIMUM_DECREASED"
        | "MAX_ITEMS_DECREASED"
        | "EXCLUSIVE_MAXIMUM_DECREASED"
        | "MAX_PROPERTIES_DECREASED" => {
            "The value at path '{path}' in the %s schema is less than its value in the %s schema"
        }
        "PATTERN_CHANGED" | "MULTIPLE_OF_CHANGED" | "DEPENDENCY_ARRAY_CHANGED" => {
            "The value at path '{path}' is different between the %s and %s schema"
        }
        "ADDITIONAL_ITEMS_NARROWED"
        | "ENUM_ARRAY_NARROWED"
        | "SUM_TYPE_NARROWED"
        | "ADDITIONAL_PROPERTIES_NARROWED" => {
            "An array or combined type at path '{path}' has fewer elements in the %s schema than the %s schema"
        }
        "DEPENDENCY_ARRAY_EXTENDED"
        | "PRODUCT_TYPE_EXTENDED"
        | "SUM_TYPE_EXTENDED"
        | "NOT_TYPE_EXTENDED" => {
            "An array or combined type at path '{path}' has more elements in the %s schema than the %s schema"
        }
        "TYPE_CHANGED"
        | "TYPE_NARROWED"
        | "COMBINED_TYPE_CHANGED"
        | "COMBINED_TYPE_SUBSCHEMAS_CHANGED"
        | "ENUM_ARRAY_CHANGED" => {
            "A type at path '{path}' is different between the %s schema and the %s schema"
        }
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL" | "ITEM_ADDED_TO_OPEN_CONTENT_MODEL" => {
            "The %s schema has an open content model and has a property or item at path '{path}' which is missing in the %s schema"
        }
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" => {
            "The %s schema has an unopen content model and has a required property at path '{path}' which is missing in the %s schema"
        }
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL" | "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL" => {
            "The %s schema has a closed content model and is missing a property or item present at path '{path}' in the %s schema"
        }
        "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        | "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => {
            "A property or item is missing in the %s schema but present at path '{path}' in the %s schema and is not covered by its partially open content model"
        }
        "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        | "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" => {
            "The %s schema has a property or item at path '{path}' which is missing in the %s schema and is not covered by its partially open content model"
        }
        _ => "",
    }
}

// ------------------------------------------------------------ the model

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ty {
    Null,
    Boolean,
    String,
    Number,
    Integer,
    Object,
    Array,
}

impl Ty {
    fn parse(s: &str) -> Option<Ty> {
        Some(match s {
            "null" => Ty::Null,
            "boolean" => Ty::Boolean,
            "string" => Ty::String,
            "number" => Ty::Number,
            "integer" => Ty::Integer,
            "object" => Ty::Object,
            "array" => Ty::Array,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Crit {
    All,
    Any,
    One,
}

impl Crit {
    fn name(self) -> &'static str {
        match self {
            Crit::All => "allOf",
            Crit::Any => "anyOf",
            Crit::One => "oneOf",
        }
    }
}

/// Which schema of a JSON object is meant: all of it, or one of the
/// schemas its keywords make (`{"type":"string","enum":[…]}` is an `allOf`
/// of an enum and a string schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part {
    Full,
    Enum,
    Const,
    Not,
    Combined(Crit),
    /// `"type": [..]` with several types: an `anyOf` of them.
    TypeUnion,
    Typed(Ty),
    Conditional,
}

/// A schema: a part of a JSON value inside the document (`root`) its
/// `$ref`s resolve in.
#[derive(Debug, Clone, Copy)]
struct Sch<'a> {
    root: &'a Value,
    v: &'a Value,
    part: Part,
}

impl<'a> Sch<'a> {
    fn root(v: &'a Value) -> Sch<'a> {
        Sch {
            root: v,
            v,
            part: Part::Full,
        }
    }

    fn child(&self, v: &'a Value) -> Sch<'a> {
        Sch {
            root: self.root,
            v,
            part: Part::Full,
        }
    }

    fn with(&self, part: Part) -> Sch<'a> {
        Sch { part, ..*self }
    }

    /// Identity for cycle detection: the JSON node and the part of it.
    fn key(&self) -> (usize, Part) {
        (self.v as *const Value as usize, self.part)
    }

    fn obj(&self) -> Option<&'a Map<String, Value>> {
        self.v.as_object()
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.obj().and_then(|o| o.get(k))
    }

    fn has_default(&self) -> bool {
        self.get("default").is_some()
    }
}

const ARRAY_KEYWORDS: &[&str] = &[
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
];
const OBJECT_KEYWORDS: &[&str] = &[
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
];
const NUMBER_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "multipleOf",
    "exclusiveMinimum",
    "exclusiveMaximum",
];
const STRING_KEYWORDS: &[&str] = &["minLength", "maxLength", "pattern", "format"];

struct ObjectNode<'a> {
    properties: BTreeMap<&'a str, Sch<'a>>,
    required: BTreeSet<&'a str>,
    permits_additional: bool,
    additional: Option<Sch<'a>>,
    pattern_properties: Vec<(&'a str, Sch<'a>)>,
    min_properties: Option<f64>,
    max_properties: Option<f64>,
    property_dependencies: BTreeMap<&'a str, BTreeSet<&'a str>>,
    schema_dependencies: BTreeMap<&'a str, Sch<'a>>,
}

impl<'a> ObjectNode<'a> {
    fn is_open(&self) -> bool {
        self.pattern_properties.is_empty() && self.additional.is_none() && self.permits_additional
    }

    /// The schema a property not listed falls under, when there is one.
    fn partially_open_schema(&self, key: &str) -> Option<Sch<'a>> {
        self.pattern_properties
            .iter()
            .find(|(p, _)| regex::Regex::new(p).is_ok_and(|r| r.is_match(key)))
            .map(|(_, s)| *s)
            .or(self.additional)
    }
}

struct ArrayNode<'a> {
    all_items: Option<Sch<'a>>,
    item_schemas: Vec<Sch<'a>>,
    permits_additional: bool,
    additional: Option<Sch<'a>>,
    min_items: Option<f64>,
    max_items: Option<f64>,
    unique: bool,
}

impl<'a> ArrayNode<'a> {
    fn is_open(&self) -> bool {
        self.permits_additional && self.additional.is_none()
    }
}

struct NumberNode {
    integer: bool,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    multiple_of: Option<f64>,
}

struct StringNode<'a> {
    min_length: Option<f64>,
    max_length: Option<f64>,
    pattern: Option<&'a str>,
}

enum Node<'a> {
    /// `true`, `{}`, or only annotations: anything is valid.
    Empty,
    False,
    Null,
    Boolean,
    String(StringNode<'a>),
    Number(NumberNode),
    Object(Box<ObjectNode<'a>>),
    Array(ArrayNode<'a>),
    Enum(Vec<&'a Value>),
    Const(&'a Value),
    Combined(Crit, Vec<Sch<'a>>),
    Not(Sch<'a>),
    /// A `$ref` this document cannot resolve (another subject's schema).
    Ref(&'a str),
    Conditional,
}

impl Node<'_> {
    fn combined(&self) -> Option<(Crit, &[Sch<'_>])> {
        match self {
            Node::Combined(c, subs) => Some((*c, subs)),
            _ => None,
        }
    }
}

static NULL: Value = Value::Null;
static TRUE: Value = Value::Bool(true);

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// The parts a schema object's keywords make, in Confluent's loader order.
fn parts(o: &Map<String, Value>) -> Vec<Part> {
    let mut parts = Vec::new();
    if o.get("enum").is_some_and(Value::is_array) {
        parts.push(Part::Enum);
    }
    for (k, c) in [
        ("allOf", Crit::All),
        ("anyOf", Crit::Any),
        ("oneOf", Crit::One),
    ] {
        if o.get(k).is_some_and(Value::is_array) {
            parts.push(Part::Combined(c));
        }
    }
    if o.contains_key("not") {
        parts.push(Part::Not);
    }
    if o.contains_key("const") {
        parts.push(Part::Const);
    }
    match o.get("type") {
        Some(Value::String(t)) => parts.extend(Ty::parse(t).map(Part::Typed)),
        Some(Value::Array(ts)) => {
            let tys: Vec<Ty> = ts
                .iter()
                .filter_map(|t| t.as_str().and_then(Ty::parse))
                .collect();
            match tys.as_slice() {
                [] => {}
                [one] => parts.push(Part::Typed(*one)),
                _ => parts.push(Part::TypeUnion),
            }
        }
        _ => {
            // No type: the keywords imply theirs.
            let any = |ks: &[&str]| ks.iter().any(|k| o.contains_key(*k));
            for (ks, ty) in [
                (ARRAY_KEYWORDS, Ty::Array),
                (OBJECT_KEYWORDS, Ty::Object),
                (NUMBER_KEYWORDS, Ty::Number),
                (STRING_KEYWORDS, Ty::String),
            ] {
                if any(ks) {
                    parts.push(Part::Typed(ty));
                }
            }
        }
    }
    if o.contains_key("if") {
        parts.push(Part::Conditional);
    }
    parts
}

fn load<'a>(s: Sch<'a>) -> Node<'a> {
    let o = match s.v {
        Value::Bool(true) => return Node::Empty,
        Value::Bool(false) => return Node::False,
        Value::Object(o) => o,
        // Not a schema (the registry accepts objects and booleans only).
        _ => return Node::Empty,
    };
    match s.part {
        Part::Full => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                return Node::Ref(r);
            }
            let ps = parts(o);
            match ps.as_slice() {
                [] => Node::Empty,
                [one] => load(s.with(*one)),
                _ => Node::Combined(Crit::All, ps.iter().map(|p| s.with(*p)).collect()),
            }
        }
        Part::Enum => Node::Enum(
            o.get("enum")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
        ),
        Part::Const => Node::Const(o.get("const").unwrap_or(&NULL)),
        Part::Not => Node::Not(s.child(o.get("not").unwrap_or(&TRUE))),
        Part::Combined(c) => Node::Combined(
            c,
            o.get(c.name())
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| s.child(v)).collect())
                .unwrap_or_default(),
        ),
        Part::TypeUnion => {
            let tys = o
                .get("type")
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .filter_map(|t| t.as_str().and_then(Ty::parse))
                        .collect()
                })
                .unwrap_or_else(Vec::new);
            Node::Combined(
                Crit::Any,
                tys.into_iter().map(|t| s.with(Part::Typed(t))).collect(),
            )
        }
        Part::Conditional => Node::Conditional,
        Part::Typed(ty) => match ty {
            Ty::Null => Node::Null,
            Ty::Boolean => Node::Boolean,
            Ty::String => Node::String(StringNode {
                min_length: num(o.get("minLength")),
                max_length: num(o.get("maxLength")),
                pattern: o.get("pattern").and_then(Value::as_str),
            }),
            Ty::Number | Ty::Integer => Node::Number(NumberNode {
                integer: ty == Ty::Integer,
                minimum: num(o.get("minimum")),
                maximum: num(o.get("maximum")),
                // Draft 4 spells these as booleans modifying minimum and
                // maximum; only the numeric (draft 6+) form is a limit.
                exclusive_minimum: num(o.get("exclusiveMinimum")),
                exclusive_maximum: num(o.get("exclusiveMaximum")),
                multiple_of: num(o.get("multipleOf")),
            }),
            Ty::Object => Node::Object(Box::new(object_node(s, o))),
            Ty::Array => Node::Array(array_node(s, o)),
        },
    }
}

fn object_node<'a>(s: Sch<'a>, o: &'a Map<String, Value>) -> ObjectNode<'a> {
    let schemas = |k: &str| -> Vec<(&'a str, Sch<'a>)> {
        o.get(k)
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), s.child(v))).collect())
            .unwrap_or_default()
    };
    let mut property_dependencies = BTreeMap::new();
    let mut schema_dependencies = BTreeMap::new();
    if let Some(deps) = o.get("dependencies").and_then(Value::as_object) {
        for (k, v) in deps {
            match v {
                Value::Array(names) => {
                    property_dependencies
                        .insert(k.as_str(), names.iter().filter_map(Value::as_str).collect());
                }
                _ => {
                    schema_dependencies.insert(k.as_str(), s.child(v));
                }
            }
        }
    }
    let (permits_additional, additional) = match o.get("additionalProperties") {
        Some(Value::Bool(b)) => (*b, None),
        Some(v @ Value::Object(_)) => (true, Some(s.child(v))),
        _ => (true, None),
    };
    ObjectNode {
        properties: schemas("properties").into_iter().collect(),
        required: o
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
        permits_additional,
        additional,
        pattern_properties: schemas("patternProperties"),
        min_properties: num(o.get("minProperties")),
        max_properties: num(o.get("maxProperties")),
        property_dependencies,
        schema_dependencies,
    }
}

fn array_node<'a>(s: Sch<'a>, o: &'a Map<String, Value>) -> ArrayNode<'a> {
    let (all_items, item_schemas) = match o.get("items") {
        Some(Value::Array(items)) => (None, items.iter().map(|v| s.child(v)).collect()),
        Some(v) => (Some(s.child(v)), Vec::new()),
        None => (None, Vec::new()),
    };
    let (permits_additional, additional) = match o.get("additionalItems") {
        Some(Value::Bool(b)) => (*b, None),
        Some(v @ Value::Object(_)) => (true, Some(s.child(v))),
        _ => (true, None),
    };
    ArrayNode {
        all_items,
        item_schemas,
        permits_additional,
        additional,
        min_items: num(o.get("minItems")),
        max_items: num(o.get("maxItems")),
        unique: o
            .get("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

/// Follows `$ref`s that point into the schema's own document.
fn resolve(mut s: Sch<'_>) -> Sch<'_> {
    // A bounded number of hops: `a` → `b` → `a` is not a schema.
    for _ in 0..32 {
        if s.part != Part::Full {
            return s;
        }
        let Some(r) = s.get("$ref").and_then(Value::as_str) else {
            return s;
        };
        let Some(fragment) = r.strip_prefix('#') else {
            return s;
        };
        let pointer = percent_decode_str(fragment).decode_utf8_lossy();
        match s.root.pointer(&pointer) {
            Some(target) => s = s.child(target),
            None => return s,
        }
    }
    s
}

// ------------------------------------------------------------ the diff

/// A diff's vocabulary: which difference types a reader tolerates and how
/// each is described (JSON Schema's here, Protobuf's in
/// [`super::protobuf_compat`]).
pub(super) struct Vocabulary {
    /// Confluent's `SchemaDiff.COMPATIBLE_CHANGES`.
    pub compatible: &'static [&'static str],
    /// Confluent's description of a difference type.
    pub template: fn(&str) -> &'static str,
}

static JSON_SCHEMA: Vocabulary = Vocabulary {
    compatible: COMPATIBLE,
    template,
};

/// Where a diff is (path segments under `#/`) and what it found there.
pub(super) struct Ctx {
    pub path: Vec<String>,
    pub diffs: Vec<Difference>,
    vocabulary: &'static Vocabulary,
}

impl Ctx {
    pub fn new(vocabulary: &'static Vocabulary) -> Ctx {
        Ctx {
            path: Vec::new(),
            diffs: Vec::new(),
            vocabulary,
        }
    }

    /// A context at the same path collecting its own differences, to judge
    /// a comparison before keeping its findings.
    pub fn sub(&self) -> Ctx {
        Ctx {
            path: self.path.clone(),
            diffs: Vec::new(),
            vocabulary: self.vocabulary,
        }
    }

    pub fn add(&mut self, kind: &'static str) {
        self.diffs.push(Difference {
            kind,
            path: format!("#/{}", self.path.join("/")),
            compatible: self.vocabulary.compatible.contains(&kind),
            template: (self.vocabulary.template)(kind),
        });
    }

    fn add_at(&mut self, attribute: &str, kind: &'static str) {
        self.path.push(attribute.to_string());
        self.add(kind);
        self.path.pop();
    }

    pub fn is_compatible(&self) -> bool {
        self.diffs.iter().all(|d| d.compatible)
    }

    pub fn enter(&mut self, segment: impl Into<String>) {
        self.path.push(segment.into());
    }

    pub fn leave(&mut self) {
        self.path.pop();
    }
}

/// The differences a reader cannot read past.
pub(super) fn incompatible(diffs: Vec<Difference>) -> Vec<Difference> {
    diffs.into_iter().filter(|d| !d.compatible).collect()
}

/// Comparisons a pair of schemas may cost at most: combined schemas are
/// compared branch by branch, and a crafted schema must not stall a request.
const MAX_STEPS: usize = 200_000;

struct Differ {
    in_progress: HashSet<((usize, Part), (usize, Part))>,
    steps: usize,
}

impl Differ {
    fn compare<'a>(&mut self, ctx: &mut Ctx, original: Option<Sch<'a>>, update: Option<Sch<'a>>) {
        let (o, u) = match (original, update) {
            (None, None) => return,
            (None, Some(_)) => return ctx.add("SCHEMA_ADDED"),
            (Some(_), None) => return ctx.add("SCHEMA_REMOVED"),
            (Some(o), Some(u)) => (resolve(o), resolve(u)),
        };
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return;
        }
        let (on, un) = (load(o), load(u));

        match (on.combined(), un.combined()) {
            (None, Some((crit, subs))) => {
                if subs.len() == 1 {
                    let mut sub = ctx.sub();
                    self.compare(&mut sub, Some(o), Some(subs[0]));
                    if sub.is_compatible() {
                        ctx.diffs.extend(sub.diffs);
                        return;
                    }
                } else if crit != Crit::All {
                    for s in subs {
                        let mut sub = ctx.sub();
                        self.compare(&mut sub, Some(o), Some(*s));
                        if sub.is_compatible() {
                            ctx.diffs.extend(sub.diffs);
                            ctx.add("SUM_TYPE_EXTENDED");
                            return;
                        }
                    }
                }
            }
            (Some((crit, subs)), None) => {
                if subs.len() == 1 {
                    let mut sub = ctx.sub();
                    self.compare(&mut sub, Some(subs[0]), Some(u));
                    if sub.is_compatible() {
                        ctx.diffs.extend(sub.diffs);
                        return;
                    }
                } else if crit == Crit::All {
                    for s in subs {
                        let mut sub = ctx.sub();
                        self.compare(&mut sub, Some(*s), Some(u));
                        if sub.is_compatible() {
                            ctx.diffs.extend(sub.diffs);
                            ctx.add("PRODUCT_TYPE_NARROWED");
                            return;
                        }
                    }
                }
            }
            _ => {}
        }

        if std::mem::discriminant(&on) != std::mem::discriminant(&un) {
            // Anything may become the empty schema, and a schema that
            // accepted nothing may become anything.
            if !matches!(on, Node::False) && !matches!(un, Node::Empty) {
                ctx.add("TYPE_CHANGED");
            }
            return;
        }

        // A recursive schema meets the same pair again: assume it compatible.
        let key = (o.key(), u.key());
        if !self.in_progress.insert(key) {
            return;
        }
        if o.part == Part::Full && u.part == Part::Full {
            annotations(ctx, o, u);
        }
        match (&on, &un) {
            (Node::String(a), Node::String(b)) => strings(ctx, a, b),
            (Node::Number(a), Node::Number(b)) => numbers(ctx, a, b),
            (Node::Enum(a), Node::Enum(b)) => enums(ctx, a, b),
            (Node::Const(a), Node::Const(b)) if a != b => {
                ctx.add_at("const", "ENUM_ARRAY_CHANGED");
            }
            (Node::Combined(ca, a), Node::Combined(cb, b)) => self.combined(ctx, *ca, a, *cb, b),
            (Node::Not(a), Node::Not(b)) => {
                ctx.enter("not");
                // Not reverses the direction: the reader's `not` must
                // refuse at least what the writer's refused.
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(*b), Some(*a));
                ctx.add(if sub.is_compatible() {
                    "NOT_TYPE_NARROWED"
                } else {
                    "NOT_TYPE_EXTENDED"
                });
                ctx.leave();
            }
            (Node::Object(a), Node::Object(b)) => self.objects(ctx, a, b),
            (Node::Array(a), Node::Array(b)) => self.arrays(ctx, a, b),
            (Node::Ref(a), Node::Ref(b)) if a != b => ctx.add("TYPE_CHANGED"),
            _ => {}
        }
        self.in_progress.remove(&key);
    }

    fn combined<'a>(
        &mut self,
        ctx: &mut Ctx,
        ocrit: Crit,
        osubs: &[Sch<'a>],
        ucrit: Crit,
        usubs: &[Sch<'a>],
    ) {
        if ocrit != ucrit {
            let extended = match ucrit {
                Crit::Any => true,
                Crit::One => osubs.len() == 1,
                Crit::All => osubs.len() == 1 && usubs.len() == 1,
            };
            if !extended {
                return ctx.add("COMBINED_TYPE_CHANGED");
            }
            ctx.add("COMBINED_TYPE_EXTENDED");
        }
        let (osubs, usubs) = (distinct(osubs), distinct(usubs));
        let (on, un) = (osubs.len(), usubs.len());
        if on < un {
            ctx.add(if ucrit == Crit::All {
                "PRODUCT_TYPE_EXTENDED"
            } else {
                "SUM_TYPE_EXTENDED"
            });
        } else if on > un {
            ctx.add(if ucrit == Crit::All {
                "PRODUCT_TYPE_NARROWED"
            } else {
                "SUM_TYPE_NARROWED"
            });
        }
        // Which original branch each update branch can stand for.
        let mut edges: Vec<Vec<(usize, Vec<Difference>)>> = Vec::with_capacity(on);
        for (i, o) in osubs.iter().enumerate() {
            ctx.enter(format!("{}/{i}", ocrit.name()));
            let mut row = Vec::new();
            for (j, u) in usubs.iter().enumerate() {
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(*o), Some(*u));
                if sub.is_compatible() {
                    row.push((j, sub.diffs));
                }
            }
            ctx.leave();
            edges.push(row);
        }
        let matched = max_matching(&edges, un);
        let mut pairs = 0;
        for (i, j) in matched.iter().enumerate() {
            if let Some(j) = j {
                pairs += 1;
                if let Some((_, diffs)) = edges[i].iter().find(|(jj, _)| jj == j) {
                    ctx.diffs.extend(diffs.iter().cloned());
                }
            }
        }
        if pairs < on.min(un) {
            ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
        }
    }

    fn objects<'a>(&mut self, ctx: &mut Ctx, o: &ObjectNode<'a>, u: &ObjectNode<'a>) {
        // required
        ctx.enter("required");
        for k in o.properties.keys() {
            let Some(up) = u.properties.get(k) else {
                continue;
            };
            match (o.required.contains(k), u.required.contains(k)) {
                (true, false) => ctx.add_at(k, "REQUIRED_ATTRIBUTE_REMOVED"),
                (false, true) if up.has_default() => {
                    ctx.add_at(k, "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED")
                }
                (false, true) => ctx.add_at(k, "REQUIRED_ATTRIBUTE_ADDED"),
                _ => {}
            }
        }
        ctx.leave();

        // properties
        ctx.enter("properties");
        let keys: BTreeSet<&str> = o
            .properties
            .keys()
            .chain(u.properties.keys())
            .copied()
            .collect();
        for k in keys {
            ctx.enter(k);
            match (o.properties.get(k), u.properties.get(k)) {
                (Some(op), None) => {
                    // Only the reader's content model decides whether it
                    // may lose a property.
                    if u.is_open() {
                        ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
                    } else if let Some(partial) = u.partially_open_schema(k) {
                        let mut sub = ctx.sub();
                        self.compare(&mut sub, Some(*op), Some(partial));
                        let covered = sub.is_compatible();
                        ctx.diffs.extend(sub.diffs);
                        ctx.add(if covered {
                            "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        } else {
                            "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                        });
                    } else if matches!(op.v, Value::Bool(false)) {
                        ctx.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    } else {
                        ctx.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                    }
                }
                (None, Some(up)) => {
                    // Only the writer's content model decides whether its
                    // data may already carry the property.
                    if o.is_open() {
                        if matches!(load(*up), Node::Empty) {
                            ctx.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
                        } else {
                            ctx.add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
                        }
                    } else {
                        if let Some(partial) = o.partially_open_schema(k) {
                            let mut sub = ctx.sub();
                            self.compare(&mut sub, Some(partial), Some(*up));
                            let covered = sub.is_compatible();
                            ctx.diffs.extend(sub.diffs);
                            ctx.add(if covered {
                                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            } else {
                                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                            });
                        }
                        ctx.add(if !u.required.contains(k) {
                            "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
                        } else if up.has_default() {
                            "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                        } else {
                            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
                        });
                    }
                }
                (op, up) => self.compare(ctx, op.copied(), up.copied()),
            }
            ctx.leave();
        }
        ctx.leave();

        // dependencies
        ctx.enter("dependencies");
        let keys: BTreeSet<&str> = o
            .property_dependencies
            .keys()
            .chain(u.property_dependencies.keys())
            .copied()
            .collect();
        for k in keys {
            match (
                o.property_dependencies.get(k),
                u.property_dependencies.get(k),
            ) {
                (_, None) => ctx.add_at(k, "DEPENDENCY_ARRAY_REMOVED"),
                (None, Some(_)) => ctx.add_at(k, "DEPENDENCY_ARRAY_ADDED"),
                (Some(a), Some(b)) if a != b => ctx.add_at(
                    k,
                    if b.is_superset(a) {
                        "DEPENDENCY_ARRAY_EXTENDED"
                    } else if a.is_superset(b) {
                        "DEPENDENCY_ARRAY_NARROWED"
                    } else {
                        "DEPENDENCY_ARRAY_CHANGED"
                    },
                ),
                _ => {}
            }
        }
        let keys: BTreeSet<&str> = o
            .schema_dependencies
            .keys()
            .chain(u.schema_dependencies.keys())
            .copied()
            .collect();
        for k in keys {
            match (o.schema_dependencies.get(k), u.schema_dependencies.get(k)) {
                (_, None) => ctx.add_at(k, "DEPENDENCY_SCHEMA_REMOVED"),
                (None, Some(_)) => ctx.add_at(k, "DEPENDENCY_SCHEMA_ADDED"),
                (a, b) => {
                    ctx.enter(k);
                    self.compare(ctx, a.copied(), b.copied());
                    ctx.leave();
                }
            }
        }
        ctx.leave();

        // additionalProperties
        ctx.enter("additionalProperties");
        if o.permits_additional != u.permits_additional {
            ctx.add(if u.permits_additional {
                "ADDITIONAL_PROPERTIES_ADDED"
            } else {
                "ADDITIONAL_PROPERTIES_REMOVED"
            });
        } else {
            match (o.additional, u.additional) {
                (None, Some(_)) => ctx.add("ADDITIONAL_PROPERTIES_NARROWED"),
                (Some(_), None) => ctx.add("ADDITIONAL_PROPERTIES_EXTENDED"),
                (a, b) => self.compare(ctx, a, b),
            }
        }
        ctx.leave();

        limit(
            ctx,
            "maxProperties",
            o.max_properties,
            u.max_properties,
            [
                "MAX_PROPERTIES_ADDED",
                "MAX_PROPERTIES_REMOVED",
                "MAX_PROPERTIES_INCREASED",
                "MAX_PROPERTIES_DECREASED",
            ],
        );
        limit(
            ctx,
            "minProperties",
            o.min_properties,
            u.min_properties,
            [
                "MIN_PROPERTIES_ADDED",
                "MIN_PROPERTIES_REMOVED",
                "MIN_PROPERTIES_INCREASED",
                "MIN_PROPERTIES_DECREASED",
            ],
        );
    }

    fn arrays<'a>(&mut self, ctx: &mut Ctx, o: &ArrayNode<'a>, u: &ArrayNode<'a>) {
        ctx.enter("items");
        self.compare(ctx, o.all_items, u.all_items);
        ctx.leave();

        // Tuple items, like properties, with additionalItems as the model.
        let common = o.item_schemas.len().min(u.item_schemas.len());
        for i in 0..common {
            ctx.enter(format!("items/{i}"));
            self.compare(ctx, Some(o.item_schemas[i]), Some(u.item_schemas[i]));
            ctx.leave();
        }
        for (i, oi) in o.item_schemas.iter().enumerate().skip(common) {
            ctx.enter(format!("items/{i}"));
            if u.is_open() {
                ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
            } else if let Some(partial) = u.additional {
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(*oi), Some(partial));
                let covered = sub.is_compatible();
                ctx.diffs.extend(sub.diffs);
                ctx.add(if covered {
                    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                } else {
                    "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                });
            } else if matches!(oi.v, Value::Bool(false)) {
                ctx.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
            } else {
                ctx.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL");
            }
            ctx.leave();
        }
        for (i, ui) in u.item_schemas.iter().enumerate().skip(common) {
            ctx.enter(format!("items/{i}"));
            if o.is_open() {
                if matches!(load(*ui), Node::Empty) {
                    ctx.add("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL");
                } else {
                    ctx.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL");
                }
            } else if let Some(partial) = o.additional {
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(partial), Some(*ui));
                let covered = sub.is_compatible();
                ctx.diffs.extend(sub.diffs);
                ctx.add(if covered {
                    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                } else {
                    "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                });
            } else {
                ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
            }
            ctx.leave();
        }

        ctx.enter("additionalItems");
        if o.permits_additional != u.permits_additional {
            ctx.add(if o.permits_additional {
                "ADDITIONAL_ITEMS_REMOVED"
            } else {
                "ADDITIONAL_ITEMS_ADDED"
            });
        } else {
            match (o.additional, u.additional) {
                (None, Some(_)) => ctx.add("ADDITIONAL_ITEMS_NARROWED"),
                (Some(_), None) => ctx.add("ADDITIONAL_ITEMS_EXTENDED"),
                (a, b) => self.compare(ctx, a, b),
            }
        }
        ctx.leave();

        limit(
            ctx,
            "maxItems",
            o.max_items,
            u.max_items,
            [
                "MAX_ITEMS_ADDED",
                "MAX_ITEMS_REMOVED",
                "MAX_ITEMS_INCREASED",
                "MAX_ITEMS_DECREASED",
            ],
        );
        limit(
            ctx,
            "minItems",
            o.min_items,
            u.min_items,
            [
                "MIN_ITEMS_ADDED",
                "MIN_ITEMS_REMOVED",
                "MIN_ITEMS_INCREASED",
                "MIN_ITEMS_DECREASED",
            ],
        );
        if o.unique != u.unique {
            ctx.add_at(
                "uniqueItems",
                if o.unique {
                    "UNIQUE_ITEMS_REMOVED"
                } else {
                    "UNIQUE_ITEMS_ADDED"
                },
            );
        }
    }
}

fn annotations(ctx: &mut Ctx, o: Sch<'_>, u: Sch<'_>) {
    fn id<'a>(s: Sch<'a>) -> Option<&'a Value> {
        s.get("$id").or_else(|| s.get("id"))
    }
    if id(o) != id(u) {
        ctx.add("ID_CHANGED");
    }
    for (k, kind) in [
        ("title", "TITLE_CHANGED"),
        ("description", "DESCRIPTION_CHANGED"),
        ("default", "DEFAULT_CHANGED"),
    ] {
        if o.get(k) != u.get(k) {
            ctx.add(kind);
        }
    }
}

/// A numeric keyword: `[added, removed, increased, decreased]`.
fn limit(ctx: &mut Ctx, keyword: &str, o: Option<f64>, u: Option<f64>, kinds: [&'static str; 4]) {
    let kind = match (o, u) {
        (None, Some(_)) => kinds[0],
        (Some(_), None) => kinds[1],
        (Some(a), Some(b)) if a < b => kinds[2],
        (Some(a), Some(b)) if a > b => kinds[3],
        _ => return,
    };
    ctx.add_at(keyword, kind);
}

fn strings(ctx: &mut Ctx, o: &StringNode<'_>, u: &StringNode<'_>) {
    limit(
        ctx,
        "maxLength",
        o.max_length,
        u.max_length,
        [
            "MAX_LENGTH_ADDED",
            "MAX_LENGTH_REMOVED",
            "MAX_LENGTH_INCREASED",
            "MAX_LENGTH_DECREASED",
        ],
    );
    limit(
        ctx,
        "minLength",
        o.min_length,
        u.min_length,
        [
            "MIN_LENGTH_ADDED",
            "MIN_LENGTH_REMOVED",
            "MIN_LENGTH_INCREASED",
            "MIN_LENGTH_DECREASED",
        ],
    );
    match (o.pattern, u.pattern) {
        (None, Some(_)) => ctx.add_at("pattern", "PATTERN_ADDED"),
        (Some(_), None) => ctx.add_at("pattern", "PATTERN_REMOVED"),
        (Some(a), Some(b)) if a != b => ctx.add_at("pattern", "PATTERN_CHANGED"),
        _ => {}
    }
}

fn numbers(ctx: &mut Ctx, o: &NumberNode, u: &NumberNode) {
    limit(
        ctx,
        "maximum",
        o.maximum,
        u.maximum,
        [
            "MAXIMUM_ADDED",
            "MAXIMUM_REMOVED",
            "MAXIMUM_INCREASED",
            "MAXIMUM_DECREASED",
        ],
    );
    limit(
        ctx,
        "minimum",
        o.minimum,
        u.minimum,
        [
            "MINIMUM_ADDED",
            "MINIMUM_REMOVED",
            "MINIMUM_INCREASED",
            "MINIMUM_DECREASED",
        ],
    );
    limit(
        ctx,
        "exclusiveMaximum",
        o.exclusive_maximum,
        u.exclusive_maximum,
        [
            "EXCLUSIVE_MAXIMUM_ADDED",
            "EXCLUSIVE_MAXIMUM_REMOVED",
            "EXCLUSIVE_MAXIMUM_INCREASED",
            "EXCLUSIVE_MAXIMUM_DECREASED",
        ],
    );
    limit(
        ctx,
        "exclusiveMinimum",
        o.exclusive_minimum,
        u.exclusive_minimum,
        [
            "EXCLUSIVE_MINIMUM_ADDED",
            "EXCLUSIVE_MINIMUM_REMOVED",
            "EXCLUSIVE_MINIMUM_INCREASED",
            "EXCLUSIVE_MINIMUM_DECREASED",
        ],
    );
    let divides = |a: f64, b: f64| a != 0.0 && (b / a - (b / a).round()).abs() < 1e-9;
    match (o.multiple_of, u.multiple_of) {
        (None, Some(_)) => ctx.add_at("multipleOf", "MULTIPLE_OF_ADDED"),
        (Some(_), None) => ctx.add_at("multipleOf", "MULTIPLE_OF_REMOVED"),
        (Some(a), Some(b)) if a != b => ctx.add_at(
            "multipleOf",
            // A multiple of the old step is valid under it: the new values
            // are a subset (expanded step), or the old ones are (reduced).
            if divides(a, b) {
                "MULTIPLE_OF_EXPANDED"
            } else if divides(b, a) {
                "MULTIPLE_OF_REDUCED"
            } else {
                "MULTIPLE_OF_CHANGED"
            },
        ),
        _ => {}
    }
    match (o.integer, u.integer) {
        (true, false) => ctx.add("TYPE_EXTENDED"),
        (false, true) => ctx.add("TYPE_NARROWED"),
        _ => {}
    }
}

fn enums(ctx: &mut Ctx, o: &[&Value], u: &[&Value]) {
    let contains_all = |a: &[&Value], b: &[&Value]| b.iter().all(|v| a.contains(v));
    let (grew, shrank) = (contains_all(u, o), contains_all(o, u));
    let kind = match (grew, shrank) {
        (true, true) => return,
        (true, false) => "ENUM_ARRAY_EXTENDED",
        (false, true) => "ENUM_ARRAY_NARROWED",
        (false, false) => "ENUM_ARRAY_CHANGED",
    };
    ctx.add_at("enum", kind);
}

/// Branches without repeats (the same schema twice is one branch).
fn distinct<'a>(subs: &[Sch<'a>]) -> Vec<Sch<'a>> {
    let mut seen = HashSet::new();
    subs.iter()
        .filter(|s| seen.insert((s.v.to_string(), s.part)))
        .copied()
        .collect()
}

/// A maximum matching of original branches to update branches over the
/// compatible pairs (`edges[i]` lists the `j`s branch `i` pairs with):
/// for each `i`, the `j` it is matched to.
fn max_matching<T>(edges: &[Vec<(usize, T)>], right: usize) -> Vec<Option<usize>> {
    fn augment<T>(
        i: usize,
        edges: &[Vec<(usize, T)>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for (j, _) in &edges[i] {
            if seen[*j] {
                continue;
            }
            seen[*j] = true;
            if owner[*j].is_none_or(|k| augment(k, edges, seen, owner)) {
                owner[*j] = Some(i);
                return true;
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; right];
    for i in 0..edges.len() {
        let mut seen = vec![false; right];
        augment(i, edges, &mut seen, &mut owner);
    }
    let mut matched = vec![None; edges.len()];
    for (j, i) in owner.iter().enumerate() {
        if let Some(i) = i {
            matched[*i] = Some(j);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_registry::avro_compat::{NEW_READS_OLD, OLD_READS_NEW};
    use serde_json::json;

    /// `(changes as "TYPE #/path", compatible)` from original to update.
    fn diff(original: Value, update: Value) -> (Vec<String>, bool) {
        let d = differences(&original, &update);
        let compatible = d.iter().all(|d| d.compatible);
        (
            d.iter().map(|d| format!("{} {}", d.kind, d.path)).collect(),
            compatible,
        )
    }

    fn assert_diff(original: Value, update: Value, changes: &[&str], compatible: bool) {
        let (got, ok) = diff(original.clone(), update.clone());
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got_sorted, want, "{original} → {update}");
        assert_eq!(ok, compatible, "{original} → {update}: {got:?}");
    }

    // Upstream's examples (Confluent's diff-schema-examples.json).

    #[test]
    fn annotations_and_empty_schemas() {
        assert_diff(json!({"properties": {}}), json!({}), &[], true);
        assert_diff(
            json!({"id": "a"}),
            json!({"id": "b"}),
            &["ID_CHANGED #/"],
            true,
        );
        assert_diff(
            json!({"title": "a"}),
            json!({"title": "b"}),
            &["TITLE_CHANGED #/"],
            true,
        );
        assert_diff(
            json!({"description": "a"}),
            json!({"description": "b"}),
            &["DESCRIPTION_CHANGED #/"],
            true,
        );
        assert_diff(
            json!({"type": "object"}),
            json!({"type": "array"}),
            &["TYPE_CHANGED #/"],
            false,
        );
    }

    #[test]
    fn string_constraints() {
        let s = |k: &str, n: u64| json!({"type": "string", k: n});
        assert_diff(
            s("minLength", 10),
            s("minLength", 11),
            &["MIN_LENGTH_INCREASED #/minLength"],
            false,
        );
        assert_diff(
            s("minLength", 11),
            s("minLength", 10),
            &["MIN_LENGTH_DECREASED #/minLength"],
            true,
        );
        assert_diff(
            s("maxLength", 10),
            s("maxLength", 12),
            &["MAX_LENGTH_INCREASED #/maxLength"],
            true,
        );
        assert_diff(
            s("maxLength", 12),
            s("maxLength", 10),
            &["MAX_LENGTH_DECREASED #/maxLength"],
            false,
        );
        assert_diff(
            json!({"type": "string", "pattern": "uuid"}),
            json!({"type": "string"}),
            &["PATTERN_REMOVED #/pattern"],
            true,
        );
        assert_diff(
            json!({"type": "string", "pattern": "date-time"}),
            json!({"type": "string", "pattern": "uuid"}),
            &["PATTERN_CHANGED #/pattern"],
            false,
        );
        assert_diff(
            json!({"type": "string"}),
            json!({"type": "string", "maxLength": 3}),
            &["MAX_LENGTH_ADDED #/maxLength"],
            false,
        );
    }

    #[test]
    fn number_constraints_and_integer_widening() {
        let n = |k: &str, v: u64| json!({"type": "number", k: v});
        assert_diff(
            n("maximum", 10),
            json!({"type": "number"}),
            &["MAXIMUM_REMOVED #/maximum"],
            true,
        );
        assert_diff(
            n("maximum", 10),
            n("maximum", 11),
            &["MAXIMUM_INCREASED #/maximum"],
            true,
        );
        assert_diff(
            n("maximum", 11),
            n("maximum", 10),
            &["MAXIMUM_DECREASED #/maximum"],
            false,
        );
        assert_diff(
            n("minimum", 10),
            json!({"type": "number"}),
            &["MINIMUM_REMOVED #/minimum"],
            true,
        );
        assert_diff(
            n("minimum", 10),
            n("minimum", 11),
            &["MINIMUM_INCREASED #/minimum"],
            false,
        );
        assert_diff(
            n("minimum", 11),
            n("minimum", 10),
            &["MINIMUM_DECREASED #/minimum"],
            true,
        );
        assert_diff(
            n("multipleOf", 10),
            json!({"type": "number"}),
            &["MULTIPLE_OF_REMOVED #/multipleOf"],
            true,
        );
        assert_diff(
            n("multipleOf", 10),
            n("multipleOf", 2),
            &["MULTIPLE_OF_REDUCED #/multipleOf"],
            true,
        );
        assert_diff(
            n("multipleOf", 10),
            n("multipleOf", 11),
            &["MULTIPLE_OF_CHANGED #/multipleOf"],
            false,
        );
        assert_diff(
            json!({"type": "number"}),
            json!({"type": "integer"}),
            &["TYPE_NARROWED #/"],
            false,
        );
        assert_diff(
            json!({"type": "integer"}),
            json!({"type": "number"}),
            &["TYPE_EXTENDED #/"],
            true,
        );
    }

    #[test]
    fn enums_consts_and_not() {
        assert_diff(
            json!({"not": {"type": "number"}}),
            json!({"not": {"type": "integer"}}),
            &["NOT_TYPE_NARROWED #/not"],
            true,
        );
        assert_diff(
            json!({"not": {"type": "integer"}}),
            json!({"not": {"type": "number"}}),
            &["NOT_TYPE_EXTENDED #/not"],
            false,
        );
        assert_diff(
            json!({"type": "string", "enum": ["red"]}),
            json!({"type": "string"}),
            &["PRODUCT_TYPE_NARROWED #/"],
            true,
        );
        assert_diff(
            json!({"properties": {"foo": {"const": "red"}}}),
            json!({"properties": {"foo": {"const": "blue"}}}),
            &["ENUM_ARRAY_CHANGED #/properties/foo/const"],
            false,
        );
        assert_diff(
            json!({"allOf": [{"type": "string"}, {"enum": ["red"]}]}),
            json!({"allOf": [{"type": "string"}, {"enum": ["blue"]}]}),
            &["COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"],
            false,
        );
        assert_diff(
            json!({"allOf": [{"type": "string"}, {"enum": ["red"]}]}),
            json!({"allOf": [{"enum": ["red", "blue"]}, {"type": "string"}]}),
            &["ENUM_ARRAY_EXTENDED #/allOf/1/enum"],
            true,
        );
        assert_diff(
            json!({"enum": ["red", "blue"]}),
            json!({"enum": ["red"]}),
            &["ENUM_ARRAY_NARROWED #/enum"],
            false,
        );
    }

    #[test]
    fn combined_types() {
        assert_diff(
            json!({"type": ["object"]}),
            json!({"type": ["object", "array"]}),
            &["SUM_TYPE_EXTENDED #/"],
            true,
        );
        assert_diff(
            json!({"oneOf": [{"type": "string"}]}),
            json!({"oneOf": [{"type": "number"}]}),
            &["COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"],
            false,
        );
        assert_diff(
            json!({"oneOf": [{"type": "string"}]}),
            json!({"oneOf": [{"type": "number"}, {"type": "string"}]}),
            &["SUM_TYPE_EXTENDED #/"],
            true,
        );
        assert_diff(
            json!({"oneOf": [{"type": "string"}]}),
            json!({"allOf": [{"type": "string"}]}),
            &["COMBINED_TYPE_EXTENDED #/"],
            true,
        );
        assert_diff(
            json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
            json!({"allOf": [{"type": "string"}]}),
            &["COMBINED_TYPE_CHANGED #/"],
            false,
        );
        assert_diff(
            json!({"oneOf": [{"properties": {"foo": {"type": "string"}}}]}),
            json!({"oneOf": [{"properties": {"foo": {"type": "number"}}}]}),
            &["COMBINED_TYPE_SUBSCHEMAS_CHANGED #/"],
            false,
        );
        assert_diff(
            json!({"type": "string"}),
            json!({"oneOf": [{"type": "number"}, {"type": "string"}]}),
            &["SUM_TYPE_EXTENDED #/"],
            true,
        );
        assert_diff(
            json!({"type": "null"}),
            json!({"oneOf": [{"type": "number"}, {"type": "null"}]}),
            &["SUM_TYPE_EXTENDED #/"],
            true,
        );
        assert_diff(
            json!({"type": "string", "maxLength": 3}),
            json!({"oneOf": [{"type": "number"}, {"type": "string"}]}),
            &["MAX_LENGTH_REMOVED #/maxLength", "SUM_TYPE_EXTENDED #/"],
            true,
        );
    }

    #[test]
    fn open_closed_and_partially_open_objects() {
        assert_diff(
            json!({"properties": {"foo": {"type": "string"}}}),
            json!({"properties": {"bar": {"type": "string"}}}),
            &[
                "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/bar",
                "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL #/properties/foo",
            ],
            false,
        );
        assert_diff(
            json!({"properties": {"foo": {"type": "string"}}}),
            json!({"properties": {"foo": {"type": "number"}}}),
            &["TYPE_CHANGED #/properties/foo"],
            false,
        );
        let closed = |props: Value| json!({"properties": props, "additionalProperties": false});
        assert_diff(
            closed(json!({"foo": {"type": "string"}})),
            closed(json!({"foo": {"type": "string"}, "bar": {"type": "number"}})),
            &["OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar"],
            true,
        );
        assert_diff(
            json!({"properties": {"foo": {"type": "string"}}, "additionalProperties": false,
                   "patternProperties": {"^S_": {"type": "string"}, "^I_": {"type": "integer"}}}),
            json!({"properties": {"foo": {"type": "string"}, "I_123": {"type": "number"}}, "additionalProperties": false,
                   "patternProperties": {"^S_": {"type": "string"}, "^I_": {"type": "integer"}}}),
            &[
                "TYPE_EXTENDED #/properties/I_123",
                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/I_123",
                "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/I_123",
            ],
            true,
        );
        let partial =
            |props: Value| json!({"properties": props, "additionalProperties": {"type": "string"}});
        assert_diff(
            partial(json!({"foo": {"type": "string"}})),
            partial(json!({"foo": {"type": "string"}, "bar": {"type": "number"}})),
            &[
                "TYPE_CHANGED #/properties/bar",
                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
                "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar",
            ],
            false,
        );
        let mut required = partial(json!({"foo": {"type": "string"}, "bar": {"type": "string"}}));
        required["required"] = json!(["bar"]);
        assert_diff(
            partial(json!({"foo": {"type": "string"}})),
            required,
            &[
                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
                "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/bar",
            ],
            false,
        );
        assert_diff(
            closed(json!({"foo": {"type": "string"}, "bar": {"type": "number"}})),
            partial(json!({"foo": {"type": "string"}})),
            &[
                "TYPE_CHANGED #/properties/bar",
                "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
                "ADDITIONAL_PROPERTIES_ADDED #/additionalProperties",
            ],
            false,
        );
        assert_diff(
            closed(json!({"foo": {"type": "string"}, "bar": {"type": "string"}})),
            json!({"properties": {"foo": {"type": "string"}},
                   "additionalProperties": {"oneOf": [{"type": "null"}, {"type": "string"}]}}),
            &[
                "SUM_TYPE_EXTENDED #/properties/bar",
                "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/properties/bar",
                "ADDITIONAL_PROPERTIES_ADDED #/additionalProperties",
            ],
            true,
        );
        assert_diff(
            json!({"properties": {"foo": {"type": "string"}}}),
            json!({"properties": {"foo": {"type": "string"}, "bar": {"type": "number"}}}),
            &["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/bar"],
            false,
        );
        assert_diff(
            closed(json!({"foo": {"type": "string"}, "bar": {"type": "string"}})),
            closed(json!({"foo": {"type": "string"}})),
            &["PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/bar"],
            false,
        );
        assert_diff(
            json!({"additionalProperties": false, "properties": {"foo": false}}),
            json!({"additionalProperties": false}),
            &["PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL #/properties/foo"],
            true,
        );
        assert_diff(
            json!({"additionalProperties": true}),
            json!({"additionalProperties": true, "properties": {"foo": true}}),
            &["PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL #/properties/foo"],
            true,
        );
    }

    #[test]
    fn additional_properties_required_and_dependencies() {
        assert_diff(
            json!({"properties": {}, "additionalProperties": false}),
            json!({"properties": {}}),
            &["ADDITIONAL_PROPERTIES_ADDED #/additionalProperties"],
            true,
        );
        assert_diff(
            json!({"additionalProperties": true}),
            json!({"additionalProperties": false}),
            &["ADDITIONAL_PROPERTIES_REMOVED #/additionalProperties"],
            false,
        );
        assert_diff(
            json!({"additionalProperties": true}),
            json!({"additionalProperties": {"type": "number"}}),
            &["ADDITIONAL_PROPERTIES_NARROWED #/additionalProperties"],
            false,
        );
        assert_diff(
            json!({"additionalProperties": {"type": "string"}}),
            json!({"additionalProperties": {"type": "number"}}),
            &["TYPE_CHANGED #/additionalProperties"],
            false,
        );
        let foo = json!({"properties": {"foo": {"type": "string"}}});
        let mut foo_required = foo.clone();
        foo_required["required"] = json!(["foo"]);
        assert_diff(
            foo_required.clone(),
            foo.clone(),
            &["REQUIRED_ATTRIBUTE_REMOVED #/required/foo"],
            true,
        );
        assert_diff(
            foo.clone(),
            foo_required,
            &["REQUIRED_ATTRIBUTE_ADDED #/required/foo"],
            false,
        );
        let mut with_default =
            json!({"properties": {"foo": {"type": "string", "default": "x"}}, "required": ["foo"]});
        assert_diff(
            json!({"properties": {"foo": {"type": "string", "default": "x"}}}),
            with_default.clone(),
            &["REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED #/required/foo"],
            true,
        );
        with_default["additionalProperties"] = json!(false);
        assert_diff(
            json!({"additionalProperties": false}),
            with_default,
            &["REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL #/properties/foo"],
            true,
        );
        assert_diff(
            json!({"properties": {"foo": {"type": "number"}, "bar": {"type": "string"}}, "dependencies": {"foo": ["bar"]}}),
            json!({"properties": {"foo": {"type": "number"}, "bar": {"type": "string"}}, "dependencies": {"bar": ["foo"]}}),
            &[
                "DEPENDENCY_ARRAY_ADDED #/dependencies/bar",
                "DEPENDENCY_ARRAY_REMOVED #/dependencies/foo",
            ],
            false,
        );
        assert_diff(
            json!({"dependencies": {"foo": {"type": "string"}, "bar": {"type": "string"}}}),
            json!({"dependencies": {"foo": {"type": "string"}}}),
            &["DEPENDENCY_SCHEMA_REMOVED #/dependencies/bar"],
            true,
        );
        assert_diff(
            json!({"dependencies": {"foo": {"type": "string"}}}),
            json!({"dependencies": {"foo": {"type": "number"}}}),
            &["TYPE_CHANGED #/dependencies/foo"],
            false,
        );
        assert_diff(
            json!({"maxProperties": 2}),
            json!({"maxProperties": 1}),
            &["MAX_PROPERTIES_DECREASED #/maxProperties"],
            false,
        );
        assert_diff(
            json!({"minProperties": 2}),
            json!({"minProperties": 1}),
            &["MIN_PROPERTIES_DECREASED #/minProperties"],
            true,
        );
    }

    #[test]
    fn arrays_items_and_tuples() {
        assert_diff(
            json!({"type": "array"}),
            json!({"type": "array", "items": {"type": "string"}}),
            &["SCHEMA_ADDED #/items"],
            false,
        );
        assert_diff(
            json!({"type": "array", "items": {"type": "string"}}),
            json!({"type": "array"}),
            &["SCHEMA_REMOVED #/items"],
            true,
        );
        assert_diff(
            json!({"type": "array", "items": {"type": "integer"}}),
            json!({"type": "array", "items": {"type": "number"}}),
            &["TYPE_EXTENDED #/items"],
            true,
        );
        assert_diff(
            json!({"type": "array", "items": [{"type": "string"}, {"type": "number"}]}),
            json!({"type": "array"}),
            &[
                "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL #/items/0",
                "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL #/items/1",
            ],
            true,
        );
        let tuple = |items: Value, additional: Value| json!({"type": "array", "items": items, "additionalItems": additional});
        assert_diff(
            tuple(
                json!([{"type": "string"}, {"type": "number"}]),
                json!({"type": "string"}),
            ),
            tuple(
                json!([{"type": "string"}, {"type": "number"}, {"type": "number"}]),
                json!({"type": "string"}),
            ),
            &[
                "TYPE_CHANGED #/items/2",
                "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/2",
            ],
            false,
        );
        assert_diff(
            tuple(json!([{"type": "string"}]), json!(false)),
            tuple(
                json!([{"type": "string"}, {"type": "number"}]),
                json!(false),
            ),
            &["ITEM_ADDED_TO_CLOSED_CONTENT_MODEL #/items/1"],
            true,
        );
        assert_diff(
            tuple(json!([{"type": "string"}, {"type": "number"}]), json!(true)),
            tuple(
                json!([{"type": "string"}, {"type": "number"}, {"type": "boolean"}]),
                json!(true),
            ),
            &["ITEM_ADDED_TO_OPEN_CONTENT_MODEL #/items/2"],
            false,
        );
        assert_diff(
            tuple(json!([{"type": "string"}]), json!({"type": "number"})),
            tuple(json!([{"type": "string"}, {"type": "number"}]), json!(true)),
            &[
                "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL #/items/1",
                "ADDITIONAL_ITEMS_EXTENDED #/additionalItems",
            ],
            true,
        );
        assert_diff(
            json!({"additionalItems": true}),
            json!({"additionalItems": false}),
            &["ADDITIONAL_ITEMS_REMOVED #/additionalItems"],
            false,
        );
        assert_diff(
            json!({"type": "array", "maxItems": 2}),
            json!({"type": "array", "maxItems": 1}),
            &["MAX_ITEMS_DECREASED #/maxItems"],
            false,
        );
        assert_diff(
            json!({"type": "array", "minItems": 1}),
            json!({"type": "array", "minItems": 2}),
            &["MIN_ITEMS_INCREASED #/minItems"],
            false,
        );
        assert_diff(
            json!({"type": "array", "uniqueItems": true}),
            json!({"type": "array"}),
            &["UNIQUE_ITEMS_REMOVED #/uniqueItems"],
            true,
        );
    }

    #[test]
    fn references_resolve_and_recursion_ends() {
        let with_ref = |t: &str| json!({"type": "array", "items": {"$ref": "#/definitions/someRef"}, "definitions": {"someRef": {"type": t}}});
        assert_diff(
            with_ref("string"),
            with_ref("number"),
            &["TYPE_CHANGED #/items"],
            false,
        );
        let moved = json!({"$ref": "#/definitions/someRef", "definitions": {"someRef": {"type": "string"}}});
        assert_diff(json!({"type": "string"}), moved.clone(), &[], true);
        assert_diff(moved, json!({"type": "string"}), &[], true);
        // A tree: a node with children that are nodes.
        let tree = |t: &str| {
            json!({"type": "object", "properties": {
                "value": {"type": t},
                "children": {"type": "array", "items": {"$ref": "#"}}
            }})
        };
        assert_diff(tree("integer"), tree("integer"), &[], true);
        let (changes, ok) = diff(tree("integer"), tree("string"));
        assert!(
            !ok && changes.contains(&"TYPE_CHANGED #/properties/value".to_string()),
            "{changes:?}"
        );
        // A reference cycle is not a schema, and does not hang.
        let cycle = json!({"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}});
        let _ = differences(&cycle, &cycle);
    }

    #[test]
    fn messages_name_the_reader_and_the_writer() {
        let old = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let new = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}});
        let found = check(&new, &old);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].render(NEW_READS_OLD),
            "{errorType:\"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL\", description:\"The new schema has an open content model and has a property or item at path '#/properties/b' which is missing in the old schema\"}"
        );
        // Forward: the old schema reads the new one's data, which it does.
        assert!(check(&old, &new).is_empty());
        let narrowed = check(&json!({"type": "integer"}), &json!({"type": "number"}));
        assert_eq!(
            narrowed[0].render(OLD_READS_NEW),
            "{errorType:\"TYPE_NARROWED\", description:\"A type at path '#/' is different between the old schema and the new schema\"}"
        );
    }

    #[test]
    fn levels_compare_in_the_right_direction() {
        // Closed content model: adding an optional property is backward
        // compatible (the new reader reads old data) but not forward
        // (old closed readers refuse the new property).
        let old = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
        let new = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "additionalProperties": false});
        assert!(check(&new, &old).is_empty(), "backward");
        let forward = check(&old, &new);
        assert_eq!(forward.len(), 1);
        assert_eq!(
            forward[0].kind,
            "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
        );
        // Widening a field's type: backward yes, forward no.
        let old = json!({"properties": {"n": {"type": "integer"}}});
        let new = json!({"properties": {"n": {"type": "number"}}});
        assert!(check(&new, &old).is_empty());
        assert_eq!(check(&old, &new)[0].kind, "TYPE_NARROWED");
    }
}
