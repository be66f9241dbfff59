//! `org.apache.kafka.connect.transforms.RegexRouter`: when `regex` matches
//! the whole topic name, the topic becomes `replacement`, with Java's `$1`
//! / `${name}` group references. Non-matching topics are left alone.
//!
//! Group references are checked at config time; upstream only fails when
//! the first record arrives.

use super::props::Props;
use super::regex::{Regex, Replacement};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct RegexRouter {
    regex: Regex,
    replacement: Replacement,
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let pattern = props.required("regex");
    let replacement = props.required("replacement");
    let regex = match Regex::new(pattern.as_deref()?) {
        Ok(r) => r,
        Err(e) => {
            props.error("regex", format!("invalid regular expression: {e}"));
            return None;
        }
    };
    let replacement = match regex.replacement(replacement.as_deref()?) {
        Ok(r) => r,
        Err(e) => {
            props.error("replacement", format!("invalid replacement: {e}"));
            return None;
        }
    };
    Some(Box::new(RegexRouter { regex, replacement }))
}

impl Transform for RegexRouter {
    /// Only the topic or headers change.
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(captures) = self.regex.full_captures(&record.topic) {
            record.topic = self.replacement.expand(&captures);
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{chain, config_errors};
    use crate::record::Record;

    #[test]
    fn renames_matching_topics_only() {
        let c = chain(&[
            ("transforms", "route"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "(.*)_(orders|users)"),
            ("transforms.route.replacement", "prod-$2"),
        ]);
        let out = c
            .apply(Record::new("eu_orders", None, None))
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "prod-orders");
        let out = c
            .apply(Record::new("pageviews", None, None))
            .unwrap()
            .unwrap();
        assert_eq!(out.topic, "pageviews");
    }

    #[test]
    fn validates_regex_and_group_references() {
        let errors = config_errors(&[
            ("transforms", "route"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "(.*"),
            ("transforms.route.replacement", "$1"),
        ]);
        assert_eq!(errors[0].key, "transforms.route.regex");
        let errors = config_errors(&[
            ("transforms", "route"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.replacement", "x-$2"),
        ]);
        assert_eq!(errors[0].key, "transforms.route.replacement");
        assert!(errors[0].message.contains("no group 2"), "{}", errors[0]);
    }
}
