//! [`Event`]: one dispatched Server-Sent Event.

use std::fmt;
use std::sync::Arc;

/// One event dispatched by the parser: its type, its data and the last event ID at dispatch.
///
/// Events come out of [`EventParser`](crate::EventParser), [`EventStream`](crate::EventStream)
/// and [`Client::subscribe`](crate::Client::subscribe). They are cheap to clone apart from the
/// data: the type and the ID are shared.
///
/// ```
/// use sse_client::Event;
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
    /// `None` when the event type buffer was empty: the type is then `message`.
    pub(crate) event_type: Option<Arc<str>>,
    pub(crate) data: String,
    pub(crate) last_event_id: EventId,
}

impl Event {
    /// An event of type `message` with the given data and an empty last event ID.
    #[must_use]
    pub fn new(data: impl Into<String>) -> Self {
        Self {
            event_type: None,
            data: data.into(),
            last_event_id: EventId::EMPTY,
        }
    }

    /// Sets the event type (an empty type means `message`).
    #[must_use]
    pub fn with_type(mut self, event_type: &str) -> Self {
        self.event_type = (!event_type.is_empty()).then(|| Arc::from(event_type));
        self
    }

    /// Sets the last event ID.
    #[must_use]
    pub fn with_last_event_id(mut self, id: &str) -> Self {
        self.last_event_id = EventId::new(id);
        self
    }

    /// The event type: the value of the last `event` field, or `"message"` when there was none
    /// (or it was empty).
    #[must_use]
    pub fn event_type(&self) -> &str {
        self.event_type.as_deref().unwrap_or("message")
    }

    /// The data: the `data` fields joined with `\n`.
    #[must_use]
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Takes the data out of the event without copying it.
    #[must_use]
    pub fn into_data(self) -> String {
        self.data
    }

    /// The stream's last event ID when this event was dispatched (`""` when none was set).
    ///
    /// Like the browser's `MessageEvent.lastEventId`, it persists across events until the
    /// server sends another `id` field.
    #[must_use]
    pub fn last_event_id(&self) -> &str {
        self.last_event_id.as_str()
    }

    /// Decodes the data as JSON.
    ///
    /// ```
    /// # fn main() -> Result<(), serde_json::Error> {
    /// let event = sse_client::Event::new(r#"{"n": 1}"#);
    /// let value: serde_json::Value = event.json()?;
    /// assert_eq!(value["n"], 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The error of [`serde_json::from_str`] when the data is not valid JSON for `T`.
    #[cfg(feature = "json")]
    pub fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.event_type() == other.event_type()
            && self.data == other.data
            && self.last_event_id() == other.last_event_id()
    }
}

impl Eq for Event {}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event_type", &self.event_type())
            .field("data", &self.data)
            .field("last_event_id", &self.last_event_id())
            .finish()
    }
}

/// Bytes an [`EventId`] keeps inline.
const INLINE: usize = 22;

/// An event ID: short ones (the usual counters and UUID-less ids) are stored inline, so that
/// an event with an ID costs no allocation and no reference counting; longer ones are shared.
#[derive(Clone)]
pub(crate) enum EventId {
    /// Valid UTF-8 of `len` bytes.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Shared(Arc<str>),
}

impl Default for EventId {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl EventId {
    pub(crate) const EMPTY: Self = Self::Inline {
        len: 0,
        bytes: [0; INLINE],
    };

    pub(crate) fn new(id: &str) -> Self {
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..id.len()].copy_from_slice(id.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Shared(Arc::from(id)),
        }
    }

    /// From raw field bytes, with U+FFFD replacement; short ASCII ids skip UTF-8 decoding.
    pub(crate) fn from_bytes(id: &[u8]) -> Self {
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= INLINE && id.is_ascii() => {
                let mut bytes = [0; INLINE];
                bytes[..id.len()].copy_from_slice(id);
                Self::Inline { len, bytes }
            }
            _ => Self::new(&String::from_utf8_lossy(id)),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Always valid: it was copied from a `&str`; the check is on at most 22 bytes.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Shared(id) => id,
        }
    }
}
