//! [`EventType`] and [`Id`]: the two event fields whose value could break a line, checked
//! once when they are made so that setting them on an [`Event`](super::Event) cannot fail.
//!
//! They follow `http::HeaderValue`: a `const fn from_static` for literals (checked at compile
//! time in a `const`), a fallible `new` for text that arrives at run time, and conversions from
//! the values that are always valid (numbers, the hub's ids).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::EventError;
use super::wire::has_line_break;

/// The value of an event's `event:` field: text without `\r` or `\n`.
///
/// ```
/// use sse_axum::{Event, EventType};
///
/// const PRICE: EventType = EventType::from_static("price");
/// let event = Event::new().event(PRICE).data("101.5");
/// assert_eq!(event.to_bytes(), "event: price\ndata: 101.5\n\n");
///
/// // Text from elsewhere is checked.
/// let topic = String::from("news\nid: 666");
/// assert!(EventType::new(topic).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType(Cow<'static, str>);

impl EventType {
    /// An event type from a literal.
    ///
    /// # Panics
    ///
    /// If `value` contains `\r` or `\n`: at compile time when called in a `const`, as
    /// `HeaderValue::from_static` does. For text that is not a literal, use
    /// [`EventType::new`].
    #[must_use]
    #[allow(
        clippy::panic,
        reason = "a literal with a line break is a bug, as in HeaderValue"
    )]
    pub const fn from_static(value: &'static str) -> Self {
        if const_contains(value.as_bytes(), false) {
            panic!("an event type must not contain \\r or \\n");
        }
        Self(Cow::Borrowed(value))
    }

    /// Checks an event type given at run time.
    ///
    /// # Errors
    ///
    /// [`EventError::LineBreakInEventType`] if it contains `\r` or `\n`.
    pub fn new(value: impl Into<Cow<'static, str>>) -> Result<Self, EventError> {
        let value = value.into();
        if has_line_break(&value) {
            return Err(EventError::LineBreakInEventType);
        }
        Ok(Self(value))
    }

    /// The event type as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The value of an event's `id:` field: text without `\r`, `\n` or NUL (clients ignore an id
/// with NUL).
///
/// Numbers and the hub's [`EventId`](crate::hub::EventId)s convert without a check, since they are
/// always valid:
///
/// ```
/// use sse_axum::{Event, Id};
///
/// let event = Event::new().id(42_u64).data("x");
/// assert_eq!(event.to_bytes(), "id: 42\ndata: x\n\n");
///
/// let event = Event::new().id(Id::from_static("order-7")).data("x");
/// assert_eq!(event.id_str(), Some("order-7"));
///
/// assert!(Id::new("7\r\nevent: spoofed").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(Cow<'static, str>);

impl Id {
    /// An id from a literal.
    ///
    /// # Panics
    ///
    /// If `value` contains `\r`, `\n` or NUL: at compile time when called in a `const`. For
    /// text that is not a literal, use [`Id::new`].
    #[must_use]
    #[allow(
        clippy::panic,
        reason = "a literal with a line break is a bug, as in HeaderValue"
    )]
    pub const fn from_static(value: &'static str) -> Self {
        if const_contains(value.as_bytes(), true) {
            panic!("an event id must not contain \\r, \\n or NUL");
        }
        Self(Cow::Borrowed(value))
    }

    /// Checks an id given at run time.
    ///
    /// # Errors
    ///
    /// [`EventError::LineBreakInId`] if it contains `\r` or `\n`, [`EventError::NulInId`] if it
    /// contains NUL.
    pub fn new(value: impl Into<Cow<'static, str>>) -> Result<Self, EventError> {
        let value = value.into();
        check_id(&value)?;
        Ok(Self(value))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why `id` cannot be an event id, if it cannot.
pub(super) fn check_id(id: &str) -> Result<(), EventError> {
    let bytes = id.as_bytes();
    let refused = if bytes.len() < 16 {
        // Ids are usually short: a plain loop is cheaper than a search call.
        bytes.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0))
    } else {
        memchr::memchr3(b'\r', b'\n', 0, bytes).is_some()
    };
    if !refused {
        Ok(())
    } else if has_line_break(id) {
        Err(EventError::LineBreakInId)
    } else {
        Err(EventError::NulInId)
    }
}

/// Whether `bytes` holds `\r` or `\n` (or NUL, with `nul`), in a `const fn`.
const fn const_contains(bytes: &[u8], nul: bool) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' || bytes[i] == b'\n' || (nul && bytes[i] == 0) {
            return true;
        }
        i += 1;
    }
    false
}

macro_rules! text_value {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = EventError;

            fn from_str(value: &str) -> Result<Self, EventError> {
                Self::new(value.to_owned())
            }
        }

        impl TryFrom<String> for $name {
            type Error = EventError;

            fn try_from(value: String) -> Result<Self, EventError> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = EventError;

            fn try_from(value: &str) -> Result<Self, EventError> {
                Self::new(value.to_owned())
            }
        }

        impl From<&$name> for $name {
            fn from(value: &$name) -> Self {
                value.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                *self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                *self.0 == **other
            }
        }
    };
}

text_value!(EventType);
text_value!(Id);

macro_rules! id_from_number {
    ($($number:ty),*) => {$(
        impl From<$number> for Id {
            fn from(value: $number) -> Self {
                Self(Cow::Owned(value.to_string()))
            }
        }
    )*};
}

id_from_number!(u8, u16, u32, u64, u128, usize, i32, i64);

impl From<crate::hub::EventId> for Id {
    fn from(value: crate::hub::EventId) -> Self {
        Self(Cow::Owned(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_every_way_in() {
        assert!(EventType::new("a\rb").is_err());
        assert!(EventType::new("a\0b").is_ok(), "NUL is fine in a type");
        assert!("x\ny".parse::<EventType>().is_err());
        assert!(matches!(Id::new("1\n"), Err(EventError::LineBreakInId)));
        assert!(matches!(Id::new("1\0"), Err(EventError::NulInId)));
        assert!(matches!(
            Id::try_from("a-long-id-with-a-nul-at-the-end\0"),
            Err(EventError::NulInId)
        ));
        assert_eq!(Id::from(7_u32), "7");
        assert_eq!(Id::from(-3_i64).as_str(), "-3");
        assert_eq!(Id::from(crate::hub::EventId::new(5, 2)).as_str(), "5-2");
        const T: EventType = EventType::from_static("tick");
        assert_eq!(format!("{T} {T:?}"), "tick \"tick\"");
    }

    #[test]
    #[should_panic(expected = "must not contain")]
    fn from_static_refuses_a_line_break() {
        let _ = Id::from_static(std::hint::black_box("a\nb"));
    }
}
