//! [`HubError`]: why the hub refused a publish or a subscription.

use std::fmt;

use super::ParseEventIdError;
use crate::EventError;

/// Why [`Hub::publish`](super::Hub::publish) or [`Hub::subscribe`](super::Hub::subscribe)
/// failed.
///
/// ```
/// use sse_axum::hub::{Hub, HubError, Subscribe};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let hub = Hub::new();
/// let request = Subscribe::new(["news"]).resume_from("not-an-id");
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
    /// An event could not be given the hub's id.
    Event(EventError),
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidLastEventId(_) => "invalid last event id",
            Self::Closed => "hub is closed",
            Self::NoTopics => "subscription names no topic",
            Self::NoEvents => "nothing to publish",
            Self::IdsExhausted => "event ids are exhausted",
            Self::Event(_) => "event could not be prepared for publishing",
        })
    }
}

impl std::error::Error for HubError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidLastEventId(error) => Some(error),
            Self::Event(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ParseEventIdError> for HubError {
    fn from(error: ParseEventIdError) -> Self {
        Self::InvalidLastEventId(error)
    }
}
