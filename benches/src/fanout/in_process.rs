//! The hub's own share of the fan-out: its subscriptions' response bodies polled in this
//! process, without sockets or HTTP.

use axum::response::IntoResponse as _;
use std::time::Duration;

use super::client::parse_data_line;
use super::measure::{CpuTicks, latency_ms};
use super::{TOPIC, unix_nanos};

/// The figures of [`in_process`].
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess {
    /// Publish-to-receive latency: p50, p99, max in milliseconds.
    pub latency_ms: [f64; 3],
    /// CPU time (user + system, every thread of this process) per delivery, microseconds.
    pub cpu_us_per_delivery: f64,
}

/// The hub's own share of the fan-out: `subscribers` response bodies of [`sse_axum::hub::Hub`]
/// subscriptions polled in this process, without sockets or HTTP; `events` published at `rate`
/// per second, the latency taken from the same timestamps as [`run`](super::run).
pub async fn in_process(subscribers: usize, events: u64, rate: u64) -> InProcess {
    use http_body_util::BodyExt as _;

    let hub = sse_axum::hub::Hub::builder()
        .keep_alive(sse_axum::KeepAlive::disabled())
        .build();
    let mut tasks = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let Ok(subscription) = hub.subscribe(sse_axum::hub::Subscribe::new([TOPIC])).await else {
            break;
        };
        let mut body = subscription.into_response().into_body();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                let now = unix_nanos();
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                for line in data.split(|&b| b == b'\n') {
                    if let Some((_, sent)) = parse_data_line(line) {
                        samples.push(now.saturating_sub(sent));
                    }
                }
            }
            samples
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = CpuTicks::of("self");
    // Published from the caller's thread, as `serve` does.
    let mut ticks = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    for seq in 0..events {
        ticks.tick().await;
        let data = format!("{seq} {}", unix_nanos());
        if hub
            .publish(TOPIC, sse_axum::Event::new().data(data))
            .await
            .is_err()
        {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = CpuTicks::of("self");
    hub.close();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    latencies.sort_unstable();
    InProcess {
        latency_ms: latency_ms(&latencies),
        cpu_us_per_delivery: after.per_delivery(before, latencies.len())[0],
    }
}
