//! [`HubError`]: why the hub refused a publish or a subscription.

use std::fmt;

use super::ParseEventIdError;

/// Why [`Hub::publish`](super::Hub::publish) or [`Hub::subscribe`](super::Hub::subscribe)
/// failed.
///
/// ```
/// use sse_axum::hub::{Hub, HubError, Subscribe};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let hub = Hub::new();
/// let request = Subscribe::new(["news"]).last_event_id("not-an-id");
/// let error = hub.subscribe(request).await.unwrap_err();
/// assert!(matches!(error, HubError::InvalidLastEventId(_)));
/// assert_eq!(error.to_string(), "invalid last event id");
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum HubError {
    /// The `Last-Event-ID` is not an [`EventId`](super::EventId) (an HTTP handler answers 400).
    InvalidLastEventId(ParseEventIdError),
    /// [`Hub::close`](super::Hub::close) was called: no more publishing or subscribing.
    Closed,
    /// A subscription named no topic.
    NoTopics,
    /// [`Hub::publish_all`](super::Hub::publish_all) was given no event.
    NoEvents,
    /// Every event id has been used (a counter of milliseconds reached `u64::MAX`).
    IdsExhausted,
    /// The shared backend (Redis) failed: it is unreachable, timed out or answered something
    /// unexpected. Nothing was published; retrying later may succeed (an HTTP handler
    /// answers 503).
    Backend(BackendError),
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidLastEventId(_) => "invalid last event id",
            Self::Closed => "hub is closed",
            Self::NoTopics => "subscription names no topic",
            Self::NoEvents => "nothing to publish",
            Self::IdsExhausted => "event ids are exhausted",
            Self::Backend(_) => "hub backend failed",
        })
    }
}

impl std::error::Error for HubError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidLastEventId(error) => Some(error),
            Self::Backend(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ParseEventIdError> for HubError {
    fn from(error: ParseEventIdError) -> Self {
        Self::InvalidLastEventId(error)
    }
}

impl From<BackendError> for HubError {
    fn from(error: BackendError) -> Self {
        Self::Backend(error)
    }
}

/// Why the hub's shared backend failed: see [`BackendError::kind`].
///
/// ```
/// use sse_axum::hub::{BackendErrorKind, HubError};
///
/// fn status(error: &HubError) -> u16 {
///     match error {
///         HubError::Backend(e) if e.kind() == BackendErrorKind::Unavailable => 503,
///         HubError::InvalidLastEventId(_) => 400,
///         _ => 500,
///     }
/// }
/// # let _ = status;
/// ```
#[derive(Debug)]
pub struct BackendError {
    kind: BackendErrorKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// What went wrong with the shared backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendErrorKind {
    /// The backend cannot be reached, or did not answer in time: retry later.
    Unavailable,
    /// The backend's configuration is wrong (an invalid URL), or there is no Tokio runtime to
    /// run its tasks on.
    Config,
    /// The backend answered something unexpected (a command failed, a reply had another shape).
    Protocol,
}

impl BackendError {
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn new(
        kind: BackendErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BackendErrorKind::Unavailable => "backend is unavailable",
            BackendErrorKind::Config => "backend is misconfigured",
            BackendErrorKind::Protocol => "backend answered unexpectedly",
        })
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
