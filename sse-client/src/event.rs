//! [`Event`]: one dispatched Server-Sent Event.

use std::fmt;

use bytestring::ByteString;

/// One event dispatched by the parser: its type, its data and the last event ID at dispatch.
///
/// Events come out of [`EventParser`](crate::EventParser), [`EventStream`](crate::EventStream)
/// and `Client::subscribe` (feature `client`). Reading the parts costs nothing: they are
/// checked as UTF-8 once, at dispatch. Two layouts, chosen by the parser:
///
/// - the data, the ID and the type in one string (one allocation), for events whose data was
///   copied: several `data` lines, or a line cut by a chunk boundary;
/// - the data as a view of the chunk it arrived in (no allocation, no copy), for the usual
///   one-line event without a type or an ID, parsed from [`Bytes`](bytes::Bytes) chunks
///   ([`EventParser::next_item_shared`](crate::EventParser::next_item_shared), which
///   `EventStream` and `Client` use). Such an event keeps that chunk's memory alive while it
///   lives: to keep many events for long, keep their [`into_data`](Event::into_data).
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
#[derive(Clone)]
pub struct Event {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// The data, then the last event ID, then the event type (empty: `message`), in one
    /// string; `data_end` and `id_end` are character boundaries in order.
    Joined {
        text: String,
        data_end: usize,
        id_end: usize,
    },
    /// Only data (type `message`, no last event ID), sharing the chunk it came from.
    Shared(ByteString),
}

impl Default for Event {
    fn default() -> Self {
        Self::new(String::new())
    }
}

impl Event {
    /// An event of type `message` with the given data and an empty last event ID.
    #[must_use]
    pub fn new(data: impl Into<String>) -> Self {
        let text = data.into();
        let data_end = text.len();
        Self::from_parts(text, data_end, data_end)
    }

    /// An event from `text` holding the data, the ID and the type, one after the other; the
    /// caller guarantees that `data_end` and `id_end` are character boundaries in order.
    pub(crate) fn from_parts(text: String, data_end: usize, id_end: usize) -> Self {
        Self {
            repr: Repr::Joined {
                text,
                data_end,
                id_end,
            },
        }
    }

    /// An event of type `message` without a last event ID, whose data shares memory.
    pub(crate) fn shared(data: ByteString) -> Self {
        Self {
            repr: Repr::Shared(data),
        }
    }

    /// Sets the event type (an empty type means `message`).
    #[must_use]
    pub fn with_type(self, event_type: &str) -> Self {
        let data_end = self.data().len();
        let id_end = data_end + self.last_event_id().len();
        let mut text = match self.repr {
            Repr::Joined { mut text, .. } => {
                if text.is_char_boundary(id_end) {
                    text.truncate(id_end);
                }
                text
            }
            Repr::Shared(data) => {
                let mut text = String::with_capacity(data_end + event_type.len());
                text.push_str(&data);
                text
            }
        };
        text.push_str(event_type);
        Self::from_parts(text, data_end, id_end)
    }

    /// Sets the last event ID.
    #[must_use]
    pub fn with_last_event_id(self, id: &str) -> Self {
        let event_type = self.part_type();
        let data = self.data();
        let mut text = String::with_capacity(data.len() + id.len() + event_type.len());
        text.push_str(data);
        text.push_str(id);
        text.push_str(event_type);
        Self::from_parts(text, data.len(), data.len() + id.len())
    }

    /// The type as given (empty when none was).
    #[inline]
    fn part_type(&self) -> &str {
        match &self.repr {
            Repr::Joined { text, id_end, .. } => text.get(*id_end..).unwrap_or_default(),
            Repr::Shared(_) => "",
        }
    }

    /// The event type: the value of the last `event` field, or `"message"` when there was none
    /// (or it was empty).
    #[must_use]
    #[inline]
    pub fn event_type(&self) -> &str {
        match self.part_type() {
            "" => "message",
            event_type => event_type,
        }
    }

    /// The data: the `data` fields joined with `\n`.
    #[must_use]
    #[inline]
    pub fn data(&self) -> &str {
        match &self.repr {
            Repr::Joined { text, data_end, .. } => text.get(..*data_end).unwrap_or_default(),
            Repr::Shared(data) => data,
        }
    }

    /// Takes the data out of the event: without copying it when the event owns it alone,
    /// with one copy when it shares a chunk (see the [type's documentation](Event)).
    #[must_use]
    #[inline]
    pub fn into_data(self) -> String {
        match self.repr {
            Repr::Joined {
                mut text, data_end, ..
            } => {
                if text.is_char_boundary(data_end) {
                    text.truncate(data_end);
                }
                text
            }
            Repr::Shared(data) => String::from(data),
        }
    }

    /// The stream's last event ID when this event was dispatched (`""` when none was set).
    ///
    /// Like the browser's `MessageEvent.lastEventId`, it persists across events until the
    /// server sends another `id` field.
    #[must_use]
    #[inline]
    pub fn last_event_id(&self) -> &str {
        match &self.repr {
            Repr::Joined {
                text,
                data_end,
                id_end,
            } => text.get(*data_end..*id_end).unwrap_or_default(),
            Repr::Shared(_) => "",
        }
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
