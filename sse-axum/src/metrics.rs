//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`), so any
//! exporter works (Prometheus, StatsD, OpenTelemetry...): install one in your binary and these
//! are recorded. Without the feature every call here compiles to nothing.
//!
//! No metric has a per-topic or per-client label, so their number stays fixed however many
//! topics and clients there are.
//!
//! | name | kind | what |
//! |---|---|---|
//! | `sse_streams_open` | gauge | event streams open through an `SseLayer` |
//! | `sse_streams_opened_total` | counter | event streams opened through an `SseLayer` |
//! | `sse_streams_refused_total` | counter | streams refused by a stream limit |
//! | `sse_stalled_disconnects_total` | counter | readers cut for taking nothing: `where` = `socket` (`StallIo`) or `hub` |
//! | `sse_hub_subscribers` | gauge | subscribers of this process's hubs |
//! | `sse_hub_published_total` | counter | successful publishes |
//! | `sse_hub_delivered_total` | counter | frames handed to subscribers' streams (live and replayed) |
//! | `sse_hub_replayed_total` | counter | of those, replayed from the history |
//! | `sse_hub_dropped_total` | counter | frames discarded by the slow-consumer policy or a disconnect |
//! | `sse_hub_resets_total` | counter | reset events sent: `reason` = `resume` (the history no longer covers the client's id), `dropped` (its queue overflowed) or `backend` (the shared backend lost events) |
//! | `sse_hub_delivery_seconds` | histogram | from a frame entering a subscriber's queue (in-process: when it is published; through Redis: when this process reads it) to the stream taking it for writing |

#[cfg(feature = "metrics")]
mod enabled {
    use std::time::Duration;

    pub(crate) fn stream_opened() {
        metrics::counter!("sse_streams_opened_total").increment(1);
        metrics::gauge!("sse_streams_open").increment(1.0);
    }

    pub(crate) fn stream_closed() {
        metrics::gauge!("sse_streams_open").decrement(1.0);
    }

    pub(crate) fn refused() {
        metrics::counter!("sse_streams_refused_total").increment(1);
    }

    pub(crate) fn stalled(place: &'static str, n: u64) {
        if n > 0 {
            metrics::counter!("sse_stalled_disconnects_total", "where" => place).increment(n);
        }
    }

    pub(crate) fn subscribed() {
        metrics::gauge!("sse_hub_subscribers").increment(1.0);
    }

    pub(crate) fn unsubscribed() {
        metrics::gauge!("sse_hub_subscribers").decrement(1.0);
    }

    pub(crate) fn published() {
        metrics::counter!("sse_hub_published_total").increment(1);
    }

    pub(crate) fn delivered(replayed: bool) {
        metrics::counter!("sse_hub_delivered_total").increment(1);
        if replayed {
            metrics::counter!("sse_hub_replayed_total").increment(1);
        }
    }

    pub(crate) fn dropped(n: u64) {
        if n > 0 {
            metrics::counter!("sse_hub_dropped_total").increment(n);
        }
    }

    pub(crate) fn reset(reason: &'static str) {
        metrics::counter!("sse_hub_resets_total", "reason" => reason).increment(1);
    }

    pub(crate) fn delivery_latency(waited: Duration) {
        metrics::histogram!("sse_hub_delivery_seconds").record(waited.as_secs_f64());
    }
}

#[cfg(not(feature = "metrics"))]
#[allow(dead_code, reason = "the histogram is recorded only with the feature")]
mod enabled {
    use std::time::Duration;

    pub(crate) fn stream_opened() {}
    pub(crate) fn stream_closed() {}
    pub(crate) fn refused() {}
    pub(crate) fn stalled(_: &'static str, _: u64) {}
    pub(crate) fn subscribed() {}
    pub(crate) fn unsubscribed() {}
    pub(crate) fn published() {}
    pub(crate) fn delivered(_: bool) {}
    pub(crate) fn dropped(_: u64) {}
    pub(crate) fn reset(_: &'static str) {}
    pub(crate) fn delivery_latency(_: Duration) {}
}

pub(crate) use enabled::*;
