//! Parser for the subset of `java.util.regex.Pattern` syntax that topic
//! patterns use: literals, `.`, classes, `\d \w \s` (and negations),
//! groups (capturing, `(?:…)`, `(?<name>…)`), alternation, greedy and lazy
//! quantifiers, `^ $ \A \z \Z \b \B`, `\Q…\E`, inline flags `i` and `s`.
//!
//! Constructs whose semantics we do not implement (back-references,
//! look-around, possessive quantifiers, `\p{…}`, class unions) are rejected
//! at config time rather than silently matching differently from Java.

use super::class::Class;
use super::Error;

/// Upper bound on `{n,m}` counts: repetition is compiled by copying.
const MAX_REPEAT: u32 = 1000;

#[derive(Debug, Clone)]
pub(super) enum Node {
    Empty,
    Char(char),
    Class(Class),
    /// `.` without DOTALL: anything but a line terminator.
    Any,
    /// `.` with `(?s)`.
    AnyAll,
    Start,
    /// `$` / `\Z`: end of input, or before a final line terminator.
    End,
    /// `\z`
    EndAbsolute,
    WordBoundary(bool),
    Group(Box<Node>, Option<usize>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
}

#[derive(Clone, Copy, Default)]
struct Flags {
    case_insensitive: bool,
    dot_all: bool,
}

pub(super) struct Parsed {
    pub(super) node: Node,
    pub(super) groups: usize,
    pub(super) names: Vec<(String, usize)>,
}

pub(super) fn parse(pattern: &str) -> Result<Parsed, Error> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        groups: 0,
        names: Vec::new(),
        flags: Flags::default(),
    };
    let node = p.alternation()?;
    if p.pos < p.chars.len() {
        // Only an unbalanced ')' stops the top-level alternation early.
        return Err(p.error("unmatched closing ')'"));
    }
    Ok(Parsed {
        node,
        groups: p.groups,
        names: p.names,
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    groups: usize,
    names: Vec<(String, usize)>,
    flags: Flags,
}

impl Parser {
    fn error(&self, message: &str) -> Error {
        Error(format!("{message} near index {}", self.pos))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn alternation(&mut self) -> Result<Node, Error> {
        let mut branches = vec![self.concat()?];
        while self.eat('|') {
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, Error> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let Some(atom) = self.atom()? else { continue };
            let atom = self.quantified(atom)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// One atom; `None` for constructs that match nothing themselves (a
    /// bare flag group like `(?i)`).
    fn atom(&mut self) -> Result<Option<Node>, Error> {
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        self.pos += 1;
        let node = match c {
            '(' => return self.group(),
            '[' => Node::Class(self.class()?),
            '.' if self.flags.dot_all => Node::AnyAll,
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => return self.escape(),
            '*' | '+' | '?' => return Err(self.error(&format!("dangling meta character '{c}'"))),
            '{' => return Err(self.error("illegal repetition '{'")),
            c => self.literal(c),
        };
        Ok(Some(node))
    }

    fn literal(&self, c: char) -> Node {
        if self.flags.case_insensitive && c.is_ascii_alphabetic() {
            Node::Class(Class::normalize(vec![(c, c)]).fold_ascii_case())
        } else {
            Node::Char(c)
        }
    }

    fn group(&mut self) -> Result<Option<Node>, Error> {
        let saved = self.flags;
        let mut capture = None;
        if self.eat('?') {
            match self.peek() {
                Some(':') => self.pos += 1,
                Some('<') if !matches!(self.peek_at(1), Some('=') | Some('!')) => {
                    self.pos += 1;
                    let name = self.group_name()?;
                    self.groups += 1;
                    self.names.push((name, self.groups));
                    capture = Some(self.groups);
                }
                Some('=') | Some('!') | Some('<') | Some('>') => {
                    return Err(self.error("look-around and atomic groups are not supported"))
                }
                _ => {
                    // Inline flags: `(?i)` changes the rest of the enclosing
                    // group, `(?i:X)` only X.
                    let mut on = true;
                    loop {
                        match self.peek() {
                            Some('i') => self.flags.case_insensitive = on,
                            Some('s') => self.flags.dot_all = on,
                            Some('-') => on = false,
                            Some(')') => {
                                self.pos += 1;
                                return Ok(None);
                            }
                            Some(':') => {
                                self.pos += 1;
                                break;
                            }
                            Some(f) => {
                                return Err(self.error(&format!("unsupported inline flag '{f}'")))
                            }
                            None => return Err(self.error("unclosed group")),
                        }
                        self.pos += 1;
                    }
                }
            }
        } else {
            self.groups += 1;
            capture = Some(self.groups);
        }
        let inner = self.alternation()?;
        if !self.eat(')') {
            return Err(self.error("unclosed group"));
        }
        self.flags = saved;
        Ok(Some(Node::Group(Box::new(inner), capture)))
    }

    fn group_name(&mut self) -> Result<String, Error> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            if c == '>' {
                let valid = name.chars().next().is_some_and(|f| f.is_ascii_alphabetic());
                if !valid {
                    return Err(self.error("group name must start with a letter"));
                }
                if self.names.iter().any(|(n, _)| *n == name) {
                    return Err(self.error(&format!("named group '{name}' is already defined")));
                }
                return Ok(name);
            }
            if !c.is_ascii_alphanumeric() {
                return Err(self.error("named group names may contain only letters and digits"));
            }
            name.push(c);
        }
        Err(self.error("unclosed group name"))
    }

    fn quantified(&mut self, node: Node) -> Result<Node, Error> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.pos += 1;
                return self.counted(node);
            }
            _ => return Ok(node),
        };
        self.pos += 1;
        self.finish_repeat(node, min, max)
    }

    fn counted(&mut self, node: Node) -> Result<Node, Error> {
        let min = self
            .number()
            .ok_or_else(|| self.error("illegal repetition"))?;
        let max = if self.eat(',') {
            if self.peek() == Some('}') {
                None
            } else {
                Some(
                    self.number()
                        .ok_or_else(|| self.error("illegal repetition"))?,
                )
            }
        } else {
            Some(min)
        };
        if !self.eat('}') {
            return Err(self.error("unclosed counted closure"));
        }
        if max.is_some_and(|m| m < min) {
            return Err(self.error("illegal repetition range"));
        }
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
            return Err(self.error(&format!(
                "repetition counts above {MAX_REPEAT} are not supported"
            )));
        }
        self.finish_repeat(node, min, max)
    }

    fn finish_repeat(&mut self, node: Node, min: u32, max: Option<u32>) -> Result<Node, Error> {
        let greedy = !self.eat('?');
        if greedy && self.peek() == Some('+') {
            return Err(self.error("possessive quantifiers are not supported"));
        }
        Ok(Node::Repeat {
            node: Box::new(node),
            min,
            max,
            greedy,
        })
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        text.parse().ok()
    }

    fn escape(&mut self) -> Result<Option<Node>, Error> {
        let Some(c) = self.peek() else {
            return Err(self.error("trailing backslash"));
        };
        self.pos += 1;
        let node = match c {
            'b' => Node::WordBoundary(true),
            'B' => Node::WordBoundary(false),
            'A' => Node::Start,
            'z' => Node::EndAbsolute,
            'Z' => Node::End,
            'Q' => {
                let mut items = Vec::new();
                while self.pos < self.chars.len() {
                    if self.peek() == Some('\\') && self.peek_at(1) == Some('E') {
                        self.pos += 2;
                        break;
                    }
                    let ch = self.chars[self.pos];
                    items.push(self.literal(ch));
                    self.pos += 1;
                }
                Node::Group(Box::new(Node::Concat(items)), None)
            }
            '1'..='9' | 'k' => return Err(self.error("back-references are not supported")),
            _ => match self.escape_class_or_char(c)? {
                Escaped::Class(class) => Node::Class(class),
                Escaped::Char(ch) => self.literal(ch),
            },
        };
        Ok(Some(node))
    }

    /// Escapes valid both inside and outside a class.
    fn escape_class_or_char(&mut self, c: char) -> Result<Escaped, Error> {
        let class = |ranges: &[(char, char)], negate: bool| {
            let class = Class::normalize(ranges.to_vec());
            Escaped::Class(if negate { class.negate() } else { class })
        };
        const DIGIT: &[(char, char)] = &[('0', '9')];
        const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
        const SPACE: &[(char, char)] = &[('\t', '\r'), (' ', ' ')];
        Ok(match c {
            'd' => class(DIGIT, false),
            'D' => class(DIGIT, true),
            'w' => class(WORD, false),
            'W' => class(WORD, true),
            's' => class(SPACE, false),
            'S' => class(SPACE, true),
            't' => Escaped::Char('\t'),
            'n' => Escaped::Char('\n'),
            'r' => Escaped::Char('\r'),
            'f' => Escaped::Char('\x0C'),
            'a' => Escaped::Char('\x07'),
            'e' => Escaped::Char('\x1B'),
            '0' => Escaped::Char(self.code_point(8, 3, "illegal octal escape")?),
            'x' => {
                if self.eat('{') {
                    let c = self.code_point(16, 8, "illegal hexadecimal escape")?;
                    if !self.eat('}') {
                        return Err(self.error("unclosed hexadecimal escape"));
                    }
                    Escaped::Char(c)
                } else {
                    Escaped::Char(self.fixed_hex(2)?)
                }
            }
            'u' => Escaped::Char(self.fixed_hex(4)?),
            'p' | 'P' => return Err(self.error("\\p{…} character properties are not supported")),
            c if c.is_ascii_alphanumeric() => {
                return Err(self.error(&format!("illegal/unsupported escape sequence '\\{c}'")))
            }
            c => Escaped::Char(c),
        })
    }

    fn code_point(&mut self, radix: u32, max_digits: usize, message: &str) -> Result<char, Error> {
        let start = self.pos;
        while self.pos - start < max_digits && self.peek().is_some_and(|c| c.is_digit(radix)) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        u32::from_str_radix(&text, radix)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error(message))
    }

    fn fixed_hex(&mut self, digits: usize) -> Result<char, Error> {
        let end = self.pos + digits;
        if end > self.chars.len()
            || !self.chars[self.pos..end]
                .iter()
                .all(|c| c.is_ascii_hexdigit())
        {
            return Err(self.error("illegal hexadecimal escape"));
        }
        self.code_point(16, digits, "illegal hexadecimal escape")
    }

    fn class(&mut self) -> Result<Class, Error> {
        let negated = self.eat('^');
        let mut ranges: Vec<(char, char)> = Vec::new();
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unclosed character class"));
            };
            self.pos += 1;
            match c {
                ']' if !first => break,
                '[' => return Err(self.error("nested character classes are not supported")),
                '&' if self.peek() == Some('&') => {
                    return Err(self.error("character class intersections are not supported"))
                }
                _ => {}
            }
            first = false;
            let lo = if c == '\\' {
                let Some(e) = self.peek() else {
                    return Err(self.error("unclosed character class"));
                };
                self.pos += 1;
                match self.escape_class_or_char(e)? {
                    Escaped::Class(class) => {
                        ranges.extend(class.ranges);
                        continue;
                    }
                    Escaped::Char(ch) => ch,
                }
            } else {
                c
            };
            // `a-z`, but a '-' before ']' is literal.
            if self.peek() == Some('-') && !matches!(self.peek_at(1), Some(']') | None) {
                self.pos += 1;
                let Some(mut hi) = self.peek() else {
                    return Err(self.error("unclosed character class"));
                };
                self.pos += 1;
                if hi == '\\' {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unclosed character class"));
                    };
                    self.pos += 1;
                    hi = match self.escape_class_or_char(e)? {
                        Escaped::Char(ch) => ch,
                        Escaped::Class(_) => return Err(self.error("illegal character range")),
                    };
                }
                if hi < lo {
                    return Err(self.error("illegal character range"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        let mut class = Class::normalize(ranges);
        if self.flags.case_insensitive {
            class = class.fold_ascii_case();
        }
        Ok(if negated { class.negate() } else { class })
    }
}

enum Escaped {
    Class(Class),
    Char(char),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_we_do_not_implement() {
        for bad in [
            r"(a)\1", "(?=a)", "a++", r"\p{L}", "[a[b]]", "(a", "a)", "*a", "a{2,1}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
