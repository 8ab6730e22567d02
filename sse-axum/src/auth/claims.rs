//! [`Claims`]: what a ticket grants, and their compact binary encoding.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::keys::MalformedTicket;

/// What a ticket says: who holds it, which topics they may read and publish to, until when,
/// and optionally for which web origin it was issued.
///
/// Build one in the login code, sign it with [`TicketKeys::sign`](super::TicketKeys::sign);
/// the [`Ticket`](super::Ticket) extractor gives it back, verified.
///
/// ```
/// use std::time::Duration;
/// use sse_axum::auth::Claims;
///
/// let claims = Claims::valid_for("alice", Duration::from_secs(600))
///     .read("news")
///     .read_prefix("room:42:")
///     .publish("room:42:chat")
///     .issued_for("https://chat.example");
/// assert!(claims.can_read("news"));
/// assert!(claims.can_read("room:42:chat"));
/// assert!(!claims.can_read("room:43:chat"));
/// assert!(claims.can_publish("room:42:chat"));
/// assert!(!claims.can_publish("news"));
/// assert_eq!(claims.origin(), Some("https://chat.example"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct Claims {
    subject: String,
    /// Unix time in milliseconds: the first instant the ticket is no longer valid.
    expires_at_ms: u64,
    origin: Option<String>,
    read: Topics,
    publish: Topics,
}

/// A set of topics: exact names and name prefixes. See [`Claims::readable`] and
/// [`Claims::publishable`].
///
/// A prefix grants every topic that starts with it, so end it with a separator:
/// `"user:alice:"` grants `user:alice:inbox` but not `user:alice2`, which `"user:alice"`
/// would grant too.
///
/// ```
/// use std::time::Duration;
/// use sse_axum::auth::Claims;
///
/// let claims = Claims::valid_for("bob", Duration::from_secs(60)).read("news").read_prefix("gen:bob:");
/// let topics = claims.readable();
/// assert!(topics.allows("news") && topics.allows("gen:bob:7"));
/// assert!(!topics.allows("newsletter") && !topics.allows("gen:alice:7"));
/// assert_eq!(topics.exact(), ["news"]);
/// assert_eq!(topics.prefixes(), ["gen:bob:"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Topics {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl Topics {
    /// Whether `topic` is one of the exact names or starts with one of the prefixes.
    #[must_use]
    pub fn allows(&self, topic: &str) -> bool {
        self.exact.iter().any(|t| t == topic)
            || self.prefixes.iter().any(|p| topic.starts_with(p.as_str()))
    }

    /// The exact topic names.
    #[must_use]
    pub fn exact(&self) -> &[String] {
        &self.exact
    }

    /// The topic prefixes.
    #[must_use]
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// Whether the set grants nothing at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefixes.is_empty()
    }

    fn add(list: &mut Vec<String>, item: String) {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

impl Claims {
    /// Claims for `subject` that expire at `expires_at` (kept to the millisecond), granting
    /// nothing yet: add topics with [`read`](Self::read) and the like.
    pub fn new(subject: impl Into<String>, expires_at: SystemTime) -> Self {
        Self {
            subject: subject.into(),
            expires_at_ms: unix_ms(expires_at),
            origin: None,
            read: Topics::default(),
            publish: Topics::default(),
        }
    }

    /// Claims for `subject` valid for `lifetime` from now.
    pub fn valid_for(subject: impl Into<String>, lifetime: Duration) -> Self {
        let mut claims = Self::new(subject, SystemTime::now());
        // Milliseconds from here on: a lifetime past what `SystemTime` holds means "for ever".
        let lifetime_ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        claims.expires_at_ms = claims.expires_at_ms.saturating_add(lifetime_ms);
        claims
    }

    /// Also grants reading `topic`.
    pub fn read(mut self, topic: impl Into<String>) -> Self {
        Topics::add(&mut self.read.exact, topic.into());
        self
    }

    /// Also grants reading every topic that starts with `prefix` (see [`Topics`] on choosing
    /// prefixes).
    pub fn read_prefix(mut self, prefix: impl Into<String>) -> Self {
        Topics::add(&mut self.read.prefixes, prefix.into());
        self
    }

    /// Also grants publishing to `topic` (a publisher ticket; see
    /// [`Ticket::publish`](super::Ticket::publish)).
    pub fn publish(mut self, topic: impl Into<String>) -> Self {
        Topics::add(&mut self.publish.exact, topic.into());
        self
    }

    /// Also grants publishing to every topic that starts with `prefix`.
    pub fn publish_prefix(mut self, prefix: impl Into<String>) -> Self {
        Topics::add(&mut self.publish.prefixes, prefix.into());
        self
    }

    /// Binds the ticket to a web origin (`scheme://host[:port]`, as browsers send it in
    /// `Origin`): a request that carries another `Origin` is refused with 403, so a ticket
    /// leaked to another site is of no use from there. Requests without `Origin` (non-browser
    /// clients, same-origin `GET`s) are not affected.
    pub fn issued_for(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Who holds the ticket: a user name or id, as the login code set it.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The first instant at which the ticket is no longer valid.
    ///
    /// An expiry beyond what this platform's `SystemTime` holds reads as the year 2106.
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH
            .checked_add(Duration::from_millis(self.expires_at_ms))
            .unwrap_or(UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX)))
    }

    /// Whether the ticket is expired at `now`.
    #[must_use]
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        unix_ms(now) >= self.expires_at_ms
    }

    /// How long the ticket is still valid after `now` (zero once it expired).
    #[must_use]
    pub fn remaining_at(&self, now: SystemTime) -> Duration {
        Duration::from_millis(self.expires_at_ms.saturating_sub(unix_ms(now)))
    }

    /// The origin the ticket was issued for, if any.
    #[must_use]
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The topics the holder may read.
    #[must_use]
    pub fn readable(&self) -> &Topics {
        &self.read
    }

    /// The topics the holder may publish to.
    #[must_use]
    pub fn publishable(&self) -> &Topics {
        &self.publish
    }

    /// Whether the holder may read `topic`.
    #[must_use]
    pub fn can_read(&self, topic: &str) -> bool {
        self.read.allows(topic)
    }

    /// Whether the holder may publish to `topic`.
    #[must_use]
    pub fn can_publish(&self, topic: &str) -> bool {
        self.publish.allows(topic)
    }

    /// The payload: version 1, expiry (8 bytes, big-endian), subject, origin flag and origin,
    /// then the four topic lists; strings and counts are LEB128-prefixed, so no claim is too
    /// large to encode and signing cannot fail.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.expires_at_ms.to_be_bytes());
        put_str(&mut out, &self.subject);
        match &self.origin {
            Some(origin) => {
                out.push(1);
                put_str(&mut out, origin);
            }
            None => out.push(0),
        }
        for list in [
            &self.read.exact,
            &self.read.prefixes,
            &self.publish.exact,
            &self.publish.prefixes,
        ] {
            put_len(&mut out, list.len());
            for item in list {
                put_str(&mut out, item);
            }
        }
        out
    }

    /// Reads what [`encode`](Self::encode) wrote. Only called once the tag matched, so an
    /// error here means a key was used by something else than this code.
    pub(super) fn decode(bytes: &[u8]) -> Result<Self, MalformedTicket> {
        let mut reader = Reader { bytes };
        let version = reader.byte()?;
        if version != FORMAT_VERSION {
            return Err(MalformedTicket::new("unknown ticket version"));
        }
        let expires: [u8; 8] = reader
            .take(8)?
            .try_into()
            .map_err(|_| MalformedTicket::new(TRUNCATED))?;
        let subject = reader.string()?;
        let origin = match reader.byte()? {
            0 => None,
            1 => Some(reader.string()?),
            _ => return Err(MalformedTicket::new("bad origin flag")),
        };
        let mut lists: [Vec<String>; 4] = Default::default();
        for list in &mut lists {
            let count = reader.len()?;
            for _ in 0..count {
                list.push(reader.string()?);
            }
        }
        if !reader.bytes.is_empty() {
            return Err(MalformedTicket::new("bytes after the claims"));
        }
        let [read_exact, read_prefixes, publish_exact, publish_prefixes] = lists;
        Ok(Self {
            subject,
            expires_at_ms: u64::from_be_bytes(expires),
            origin,
            read: Topics {
                exact: read_exact,
                prefixes: read_prefixes,
            },
            publish: Topics {
                exact: publish_exact,
                prefixes: publish_prefixes,
            },
        })
    }
}

const FORMAT_VERSION: u8 = 1;

/// Whole Unix milliseconds, 0 before the epoch: the one unit claims compare in, so that no
/// `SystemTime` arithmetic can overflow.
fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}
const TRUNCATED: &str = "claims are cut short";

fn put_len(out: &mut Vec<u8>, len: usize) {
    // `usize` is at most 64 bits on every target Rust supports.
    let mut n = len as u64;
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, MalformedTicket> {
        let (&first, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| MalformedTicket::new(TRUNCATED))?;
        self.bytes = rest;
        Ok(first)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MalformedTicket> {
        if n > self.bytes.len() {
            return Err(MalformedTicket::new(TRUNCATED));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    /// A LEB128 length, refused when larger than what is left (every counted item and every
    /// byte of a string takes at least one byte), so a length never drives an allocation.
    fn len(&mut self) -> Result<usize, MalformedTicket> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value)
                    .ok()
                    .filter(|&len| len <= self.bytes.len())
                    .ok_or_else(|| MalformedTicket::new(TRUNCATED));
            }
        }
        Err(MalformedTicket::new("length is too long"))
    }

    fn string(&mut self) -> Result<String, MalformedTicket> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| MalformedTicket::new("claims are not utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Claims {
        Claims::new(
            "hértz",
            UNIX_EPOCH + Duration::from_millis(1_795_638_763_347),
        )
        .read("broadcast")
        .read("user:hértz")
        .read("broadcast")
        .read_prefix("gen:hertz:")
        .publish("broadcast")
        .publish_prefix("user:")
        .issued_for("http://127.0.0.1:8888")
    }

    #[test]
    fn claims_round_trip_and_duplicates_are_kept_once() {
        let claims = sample();
        assert_eq!(claims.readable().exact(), ["broadcast", "user:hértz"]);
        assert_eq!(Claims::decode(&claims.encode()), Ok(claims.clone()));
        let bare = Claims::new("", UNIX_EPOCH);
        assert_eq!(Claims::decode(&bare.encode()), Ok(bare));
    }

    #[test]
    fn long_strings_get_multi_byte_lengths() {
        let long = "x".repeat(70_000);
        let claims = Claims::new(long.clone(), UNIX_EPOCH).read(long.clone());
        let decoded = Claims::decode(&claims.encode()).unwrap();
        assert_eq!(decoded.subject(), long);
        assert!(decoded.can_read(&long));
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_refused() {
        let bytes = sample().encode();
        for end in 0..bytes.len() {
            assert!(Claims::decode(&bytes[..end]).is_err(), "cut at {end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Claims::decode(&longer).is_err());
        let mut other_version = bytes;
        other_version[0] = 2;
        assert_eq!(
            Claims::decode(&other_version).unwrap_err().to_string(),
            "malformed ticket: unknown ticket version"
        );
    }

    #[test]
    fn a_huge_length_is_refused_without_allocating() {
        let mut bytes = vec![FORMAT_VERSION];
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(Claims::decode(&bytes).is_err());
        bytes.truncate(9);
        bytes.extend_from_slice(&[0x80; 11]);
        assert!(Claims::decode(&bytes).is_err());
    }

    #[test]
    fn expiry_is_kept_to_the_millisecond_and_clamped() {
        let at = UNIX_EPOCH + Duration::from_micros(1_500_999);
        let claims = Claims::new("a", at);
        assert_eq!(
            claims.expires_at(),
            UNIX_EPOCH + Duration::from_millis(1_500)
        );
        assert!(!claims.is_expired_at(UNIX_EPOCH + Duration::from_millis(1_499)));
        assert!(claims.is_expired_at(UNIX_EPOCH + Duration::from_millis(1_500)));
        assert_eq!(
            claims.remaining_at(UNIX_EPOCH + Duration::from_millis(1_000)),
            Duration::from_millis(500)
        );
        assert_eq!(
            claims.remaining_at(UNIX_EPOCH + Duration::from_secs(9)),
            Duration::ZERO
        );
        // Before the epoch counts as the epoch; "for ever" does not overflow.
        assert_eq!(
            Claims::new("a", UNIX_EPOCH - Duration::from_secs(1)).expires_at(),
            UNIX_EPOCH
        );
        let forever = Claims::valid_for("a", Duration::MAX);
        assert!(!forever.is_expired_at(SystemTime::now()));
    }
}
