//! The reconnection delay: the server's `retry`, exponential backoff with jitter for repeated
//! failures, a cap, and a reset after a connection stayed healthy.
//!
//! Pure logic: the current time is passed in and the jitter comes from a seeded generator, so
//! it is tested without sleeping.

use std::time::Duration;

use tokio::time::Instant;

/// The delay rules, set on [`ClientBuilder`](crate::ClientBuilder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackoffConfig {
    /// The reconnection time until the server sends `retry`.
    pub(crate) retry: Duration,
    /// The smallest base for the exponential part, so that `retry: 0` cannot cause a hot loop.
    pub(crate) min_backoff: Duration,
    /// The cap of the exponential part (a larger server `retry` still wins).
    pub(crate) max_backoff: Duration,
    /// A connection that stayed up this long resets the failure count.
    pub(crate) reset_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            retry: Duration::from_secs(3),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
        }
    }
}

/// The largest jitter added to the reconnection time after a healthy connection, as a
/// fraction of it: `retry / HEALTHY_JITTER_DIVISOR`.
const HEALTHY_JITTER_DIVISOR: u32 = 4;

/// The cap of the jitter added after a healthy connection, whatever the `retry`.
const MAX_HEALTHY_JITTER: Duration = Duration::from_secs(1);

/// The backoff state of one subscription.
///
/// As in browsers, a connection that delivered at least one event was healthy: the next
/// attempt waits the reconnection time (the server's `retry`) plus a bounded jitter (up to a
/// quarter of it, at most 1 s), so that clients cut at the same moment do not all come back
/// at once. Each further consecutive attempt that delivered nothing (`n` of them) waits
/// `min(cap, max(retry, min_backoff) * 2^n)`, jittered uniformly into its upper half (and
/// never below the server's `retry`).
///
/// Two counts are kept: `failures`, the attempts in a row that delivered nothing (the
/// exponent), reset by any delivered event; and `retries`, the reconnections since a
/// connection stayed up for `reset_after`, which `max_retries` limits.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    /// The current reconnection time (the default, or the server's last `retry`).
    retry: Duration,
    /// Consecutive delays handed out after attempts that delivered nothing.
    failures: u32,
    /// Delays handed out since the last connection that stayed up for `reset_after`.
    retries: u32,
    connected_at: Option<Instant>,
    /// The current connection delivered an event.
    delivered: Delivered,
    rng: u64,
}

/// Whether the current connection delivered an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    Nothing,
    AnEvent,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig, seed: u64) -> Self {
        Self {
            retry: config.retry,
            config,
            failures: 0,
            retries: 0,
            connected_at: None,
            delivered: Delivered::Nothing,
            // xorshift must not start at zero
            rng: seed | 1,
        }
    }

    /// The server sent `retry`.
    pub(crate) fn set_retry(&mut self, retry: Duration) {
        self.retry = retry;
    }

    /// A connection was established at `now`.
    pub(crate) fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
        self.delivered = Delivered::Nothing;
    }

    /// The current connection delivered an event: it was healthy.
    pub(crate) fn delivered(&mut self) {
        self.delivered = Delivered::AnEvent;
    }

    /// How many reconnection delays were handed out since the last connection that stayed
    /// up for `reset_after`.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }

    /// A connection or attempt ended at `now`: the delay before the next attempt.
    pub(crate) fn next_delay(&mut self, now: Instant) -> Duration {
        if let Some(since) = self.connected_at.take()
            && now.saturating_duration_since(since) >= self.config.reset_after
        {
            self.failures = 0;
            self.retries = 0;
        }
        if std::mem::replace(&mut self.delivered, Delivered::Nothing) == Delivered::AnEvent {
            self.failures = 0;
        }
        self.retries = self.retries.saturating_add(1);
        let n = self.failures;
        self.failures = self.failures.saturating_add(1);
        if n == 0 {
            let spread = (self.retry / HEALTHY_JITTER_DIVISOR).min(MAX_HEALTHY_JITTER);
            return self.retry + self.jitter(spread);
        }
        let base = self.retry.max(self.config.min_backoff);
        let cap = self.config.max_backoff.max(self.retry);
        let delay = base.saturating_mul(1_u32 << n.min(20)).min(cap);
        // Never below the server's retry (unless the cap is), at most the computed delay.
        let low = (delay / 2).max(self.retry.min(delay));
        low + self.jitter(delay - low)
    }

    /// A uniformly distributed duration in `[0, max]`.
    fn jitter(&mut self, max: Duration) -> Duration {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let random = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(((u128::from(random) * u128::from(nanos)) >> 64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BackoffConfig {
        BackoffConfig {
            retry: Duration::from_millis(1000),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
        }
    }

    /// The delay after a healthy connection: the retry, plus at most a quarter of it (and at
    /// most 1 s) of jitter.
    fn assert_healthy_delay(delay: Duration, retry: Duration) {
        let most = retry + (retry / 4).min(Duration::from_secs(1));
        assert!(
            delay >= retry && delay <= most,
            "{delay:?} not in [{retry:?}, {most:?}]"
        );
    }

    #[test]
    fn a_connection_that_delivered_an_event_waits_the_retry_not_a_doubled_backoff() {
        let now = Instant::now();
        let mut backoff = Backoff::new(config(), 11);
        // Attempts that delivered nothing grow the delay.
        for _ in 0..5 {
            backoff.next_delay(now);
        }
        let mut healthy = Vec::new();
        for _ in 0..8 {
            backoff.connected(now);
            backoff.delivered();
            let delay = backoff.next_delay(now + Duration::from_secs(1));
            assert_healthy_delay(delay, Duration::from_secs(1));
            healthy.push(delay);
        }
        assert!(
            healthy.windows(2).any(|pair| pair[0] != pair[1]),
            "the jitter varies: {healthy:?}"
        );
        // Short connections do not reset the count that max_retries limits.
        assert_eq!(backoff.retries(), 13);
        // A connection that delivered nothing is a failure again: the backoff grows.
        backoff.connected(now);
        let failed = backoff.next_delay(now);
        assert!(failed >= Duration::from_secs(1), "{failed:?}");
        assert!(backoff.next_delay(now) >= Duration::from_secs(2));
    }

    #[test]
    fn first_delay_is_the_retry_then_grows_with_jitter_up_to_the_cap() {
        let now = Instant::now();
        let mut backoff = Backoff::new(config(), 7);
        assert_healthy_delay(backoff.next_delay(now), Duration::from_secs(1));
        let mut previous_upper = Duration::from_secs(1);
        for n in 1..12 {
            let upper = (Duration::from_secs(1) * (1 << n)).min(Duration::from_secs(30));
            let delay = backoff.next_delay(now);
            assert!(
                delay >= upper / 2 && delay <= upper,
                "n={n}: {delay:?} not in upper half of {upper:?}"
            );
            assert!(upper >= previous_upper);
            previous_upper = upper;
        }
        assert_eq!(backoff.retries(), 12);
    }

    #[test]
    fn jitter_is_seeded_and_varies() {
        let now = Instant::now();
        let delays = |seed| {
            let mut backoff = Backoff::new(config(), seed);
            (0..8).map(|_| backoff.next_delay(now)).collect::<Vec<_>>()
        };
        assert_eq!(delays(1), delays(1));
        assert_ne!(delays(1), delays(2));
    }

    #[test]
    fn retry_zero_never_hot_loops() {
        let now = Instant::now();
        let mut backoff = Backoff::new(config(), 3);
        backoff.set_retry(Duration::ZERO);
        assert_eq!(
            backoff.next_delay(now),
            Duration::ZERO,
            "the first reconnection obeys retry: 0"
        );
        let second = backoff.next_delay(now);
        assert!(second >= Duration::from_millis(100), "{second:?}");
        let total: Duration = (0..10).map(|_| backoff.next_delay(now)).sum();
        assert!(total >= Duration::from_secs(30), "{total:?}");
    }

    #[test]
    fn healthy_connection_resets_but_a_short_one_does_not() {
        let start = Instant::now();
        let mut backoff = Backoff::new(config(), 5);
        for _ in 0..4 {
            backoff.next_delay(start);
        }
        backoff.connected(start);
        let short = backoff.next_delay(start + Duration::from_secs(5));
        assert!(short >= Duration::from_secs(8), "{short:?}");
        backoff.connected(start);
        let healthy = backoff.next_delay(start + Duration::from_secs(61));
        assert_healthy_delay(healthy, Duration::from_secs(1));
        assert_eq!(backoff.retries(), 1);
    }

    #[test]
    fn server_retry_above_the_cap_is_honoured() {
        let now = Instant::now();
        let mut backoff = Backoff::new(config(), 9);
        backoff.set_retry(Duration::from_secs(120));
        assert_healthy_delay(backoff.next_delay(now), Duration::from_secs(120));
        assert_eq!(
            backoff.next_delay(now),
            Duration::from_secs(120),
            "jitter never goes below retry"
        );
    }
}
