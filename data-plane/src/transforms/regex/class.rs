//! Character classes: sorted, merged ranges with negation over all of
//! Unicode and Java's ASCII-only case folding.

/// A set of chars as sorted, inclusive ranges.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Class {
    pub(super) ranges: Vec<(char, char)>,
}

impl Class {
    pub(super) fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
    }

    pub(super) fn normalize(mut ranges: Vec<(char, char)>) -> Class {
        ranges.sort();
        let mut out: Vec<(char, char)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match out.last_mut() {
                Some(last) if (lo as u32) <= (last.1 as u32).saturating_add(1) => {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                }
                _ => out.push((lo, hi)),
            }
        }
        Class { ranges: out }
    }

    pub(super) fn negate(&self) -> Class {
        let mut out = Vec::new();
        let mut next: u32 = 0;
        for &(lo, hi) in &self.ranges {
            if (lo as u32) > next {
                push_range(&mut out, next, lo as u32 - 1);
            }
            next = hi as u32 + 1;
        }
        if next <= char::MAX as u32 {
            push_range(&mut out, next, char::MAX as u32);
        }
        Class { ranges: out }
    }

    /// Adds the other ASCII case of every letter (Java's default
    /// `CASE_INSENSITIVE` is ASCII-only).
    pub(super) fn fold_ascii_case(&self) -> Class {
        let mut ranges = self.ranges.clone();
        for &(lo, hi) in &self.ranges {
            for (a, z, delta) in [('a', 'z', -32i32), ('A', 'Z', 32)] {
                let lo2 = lo.max(a);
                let hi2 = hi.min(z);
                if lo2 <= hi2 {
                    let shift = |c: char| char::from_u32((c as i32 + delta) as u32).unwrap_or(c);
                    ranges.push((shift(lo2), shift(hi2)));
                }
            }
        }
        Class::normalize(ranges)
    }
}

/// Pushes `[lo, hi]` minus the surrogate gap, which `char` cannot hold.
fn push_range(out: &mut Vec<(char, char)>, lo: u32, hi: u32) {
    let pieces = [(lo, hi.min(0xD7FF)), (lo.max(0xE000), hi)];
    for (a, b) in pieces {
        if a <= b {
            if let (Some(a), Some(b)) = (char::from_u32(a), char::from_u32(b)) {
                out.push((a, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_covers_the_rest_of_unicode() {
        let digits = Class::normalize(vec![('0', '9')]);
        let not = digits.negate();
        assert!(not.matches('a'));
        assert!(not.matches('\u{10FFFF}'));
        assert!(!not.matches('5'));
    }

    #[test]
    fn case_folding_is_ascii() {
        let c = Class::normalize(vec![('a', 'c')]).fold_ascii_case();
        assert!(c.matches('B'));
        assert!(!c.matches('D'));
    }
}
