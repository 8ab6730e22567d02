//! [`Event`]: one dispatched Server-Sent Event.

use std::fmt;

/// One event dispatched by the parser: its type, its data and the last event ID at dispatch.
///
/// Events come out of [`EventParser`](crate::EventParser), [`EventStream`](crate::EventStream)
/// and `Client::subscribe` (feature `client`). An event is one allocation: the data,
/// the ID and the type are kept in one string (checked as UTF-8 once, at dispatch), so reading
/// them costs nothing and [`into_data`](Event::into_data) does not copy.
///
/// ```
/// use reqwest_sse_client::Event;
///
/// let event = Event::new("hello").with_type("greeting").with_last_event_id("7");
/// assert_eq!(event.event_type(), "greeting");
/// assert_eq!(event.data(), "hello");
/// assert_eq!(event.last_event_id(), "7");
/// // Without an `event:` field the type is "message".
/// assert_eq!(Event::new("x").event_type(), "message");
/// ```
#[derive(Clone, Default)]
pub struct Event {
    /// The data, then the last event ID, then the event type (empty: `message`).
    text: String,
    /// Where the data ends and the ID starts in `text`.
    data_end: usize,
    /// Where the ID ends and the type starts in `text`.
    id_end: usize,
}

impl Event {
    /// An event of type `message` with the given data and an empty last event ID.
    #[must_use]
    pub fn new(data: impl Into<String>) -> Self {
        let text = data.into();
        let data_end = text.len();
        Self {
            text,
            data_end,
            id_end: data_end,
        }
    }

    /// An event from `text` holding the data, the ID and the type, one after the other; the
    /// caller guarantees that `data_end` and `id_end` are character boundaries in order.
    pub(crate) fn from_parts(text: String, data_end: usize, id_end: usize) -> Self {
        Self {
            text,
            data_end,
            id_end,
        }
    }

    /// Sets the event type (an empty type means `message`).
    #[must_use]
    pub fn with_type(mut self, event_type: &str) -> Self {
        if self.text.is_char_boundary(self.id_end) {
            self.text.truncate(self.id_end);
        }
        self.text.push_str(event_type);
        self
    }

    /// Sets the last event ID.
    #[must_use]
    pub fn with_last_event_id(self, id: &str) -> Self {
        let event_type = self.part(self.id_end..);
        let mut text = String::with_capacity(self.data_end + id.len() + event_type.len());
        text.push_str(self.data());
        text.push_str(id);
        text.push_str(event_type);
        Self {
            data_end: self.data_end,
            id_end: self.data_end + id.len(),
            text,
        }
    }

    /// One part of `text`; the bounds are always character boundaries (see `from_parts`).
    #[inline]
    fn part(&self, range: impl std::slice::SliceIndex<str, Output = str>) -> &str {
        self.text.get(range).unwrap_or_default()
    }

    /// The event type: the value of the last `event` field, or `"message"` when there was none
    /// (or it was empty).
    #[must_use]
    #[inline]
    pub fn event_type(&self) -> &str {
        match self.part(self.id_end..) {
            "" => "message",
            event_type => event_type,
        }
    }

    /// The data: the `data` fields joined with `\n`.
    #[must_use]
    #[inline]
    pub fn data(&self) -> &str {
        self.part(..self.data_end)
    }

    /// Takes the data out of the event without copying it.
    #[must_use]
    #[inline]
    pub fn into_data(mut self) -> String {
        if self.text.is_char_boundary(self.data_end) {
            self.text.truncate(self.data_end);
        }
        self.text
    }

    /// The stream's last event ID when this event was dispatched (`""` when none was set).
    ///
    /// Like the browser's `MessageEvent.lastEventId`, it persists across events until the
    /// server sends another `id` field.
    #[must_use]
    #[inline]
    pub fn last_event_id(&self) -> &str {
        self.part(self.data_end..self.id_end)
    }

    /// Decodes the data as JSON.
    ///
    /// ```
    /// # fn main() -> Result<(), serde_json::Error> {
    /// let event = reqwest_sse_client::Event::new(r#"{"n": 1}"#);
    /// let value: serde_json::Value = event.json()?;
    /// assert_eq!(value["n"], 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The error of [`serde_json::from_str`] when the data is not valid JSON for `T`.
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data())
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.event_type() == other.event_type()
            && self.data() == other.data()
            && self.last_event_id() == other.last_event_id()
    }
}

impl Eq for Event {}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type())
            .field("data", &self.data())
            .field("last_event_id", &self.last_event_id())
            .finish()
    }
}
