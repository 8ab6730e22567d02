//! [`EventId`]: the position of a published event, usable as `Last-Event-ID`.

use std::fmt;
use std::num::IntErrorKind;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The id a [`Hub`](super::Hub) gives a published event: a position in the hub's history.
///
/// An ordered pair `(major, minor)`, compared major first: `<unix ms>-<sequence within that
/// ms>`, the form Redis Streams uses. The first event of a millisecond has sequence 0 and is
/// written as a plain integer, so a hub publishing less than once per millisecond hands out
/// plain Unix milliseconds; bursts get `ms-1`, `ms-2`, ... Ids never run ahead of the clock,
/// so they stay unique, and recognisably older, across a server restart.
///
/// The text form is `major` when `minor` is 0 and `major-minor` otherwise; both forms parse,
/// and `N` and `N-0` are the same id. Ids are sent to the client in the `id:` field and come
/// back in the `Last-Event-ID` header on reconnection.
///
/// ```
/// use sse_axum::hub::EventId;
///
/// let id: EventId = "1700000000000".parse()?;
/// assert_eq!(id, EventId::new(1_700_000_000_000, 0));
/// assert_eq!(id.to_string(), "1700000000000");
///
/// let redis: EventId = "1700000000000-3".parse()?;
/// assert!(redis > id);
/// assert_eq!(redis.to_string(), "1700000000000-3");
///
/// assert!("12a".parse::<EventId>().is_err());
/// # Ok::<(), sse_axum::hub::ParseEventIdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId {
    major: u64,
    minor: u64,
}

impl EventId {
    /// The smallest id; every id a hub assigns is greater.
    pub const ZERO: EventId = EventId { major: 0, minor: 0 };

    /// An id from its two parts (`major-minor`).
    #[must_use]
    pub const fn new(major: u64, minor: u64) -> Self {
        Self { major, minor }
    }

    /// The first part: Unix milliseconds.
    #[must_use]
    pub const fn major(self) -> u64 {
        self.major
    }

    /// The second part: the sequence number within the millisecond.
    #[must_use]
    pub const fn minor(self) -> u64 {
        self.minor
    }

    /// The id the in-memory hub gives the event after `previous`: `now-0` (Unix ms) when the
    /// clock has moved past `previous`, otherwise `previous.major-(previous.minor + 1)`, the
    /// form Redis Streams uses. Ids strictly increase even if the clock goes back, and they
    /// never run ahead of the clock during a burst, so an id handed out by an earlier process
    /// stays below every id of a hub started later (it is recognised as "from before", not
    /// mistaken for one of ours). `None` once `u64` is exhausted.
    pub(crate) fn next_after(previous: EventId) -> Option<EventId> {
        let now = unix_millis();
        if now > previous.major {
            Some(EventId::new(now, 0))
        } else if let Some(minor) = previous.minor.checked_add(1) {
            Some(EventId::new(previous.major, minor))
        } else {
            Some(EventId::new(previous.major.checked_add(1)?, 0))
        }
    }
}

/// The current Unix time in milliseconds (0 if the clock is before 1970).
pub(crate) fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minor == 0 {
            write!(f, "{}", self.major)
        } else {
            write!(f, "{}-{}", self.major, self.minor)
        }
    }
}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    /// Parses `N` or `N-M`: ASCII digits only, no sign, no spaces, each part fits a `u64`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (major, minor) = match s.split_once('-') {
            Some((major, minor)) => (major, Some(minor)),
            None => (s, None),
        };
        let major = parse_part(major)?;
        let minor = minor.map_or(Ok(0), parse_part)?;
        Ok(EventId::new(major, minor))
    }
}

fn parse_part(part: &str) -> Result<u64, ParseEventIdError> {
    if part.is_empty() {
        return Err(ParseEventIdError::new(ParseEventIdErrorKind::Empty));
    }
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseEventIdError::new(ParseEventIdErrorKind::InvalidDigit));
    }
    part.parse::<u64>().map_err(|e| {
        let kind = match e.kind() {
            IntErrorKind::PosOverflow => ParseEventIdErrorKind::TooLarge,
            _ => ParseEventIdErrorKind::InvalidDigit,
        };
        ParseEventIdError::new(kind)
    })
}

/// The text is not an [`EventId`]: not `N` or `N-M` with decimal `u64` parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEventIdError {
    kind: ParseEventIdErrorKind,
}

/// Why a text is not an [`EventId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseEventIdErrorKind {
    /// The text, or one of its two parts, is empty.
    Empty,
    /// A character other than an ASCII digit (or the one `-` between the parts).
    InvalidDigit,
    /// A part does not fit in a `u64`.
    TooLarge,
}

impl ParseEventIdError {
    fn new(kind: ParseEventIdErrorKind) -> Self {
        Self { kind }
    }

    /// Why the text is not an id.
    #[must_use]
    pub fn kind(&self) -> ParseEventIdErrorKind {
        self.kind
    }
}

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.kind {
            ParseEventIdErrorKind::Empty => "empty",
            ParseEventIdErrorKind::InvalidDigit => "not a decimal number or `N-M` pair",
            ParseEventIdErrorKind::TooLarge => "number too large",
        };
        write!(f, "invalid event id: {reason}")
    }
}

impl std::error::Error for ParseEventIdError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_both_forms() {
        for (text, id, shown) in [
            ("0", EventId::new(0, 0), "0"),
            ("42", EventId::new(42, 0), "42"),
            ("42-0", EventId::new(42, 0), "42"),
            ("42-7", EventId::new(42, 7), "42-7"),
            (
                "18446744073709551615",
                EventId::new(u64::MAX, 0),
                "18446744073709551615",
            ),
        ] {
            let parsed: EventId = text.parse().unwrap();
            assert_eq!(parsed, id, "{text}");
            assert_eq!(parsed.to_string(), shown);
            assert_eq!(shown.parse::<EventId>().unwrap(), id);
        }
    }

    #[test]
    fn rejects_what_is_not_an_id() {
        use ParseEventIdErrorKind::*;
        for (text, kind) in [
            ("", Empty),
            ("-", Empty),
            ("1-", Empty),
            ("-1", Empty),
            ("+1", InvalidDigit),
            (" 1", InvalidDigit),
            ("1 ", InvalidDigit),
            ("1-2-3", InvalidDigit),
            ("0x10", InvalidDigit),
            ("١", InvalidDigit),
            ("18446744073709551616", TooLarge),
            ("1-18446744073709551616", TooLarge),
        ] {
            let err = text.parse::<EventId>().unwrap_err();
            assert_eq!(err.kind(), kind, "{text:?}");
            assert!(err.to_string().starts_with("invalid event id"));
        }
    }

    #[test]
    fn orders_major_then_minor() {
        assert!(EventId::new(1, 9) < EventId::new(2, 0));
        assert!(EventId::new(2, 0) < EventId::new(2, 1));
        assert!(EventId::ZERO < EventId::new(0, 1));
    }

    #[test]
    fn next_is_strictly_greater_and_follows_the_clock() {
        let now = unix_millis();
        let first = EventId::next_after(EventId::ZERO).unwrap();
        assert!(first.major() >= now);
        let second = EventId::next_after(first).unwrap();
        assert!(second > first);
        // A clock that is behind (or a burst within one ms) counts up the sequence.
        let far = EventId::new(u64::MAX, 7);
        assert_eq!(EventId::next_after(far), Some(EventId::new(u64::MAX, 8)));
        // Never wraps: the hub reports exhaustion, ids never go back.
        assert_eq!(EventId::next_after(EventId::new(u64::MAX, u64::MAX)), None);
        // A hub's origin is `now-MAX`: its first id is the next millisecond, never `now`.
        let origin = EventId::new(u64::MAX - 1, u64::MAX);
        assert_eq!(EventId::next_after(origin), Some(EventId::new(u64::MAX, 0)));
    }
}
