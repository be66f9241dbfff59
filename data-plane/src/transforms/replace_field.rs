//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`:
//! keep (`include`), drop (`exclude`, which wins) and rename (`renames`,
//! `old:new,…`) top-level fields. The pre-KIP-629 names `whitelist` /
//! `blacklist` are still read when the new names are absent, as Kafka 2.8–3.x
//! did (4.0 removed them; keeping them costs nothing and old configs work).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::props::Props;
use super::util::{field_value, require_map, require_struct, SchemaCache, Side};
use super::Transform;
use crate::record::Record;
use crate::schema::{Field, Kind, Schema};

#[derive(Debug)]
pub(crate) struct ReplaceField {
    side: Side,
    exclude: HashSet<String>,
    include: HashSet<String>,
    renames: HashMap<String, String>,
    replace_null: bool,
    schemas: SchemaCache,
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
    let replace_null = props.boolean("replace.null.with.default", true);
    if props.has_errors() {
        return None;
    }
    Some(Box::new(ReplaceField {
        side,
        exclude,
        include,
        renames,
        replace_null,
        schemas: SchemaCache::default(),
    }))
}

impl ReplaceField {
    fn keep(&self, name: &str) -> bool {
        !self.exclude.contains(name) && (self.include.is_empty() || self.include.contains(name))
    }
}

impl ReplaceField {
    fn renamed(&self, name: &str) -> String {
        self.renames
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// Upstream's schema path: the kept fields, renamed, in schema order.
    fn apply_with_schema(
        &self,
        mut record: Record,
        schema: Arc<Schema>,
    ) -> Result<Option<Record>, String> {
        let value = self.side.take(&mut record);
        let map = require_struct(&schema, value, "field replacement")?;
        let updated = self.schemas.get_or_build(&schema, |s| {
            let fields = s
                .fields()
                .iter()
                .filter(|f| self.keep(&f.name))
                .map(|f| Field {
                    name: self.renamed(&f.name),
                    schema: Arc::clone(&f.schema),
                })
                .collect();
            let mut out = s.basics(Kind::Struct(fields));
            out.optional = s.optional;
            Ok(out)
        })?;
        let value = map.map(|map| {
            let out: Map<String, Value> = schema
                .fields()
                .iter()
                .filter(|f| self.keep(&f.name))
                .map(|f| {
                    (
                        self.renamed(&f.name),
                        field_value(&map, f, self.replace_null),
                    )
                })
                .collect();
            Value::Object(out)
        });
        self.side.set(&mut record, value);
        self.side.set_schema(&mut record, Some(updated));
        Ok(Some(record))
    }
}

impl Transform for ReplaceField {
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        if let Some(schema) = self.side.schema(&record) {
            return self.apply_with_schema(record, schema);
        }
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
    fn schemas_keep_renamed_fields_in_order() {
        use crate::record::Record;
        use crate::schema::{Field, Schema};
        use std::sync::Arc;
        // Kafka's docs example: exclude=password, renames=userid:user_id.
        let c = chain(&[
            ("transforms", "r"),
            TYPE,
            ("transforms.r.exclude", "password"),
            ("transforms.r.renames", "userid:user_id"),
        ]);
        let schema = Schema::structure(vec![
            Field::new("userid", Schema::int32()),
            Field::new("password", Schema::string()),
            Field::new("email", Schema::string().optional()),
        ])
        .named("User");
        let r = Record::new(
            "t",
            None,
            Some(json!({"userid": 1, "password": "x", "email": null})),
        )
        .with_value_schema(Some(Arc::new(schema)));
        let out = c.apply(r).unwrap().unwrap();
        assert_eq!(out.value, Some(json!({"user_id": 1, "email": null})));
        let s = out.value_schema.unwrap();
        assert_eq!(
            *s,
            Schema::structure(vec![
                Field::new("user_id", Schema::int32()),
                Field::new("email", Schema::string().optional()),
            ])
            .named("User")
        );
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
