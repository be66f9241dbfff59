//! Single message transforms with Kafka Connect's config syntax
//! (`transforms`, `transforms.<name>.type`, `predicates`, `negate`).
//!
//! Keys and values are JSON with an optional Connect schema
//! ([`crate::schema`]). Every transform implements upstream's schemaless
//! path (field-level transforms need a JSON map, and edge cases — nulls,
//! absent fields, wrong types — behave as the Apache Kafka classes do) and,
//! where upstream has one, its schema path, which also rewrites the schema.
//! A transform without a schema path drops the record's schemas (see
//! [`Transform::keeps_schemas`]). Each transform lives in its own module;
//! this one parses the chain and runs it.

mod cast;
mod datefmt;
mod drop_headers;
mod extract_field;
mod extract_new_record_state;
mod field_path;
mod filter;
mod flatten;
mod header_from;
mod hoist_field;
mod insert_field;
mod insert_header;
mod mask_field;
mod predicates;
mod props;
mod regex;
mod regex_router;
mod registry;
mod replace_field;
mod set_schema_metadata;
mod timestamp_converter;
mod timestamp_router;
mod util;
mod value_to_key;

#[cfg(test)]
mod chain_tests;
#[cfg(test)]
mod testing;

use std::collections::HashMap;
use std::sync::Arc;

use crate::connectors::{Config, FieldError};
use crate::record::Record;

use predicates::Predicate;
use props::{split_list, Props};
use registry::Built;

#[derive(Debug, thiserror::Error)]
#[error("transform {transform} failed: {message}")]
pub struct TransformError {
    pub transform: String,
    pub message: String,
}

/// One configured transform. `Ok(None)` drops the record; errors are plain
/// messages that the chain wraps with the transform's alias and class.
pub(crate) trait Transform: Send + Sync + std::fmt::Debug {
    fn apply(&self, record: Record) -> Result<Option<Record>, String>;

    /// Whether `apply` keeps the record's schemas consistent with its key
    /// and value (upstream's schema path). The chain drops the schemas of a
    /// record that went through a transform that does not, so no schema
    /// ever disagrees with its value.
    fn keeps_schemas(&self) -> bool {
        false
    }
}

/// The configured chain of a connector, applied in order. An empty chain
/// passes records through unchanged.
#[derive(Debug, Default)]
pub struct Chain {
    steps: Vec<Step>,
}

#[derive(Debug)]
struct Step {
    /// The alias from `transforms=…`.
    name: String,
    /// The class without package, e.g. `Cast$Value`, for error messages.
    class: String,
    transform: Box<dyn Transform>,
    /// Run only when the predicate's result differs from `negate`.
    predicate: Option<(Arc<Predicate>, bool)>,
}

impl Chain {
    /// Builds the chain from a connector config; every problem names its key.
    pub fn from_config(config: &Config) -> Result<Chain, Vec<FieldError>> {
        let mut errors = Vec::new();
        let aliases = alias_list(config, "transforms", &mut errors);
        let predicate_aliases = alias_list(config, "predicates", &mut errors);

        let mut predicates: HashMap<&str, Arc<Predicate>> = HashMap::new();
        for alias in &predicate_aliases {
            let mut props = Props::new(config, format!("predicates.{alias}."));
            if let Some(p) = build_predicate(&mut props) {
                predicates.insert(alias.as_str(), Arc::new(p));
            }
            errors.extend(props.into_errors());
        }

        let mut steps = Vec::new();
        for alias in &aliases {
            let mut props = Props::new(config, format!("transforms.{alias}."));
            let built = props.required_non_empty("type").map(|class| {
                let built = registry::build(&class, &mut props);
                if let Built::UnknownClass(message) = &built {
                    props.error("type", message.clone());
                }
                built
            });
            let negate = props.boolean("negate", false);
            let predicate = match props.string("predicate").filter(|p| !p.is_empty()) {
                None => None,
                Some(name) => match predicates.get(name.as_str()) {
                    Some(p) => Some((Arc::clone(p), negate)),
                    None => {
                        // A listed predicate that failed to build is already
                        // reported under its own keys.
                        if !predicate_aliases.contains(&name) {
                            props.error(
                                "predicate",
                                format!("predicate '{name}' is not listed in 'predicates'"),
                            );
                        }
                        None
                    }
                },
            };
            if let (Some(Built::Ok(transform, class)), false) = (built, props.has_errors()) {
                steps.push(Step {
                    name: alias.clone(),
                    class,
                    transform,
                    predicate,
                });
            }
            errors.extend(props.into_errors());
        }

        if errors.is_empty() {
            Ok(Chain { steps })
        } else {
            Err(errors)
        }
    }

    /// Applies every step; `Ok(None)` means a step dropped the record (Filter).
    pub fn apply(&self, mut record: Record) -> Result<Option<Record>, TransformError> {
        for step in &self.steps {
            if let Some((predicate, negate)) = &step.predicate {
                let applies = predicate.test(&record).map_err(|message| TransformError {
                    transform: step.name.clone(),
                    message: format!("{}: predicate: {message}", step.class),
                })?;
                if applies == *negate {
                    continue;
                }
            }
            match step.transform.apply(record) {
                Ok(Some(mut next)) => {
                    if !step.transform.keeps_schemas() {
                        next.key_schema = None;
                        next.value_schema = None;
                    }
                    record = next
                }
                Ok(None) => return Ok(None),
                Err(message) => {
                    return Err(TransformError {
                        transform: step.name.clone(),
                        message: format!("{}: {message}", step.class),
                    })
                }
            }
        }
        Ok(Some(record))
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The aliases of the configured steps, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| s.name.as_str())
    }
}

/// The alias list under `key`: non-empty and unique, like Kafka's checks.
fn alias_list(config: &Config, key: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let list = config.get(key).map(|v| split_list(v)).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for alias in list {
        if alias.is_empty() {
            errors.push(FieldError::new(key, "empty alias in list"));
        } else if out.contains(&alias) {
            errors.push(FieldError::new(key, format!("duplicate alias '{alias}'")));
        } else {
            out.push(alias);
        }
    }
    out
}

fn build_predicate(props: &mut Props) -> Option<Predicate> {
    let class = props.required_non_empty("type")?;
    let short = class
        .strip_prefix(predicates::PACKAGE)
        .filter(|s| predicates::NAMES.contains(s));
    match short {
        Some(short) => predicates::build(short, props),
        None => {
            let supported: Vec<String> = predicates::NAMES
                .iter()
                .map(|n| format!("{}{n}", predicates::PACKAGE))
                .collect();
            props.error(
                "type",
                format!(
                    "unknown predicate class '{class}'; supported classes are {}",
                    supported.join(", ")
                ),
            );
            None
        }
    }
}
