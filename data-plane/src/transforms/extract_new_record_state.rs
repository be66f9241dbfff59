//! `io.debezium.transforms.ExtractNewRecordState` (Debezium's "New Record
//! State Extraction"): replaces a change-event envelope
//! `{before, after, source, op, ts_ms, …}` with its row state, so sinks see
//! flat rows.
//!
//! * create/read/update: the value becomes `after`;
//! * delete: dropped, rewritten to `before` plus `__deleted: "true"`, or
//!   turned into a tombstone (same key), by `delete.tombstone.handling.mode`
//!   or the legacy `delete.handling.mode` + `drop.tombstones`;
//! * the tombstone following a delete is dropped or kept likewise;
//! * truncate events are dropped; any other value (heartbeats,
//!   schema-change events, already flat rows) passes through unchanged.
//!
//! `add.fields` / `add.headers` copy envelope metadata (`op`, `ts_ms`),
//! `source` fields (`table`, `lsn`, or qualified `source.ts_ms`) and
//! transaction fields (`id`, `total_order`, `data_collection_order`) into
//! the value as `<prefix><name>` (`source.ts_ms` → `__source_ts_ms`) or into
//! headers. With a value schema, the output schema is `after`'s schema plus
//! the added fields, all optional (Debezium's schema path).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::props::Props;
use super::util::SchemaCache;
use super::Transform;
use crate::record::{Header, Record};
use crate::schema::{Field, Kind, Schema};

pub(crate) const CLASS: &str = "io.debezium.transforms.ExtractNewRecordState";

/// The value field that marks rewritten deletes (`rewrite` modes).
const DELETED: &str = "__deleted";

/// What becomes of a delete event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDelete {
    Drop,
    /// `before` plus `__deleted: "true"`.
    Rewrite,
    /// A tombstone with the event's key.
    Tombstone,
}

/// One `add.fields` / `add.headers` entry: where to read it, what to call it.
#[derive(Debug, Clone)]
struct FieldRef {
    /// `None` for envelope fields (`op`, `ts_ms`), else `source` / `transaction`.
    parent: Option<&'static str>,
    field: String,
    /// Without prefix: `table`, `source_ts_ms`.
    name: String,
}

impl FieldRef {
    /// Debezium's `FieldReference`: `struct.field` or a bare field, whose
    /// struct follows from its name.
    fn parse(spec: &str) -> Result<FieldRef, String> {
        let (parent, field) = match spec.split_once('.') {
            Some(("source", f)) => (Some("source"), f),
            Some(("transaction", f)) => (Some("transaction"), f),
            Some((p, _)) => {
                return Err(format!(
                    "invalid field '{spec}': '{p}' is not a struct of the change event; use source.<field>, transaction.<field> or a bare field name"
                ))
            }
            None => {
                let parent = match spec {
                    "op" | "ts_ms" | "ts_us" | "ts_ns" => None,
                    "id" | "total_order" | "data_collection_order" => Some("transaction"),
                    _ => Some("source"),
                };
                (parent, spec)
            }
        };
        if field.is_empty() || field.contains('.') {
            return Err(format!("invalid field '{spec}'"));
        }
        let name = match (spec.contains('.'), parent) {
            (true, Some(p)) => format!("{p}_{field}"),
            _ => field.to_string(),
        };
        Ok(FieldRef {
            parent,
            field: field.to_string(),
            name,
        })
    }

    fn value(&self, envelope: &Map<String, Value>) -> Value {
        let found = match self.parent {
            None => envelope.get(&self.field),
            Some(p) => envelope
                .get(p)
                .and_then(Value::as_object)
                .and_then(|s| s.get(&self.field)),
        };
        found.cloned().unwrap_or(Value::Null)
    }

    /// The field's schema in the envelope schema, made optional (the struct
    /// itself may be null, e.g. `transaction`).
    fn schema(&self, envelope: &Schema) -> Result<Arc<Schema>, String> {
        let found = match self.parent {
            None => envelope.field(&self.field),
            Some(p) => envelope.field(p).and_then(|s| s.schema.field(&self.field)),
        };
        let qualified = match self.parent {
            Some(p) => format!("{p}.{}", self.field),
            None => self.field.clone(),
        };
        let field = found.ok_or_else(|| {
            format!("Unknown field: {qualified} is not in the change event's schema")
        })?;
        Ok(Arc::new((*field.schema).clone().optional()))
    }
}

#[derive(Debug)]
pub(crate) struct ExtractNewRecordState {
    on_delete: OnDelete,
    keep_tombstones: bool,
    fields: Vec<FieldRef>,
    fields_prefix: String,
    headers: Vec<FieldRef>,
    headers_prefix: String,
    route_by_field: Option<String>,
    schemas: SchemaCache,
}

/// A case-insensitive choice (Debezium parses its enums ignoring case).
fn choice(props: &mut Props, name: &str, allowed: &[&'static str]) -> Option<&'static str> {
    let v = props.get(name)?;
    match allowed.iter().find(|a| a.eq_ignore_ascii_case(v)) {
        Some(a) => Some(*a),
        None => {
            props.error(
                name,
                format!(
                    "invalid value '{v}'; must be one of: {}",
                    allowed.join(", ")
                ),
            );
            None
        }
    }
}

fn field_refs(props: &mut Props, name: &str) -> Vec<FieldRef> {
    let mut out = Vec::new();
    for spec in props.list_or_empty(name) {
        match FieldRef::parse(&spec) {
            Ok(r) => out.push(r),
            Err(e) => props.error(name, e),
        }
    }
    out
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let drop_tombstones = props.boolean("drop.tombstones", true);
    let legacy = choice(props, "delete.handling.mode", &["drop", "rewrite", "none"]);
    let mode = choice(
        props,
        "delete.tombstone.handling.mode",
        &[
            "drop",
            "tombstone",
            "rewrite",
            "rewrite-with-tombstone",
            "delete-to-tombstone",
        ],
    );
    // The newer option, when set, replaces both legacy ones (Debezium 2.5+).
    let (on_delete, keep_tombstones) = match mode {
        Some("tombstone") => (OnDelete::Drop, true),
        Some("rewrite") => (OnDelete::Rewrite, false),
        Some("rewrite-with-tombstone") => (OnDelete::Rewrite, true),
        Some("delete-to-tombstone") => (OnDelete::Tombstone, false),
        Some(_) => (OnDelete::Drop, false),
        None => {
            let on_delete = match legacy {
                Some("rewrite") => OnDelete::Rewrite,
                Some("none") => OnDelete::Tombstone,
                _ => OnDelete::Drop,
            };
            (on_delete, !drop_tombstones)
        }
    };
    let fields = field_refs(props, "add.fields");
    let headers = field_refs(props, "add.headers");
    let fields_prefix = props.string_or("add.fields.prefix", "__");
    let headers_prefix = props.string_or("add.headers.prefix", "__");
    let route_by_field = props.string("route.by.field").filter(|f| !f.is_empty());
    props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(ExtractNewRecordState {
        on_delete,
        keep_tombstones,
        fields,
        fields_prefix,
        headers,
        headers_prefix,
        route_by_field,
        schemas: SchemaCache::default(),
    }))
}

/// Whether `value` is a change-event envelope: an object with a string `op`
/// and a `before` or `after` field (with a schema: the schema has them).
fn is_envelope(value: &Map<String, Value>, schema: Option<&Schema>) -> bool {
    let shaped = match schema {
        Some(s) => {
            s.field("op").is_some() && (s.field("after").is_some() || s.field("before").is_some())
        }
        None => value.contains_key("after") || value.contains_key("before"),
    };
    shaped && value.get("op").is_some_and(Value::is_string)
}

impl ExtractNewRecordState {
    /// The flat value's schema: the row schema plus the added fields.
    fn output_schema(&self, envelope: &Schema) -> Result<Schema, String> {
        let row = envelope
            .field("after")
            .or_else(|| envelope.field("before"))
            .ok_or("the change event's schema has neither 'after' nor 'before'")?;
        let mut fields: Vec<Field> = row.schema.fields().to_vec();
        if self.on_delete == OnDelete::Rewrite {
            fields.push(Field::new(DELETED, Schema::string().optional()));
        }
        for f in &self.fields {
            fields.push(Field::new(
                format!("{}{}", self.fields_prefix, f.name),
                f.schema(envelope)?,
            ));
        }
        let mut out = row.schema.basics(Kind::Struct(fields));
        out.optional = row.schema.optional;
        Ok(out)
    }
}

impl Transform for ExtractNewRecordState {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if record.is_tombstone() {
            return Ok(self.keep_tombstones.then_some(record));
        }
        let schema = record.value_schema.clone();
        let envelope = match record.value.take() {
            Some(Value::Object(m)) if is_envelope(&m, schema.as_deref()) => m,
            other => {
                record.value = other;
                return Ok(Some(record));
            }
        };
        let (row, deleted) = match envelope.get("op").and_then(Value::as_str) {
            Some("c" | "r" | "u") => ("after", false),
            Some("d") => match self.on_delete {
                OnDelete::Drop => return Ok(None),
                // The key stays: sinks with delete.enabled delete by it.
                OnDelete::Tombstone => {
                    record.value_schema = None;
                    return Ok(Some(record));
                }
                OnDelete::Rewrite => ("before", true),
            },
            // Truncates have no row; Debezium drops them.
            Some("t") => return Ok(None),
            // Other events (e.g. logical decoding messages) pass through.
            _ => {
                record.value = Some(Value::Object(envelope));
                return Ok(Some(record));
            }
        };
        for h in &self.headers {
            record.headers.push(Header {
                key: format!("{}{}", self.headers_prefix, h.name),
                value: Some(h.value(&envelope)).filter(|v| !v.is_null()),
            });
        }
        let out_schema = match &schema {
            Some(s) => Some(self.schemas.get_or_build(s, |s| self.output_schema(s))?),
            None => None,
        };
        let mut value = match envelope.get(row) {
            Some(Value::Object(m)) => m.clone(),
            // A row-less change (e.g. a delete without a before image).
            _ if self.on_delete == OnDelete::Rewrite || !self.fields.is_empty() => Map::new(),
            _ => {
                record.value_schema = out_schema;
                return Ok(Some(record));
            }
        };
        if self.on_delete == OnDelete::Rewrite {
            value.insert(DELETED.into(), Value::String(deleted.to_string()));
        }
        for f in &self.fields {
            value.insert(
                format!("{}{}", self.fields_prefix, f.name),
                f.value(&envelope),
            );
        }
        if let Some(field) = &self.route_by_field {
            if let Some(Value::String(topic)) = value.get(field) {
                record.topic = topic.clone();
            }
        }
        record.value = Some(Value::Object(value));
        record.value_schema = out_schema;
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{chain, config_errors};
    use super::CLASS;
    use crate::record::Record;
    use crate::schema::{Field, Schema};
    use crate::transforms::Chain;
    use serde_json::{json, Value};
    use std::sync::Arc;

    fn unwrap(extra: &[(&str, &str)]) -> Chain {
        let mut pairs = vec![("transforms", "unwrap"), ("transforms.unwrap.type", CLASS)];
        let keys: Vec<(String, &str)> = extra
            .iter()
            .map(|(k, v)| (format!("transforms.unwrap.{k}"), *v))
            .collect();
        pairs.extend(keys.iter().map(|(k, v)| (k.as_str(), *v)));
        chain(&pairs)
    }

    /// Debezium's documented event shape, as PostgresCdcSourceV2 writes it.
    fn event(op: &str, before: Value, after: Value) -> Value {
        json!({
            "before": before,
            "after": after,
            "source": {"connector": "postgresql", "db": "shop", "schema": "public",
                       "table": "customers", "lsn": 24023128, "ts_ms": 1_559_033_904_863_i64},
            "op": op,
            "ts_ms": 1_559_033_904_900_i64,
            "transaction": null,
        })
    }

    fn record(value: Option<Value>) -> Record {
        Record::new("shop.public.customers", Some(json!({"id": 1004})), value)
    }

    /// (key, value) after the chain; `None` when dropped.
    fn run(c: &Chain, value: Option<Value>) -> Option<(Option<Value>, Option<Value>)> {
        c.apply(record(value)).unwrap().map(|r| (r.key, r.value))
    }

    fn row(email: &str) -> Value {
        json!({"id": 1004, "first_name": "Anne", "email": email})
    }

    #[test]
    fn creates_and_updates_become_the_after_row() {
        let c = unwrap(&[]);
        for op in ["c", "r"] {
            let out = run(&c, Some(event(op, Value::Null, row("a@x")))).unwrap();
            assert_eq!(out, (Some(json!({"id": 1004})), Some(row("a@x"))));
        }
        let out = run(&c, Some(event("u", row("a@x"), row("b@x")))).unwrap();
        assert_eq!(out.1, Some(row("b@x")));
    }

    #[test]
    fn deletes_and_tombstones_by_default_are_dropped() {
        let c = unwrap(&[]);
        assert_eq!(run(&c, Some(event("d", row("a@x"), Value::Null))), None);
        assert_eq!(run(&c, None), None);
        assert_eq!(run(&c, Some(event("t", Value::Null, Value::Null))), None);
    }

    #[test]
    fn drop_tombstones_false_keeps_the_tombstone_with_its_key() {
        let c = unwrap(&[("drop.tombstones", "false")]);
        assert_eq!(run(&c, Some(event("d", row("a@x"), Value::Null))), None);
        assert_eq!(run(&c, None), Some((Some(json!({"id": 1004})), None)));
    }

    #[test]
    fn rewrite_marks_every_row_and_keeps_the_deleted_one() {
        let c = unwrap(&[("delete.handling.mode", "rewrite")]);
        let deleted = run(&c, Some(event("d", row("a@x"), Value::Null))).unwrap();
        assert_eq!(
            deleted.1,
            Some(json!({"id": 1004, "first_name": "Anne", "email": "a@x", "__deleted": "true"}))
        );
        let created = run(&c, Some(event("c", Value::Null, row("a@x")))).unwrap();
        assert_eq!(created.1.unwrap()["__deleted"], "false");
        // drop.tombstones defaults to true.
        assert_eq!(run(&c, None), None);
    }

    #[test]
    fn none_turns_deletes_into_tombstones_keeping_the_key() {
        let c = unwrap(&[
            ("delete.handling.mode", "none"),
            ("drop.tombstones", "false"),
        ]);
        let out = run(&c, Some(event("d", row("a@x"), Value::Null)));
        assert_eq!(out, Some((Some(json!({"id": 1004})), None)));
        assert_eq!(run(&c, None), Some((Some(json!({"id": 1004})), None)));
    }

    #[test]
    fn delete_tombstone_handling_mode_replaces_the_legacy_options() {
        let delete = || Some(event("d", row("a@x"), Value::Null));
        // (mode, delete event's value or dropped, tombstone kept)
        let cases: [(&str, Option<Option<Value>>, bool); 5] = [
            ("drop", None, false),
            ("tombstone", None, true),
            ("delete-to-tombstone", Some(None), false),
            ("rewrite", Some(Some(json!("true"))), false),
            ("rewrite-with-tombstone", Some(Some(json!("true"))), true),
        ];
        for (mode, deleted, tombstone) in cases {
            // The legacy options are ignored when the new one is set.
            let c = unwrap(&[
                ("delete.tombstone.handling.mode", mode),
                ("delete.handling.mode", "none"),
                ("drop.tombstones", if tombstone { "true" } else { "false" }),
            ]);
            let out = run(&c, delete()).map(|(_, v)| v.map(|v| v["__deleted"].clone()));
            assert_eq!(out, deleted, "{mode}");
            assert_eq!(run(&c, None).is_some(), tombstone, "{mode}");
        }
    }

    #[test]
    fn add_fields_and_headers_copy_metadata() {
        let c = unwrap(&[
            ("add.fields", "op,table,lsn,source.ts_ms"),
            ("add.headers", "db"),
            ("add.headers.prefix", "dbz."),
        ]);
        let out = c
            .apply(record(Some(event("u", row("a@x"), row("b@x")))))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            Some(
                json!({"id": 1004, "first_name": "Anne", "email": "b@x", "__op": "u",
                        "__table": "customers", "__lsn": 24023128,
                        "__source_ts_ms": 1_559_033_904_863_i64})
            )
        );
        assert_eq!(out.header("dbz.db").unwrap().value, Some(json!("shop")));

        let prefixed = unwrap(&[("add.fields", "op"), ("add.fields.prefix", "cdc_")]);
        let v = run(&prefixed, Some(event("c", Value::Null, row("a@x"))))
            .unwrap()
            .1
            .unwrap();
        assert_eq!(v["cdc_op"], "c");
    }

    #[test]
    fn records_that_are_not_envelopes_pass_through() {
        let c = unwrap(&[]);
        for v in [
            json!({"ts_ms": 1_700_000_000_000_i64}),
            json!({"source": {"server": "shop"}, "databaseName": "shop", "ddl": "CREATE TABLE t()"}),
            row("flat@x"),
            json!("text"),
        ] {
            assert_eq!(run(&c, Some(v.clone())).unwrap().1, Some(v));
        }
    }

    fn envelope_schema() -> Arc<Schema> {
        let row = Schema::structure(vec![
            Field::new("id", Schema::int32()),
            Field::new("first_name", Schema::string().optional()),
            Field::new("email", Schema::string()),
        ])
        .named("shop.public.customers.Value")
        .optional();
        let source = Schema::structure(vec![
            Field::new("table", Schema::string()),
            Field::new("lsn", Schema::int64().optional()),
        ])
        .named("io.debezium.connector.postgresql.Source");
        Arc::new(
            Schema::structure(vec![
                Field::new("before", row.clone()),
                Field::new("after", row),
                Field::new("source", source),
                Field::new("op", Schema::string()),
                Field::new("ts_ms", Schema::int64().optional()),
            ])
            .named("shop.public.customers.Envelope"),
        )
    }

    #[test]
    fn with_a_schema_the_row_schema_gains_the_added_fields() {
        let c = unwrap(&[
            ("delete.handling.mode", "rewrite"),
            ("add.fields", "op,table"),
        ]);
        let value = json!({
            "before": null, "after": {"id": 1004, "first_name": null, "email": "a@x"},
            "source": {"table": "customers", "lsn": 7}, "op": "c", "ts_ms": 1,
        });
        let r = record(Some(value)).with_value_schema(Some(envelope_schema()));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(
            out.value,
            Some(json!({"id": 1004, "first_name": null, "email": "a@x",
                        "__deleted": "false", "__op": "c", "__table": "customers"}))
        );
        let schema = out.value_schema.unwrap();
        assert_eq!(schema.name.as_deref(), Some("shop.public.customers.Value"));
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["id", "first_name", "email", "__deleted", "__op", "__table"]
        );
        assert_eq!(
            *schema.field("__table").unwrap().schema,
            Schema::string().optional()
        );
        schema
            .validate(out.value.as_ref().unwrap(), "value")
            .unwrap();

        // A field the schema lacks is an error naming it.
        let bad = unwrap(&[("add.fields", "source.xmin")]);
        let r = record(Some(
            json!({"before": null, "after": {"id": 1, "email": "e"},
                                   "source": {"table": "t"}, "op": "c"}),
        ))
        .with_value_schema(Some(envelope_schema()));
        let err = bad.apply(r).unwrap_err();
        assert!(err.to_string().contains("source.xmin"), "{err}");
    }

    #[test]
    fn config_errors_name_the_key() {
        let errors = config_errors(&[
            ("transforms", "unwrap"),
            ("transforms.unwrap.type", CLASS),
            ("transforms.unwrap.delete.handling.mode", "keep"),
            ("transforms.unwrap.delete.tombstone.handling.mode", "maybe"),
            ("transforms.unwrap.drop.tombstones", "yes"),
            ("transforms.unwrap.add.fields", "op,after.id"),
        ]);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "transforms.unwrap.drop.tombstones",
                "transforms.unwrap.delete.handling.mode",
                "transforms.unwrap.delete.tombstone.handling.mode",
                "transforms.unwrap.add.fields",
            ]
        );
        assert!(
            errors[1].message.contains("drop, rewrite, none"),
            "{errors:?}"
        );
        // Debezium parses its modes ignoring case.
        unwrap(&[("delete.handling.mode", "REWRITE")]);
    }
}
