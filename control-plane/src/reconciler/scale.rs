//! How many workers the load needs, with scale-up at once and scale-down
//! only after the need has stayed lower for a cooldown.

use std::time::{Duration, Instant};

/// Workers needed for `total_weight` units at `capacity` units each.
pub fn workers_needed(total_weight: u64, capacity: u32, max_workers: u32) -> u32 {
    let capacity = u64::from(capacity.max(1));
    let n = total_weight.div_ceil(capacity);
    n.min(u64::from(max_workers)) as u32
}

#[derive(Debug)]
pub struct Scaler {
    cooldown: Duration,
    low_since: Option<Instant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Hold,
    Up(u32),
    Down(u32),
}

impl Scaler {
    pub fn new(cooldown: Duration) -> Scaler {
        Scaler {
            cooldown,
            low_since: None,
        }
    }

    pub fn decide(&mut self, current: u32, needed: u32, now: Instant) -> Decision {
        if needed > current {
            self.low_since = None;
            return Decision::Up(needed);
        }
        if needed == current {
            self.low_since = None;
            return Decision::Hold;
        }
        let since = *self.low_since.get_or_insert(now);
        if now.duration_since(since) >= self.cooldown {
            Decision::Down(needed)
        } else {
            Decision::Hold
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_rounds_up_and_caps() {
        assert_eq!(workers_needed(0, 8, 16), 0);
        assert_eq!(workers_needed(1, 8, 16), 1);
        assert_eq!(workers_needed(9, 8, 16), 2);
        assert_eq!(workers_needed(1000, 8, 16), 16);
    }

    #[test]
    fn scales_up_at_once_and_down_after_cooldown() {
        let mut s = Scaler::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(s.decide(0, 2, t0), Decision::Up(2));
        assert_eq!(s.decide(2, 0, t0), Decision::Hold);
        assert_eq!(s.decide(2, 0, t0 + Duration::from_secs(3)), Decision::Hold);
        assert_eq!(
            s.decide(2, 0, t0 + Duration::from_secs(5)),
            Decision::Down(0)
        );
        // A rise in between restarts the cooldown.
        assert_eq!(s.decide(2, 1, t0), Decision::Hold);
        assert_eq!(s.decide(2, 2, t0 + Duration::from_secs(1)), Decision::Hold);
        assert_eq!(s.decide(2, 1, t0 + Duration::from_secs(2)), Decision::Hold);
    }
}
