//! The read budget: one token bucket per Stripe key, shared by every tool call (and every
//! [`Client`](super::Client) built for that key in this process), so that parallel reads
//! stay within Stripe's read rate limit instead of provoking 429s.
//!
//! Stripe documents about 25 read requests per second in test mode and about 100 in live
//! mode ([`default_rate`]); `--read-rate` sets another. A 429 halves the rate and pauses
//! every reader of the key until `Retry-After` (or a second) has passed; each success
//! then wins a twentieth of the configured rate back, so a burst of 429s slows the
//! readers down instead of failing them, and the rate returns once Stripe stops refusing.
//!
//! The bucket holds what [`BURST`] of the rate adds up to, at least one token. At Stripe's
//! documented rates that is one: reads are paced evenly. At a high rate (`--read-rate` in
//! the thousands) it is more, because a waiter sleeps on tokio's timer, which has 1 ms
//! ticks: a one-token bucket would let at most one read through per tick, whatever the
//! rate, and every concurrent reader would queue behind that.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, Weak},
    time::Duration,
};

use tokio::time::Instant;

use super::key::Mode;

/// Stripe's documented read limit for a key's mode, requests per second, less 5%: paced
/// exactly at the limit, network jitter alone puts 26 requests in some second.
pub fn default_rate(mode: Mode) -> f64 {
    match mode {
        Mode::Test => 25.0 * 0.95,
        Mode::Live => 100.0 * 0.95,
    }
}

/// How much of the rate the bucket may hold: 10 ms of it (at least one token). A burst
/// this short is below what a per-second limiter can see, and it is ten timer ticks'
/// worth of reads, so waiters woken on one tick find tokens for all of them.
pub const BURST: Duration = Duration::from_millis(10);

/// A token bucket of read requests. Cheap to share; see the module docs.
#[derive(Debug)]
pub struct Budget {
    /// The configured rate, requests per second: what recovery climbs back to.
    rate: f64,
    /// The most tokens the bucket holds: `rate` × [`BURST`], at least one.
    capacity: f64,
    /// Tokens, refill time, current rate and pause.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests that may start now (at most `capacity`).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// The rate now: lowered by 429s, raised back by successes.
    rate: f64,
    /// No request starts before this (set by a 429's `Retry-After`).
    paused_until: Option<Instant>,
}

impl Budget {
    /// A bucket of `rate` requests per second (at least one every ten seconds) that holds
    /// [`BURST`] of them, at least one token: below 100/s (Stripe's documented limits)
    /// reads are paced evenly, so no one-second window (Stripe counts per second) ever
    /// sees more than `rate + 1` of them, a cold start included; above, no more than
    /// `rate` × 1.01.
    pub fn new(rate: f64) -> Budget {
        let rate = if rate.is_finite() {
            rate.max(0.1)
        } else {
            25.0
        };
        let capacity = (rate * BURST.as_secs_f64()).floor().max(1.0);
        Budget {
            rate,
            capacity,
            state: Mutex::new(State {
                tokens: capacity,
                at: Instant::now(),
                rate,
                paused_until: None,
            }),
        }
    }

    /// The bucket of this key (by the SHA-256 of the secret), shared with every client of
    /// the key in this process; the first to ask sets its rate.
    pub fn for_key(fingerprint: [u8; 32], rate: f64) -> Arc<Budget> {
        static REGISTRY: OnceLock<Mutex<HashMap<[u8; 32], Weak<Budget>>>> = OnceLock::new();
        let mut map = REGISTRY
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(b) = map.get(&fingerprint).and_then(Weak::upgrade) {
            return b;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let b = Arc::new(Budget::new(rate));
        map.insert(fingerprint, Arc::downgrade(&b));
        b
    }

    /// The configured rate, requests per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain numbers: a poisoned lock holds nothing a panic could break.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a token: returns when one more read may be sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state();
                let now = Instant::now();
                match s.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        s.paused_until = None;
                        s.tokens =
                            (s.tokens + (now - s.at).as_secs_f64() * s.rate).min(self.capacity);
                        s.at = now;
                        if s.tokens >= 1.0 {
                            s.tokens -= 1.0;
                            return;
                        }
                        Duration::from_secs_f64((1.0 - s.tokens) / s.rate)
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Stripe answered 429: halve the rate (not below a tenth of the configured one),
    /// drop the tokens, and pause every reader for `retry_after` (default half a second).
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let mut s = self.state();
        s.rate = (s.rate / 2.0).max(self.rate / 10.0);
        s.tokens = 0.0;
        let until = Instant::now() + retry_after.unwrap_or(Duration::from_millis(500));
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }

    /// A read succeeded: win back a twentieth of the configured rate.
    pub fn succeeded(&self) {
        let mut s = self.state();
        if s.rate < self.rate {
            s.rate = (s.rate + self.rate / 20.0).min(self.rate);
        }
    }

    /// The rate now (lowered after 429s), requests per second.
    pub fn current_rate(&self) -> f64 {
        self.state().rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_holds_reads_to_the_rate() {
        let b = Budget::new(10.0);
        let start = tokio::time::Instant::now();
        for _ in 0..31 {
            b.acquire().await;
        }
        // One at once, then 30 more at 10 per second.
        let took = start.elapsed().as_secs_f64();
        assert!((2.9..=3.2).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reads_at_a_high_rate_take_about_n_over_the_rate() {
        // 1,000 readers at once at 10,000/s: about a tenth of a second (the first
        // 100 at once), not one read per 1 ms timer tick (a second).
        let b = Arc::new(Budget::new(10_000.0));
        let start = tokio::time::Instant::now();
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..1000 {
            let b = b.clone();
            readers.spawn(async move { b.acquire().await });
        }
        while readers.join_next().await.is_some() {}
        let took = start.elapsed().as_secs_f64();
        assert!((0.08..=0.12).contains(&took), "{took}");
    }

    #[test]
    fn stripes_documented_rates_are_paced_one_at_a_time() {
        for rate in [25.0 * 0.95, 25.0, 100.0 * 0.95, 100.0, 150.0] {
            assert_eq!(Budget::new(rate).capacity, 1.0, "{rate}");
        }
        assert_eq!(Budget::new(10_000.0).capacity, 100.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_halves_the_rate_and_successes_win_it_back() {
        let b = Budget::new(20.0);
        b.throttled(Some(Duration::from_secs(2)));
        assert_eq!(b.current_rate(), 10.0);
        b.throttled(None);
        b.throttled(None);
        b.throttled(None);
        b.throttled(None);
        assert_eq!(b.current_rate(), 2.0, "never below a tenth");
        for _ in 0..40 {
            b.succeeded();
        }
        assert_eq!(b.current_rate(), 20.0, "never above the configured rate");
    }

    #[test]
    fn clients_of_one_key_share_one_bucket() {
        let a = Budget::for_key([7; 32], 25.0);
        let b = Budget::for_key([7; 32], 100.0);
        let c = Budget::for_key([8; 32], 100.0);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(b.rate(), 25.0);
    }
}
