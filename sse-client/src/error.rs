//! [`Error`] and [`DisconnectReason`]: how a subscription fails or a connection ends.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::parser::ParseError;

/// An error that ends a subscription; it is always the last item of a
/// [`Subscription`](crate::Subscription).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP client could not be built.
    HttpClient(reqwest::Error),
    /// The request could not be built (e.g. an invalid URL).
    InvalidRequest(reqwest::Error),
    /// The request's body is a stream, which cannot be sent again on reconnection.
    RequestNotCloneable,
    /// The server answered with a status other than 200 OK (and the retry policy does not
    /// retry it). As in browsers, the subscription is not retried.
    Status {
        /// The response status.
        status: StatusCode,
    },
    /// The server answered 200 OK with a content type other than `text/event-stream`. As in
    /// browsers, the subscription is not retried.
    ContentType {
        /// The `Content-Type` header, if there was one.
        content_type: Option<String>,
    },
    /// An event grew past the maximum event size.
    EventTooLarge(ParseError),
    /// The maximum number of consecutive reconnection attempts was reached.
    GaveUp {
        /// How many reconnection attempts were made.
        retries: u32,
        /// Why the last connection or attempt ended.
        reason: DisconnectReason,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HttpClient(_) => f.write_str("could not build the http client"),
            Self::InvalidRequest(_) => f.write_str("invalid request"),
            Self::RequestNotCloneable => {
                f.write_str("the request body is a stream and cannot be sent again on reconnection")
            }
            Self::Status { status } => write!(f, "unexpected response status {status}"),
            Self::ContentType { content_type } => match content_type {
                Some(content_type) => write!(
                    f,
                    "unexpected content type {content_type:?}, expected text/event-stream"
                ),
                None => f.write_str("missing content type, expected text/event-stream"),
            },
            Self::EventTooLarge(_) => f.write_str("event too large"),
            Self::GaveUp { retries, reason } => {
                write!(f, "gave up after {retries} reconnection attempts: {reason}")
            }
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::HttpClient(error) | Self::InvalidRequest(error) => Some(error),
            Self::EventTooLarge(error) => Some(error),
            Self::GaveUp { reason, .. } => Some(reason),
            Self::RequestNotCloneable | Self::Status { .. } | Self::ContentType { .. } => None,
        }
    }
}

/// Why a connection (or a connection attempt) ended.
///
/// Given to [`on_disconnect`](crate::ClientBuilder::on_disconnect) and carried by
/// [`Error::GaveUp`].
#[derive(Debug)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server ended the response cleanly. Not an error: the client reconnects.
    EndOfStream,
    /// Connecting, sending the request or reading the response failed.
    Network(reqwest::Error),
    /// No bytes (not even a keep-alive comment) arrived for this long.
    IdleTimeout(Duration),
    /// The server answered with a status that the retry policy retries (5xx, 429).
    Status(StatusCode),
    /// An event grew past the maximum event size; the subscription ends with
    /// [`Error::EventTooLarge`].
    EventTooLarge(ParseError),
    /// The subscription was dropped or cancelled.
    Cancelled,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndOfStream => f.write_str("the server ended the stream"),
            Self::Network(_) => f.write_str("network error"),
            Self::IdleTimeout(timeout) => write!(f, "no data received for {timeout:?}"),
            Self::Status(status) => write!(f, "response status {status}"),
            Self::EventTooLarge(_) => f.write_str("event too large"),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl StdError for DisconnectReason {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Network(error) => Some(error),
            Self::EventTooLarge(error) => Some(error),
            _ => None,
        }
    }
}

/// A connection ended: why, and what happens next. Given to
/// [`on_disconnect`](crate::ClientBuilder::on_disconnect).
#[derive(Debug)]
pub struct Disconnect {
    pub(crate) reason: DisconnectReason,
    pub(crate) reconnect_in: Option<Duration>,
}

impl Disconnect {
    /// Why the connection ended.
    #[must_use]
    pub fn reason(&self) -> &DisconnectReason {
        &self.reason
    }

    /// The delay before the next attempt, or `None` when the subscription ends.
    #[must_use]
    pub fn reconnect_in(&self) -> Option<Duration> {
        self.reconnect_in
    }
}
