//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`:
//! keep (`include`), drop (`exclude`, which wins) and rename (`renames`,
//! `old:new,…`) top-level fields. The pre-KIP-629 names `whitelist` /
//! `blacklist` are still read when the new names are absent, as Kafka 2.8–3.x
//! did (4.0 removed them; keeping them costs nothing and old configs work).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{require_map, Side};
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct ReplaceField {
    side: Side,
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: HashMap<String, String>,
}

pub(crate) fn build(props: &mut Props, side: Side) -> Option<Box<dyn Transform>> {
    let list_with_alias = |name: &str, legacy: &str| -> HashSet<String> {
        props
            .list(name)
            .or_else(|| props.list(legacy))
            .unwrap_or_default()
            .into_iter()
            .collect()
    };
    let exclude = list_with_alias("exclude", "blacklist");
    let include = list_with_alias("include", "whitelist");
    let mut renames = HashMap::new();
    for mapping in props.list_or_empty("renames") {
        match mapping.split(':').collect::<Vec<_>>().as_slice() {
            [from, to] => {
                renames.insert(from.to_string(), to.to_string());
            }
            _ => props.error(
                "renames",
                format!("invalid rename mapping '{mapping}'; expected old:new"),
            ),
        }
    }
    props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(ReplaceField {
        side,
        exclude,
        include,
        renames,
    }))
}

impl ReplaceField {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }
}

impl Transform for ReplaceField {
    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        // Upstream passes null keys/values (tombstones) through untouched.
        let Some(value) = self.side.take(&mut record) else {
            return Ok(Some(record));
        };
        let map = require_map(Some(value), "field replacement")?;
        let mut updated = Map::with_capacity(map.len());
        for (name, v) in map {
            if self.keep(&name) {
                let new_name = self.renames.get(&name).cloned().unwrap_or(name);
                updated.insert(new_name, v);
            }
        }
        self.side.set(&mut record, Some(Value::Object(updated)));
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{apply_value, chain, config_errors};
    use serde_json::json;

    const TYPE: (&str, &str) = (
        "transforms.r.type",
        "org.apache.kafka.connect.transforms.ReplaceField$Value",
    );

    #[test]
    fn include_exclude_and_rename() {
        let c = chain(&[
            ("transforms", "r"),
            TYPE,
            ("transforms.r.include", "a,b,c"),
            ("transforms.r.exclude", "c"),
            ("transforms.r.renames", "a:alpha"),
        ]);
        let out = apply_value(&c, json!({"a": 1, "b": 2, "c": 3, "d": 4}));
        assert_eq!(out, Some(json!({"alpha": 1, "b": 2})));
    }

    #[test]
    fn legacy_names_still_work_and_tombstones_pass() {
        let c = chain(&[
            ("transforms", "r"),
            TYPE,
            ("transforms.r.blacklist", "password"),
        ]);
        assert_eq!(
            apply_value(&c, json!({"u": 1, "password": "x"})),
            Some(json!({"u": 1}))
        );
        assert_eq!(apply_value(&c, json!(null)), None);
    }

    #[test]
    fn bad_renames_are_reported() {
        let errors = config_errors(&[
            ("transforms", "r"),
            TYPE,
            ("transforms.r.renames", "a:b:c,d"),
        ]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.key == "transforms.r.renames"));
    }
}
