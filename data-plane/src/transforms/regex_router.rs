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
        let captures = self
            .regex
            .full_captures(&record.topic)
            .map_err(|e| e.to_string())?;
        if let Some(captures) = captures {
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

    fn router(regex: &str, replacement: &str) -> super::super::Chain {
        chain(&[
            ("transforms", "route"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", regex),
            ("transforms.route.replacement", replacement),
        ])
    }

    fn topic(c: &super::super::Chain, topic: &str) -> String {
        c.apply(Record::new(topic, None, None))
            .unwrap()
            .unwrap()
            .topic
    }

    #[test]
    fn a_prefix_match_does_not_route() {
        // Upstream uses Matcher.matches(): the whole topic must match.
        let c = router("orders", "archive");
        assert_eq!(topic(&c, "orders"), "archive");
        assert_eq!(topic(&c, "orders-eu"), "orders-eu");
        assert_eq!(topic(&c, "eu-orders"), "eu-orders");
    }

    #[test]
    fn java_group_references_before_letters_and_digits() {
        let c = router("(.*)-raw", "$1_suffix");
        assert_eq!(topic(&c, "orders-raw"), "orders_suffix");
        let c = router("(.*)-raw", "$1v2");
        assert_eq!(topic(&c, "orders-raw"), "ordersv2");
    }

    #[test]
    fn lookahead_patterns_route() {
        // Only dev topics that are not already archived.
        let c = router("(?!archive\\.)(.*)-dev", "archive.$1");
        assert_eq!(topic(&c, "orders-dev"), "archive.orders");
        assert_eq!(topic(&c, "archive.orders-dev"), "archive.orders-dev");
    }

    #[test]
    fn runaway_backtracking_fails_the_record() {
        // Java would spin on this; the record fails instead of keeping its
        // topic as if the pattern had not matched.
        let c = router("(a|aa)+\\1c", "x");
        let topic = "a".repeat(40) + "b";
        let err = c.apply(Record::new(&topic, None, None)).unwrap_err();
        assert!(
            err.message.contains(&format!("could not match '{topic}'")),
            "{err}"
        );
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
        assert!(
            errors[0]
                .message
                .starts_with("invalid regular expression: "),
            "{}",
            errors[0]
        );
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
