//! Java (`java.util.regex`) patterns for the SMTs that take one:
//! `TopicNameMatches.pattern` and `RegexRouter.regex` / `replacement`.
//!
//! Matching is fancy-regex's: Java's backtracking syntax (look-around,
//! back-references, atomic groups, possessive quantifiers) on top of the
//! `regex` crate, which runs every part without those features in linear
//! time. This module only bridges what differs from Java:
//!
//! * upstream calls `Matcher.matches()`, a whole-input match, so the pattern
//!   is anchored as `\A(?:pattern)\z` (a prefix match does not count, and
//!   `a|ab` matches "ab" as in Java);
//! * `\Q…\E` quoting, which the crate does not parse, becomes escaped text;
//! * replacements use Java's `Matcher.appendReplacement` syntax (`$1`,
//!   `${name}`, `\$`), where `$1a` is group 1 then `a`; they are checked
//!   against the pattern's groups at config time and translated to the
//!   crate's `${1}a` form.
//!
//! Java's `\w`, `\d`, `\b` and `(?i)` are ASCII-only where the crate's are
//! Unicode; Kafka topic names are ASCII (`[a-zA-Z0-9._-]`), so they agree
//! on every topic.

use fancy_regex::Captures;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Error(String);

/// A Java pattern matched against the whole input.
#[derive(Debug)]
pub(crate) struct Regex {
    whole: fancy_regex::Regex,
    pattern: String,
}

impl Regex {
    pub(crate) fn new(pattern: &str) -> Result<Regex, Error> {
        let translated = unquote(pattern);
        match fancy_regex::Regex::new(&format!(r"\A(?:{translated})\z")) {
            Ok(whole) => Ok(Regex {
                whole,
                pattern: pattern.to_string(),
            }),
            // Report the error against the user's own pattern so positions
            // point into what they wrote, not into the anchored form.
            Err(anchored) => Err(Error(
                fancy_regex::Regex::new(&translated)
                    .err()
                    .unwrap_or(anchored)
                    .to_string(),
            )),
        }
    }

    /// Whether the whole text matches, like Java's `Matcher.matches()`.
    pub(crate) fn is_full_match(&self, text: &str) -> Result<bool, Error> {
        self.whole
            .is_match(text)
            .map_err(|e| self.match_error(text, e))
    }

    /// The groups of a whole-text match; `None` when it does not match.
    pub(crate) fn full_captures<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, Error> {
        self.whole
            .captures(text)
            .map_err(|e| self.match_error(text, e))
    }

    /// Only look-around/back-reference patterns can fail here: the crate
    /// stops runaway backtracking (where Java would spin) with an error.
    fn match_error(&self, text: &str, e: fancy_regex::Error) -> Error {
        Error(format!(
            "could not match '{text}' against pattern '{}': {e}",
            self.pattern
        ))
    }

    /// Parses a Java replacement string against this pattern's groups,
    /// rejecting references Java would reject at match time.
    pub(crate) fn replacement(&self, text: &str) -> Result<Replacement, Error> {
        let groups = self.whole.captures_len() - 1;
        let names: Vec<&str> = self.whole.capture_names().flatten().collect();
        Replacement::parse(text, groups, &names)
    }
}

/// Java's `\Q…\E` (quote everything up to `\E` or the end) as escaped text.
fn unquote(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(quoted) = after.strip_prefix('Q') {
            let (text, tail) = quoted.split_once(r"\E").unwrap_or((quoted, ""));
            out.push_str(&fancy_regex::escape(text));
            rest = tail;
        } else {
            // Copy the escape whole so `\\Q` stays a backslash then `Q`.
            let len = after.chars().next().map_or(0, char::len_utf8);
            out.push('\\');
            out.push_str(&after[..len]);
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

/// A Java replacement, held as a template in the crate's syntax.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    template: String,
}

impl Replacement {
    /// Follows `Matcher.appendExpandedReplacement`.
    fn parse(text: &str, groups: usize, names: &[&str]) -> Result<Replacement, Error> {
        let mut template = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('$') => template.push_str("$$"),
                    Some(next) => template.push(next),
                    None => return Err(Error("character to be escaped is missing".into())),
                },
                '$' if chars.peek() == Some(&'{') => {
                    chars.next();
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => {
                                return Err(Error(
                                    "named capturing group is missing trailing '}'".into(),
                                ))
                            }
                        }
                    }
                    if !names.contains(&name.as_str()) {
                        return Err(Error(format!("no group with name {{{name}}}")));
                    }
                    template.push_str(&format!("${{{name}}}"));
                }
                '$' => {
                    let Some(group) = chars.peek().and_then(|c| c.to_digit(10)) else {
                        return Err(Error(
                            "illegal group reference: group index is missing".into(),
                        ));
                    };
                    chars.next();
                    let mut group = group as usize;
                    if group > groups {
                        return Err(Error(format!("no group {group}")));
                    }
                    // Java takes further digits only while they still name
                    // a group: with 2 groups, "$12" is group 1 then "2".
                    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let longer = group * 10 + d as usize;
                        if longer > groups {
                            break;
                        }
                        group = longer;
                        chars.next();
                    }
                    template.push_str(&format!("${{{group}}}"));
                }
                c => template.push(c),
            }
        }
        Ok(Replacement { template })
    }

    /// Expands against a match's groups; groups that did not take part
    /// expand to nothing, as in Java.
    pub(crate) fn expand(&self, captures: &Captures<'_>) -> String {
        let mut out = String::new();
        captures.expand(&self.template, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_full_match(text).unwrap()
    }

    /// The topic `replacement` gives `text`, as RegexRouter computes it.
    fn route(pattern: &str, replacement: &str, text: &str) -> Option<String> {
        let re = Regex::new(pattern).unwrap();
        let replacement = re.replacement(replacement).unwrap();
        let captures = re.full_captures(text).unwrap()?;
        Some(replacement.expand(&captures))
    }

    #[test]
    fn matches_the_whole_text_like_java_matches() {
        assert!(matches("foo", "foo"));
        assert!(!matches("foo", "foobar"));
        assert!(!matches("bar", "foobar"));
        assert!(matches("foo.*", "foobar"));
        assert!(matches("^orders$", "orders"));
        // Java backtracks into later alternatives to reach the end.
        assert!(matches("a|ab", "ab"));
        assert!(matches("(orders|users)-[0-9]+", "users-42"));
        assert!(!matches("(orders|users)-\\d+", "users-"));
        assert!(matches("a{2,3}b?", "aaa"));
        assert!(!matches("a{2,3}", "aaaa"));
        assert!(matches("[^.]+\\.v\\d", "db.v1"));
        assert!(matches("(?i)ORDERS", "orders"));
        assert!(matches("[\\w.-]+", "my-topic.v1_x"));
        assert!(matches("\\x41\\u0042", "AB"));
        // A multi-line flag inside the pattern does not loosen the anchors.
        assert!(!matches("(?m)a$", "a\nb"));
    }

    #[test]
    fn quotes_like_java() {
        assert!(matches("\\Qa.b\\E", "a.b"));
        assert!(!matches("\\Qa.b\\E", "axb"));
        assert!(matches("db\\Q.(x)*", "db.(x)*"));
        assert!(matches("\\\\Q", "\\Q"));
    }

    #[test]
    fn look_around_and_back_references() {
        // Topics of the form <name>.<name>.
        assert!(matches("(\\w+)\\.\\1", "orders.orders"));
        assert!(!matches("(\\w+)\\.\\1", "orders.users"));
        // Every topic but the internal ones.
        assert!(matches("(?!_).*", "orders"));
        assert!(!matches("(?!_).*", "_schemas"));
        assert_eq!(
            route("(.*)(?<=-v\\d)", "$1-archive", "orders-v2").as_deref(),
            Some("orders-v2-archive")
        );
    }

    #[test]
    fn lookahead_routes_only_what_follows() {
        assert_eq!(
            route("(\\w+)(?=-dev)-dev", "$1", "orders-dev").as_deref(),
            Some("orders")
        );
        assert_eq!(route("(\\w+)(?=-dev).*", "$1", "orders-prod"), None);
    }

    #[test]
    fn invalid_patterns_are_errors_naming_the_problem() {
        let e = Regex::new("(orders").unwrap_err().to_string();
        assert!(e.contains("parenthesis"), "{e}");
        assert!(Regex::new("[a-").is_err());
    }

    #[test]
    fn captures_follow_java_priority() {
        assert_eq!(
            route("(.*)-(.*)", "$1|$2", "a-b-c").as_deref(),
            Some("a-b|c")
        );
        assert_eq!(
            route("(.*?)-(.*)", "$1|$2", "a-b-c").as_deref(),
            Some("a|b-c")
        );
        // A group that did not take part expands to nothing.
        assert_eq!(route("(a)|b", "[$1]", "b").as_deref(), Some("[]"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(5_000) + "b";
        assert!(!matches("(a*)*c", &text));
        assert!(!matches("(a|aa)+c", &text));
    }

    #[test]
    fn java_group_reference_is_followed_by_literal_text() {
        // In the crate's own syntax `$1_suffix` names a group "1_suffix".
        assert_eq!(
            route("(.*)", "$1_suffix", "orders").as_deref(),
            Some("orders_suffix")
        );
        assert_eq!(
            route("(.*)", "$1abc", "orders").as_deref(),
            Some("ordersabc")
        );
        // With one group, "$12" is group 1 then "2"; with twelve, group 12.
        assert_eq!(route("(.*)", "$12", "orders").as_deref(), Some("orders2"));
        let twelve = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)";
        assert_eq!(
            route(twelve, "$12-$1", "abcdefghijkl").as_deref(),
            Some("l-a")
        );
        assert_eq!(
            route("(?<db>[^.]+)\\.(.*)", "${db}-$2_x", "shop.orders").as_deref(),
            Some("shop-orders_x")
        );
    }

    #[test]
    fn replacement_escapes_and_bad_references() {
        assert_eq!(route("(.*)", "\\$1-\\\\", "t").as_deref(), Some("$1-\\"));
        assert_eq!(route("(.*)", "cost\\$$1", "t").as_deref(), Some("cost$t"));
        let re = Regex::new("(?<db>[^.]+)\\.(.*)").unwrap();
        assert_eq!(re.replacement("$3").unwrap_err().to_string(), "no group 3");
        assert_eq!(
            re.replacement("${nope}").unwrap_err().to_string(),
            "no group with name {nope}"
        );
        assert!(re.replacement("${db").is_err());
        assert!(re.replacement("cost$").is_err());
        assert!(re.replacement("$x").is_err());
        assert!(re.replacement("trailing\\").is_err());
    }
}
