//! [`Event`] and [`EventError`]: the one place that writes the `text/event-stream` wire format.
//!
//! An [`Event`] keeps its fields (so they can be read back with [`Event::id_str`],
//! [`Event::event_type`], ...) and writes them with [`Event::to_bytes`]. Every value is checked
//! or normalised when it is set, so an `Event` can never produce bytes that break the stream:
//!
//! - `data` and comments are split into one line per line of text; `\r\n`, `\r` and `\n` each
//!   count as one line ending, exactly as a client splits them again;
//! - an `event` type or `id` containing CR or LF (and an `id` containing NUL, which clients
//!   ignore) is refused with an [`EventError`];
//! - an event without any field or comment encodes to nothing at all.
//!
//! Fields are written in a fixed order: comments, `event`, `id`, `retry`, then the `data`
//! lines, followed by the blank line that dispatches the event. Every field is written as
//! `name: value` (with one space, which the client removes again), so a value that starts with a
//! space keeps it; an empty value is written as `name:`.

use std::{fmt, time::Duration};

use bytes::{BufMut, Bytes, BytesMut};

/// One Server-Sent Event, built field by field.
///
/// Every setter takes `self` and returns the event (or a [`Result`] for the setters whose input
/// can be wrong), so events are built in one expression. Setting a field twice replaces the
/// earlier value, except [`comment`](Event::comment), which appends.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use sse_axum::Event;
///
/// let event = Event::new()
///     .event("update")?
///     .id("42")?
///     .retry(Duration::from_millis(2500))
///     .data("first line\nsecond line");
///
/// assert_eq!(
///     event.to_bytes(),
///     "event: update\nid: 42\nretry: 2500\ndata: first line\ndata: second line\n\n"
/// );
/// assert_eq!(event.id_str(), Some("42"));
/// # Ok::<(), sse_axum::EventError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Event {
    data: Option<String>,
    event_type: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    comments: Vec<String>,
}

impl Event {
    /// Creates an event with no field at all; it encodes to nothing until a field is set.
    ///
    /// ```
    /// let event = sse_axum::Event::new();
    /// assert!(event.is_empty());
    /// assert!(event.to_bytes().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `data` of the event, replacing any earlier data.
    ///
    /// Text with line breaks becomes several `data:` lines, which the client joins again with
    /// `\n`. `\r\n`, `\r` and `\n` each count as one line ending. An empty string is sent as one
    /// empty `data:` line, which clients dispatch as an event with empty data.
    ///
    /// ```
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().data("a\r\nb\rc\nd");
    /// assert_eq!(event.to_bytes(), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    /// assert_eq!(event.data_str(), Some("a\r\nb\rc\nd"));
    /// ```
    pub fn data(mut self, data: impl AsRef<str>) -> Self {
        self.data = Some(data.as_ref().to_owned());
        self
    }

    /// Sets the `data` of the event to the compact JSON serialization of `value`.
    ///
    /// Compact JSON never contains a raw line break, so the data is a single `data:` line.
    ///
    /// ```
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().json_data(&["a", "b\nc"])?;
    /// assert_eq!(event.to_bytes(), "data: [\"a\",\"b\\nc\"]\n\n");
    /// # Ok::<(), sse_axum::EventError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EventError::Json`] when `value` cannot be serialized (for example a map with non-string
    /// keys).
    #[cfg(feature = "json")]
    pub fn json_data<T: serde::Serialize + ?Sized>(
        mut self,
        value: &T,
    ) -> Result<Self, EventError> {
        let json = serde_json::to_string(value).map_err(EventError::Json)?;
        self.data = Some(json);
        Ok(self)
    }

    /// Sets the event type (the `event:` field), replacing any earlier type.
    ///
    /// Clients dispatch the event under this name (`addEventListener(name, ..)` in a browser);
    /// without it, the event is a `message`.
    ///
    /// ```
    /// use sse_axum::{Event, EventError};
    ///
    /// let event = Event::new().event("price")?.data("101.5");
    /// assert_eq!(event.to_bytes(), "event: price\ndata: 101.5\n\n");
    ///
    /// assert!(matches!(Event::new().event("a\nb"), Err(EventError::LineBreakInEventType)));
    /// # Ok::<(), EventError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EventError::LineBreakInEventType`] if the type contains `\r` or `\n`.
    pub fn event(mut self, event_type: impl AsRef<str>) -> Result<Self, EventError> {
        let event_type = event_type.as_ref();
        if has_line_break(event_type) {
            return Err(EventError::LineBreakInEventType);
        }
        self.event_type = Some(event_type.to_owned());
        Ok(self)
    }

    /// Sets the event id (the `id:` field), replacing any earlier id.
    ///
    /// The client remembers the id and sends it back in the `Last-Event-ID` header when it
    /// reconnects (see [`LastEventId`](crate::LastEventId)). An empty id resets the client's last
    /// event id.
    ///
    /// ```
    /// use sse_axum::{Event, EventError};
    ///
    /// let event = Event::new().id("7")?.data("hello");
    /// assert_eq!(event.to_bytes(), "id: 7\ndata: hello\n\n");
    ///
    /// assert!(matches!(Event::new().id("7\r"), Err(EventError::LineBreakInId)));
    /// assert!(matches!(Event::new().id("7\0"), Err(EventError::NulInId)));
    /// # Ok::<(), EventError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EventError::LineBreakInId`] if the id contains `\r` or `\n`, and
    /// [`EventError::NulInId`] if it contains a NUL character (clients ignore such an id).
    pub fn id(mut self, id: impl AsRef<str>) -> Result<Self, EventError> {
        let id = id.as_ref();
        if has_line_break(id) {
            return Err(EventError::LineBreakInId);
        }
        if id.contains('\0') {
            return Err(EventError::NulInId);
        }
        self.id = Some(id.to_owned());
        Ok(self)
    }

    /// Sets the reconnection time the client should wait before reconnecting (the `retry:`
    /// field), written in whole milliseconds (sub-millisecond parts are dropped).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().retry(Duration::from_secs(3));
    /// assert_eq!(event.to_bytes(), "retry: 3000\n\n");
    /// ```
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Appends a comment. Clients ignore comments; they are useful as keep-alive traffic or for
    /// debugging. A comment with line breaks becomes several comment lines.
    ///
    /// ```
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().comment("hello").comment("two\nlines");
    /// assert_eq!(event.to_bytes(), ": hello\n: two\n: lines\n\n");
    /// ```
    pub fn comment(mut self, comment: impl AsRef<str>) -> Self {
        self.comments.push(comment.as_ref().to_owned());
        self
    }

    /// The event's data, as given to [`data`](Event::data) (before splitting into lines).
    pub fn data_str(&self) -> Option<&str> {
        self.data.as_deref()
    }

    /// The event type set with [`event`](Event::event).
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The id set with [`id`](Event::id).
    pub fn id_str(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The reconnection time set with [`retry`](Event::retry).
    pub fn retry_duration(&self) -> Option<Duration> {
        self.retry
    }

    /// The comments added with [`comment`](Event::comment), in order.
    pub fn comments(&self) -> &[String] {
        &self.comments
    }

    /// Whether the event has no field and no comment; such an event encodes to nothing.
    pub fn is_empty(&self) -> bool {
        self.data.is_none()
            && self.event_type.is_none()
            && self.id.is_none()
            && self.retry.is_none()
            && self.comments.is_empty()
    }

    /// The exact number of bytes [`to_bytes`](Event::to_bytes) returns.
    ///
    /// ```
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().data("a\nb");
    /// assert_eq!(event.encoded_len(), event.to_bytes().len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut len = 1; // the blank line that ends the event
        for comment in &self.comments {
            len += lines(comment)
                .map(|line| field_len("", line))
                .sum::<usize>();
        }
        if let Some(event_type) = &self.event_type {
            len += field_len("event", event_type);
        }
        if let Some(id) = &self.id {
            len += field_len("id", id);
        }
        if let Some(retry) = self.retry {
            let (digits, start) = decimal(retry.as_millis());
            len += "retry: \n".len() + digits.len() - start;
        }
        if let Some(data) = &self.data {
            len += lines(data)
                .map(|line| field_len("data", line))
                .sum::<usize>();
        }
        len
    }

    /// Encodes the event into its exact wire bytes, ending with the blank line that dispatches
    /// it. An event with no field and no comment gives empty [`Bytes`].
    ///
    /// Streams call this once per event and then only pass the bytes on; to send the same event
    /// to many clients, call it once and share the cheap-to-clone [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        if self.is_empty() {
            return Bytes::new();
        }
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode_into(&mut buf);
        buf.freeze()
    }

    /// Appends the wire bytes of the event to `buf` (nothing for an empty event): what
    /// [`to_bytes`](Event::to_bytes) returns, written into a buffer shared by several events.
    pub(crate) fn encode_into(&self, buf: &mut BytesMut) {
        if self.is_empty() {
            return;
        }
        for comment in &self.comments {
            for line in lines(comment) {
                put_field(buf, "", line);
            }
        }
        if let Some(event_type) = &self.event_type {
            put_field(buf, "event", event_type);
        }
        if let Some(id) = &self.id {
            put_field(buf, "id", id);
        }
        if let Some(retry) = self.retry {
            let (digits, start) = decimal(retry.as_millis());
            buf.put_slice(b"retry: ");
            buf.put_slice(&digits[start..]);
            buf.put_u8(b'\n');
        }
        if let Some(data) = &self.data {
            for line in lines(data) {
                put_field(buf, "data", line);
            }
        }
        buf.put_u8(b'\n');
    }
}

fn has_line_break(value: &str) -> bool {
    value.bytes().any(|b| b == b'\r' || b == b'\n')
}

/// Splits text into lines the way an SSE client does: `\r\n`, `\r` and `\n` each end one line.
/// Always yields at least one (possibly empty) line, and a trailing line ending yields a final
/// empty line, so the client's re-joined text equals the input with line endings as `\n`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr2(b'\r', b'\n', current.as_bytes()) {
            Some(at) => {
                let skip = if current.as_bytes()[at..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The decimal digits of `n`, right-aligned in the array, and where they start.
fn decimal(mut n: u128) -> ([u8; 39], usize) {
    let mut digits = [0; 39];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return (digits, start);
        }
    }
}

/// Length of one `name: value\n` line (`name:\n` when the value is empty).
fn field_len(name: &str, value: &str) -> usize {
    if value.is_empty() {
        name.len() + 2
    } else {
        name.len() + 3 + value.len()
    }
}

fn put_field(buf: &mut BytesMut, name: &str, value: &str) {
    buf.put_slice(name.as_bytes());
    if value.is_empty() {
        buf.put_slice(b":\n");
    } else {
        buf.put_slice(b": ");
        buf.put_slice(value.as_bytes());
        buf.put_u8(b'\n');
    }
}

/// Why an [`Event`] setter refused its input.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventError {
    /// The event type contains `\r` or `\n`, which would end the `event:` line early.
    LineBreakInEventType,
    /// The id contains `\r` or `\n`, which would end the `id:` line early.
    LineBreakInId,
    /// The id contains a NUL character; clients ignore such an id.
    NulInId,
    /// The value given to `Event::json_data` could not be serialized.
    #[cfg(feature = "json")]
    Json(serde_json::Error),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineBreakInEventType => f.write_str("event type contains a line break"),
            Self::LineBreakInId => f.write_str("event id contains a line break"),
            Self::NulInId => f.write_str("event id contains a nul character"),
            #[cfg(feature = "json")]
            Self::Json(_) => f.write_str("event data could not be serialized as json"),
        }
    }
}

impl std::error::Error for EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            #[cfg(feature = "json")]
            Self::Json(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_a_client() {
        let split = |s| lines(s).collect::<Vec<_>>();
        assert_eq!(split(""), [""]);
        assert_eq!(split("a"), ["a"]);
        assert_eq!(split("a\r\nb"), ["a", "b"]);
        assert_eq!(split("a\rb\nc"), ["a", "b", "c"]);
        assert_eq!(split("a\n\rb"), ["a", "", "b"]);
        assert_eq!(split("a\r\r\nb"), ["a", "", "b"]);
        assert_eq!(split("\n"), ["", ""]);
        assert_eq!(split("a\r\n"), ["a", ""]);
    }
}
