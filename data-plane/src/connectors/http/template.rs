//! `${…}` placeholders, as the Confluent HTTP sink substitutes them in
//! `http.api.url` (`${topic}`, `${key}`), extended to the record's other
//! coordinates and fields for `request.body.template`:
//!
//! | placeholder | replaced by |
//! | --- | --- |
//! | `${topic}` | the record's topic |
//! | `${key}` / `${value}` | the record key / value |
//! | `${key.a.b}` / `${value.a.b}` | a field of a struct key / value (nested by dots) |
//! | `${partition}` / `${offset}` / `${timestamp}` | the Kafka coordinates (timestamp in ms) |
//!
//! A `$` not followed by `{` is literal text.

use serde_json::Value;

use crate::record::Record;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Topic,
    Partition,
    Offset,
    Timestamp,
    /// The key, or a field of it when the path is not empty.
    Key(Vec<String>),
    /// The value, or a field of it when the path is not empty.
    Value(Vec<String>),
}

/// How the key and value placeholders are written into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Strings as they are, everything else as JSON text (request bodies in
    /// `string` format).
    Text,
    /// JSON text: strings quoted, so `{"data":${value}}` is valid JSON
    /// (request bodies in `json` format).
    Json,
    /// As [`Style::Text`], percent-encoded, so a key holding `/` or `?`
    /// stays one path segment (URLs).
    Url,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            literal.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed placeholder at \"{}\"", &rest[start..]))?;
            let part = placeholder(after[..end].trim())?;
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// Whether the text depends on the record at all (a constant URL lets
    /// every record of a batch share one request).
    pub fn is_constant(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    pub fn uses_key(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Key(_)))
    }

    /// The text for one record. Fails when a placeholder names something
    /// the record lacks (no key, a missing field): that record cannot be
    /// sent as configured.
    pub fn render(&self, record: &Record, style: Style) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Topic => push(&mut out, &record.topic, style),
                Part::Partition => out.push_str(&number(record.kafka_partition.map(i64::from))),
                Part::Offset => out.push_str(&number(record.kafka_offset)),
                Part::Timestamp => out.push_str(&number(record.timestamp)),
                Part::Key(path) => {
                    let v = field(record.key.as_ref(), path).ok_or_else(|| missing("key", path))?;
                    write_value(&mut out, v, style);
                }
                Part::Value(path) => {
                    let v =
                        field(record.value.as_ref(), path).ok_or_else(|| missing("value", path))?;
                    write_value(&mut out, v, style);
                }
            }
        }
        Ok(out)
    }
}

fn placeholder(name: &str) -> Result<Part, String> {
    let mut segments = name.split('.');
    let head = segments.next().unwrap_or_default();
    let path: Vec<String> = segments.map(str::to_string).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!("empty field name in placeholder ${{{name}}}"));
    }
    let simple = |p: Part| {
        if path.is_empty() {
            Ok(p)
        } else {
            Err(format!("${{{head}}} has no fields (in ${{{name}}})"))
        }
    };
    match head {
        "topic" => simple(Part::Topic),
        "partition" => simple(Part::Partition),
        "offset" => simple(Part::Offset),
        "timestamp" => simple(Part::Timestamp),
        "key" => Ok(Part::Key(path)),
        "value" => Ok(Part::Value(path)),
        _ => Err(format!(
            "unknown placeholder ${{{name}}}; use ${{topic}}, ${{key}}, ${{value}}, ${{key.field}}, ${{value.field}}, ${{partition}}, ${{offset}} or ${{timestamp}}"
        )),
    }
}

fn missing(what: &str, path: &[String]) -> String {
    if path.is_empty() {
        format!("the record has no {what}")
    } else {
        format!("the record's {what} has no field {}", path.join("."))
    }
}

fn field<'a>(root: Option<&'a Value>, path: &[String]) -> Option<&'a Value> {
    let mut v = root.filter(|v| !v.is_null())?;
    for name in path {
        v = v.get(name.as_str()).filter(|v| !v.is_null())?;
    }
    Some(v)
}

fn number(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

fn write_value(out: &mut String, v: &Value, style: Style) {
    match style {
        Style::Json => out.push_str(&v.to_string()),
        Style::Text | Style::Url => push(out, &text(v), style),
    }
}

fn push(out: &mut String, s: &str, style: Style) {
    match style {
        Style::Url => percent_encode(out, s),
        Style::Text | Style::Json => out.push_str(s),
    }
}

/// A value as text: strings as they are, everything else as JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Record {
        let mut r = Record::new(
            "orders",
            Some(json!("a/b c")),
            Some(json!({"id": 7, "name": "x", "address": {"city": "Paris"}})),
        );
        r.kafka_partition = Some(2);
        r.kafka_offset = Some(41);
        r.timestamp = Some(1_700_000_000_000);
        r
    }

    #[test]
    fn urls_substitute_topic_and_an_encoded_key() {
        let t = Template::parse("https://api.example.com/${topic}/items/${key}").unwrap();
        assert!(!t.is_constant() && t.uses_key());
        assert_eq!(
            t.render(&record(), Style::Url).unwrap(),
            "https://api.example.com/orders/items/a%2Fb%20c"
        );
        let constant = Template::parse("https://api.example.com/events").unwrap();
        assert!(constant.is_constant());
    }

    #[test]
    fn json_bodies_quote_values_and_reach_into_fields() {
        let t = Template::parse(
            r#"{"topic":"${topic}","at":${offset},"key":${key},"city":${value.address.city},"data":${value}}"#,
        )
        .unwrap();
        let body = t.render(&record(), Style::Json).unwrap();
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed,
            json!({"topic": "orders", "at": 41, "key": "a/b c", "city": "Paris",
                   "data": {"id": 7, "name": "x", "address": {"city": "Paris"}}})
        );
        let text = Template::parse("${value.name}:${value.id}@${partition}/${timestamp} $5")
            .unwrap()
            .render(&record(), Style::Text)
            .unwrap();
        assert_eq!(text, "x:7@2/1700000000000 $5");
    }

    #[test]
    fn missing_keys_and_fields_are_record_errors() {
        let t = Template::parse("/${key}").unwrap();
        let mut r = record();
        r.key = None;
        assert_eq!(
            t.render(&r, Style::Url).unwrap_err(),
            "the record has no key"
        );
        let t = Template::parse("${value.nope.x}").unwrap();
        assert_eq!(
            t.render(&record(), Style::Json).unwrap_err(),
            "the record's value has no field nope.x"
        );
    }

    #[test]
    fn bad_placeholders_are_refused() {
        assert!(Template::parse("${topics}")
            .unwrap_err()
            .contains("unknown placeholder"));
        assert!(Template::parse("${topic").unwrap_err().contains("unclosed"));
        assert!(Template::parse("${topic.x}")
            .unwrap_err()
            .contains("no fields"));
        assert!(Template::parse("${value..x}")
            .unwrap_err()
            .contains("empty field"));
    }
}
