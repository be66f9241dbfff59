//! Typed access to one transform's or predicate's settings
//! (`transforms.<alias>.<key>` / `predicates.<alias>.<key>`), mirroring how
//! Kafka's `ConfigDef` parses them: values are trimmed, lists split on
//! commas, booleans are `true`/`false` in any case.
//!
//! Every accessor records its problem against the full key and keeps going,
//! so one validation pass reports all mistakes at once.

use crate::connectors::{Config, FieldError};

pub(crate) struct Props<'a> {
    config: &'a Config,
    prefix: String,
    errors: Vec<FieldError>,
}

impl<'a> Props<'a> {
    /// `prefix` is e.g. `transforms.castIt.` (with the trailing dot).
    pub(crate) fn new(config: &'a Config, prefix: String) -> Props<'a> {
        Props {
            config,
            prefix,
            errors: Vec::new(),
        }
    }

    /// The full config key for a setting, as users write it.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    pub(crate) fn error(&mut self, name: &str, message: impl Into<String>) {
        let key = self.key(name);
        self.errors.push(FieldError::new(key, message));
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub(crate) fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    /// The trimmed value, if the key is present at all (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.config.get(&self.key(name)).map(|v| v.trim())
    }

    /// A string setting; `None` when absent.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    pub(crate) fn string_or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }

    /// A required string setting; an empty value counts as present, as in
    /// Kafka (use [`Props::required_non_empty`] where upstream validates).
    pub(crate) fn required(&mut self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(v) => Some(v.to_string()),
            None => {
                self.error(name, "missing required setting");
                None
            }
        }
    }

    pub(crate) fn required_non_empty(&mut self, name: &str) -> Option<String> {
        let value = self.required(name)?;
        if value.is_empty() {
            self.error(name, "must not be empty");
            return None;
        }
        Some(value)
    }

    /// A list setting: comma separated, entries trimmed; an empty value is
    /// an empty list. `None` when absent.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(split_list)
    }

    pub(crate) fn list_or_empty(&self, name: &str) -> Vec<String> {
        self.list(name).unwrap_or_default()
    }

    /// A required list with at least one entry (Kafka's `NonEmptyListValidator`).
    pub(crate) fn required_list(&mut self, name: &str) -> Option<Vec<String>> {
        match self.list(name) {
            None => {
                self.error(name, "missing required setting");
                None
            }
            Some(list) if list.is_empty() => {
                self.error(name, "must contain at least one element");
                None
            }
            Some(list) => Some(list),
        }
    }

    pub(crate) fn boolean(&mut self, name: &str, default: bool) -> bool {
        match self.get(name) {
            None => default,
            Some(v) => match parse_bool(v) {
                Some(b) => b,
                None => {
                    self.error(
                        name,
                        format!("invalid boolean '{v}'; expected true or false"),
                    );
                    default
                }
            },
        }
    }

    /// An optional 32-bit integer (Kafka's `INT`).
    pub(crate) fn int(&mut self, name: &str) -> Option<i32> {
        let v = self.get(name)?;
        match v.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.error(name, format!("invalid integer '{v}'"));
                None
            }
        }
    }

    /// A string that must be one of `allowed` (exact case, like Kafka's
    /// `ValidString`); `default` applies when absent. `None` on error or
    /// when absent without default.
    pub(crate) fn one_of(
        &mut self,
        name: &str,
        allowed: &[&'static str],
        default: Option<&'static str>,
    ) -> Option<&'static str> {
        let Some(v) = self.get(name) else {
            if default.is_none() {
                self.error(name, "missing required setting");
            }
            return default;
        };
        match allowed.iter().find(|a| **a == v) {
            Some(a) => Some(*a),
            None => {
                self.error(
                    name,
                    format!(
                        "invalid value '{v}'; must be one of: {}",
                        allowed.join(", ")
                    ),
                );
                None
            }
        }
    }
}

/// Kafka's `LIST` parsing: trimmed, split on commas with surrounding
/// whitespace; an empty string is an empty list.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    value.split(',').map(|s| s.trim().to_string()).collect()
}

pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lists_are_trimmed_and_split() {
        assert_eq!(split_list(" a , b,c "), vec!["a", "b", "c"]);
        assert!(split_list("  ").is_empty());
    }

    #[test]
    fn errors_name_the_full_key() {
        let c = config(&[("transforms.t.flag", "yes"), ("transforms.t.n", "x")]);
        let mut p = Props::new(&c, "transforms.t.".into());
        assert!(!p.boolean("flag", false));
        assert_eq!(p.int("n"), None);
        assert_eq!(p.required("missing"), None);
        let keys: Vec<String> = p.into_errors().into_iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            vec![
                "transforms.t.flag",
                "transforms.t.n",
                "transforms.t.missing"
            ]
        );
    }

    #[test]
    fn one_of_is_case_sensitive_like_valid_string() {
        let c = config(&[("p.op", "Copy")]);
        let mut p = Props::new(&c, "p.".into());
        assert_eq!(p.one_of("op", &["move", "copy"], None), None);
        assert!(p.has_errors());
    }
}
