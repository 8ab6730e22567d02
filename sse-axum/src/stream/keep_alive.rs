//! [`KeepAlive`]: the comments an [`SseStream`](super::SseStream) writes during silence.

use std::{fmt, time::Duration};

use bytes::Bytes;

use crate::Event;

/// Keep-alive comments for an [`SseStream`](super::SseStream): after `interval` without any event, the stream
/// writes a comment, which clients ignore but proxies and load balancers see as traffic.
/// Every event sent restarts the interval.
///
/// Writing also tells the server when a client has gone: a write to a closed connection fails,
/// the response is dropped, and [`EventSender::send`](super::EventSender::send) starts failing.
///
/// ```
/// use std::time::Duration;
/// use sse_axum::KeepAlive;
///
/// let default = KeepAlive::new(); // ":\n\n" after 15 s of silence
/// let custom = KeepAlive::new().interval(Duration::from_secs(5)).text("ping");
/// let off = KeepAlive::disabled();
/// # drop((default, custom, off));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct KeepAlive {
    pub(super) interval: Option<Duration>,
    pub(super) frame: Bytes,
}

impl KeepAlive {
    /// The default interval between keep-alive comments.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// Keep-alive with an empty comment (`:\n\n`) after 15 seconds of silence.
    pub fn new() -> Self {
        Self {
            interval: Some(Self::DEFAULT_INTERVAL),
            frame: Bytes::from_static(b":\n\n"),
        }
    }

    /// No keep-alive comments at all.
    pub fn disabled() -> Self {
        Self {
            interval: None,
            frame: Bytes::from_static(b":\n\n"),
        }
    }

    /// Sets the time without events after which a comment is sent. [`Duration::ZERO`] disables
    /// keep-alive (rather than flooding the connection).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// Sets the text of the keep-alive comment (empty by default). Text with line breaks becomes
    /// several comment lines, like [`Event::comment`]. The comment is encoded here, once.
    pub fn text(mut self, text: impl AsRef<str>) -> Self {
        self.frame = Event::new().comment(text).to_bytes();
        self
    }

    /// The interval, or `None` when keep-alive is disabled.
    pub fn interval_duration(&self) -> Option<Duration> {
        self.interval
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAlive")
            .field("interval", &self.interval)
            .field("comment", &self.frame)
            .finish()
    }
}
