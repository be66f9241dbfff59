//! Lenient parsing as `SimpleDateFormat.parse(String)` does it: fields
//! default to 1970-01-01T00:00:00.000 UTC, out-of-range values roll over
//! (Feb 30 → Mar 2), adjacent numeric fields (`yyyyMMdd`) take exactly their
//! width, others take all digits, and text after the pattern is ignored.

use chrono::{Datelike, NaiveDate, Utc};

use super::{Item, MONTHS, WEEKDAYS};

#[derive(Default)]
struct Fields {
    year: Option<i64>,
    bc: bool,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: i64,
    /// Set by `h`/`K` (hour within AM/PM) rather than `H`/`k`.
    half_day_hour: bool,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    millis: i64,
    offset_minutes: i64,
}

pub(super) fn parse(items: &[Item], text: &str) -> Option<i64> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let mut f = Fields::default();
    for (i, item) in items.iter().enumerate() {
        match item {
            Item::Literal(lit) => {
                for c in lit.chars() {
                    if chars.get(pos) != Some(&c) {
                        return None;
                    }
                    pos += 1;
                }
            }
            Item::Field { letter, count } => {
                let abutting = matches!(items.get(i + 1), Some(Item::Field { letter: next, count: n }) if is_numeric(*next, *n));
                pos = field(&chars, pos, *letter, *count, abutting, &mut f)?;
            }
        }
    }
    resolve(&f)
}

fn is_numeric(letter: char, count: usize) -> bool {
    match letter {
        'M' | 'L' => count <= 2,
        'y' | 'D' | 'd' | 'u' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => true,
        _ => false,
    }
}

fn field(
    chars: &[char],
    pos: usize,
    letter: char,
    count: usize,
    abutting: bool,
    f: &mut Fields,
) -> Option<usize> {
    if !is_numeric(letter, count) {
        return text_field(chars, pos, letter, f);
    }
    let max = if abutting { count } else { usize::MAX };
    let (value, end) = digits(chars, pos, max)?;
    match letter {
        'y' => {
            // "yy" (or "y") with exactly two digits: the century is chosen so
            // the year falls within 80 years before to 20 after now.
            f.year = Some(if count <= 2 && end - pos == 2 {
                two_digit_year(value)
            } else {
                value
            });
        }
        'M' | 'L' => f.month = Some(value),
        'D' => f.day_of_year = Some(value),
        'd' => f.day = Some(value),
        'u' => {}
        'H' => f.hour = value,
        'k' => f.hour = if value == 24 { 0 } else { value },
        'K' => {
            f.hour = value;
            f.half_day_hour = true;
        }
        'h' => {
            f.hour = if value == 12 { 0 } else { value };
            f.half_day_hour = true;
        }
        'm' => f.minute = value,
        's' => f.second = value,
        'S' => f.millis = value,
        _ => return None,
    }
    Some(end)
}

fn digits(chars: &[char], pos: usize, max: usize) -> Option<(i64, usize)> {
    let mut end = pos;
    let mut value: i64 = 0;
    while end < chars.len() && end - pos < max {
        let Some(d) = chars[end].to_digit(10) else {
            break;
        };
        value = value.checked_mul(10)?.checked_add(d as i64)?;
        end += 1;
    }
    (end > pos).then_some((value, end))
}

fn two_digit_year(yy: i64) -> i64 {
    let start = Utc::now().year() as i64 - 80;
    let mut year = start - start.rem_euclid(100) + yy;
    if year < start {
        year += 100;
    }
    year
}

/// Matches the longest of `names` (or their 3-letter forms) at `pos`,
/// ignoring case; returns its index and the end position.
fn name_at(chars: &[char], pos: usize, names: &[&str]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        for candidate in [*name, &name[..3.min(name.len())]] {
            let len = candidate.chars().count();
            let Some(slice) = chars.get(pos..pos + len) else {
                continue;
            };
            let matched = slice
                .iter()
                .zip(candidate.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b));
            if matched && best.is_none_or(|(_, end)| pos + len > end) {
                best = Some((i, pos + len));
            }
        }
    }
    best
}

fn text_field(chars: &[char], pos: usize, letter: char, f: &mut Fields) -> Option<usize> {
    match letter {
        'M' | 'L' => {
            let (i, end) = name_at(chars, pos, &MONTHS)?;
            f.month = Some(i as i64 + 1);
            Some(end)
        }
        'E' => name_at(chars, pos, &WEEKDAYS).map(|(_, end)| end),
        'a' => {
            let (i, end) = name_at(chars, pos, &["AM", "PM"])?;
            f.pm = Some(i == 1);
            Some(end)
        }
        'G' => {
            let (i, end) = name_at(chars, pos, &["AD", "BC"])?;
            f.bc = i == 1;
            Some(end)
        }
        'z' | 'Z' | 'X' => {
            let (offset, end) = zone(chars, pos)?;
            f.offset_minutes = offset;
            Some(end)
        }
        _ => None,
    }
}

/// `Z`, `UTC`/`GMT`/`UT` optionally followed by an offset, or an offset
/// `±hh`, `±hhmm`, `±hh:mm`. Returns minutes east of UTC.
fn zone(chars: &[char], pos: usize) -> Option<(i64, usize)> {
    if chars.get(pos) == Some(&'Z') {
        return Some((0, pos + 1));
    }
    for name in ["UTC", "GMT", "UT"] {
        if let Some((_, end)) = name_at(chars, pos, &[name]).filter(|(_, e)| *e == pos + name.len())
        {
            return Some(offset(chars, end).unwrap_or((0, end)));
        }
    }
    offset(chars, pos)
}

fn offset(chars: &[char], pos: usize) -> Option<(i64, usize)> {
    let sign = match chars.get(pos)? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let (hh, mut end) = digits(chars, pos + 1, 2)?;
    let mut mm = 0;
    let colon = chars.get(end) == Some(&':');
    let start = if colon { end + 1 } else { end };
    if let Some((m, e)) = digits(chars, start, 2).filter(|(_, e)| e - start == 2) {
        mm = m;
        end = e;
    }
    Some((sign * (hh * 60 + mm), end))
}

fn resolve(f: &Fields) -> Option<i64> {
    let mut year = f.year.unwrap_or(1970);
    if f.bc {
        year = 1 - year;
    }
    let date = if f.month.is_none() && f.day.is_none() && f.day_of_year.is_some() {
        let jan1 = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, 1, 1)?;
        add_days(jan1, f.day_of_year.unwrap_or(1) - 1)?
    } else {
        // Lenient month: 13 is January of the next year, 0 December before.
        let months = year
            .checked_mul(12)?
            .checked_add(f.month.unwrap_or(1) - 1)?;
        let y = i32::try_from(months.div_euclid(12)).ok()?;
        let m = months.rem_euclid(12) as u32 + 1;
        add_days(NaiveDate::from_ymd_opt(y, m, 1)?, f.day.unwrap_or(1) - 1)?
    };
    // AM/PM only shifts the 12-hour fields (h, K); H and k are absolute.
    let mut hour = f.hour;
    if f.half_day_hour && f.pm == Some(true) {
        hour += 12;
    }
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    let time = hour
        .checked_mul(3_600_000)?
        .checked_add(f.minute.checked_mul(60_000)?)?
        .checked_add(f.second.checked_mul(1000)?)?
        .checked_add(f.millis)?;
    midnight
        .checked_add(time)?
        .checked_sub(f.offset_minutes.checked_mul(60_000)?)
}

fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    date.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

#[cfg(test)]
mod tests {
    use super::super::DateFormat;

    fn parse(pattern: &str, text: &str) -> Option<i64> {
        DateFormat::new(pattern).unwrap().parse_millis(text).ok()
    }

    #[test]
    fn parses_common_patterns() {
        let t = 1_500_000_000_000;
        assert_eq!(parse("yyyy-MM-dd HH:mm:ss", "2017-07-14 02:40:00"), Some(t));
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ss.SSSX", "2017-07-14T02:40:00.123Z"),
            Some(t + 123)
        );
        assert_eq!(
            parse("yyyy-MM-dd'T'HH:mm:ssXXX", "2017-07-14T04:40:00+02:00"),
            Some(t)
        );
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss Z", "2017-07-13 21:40:00 -0500"),
            Some(t)
        );
        assert_eq!(parse("yyyyMMddHHmmss", "20170714024000"), Some(t));
        assert_eq!(parse("d MMM yyyy h:mm a", "14 jul 2017 2:40 AM"), Some(t));
        assert_eq!(
            parse("EEE, d MMMM yyyy hh:mm a", "Fri, 14 July 2017 12:00 PM"),
            Some(1_500_033_600_000)
        );
        assert_eq!(parse("yyyy-MM-dd", "1970-01-02"), Some(86_400_000));
    }

    #[test]
    fn is_lenient_like_java() {
        // Feb 29 2017 does not exist: rolls to Mar 1; trailing text ignored.
        assert_eq!(
            parse("yyyy-MM-dd", "2017-02-29"),
            parse("yyyy-MM-dd", "2017-03-01")
        );
        assert_eq!(
            parse("yyyy-MM-dd", "2017-03-01 garbage"),
            parse("yyyy-MM-dd", "2017-03-01")
        );
        assert_eq!(
            parse("yyyy-MM-dd", "2017-13-01"),
            parse("yyyy-MM-dd", "2018-01-01")
        );
    }

    #[test]
    fn rejects_mismatches() {
        assert_eq!(parse("yyyy-MM-dd", "2017/07/14"), None);
        assert_eq!(parse("yyyy-MM-dd", "not a date"), None);
        assert_eq!(parse("HH:mm", ""), None);
    }
}
