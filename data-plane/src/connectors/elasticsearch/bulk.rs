//! Records as `_bulk` operations, and `_bulk` answers as per-item results:
//! the pure part of the sink.

use serde_json::{json, Map, Value};

use super::settings::{EsSettings, NullValues};
use crate::connectors::TaskError;
use crate::record::Record;
use crate::schema::{self, Kind, Logical, Schema};

/// One record's `_bulk` operation: its action line and document line, as NDJSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The record's index in the batch.
    pub record: usize,
    pub index: String,
    pub body: String,
    /// A delete: "not found" is success.
    pub delete: bool,
}

/// The operations of a batch; records skipped (null values ignored) have none.
pub fn operations(s: &EsSettings, records: &[Record]) -> Result<Vec<Operation>, TaskError> {
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let index = s.index(&r.topic);
        let id = doc_id(s, r);
        let Some(value) = r.value.as_ref().filter(|v| !v.is_null()) else {
            match s.null_values {
                NullValues::Ignore => continue,
                NullValues::Fail => {
                    return Err(TaskError::Fatal(format!(
                        "record {}/{}/{} has a null value (behavior.on.null.values=fail)",
                        r.topic,
                        r.kafka_partition.unwrap_or(-1),
                        r.kafka_offset.unwrap_or(-1)
                    )))
                }
                NullValues::Delete => {
                    let Some(id) = id else { continue };
                    out.push(Operation {
                        record: i,
                        body: format!("{}\n", json!({"delete": {"_index": index, "_id": id}})),
                        index,
                        delete: true,
                    });
                    continue;
                }
            }
        };
        let mut doc = document(s, r.value_schema.as_deref(), value);
        let action = if s.data_stream.is_some() {
            if let (Value::Object(m), Some(ts)) = (&mut doc, r.timestamp) {
                m.entry("@timestamp").or_insert(json!(ts));
            }
            json!({"create": {"_index": index}})
        } else if s.upsert && id.is_some() {
            doc = json!({"doc": doc, "doc_as_upsert": true});
            json!({"update": {"_index": index, "_id": id}})
        } else {
            match &id {
                Some(id) => json!({"index": {"_index": index, "_id": id}}),
                None => json!({"index": {"_index": index}}),
            }
        };
        out.push(Operation {
            record: i,
            body: format!("{action}\n{doc}\n"),
            index,
            delete: false,
        });
    }
    Ok(out)
}

/// The document id: `topic+partition+offset` with `key.ignore`, else the
/// key (a struct of one field: that field's value; a string as it is;
/// anything else as JSON text). `None` without a key.
pub fn doc_id(s: &EsSettings, r: &Record) -> Option<String> {
    if s.key_ignore {
        return Some(format!(
            "{}+{}+{}",
            r.topic,
            r.kafka_partition.unwrap_or(0),
            r.kafka_offset.unwrap_or(0)
        ));
    }
    let key = r.key.as_ref().filter(|k| !k.is_null())?;
    let key = match key {
        Value::Object(m) if m.len() == 1 => m.values().next().unwrap_or(key),
        other => other,
    };
    Some(match key {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The document: the value, with Decimals as numbers when its schema is
/// used (Elasticsearch has no use for their base64 form).
pub fn document(s: &EsSettings, schema: Option<&Schema>, value: &Value) -> Value {
    match schema {
        Some(schema) if !s.schema_ignore => plain(schema, value),
        _ => value.clone(),
    }
}

fn plain(schema: &Schema, value: &Value) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    if let Some(Logical::Decimal { scale }) = schema.logical() {
        return schema::decimal::to_string(value, scale)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .map_or(Value::Null, |f| json!(f));
    }
    match (&schema.kind, value) {
        (Kind::Struct(fields), Value::Object(m)) => Value::Object(
            fields
                .iter()
                .map(|f| {
                    let v = m.get(&f.name).unwrap_or(&Value::Null);
                    (f.name.clone(), plain(&f.schema, v))
                })
                .collect(),
        ),
        (Kind::Array(items), Value::Array(a)) => {
            Value::Array(a.iter().map(|v| plain(items, v)).collect())
        }
        _ => value.clone(),
    }
}

/// Index mappings for documents of `schema` (a struct), as Confluent's
/// sink creates them.
pub fn mappings(schema: &Schema) -> Value {
    fn ty(s: &Schema) -> Value {
        match s.logical() {
            Some(Logical::Decimal { .. }) => return json!({"type": "double"}),
            Some(Logical::Date | Logical::Timestamp) => return json!({"type": "date"}),
            Some(Logical::Time) => return json!({"type": "integer"}),
            None => {}
        }
        match &s.kind {
            Kind::Int8 => json!({"type": "byte"}),
            Kind::Int16 => json!({"type": "short"}),
            Kind::Int32 => json!({"type": "integer"}),
            Kind::Int64 => json!({"type": "long"}),
            Kind::Float32 => json!({"type": "float"}),
            Kind::Float64 => json!({"type": "double"}),
            Kind::Boolean => json!({"type": "boolean"}),
            Kind::String => {
                json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
            }
            Kind::Bytes => json!({"type": "binary"}),
            Kind::Array(items) => ty(items),
            Kind::Map(..) => json!({"type": "object"}),
            Kind::Struct(fields) => json!({"properties": props(fields)}),
        }
    }
    fn props(fields: &[schema::Field]) -> Map<String, Value> {
        fields
            .iter()
            .map(|f| (f.name.clone(), ty(&f.schema)))
            .collect()
    }
    json!({"mappings": {"properties": props(schema.fields())}})
}

/// What became of one item of a `_bulk` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    Done,
    /// 429 or 5xx: worth sending again.
    Retry(String),
    /// Refused for good.
    Refused(String),
}

/// The per-item results of a `_bulk` answer, in request order.
pub fn results(answer: &Value, ops: &[&Operation]) -> Vec<ItemResult> {
    let items = answer["items"].as_array().cloned().unwrap_or_default();
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let Some(item) = items.get(i).and_then(Value::as_object) else {
                return ItemResult::Retry("no result for the item".into());
            };
            let detail = item.values().next().cloned().unwrap_or(Value::Null);
            let status = detail["status"].as_u64().unwrap_or(500);
            let reason = || {
                let e = &detail["error"];
                format!(
                    "{status} {}: {}",
                    e["type"].as_str().unwrap_or("error"),
                    e["reason"].as_str().unwrap_or("")
                )
            };
            match status {
                200..=299 => ItemResult::Done,
                404 if op.delete => ItemResult::Done,
                429 | 500..=599 => ItemResult::Retry(reason()),
                _ => ItemResult::Refused(reason()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::Config;
    use std::sync::Arc;

    fn settings(extra: &[(&str, &str)]) -> EsSettings {
        let mut c: Config = [("connection.url", "http://es:9200")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        EsSettings::parse(&c).unwrap()
    }

    fn record(key: Option<Value>, value: Option<Value>) -> Record {
        let mut r = Record::new("Customers", key, value);
        r.kafka_partition = Some(0);
        r.kafka_offset = Some(7);
        r
    }

    #[test]
    fn ids_indexes_upserts_and_deletes() {
        let s = settings(&[
            ("behavior.on.null.values", "delete"),
            ("write.method", "UPSERT"),
        ]);
        let ops = operations(
            &s,
            &[
                record(Some(json!({"id": 3})), Some(json!({"id": 3, "n": "a"}))),
                record(Some(json!({"id": 3})), None),
            ],
        )
        .unwrap();
        assert_eq!(ops[0].index, "customers");
        let lines: Vec<Value> = ops[0]
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                json!({"update": {"_index": "customers", "_id": "3"}}),
                json!({"doc": {"id": 3, "n": "a"}, "doc_as_upsert": true}),
            ]
        );
        assert!(ops[1].delete);
        let ignore = settings(&[]);
        assert!(operations(&ignore, &[record(Some(json!(1)), None)])
            .unwrap()
            .is_empty());
        let keyless = settings(&[("key.ignore", "true")]);
        assert_eq!(
            doc_id(&keyless, &record(Some(json!({"id": 3})), None)).as_deref(),
            Some("Customers+0+7")
        );
    }

    #[test]
    fn decimals_become_numbers_and_mappings_follow_the_schema() {
        let schema = Arc::new(Schema::structure(vec![
            schema::Field::new("id", Schema::int32()),
            schema::Field::new("balance", Schema::decimal(2).optional()),
        ]));
        let value = json!({"id": 1, "balance": schema::encode_bytes(&schema::decimal::from_text("12.34", 2).unwrap())});
        assert_eq!(
            document(&settings(&[]), Some(&schema), &value),
            json!({"id": 1, "balance": 12.34})
        );
        assert_eq!(
            mappings(&schema)["mappings"]["properties"]["balance"],
            json!({"type": "double"})
        );
    }

    #[test]
    fn bulk_answers_split_into_done_retry_and_refused() {
        let ops = operations(
            &settings(&[("behavior.on.null.values", "delete")]),
            &[
                record(Some(json!(1)), Some(json!({"a": 1}))),
                record(Some(json!(2)), Some(json!({"a": 2}))),
                record(Some(json!(3)), Some(json!({"a": 3}))),
                record(Some(json!(4)), None),
            ],
        )
        .unwrap();
        let refs: Vec<&Operation> = ops.iter().collect();
        let answer = json!({"errors": true, "items": [
            {"index": {"status": 201}},
            {"index": {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "busy"}}},
            {"index": {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "bad a"}}},
            {"delete": {"status": 404, "result": "not_found"}},
        ]});
        let r = results(&answer, &refs);
        assert_eq!(r[0], ItemResult::Done);
        assert!(matches!(&r[1], ItemResult::Retry(m) if m.contains("429")));
        assert!(matches!(&r[2], ItemResult::Refused(m) if m.contains("mapper_parsing_exception")));
        assert_eq!(r[3], ItemResult::Done);
    }
}
