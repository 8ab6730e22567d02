//! [`HubError`]: why the hub refused a publish or a subscription.

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

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
    /// The topic finished ([`Hub::finish`](super::Hub::finish)): nothing more is published to
    /// it, and a subscriber past its final event has nothing to wait for (an HTTP handler
    /// answers `204 No Content`, which stops an `EventSource` from reconnecting).
    Finished,
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
            Self::Finished => "topic has finished",
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

impl HubError {
    /// The HTTP status a handler answers with: 400 for what the client sent (a
    /// `Last-Event-ID` that is not ours, no topic), 204 for a finished topic (an `EventSource`
    /// stops reconnecting), 503 when the hub is closed or its backend unavailable (retrying
    /// later can succeed), 500 otherwise.
    ///
    /// ```
    /// use axum::http::StatusCode;
    /// use sse_axum::hub::HubError;
    ///
    /// assert_eq!(HubError::Closed.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert_eq!(HubError::NoTopics.status(), StatusCode::BAD_REQUEST);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidLastEventId(_) | Self::NoTopics => StatusCode::BAD_REQUEST,
            Self::Finished => StatusCode::NO_CONTENT,
            Self::Closed => StatusCode::SERVICE_UNAVAILABLE,
            Self::Backend(error) if error.kind() == BackendErrorKind::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Seconds a client is asked to wait with a 503: long enough for a restart or a Redis
/// failover, short enough that a browser user does not notice.
const RETRY_AFTER_SECS: &str = "5";

/// The error as an HTTP answer, so a handler can return `Result<Subscription, HubError>`:
/// the [`status`](HubError::status) with a plain-text message (`Retry-After` on 503); a 500 is
/// logged with its cause and answered without it (it may name internals).
///
/// ```
/// use axum::{Router, extract::State, routing::get};
/// use sse_axum::LastEventId;
/// use sse_axum::hub::{Hub, HubError, Subscribe, Subscription};
///
/// async fn events(
///     State(hub): State<Hub>,
///     last_event_id: Option<LastEventId>,
/// ) -> Result<Subscription, HubError> {
///     hub.subscribe(Subscribe::new(["news"]).last_event_id(last_event_id)).await
/// }
///
/// let app: Router = Router::new().route("/events", get(events)).with_state(Hub::new());
/// # drop(app);
/// ```
impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::NO_CONTENT {
            return status.into_response();
        }
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            crate::log::log!(error, error = %self, source = ?std::error::Error::source(&self), "hub failed");
            "internal error".to_owned()
        } else {
            match std::error::Error::source(&self) {
                Some(source) => format!("{self}: {source}"),
                None => self.to_string(),
            }
        };
        let mut response = (status, message).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
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
