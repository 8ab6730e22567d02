//! The quickstart server as a library, so tests can run it in-process: `GET /sse` sends a
//! `timestamp` event (RFC 3339 data, UTC) every period, numbered with ids `1` to `10`, then an
//! `end` event with data `end flag`, and closes the stream. A client that reconnects with
//! `Last-Event-ID: n` continues after event `n`.
//!
//! When the shutdown token is cancelled, open streams end at once with a comment and a `retry`
//! hint (see [`SseLayer::graceful_shutdown`]).
#![deny(missing_docs)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{Router, extract::State, routing::get};
use sse_axum::{Event, EventType, LastEventId, SseLayer, SseStream};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// How many `timestamp` events a stream sends before the `end` event.
pub const TIMESTAMPS: u32 = 10;

/// The router: `GET /sse`, one event every `period` (one second in the real server); open
/// streams end when `shutdown` is cancelled.
pub fn app(period: Duration, shutdown: CancellationToken) -> Router {
    let final_event = Event::new()
        .comment("server shutting down")
        .retry(Duration::from_secs(5));
    Router::new()
        .route("/sse", get(sse))
        .with_state(period)
        .layer(
            SseLayer::new()
                .graceful_shutdown(shutdown)
                .final_event(final_event),
        )
}

async fn sse(State(period): State<Duration>, last_event_id: Option<LastEventId>) -> SseStream {
    match &last_event_id {
        Some(id) => tracing::info!(last_event_id = %id, "client connected, resuming"),
        None => tracing::info!("client connected without Last-Event-ID"),
    }
    // Ids are the sequence numbers; an id we did not send restarts the sequence.
    let first = last_event_id
        .and_then(|id| id.as_str().parse::<u32>().ok())
        .map_or(1, |n| n.saturating_add(1));

    let (sender, stream) = SseStream::channel(4);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        for n in first..=TIMESTAMPS {
            ticks.tick().await;
            let event = Event::new()
                .event(EventType::from_static("timestamp"))
                .id(n)
                .data(rfc3339(SystemTime::now()));
            if sender.send(event).await.is_err() {
                tracing::info!(sent = n - first, "client disconnected");
                return;
            }
        }
        ticks.tick().await;
        let end = Event::new()
            .event(EventType::from_static("end"))
            .data("end flag");
        // Dropping the sender afterwards ends the response.
        let _ = sender.send(end).await;
        tracing::info!("stream finished");
    });
    stream
}

/// Formats a time as RFC 3339 in UTC with second precision, e.g. `2024-02-29T13:05:09Z`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use quickstart_server::rfc3339;
///
/// assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
/// assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_709_211_909)), "2024-02-29T13:05:09Z");
/// ```
pub fn rfc3339(time: SystemTime) -> String {
    // Times before 1970 do not occur on a running server; show them as the epoch.
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest / 60 % 60, rest % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), in eras of 400 years.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}
