//! Publish-to-receive latency of a hub shared through Redis (published on one instance,
//! received on another) next to the in-process hub.
//!
//! Self-contained: needs `sse-axum` with the `redis` feature, `tokio` (`rt`, `time`) and
//! `futures-util`, and a Redis to talk to (the caller starts it; nothing here spawns one).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! # mod redis_latency { pub use sse_benches::redis_latency::*; }
//! let report = redis_latency::redis_vs_memory_latency("redis://127.0.0.1:6379", 1000).await?;
//! println!("{}", report.table());
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use sse_axum::Event;
use sse_axum::hub::{Hub, RedisBackend, Subscribe};

/// What can go wrong: Redis unreachable, or an event that never arrived.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Latency percentiles of one way of publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The slowest sample.
    pub max: Duration,
}

impl Percentiles {
    /// The percentiles of `samples` (sorted in place); all zero when there is none.
    pub fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        let at = |q: usize| {
            samples
                .get((samples.len().saturating_sub(1)) * q / 100)
                .copied()
                .unwrap_or_default()
        };
        Self {
            p50: at(50),
            p99: at(99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// What [`redis_vs_memory_latency`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyReport {
    /// Events timed on each path.
    pub samples: usize,
    /// `Hub::publish` to the subscriber's `next()` on the same in-process hub.
    pub memory: Percentiles,
    /// `Hub::publish` on instance A to the subscriber's `next()` on instance B, through Redis.
    pub redis: Percentiles,
}

impl LatencyReport {
    /// The rows of a Markdown table: header, separator, one row per path.
    pub fn table(&self) -> String {
        format!(
            "| publish to receive ({} events, one at a time) | p50 | p99 | max |\n\
             | --- | --- | --- | --- |\n\
             | in-process hub | {} | {} | {} |\n\
             | two instances through Redis | {} | {} | {} |",
            self.samples,
            Micros(self.memory.p50),
            Micros(self.memory.p99),
            Micros(self.memory.max),
            Micros(self.redis.p50),
            Micros(self.redis.p99),
            Micros(self.redis.max),
        )
    }
}

/// A duration in µs, one decimal.
struct Micros(Duration);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} µs", self.0.as_secs_f64() * 1e6)
    }
}

/// Times `samples` events one at a time, each from `publish` until the subscriber has it:
/// first on one in-process hub, then published on one instance and received on another,
/// both sharing the Redis at `redis_url` (under a key prefix of their own).
///
/// # Errors
///
/// A hub error when Redis cannot be reached; an error too when an event did not arrive within
/// 10 s.
pub async fn redis_vs_memory_latency(
    redis_url: &str,
    samples: usize,
) -> Result<LatencyReport, Error> {
    let memory = Hub::new();
    let memory = time_path(&memory, &memory, samples).await?;

    let prefix = format!("sse-bench-latency-{}", std::process::id());
    let backend = RedisBackend::new(redis_url)?.prefix(prefix);
    let publisher = Hub::builder().build_redis(backend.clone()).await?;
    let receiver = Hub::builder().build_redis(backend).await?;
    let redis = time_path(&publisher, &receiver, samples).await;
    publisher.close();
    receiver.close();
    Ok(LatencyReport {
        samples,
        memory,
        redis: redis?,
    })
}

async fn time_path(publisher: &Hub, receiver: &Hub, samples: usize) -> Result<Percentiles, Error> {
    let mut subscription = receiver.subscribe(Subscribe::new(["latency"])).await?;
    let mut times = Vec::with_capacity(samples);
    for n in 0..samples {
        let start = Instant::now();
        let id = publisher
            .publish("latency", Event::new().data(n.to_string()))
            .await?;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), subscription.next())
                .await
                .ok()
                .flatten()
                .ok_or_else(|| format!("event {n} did not arrive within 10 s"))?;
            if frame.id() == Some(id) {
                break;
            }
        }
        times.push(start.elapsed());
    }
    Ok(Percentiles::of(&mut times))
}
