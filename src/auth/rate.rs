//! A token bucket per tenant: how many tool calls per second one caller may start.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

pub use crate::config::DEFAULT_RATE_PER_SECOND as DEFAULT_PER_SECOND;

/// A token bucket: `burst` calls at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter {
    /// Refill rate, in calls per second.
    per_second: f64,
    /// Bucket size: the most calls that can start at once after a quiet spell.
    burst: f64,
    /// Tokens left and when they were counted.
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A full bucket. `per_second` must be positive; `burst` at least 1.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            per_second: per_second.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes one token, or says how long until one is there.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        self.try_acquire_at(Instant::now())
    }

    fn try_acquire_at(&self, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = *state;
        let elapsed = now.saturating_duration_since(at).as_secs_f64();
        let tokens = (tokens + elapsed * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }

    /// The refill rate, for logs and errors.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_allows_a_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(10.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.try_acquire_at(t0).is_ok());
        }
        let wait = limiter.try_acquire_at(t0).unwrap_err();
        assert!(wait <= Duration::from_millis(100) && wait > Duration::from_millis(90));
        assert!(
            limiter
                .try_acquire_at(t0 + Duration::from_millis(101))
                .is_ok()
        );
        assert!(
            limiter
                .try_acquire_at(t0 + Duration::from_millis(102))
                .is_err()
        );
        // A long quiet spell refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.try_acquire_at(later).is_ok());
        }
        assert!(limiter.try_acquire_at(later).is_err());
    }
}
