//! `org.apache.kafka.connect.transforms.DropHeaders`: removes every header
//! whose name is in `headers`.

use std::collections::HashSet;

use super::props::Props;
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct DropHeaders {
    headers: HashSet<String>,
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let headers = props.required_list("headers")?;
    Some(Box::new(DropHeaders {
        headers: headers.into_iter().collect(),
    }))
}

impl Transform for DropHeaders {
    /// Only the topic or headers change.
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{chain, config_errors};
    use crate::record::{Header, Record};

    #[test]
    fn drops_all_headers_with_listed_names() {
        let c = chain(&[
            ("transforms", "d"),
            (
                "transforms.d.type",
                "org.apache.kafka.connect.transforms.DropHeaders",
            ),
            ("transforms.d.headers", "x-debug, trace"),
        ]);
        let mut r = Record::new("t", None, None);
        for key in ["x-debug", "keep", "trace", "x-debug"] {
            r.headers.push(Header {
                key: key.into(),
                value: None,
            });
        }
        let out = c.apply(r).unwrap().unwrap();
        let keys: Vec<&str> = out.headers.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, vec!["keep"]);
    }

    #[test]
    fn headers_are_required() {
        let errors = config_errors(&[
            ("transforms", "d"),
            (
                "transforms.d.type",
                "org.apache.kafka.connect.transforms.DropHeaders",
            ),
            ("transforms.d.headers", ""),
        ]);
        assert_eq!(errors[0].key, "transforms.d.headers");
    }
}
