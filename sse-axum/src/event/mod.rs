//! [`Event`], its checked field values [`EventType`] and [`Id`], and [`EventError`]: the
//! one owner of the `text/event-stream` wire format (the hub's frames are written here too).
//!
//! - this file: the builder API;
//! - `fields`: [`EventType`] and [`Id`], checked once when they are made;
//! - `wire`: how an event holds its fields and writes them;
//! - `frame`: the events of one publish written together under one id.
//!
//! An [`Event`] keeps its fields (so they can be read back with [`Event::id_str`],
//! [`Event::event_type`], ...) and writes them with [`Event::to_bytes`]. Every value is checked
//! or normalised when it is set, so an `Event` can never produce bytes that break the stream:
//!
//! - `data` and comments are split into one line per line of text; `\r\n`, `\r` and `\n` each
//!   count as one line ending, exactly as a client splits them again;
//! - an `event` type or `id` containing CR or LF (and an `id` containing NUL, which clients
//!   ignore) cannot be made: [`EventType::new`], [`Id::new`], [`Event::try_event`] and
//!   [`Event::try_id`] refuse it with an [`EventError`];
//! - an event without any field or comment encodes to nothing at all.
//!
//! Fields are written in a fixed order: comments, `event`, `id`, `retry`, then the `data`
//! lines, followed by the blank line that dispatches the event. Every field is written as
//! `name: value` (with one space, which the client removes again), so a value that starts with a
//! space keeps it; an empty value is written as `name:`.

mod error;
mod fields;
pub(crate) mod frame;
mod wire;

use std::{fmt, time::Duration};

use bytes::{Bytes, BytesMut};

pub use error::EventError;
pub use fields::{EventType, Id};

use fields::check_id;
use wire::{Field, Inner, has_line_break};

/// One Server-Sent Event, built field by field.
///
/// Every setter takes `self` and returns the event, so events are built in one expression; the
/// values that could break a line come as checked [`EventType`]s and [`Id`]s (or as text, through
/// the `try_` setters, which return a [`Result`]). Setting a field twice replaces the
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
/// use sse_axum::{Event, EventType};
///
/// const UPDATE: EventType = EventType::from_static("update");
///
/// let event = Event::new()
///     .event(UPDATE)
///     .id(42_u64)
///     .retry(Duration::from_millis(2500))
///     .data("first line\nsecond line");
///
/// assert_eq!(
///     event.to_bytes(),
///     "event: update\nid: 42\nretry: 2500\ndata: first line\ndata: second line\n\n"
/// );
/// assert_eq!(event.id_str(), Some("42"));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Event {
    /// `None` until the first field is set.
    inner: Option<Box<Inner>>,
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
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
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
    /// without it, the event is a `message`. The [`EventType`] was checked when it was made, so
    /// this cannot fail; [`try_event`](Event::try_event) takes text.
    ///
    /// ```
    /// use sse_axum::{Event, EventType};
    ///
    /// let event = Event::new().event(EventType::from_static("price")).data("101.5");
    /// assert_eq!(event.to_bytes(), "event: price\ndata: 101.5\n\n");
    /// ```
    #[inline]
    pub fn event(mut self, event_type: impl Into<EventType>) -> Self {
        self.inner_mut()
            .set(Field::Type, event_type.into().as_str(), false);
        self
    }

    /// Sets the event type from text, checking it.
    ///
    /// ```
    /// use sse_axum::{Event, EventError};
    ///
    /// let event = Event::new().try_event("price")?.data("101.5");
    /// assert_eq!(event.to_bytes(), "event: price\ndata: 101.5\n\n");
    ///
    /// assert!(matches!(Event::new().try_event("a\nb"), Err(EventError::LineBreakInEventType)));
    /// # Ok::<(), EventError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EventError::LineBreakInEventType`] if the type contains `\r` or `\n`.
    #[inline]
    pub fn try_event(mut self, event_type: impl AsRef<str>) -> Result<Self, EventError> {
        let event_type = event_type.as_ref();
        if has_line_break(event_type) {
            return Err(EventError::LineBreakInEventType);
        }
        self.inner_mut().set(Field::Type, event_type, false);
        Ok(self)
    }

    /// Sets the event id (the `id:` field), replacing any earlier id.
    ///
    /// The client remembers the id and sends it back in the `Last-Event-ID` header when it
    /// reconnects (see [`LastEventId`](crate::LastEventId)). Numbers and the hub's ids convert
    /// into an [`Id`] directly; [`try_id`](Event::try_id) takes text.
    ///
    /// ```
    /// use sse_axum::Event;
    ///
    /// let event = Event::new().id(7_u64).data("hello");
    /// assert_eq!(event.to_bytes(), "id: 7\ndata: hello\n\n");
    /// ```
    #[inline]
    pub fn id(mut self, id: impl Into<Id>) -> Self {
        self.inner_mut().set(Field::Id, id.into().as_str(), false);
        self
    }

    /// Sets the event id from text, checking it. An empty id resets the client's last event id.
    ///
    /// ```
    /// use sse_axum::{Event, EventError};
    ///
    /// let event = Event::new().try_id("order-7")?.data("hello");
    /// assert_eq!(event.to_bytes(), "id: order-7\ndata: hello\n\n");
    ///
    /// assert!(matches!(Event::new().try_id("7\r"), Err(EventError::LineBreakInId)));
    /// assert!(matches!(Event::new().try_id("7\0"), Err(EventError::NulInId)));
    /// # Ok::<(), EventError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EventError::LineBreakInId`] if the id contains `\r` or `\n`, and
    /// [`EventError::NulInId`] if it contains a NUL character (clients ignore such an id).
    #[inline]
    pub fn try_id(mut self, id: impl AsRef<str>) -> Result<Self, EventError> {
        let id = id.as_ref();
        check_id(id)?;
        self.inner_mut().set(Field::Id, id, false);
        Ok(self)
    }

    /// The event without its `id` field: what the hub sends where an id would mislead the
    /// client (its reset event).
    pub(crate) fn without_id(mut self) -> Self {
        if let Some(inner) = self.inner.as_deref_mut() {
            inner.clear(Field::Id);
        }
        self
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
    ///
    /// Long data whose line breaks are all LF is kept only as its `data:` lines (so that it is
    /// not stored twice); the first call rebuilds it from them, once.
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

    /// The wire bytes of the event, [`to_bytes`](Event::to_bytes), taken over from the event
    /// without a copy when they are at least `min_len` bytes long and the event keeps them in
    /// one buffer already (no `retry`, no comment); otherwise gives the event back. A large
    /// event thus reaches the response body in the buffer it was built in.
    #[inline]
    pub(crate) fn into_wire(self, min_len: usize) -> Result<Bytes, Event> {
        match self.inner {
            Some(inner) => inner
                .into_wire(min_len)
                .map(Bytes::from)
                .map_err(|inner| Event { inner: Some(inner) }),
            None => Err(self),
        }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::wire::Text;
    use super::*;

    #[test]
    fn into_wire_takes_the_bytes_of_large_usual_events_and_gives_the_others_back() {
        let long = "z".repeat(300);
        let lines = format!("{long}\r\n{long}\n");
        for event in [
            Event::new().data(&long),
            Event::new().try_event("t").unwrap().id(9_u64).data(&lines),
            Event::new().data(&lines).id(3_u64),
        ] {
            let expected = event.to_bytes();
            assert_eq!(event.into_wire(expected.len()).ok(), Some(expected));
        }
        for (event, min_len) in [
            (Event::new().data("short"), 1),
            (Event::new().data(&long), 1000),
            (Event::new().data(&long).retry(Duration::from_secs(1)), 1),
            (Event::new().data(&long).comment("c"), 1),
            (Event::new(), 0),
        ] {
            let expected = event.clone();
            assert_eq!(event.into_wire(min_len).err(), Some(expected));
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_event_is_one_pointer_and_its_fields_one_small_allocation() {
        assert_eq!(size_of::<Event>(), size_of::<usize>());
        assert_eq!(
            size_of::<Result<Event, EventError>>(),
            2 * size_of::<usize>()
        );
        assert_eq!(size_of::<Inner>(), 208);
    }

    #[test]
    fn long_data_with_lf_breaks_is_read_back_from_its_lines() {
        let lines: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
        let data = format!("{}\n\n x", lines.join("\n"));
        let event = Event::new().data(&data);
        assert_eq!(event.data_str(), Some(data.as_str()));
        let mut wire: String = data
            .split('\n')
            .map(|l| {
                if l.is_empty() {
                    "data:\n".to_owned()
                } else {
                    format!("data: {l}\n")
                }
            })
            .collect();
        wire.push('\n');
        assert_eq!(event.to_bytes(), wire);
        // Once read, the data is kept; setting other data replaces it.
        let other = data.replace("line", "row");
        let event = event.data(&other);
        assert_eq!(event.data_str(), Some(other.as_str()));
        assert_eq!(event.clone().data("one").data_str(), Some("one"));
        assert_eq!(event.clone(), Event::new().data(&other));
        // With a CR the lines do not give the data back: it is kept as given.
        let crlf = data.replace('\n', "\r\n");
        assert_eq!(Event::new().data(&crlf).data_str(), Some(crlf.as_str()));
        assert_eq!(Event::new().data(&crlf).to_bytes(), wire);
    }

    #[test]
    fn lines_outgrowing_the_inline_buffer_move_to_the_heap_intact() {
        let long = "x".repeat(Text::INLINE);
        let event = Event::new().data("d").try_id("1").unwrap();
        assert!(matches!(
            event.inner.as_deref().unwrap().text,
            Text::Inline { .. }
        ));
        // Replacing the first line (not the last) with one that does not fit.
        let event = event.try_id(&long).unwrap();
        assert!(matches!(
            event.inner.as_deref().unwrap().text,
            Text::Heap(_)
        ));
        assert_eq!(event.id_str(), Some(long.as_str()));
        assert_eq!(event.data_str(), Some("d"));
        assert_eq!(event.to_bytes(), format!("id: {long}\ndata: d\n\n"));
        // On the heap: replace the last line, then one in the middle.
        let event = event
            .data("a\nb")
            .try_event("t")
            .unwrap()
            .try_id("2")
            .unwrap();
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
                    Op::Id(id) => match event.clone().try_id(&id) {
                        Ok(next) => {
                            prop_assert!(!id.contains(['\r', '\n', '\0']));
                            event = next;
                            model.id = Some(id);
                        }
                        Err(_) => prop_assert!(id.contains(['\r', '\n', '\0'])),
                    },
                    Op::Type(event_type) => match event.clone().try_event(&event_type) {
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
