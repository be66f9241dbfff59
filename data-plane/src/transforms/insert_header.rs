//! `org.apache.kafka.connect.transforms.InsertHeader`: adds header `header`
//! with the literal `value.literal` to every record.
//!
//! Upstream parses the literal with `Values.parseString`, so `42` becomes a
//! number and `true` a boolean; we infer the same way through JSON syntax,
//! and anything that is not a JSON scalar/array/map stays a string.

use serde_json::Value;

use super::props::Props;
use super::Transform;
use crate::record::{Header, Record};

#[derive(Debug)]
pub(crate) struct InsertHeader {
    header: String,
    value: Option<Value>,
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let header = props.required_non_empty("header");
    let literal = props.required("value.literal");
    let (header, literal) = (header?, literal?);
    Some(Box::new(InsertHeader {
        header,
        value: parse_literal(&literal),
    }))
}

fn parse_literal(literal: &str) -> Option<Value> {
    if literal.is_empty() {
        return Some(Value::String(String::new()));
    }
    match serde_json::from_str::<Value>(literal) {
        Ok(Value::Null) => None,
        // A JSON-quoted literal is kept verbatim, quotes included: the
        // setting is a literal, not JSON.
        Ok(Value::String(_)) | Err(_) => Some(Value::String(literal.to_string())),
        Ok(v) => Some(v),
    }
}

impl Transform for InsertHeader {
    /// Only the topic or headers change.
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        record.headers.push(Header {
            key: self.header.clone(),
            value: self.value.clone(),
        });
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{chain, config_errors};
    use super::parse_literal;
    use crate::record::Record;
    use serde_json::json;

    #[test]
    fn adds_a_header() {
        let c = chain(&[
            ("transforms", "h"),
            (
                "transforms.h.type",
                "org.apache.kafka.connect.transforms.InsertHeader",
            ),
            ("transforms.h.header", "env"),
            ("transforms.h.value.literal", "prod"),
        ]);
        let out = c.apply(Record::new("t", None, None)).unwrap().unwrap();
        assert_eq!(
            out.header("env").and_then(|h| h.value.clone()),
            Some(json!("prod"))
        );
    }

    #[test]
    fn literals_are_typed() {
        assert_eq!(parse_literal("42"), Some(json!(42)));
        assert_eq!(parse_literal("true"), Some(json!(true)));
        assert_eq!(parse_literal("hello world"), Some(json!("hello world")));
        assert_eq!(parse_literal("null"), None);
    }

    #[test]
    fn both_settings_are_required() {
        let errors = config_errors(&[
            ("transforms", "h"),
            (
                "transforms.h.type",
                "org.apache.kafka.connect.transforms.InsertHeader",
            ),
        ]);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["transforms.h.header", "transforms.h.value.literal"]
        );
    }
}
