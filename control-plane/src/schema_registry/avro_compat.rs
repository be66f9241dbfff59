//! Avro schema compatibility: can a reader schema read data written with a
//! writer schema? The rules of the Avro specification's "Schema Resolution"
//! (as Avro's and Confluent's `SchemaCompatibility` apply them):
//!
//! * same primitive types match; a writer's `int` is read as `long`,
//!   `float` or `double`, `long` as `float` or `double`, `float` as
//!   `double`, and `string` and `bytes` as each other;
//! * logical types resolve by their underlying type;
//! * records match by name (or a reader alias); every reader field must be
//!   in the writer (by name or reader alias) with a readable type, or have a
//!   default; writer fields the reader lacks are skipped;
//! * enums match by name, and every writer symbol must be a reader symbol
//!   unless the reader has a default;
//! * fixed match by name and size; arrays by items; maps by values;
//! * a writer union is readable when each of its branches is; a reader
//!   union reads a writer type that one of its branches reads.
//!
//! BACKWARD checks that the new schema reads the old one, FORWARD the
//! reverse, FULL both.

use std::collections::{HashMap, HashSet};

use apache_avro::Schema;

/// One reason a reader cannot read a writer, in Confluent's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// `READER_FIELD_MISSING_DEFAULT_VALUE`, `TYPE_MISMATCH`, `NAME_MISMATCH`,
    /// `FIXED_SIZE_MISMATCH`, `MISSING_ENUM_SYMBOLS`, `MISSING_UNION_BRANCH`.
    pub kind: &'static str,
    /// Where in the reader schema (`/fields/2/type`).
    pub path: String,
    pub description: String,
    pub additional_info: String,
}

impl Incompatibility {
    /// As Confluent prints it in a 409's message and in `messages`.
    pub fn render(&self) -> String {
        format!(
            "{{errorType:'{}', description:'{}', additionalInfo:'{}'}}",
            self.kind, self.description, self.additional_info
        )
    }
}

/// How the two sides are named in messages: BACKWARD reads the old schema
/// with the new one, FORWARD the new one with the old.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    pub reader: &'static str,
    pub writer: &'static str,
}

pub const NEW_READS_OLD: Labels = Labels {
    reader: "new",
    writer: "old",
};
pub const OLD_READS_NEW: Labels = Labels {
    reader: "old",
    writer: "new",
};

/// Every reason `reader` cannot read data written with `writer`; empty
/// when it can.
pub fn check(reader: &Schema, writer: &Schema, labels: Labels) -> Vec<Incompatibility> {
    let mut c = Checker {
        reader_names: names(reader),
        writer_names: names(writer),
        labels,
        seen: HashSet::new(),
        out: Vec::new(),
    };
    c.check(reader, writer, "");
    c.out
}

/// Named types (records, enums, fixed) by full name, to resolve references.
fn names(schema: &Schema) -> HashMap<String, &Schema> {
    fn walk<'a>(s: &'a Schema, out: &mut HashMap<String, &'a Schema>) {
        match s {
            Schema::Record(r) if out.insert(r.name.fullname(None), s).is_none() => {
                for f in &r.fields {
                    walk(&f.schema, out);
                }
            }
            Schema::Enum(e) => {
                out.insert(e.name.fullname(None), s);
            }
            Schema::Fixed(f) => {
                out.insert(f.name.fullname(None), s);
            }
            Schema::Array(a) => walk(&a.items, out),
            Schema::Map(m) => walk(&m.types, out),
            Schema::Union(u) => {
                for v in u.variants() {
                    walk(v, out);
                }
            }
            Schema::Decimal(d) => walk(&d.inner, out),
            _ => {}
        }
    }
    let mut out = HashMap::new();
    walk(schema, &mut out);
    out
}

/// The physical type a logical type is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Physical {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Other,
}

fn physical(s: &Schema) -> Physical {
    match s {
        Schema::Null => Physical::Null,
        Schema::Boolean => Physical::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Physical::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Physical::Long,
        Schema::Float => Physical::Float,
        Schema::Double => Physical::Double,
        Schema::Bytes | Schema::BigDecimal => Physical::Bytes,
        Schema::String | Schema::Uuid => Physical::String,
        Schema::Decimal(d) => physical(&d.inner),
        _ => Physical::Other,
    }
}

fn type_name(s: &Schema) -> String {
    match s {
        Schema::Record(r) => format!("record {}", r.name.fullname(None)),
        Schema::Enum(e) => format!("enum {}", e.name.fullname(None)),
        Schema::Fixed(f) => format!("fixed {}", f.name.fullname(None)),
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Union(_) => "union".into(),
        Schema::Ref { name } => name.fullname(None),
        other => match physical(other) {
            Physical::Null => "null",
            Physical::Boolean => "boolean",
            Physical::Int => "int",
            Physical::Long => "long",
            Physical::Float => "float",
            Physical::Double => "double",
            Physical::Bytes => "bytes",
            Physical::String => "string",
            Physical::Other => "unknown",
        }
        .into(),
    }
}

/// Whether a writer's primitive is read by a reader's (equal or promoted).
fn promotes(writer: Physical, reader: Physical) -> bool {
    use Physical::*;
    writer == reader
        || matches!(
            (writer, reader),
            (Int, Long | Float | Double)
                | (Long, Float | Double)
                | (Float, Double)
                | (String, Bytes)
                | (Bytes, String)
        )
}

struct Checker<'a> {
    reader_names: HashMap<String, &'a Schema>,
    writer_names: HashMap<String, &'a Schema>,
    labels: Labels,
    /// Record pairs being checked (recursive types end here).
    seen: HashSet<(String, String)>,
    out: Vec<Incompatibility>,
}

impl<'a> Checker<'a> {
    fn resolve(&self, s: &'a Schema, reader: bool) -> &'a Schema {
        match s {
            Schema::Ref { name } => {
                let names = if reader {
                    &self.reader_names
                } else {
                    &self.writer_names
                };
                names.get(&name.fullname(None)).copied().unwrap_or(s)
            }
            _ => s,
        }
    }

    fn push(&mut self, kind: &'static str, path: &str, description: String, info: String) {
        self.out.push(Incompatibility {
            kind,
            path: if path.is_empty() {
                "/".into()
            } else {
                path.into()
            },
            description,
            additional_info: info,
        });
    }

    fn mismatch(&mut self, reader: &Schema, writer: &Schema, path: &str) {
        let p = if path.is_empty() { "/" } else { path };
        let d = format!(
            "The type (path '{p}') of a field in the {} schema does not match with the {} schema",
            self.labels.reader, self.labels.writer
        );
        let info = format!(
            "reader type: {} not compatible with writer type: {}",
            type_name(reader),
            type_name(writer)
        );
        self.push("TYPE_MISMATCH", path, d, info);
    }

    /// Whether `reader` reads `writer`, without recording why not (for
    /// picking a union branch).
    fn reads(&self, reader: &'a Schema, writer: &'a Schema) -> bool {
        let mut probe = Checker {
            reader_names: self.reader_names.clone(),
            writer_names: self.writer_names.clone(),
            labels: self.labels,
            seen: self.seen.clone(),
            out: Vec::new(),
        };
        probe.check(reader, writer, "");
        probe.out.is_empty()
    }

    fn check(&mut self, reader: &'a Schema, writer: &'a Schema, path: &str) {
        let reader = self.resolve(reader, true);
        let writer = self.resolve(writer, false);
        if let Schema::Union(wu) = writer {
            for branch in wu.variants() {
                self.check(reader, branch, path);
            }
            return;
        }
        if let Schema::Union(ru) = reader {
            if ru.variants().iter().any(|b| self.reads(b, writer)) {
                return;
            }
            let p = if path.is_empty() { "/" } else { path };
            let d = format!(
                "The {} schema is missing a type inside a union field at path '{p}' in the {} schema",
                self.labels.reader, self.labels.writer
            );
            self.push(
                "MISSING_UNION_BRANCH",
                path,
                d,
                format!("reader union lacking writer type: {}", type_name(writer)),
            );
            return;
        }
        match (reader, writer) {
            (Schema::Record(r), Schema::Record(w)) => {
                let named = r.name.name == w.name.name
                    || r.aliases
                        .as_ref()
                        .is_some_and(|a| a.iter().any(|a| a.name() == w.name.name));
                if !named {
                    self.name_mismatch(&r.name.fullname(None), &w.name.fullname(None), path);
                    return;
                }
                let key = (r.name.fullname(None), w.name.fullname(None));
                if !self.seen.insert(key) {
                    return;
                }
                for (i, field) in r.fields.iter().enumerate() {
                    let found = w.fields.iter().find(|wf| {
                        wf.name == field.name
                            || field.aliases.as_ref().is_some_and(|a| a.contains(&wf.name))
                    });
                    let fpath = format!("{path}/fields/{i}");
                    match found {
                        Some(wf) => self.check(&field.schema, &wf.schema, &format!("{fpath}/type")),
                        None if field.default.is_some() => {}
                        None => {
                            let d = format!(
                                "The field '{}' at path '{fpath}' in the {} schema has no default value and is missing in the {} schema",
                                field.name, self.labels.reader, self.labels.writer
                            );
                            self.push(
                                "READER_FIELD_MISSING_DEFAULT_VALUE",
                                &fpath,
                                d,
                                field.name.clone(),
                            );
                        }
                    }
                }
            }
            (Schema::Enum(r), Schema::Enum(w)) => {
                if r.name.name != w.name.name
                    && !r
                        .aliases
                        .as_ref()
                        .is_some_and(|a| a.iter().any(|a| a.name() == w.name.name))
                {
                    self.name_mismatch(&r.name.fullname(None), &w.name.fullname(None), path);
                    return;
                }
                let missing: Vec<&String> = w
                    .symbols
                    .iter()
                    .filter(|s| !r.symbols.contains(s))
                    .collect();
                if !missing.is_empty() && r.default.is_none() {
                    let p = if path.is_empty() { "/" } else { path };
                    let d = format!(
                        "The {} schema is missing enum symbols '{}' at path '{p}' in the {} schema",
                        self.labels.reader,
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        self.labels.writer
                    );
                    let info = format!(
                        "[{}]",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    self.push("MISSING_ENUM_SYMBOLS", &format!("{path}/symbols"), d, info);
                }
            }
            (Schema::Fixed(r), Schema::Fixed(w)) => {
                if r.name.name != w.name.name
                    && !r
                        .aliases
                        .as_ref()
                        .is_some_and(|a| a.iter().any(|a| a.name() == w.name.name))
                {
                    self.name_mismatch(&r.name.fullname(None), &w.name.fullname(None), path);
                } else if r.size != w.size {
                    let p = if path.is_empty() { "/" } else { path };
                    let d = format!(
                        "The size of FIXED type field at path '{p}' in the {} schema does not match with the {} schema",
                        self.labels.reader, self.labels.writer
                    );
                    self.push(
                        "FIXED_SIZE_MISMATCH",
                        &format!("{path}/size"),
                        d,
                        format!("expected: {}, found: {}", w.size, r.size),
                    );
                }
            }
            (Schema::Array(r), Schema::Array(w)) => {
                self.check(&r.items, &w.items, &format!("{path}/items"))
            }
            (Schema::Map(r), Schema::Map(w)) => {
                self.check(&r.types, &w.types, &format!("{path}/values"))
            }
            _ => {
                let (pr, pw) = (physical(reader), physical(writer));
                if pr == Physical::Other || pw == Physical::Other || !promotes(pw, pr) {
                    self.mismatch(reader, writer, path);
                }
            }
        }
    }

    fn name_mismatch(&mut self, reader: &str, writer: &str, path: &str) {
        let p = if path.is_empty() { "/" } else { path };
        let d = format!(
            "The type name at path '{p}' in the {} schema does not match the {} schema",
            self.labels.reader, self.labels.writer
        );
        self.push(
            "NAME_MISMATCH",
            &format!("{path}/name"),
            d,
            format!("expected: {writer}, found: {reader}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(json: &str) -> Schema {
        Schema::parse_str(json).unwrap()
    }

    fn kinds(reader: &str, writer: &str) -> Vec<&'static str> {
        check(&s(reader), &s(writer), NEW_READS_OLD)
            .into_iter()
            .map(|i| i.kind)
            .collect()
    }

    const V1: &str = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[
        {"name":"orderid","type":"int"},{"name":"itemid","type":"string"}]}"#;

    #[test]
    fn added_field_with_default_is_backward_compatible() {
        let v2 = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[
            {"name":"orderid","type":"int"},{"name":"itemid","type":"string"},
            {"name":"units","type":"double","default":1.0}]}"#;
        assert!(kinds(v2, V1).is_empty(), "new reads old");
        // And forward: the old reader skips the new field.
        assert!(kinds(V1, v2).is_empty(), "old reads new");
    }

    #[test]
    fn added_field_without_default_is_not_backward_compatible() {
        let v2 = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[
            {"name":"orderid","type":"int"},{"name":"itemid","type":"string"},
            {"name":"units","type":"double"}]}"#;
        let issues = check(&s(v2), &s(V1), NEW_READS_OLD);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].kind, "READER_FIELD_MISSING_DEFAULT_VALUE");
        assert_eq!(issues[0].path, "/fields/2");
        assert_eq!(
            issues[0].description,
            "The field 'units' at path '/fields/2' in the new schema has no default value and is missing in the old schema"
        );
        assert!(kinds(V1, v2).is_empty(), "but forward compatible");
    }

    #[test]
    fn removed_field_is_forward_compatible_only_without_default() {
        let v2 = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[
            {"name":"orderid","type":"int"}]}"#;
        // BACKWARD (new reads old): fine, the old field is skipped.
        assert!(kinds(v2, V1).is_empty());
        // FORWARD (old reads new): the old reader misses itemid, no default.
        assert_eq!(
            check(&s(V1), &s(v2), OLD_READS_NEW)[0].kind,
            "READER_FIELD_MISSING_DEFAULT_VALUE"
        );
    }

    #[test]
    fn numeric_promotions_and_string_bytes() {
        for (w, r) in [
            ("int", "long"),
            ("int", "float"),
            ("int", "double"),
            ("long", "float"),
            ("long", "double"),
            ("float", "double"),
            ("string", "bytes"),
            ("bytes", "string"),
        ] {
            assert!(
                kinds(&format!("\"{r}\""), &format!("\"{w}\"")).is_empty(),
                "{w} → {r}"
            );
        }
        for (w, r) in [
            ("long", "int"),
            ("double", "float"),
            ("string", "int"),
            ("boolean", "string"),
        ] {
            assert_eq!(
                kinds(&format!("\"{r}\""), &format!("\"{w}\"")),
                vec!["TYPE_MISMATCH"],
                "{w} → {r}"
            );
        }
    }

    #[test]
    fn field_type_change_is_a_type_mismatch_at_its_path() {
        let v2 = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[
            {"name":"orderid","type":"string"},{"name":"itemid","type":"string"}]}"#;
        let issues = check(&s(v2), &s(V1), NEW_READS_OLD);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].kind, "TYPE_MISMATCH");
        assert_eq!(issues[0].path, "/fields/0/type");
        // int → long promotes.
        let v3 = V1.replace(r#""type":"int""#, r#""type":"long""#);
        assert!(kinds(&v3, V1).is_empty());
        assert_eq!(kinds(V1, &v3), vec!["TYPE_MISMATCH"]);
    }

    #[test]
    fn unions_and_nullable_fields() {
        // A field made nullable: the new union reads the old string.
        let v2 = r#"{"type":"record","name":"orders","namespace":"ksql","fields":[
            {"name":"orderid","type":"int"},{"name":"itemid","type":["null","string"],"default":null}]}"#;
        assert!(kinds(v2, V1).is_empty());
        // The old string reader cannot read the new null branch.
        assert_eq!(kinds(V1, v2), vec!["TYPE_MISMATCH"]);
        assert_eq!(
            kinds(r#"["null","long"]"#, r#""string""#),
            vec!["MISSING_UNION_BRANCH"]
        );
        assert!(kinds(r#"["null","long"]"#, r#"["null","int"]"#).is_empty());
    }

    #[test]
    fn names_enums_fixed_and_nested_records() {
        let other = V1.replace(r#""name":"orders""#, r#""name":"payments""#);
        assert_eq!(kinds(&other, V1), vec!["NAME_MISMATCH"]);
        let aliased = other.replace(
            r#""name":"payments","#,
            r#""name":"payments","aliases":["orders"],"#,
        );
        assert!(kinds(&aliased, V1).is_empty());

        let e1 = r#"{"type":"enum","name":"Side","symbols":["BUY","SELL"]}"#;
        let e2 = r#"{"type":"enum","name":"Side","symbols":["BUY"]}"#;
        let e3 = r#"{"type":"enum","name":"Side","symbols":["BUY"],"default":"BUY"}"#;
        assert_eq!(kinds(e2, e1), vec!["MISSING_ENUM_SYMBOLS"]);
        assert!(kinds(e1, e2).is_empty());
        assert!(kinds(e3, e1).is_empty());

        let f1 = r#"{"type":"fixed","name":"Md5","size":16}"#;
        let f2 = r#"{"type":"fixed","name":"Md5","size":8}"#;
        assert_eq!(kinds(f2, f1), vec!["FIXED_SIZE_MISMATCH"]);

        let nested = |zip: &str| {
            format!(
                r#"{{"type":"record","name":"orders","fields":[{{"name":"address","type":
                {{"type":"record","name":"address","fields":[{{"name":"zipcode","type":"{zip}"}}]}}}},
                {{"name":"tags","type":{{"type":"array","items":"{zip}"}}}},
                {{"name":"more","type":{{"type":"map","values":"{zip}"}}}}]}}"#
            )
        };
        assert!(kinds(&nested("long"), &nested("int")).is_empty());
        let issues = check(&s(&nested("int")), &s(&nested("long")), NEW_READS_OLD);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "/fields/0/type/fields/0/type",
                "/fields/1/type/items",
                "/fields/2/type/values"
            ]
        );
    }

    #[test]
    fn recursive_records_terminate() {
        let list = r#"{"type":"record","name":"Node","fields":[
            {"name":"value","type":"long"},{"name":"next","type":["null","Node"],"default":null}]}"#;
        assert!(kinds(list, list).is_empty());
    }

    #[test]
    fn logical_types_resolve_by_their_physical_type() {
        let ts = r#"{"type":"long","logicalType":"timestamp-millis"}"#;
        assert!(kinds(ts, r#""long""#).is_empty());
        assert!(kinds(r#""long""#, ts).is_empty());
        let date = r#"{"type":"int","logicalType":"date"}"#;
        assert!(kinds(r#""long""#, date).is_empty());
    }
}
