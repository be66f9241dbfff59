//! A small `java.util.regex` work-alike for the two places SMTs use regular
//! expressions: `TopicNameMatches.pattern` and `RegexRouter.regex` /
//! `replacement`. Both only need whole-string matching (`Matcher.matches`)
//! plus Java's `$1` / `${name}` replacement syntax.
//!
//! Why not the `regex` crate: users write Java patterns, and the crate's
//! syntax differs in places that matter here (replacement `$1a` means group
//! `1a` there, group 1 then `a` in Java); owning the subset lets us match
//! Java's behaviour and reject what we cannot honour.

mod class;
mod parse;
mod vm;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Error(pub(crate) String);

#[derive(Debug, Clone)]
pub(crate) struct Regex {
    prog: Vec<vm::Inst>,
    groups: usize,
    names: Vec<(String, usize)>,
}

impl Regex {
    pub(crate) fn new(pattern: &str) -> Result<Regex, Error> {
        let parsed = parse::parse(pattern)?;
        let prog = vm::compile(&parsed.node)?;
        Ok(Regex {
            prog,
            groups: parsed.groups,
            names: parsed.names,
        })
    }

    /// Whether the whole text matches, like Java's `Matcher.matches()`.
    pub(crate) fn is_full_match(&self, text: &str) -> bool {
        self.full_captures(text).is_some()
    }

    /// Group texts of a whole-text match (index 0 is the whole text);
    /// `None` entries are groups that did not take part.
    pub(crate) fn full_captures(&self, text: &str) -> Option<Vec<Option<String>>> {
        let chars: Vec<char> = text.chars().collect();
        let slots = vm::full_match(&self.prog, 2 * (self.groups + 1), &chars)?;
        Some(
            slots
                .chunks(2)
                .map(|pair| match pair {
                    [Some(a), Some(b)] if a <= b => Some(chars[*a..*b].iter().collect()),
                    _ => None,
                })
                .collect(),
        )
    }

    /// Parses a Java replacement string against this pattern's groups,
    /// rejecting references Java would reject at match time.
    pub(crate) fn replacement(&self, text: &str) -> Result<Replacement, Error> {
        Replacement::parse(text, self.groups, &self.names)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Group(usize),
}

/// A parsed `Matcher.appendReplacement` template.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

impl Replacement {
    fn parse(text: &str, groups: usize, names: &[(String, usize)]) -> Result<Replacement, Error> {
        let chars: Vec<char> = text.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '\\' => {
                    let Some(&next) = chars.get(i) else {
                        return Err(Error("character to be escaped is missing".into()));
                    };
                    literal.push(next);
                    i += 1;
                }
                '$' => {
                    let group = match chars.get(i) {
                        Some('{') => {
                            let close = chars[i..].iter().position(|&c| c == '}').map(|p| p + i);
                            let Some(close) = close else {
                                return Err(Error(
                                    "named capturing group is missing trailing '}'".into(),
                                ));
                            };
                            let name: String = chars[i + 1..close].iter().collect();
                            i = close + 1;
                            names
                                .iter()
                                .find(|(n, _)| *n == name)
                                .map(|(_, g)| *g)
                                .ok_or_else(|| Error(format!("no group with name {{{name}}}")))?
                        }
                        Some(d) if d.is_ascii_digit() => {
                            // Java takes as many digits as still name a group:
                            // with 2 groups, "$12" is group 1 then "2".
                            let mut group = d.to_digit(10).unwrap_or(0) as usize;
                            if group > groups {
                                return Err(Error(format!("no group {group}")));
                            }
                            i += 1;
                            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                                let longer = group * 10 + d as usize;
                                if longer > groups {
                                    break;
                                }
                                group = longer;
                                i += 1;
                            }
                            group
                        }
                        _ => {
                            return Err(Error(
                                "illegal group reference: group index is missing".into(),
                            ))
                        }
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Group(group));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }

    /// Expands against captures from [`Regex::full_captures`]; groups that
    /// did not participate expand to nothing, as in Java.
    pub(crate) fn expand(&self, captures: &[Option<String>]) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(g) => {
                    if let Some(Some(text)) = captures.get(*g) {
                        out.push_str(text);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_full_match(text)
    }

    fn groups(pattern: &str, text: &str) -> Vec<Option<String>> {
        Regex::new(pattern).unwrap().full_captures(text).unwrap()
    }

    #[test]
    fn whole_string_semantics() {
        assert!(matches("foo", "foo"));
        assert!(!matches("foo", "foobar"));
        assert!(matches("foo.*", "foobar"));
        assert!(matches("^orders$", "orders"));
        assert!(matches("(orders|users)-[0-9]+", "users-42"));
        assert!(!matches("(orders|users)-\\d+", "users-"));
        assert!(matches("a{2,3}b?", "aaa"));
        assert!(!matches("a{2,3}", "aaaa"));
        assert!(matches("[^.]+\\.v\\d", "db.v1"));
        assert!(matches("[^.]+\\.[^.]+", "db.table"));
        assert!(matches("(?i)ORDERS", "orders"));
        assert!(matches("\\Qa.b\\E", "a.b"));
        assert!(!matches("\\Qa.b\\E", "axb"));
        assert!(matches("[a-c-]+", "a-b-c"));
    }

    #[test]
    fn quantifiers_anchors_and_classes() {
        assert!(matches("(a|b)*c", "ababc"));
        assert!(matches("x{0,3}y", "xxy"));
        assert!(!matches("x{0,3}y", "xxxxy"));
        assert!(matches("(a|)b", "b"));
        assert!(matches("[]a]+", "]a]"));
        assert!(matches("orders$\n?", "orders\n"));
        assert!(matches("\\bdb\\b.*", "db.orders"));
        assert!(!matches("\\Bdb.*", "db.orders"));
        assert!(matches("[\\w.-]+", "my-topic.v1_x"));
        assert!(!matches("\\S+", "a b"));
        assert!(matches("\\x41\\u0042\\0103", "ABC"));
        assert!(matches("(?i:a)b", "Ab"));
        assert!(!matches("(?i:a)b", "AB"));
        assert!(!matches(".", "\n"));
        assert!(matches("(?s).", "\n"));
    }

    #[test]
    fn captures_follow_java_priority() {
        assert_eq!(
            groups("(.*)-(.*)", "a-b-c"),
            vec![Some("a-b-c".into()), Some("a-b".into()), Some("c".into())]
        );
        assert_eq!(groups("(.*?)-(.*)", "a-b-c")[1], Some("a".into()));
        assert_eq!(groups("(a)|b", "b")[1], None);
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(200) + "b";
        assert!(!matches("(a*)*c", &text));
        assert!(!matches("(a|aa)+c", &text));
    }

    #[test]
    fn replacement_uses_java_group_syntax() {
        let re = Regex::new("(?<db>[^.]+)\\.(.*)").unwrap();
        let caps = re.full_captures("shop.orders").unwrap();
        assert_eq!(
            re.replacement("prod_$2").unwrap().expand(&caps),
            "prod_orders"
        );
        assert_eq!(
            re.replacement("${db}-$21").unwrap().expand(&caps),
            "shop-orders1"
        );
        assert_eq!(re.replacement("\\$1").unwrap().expand(&caps), "$1");
        assert!(re.replacement("$3").is_err());
        assert!(re.replacement("${nope}").is_err());
        assert!(re.replacement("cost$").is_err());
    }
}
