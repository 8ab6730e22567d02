//! [`EventError`]: why an event value was refused.

use std::fmt;

/// Why an [`Event`](super::Event) value was refused: an event type or id that would break its
/// line, or data that could not be serialized.
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
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
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
