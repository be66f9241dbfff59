//! Abuse controls: per-credential rate limits (GCRA, via `governor`), a
//! lock-out after repeated failed sign-ins, and the request body limit.
//!
//! Limits are per control-plane replica (in memory); behind a load balancer
//! a tenant's effective limit is the per-replica limit times the replicas it
//! reaches.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::api::AppState;
use crate::error::ApiError;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// What a rate-limit check decided, with what the `X-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed {
        limit: u32,
        remaining: u32,
        /// Seconds until the bucket is full again.
        reset: u64,
    },
    Limited {
        limit: u32,
        /// Seconds until the next request is allowed.
        retry_after: u64,
    },
}

impl Verdict {
    /// Sets `X-RateLimit-Limit/Remaining/Reset` (and `Retry-After` when limited).
    pub fn apply(&self, headers: &mut HeaderMap) {
        let (limit, remaining, reset) = match *self {
            Verdict::Allowed {
                limit,
                remaining,
                reset,
            } => (limit, remaining, reset),
            Verdict::Limited { limit, retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                (limit, 0, retry_after)
            }
        };
        headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
    }

    /// The 429 answer of a limited verdict.
    pub fn too_many(&self, what: &str) -> Response {
        let retry = match *self {
            Verdict::Limited { retry_after, .. } => retry_after,
            Verdict::Allowed { .. } => 1,
        };
        let mut resp = ApiError::too_many_requests(format!(
            "Rate limit exceeded for {what}; retry after {retry} second(s)"
        ))
        .into_response();
        self.apply(resp.headers_mut());
        resp
    }
}

/// A keyed token bucket: `burst` requests at once, refilled at `per_second`.
pub struct KeyLimiter {
    limiter: Option<Keyed>,
    burst: u32,
    /// Time to refill the whole bucket.
    refill: Duration,
    checks: AtomicU64,
}

impl KeyLimiter {
    /// `per_second` 0 disables the limit.
    pub fn new(per_second: u32, burst: u32) -> KeyLimiter {
        let burst = burst.max(1);
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let quota = Quota::per_second(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(rate));
            RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()
        });
        KeyLimiter {
            limiter,
            burst,
            refill: Duration::from_secs_f64(f64::from(burst) / f64::from(per_second.max(1))),
            checks: AtomicU64::new(0),
        }
    }

    /// A limiter of `count` events per `period` (used for failed sign-ins).
    pub fn per_period(count: u32, period: Duration) -> KeyLimiter {
        let count = count.max(1);
        let limiter = NonZeroU32::new(count).and_then(|n| {
            Quota::with_period(period / count).map(|q| {
                RateLimiter::keyed(q.allow_burst(n)).with_middleware::<StateInformationMiddleware>()
            })
        });
        KeyLimiter {
            limiter,
            burst: count,
            refill: period,
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from `key`'s bucket; None when limits are off.
    pub fn check(&self, key: &str) -> Option<Verdict> {
        let limiter = self.limiter.as_ref()?;
        // Forget idle keys now and then so the map stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        Some(match limiter.check_key(&key.to_string()) {
            Ok(snap) => {
                let remaining = snap.remaining_burst_capacity();
                let used = self.burst.saturating_sub(remaining);
                let reset = (self.refill.as_secs_f64() * f64::from(used) / f64::from(self.burst))
                    .ceil() as u64;
                Verdict::Allowed {
                    limit: self.burst,
                    remaining,
                    reset,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Verdict::Limited {
                    limit: self.burst,
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        })
    }
}

/// Locks a key id (or login email) out for a while after too many failed
/// attempts, so secrets cannot be guessed at argon2's pace and the hashes
/// are not recomputed for a flood of wrong ones.
pub struct FailureGuard {
    failures: KeyLimiter,
    locked: Mutex<HashMap<String, Instant>>,
    lockout: Duration,
}

impl FailureGuard {
    pub fn new(per_minute: u32) -> FailureGuard {
        FailureGuard {
            failures: KeyLimiter::per_period(per_minute.max(1), Duration::from_secs(60)),
            locked: Mutex::new(HashMap::new()),
            lockout: Duration::from_secs(60),
        }
    }

    /// Seconds the key stays locked, if it is.
    pub fn locked_for(&self, key: &str) -> Option<u64> {
        let mut map = self.locked.lock().ok()?;
        let until = *map.get(key)?;
        let now = Instant::now();
        if until <= now {
            map.remove(key);
            return None;
        }
        Some((until - now).as_secs_f64().ceil() as u64)
    }

    /// Records a failure; the key is locked once its budget is spent.
    pub fn failed(&self, key: &str) {
        if let Some(Verdict::Limited { .. }) = self.failures.check(key) {
            if let Ok(mut map) = self.locked.lock() {
                if map.len() > 100_000 {
                    let now = Instant::now();
                    map.retain(|_, until| *until > now);
                }
                map.insert(key.to_string(), Instant::now() + self.lockout);
            }
        }
    }

    /// The 429 for a locked key.
    pub fn locked_response(&self, retry_after: u64) -> Response {
        Verdict::Limited {
            limit: 0,
            retry_after: retry_after.max(1),
        }
        .too_many("this credential after repeated failed sign-ins")
    }
}

/// Request body limit with a Confluent-shaped 413: the body is read up to
/// the limit (declared `Content-Length` or streamed), so handlers see at
/// most `max_body_bytes`.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let max = state.access.max_body_bytes;
    let too_large = || {
        ApiError::payload_too_large(format!(
            "Request body is larger than the limit of {max} bytes"
        ))
        .into_response()
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_reports_remaining() {
        let l = KeyLimiter::new(1, 3);
        let mut seen = vec![];
        for _ in 0..3 {
            match l.check("a").unwrap() {
                Verdict::Allowed {
                    limit, remaining, ..
                } => {
                    assert_eq!(limit, 3);
                    seen.push(remaining)
                }
                v => panic!("{v:?}"),
            }
        }
        assert_eq!(seen, vec![2, 1, 0]);
        match l.check("a").unwrap() {
            Verdict::Limited { retry_after, .. } => assert!(retry_after >= 1),
            v => panic!("{v:?}"),
        }
        // Other keys are unaffected.
        assert!(matches!(l.check("b"), Some(Verdict::Allowed { .. })));
        assert!(KeyLimiter::new(0, 3).check("a").is_none());
    }

    #[test]
    fn headers_are_set() {
        let mut h = HeaderMap::new();
        Verdict::Limited {
            limit: 5,
            retry_after: 2,
        }
        .apply(&mut h);
        assert_eq!(h["retry-after"], "2");
        assert_eq!(h["x-ratelimit-remaining"], "0");
        assert_eq!(h["x-ratelimit-limit"], "5");
    }

    #[test]
    fn failures_lock_out() {
        let g = FailureGuard::new(2);
        assert!(g.locked_for("k").is_none());
        g.failed("k");
        g.failed("k");
        assert!(g.locked_for("k").is_none());
        g.failed("k");
        assert!(g.locked_for("k").is_some());
        assert!(g.locked_for("other").is_none());
    }
}
