//! [`LastEventId`], the extractor for the `Last-Event-ID` request header, with its
//! [`LastEventIdRejection`] and the [`LastEventIdConfig`] that sets its length limit.

use std::{fmt, str::FromStr};

use axum::{
    extract::{FromRequestParts, OptionalFromRequestParts},
    response::{IntoResponse, Response},
};
use http::{HeaderName, StatusCode, request::Parts};

/// The `Last-Event-ID` request header.
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The query parameter read when the header is absent, as sent by EventSource polyfills that
/// cannot set headers.
pub const LAST_EVENT_ID_QUERY: &str = "lastEventId";

/// The id of the last event a reconnecting client received: the `Last-Event-ID` request header,
/// or, when the header is absent, the `lastEventId` query parameter (used by EventSource
/// polyfills).
///
/// As an extractor, `LastEventId` rejects requests without an id, and `Option<LastEventId>`
/// gives `None` for them (an empty value counts as absent, as browsers never send one). A value
/// that is not valid UTF-8, contains NUL (or, in the query parameter, a line break), or is longer
/// than the limit is always rejected with `400 Bad Request` and a plain-text message, see
/// [`LastEventIdRejection`].
///
/// The limit is 1 KiB unless a [`LastEventIdConfig`] is present in the request extensions: add
/// one with `axum::Extension(config)` as a layer, as axum configures its own extractors.
///
/// # Example
///
/// ```
/// use axum::{Router, routing::get};
/// use sse_axum::LastEventId;
///
/// async fn handler(last_event_id: Option<LastEventId>) -> String {
///     match last_event_id {
///         Some(id) => format!("resuming after {id}"),
///         None => "starting fresh".to_owned(),
///     }
/// }
/// let app: Router = Router::new().route("/sse", get(handler));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LastEventId(String);

impl LastEventId {
    /// Creates a `LastEventId` from a value, for example one stored by a non-HTTP client.
    ///
    /// ```
    /// use sse_axum::LastEventId;
    ///
    /// let id = LastEventId::new("42")?;
    /// assert_eq!(id.as_str(), "42");
    /// assert!(LastEventId::new("4\n2").is_err());
    /// # Ok::<(), sse_axum::LastEventIdRejection>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`LastEventIdRejection`] when the value contains NUL, `\r` or `\n` (no `id:` field can
    /// carry them). There is no length limit here.
    pub fn new(id: impl Into<String>) -> Result<Self, LastEventIdRejection> {
        let id = id.into();
        check_chars(&id, Source::Value)?;
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Reads the id from request parts: `Ok(None)` when absent (or empty).
    fn from_parts(parts: &Parts) -> Result<Option<Self>, LastEventIdRejection> {
        let max_len = parts
            .extensions
            .get::<LastEventIdConfig>()
            .copied()
            .unwrap_or_default()
            .max_len;

        if let Some(value) = parts.headers.get(LAST_EVENT_ID) {
            let bytes = value.as_bytes();
            if !bytes.is_empty() {
                return Self::validate(bytes.to_vec(), Source::Header, max_len).map(Some);
            }
        }
        let Some(query) = parts.uri.query() else {
            return Ok(None);
        };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if key == LAST_EVENT_ID_QUERY && !value.is_empty() {
                return Self::validate(percent_decode(value), Source::Query, max_len).map(Some);
            }
        }
        Ok(None)
    }

    fn validate(
        bytes: Vec<u8>,
        source: Source,
        max_len: usize,
    ) -> Result<Self, LastEventIdRejection> {
        if bytes.len() > max_len {
            return Err(LastEventIdRejection::new(
                source,
                LastEventIdRejectionReason::TooLong {
                    len: bytes.len(),
                    max_len,
                },
            ));
        }
        let id = String::from_utf8(bytes).map_err(|_| {
            LastEventIdRejection::new(source, LastEventIdRejectionReason::InvalidUtf8)
        })?;
        check_chars(&id, source)?;
        Ok(Self(id))
    }
}

fn check_chars(id: &str, source: Source) -> Result<(), LastEventIdRejection> {
    if id.contains('\0') {
        return Err(LastEventIdRejection::new(
            source,
            LastEventIdRejectionReason::ContainsNul,
        ));
    }
    if id.contains(['\r', '\n']) {
        return Err(LastEventIdRejection::new(
            source,
            LastEventIdRejectionReason::ContainsLineBreak,
        ));
    }
    Ok(())
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits is kept as it is.
fn percent_decode(value: &str) -> Vec<u8> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let high = bytes.get(i + 1).copied().and_then(hex);
                let low = bytes.get(i + 2).copied().and_then(hex);
                if let (Some(high), Some(low)) = (high, low) {
                    out.push(high << 4 | low);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

impl fmt::Display for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for LastEventId {
    type Target = str;

    /// The id as text, so `id.parse::<u64>()` and `&*id` work directly.
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for LastEventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for LastEventId {
    type Err = LastEventIdRejection;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl PartialEq<str> for LastEventId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for LastEventId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LastEventId {
    type Rejection = LastEventIdRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts)?.ok_or_else(|| {
            LastEventIdRejection::new(Source::Header, LastEventIdRejectionReason::Missing)
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for LastEventId {
    type Rejection = LastEventIdRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Self::from_parts(parts)
    }
}

/// Settings for the [`LastEventId`] extractor, read from the request extensions.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use sse_axum::{LastEventId, LastEventIdConfig};
///
/// async fn handler(id: Option<LastEventId>) {}
///
/// let app: Router = Router::new()
///     .route("/sse", get(handler))
///     .layer(Extension(LastEventIdConfig::new().max_len(64)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct LastEventIdConfig {
    max_len: usize,
}

impl LastEventIdConfig {
    /// The default limit: 1 KiB.
    pub const DEFAULT_MAX_LEN: usize = 1024;

    /// The default settings.
    pub const fn new() -> Self {
        Self {
            max_len: Self::DEFAULT_MAX_LEN,
        }
    }

    /// Sets the longest accepted id in bytes (after percent-decoding, for the query parameter).
    pub const fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// The longest accepted id in bytes.
    pub const fn max_len_bytes(&self) -> usize {
        self.max_len
    }
}

impl Default for LastEventIdConfig {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Header,
    Query,
    Value,
}

/// Why a request's [`LastEventId`] was rejected. Answers `400 Bad Request` with
/// [`Display`](fmt::Display) as a plain-text body.
///
/// ```
/// use sse_axum::{LastEventId, LastEventIdRejectionReason};
///
/// let rejection = LastEventId::new("a\0b").unwrap_err();
/// assert_eq!(rejection.reason(), &LastEventIdRejectionReason::ContainsNul);
/// assert_eq!(rejection.to_string(), "invalid last event id: contains a nul character");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastEventIdRejection {
    source: Source,
    reason: LastEventIdRejectionReason,
}

impl LastEventIdRejection {
    fn new(source: Source, reason: LastEventIdRejectionReason) -> Self {
        Self { source, reason }
    }

    /// Where the id was read: `"Last-Event-ID"` (the header), `"lastEventId"` (the query
    /// parameter) or `"last event id"` (a value given to [`LastEventId::new`]).
    pub fn name(&self) -> &'static str {
        match self.source {
            Source::Header => "Last-Event-ID",
            Source::Query => LAST_EVENT_ID_QUERY,
            Source::Value => "last event id",
        }
    }

    /// What was wrong.
    pub fn reason(&self) -> &LastEventIdRejectionReason {
        &self.reason
    }

    /// Whether the id was simply absent.
    pub fn is_missing(&self) -> bool {
        self.reason == LastEventIdRejectionReason::Missing
    }
}

/// What was wrong with a [`LastEventId`]; see [`LastEventIdRejection::reason`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LastEventIdRejectionReason {
    /// Neither the header nor the query parameter was present (or both were empty).
    Missing,
    /// The value is not valid UTF-8.
    InvalidUtf8,
    /// The value contains a NUL character.
    ContainsNul,
    /// The value contains `\r` or `\n` (possible in the percent-decoded query parameter).
    ContainsLineBreak,
    /// The value is longer than the configured limit.
    TooLong {
        /// The length of the value in bytes.
        len: usize,
        /// The limit in bytes.
        max_len: usize,
    },
}

impl fmt::Display for LastEventIdRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.source {
            Source::Header => "`Last-Event-ID` header",
            Source::Query => "`lastEventId` query parameter",
            Source::Value => "last event id",
        };
        match &self.reason {
            LastEventIdRejectionReason::Missing => write!(f, "missing {what}"),
            LastEventIdRejectionReason::InvalidUtf8 => write!(f, "invalid {what}: not valid utf-8"),
            LastEventIdRejectionReason::ContainsNul => {
                write!(f, "invalid {what}: contains a nul character")
            }
            LastEventIdRejectionReason::ContainsLineBreak => {
                write!(f, "invalid {what}: contains a line break")
            }
            LastEventIdRejectionReason::TooLong { len, max_len } => {
                write!(
                    f,
                    "invalid {what}: {len} bytes long, the limit is {max_len}"
                )
            }
        }
    }
}

impl std::error::Error for LastEventIdRejection {}

impl IntoResponse for LastEventIdRejection {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a+b%20c"), b"a b c");
        assert_eq!(percent_decode("%e2%82%AC"), "€".as_bytes());
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%00"), b"\0");
    }
}
