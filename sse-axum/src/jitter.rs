//! Random spreads for timers, so that many streams do not act in the same instant (a
//! deploy's reconnect storm). Not for anything secret.

use std::hash::{BuildHasher as _, RandomState};
use std::time::Duration;

/// A number in `[0, 1)`, different at each call.
pub(crate) fn fraction() -> f64 {
    // `RandomState::new` draws fresh keys for each call (per thread), so hashing a constant
    // gives a new value each time; the top 53 bits make an exact f64 fraction.
    let bits = RandomState::new().hash_one(0x5EED_u32) >> 11;
    #[allow(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
    let fraction = bits as f64 / (1_u64 << 53) as f64;
    fraction
}

/// A duration in `[low × d, high × d)`.
pub(crate) fn between(d: Duration, low: f64, high: f64) -> Duration {
    d.mul_f64(low + (high - low) * fraction())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_over_the_whole_range_and_stays_inside_it() {
        let d = Duration::from_secs(10);
        let draws: Vec<Duration> = (0..1000).map(|_| between(d, 0.5, 1.5)).collect();
        assert!(draws.iter().all(|x| *x >= d / 2 && *x < d * 3 / 2));
        let low = draws.iter().filter(|x| **x < d).count();
        assert!((300..700).contains(&low), "{low} of 1000 below the middle");
        let mut distinct = draws.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 990);
    }
}
