//! [`Error`], [`StatusError`] and [`DisconnectReason`]: how a subscription fails or a
//! connection ends.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::parser::ParseError;

/// An error that ends a subscription; it is always the last item of a
/// [`Subscription`](crate::Subscription).
///
/// Its [`Display`](fmt::Display) says what went wrong in words a newcomer understands, its
/// [`source`](StdError::source) chain the details (e.g. the TLS or socket error).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP client could not be built.
    HttpClient(reqwest::Error),
    /// The request could not be built (e.g. an invalid URL, a header value that is not
    /// one, or the request function's error).
    InvalidRequest(reqwest::Error),
    /// The URL's scheme is not one the client can speak: only `http` and `https` are, and
    /// `https` only with a TLS feature (`rustls`, on by default, or `native-tls`).
    UnsupportedScheme {
        /// The scheme of the URL.
        scheme: String,
    },
    /// The TLS handshake failed in a way a retry cannot fix: the server's certificate was
    /// rejected (not issued by a trusted root, expired, for another name, ...). Add the
    /// server's root with [`ClientBuilder::add_root_certificate`](crate::ClientBuilder) if it
    /// is a private one.
    Tls(reqwest::Error),
    /// The request's body is a stream, which cannot be sent again on reconnection; build the
    /// request per attempt with [`Client::subscribe_fn`](crate::Client::subscribe_fn) instead.
    RequestNotCloneable,
    /// The server answered with a status other than 200 OK or 204 No Content (and the retry
    /// policy does not retry it). As in browsers, the subscription is not retried. The error
    /// keeps the response's headers and the start of its body.
    Status(StatusError),
    /// The server answered 200 OK with a content type other than `text/event-stream`. As in
    /// browsers, the subscription is not retried.
    ContentType {
        /// The `Content-Type` header, if there was one.
        content_type: Option<String>,
    },
    /// An event grew past the maximum event size.
    EventTooLarge(ParseError),
    /// The stream was cut before the server gave it an event ID, and the request is not one
    /// to send twice (the [reconnect policy](crate::Reconnect::OnFailure), the default for
    /// methods other than `GET`): what it started (e.g. an LLM completion) cannot resume.
    CannotResume {
        /// How the stream was cut.
        reason: DisconnectReason,
    },
    /// The stream failed and the [reconnect policy](crate::Reconnect::Never) does not
    /// reconnect.
    Disconnected {
        /// How the stream ended.
        reason: DisconnectReason,
    },
    /// The maximum number of reconnection attempts was reached.
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
            Self::UnsupportedScheme { scheme } if scheme.eq_ignore_ascii_case("https") => f
                .write_str(
                    "https:// URLs need TLS, and sse-client was built without it: enable its \
                     `rustls` feature (on by default) or `native-tls`",
                ),
            Self::UnsupportedScheme { scheme } => write!(
                f,
                "unsupported URL scheme {scheme:?}: only http:// and https:// URLs are supported"
            ),
            Self::Tls(_) => f.write_str(
                "the TLS handshake failed: the server's certificate was rejected (for a private \
                 certificate authority, trust its root certificate)",
            ),
            Self::RequestNotCloneable => f.write_str(
                "the request body is a stream and cannot be sent again on reconnection (build \
                 the request per attempt with Client::subscribe_fn)",
            ),
            Self::Status(error) => fmt::Display::fmt(error, f),
            Self::ContentType { content_type } => match content_type {
                Some(content_type) => write!(
                    f,
                    "unexpected content type {content_type:?}, expected text/event-stream"
                ),
                None => f.write_str("missing content type, expected text/event-stream"),
            },
            Self::EventTooLarge(_) => f.write_str("event too large"),
            // The reason is the error's source: shown after it by whoever prints the chain.
            Self::CannotResume { .. } => f.write_str(
                "the stream was cut before the server sent an event id, so it cannot resume, \
                 and the request was not sent again: it may not be safe to repeat",
            ),
            Self::Disconnected { .. } => f.write_str(
                "the stream ended with an error and the reconnect policy does not reconnect",
            ),
            Self::GaveUp { retries, .. } => {
                write!(f, "gave up after {retries} reconnection attempts")
            }
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::HttpClient(error) | Self::InvalidRequest(error) | Self::Tls(error) => Some(error),
            Self::EventTooLarge(error) => Some(error),
            Self::GaveUp { reason, .. }
            | Self::CannotResume { reason }
            | Self::Disconnected { reason } => Some(reason),
            Self::UnsupportedScheme { .. }
            | Self::RequestNotCloneable
            | Self::Status(_)
            | Self::ContentType { .. } => None,
        }
    }
}

/// A response with a status the subscription does not accept: its status, headers and the
/// start of its body (up to 64 KiB, read within the idle timeout), e.g. an API's JSON error.
///
/// Carried by [`Error::Status`].
///
/// ```
/// # fn show(error: &reqwest_sse_client::Error) {
/// if let reqwest_sse_client::Error::Status(response) = error {
///     eprintln!("{}: {}", response.status(), response.body_text());
///     if let Some(wait) = response.retry_after() {
///         eprintln!("the server asks to wait {wait:?}");
///     }
/// }
/// # }
/// ```
pub struct StatusError {
    inner: Box<StatusInner>,
}

struct StatusInner {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    truncated: bool,
}

/// How much of a refused response's body [`StatusError`] keeps.
pub(crate) const STATUS_BODY_LIMIT: usize = 64 * 1024;

/// How much of the body the [`Display`](fmt::Display) of a [`StatusError`] shows.
const SHOWN_BODY_CHARS: usize = 300;

impl StatusError {
    pub(crate) fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        truncated: bool,
    ) -> Self {
        Self {
            inner: Box::new(StatusInner {
                status,
                headers,
                body,
                truncated,
            }),
        }
    }

    /// The response status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The response headers.
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The response body, up to 64 KiB (see [`body_truncated`](Self::body_truncated)).
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body as text, invalid UTF-8 replaced with U+FFFD.
    #[must_use]
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.inner.body)
    }

    /// Whether the body was longer than what was kept, or could not be read to its end within
    /// the idle timeout.
    #[must_use]
    pub fn body_truncated(&self) -> bool {
        self.inner.truncated
    }

    /// The `Retry-After` header: a number of seconds, or an HTTP date (the time from now until
    /// then, zero when it has passed).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        crate::client::retry_after(&self.inner.headers)
    }

    /// Decodes the body as JSON.
    ///
    /// # Errors
    /// The error of [`serde_json::from_slice`] when the body is not valid JSON for `T`.
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.inner.body)
    }
}

impl fmt::Debug for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusError")
            .field("status", &self.inner.status)
            .field("headers", &self.inner.headers)
            .field("body", &self.body_text())
            .field("truncated", &self.inner.truncated)
            .finish()
    }
}

/// `unexpected response status 401 Unauthorized: {"error":"bad token"}`: the status, then
/// the start of the body on the same line (whitespace runs shown as one space).
impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unexpected response status {}", self.inner.status)?;
        let text = self.body_text();
        let mut words = text.split_whitespace().peekable();
        if words.peek().is_none() {
            return Ok(());
        }
        let mut shown = String::new();
        for word in words {
            if !shown.is_empty() {
                shown.push(' ');
            }
            shown.push_str(word);
            if shown.chars().count() > SHOWN_BODY_CHARS {
                break;
            }
        }
        let cut = shown.char_indices().nth(SHOWN_BODY_CHARS);
        match cut {
            Some((at, _)) => write!(f, ": {}...", &shown[..at]),
            None if self.inner.truncated => write!(f, ": {shown}..."),
            None => write!(f, ": {shown}"),
        }
    }
}

impl StdError for StatusError {}

/// Why a connection (or a connection attempt) ended.
///
/// Given to [`on_disconnect`](crate::ClientBuilder::on_disconnect) and to the request
/// function of [`Client::subscribe_fn`](crate::Client::subscribe_fn), and carried by
/// [`Error::GaveUp`], [`Error::CannotResume`] and [`Error::Disconnected`].
#[derive(Debug)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The server ended the response cleanly. Not an error: with
    /// [`Reconnect::Always`](crate::Reconnect::Always) the client reconnects.
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
    /// The end marker (e.g. [`until_data`](crate::Subscription::until_data)) arrived: the
    /// subscription ends cleanly.
    EndMarker,
    /// The subscription was dropped or cancelled.
    Cancelled,
}

impl DisconnectReason {
    /// A short fixed name for the reason, e.g. as a metric label (`end_of_stream`,
    /// `network`, `idle_timeout`, `status`, `event_too_large`, `end_marker`, `cancelled`).
    ///
    /// ```
    /// assert_eq!(reqwest_sse_client::DisconnectReason::EndOfStream.label(), "end_of_stream");
    /// ```
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Self::EndOfStream => "end_of_stream",
            Self::Network(_) => "network",
            Self::IdleTimeout(_) => "idle_timeout",
            Self::Status(_) => "status",
            Self::EventTooLarge(_) => "event_too_large",
            Self::EndMarker => "end_marker",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the request surely never reached the server (the connection could not be
    /// made), so sending it again cannot repeat its effect.
    pub(crate) fn request_not_sent(&self) -> bool {
        match self {
            Self::Network(error) => error.is_connect(),
            // A retried status (503, 429) is the server refusing the work.
            Self::Status(_) => true,
            _ => false,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EndOfStream => f.write_str("the server ended the stream"),
            Self::Network(error) if error.is_connect() => f.write_str("could not connect"),
            Self::Network(_) => f.write_str("network error"),
            Self::IdleTimeout(timeout) => write!(f, "no data received for {timeout:?}"),
            Self::Status(status) => write!(f, "response status {status}"),
            Self::EventTooLarge(_) => f.write_str("event too large"),
            Self::EndMarker => f.write_str("the end marker arrived"),
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
