//! The price source: a random walk per ticker, driven by a small xorshift generator.

use std::time::{SystemTime, UNIX_EPOCH};

/// The tickers the example quotes, in the order each tick sends them.
pub const TICKERS: [&str; 2] = ["AAPL", "AMZN"];

/// A xorshift64* pseudo-random generator: tiny, fast, good enough for made-up prices, and
/// **not** for anything secret.
///
/// ```
/// use stock_price_example::XorShift;
///
/// let mut a = XorShift::new(7);
/// let mut b = XorShift::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let x = a.next_f64();
/// assert!((0.0..1.0).contains(&x));
/// ```
#[derive(Debug, Clone)]
pub struct XorShift {
    state: u64,
}

impl XorShift {
    /// A generator from `seed` (0 is replaced by a fixed non-zero constant).
    pub fn new(seed: u64) -> Self {
        Self {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    /// A generator seeded from the clock and the process id.
    pub fn from_time() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Fold the 128-bit nanoseconds into 64 bits, then mix in the process id.
        let folded = (nanos as u64) ^ ((nanos >> 64) as u64);
        Self::new(folded ^ u64::from(std::process::id()).rotate_left(32))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The current price of every ticker, moved by a bounded random walk on each
/// [`step`](Prices::step): each price changes by at most ±1 % and never goes below 1.
///
/// ```
/// use stock_price_example::{Prices, XorShift};
///
/// let mut prices = Prices::new(XorShift::new(1));
/// let before = prices.current().to_vec();
/// let after = prices.step().to_vec();
/// for ((_, old), (_, new)) in before.iter().zip(&after) {
///     assert!((new / old - 1.0).abs() <= 0.01 + 1e-12);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Prices {
    rng: XorShift,
    prices: Vec<(&'static str, f64)>,
}

impl Prices {
    /// Starts every ticker at a random price between 80 and 120.
    pub fn new(mut rng: XorShift) -> Self {
        let prices = TICKERS
            .iter()
            .map(|&ticker| (ticker, 80.0 + 40.0 * rng.next_f64()))
            .collect();
        Self { rng, prices }
    }

    /// The prices now, in [`TICKERS`] order.
    pub fn current(&self) -> &[(&'static str, f64)] {
        &self.prices
    }

    /// Moves every price one step and returns the new prices.
    pub fn step(&mut self) -> &[(&'static str, f64)] {
        for (_, price) in &mut self.prices {
            let change = (self.rng.next_f64() - 0.5) * 0.02;
            *price = (*price * (1.0 + change)).max(1.0);
        }
        &self.prices
    }
}

/// A price as it goes on the wire: six decimals, e.g. `92.607347`.
///
/// ```
/// assert_eq!(stock_price_example::format_price(92.6073469), "92.607347");
/// ```
pub fn format_price(price: f64) -> String {
    format!("{price:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_numbers_stay_in_range_and_vary() {
        let mut rng = XorShift::from_time();
        let draws: Vec<f64> = (0..1000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }

    #[test]
    fn prices_never_fall_below_one() {
        let mut prices = Prices::new(XorShift::new(3));
        for _ in 0..100_000 {
            prices.step();
        }
        assert!(prices.current().iter().all(|(_, p)| *p >= 1.0));
    }

    #[test]
    fn zero_seed_still_produces_numbers() {
        let mut rng = XorShift::new(0);
        assert_ne!(rng.next_u64(), 0);
    }
}
