//! The retry decision: a pure function of what happened, with a table of tests.
//!
//! Every write carries one `Idempotency-Key` chosen before the first attempt, so
//! retrying a POST is as safe as retrying a GET: Stripe replays the first result.

use std::time::Duration;

/// What one attempt ended with, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No complete response: connect failure, reset, or timeout.
    Network,
    /// A response with this status and, if present, `Stripe-Should-Retry`.
    Status {
        /// HTTP status code.
        status: u16,
        /// The `Stripe-Should-Retry` header: Stripe's own word, which wins.
        should_retry: Option<bool>,
    },
}

/// Whether an attempt that ended this way may be tried again.
///
/// `Stripe-Should-Retry` wins when present; otherwise network failures, 409
/// (a concurrent request on the same object or key), 429 and the 5xx gateway
/// family are retried, and nothing else: a 400/401/402/403/404 will fail the
/// same way every time.
pub fn is_retryable(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Network => true,
        Outcome::Status {
            should_retry: Some(explicit),
            ..
        } => explicit,
        Outcome::Status { status, .. } => matches!(status, 409 | 429 | 500 | 502 | 503 | 504),
    }
}

/// Backoff settings. `Default` is what production uses.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay before the first retry; doubled for each later one.
    pub base: Duration,
    /// No computed delay exceeds this (jitter included).
    pub max: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails instead,
    /// so a tool call never hangs for minutes.
    pub max_retry_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// How long to wait before retry number `retry` (0 for the first retry), or
/// `None` when no retry should happen.
///
/// `jitter` is a number in `[0, 1)`, passed in so the function stays pure; the
/// delay is the exponential step scaled into `[50%, 100%]` of itself ("equal
/// jitter"), so concurrent clients spread out but never retry instantly.
pub fn next_delay(
    outcome: Outcome,
    retry: u32,
    max_retries: u32,
    retry_after: Option<Duration>,
    backoff: &Backoff,
    jitter: f64,
) -> Option<Duration> {
    if retry >= max_retries || !is_retryable(outcome) {
        return None;
    }
    if let Some(after) = retry_after {
        return (after <= backoff.max_retry_after).then_some(after);
    }
    let step = backoff
        .base
        .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
        .min(backoff.max);
    let jitter = jitter.clamp(0.0, 1.0);
    Some(step.mul_f64(0.5 + jitter / 2.0))
}

/// Parses `Retry-After` given in seconds (Stripe never sends the HTTP-date form).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A number in `[0, 1)` that differs between calls, for jitter. Not cryptographic.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, should_retry: Option<bool>) -> Outcome {
        Outcome::Status {
            status,
            should_retry,
        }
    }

    #[test]
    fn retryable_outcomes_follow_the_table() {
        let table = [
            (Outcome::Network, true),
            (status(200, None), false),
            (status(400, None), false),
            (status(401, None), false),
            (status(402, None), false),
            (status(403, None), false),
            (status(404, None), false),
            (status(409, None), true),
            (status(429, None), true),
            (status(500, None), true),
            (status(501, None), false),
            (status(502, None), true),
            (status(503, None), true),
            (status(504, None), true),
            // Stripe's header wins in both directions.
            (status(429, Some(false)), false),
            (status(500, Some(false)), false),
            (status(409, Some(false)), false),
            (status(400, Some(true)), true),
            (status(500, Some(true)), true),
        ];
        for (outcome, want) in table {
            assert_eq!(is_retryable(outcome), want, "{outcome:?}");
        }
    }

    #[test]
    fn delays_double_and_stay_within_jitter_bounds() {
        let b = Backoff::default();
        for retry in 0..4 {
            let full = b.base * 2u32.pow(retry);
            let lo = next_delay(Outcome::Network, retry, 10, None, &b, 0.0).unwrap();
            let hi = next_delay(Outcome::Network, retry, 10, None, &b, 0.999_999).unwrap();
            assert_eq!(lo, full / 2, "retry {retry}");
            assert!(
                hi <= full && hi > full.mul_f64(0.99),
                "retry {retry}: {hi:?}"
            );
        }
    }

    #[test]
    fn delays_are_capped_at_the_maximum() {
        let b = Backoff::default();
        let d = next_delay(Outcome::Network, 30, 31, None, &b, 0.999).unwrap();
        assert!(d <= b.max);
    }

    #[test]
    fn no_retry_once_the_budget_is_spent() {
        let b = Backoff::default();
        assert!(next_delay(status(500, None), 2, 2, None, &b, 0.5).is_none());
        assert!(next_delay(status(500, None), 1, 2, None, &b, 0.5).is_some());
        assert!(next_delay(status(500, None), 0, 0, None, &b, 0.5).is_none());
    }

    #[test]
    fn retry_after_is_honoured_when_reasonable_and_refused_when_too_long() {
        let b = Backoff::default();
        let three = Some(Duration::from_secs(3));
        assert_eq!(
            next_delay(status(429, None), 0, 2, three, &b, 0.0),
            Some(Duration::from_secs(3))
        );
        let long = Some(Duration::from_secs(600));
        assert_eq!(next_delay(status(429, None), 0, 2, long, &b, 0.0), None);
        // A Retry-After never turns a non-retryable answer into a retry.
        assert_eq!(next_delay(status(400, None), 0, 2, three, &b, 0.0), None);
    }

    #[test]
    fn retry_after_parses_seconds_only() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn jitter_is_in_the_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
