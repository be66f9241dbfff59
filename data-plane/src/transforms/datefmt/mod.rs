//! `java.text.SimpleDateFormat` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSZ`),
//! always in UTC and English, as `TimestampConverter` and `TimestampRouter`
//! configure them upstream (`format.setTimeZone(UTC)`).
//!
//! We interpret the pattern letters ourselves instead of translating to
//! chrono's strftime: Java's letters count-sensitive (`M` vs `MMM`), `S` is
//! a millisecond *count*, `X` prints `Z` for UTC, and parsing is lenient
//! (month 13 rolls into next year, trailing text is ignored). Those rules are
//! easier to honour directly.

mod parse;

use chrono::{DateTime, Datelike, Timelike, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PatternError {
    #[error("illegal pattern character '{0}'")]
    Illegal(char),
    #[error("pattern letter '{0}' ({1}) is not supported")]
    Unsupported(char, &'static str),
    #[error("unterminated quote")]
    UnterminatedQuote,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Field { letter: char, count: usize },
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct DateFormat {
    pattern: String,
    items: Vec<Item>,
}

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl DateFormat {
    pub(crate) fn new(pattern: &str) -> Result<DateFormat, PatternError> {
        Ok(DateFormat {
            pattern: pattern.to_string(),
            items: compile(pattern)?,
        })
    }

    /// Formats epoch milliseconds in UTC.
    pub(crate) fn format_millis(&self, millis: i64) -> Result<String, String> {
        let t = DateTime::<Utc>::from_timestamp_millis(millis)
            .ok_or_else(|| format!("timestamp {millis} is out of range"))?;
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Field { letter, count } => format_field(&mut out, &t, *letter, *count),
            }
        }
        Ok(out)
    }

    /// Parses text to epoch milliseconds (UTC unless the text has a zone),
    /// with `SimpleDateFormat.parse(String)`'s leniency.
    pub(crate) fn parse_millis(&self, text: &str) -> Result<i64, String> {
        parse::parse(&self.items, text).ok_or_else(|| {
            format!(
                "Could not parse timestamp: value ({text}) does not match pattern ({})",
                self.pattern
            )
        })
    }
}

fn compile(pattern: &str) -> Result<Vec<Item>, PatternError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut items: Vec<Item> = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // '' is a literal quote, in or out of quoted text.
            if chars.get(i + 1) == Some(&'\'') {
                literal.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(PatternError::UnterminatedQuote),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        literal.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&q) => {
                        literal.push(q);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            literal.push(c);
            i += 1;
            continue;
        }
        check_letter(c)?;
        let mut count = 1;
        while chars.get(i + count) == Some(&c) {
            count += 1;
        }
        if !literal.is_empty() {
            items.push(Item::Literal(std::mem::take(&mut literal)));
        }
        items.push(Item::Field { letter: c, count });
        i += count;
    }
    if !literal.is_empty() {
        items.push(Item::Literal(literal));
    }
    Ok(items)
}

fn check_letter(c: char) -> Result<(), PatternError> {
    match c {
        'G' | 'y' | 'M' | 'L' | 'D' | 'd' | 'E' | 'u' | 'a' | 'H' | 'k' | 'K' | 'h' | 'm' | 's'
        | 'S' | 'z' | 'Z' | 'X' => Ok(()),
        'Y' => Err(PatternError::Unsupported(c, "week year; did you mean 'y'?")),
        'w' | 'W' | 'F' => Err(PatternError::Unsupported(c, "week fields")),
        _ => Err(PatternError::Illegal(c)),
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    out.push_str(&format!("{value:0width$}"));
}

fn format_field(out: &mut String, t: &DateTime<Utc>, letter: char, count: usize) {
    let hour = t.hour() as i64;
    match letter {
        'G' => out.push_str(if t.year() > 0 { "AD" } else { "BC" }),
        'y' => {
            // Java prints the year of era: 1 BC is year 0 in chrono.
            let year = if t.year() > 0 { t.year() } else { 1 - t.year() } as i64;
            if count == 2 {
                pad(out, year % 100, 2);
            } else {
                pad(out, year, count);
            }
        }
        'M' | 'L' => {
            let m = t.month() as usize;
            match count {
                1 | 2 => pad(out, m as i64, count),
                3 => out.push_str(&MONTHS[m - 1][..3]),
                _ => out.push_str(MONTHS[m - 1]),
            }
        }
        'D' => pad(out, t.ordinal() as i64, count),
        'd' => pad(out, t.day() as i64, count),
        'E' => {
            let name = WEEKDAYS[t.weekday().num_days_from_monday() as usize];
            out.push_str(if count >= 4 { name } else { &name[..3] });
        }
        'u' => pad(out, t.weekday().number_from_monday() as i64, count),
        'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
        'H' => pad(out, hour, count),
        'k' => pad(out, if hour == 0 { 24 } else { hour }, count),
        'K' => pad(out, hour % 12, count),
        'h' => pad(out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
        'm' => pad(out, t.minute() as i64, count),
        's' => pad(out, t.second() as i64, count),
        'S' => pad(out, (t.nanosecond() / 1_000_000) as i64, count),
        'z' => out.push_str(if count >= 4 {
            "Coordinated Universal Time"
        } else {
            "UTC"
        }),
        'Z' => out.push_str("+0000"),
        'X' => out.push('Z'),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_500_000_000_123; // 2017-07-14T02:40:00.123Z, a Friday

    fn fmt(pattern: &str, millis: i64) -> String {
        DateFormat::new(pattern)
            .unwrap()
            .format_millis(millis)
            .unwrap()
    }

    #[test]
    fn formats_common_patterns() {
        assert_eq!(fmt("yyyy-MM-dd HH:mm:ss", T), "2017-07-14 02:40:00");
        assert_eq!(
            fmt("yyyy-MM-dd'T'HH:mm:ss.SSSX", T),
            "2017-07-14T02:40:00.123Z"
        );
        assert_eq!(fmt("yyyyMMdd", T), "20170714");
        assert_eq!(fmt("yy/M/d h:mm a Z", T), "17/7/14 2:40 AM +0000");
        assert_eq!(fmt("EEE, d MMM yyyy", T), "Fri, 14 Jul 2017");
        assert_eq!(
            fmt("EEEE MMMM D 'o''clock' ''", T),
            "Friday July 195 o'clock '"
        );
        assert_eq!(fmt("S", 5), "5");
        assert_eq!(fmt("SSSSSS", 5), "000005");
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(
            DateFormat::new("yyyy-bb").unwrap_err(),
            PatternError::Illegal('b')
        );
        assert_eq!(
            DateFormat::new("'oops").unwrap_err(),
            PatternError::UnterminatedQuote
        );
        assert!(matches!(
            DateFormat::new("YYYY"),
            Err(PatternError::Unsupported('Y', _))
        ));
    }
}
