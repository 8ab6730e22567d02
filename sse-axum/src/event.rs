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

use std::{fmt, ops::Range, time::Duration};

use bytes::{Bytes, BytesMut};

/// One Server-Sent Event, built field by field.
///
/// Every setter takes `self` and returns the event (or a [`Result`] for the setters whose input
/// can be wrong), so events are built in one expression. Setting a field twice replaces the
/// earlier value, except [`comment`](Event::comment), which appends.
///
/// An `Event` is one pointer wide, so passing it through the builder, a `Result` and a stream
/// costs no more than passing a `Box`. The values of the id, event type and data share one
/// buffer that is part of the event's single allocation while they are short (up to
/// 118 bytes together), so a typical event costs one allocation.
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
#[derive(Clone, Default)]
#[must_use]
pub struct Event {
    /// `None` until the first field is set.
    inner: Option<Box<Inner>>,
}

/// The fields of a non-empty [`Event`].
#[derive(Clone, Default)]
struct Inner {
    /// The `event:`, `id:` and `data:` lines, in this order and exactly as they are sent (each
    /// one empty while its field is not set), so an event is written with one copy. Data with
    /// line breaks is kept as given instead (`raw_data`) and split when it is written.
    text: Text,
    /// Lengths of the `event:` and `id:` lines in `text`; the `data:` line(s) are the rest.
    type_len: usize,
    id_len: usize,
    raw_data: bool,
    retry: Option<Duration>,
    comments: Vec<String>,
}

/// The id, event type or data in [`Inner::text`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    Id,
    Data,
}

impl Field {
    const fn name(self) -> &'static str {
        match self {
            Self::Type => "event",
            Self::Id => "id",
            Self::Data => "data",
        }
    }
}

impl Inner {
    /// Where the field's line is in `text` (empty when it is not set).
    #[inline]
    fn range(&self, field: Field) -> Range<usize> {
        match field {
            Field::Type => 0..self.type_len,
            Field::Id => self.type_len..self.type_len + self.id_len,
            Field::Data => self.type_len + self.id_len..self.text.len(),
        }
    }

    /// The value of the field, as it was set.
    fn get(&self, field: Field) -> Option<&str> {
        let range = self.range(field);
        if range.is_empty() {
            return None;
        }
        if field == Field::Data && self.raw_data {
            return Some(self.text.get(range));
        }
        // `name: value\n`, or `name:\n` for an empty value.
        let start = range.start + field.name().len() + 2;
        Some(if start < range.end {
            self.text.get(start..range.end - 1)
        } else {
            ""
        })
    }

    /// Sets the field to `value`, written as its line (`raw`: as it is, for data with line
    /// breaks).
    #[inline(always)] // so that `field` is a constant in each setter
    fn set(&mut self, field: Field, value: &str, raw: bool) {
        let name = field.name();
        let range = self.range(field);
        let line_len = if raw {
            self.text.replace(range, &[value])
        } else if value.is_empty() {
            self.text.replace(range, &[name, ":\n"])
        } else if let Some(len) = self.text.set_last_line(range.clone(), name, value) {
            len
        } else {
            self.text.replace(range, &[name, ": ", value, "\n"])
        };
        match field {
            Field::Type => self.type_len = line_len,
            Field::Id => self.id_len = line_len,
            Field::Data => self.raw_data = raw,
        }
    }

    fn is_empty(&self) -> bool {
        self.text.len() == 0 && self.retry.is_none() && self.comments.is_empty()
    }

    fn encoded_len(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        let mut len = self.text.len() + 1; // the lines, and the blank line that ends the event
        for comment in &self.comments {
            len += lines(comment)
                .map(|line| field_len("", line))
                .sum::<usize>();
        }
        if let Some(retry) = self.retry {
            let (digits, start) = decimal(retry.as_millis());
            len += "retry: \n".len() + digits.len() - start;
        }
        if self.raw_data {
            let data = self.range(Field::Data);
            len -= data.len();
            len += lines(self.text.get(data))
                .map(|line| field_len("data", line))
                .sum::<usize>();
        }
        len
    }

    /// Appends the wire bytes; false for an empty event.
    #[inline]
    fn encode_into(&self, buf: &mut BytesMut) -> bool {
        if self.retry.is_none() && self.comments.is_empty() && !self.raw_data {
            // The usual event: its lines, then the blank line.
            let text = self.text.as_bytes();
            if text.is_empty() {
                return false;
            }
            buf.reserve(text.len() + 1);
            buf.extend_from_slice(text);
            buf.extend_from_slice(b"\n");
            return true;
        }
        if self.is_empty() {
            return false;
        }
        buf.reserve(self.encoded_len());
        for comment in &self.comments {
            for line in lines(comment) {
                put_field(buf, b"", line);
            }
        }
        let data = self.range(Field::Data);
        buf.extend_from_slice(self.text.as_bytes().get(..data.start).unwrap_or_default());
        if let Some(retry) = self.retry {
            let (digits, start) = decimal(retry.as_millis());
            buf.extend_from_slice(b"retry: ");
            buf.extend_from_slice(&digits[start..]);
            buf.extend_from_slice(b"\n");
        }
        if self.raw_data {
            for line in lines(self.text.get(data)) {
                put_field(buf, b"data", line);
            }
        } else {
            buf.extend_from_slice(self.text.as_bytes().get(data).unwrap_or_default());
        }
        buf.extend_from_slice(b"\n");
        true
    }
}

/// The lines of an event's id, type and data: in place while they are short, in a `String`
/// once they outgrow it. Always valid UTF-8, split only where one value ends and the next
/// begins.
#[derive(Clone)]
enum Text {
    Inline { len: u8, bytes: [u8; Text::INLINE] },
    Heap(String),
}

impl Text {
    /// How many bytes are kept in place (so that [`Inner`] is 184 bytes on 64-bit targets).
    const INLINE: usize = 118;

    #[inline]
    fn len(&self) -> usize {
        match self {
            Self::Inline { len, .. } => usize::from(*len),
            Self::Heap(text) => text.len(),
        }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(text) => text.as_bytes(),
        }
    }

    /// The text in `range`, which always lies on the boundaries of values.
    fn get(&self, range: Range<usize>) -> &str {
        match self {
            Self::Inline { .. } => self.as_bytes().get(range).map(utf8).unwrap_or_default(),
            Self::Heap(text) => text.get(range).unwrap_or_default(),
        }
    }

    /// The fast path of [`replace`](Text::replace) for the usual builder: writes the line
    /// `name: value\n` in place of the last line, `range`, if it fits in place; returns its
    /// length.
    #[inline]
    fn set_last_line(&mut self, range: Range<usize>, name: &str, value: &str) -> Option<usize> {
        let Self::Inline { len, bytes } = self else {
            return None;
        };
        let line_len = name.len() + 3 + value.len();
        let end = range.start + line_len;
        if range.end != usize::from(*len) || end > Self::INLINE {
            return None;
        }
        let new_len = u8::try_from(end).ok()?;
        let line = bytes.get_mut(range.start..end)?;
        let (head, rest) = line.split_at_mut(name.len() + 2);
        head[..name.len()].copy_from_slice(name.as_bytes());
        head[name.len()..].copy_from_slice(b": ");
        let (text, newline) = rest.split_at_mut(value.len());
        text.copy_from_slice(value.as_bytes());
        newline.copy_from_slice(b"\n");
        *len = new_len;
        Some(line_len)
    }

    /// Replaces the bytes in `range` (the boundaries of a line) with `parts` one after the
    /// other; returns their length.
    #[inline]
    fn replace(&mut self, range: Range<usize>, parts: &[&str]) -> usize {
        let added = parts.iter().map(|part| part.len()).sum();
        match self {
            Self::Inline { len, bytes } => {
                let old_len = usize::from(*len);
                let new_len = old_len - range.len() + added;
                if new_len <= Self::INLINE
                    && let Ok(new_len) = u8::try_from(new_len)
                {
                    if range.end < old_len {
                        bytes.copy_within(range.end..old_len, range.start + added);
                    }
                    let mut at = range.start;
                    for part in parts {
                        bytes[at..at + part.len()].copy_from_slice(part.as_bytes());
                        at += part.len();
                    }
                    *len = new_len;
                    return added;
                }
                let mut text = String::with_capacity(new_len);
                text.push_str(utf8(&bytes[..range.start]));
                text.extend(parts.iter().copied());
                text.push_str(utf8(&bytes[range.end..old_len]));
                *self = Self::Heap(text);
            }
            Self::Heap(text) if range.end == text.len() => {
                text.truncate(range.start);
                text.extend(parts.iter().copied());
            }
            Self::Heap(text) => text.replace_range(range, &parts.concat()),
        }
        added
    }
}

impl Default for Text {
    fn default() -> Self {
        Self::Inline {
            len: 0,
            bytes: [0; Self::INLINE],
        }
    }
}

/// Bytes cut from [`Text`] at value boundaries, which are always valid UTF-8.
fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.data_str() == other.data_str()
            && self.event_type() == other.event_type()
            && self.id_str() == other.id_str()
            && self.retry_duration() == other.retry_duration()
            && self.comments() == other.comments()
    }
}

impl Eq for Event {}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("data", &self.data_str())
            .field("event_type", &self.event_type())
            .field("id", &self.id_str())
            .field("retry", &self.retry_duration())
            .field("comments", &self.comments())
            .finish()
    }
}

impl Event {
    /// Creates an event with no field at all; it encodes to nothing until a field is set.
    ///
    /// ```
    /// let event = sse_axum::Event::new();
    /// assert!(event.is_empty());
    /// assert!(event.to_bytes().is_empty());
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Self { inner: None }
    }

    /// The fields, allocated on first use.
    #[inline]
    fn inner_mut(&mut self) -> &mut Inner {
        self.inner.get_or_insert_with(Box::default)
    }

    // The generic builder methods below are thin `#[inline]` wrappers around setters that work
    // in place.

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
    #[inline]
    pub fn data(mut self, data: impl AsRef<str>) -> Self {
        self.set_data(data.as_ref());
        self
    }

    fn set_data(&mut self, data: &str) {
        let line_break = has_line_break(data);
        self.inner_mut().set(Field::Data, data, line_break);
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
        self.set_data(&json);
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
    #[inline]
    pub fn event(mut self, event_type: impl AsRef<str>) -> Result<Self, EventError> {
        self.set_event_type(event_type.as_ref())?;
        Ok(self)
    }

    fn set_event_type(&mut self, event_type: &str) -> Result<(), EventError> {
        if has_line_break(event_type) {
            return Err(EventError::LineBreakInEventType);
        }
        self.inner_mut().set(Field::Type, event_type, false);
        Ok(())
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
    #[inline]
    pub fn id(mut self, id: impl AsRef<str>) -> Result<Self, EventError> {
        self.set_id(id.as_ref())?;
        Ok(self)
    }

    fn set_id(&mut self, id: &str) -> Result<(), EventError> {
        let bytes = id.as_bytes();
        let refused = if bytes.len() < 16 {
            // Ids are usually short: a plain loop is cheaper than a search call.
            bytes.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
        } else {
            memchr::memchr3(b'\r', b'\n', 0, bytes).is_some()
        };
        if refused {
            return Err(if has_line_break(id) {
                EventError::LineBreakInId
            } else {
                EventError::NulInId
            });
        }
        self.inner_mut().set(Field::Id, id, false);
        Ok(())
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
    #[inline]
    pub fn retry(mut self, retry: Duration) -> Self {
        self.inner_mut().retry = Some(retry);
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
        self.inner_mut().comments.push(comment.as_ref().to_owned());
        self
    }

    /// The event's data, as given to [`data`](Event::data) (before splitting into lines).
    pub fn data_str(&self) -> Option<&str> {
        self.inner.as_ref()?.get(Field::Data)
    }

    /// The event type set with [`event`](Event::event).
    pub fn event_type(&self) -> Option<&str> {
        self.inner.as_ref()?.get(Field::Type)
    }

    /// The id set with [`id`](Event::id).
    pub fn id_str(&self) -> Option<&str> {
        self.inner.as_ref()?.get(Field::Id)
    }

    /// The reconnection time set with [`retry`](Event::retry).
    pub fn retry_duration(&self) -> Option<Duration> {
        self.inner.as_ref()?.retry
    }

    /// The comments added with [`comment`](Event::comment), in order.
    pub fn comments(&self) -> &[String] {
        self.inner.as_ref().map_or(&[], |inner| &inner.comments)
    }

    /// Whether the event has no field and no comment; such an event encodes to nothing.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.inner.as_deref().is_none_or(Inner::is_empty)
    }

    /// The exact number of bytes [`to_bytes`](Event::to_bytes) returns.
    ///
    /// ```
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().data("a\nb");
    /// assert_eq!(event.encoded_len(), event.to_bytes().len());
    /// ```
    #[inline]
    pub fn encoded_len(&self) -> usize {
        self.inner.as_deref().map_or(0, Inner::encoded_len)
    }

    /// Encodes the event into its exact wire bytes, ending with the blank line that dispatches
    /// it. An event with no field and no comment gives empty [`Bytes`].
    ///
    /// Streams call this once per event and then only pass the bytes on; to send the same event
    /// to many clients, call it once and share the cheap-to-clone [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode_into(&mut buf);
        buf.freeze()
    }

    /// Appends the wire bytes of the event to `buf` (nothing for an empty event): what
    /// [`to_bytes`](Event::to_bytes) returns, written into a buffer shared by several events.
    /// Returns false for an empty event.
    #[inline]
    pub(crate) fn encode_into(&self, buf: &mut BytesMut) -> bool {
        self.inner
            .as_deref()
            .is_some_and(|inner| inner.encode_into(buf))
    }
}

#[inline]
fn has_line_break(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 16 {
        // Short values (the usual event type): a plain loop is cheaper than a search call.
        bytes.iter().any(|&b| b == b'\r' || b == b'\n')
    } else {
        memchr::memchr2(b'\r', b'\n', bytes).is_some()
    }
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
#[inline]
fn field_len(name: &str, value: impl AsRef<[u8]>) -> usize {
    let value = value.as_ref();
    if value.is_empty() {
        name.len() + 2
    } else {
        name.len() + 3 + value.len()
    }
}

#[inline]
fn put_field(buf: &mut BytesMut, name: &[u8], value: impl AsRef<[u8]>) {
    let value = value.as_ref();
    buf.extend_from_slice(name);
    if value.is_empty() {
        buf.extend_from_slice(b":\n");
    } else {
        buf.extend_from_slice(b": ");
        buf.extend_from_slice(value);
        buf.extend_from_slice(b"\n");
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
    use proptest::prelude::*;

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

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_event_is_one_pointer_and_its_fields_one_small_allocation() {
        assert_eq!(size_of::<Event>(), size_of::<usize>());
        assert_eq!(
            size_of::<Result<Event, EventError>>(),
            2 * size_of::<usize>()
        );
        assert_eq!(size_of::<Inner>(), 184);
    }

    #[test]
    fn lines_outgrowing_the_inline_buffer_move_to_the_heap_intact() {
        let long = "x".repeat(Text::INLINE);
        let event = Event::new().data("d").id("1").unwrap();
        assert!(matches!(
            event.inner.as_deref().unwrap().text,
            Text::Inline { .. }
        ));
        // Replacing the first line (not the last) with one that does not fit.
        let event = event.id(&long).unwrap();
        assert!(matches!(
            event.inner.as_deref().unwrap().text,
            Text::Heap(_)
        ));
        assert_eq!(event.id_str(), Some(long.as_str()));
        assert_eq!(event.data_str(), Some("d"));
        assert_eq!(event.to_bytes(), format!("id: {long}\ndata: d\n\n"));
        // On the heap: replace the last line, then one in the middle.
        let event = event.data("a\nb").event("t").unwrap().id("2").unwrap();
        assert_eq!(event.to_bytes(), "event: t\nid: 2\ndata: a\ndata: b\n\n");
        assert_eq!(event.data_str(), Some("a\nb"));
        assert_eq!(event.event_type(), Some("t"));
        // Exactly full, in place.
        let full = "y".repeat(Text::INLINE - "data: \n".len());
        let event = Event::new().data(&full);
        assert!(matches!(
            event.inner.as_deref().unwrap().text,
            Text::Inline { .. }
        ));
        assert_eq!(event.data_str(), Some(full.as_str()));
        assert_eq!(event.encoded_len(), Text::INLINE + 1);
    }

    /// One setter call of the property test below.
    #[derive(Clone, Debug)]
    enum Op {
        Id(String),
        Type(String),
        Data(String),
        Retry(u64),
        Comment(String),
    }

    /// What an event must hold: the fields as plainly as possible.
    #[derive(Default, Debug)]
    struct Model {
        id: Option<String>,
        event_type: Option<String>,
        data: Option<String>,
        retry: Option<Duration>,
        comments: Vec<String>,
    }

    impl Model {
        /// The wire format, written independently of the encoder.
        fn encode(&self) -> String {
            fn split(text: &str) -> Vec<String> {
                let mut lines = vec![String::new()];
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '\r' | '\n' => {
                            if c == '\r' && chars.peek() == Some(&'\n') {
                                chars.next();
                            }
                            lines.push(String::new());
                        }
                        c => lines.last_mut().unwrap().push(c),
                    }
                }
                lines
            }
            fn line(name: &str, value: &str) -> String {
                if value.is_empty() {
                    format!("{name}:\n")
                } else {
                    format!("{name}: {value}\n")
                }
            }
            let mut out = String::new();
            for comment in &self.comments {
                split(comment).iter().for_each(|l| out += &line("", l));
            }
            if let Some(event_type) = &self.event_type {
                out += &line("event", event_type);
            }
            if let Some(id) = &self.id {
                out += &line("id", id);
            }
            if let Some(retry) = self.retry {
                out += &line("retry", &retry.as_millis().to_string());
            }
            if let Some(data) = &self.data {
                split(data).iter().for_each(|l| out += &line("data", l));
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out
        }
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zé :\r\n\u{0}]{0,12}",
            "[a-z]{40,130}",
            "[a-z\r\n]{100,300}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any sequence of setters, in any order, with values that fit in place, outgrow it,
        /// have line breaks or are refused: the event reads back what the model holds and
        /// encodes exactly what the model's independent encoder writes.
        #[test]
        fn any_sequence_of_setters_matches_a_plain_model(
            ops in proptest::collection::vec(
                prop_oneof![
                    value().prop_map(Op::Id),
                    value().prop_map(Op::Type),
                    value().prop_map(Op::Data),
                    (0_u64..100_000).prop_map(Op::Retry),
                    value().prop_map(Op::Comment),
                ],
                0..8,
            )
        ) {
            let mut event = Event::new();
            let mut model = Model::default();
            for op in ops {
                match op {
                    Op::Id(id) => match event.clone().id(&id) {
                        Ok(next) => {
                            prop_assert!(!id.contains(['\r', '\n', '\0']));
                            event = next;
                            model.id = Some(id);
                        }
                        Err(_) => prop_assert!(id.contains(['\r', '\n', '\0'])),
                    },
                    Op::Type(event_type) => match event.clone().event(&event_type) {
                        Ok(next) => {
                            prop_assert!(!event_type.contains(['\r', '\n']));
                            event = next;
                            model.event_type = Some(event_type);
                        }
                        Err(_) => prop_assert!(event_type.contains(['\r', '\n'])),
                    },
                    Op::Data(data) => {
                        event = event.data(&data);
                        model.data = Some(data);
                    }
                    Op::Retry(ms) => {
                        event = event.retry(Duration::from_millis(ms));
                        model.retry = Some(Duration::from_millis(ms));
                    }
                    Op::Comment(comment) => {
                        event = event.comment(&comment);
                        model.comments.push(comment);
                    }
                }
                prop_assert_eq!(event.id_str(), model.id.as_deref());
                prop_assert_eq!(event.event_type(), model.event_type.as_deref());
                prop_assert_eq!(event.data_str(), model.data.as_deref());
                prop_assert_eq!(event.retry_duration(), model.retry);
                prop_assert_eq!(event.comments(), model.comments.as_slice());
                let expected = model.encode();
                prop_assert_eq!(event.to_bytes(), expected.as_bytes());
                prop_assert_eq!(event.encoded_len(), expected.len());
                prop_assert_eq!(event.is_empty(), expected.is_empty());
                let mut buf = BytesMut::from(&b"before"[..]);
                prop_assert_eq!(event.encode_into(&mut buf), !expected.is_empty());
                prop_assert_eq!(&buf[6..], expected.as_bytes());
            }
        }
    }
}
