//! `org.apache.kafka.connect.transforms.Filter`: drops every record it is
//! applied to. It has no settings; it is meant to run under a predicate
//! (`transforms.<name>.predicate`, optionally `negate=true`).

use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct Filter;

impl Transform for Filter {
    /// Only the topic or headers change.
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, _record: Record) -> Result<Option<Record>, String> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::chain;
    use crate::record::Record;

    #[test]
    fn drops_everything_without_a_predicate() {
        let c = chain(&[
            ("transforms", "drop"),
            (
                "transforms.drop.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
        ]);
        assert_eq!(c.apply(Record::new("t", None, None)).unwrap(), None);
    }
}
