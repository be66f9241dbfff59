//! Field paths of KIP-821 (`field.syntax.version`): `V1` names one
//! top-level field verbatim; `V2` splits on dots, with backticks around a
//! step that itself contains dots (`` `a.b`.c ``) and `` \` `` escaping a
//! backtick before a dot. Mirrors upstream `SingleFieldPath`.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::util::type_name;
use crate::schema::{Schema, Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyntaxVersion {
    V1,
    V2,
}

impl SyntaxVersion {
    /// Upstream accepts the names in any case.
    pub(crate) fn parse(value: &str) -> Option<SyntaxVersion> {
        if value.eq_ignore_ascii_case("v1") {
            Some(SyntaxVersion::V1)
        } else if value.eq_ignore_ascii_case("v2") {
            Some(SyntaxVersion::V2)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath {
    steps: Vec<String>,
}

impl FieldPath {
    pub(crate) fn new(text: &str, version: SyntaxVersion) -> Result<FieldPath, String> {
        let steps = match version {
            SyntaxVersion::V1 => vec![text.to_string()],
            SyntaxVersion::V2 => steps_v2(text)?,
        };
        Ok(FieldPath { steps })
    }

    /// The schema of the field at the path (upstream's `fieldFrom`);
    /// `None` when a step is missing or not a struct.
    pub(crate) fn schema_from(&self, schema: &Schema) -> Option<Arc<Schema>> {
        let (last, parents) = self.steps.split_last()?;
        let mut current = schema;
        for step in parents {
            let f = current.field(step)?;
            if f.schema.ty() != Type::Struct {
                return None;
            }
            current = &f.schema;
        }
        current.field(last).map(|f| Arc::clone(&f.schema))
    }

    /// The value at the path; `Ok(None)` when a step is missing or null,
    /// an error when an intermediate step is not a map.
    pub(crate) fn value_from<'a>(
        &self,
        map: &'a Map<String, Value>,
    ) -> Result<Option<&'a Value>, String> {
        let (last, parents) = match self.steps.split_last() {
            Some(split) => split,
            None => return Ok(None),
        };
        let mut current = map;
        for step in parents {
            match current.get(step) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Object(inner)) => current = inner,
                Some(other) => {
                    return Err(format!(
                        "Only Map objects supported in absence of schema for [nested field access], found: {}",
                        type_name(other)
                    ))
                }
            }
        }
        Ok(current.get(last).filter(|v| !v.is_null()))
    }
}

fn steps_v2(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let incomplete = |at: usize| {
        format!(
            "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
        )
    };
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < chars.len() {
        if chars[idx] != '`' {
            let end = chars[idx..].iter().position(|&c| c == '.').map(|p| p + idx);
            match end {
                Some(end) => {
                    steps.push(chars[idx..end].iter().collect());
                    idx = end + 1;
                }
                None => {
                    steps.push(chars[idx..].iter().collect());
                    idx = chars.len();
                }
            }
            continue;
        }
        let backtick_at = idx;
        idx += 1;
        let mut field = String::new();
        let mut start = idx;
        loop {
            let Some(close) = chars[idx..].iter().position(|&c| c == '`').map(|p| p + idx) else {
                return Err(incomplete(backtick_at));
            };
            idx = close;
            let escaped = chars[idx - 1] == '\\';
            if idx + 1 >= chars.len() {
                // The backtick ends the path.
                if escaped {
                    return Err(incomplete(backtick_at));
                }
                field.extend(&chars[start..idx]);
                steps.push(field);
                idx += 1;
                break;
            }
            if chars[idx + 1] != '.' {
                // Not followed by a dot: part of the name; keep looking.
                idx += 1;
                continue;
            }
            if escaped {
                field.extend(&chars[start..idx - 1]);
                field.push('`');
                idx += 1;
                start = idx;
                continue;
            }
            field.extend(&chars[start..idx]);
            steps.push(field);
            idx += 2;
            break;
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps(path: &str) -> Vec<String> {
        FieldPath::new(path, SyntaxVersion::V2).unwrap().steps
    }

    #[test]
    fn v2_splits_on_dots_with_backticks() {
        assert_eq!(steps("a.b.c"), vec!["a", "b", "c"]);
        assert_eq!(steps("`a.b`.c"), vec!["a.b", "c"]);
        assert_eq!(steps("a.`b.c`"), vec!["a", "b.c"]);
        assert_eq!(steps("a."), vec!["a", ""]);
        assert_eq!(steps("`a\\`.b`"), vec!["a`.b"]);
        assert!(FieldPath::new("`a.b", SyntaxVersion::V2).is_err());
    }

    #[test]
    fn v1_is_verbatim_and_lookup_handles_missing_steps() {
        let v1 = FieldPath::new("a.b", SyntaxVersion::V1).unwrap();
        let map = json!({"a.b": 1, "a": {"b": 2}, "s": "x"});
        let map = map.as_object().unwrap();
        assert_eq!(v1.value_from(map).unwrap(), Some(&json!(1)));
        let v2 = FieldPath::new("a.b", SyntaxVersion::V2).unwrap();
        assert_eq!(v2.value_from(map).unwrap(), Some(&json!(2)));
        let missing = FieldPath::new("x.y", SyntaxVersion::V2).unwrap();
        assert_eq!(missing.value_from(map).unwrap(), None);
        let through_string = FieldPath::new("s.y", SyntaxVersion::V2).unwrap();
        assert!(through_string.value_from(map).is_err());
    }
}
