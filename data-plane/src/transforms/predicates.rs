//! Predicates (`predicates=…`, `predicates.<name>.type`), package
//! `org.apache.kafka.connect.transforms.predicates`: `TopicNameMatches`
//! (`pattern`, a Java regex matched against the whole topic name),
//! `HasHeaderKey` (`name`) and `RecordIsTombstone` (value is null).

use super::props::Props;
use super::regex::Regex;
use crate::record::Record;

pub(crate) const PACKAGE: &str = "org.apache.kafka.connect.transforms.predicates.";
pub(crate) const NAMES: &[&str] = &["TopicNameMatches", "HasHeaderKey", "RecordIsTombstone"];

#[derive(Debug)]
pub(crate) enum Predicate {
    TopicNameMatches(Regex),
    HasHeaderKey(String),
    RecordIsTombstone,
}

impl Predicate {
    pub(crate) fn test(&self, record: &Record) -> bool {
        match self {
            Predicate::TopicNameMatches(re) => re.is_full_match(&record.topic),
            Predicate::HasHeaderKey(name) => record.headers.iter().any(|h| h.key == *name),
            Predicate::RecordIsTombstone => record.is_tombstone(),
        }
    }
}

/// Builds the predicate of class `short_name` (without the package);
/// `None` when the name is unknown or the settings are invalid (recorded).
pub(crate) fn build(short_name: &str, props: &mut Props) -> Option<Predicate> {
    match short_name {
        "TopicNameMatches" => {
            let pattern = props.required_non_empty("pattern")?;
            match Regex::new(&pattern) {
                Ok(re) => Some(Predicate::TopicNameMatches(re)),
                Err(e) => {
                    props.error("pattern", format!("invalid regular expression: {e}"));
                    None
                }
            }
        }
        "HasHeaderKey" => props
            .required_non_empty("name")
            .map(Predicate::HasHeaderKey),
        "RecordIsTombstone" => Some(Predicate::RecordIsTombstone),
        _ => None,
    }
}
