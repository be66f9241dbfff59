//! From the records of one `put` to HTTP requests: each record rendered
//! (its value as text or JSON, or through `request.body.template`), grouped
//! by the URL it is bound for, and cut into requests of at most
//! `batch.max.size` records, wrapped per `batch.json.as.array` or
//! `batch.prefix` / `batch.separator` / `batch.suffix`.

use std::collections::HashMap;

use super::settings::{BodyFormat, HttpSettings, NullValues};
use super::template::{self, Style};
use crate::connectors::ErrantRecord;
use crate::record::Record;

/// One record ready to go: its index in the `put` and its rendered text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub index: usize,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The configured method, with the records as body.
    Records,
    /// A tombstone with `behavior.on.null.values=delete`: DELETE, no body.
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub kind: Kind,
    pub items: Vec<Item>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub requests: Vec<Request>,
    /// Records that cannot be sent as configured (no key for `${key}`, a
    /// template field missing, a tombstone with `behavior.on.null.values=fail`).
    pub errant: Vec<ErrantRecord>,
}

pub fn plan(settings: &HttpSettings, records: &[Record]) -> Plan {
    let mut plan = Plan::default();
    // Per URL, the records bound for it, in the order they came.
    let mut groups: Vec<(String, Vec<Item>)> = Vec::new();
    let mut by_url: HashMap<String, usize> = HashMap::new();
    for (index, record) in records.iter().enumerate() {
        let url = match settings.url.render(record, Style::Url) {
            Ok(url) => url,
            Err(reason) => {
                plan.errant
                    .push(errant(index, format!("cannot build the URL: {reason}")));
                continue;
            }
        };
        if record.is_tombstone() {
            match settings.null_values {
                NullValues::Ignore => {}
                NullValues::Log => tracing::info!(
                    topic = %record.topic,
                    partition = record.kafka_partition.unwrap_or(-1),
                    offset = record.kafka_offset.unwrap_or(-1),
                    "skipping a record with a null value (behavior.on.null.values=log)"
                ),
                NullValues::Fail => plan.errant.push(errant(
                    index,
                    "the record's value is null (behavior.on.null.values=fail)".into(),
                )),
                NullValues::Delete => plan.requests.push(Request {
                    url,
                    kind: Kind::Delete,
                    items: vec![Item {
                        index,
                        text: String::new(),
                    }],
                }),
            }
            continue;
        }
        let text = match render(settings, record) {
            Ok(text) => text,
            Err(reason) => {
                plan.errant.push(errant(index, reason));
                continue;
            }
        };
        let group = *by_url.entry(url.clone()).or_insert_with(|| {
            groups.push((url, Vec::new()));
            groups.len() - 1
        });
        groups[group].1.push(Item { index, text });
    }
    for (url, items) in groups {
        for chunk in items.chunks(settings.batch_max_size.max(1)) {
            plan.requests.push(Request {
                url: url.clone(),
                kind: Kind::Records,
                items: chunk.to_vec(),
            });
        }
    }
    plan
}

/// One record's text in the request body.
pub fn render(settings: &HttpSettings, record: &Record) -> Result<String, String> {
    let value = record.value.as_ref().unwrap_or(&serde_json::Value::Null);
    match (&settings.body_template, settings.format) {
        (Some(t), BodyFormat::Json) => {
            let text = t.render(record, Style::Json)?;
            serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                format!("request.body.template did not render valid JSON for this record: {e}")
            })?;
            Ok(text)
        }
        (Some(t), BodyFormat::String) => t.render(record, Style::Text),
        (None, BodyFormat::Json) => Ok(value.to_string()),
        (None, BodyFormat::String) => Ok(template::text(value)),
    }
}

/// The body of a request carrying `items`.
pub fn body(settings: &HttpSettings, items: &[Item]) -> String {
    let texts = items.iter().map(|i| i.text.as_str());
    if settings.format == BodyFormat::Json && settings.json_as_array {
        format!("[{}]", texts.collect::<Vec<_>>().join(","))
    } else {
        let mut out = settings.batch_prefix.clone();
        out.push_str(&texts.collect::<Vec<_>>().join(&settings.batch_separator));
        out.push_str(&settings.batch_suffix);
        out
    }
}

pub fn content_type(settings: &HttpSettings) -> &'static str {
    match settings.format {
        BodyFormat::Json => "application/json",
        BodyFormat::String => "text/plain; charset=utf-8",
    }
}

fn errant(index: usize, reason: String) -> ErrantRecord {
    ErrantRecord { index, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::Config;
    use serde_json::json;

    fn settings(pairs: &[(&str, &str)]) -> HttpSettings {
        let mut c: Config = [("topics", "t"), ("http.api.url", "http://h.example.com/in")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        HttpSettings::parse(&c).unwrap()
    }

    fn rec(key: Option<serde_json::Value>, value: Option<serde_json::Value>) -> Record {
        Record::new("orders", key, value)
    }

    fn bodies(s: &HttpSettings, records: &[Record]) -> Vec<String> {
        plan(s, records)
            .requests
            .iter()
            .map(|r| body(s, &r.items))
            .collect()
    }

    #[test]
    fn string_records_joined_with_prefix_separator_and_suffix() {
        let s = settings(&[
            ("batch.max.size", "2"),
            ("batch.prefix", "<"),
            ("batch.suffix", ">"),
            ("batch.separator", "\n"),
        ]);
        let records = vec![
            rec(None, Some(json!("a"))),
            rec(None, Some(json!({"b": 1}))),
            rec(None, Some(json!(3))),
        ];
        assert_eq!(bodies(&s, &records), vec!["<a\n{\"b\":1}>", "<3>"]);
        assert_eq!(content_type(&s), "text/plain; charset=utf-8");
    }

    #[test]
    fn json_records_as_an_array() {
        let s = settings(&[
            ("request.body.format", "json"),
            ("batch.json.as.array", "true"),
            ("batch.max.size", "10"),
        ]);
        let records = vec![
            rec(None, Some(json!("a"))),
            rec(None, Some(json!({"b": 1}))),
        ];
        assert_eq!(bodies(&s, &records), vec![r#"["a",{"b":1}]"#]);
        assert_eq!(content_type(&s), "application/json");
    }

    #[test]
    fn urls_with_keys_split_batches_and_keyless_records_are_errant() {
        let s = settings(&[
            ("http.api.url", "http://h.example.com/items/${key}"),
            ("batch.max.size", "10"),
        ]);
        let records = vec![
            rec(Some(json!("a")), Some(json!("1"))),
            rec(Some(json!("b")), Some(json!("2"))),
            rec(None, Some(json!("3"))),
            rec(Some(json!("a")), Some(json!("4"))),
        ];
        let p = plan(&s, &records);
        let urls: Vec<(&str, Vec<usize>)> = p
            .requests
            .iter()
            .map(|r| (r.url.as_str(), r.items.iter().map(|i| i.index).collect()))
            .collect();
        assert_eq!(
            urls,
            vec![
                ("http://h.example.com/items/a", vec![0, 3]),
                ("http://h.example.com/items/b", vec![1]),
            ]
        );
        assert_eq!(p.errant.len(), 1);
        assert_eq!(p.errant[0].index, 2);
        assert!(p.errant[0].reason.contains("no key"));
    }

    #[test]
    fn tombstones_follow_behavior_on_null_values() {
        let records = vec![rec(Some(json!("k")), None), rec(None, Some(json!("v")))];
        let p = plan(&settings(&[]), &records);
        assert_eq!((p.requests.len(), p.errant.len()), (1, 0));
        let p = plan(&settings(&[("behavior.on.null.values", "fail")]), &records);
        assert_eq!(p.errant[0].index, 0);
        let p = plan(
            &settings(&[
                ("behavior.on.null.values", "delete"),
                ("http.api.url", "http://h.example.com/${key}"),
            ]),
            &records[..1],
        );
        assert_eq!(p.requests[0].kind, Kind::Delete);
        assert_eq!(p.requests[0].url, "http://h.example.com/k");
    }

    #[test]
    fn templates_render_each_record() {
        let s = settings(&[
            ("request.body.format", "json"),
            (
                "request.body.template",
                r#"{"t":"${topic}","id":${value.id}}"#,
            ),
        ]);
        let p = plan(
            &s,
            &[
                rec(None, Some(json!({"id": 5}))),
                rec(None, Some(json!({"x": 1}))),
            ],
        );
        assert_eq!(body(&s, &p.requests[0].items), r#"{"t":"orders","id":5}"#);
        assert_eq!(p.errant.len(), 1);
        assert!(p.errant[0].reason.contains("no field id"));
        // A template that does not give JSON for a record refuses that record.
        let s = settings(&[
            ("request.body.format", "json"),
            ("request.body.template", "id=${value.id}"),
        ]);
        let p = plan(&s, &[rec(None, Some(json!({"id": 5})))]);
        assert!(p.errant[0].reason.contains("valid JSON"));
    }
}
