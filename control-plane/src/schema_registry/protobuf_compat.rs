//! Protobuf compatibility, as Confluent's Schema Registry decides it
//! (`io.confluent.kafka.schemaregistry.protobuf.diff.SchemaDiff`): the
//! writer's `.proto` ("original") and the reader's ("update") are diffed
//! message by message and field number by field number, and the reader can
//! read the writer when every difference is in the compatible set.
//!
//! Compatible: adding or removing messages' fields, enums, enum values,
//! oneofs and fields of a oneof being added; renaming fields or enum
//! values; moving messages; changing the package; a scalar changing within
//! its wire-compatible group (`int32`/`int64`/`uint32`/`uint64`/`bool`/enums,
//! `sint32`/`sint64`, `string`/`bytes`, `fixed32`/`sfixed32`,
//! `fixed64`/`sfixed64`); `string`/`bytes` becoming repeated.
//!
//! Incompatible: removing a top-level or nested message
//! (`MESSAGE_REMOVED`), a field number changing kind between scalar,
//! message and map (`FIELD_KIND_CHANGED`), scalar group
//! (`FIELD_SCALAR_KIND_CHANGED`) or message type (`FIELD_NAMED_TYPE_CHANGED`),
//! a number changing label between optional and repeated
//! (`FIELD_NUMERIC_LABEL_CHANGED`), proto2 `required` fields coming or going,
//! a field leaving a oneof (`ONEOF_FIELD_REMOVED`), and several existing
//! fields moving into one oneof (`MULTIPLE_FIELDS_MOVED_TO_ONEOF`,
//! `FIELD_MOVED_TO_EXISTING_ONEOF`).
//!
//! Fields are matched by number, so reusing a number for another type is
//! caught as a change of that field. The schemas are the descriptors the
//! registry compiled on registration; labels are read back as written
//! (`optional` only where the source said so), as Confluent compares the
//! source. Messages are Confluent's (`{errorType:"…", description:"…"}`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost_reflect::{
    Cardinality, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
    OneofDescriptor, Syntax,
};

use super::json_schema_compat::{incompatible, Ctx, Difference, Vocabulary};

/// Why `reader` cannot read data written with `writer`; empty when it can.
pub fn check(reader: &FileDescriptor, writer: &FileDescriptor) -> Vec<Difference> {
    incompatible(differences(writer, reader))
}

/// Every difference from `original` (the writer) to `update` (the reader),
/// compatible ones included.
pub fn differences(original: &FileDescriptor, update: &FileDescriptor) -> Vec<Difference> {
    let mut differ = Differ {
        original: original.clone(),
        update: update.clone(),
        in_progress: HashSet::new(),
    };
    let mut ctx = Ctx::new(&PROTOBUF);
    if original.package_name() != update.package_name() {
        ctx.add("PACKAGE_CHANGED");
    }
    differ.types(
        &mut ctx,
        original.messages().collect(),
        original.enums().collect(),
        update.messages().collect(),
        update.enums().collect(),
    );
    ctx.diffs
}

/// Confluent's `SchemaDiff.COMPATIBLE_CHANGES` for Protobuf.
const COMPATIBLE: &[&str] = &[
    "PACKAGE_CHANGED",
    "MESSAGE_ADDED",
    "MESSAGE_MOVED",
    "ENUM_ADDED",
    "ENUM_REMOVED",
    "ENUM_CONST_ADDED",
    "ENUM_CONST_CHANGED",
    "ENUM_CONST_REMOVED",
    "FIELD_ADDED",
    "FIELD_REMOVED",
    "FIELD_NAME_CHANGED",
    "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
    "ONEOF_ADDED",
    "ONEOF_REMOVED",
    "ONEOF_FIELD_ADDED",
];

/// Confluent's descriptions (`%s`: the reader, then the writer).
fn template(kind: &str) -> &'static str {
    match kind {
        "PACKAGE_CHANGED" => {
            "The package at '{path}' in the %s schema does not match the package in the %s schema"
        }
        "MESSAGE_REMOVED" => "The %s schema is missing a MESSAGE type at path '{path}' in the %s schema",
        "FIELD_KIND_CHANGED" => {
            "The type of a field at path '{path}' in the %s schema does not match the %s schema"
        }
        "FIELD_SCALAR_KIND_CHANGED" => {
            "The kind of a SCALAR field at path '{path}' in the %s schema does not match its kind in the %s schema"
        }
        "FIELD_NAMED_TYPE_CHANGED" => {
            "The type of a MESSAGE field at path '{path}' in the %s schema does not match its type in the %s schema"
        }
        "FIELD_NUMERIC_LABEL_CHANGED" => {
            "The label for a NUMERIC field at path '{path}' in the %s schema does not match its label in the %s schema"
        }
        "REQUIRED_FIELD_ADDED" => {
            "A required field  at path '{path}' in the %s schema is missing in the %s schema"
        }
        "REQUIRED_FIELD_REMOVED" => {
            "The %s schema is missing a required field at path: '{path}' in the %s schema"
        }
        "ONEOF_FIELD_REMOVED" => {
            "The %s schema is missing a oneof field at path '{path}' in the %s schema"
        }
        "MULTIPLE_FIELDS_MOVED_TO_ONEOF" => {
            "Multiple fields in the oneof at path '{path}' in the %s schema are outside a oneof in the %s schema"
        }
        "FIELD_MOVED_TO_EXISTING_ONEOF" => {
            "A field in the oneof at path '{path}' in the %s schema is outside an existing oneof in the %s schema"
        }
        _ => "",
    }
}

static PROTOBUF: Vocabulary = Vocabulary {
    compatible: COMPATIBLE,
    template,
};

/// A field's label as the source wrote it (`None`: no label, as proto3
/// singular fields, oneof members and maps are written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Optional,
    Required,
    Repeated,
}

fn label(f: &FieldDescriptor) -> Option<Label> {
    if f.is_map() || f.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
        return None;
    }
    match f.cardinality() {
        Cardinality::Repeated => Some(Label::Repeated),
        Cardinality::Required => Some(Label::Required),
        Cardinality::Optional => {
            let explicit = f.parent_file().syntax() == Syntax::Proto2
                || f.field_descriptor_proto().proto3_optional();
            explicit.then_some(Label::Optional)
        }
    }
}

/// What a field (or a map's key or value) holds.
enum FieldType {
    Scalar(Kind),
    Enum,
    Message(MessageDescriptor),
    Map(Box<FieldType>, Box<FieldType>),
}

fn kind_type(kind: Kind) -> FieldType {
    match kind {
        Kind::Message(m) => FieldType::Message(m),
        Kind::Enum(_) => FieldType::Enum,
        k => FieldType::Scalar(k),
    }
}

fn field_type(f: &FieldDescriptor) -> FieldType {
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            return FieldType::Map(
                Box::new(kind_type(entry.map_entry_key_field().kind())),
                Box::new(kind_type(entry.map_entry_value_field().kind())),
            );
        }
    }
    kind_type(f.kind())
}

/// Scalars within a group share a wire encoding (Protobuf's "updating a
/// message type" rules); enums are varints like `int32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarKind {
    GeneralNumber,
    SignedNumber,
    StringOrBytes,
    Fixed32,
    Fixed64,
    Float,
    Double,
}

fn scalar_kind(t: &FieldType) -> ScalarKind {
    match t {
        FieldType::Scalar(k) => match k {
            Kind::Sint32 | Kind::Sint64 => ScalarKind::SignedNumber,
            Kind::String | Kind::Bytes => ScalarKind::StringOrBytes,
            Kind::Fixed32 | Kind::Sfixed32 => ScalarKind::Fixed32,
            Kind::Fixed64 | Kind::Sfixed64 => ScalarKind::Fixed64,
            Kind::Float => ScalarKind::Float,
            Kind::Double => ScalarKind::Double,
            _ => ScalarKind::GeneralNumber,
        },
        _ => ScalarKind::GeneralNumber,
    }
}

/// Scalar (enums included), message or map.
fn kind_class(t: &FieldType) -> u8 {
    match t {
        FieldType::Scalar(_) | FieldType::Enum => 0,
        FieldType::Message(_) => 1,
        FieldType::Map(..) => 2,
    }
}

/// A message's name within its package (`TestMessage.Status`): a package
/// change alone does not change a field's type.
fn local_name(m: &MessageDescriptor) -> String {
    let full = m.full_name();
    let package = m.package_name();
    match full.strip_prefix(package).and_then(|r| r.strip_prefix('.')) {
        Some(local) if !package.is_empty() => local.to_string(),
        _ => full.to_string(),
    }
}

/// Fields outside a (real) oneof, by number.
fn plain_fields(m: &MessageDescriptor) -> BTreeMap<u32, FieldDescriptor> {
    m.fields()
        .filter(|f| f.containing_oneof().is_none_or(|o| o.is_synthetic()))
        .map(|f| (f.number(), f))
        .collect()
}

fn oneofs(m: &MessageDescriptor) -> Vec<OneofDescriptor> {
    m.oneofs().filter(|o| !o.is_synthetic()).collect()
}

struct Differ {
    original: FileDescriptor,
    update: FileDescriptor,
    in_progress: HashSet<(String, String)>,
}

impl Differ {
    /// Messages and enums of one scope (a file or a message), by name.
    fn types(
        &mut self,
        ctx: &mut Ctx,
        orig_messages: Vec<MessageDescriptor>,
        orig_enums: Vec<EnumDescriptor>,
        upd_messages: Vec<MessageDescriptor>,
        upd_enums: Vec<EnumDescriptor>,
    ) {
        // Map entries are how maps compile; the source has none.
        let index = |ms: Vec<MessageDescriptor>| -> BTreeMap<String, (usize, MessageDescriptor)> {
            ms.into_iter()
                .filter(|m| !m.is_map_entry())
                .enumerate()
                .map(|(i, m)| (m.name().to_string(), (i, m)))
                .collect()
        };
        let (om, um) = (index(orig_messages), index(upd_messages));
        let names: BTreeSet<&String> = om.keys().chain(um.keys()).collect();
        for name in names {
            ctx.enter(name.as_str());
            match (om.get(name), um.get(name)) {
                (Some(_), None) => ctx.add("MESSAGE_REMOVED"),
                (None, Some(_)) => ctx.add("MESSAGE_ADDED"),
                (Some((oi, o)), Some((ui, u))) => {
                    self.message(ctx, o, u);
                    // Records name their message by index in the schema of
                    // their own id, so moving one is harmless.
                    if oi != ui {
                        ctx.add("MESSAGE_MOVED");
                    }
                }
                (None, None) => {}
            }
            ctx.leave();
        }
        let by_name = |es: Vec<EnumDescriptor>| -> BTreeMap<String, EnumDescriptor> {
            es.into_iter().map(|e| (e.name().to_string(), e)).collect()
        };
        let (oe, ue) = (by_name(orig_enums), by_name(upd_enums));
        let names: BTreeSet<&String> = oe.keys().chain(ue.keys()).collect();
        for name in names {
            ctx.enter(name.as_str());
            match (oe.get(name), ue.get(name)) {
                (Some(_), None) => ctx.add("ENUM_REMOVED"),
                (None, Some(_)) => ctx.add("ENUM_ADDED"),
                (Some(o), Some(u)) => enum_values(ctx, o, u),
                (None, None) => {}
            }
            ctx.leave();
        }
    }

    fn message(&mut self, ctx: &mut Ctx, o: &MessageDescriptor, u: &MessageDescriptor) {
        let key = (o.full_name().to_string(), u.full_name().to_string());
        if !self.in_progress.insert(key.clone()) {
            return;
        }
        let mut orig_fields = plain_fields(o);
        let upd_fields = plain_fields(u);
        let orig_oneof_numbers: HashSet<u32> = oneofs(o)
            .iter()
            .flat_map(|of| of.fields().map(|f| f.number()).collect::<Vec<_>>())
            .collect();

        // Fields moving into a oneof: one may (its data reads as that
        // case), several may not (only one case survives).
        for of in oneofs(u) {
            ctx.enter(of.name());
            let (mut moved, mut existing) = (0, 0);
            for f in of.fields() {
                if orig_fields.remove(&f.number()).is_some() {
                    moved += 1;
                } else if orig_oneof_numbers.contains(&f.number()) {
                    existing += 1;
                }
            }
            if moved > 1 {
                ctx.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF");
            } else if moved == 1 && existing > 0 {
                ctx.add("FIELD_MOVED_TO_EXISTING_ONEOF");
            }
            ctx.leave();
        }

        let by_name = |m: &MessageDescriptor| -> BTreeMap<String, OneofDescriptor> {
            oneofs(m)
                .into_iter()
                .map(|of| (of.name().to_string(), of))
                .collect()
        };
        let (oo, uo) = (by_name(o), by_name(u));
        let names: BTreeSet<&String> = oo.keys().chain(uo.keys()).collect();
        for name in names {
            ctx.enter(name.as_str());
            match (oo.get(name), uo.get(name)) {
                (Some(_), None) => ctx.add("ONEOF_REMOVED"),
                (None, Some(_)) => ctx.add("ONEOF_ADDED"),
                (Some(a), Some(b)) => {
                    let fa: BTreeMap<u32, FieldDescriptor> =
                        a.fields().map(|f| (f.number(), f)).collect();
                    let fb: BTreeMap<u32, FieldDescriptor> =
                        b.fields().map(|f| (f.number(), f)).collect();
                    let numbers: BTreeSet<u32> = fa.keys().chain(fb.keys()).copied().collect();
                    for n in numbers {
                        ctx.enter(n.to_string());
                        match (fa.get(&n), fb.get(&n)) {
                            (Some(_), None) => ctx.add("ONEOF_FIELD_REMOVED"),
                            (None, Some(_)) => ctx.add("ONEOF_FIELD_ADDED"),
                            (Some(x), Some(y)) => self.field(ctx, x, y),
                            (None, None) => {}
                        }
                        ctx.leave();
                    }
                }
                (None, None) => {}
            }
            ctx.leave();
        }

        let numbers: BTreeSet<u32> = orig_fields
            .keys()
            .chain(upd_fields.keys())
            .copied()
            .collect();
        for n in numbers {
            ctx.enter(n.to_string());
            match (orig_fields.get(&n), upd_fields.get(&n)) {
                (Some(f), None) => ctx.add(if label(f) == Some(Label::Required) {
                    "REQUIRED_FIELD_REMOVED"
                } else {
                    "FIELD_REMOVED"
                }),
                (None, Some(f)) => ctx.add(if label(f) == Some(Label::Required) {
                    "REQUIRED_FIELD_ADDED"
                } else {
                    "FIELD_ADDED"
                }),
                (Some(x), Some(y)) => self.field(ctx, x, y),
                (None, None) => {}
            }
            ctx.leave();
        }

        self.types(
            ctx,
            o.child_messages().collect(),
            o.child_enums().collect(),
            u.child_messages().collect(),
            u.child_enums().collect(),
        );
        self.in_progress.remove(&key);
    }

    fn field(&mut self, ctx: &mut Ctx, o: &FieldDescriptor, u: &FieldDescriptor) {
        if o.name() != u.name() {
            ctx.add("FIELD_NAME_CHANGED");
        }
        self.labels_and_types(ctx, label(o), label(u), &field_type(o), &field_type(u));
    }

    fn labels_and_types(
        &mut self,
        ctx: &mut Ctx,
        ol: Option<Label>,
        ul: Option<Label>,
        ot: &FieldType,
        ut: &FieldType,
    ) {
        if kind_class(ot) != kind_class(ut) {
            return ctx.add("FIELD_KIND_CHANGED");
        }
        match (ot, ut) {
            (FieldType::Map(ok, ov), FieldType::Map(uk, uv)) => {
                self.labels_and_types(ctx, None, None, ok, uk);
                self.labels_and_types(ctx, None, None, ov, uv);
            }
            (FieldType::Message(a), FieldType::Message(b)) => self.message_types(ctx, a, b),
            _ => {
                let (ok, uk) = (scalar_kind(ot), scalar_kind(ut));
                if ok != uk {
                    return ctx.add("FIELD_SCALAR_KIND_CHANGED");
                }
                if let (Some(a), Some(b)) = (ol, ul) {
                    if a != b {
                        match ok {
                            ScalarKind::StringOrBytes => {
                                ctx.add("FIELD_STRING_OR_BYTES_LABEL_CHANGED")
                            }
                            _ => ctx.add("FIELD_NUMERIC_LABEL_CHANGED"),
                        }
                    }
                }
            }
        }
    }

    fn message_types(&mut self, ctx: &mut Ctx, o: &MessageDescriptor, u: &MessageDescriptor) {
        let (ol, ul) = (local_name(o), local_name(u));
        if ol != ul {
            return ctx.add("FIELD_NAMED_TYPE_CHANGED");
        }
        // Types of the schemas themselves are compared as messages of their
        // files; types from imports (well-known types) are compared here.
        if o.parent_file() == self.original && u.parent_file() == self.update {
            return;
        }
        let mut sub = ctx.sub();
        sub.path = ol.split('.').map(str::to_string).collect();
        self.message(&mut sub, o, u);
        let compatible = sub.is_compatible();
        ctx.diffs.extend(sub.diffs);
        if !compatible {
            ctx.add("FIELD_NAMED_TYPE_CHANGED");
        }
    }
}

fn enum_values(ctx: &mut Ctx, o: &EnumDescriptor, u: &EnumDescriptor) {
    let by_number = |e: &EnumDescriptor| -> BTreeMap<i32, String> {
        e.values()
            .map(|v| (v.number(), v.name().to_string()))
            .collect()
    };
    let (ov, uv) = (by_number(o), by_number(u));
    let numbers: BTreeSet<i32> = ov.keys().chain(uv.keys()).copied().collect();
    for n in numbers {
        ctx.enter(n.to_string());
        match (ov.get(&n), uv.get(&n)) {
            (Some(_), None) => ctx.add("ENUM_CONST_REMOVED"),
            (None, Some(_)) => ctx.add("ENUM_CONST_ADDED"),
            (Some(a), Some(b)) if a != b => ctx.add("ENUM_CONST_CHANGED"),
            _ => {}
        }
        ctx.leave();
    }
}

/// The schema's own file in a compiled pool (its imports come first).
pub fn main_file(pool: &prost_reflect::DescriptorPool) -> Option<FileDescriptor> {
    pool.files().last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_registry::avro_compat::{NEW_READS_OLD, OLD_READS_NEW};

    fn file(text: &str) -> FileDescriptor {
        let pool = tributary_data_plane::converters::protobuf::compile(text).expect(text);
        main_file(&pool).expect("a file")
    }

    fn assert_diff(original: &str, update: &str, changes: &[&str], compatible: bool) {
        let d = differences(&file(original), &file(update));
        let mut got: Vec<String> = d.iter().map(|d| format!("{} {}", d.kind, d.path)).collect();
        got.sort();
        let mut want: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{original}\n→\n{update}");
        assert_eq!(
            d.iter().all(|d| d.compatible),
            compatible,
            "{original}\n→\n{update}: {got:?}"
        );
    }

    const P3: &str = "syntax = \"proto3\";\n";

    fn p3(body: &str) -> String {
        format!("{P3}{body}")
    }

    // Upstream's examples (Confluent's diff-schema-examples.json).

    #[test]
    fn package_and_name_qualification() {
        let status = |pkg: &str| {
            format!("{P3}package {pkg};\nmessage TestMessage {{ string test_string = 1; .{pkg}.TestMessage.Status test_int = 2; message Status {{ string test_string = 1; }} }}")
        };
        assert_diff(
            &status("foo"),
            &status("bar"),
            &["PACKAGE_CHANGED #/"],
            true,
        );
        assert_diff(
            &p3("message TestMessage { string test_string = 1; Status test_int = 2; message Status { string test_string = 1; } }"),
            &p3("message TestMessage { string test_string = 1; .TestMessage.Status test_int = 2; message Status { string test_string = 1; } }"),
            &[],
            true,
        );
    }

    #[test]
    fn fields_added_removed_and_renumbered() {
        let one = p3("message TestMessage { string test_string = 1; }");
        let two = p3("message TestMessage { string test_string = 1; string test_string2 = 2; }");
        assert_diff(&one, &two, &["FIELD_ADDED #/TestMessage/2"], true);
        assert_diff(&two, &one, &["FIELD_REMOVED #/TestMessage/2"], true);
        assert_diff(
            &one,
            &p3("message TestMessage { string test_string = 2; }"),
            &[
                "FIELD_REMOVED #/TestMessage/1",
                "FIELD_ADDED #/TestMessage/2",
            ],
            true,
        );
        assert_diff(
            &p3("message Wrapper { int32 wrapperInt = 1; message TestMessage { string test_string = 1; } }"),
            &p3("message Wrapper { int32 wrapperInt = 1; message TestMessage { string test_string = 1; string test_string2 = 2; } }"),
            &["FIELD_ADDED #/Wrapper/TestMessage/2"],
            true,
        );
        let p2 = "syntax = \"proto2\";\n";
        let opt = format!("{p2}message TestMessage {{ optional string test_string = 1; }}");
        let req = format!("{p2}message TestMessage {{ optional string test_string = 1; required string test_string2 = 2; }}");
        assert_diff(&opt, &req, &["REQUIRED_FIELD_ADDED #/TestMessage/2"], false);
        assert_diff(
            &req,
            &opt,
            &["REQUIRED_FIELD_REMOVED #/TestMessage/2"],
            false,
        );
    }

    #[test]
    fn field_types_by_wire_group() {
        let t = |ty: &str| {
            p3(&format!(
                "message TestMessage {{ string test_string = 1; {ty} test_int = 2; }}"
            ))
        };
        assert_diff(&t("int32"), &t("int64"), &[], true);
        assert_diff(&t("string"), &t("bytes"), &[], true);
        assert_diff(
            &t("int32"),
            &t("sint32"),
            &["FIELD_SCALAR_KIND_CHANGED #/TestMessage/2"],
            false,
        );
        assert_diff(
            &p3("message TestMessage { string test_string = 1; int32 test_int = 2; }"),
            &p3("message TestMessage { string test_string = 1; string test_string2 = 2; }"),
            &[
                "FIELD_NAME_CHANGED #/TestMessage/2",
                "FIELD_SCALAR_KIND_CHANGED #/TestMessage/2",
            ],
            false,
        );
        let status = "enum Status { ACTIVE = 0; INACTIVE = 1; }";
        assert_diff(
            &t("int32"),
            &p3(&format!(
                "message TestMessage {{ string test_string = 1; Status test_int = 2; }}\n{status}"
            )),
            &["ENUM_ADDED #/Status"],
            true,
        );
        assert_diff(
            &p3(&format!(
                "message TestMessage {{ string test_string = 1; Status test_int = 2; }}\n{status}"
            )),
            &t("int32"),
            &["ENUM_REMOVED #/Status"],
            true,
        );
        assert_diff(
            &t("int32"),
            &p3(&format!("message TestMessage {{ string test_string = 1; .TestMessage.Status test_int = 2; message Status {{ string test_string = 1; }} }}\n{status}")),
            &["FIELD_KIND_CHANGED #/TestMessage/2", "MESSAGE_ADDED #/TestMessage/Status", "ENUM_ADDED #/Status"],
            false,
        );
        assert_diff(
            &p3(&format!("message TestMessage {{ string test_string = 1; .TestMessage.Status test_int = 2; message Status {{ string test_string = 1; }} }}\n{status}")),
            &t("int32"),
            &["FIELD_KIND_CHANGED #/TestMessage/2", "MESSAGE_REMOVED #/TestMessage/Status", "ENUM_REMOVED #/Status"],
            false,
        );
        assert_diff(
            &t("int32"),
            &p3("message TestMessage { string test_string = 1; TestMessage2 test_int = 2; }\nmessage TestMessage2 { string s1 = 1; }"),
            &["MESSAGE_ADDED #/TestMessage2", "FIELD_KIND_CHANGED #/TestMessage/2"],
            false,
        );
        assert_diff(
            &p3("message TestMessage { string test_string = 1; TestMessage2 test_int = 2; }\nmessage TestMessage2 { string s1 = 1; }"),
            &p3("message TestMessage { string test_string = 1; TestMessage3 test_int = 2; }\nmessage TestMessage3 { string s1 = 1; }"),
            &["MESSAGE_REMOVED #/TestMessage2", "MESSAGE_ADDED #/TestMessage3", "FIELD_NAMED_TYPE_CHANGED #/TestMessage/2"],
            false,
        );
    }

    #[test]
    fn maps_and_labels() {
        assert_diff(
            &p3("message TestMessage { string test_string = 1; map<string, int32> test_map_int = 2; }"),
            &p3("message TestMessage { string test_string = 1; map<string, string> test_map_string = 2; }"),
            &["FIELD_NAME_CHANGED #/TestMessage/2", "FIELD_SCALAR_KIND_CHANGED #/TestMessage/2"],
            false,
        );
        assert_diff(
            &p3("message TestMessage { string test_string = 1; map<string, Status> test_map = 2; message Status { string test_string = 1; } }"),
            &p3("message TestMessage { string test_string = 1; map<string, TestMessage.Status> test_map = 2; message Status { string test_string = 1; } }"),
            &[],
            true,
        );
        let labelled = |l: &str, ty: &str| {
            p3(&format!("message TestMessage {{ {l} {ty} f = 1; Status test_status = 2; message Status {{ string test_string = 1; }} }}"))
        };
        assert_diff(
            &p3("message TestMessage { string test_string = 1; optional Status test_status = 2; message Status { string test_string = 1; } }"),
            &p3("message TestMessage { string test_string = 1; repeated Status test_status = 2; message Status { string test_string = 1; } }"),
            &[],
            true,
        );
        assert_diff(
            &labelled("optional", "string"),
            &labelled("repeated", "string"),
            &["FIELD_STRING_OR_BYTES_LABEL_CHANGED #/TestMessage/1"],
            true,
        );
        assert_diff(
            &labelled("optional", "bytes"),
            &labelled("repeated", "bytes"),
            &["FIELD_STRING_OR_BYTES_LABEL_CHANGED #/TestMessage/1"],
            true,
        );
        assert_diff(
            &labelled("optional", "int32"),
            &labelled("repeated", "int32"),
            &["FIELD_NUMERIC_LABEL_CHANGED #/TestMessage/1"],
            false,
        );
    }

    #[test]
    fn oneofs() {
        let plain = p3("message TestMessage { string test_string = 1; string test_string2 = 2; }");
        assert_diff(
            &plain,
            &p3("message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; int32 other_id = 3; } }"),
            &["ONEOF_ADDED #/TestMessage/new_oneof"],
            true,
        );
        assert_diff(
            &plain,
            &p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }"),
            &["MULTIPLE_FIELDS_MOVED_TO_ONEOF #/TestMessage/new_oneof", "ONEOF_ADDED #/TestMessage/new_oneof"],
            false,
        );
        let two = p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; } }");
        let three = p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; int32 other_id = 3; } }");
        assert_diff(
            &two,
            &three,
            &["ONEOF_FIELD_ADDED #/TestMessage/new_oneof/3"],
            true,
        );
        assert_diff(
            &three,
            &two,
            &["ONEOF_FIELD_REMOVED #/TestMessage/new_oneof/3"],
            false,
        );
        let one_out = p3("message TestMessage { string test_string = 1; oneof new_oneof { string test_string2 = 2; string test_string3 = 3; } }");
        assert_diff(
            &one_out,
            &p3("message TestMessage { oneof new_oneof { string test_string = 1; string test_string2 = 2; string test_string3 = 3; } }"),
            &["FIELD_MOVED_TO_EXISTING_ONEOF #/TestMessage/new_oneof", "ONEOF_FIELD_ADDED #/TestMessage/new_oneof/1"],
            false,
        );
        assert_diff(
            &one_out,
            &p3("message TestMessage { oneof new_oneof_2 { string test_string = 1; string test_string2 = 2; string test_string3 = 3; } }"),
            &[
                "FIELD_MOVED_TO_EXISTING_ONEOF #/TestMessage/new_oneof_2",
                "ONEOF_ADDED #/TestMessage/new_oneof_2",
                "ONEOF_REMOVED #/TestMessage/new_oneof",
            ],
            false,
        );
        // proto3 `optional` is a synthetic oneof in descriptors, not a oneof.
        assert_diff(
            &p3("message M { int32 a = 1; }"),
            &p3("message M { optional int32 a = 1; }"),
            &[],
            true,
        );
    }

    #[test]
    fn messages_enums_and_moves() {
        let one = p3("message TestMessage { string test_string = 1; }");
        assert_diff(
            &one,
            &p3("message TestMessage { string test_string = 1; }\nmessage TestMessage2 { string test_string = 1; }"),
            &["MESSAGE_ADDED #/TestMessage2"],
            true,
        );
        assert_diff(
            &one,
            &p3("message TestMessage2 { string test_string = 1; }\nmessage TestMessage { string test_string = 1; }"),
            &["MESSAGE_ADDED #/TestMessage2", "MESSAGE_MOVED #/TestMessage"],
            true,
        );
        assert_diff(
            &p3("message TestMessage { string test_string = 1; }\nmessage Other { int32 x = 1; }"),
            &one,
            &["MESSAGE_REMOVED #/Other"],
            false,
        );
        let e = |v: &str| {
            p3(&format!(
                "message M {{ Status s = 1; }}\nenum Status {{ ACTIVE = 0; {v} }}"
            ))
        };
        assert_diff(
            &e("INACTIVE = 1;"),
            &e("NOT_ACTIVE = 1;"),
            &["ENUM_CONST_CHANGED #/Status/1"],
            true,
        );
        assert_diff(
            &e(""),
            &e("INACTIVE = 1;"),
            &["ENUM_CONST_ADDED #/Status/1"],
            true,
        );
        assert_diff(
            &e("INACTIVE = 1;"),
            &e(""),
            &["ENUM_CONST_REMOVED #/Status/1"],
            true,
        );
    }

    #[test]
    fn imported_types_compare_by_content() {
        let ts = |ty: &str| {
            format!("{P3}import \"google/protobuf/timestamp.proto\";\nimport \"google/protobuf/duration.proto\";\nmessage M {{ {ty} at = 1; }}")
        };
        assert_diff(
            &ts("google.protobuf.Timestamp"),
            &ts("google.protobuf.Timestamp"),
            &[],
            true,
        );
        assert_diff(
            &ts("google.protobuf.Timestamp"),
            &ts("google.protobuf.Duration"),
            &["FIELD_NAMED_TYPE_CHANGED #/M/1"],
            false,
        );
    }

    #[test]
    fn messages_and_directions() {
        let old = file(&p3("message M { int32 a = 1; }"));
        let new = file(&p3("message M { string a = 1; }"));
        let found = check(&new, &old);
        assert_eq!(
            found.iter().map(|d| d.render(NEW_READS_OLD)).collect::<Vec<_>>(),
            ["{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/M/1' in the new schema does not match its kind in the old schema\"}"]
        );
        // Removing a message breaks the side that still names it.
        let two = file(&p3(
            "message M { int32 a = 1; }\nmessage N { int32 b = 1; }",
        ));
        assert!(
            check(&two, &old).is_empty(),
            "a new reader may know more messages"
        );
        let forward = check(&old, &two);
        assert_eq!(
            forward[0].render(OLD_READS_NEW),
            "{errorType:\"MESSAGE_REMOVED\", description:\"The old schema is missing a MESSAGE type at path '#/N' in the new schema\"}"
        );
    }
}
