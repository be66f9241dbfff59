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
    /// Errors only when a look-around/back-reference pattern gives up on a
    /// topic; the record then fails instead of silently skipping the step.
    pub(crate) fn test(&self, record: &Record) -> Result<bool, String> {
        Ok(match self {
            Predicate::TopicNameMatches(re) => {
                re.is_full_match(&record.topic).map_err(|e| e.to_string())?
            }
            Predicate::HasHeaderKey(name) => record.headers.iter().any(|h| h.key == *name),
            Predicate::RecordIsTombstone => record.is_tombstone(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::config;

    fn topic_name_matches(pattern: &str) -> Result<Predicate, Vec<String>> {
        let cfg = config(&[("predicates.p.pattern", pattern)]);
        let mut props = Props::new(&cfg, "predicates.p.".into());
        build("TopicNameMatches", &mut props).ok_or_else(|| {
            props
                .into_errors()
                .into_iter()
                .map(|e| e.to_string())
                .collect()
        })
    }

    fn test(p: &Predicate, topic: &str) -> bool {
        p.test(&Record::new(topic, None, None)).unwrap()
    }

    #[test]
    fn topic_name_matches_the_whole_name() {
        let p = topic_name_matches("orders").unwrap();
        assert!(test(&p, "orders"));
        assert!(!test(&p, "orders-dlq"));
        assert!(!test(&p, "eu-orders"));
    }

    #[test]
    fn topic_name_matches_takes_lookahead() {
        let p = topic_name_matches("(?!.*-dlq$).*").unwrap();
        assert!(test(&p, "orders"));
        assert!(!test(&p, "orders-dlq"));
    }

    #[test]
    fn invalid_pattern_names_the_key() {
        let errors = topic_name_matches("orders[").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("predicates.p.pattern")
                && errors[0].contains("invalid regular expression"),
            "{errors:?}"
        );
    }
}
