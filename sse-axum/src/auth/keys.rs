//! [`TicketKey`] and [`TicketKeys`]: signing and verifying tickets, and their errors.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::Claims;

type HmacSha256 = Hmac<Sha256>;

/// The length of a tag: one SHA-256 output.
const TAG_LEN: usize = 32;
/// The length of a tag in unpadded base64.
const TAG_TEXT_LEN: usize = 43;

/// One secret key for HMAC-SHA256, at least [`TicketKey::MIN_LEN`] bytes.
///
/// Make it from random bytes (e.g. `openssl rand -base64 32`, decoded, or read from a secret
/// store) and share it between the servers that must accept each other's tickets. Its
/// `Debug` output never shows it.
///
/// ```
/// use sse_axum::auth::{KeyError, TicketKey};
///
/// let key = TicketKey::new([7_u8; 32])?;
/// assert_eq!(format!("{key:?}"), "TicketKey(..)");
/// assert!(matches!(TicketKey::new(b"short"), Err(KeyError::TooShort { len: 5, .. })));
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone)]
pub struct TicketKey {
    /// The HMAC state with the key already absorbed: cloned per ticket, never re-derived.
    mac: HmacSha256,
}

impl TicketKey {
    /// The shortest accepted key: 32 bytes, the size of the hash (RFC 2104 advises no less).
    pub const MIN_LEN: usize = 32;

    /// A key from secret bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] for fewer than [`MIN_LEN`](Self::MIN_LEN) bytes.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let secret = secret.as_ref();
        if secret.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort {
                len: secret.len(),
                min_len: Self::MIN_LEN,
            });
        }
        // HMAC takes a key of any length; the error cannot happen, but is not unwrapped.
        let mac = HmacSha256::new_from_slice(secret).map_err(|_| KeyError::TooShort {
            len: secret.len(),
            min_len: Self::MIN_LEN,
        })?;
        Ok(Self { mac })
    }

    fn tag(&self, message: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TicketKey(..)")
    }
}

/// The keys of a service: tickets are signed with the current one and accepted when signed
/// with any of them, so keys rotate without logging anyone out.
///
/// Cheap to clone (an [`Arc`] inside).
///
/// ```
/// use std::time::Duration;
/// use sse_axum::auth::{Claims, TicketError, TicketKey, TicketKeys};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let old = TicketKey::new([1_u8; 32])?;
/// let new = TicketKey::new([2_u8; 32])?;
/// let claims = Claims::valid_for("alice", Duration::from_secs(60)).read("news");
///
/// let before = TicketKeys::new(old.clone()).sign(&claims);
/// // Rotation: sign with the new key, still accept the old one for a while.
/// let keys = TicketKeys::new(new.clone()).also_accept(old);
/// assert_eq!(keys.verify(&before)?, claims);
/// let after = keys.sign(&claims);
/// assert_eq!(TicketKeys::new(new).verify(&after)?, claims);
/// // Once the old key is dropped, its tickets are refused.
/// let later = TicketKeys::new(TicketKey::new([2_u8; 32])?);
/// assert!(matches!(later.verify(&before), Err(TicketError::BadSignature)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TicketKeys {
    /// Never empty: the first signs.
    keys: Arc<[TicketKey]>,
}

impl TicketKeys {
    /// The longest ticket [`verify`](Self::verify) reads: 64 KiB. Extractors have a smaller
    /// limit of their own ([`TicketConfig::max_len`](super::TicketConfig::max_len)).
    pub const MAX_LEN: usize = 64 * 1024;

    /// Keys that sign with `current` and accept only it (add more with
    /// [`also_accept`](Self::also_accept)).
    #[must_use]
    pub fn new(current: TicketKey) -> Self {
        Self {
            keys: Arc::from([current]),
        }
    }

    /// Also accepts tickets signed with `previous` (a key being rotated out).
    #[must_use]
    pub fn also_accept(self, previous: TicketKey) -> Self {
        let mut keys = self.keys.to_vec();
        keys.push(previous);
        Self {
            keys: Arc::from(keys),
        }
    }

    /// How many keys are accepted (the current one included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always `false`: there is always a current key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Signs `claims` with the current key: `PAYLOAD.TAG`, unpadded base64url, safe in a
    /// cookie, a header and a URL without escaping.
    #[must_use]
    pub fn sign(&self, claims: &Claims) -> String {
        let mut ticket = URL_SAFE_NO_PAD.encode(claims.encode());
        // The tag covers the payload's text, so nothing is decoded before it matches.
        let tag = self.keys[0].tag(ticket.as_bytes());
        ticket.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut ticket);
        ticket
    }

    /// Verifies a ticket and returns its claims, checking expiry against the clock.
    ///
    /// # Errors
    ///
    /// A [`TicketError`]: too long, malformed, a tag no key made, or expired.
    pub fn verify(&self, ticket: &str) -> Result<Claims, TicketError> {
        self.verify_at(ticket, SystemTime::now())
    }

    /// Verifies a ticket as of `now`: pass an earlier instant to accept an expired ticket,
    /// e.g. to renew a session whose ticket ran out (`UNIX_EPOCH` checks only the tag).
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub fn verify_at(&self, ticket: &str, now: SystemTime) -> Result<Claims, TicketError> {
        if ticket.len() > Self::MAX_LEN {
            return Err(TicketError::TooLong {
                len: ticket.len(),
                max_len: Self::MAX_LEN,
            });
        }
        let (payload, tag) = ticket
            .split_once('.')
            .ok_or_else(|| MalformedTicket::new("not PAYLOAD.TAG"))?;
        // 32 bytes are 43 characters of unpadded base64: checked first, so that decoding
        // cannot run out of room.
        if tag.len() != TAG_TEXT_LEN {
            return Err(MalformedTicket::new("the tag is not 43 characters").into());
        }
        let mut given = [0_u8; TAG_LEN];
        match URL_SAFE_NO_PAD.decode_slice(tag, &mut given) {
            Ok(TAG_LEN) => {}
            Ok(_) => return Err(MalformedTicket::new("the tag is not 43 characters").into()),
            Err(error) => {
                return Err(MalformedTicket::caused("the tag is not base64url", error).into());
            }
        }
        // Every key is tried (no early exit on the first match would reveal less, but which
        // key matched is no secret); each comparison is constant-time.
        let matched = self
            .keys
            .iter()
            .fold(subtle::Choice::from(0), |found, key| {
                found | key.tag(payload.as_bytes()).ct_eq(&given)
            });
        if !bool::from(matched) {
            return Err(TicketError::BadSignature);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|error| MalformedTicket::caused("the payload is not base64url", error))?;
        let claims = Claims::decode(&bytes)?;
        if claims.is_expired_at(now) {
            return Err(TicketError::Expired {
                expired_at: claims.expires_at(),
            });
        }
        Ok(claims)
    }
}

impl fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketKeys")
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// Why [`TicketKey::new`] refused a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is shorter than [`TicketKey::MIN_LEN`].
    TooShort {
        /// Its length in bytes.
        len: usize,
        /// The shortest accepted length.
        min_len: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len, min_len } => {
                write!(
                    f,
                    "ticket key is {len} bytes long, at least {min_len} are needed"
                )
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// Why a ticket was refused by [`TicketKeys::verify`].
///
/// ```
/// use sse_axum::auth::{TicketError, TicketKey, TicketKeys};
///
/// let keys = TicketKeys::new(TicketKey::new([9_u8; 32]).unwrap());
/// let error = keys.verify("not a ticket").unwrap_err();
/// assert!(matches!(error, TicketError::Malformed(_)));
/// assert_eq!(error.to_string(), "malformed ticket: not PAYLOAD.TAG");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TicketError {
    /// The ticket is longer than the limit (checked before anything else).
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max_len: usize,
    },
    /// The ticket is not `PAYLOAD.TAG` in unpadded base64url, or its claims cannot be read.
    Malformed(MalformedTicket),
    /// No accepted key made this tag: forged, altered, or signed with a key rotated out.
    BadSignature,
    /// The ticket was genuine but has expired: the client signs in again.
    Expired {
        /// When it expired.
        expired_at: SystemTime,
    },
}

impl fmt::Display for TicketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len, max_len } => {
                write!(f, "ticket is {len} bytes long, the limit is {max_len}")
            }
            Self::Malformed(malformed) => malformed.fmt(f),
            Self::BadSignature => f.write_str("ticket signature does not match"),
            Self::Expired { .. } => f.write_str("ticket has expired"),
        }
    }
}

impl std::error::Error for TicketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(malformed) => Some(malformed),
            _ => None,
        }
    }
}

impl From<MalformedTicket> for TicketError {
    fn from(malformed: MalformedTicket) -> Self {
        Self::Malformed(malformed)
    }
}

/// What was wrong with the form of a ticket ([`TicketError::Malformed`]); its
/// [`source`](std::error::Error::source) is the base64 error when that was it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedTicket {
    what: &'static str,
    source: Option<base64::DecodeSliceError>,
}

impl MalformedTicket {
    pub(super) fn new(what: &'static str) -> Self {
        Self { what, source: None }
    }

    fn caused(what: &'static str, source: impl Into<base64::DecodeSliceError>) -> Self {
        Self {
            what,
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for MalformedTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed ticket: {}", self.what)
    }
}

impl std::error::Error for MalformedTicket {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn key(byte: u8) -> TicketKey {
        TicketKey::new([byte; 32]).unwrap()
    }

    /// The same claims at every call (made once: their expiry is read from the clock).
    fn claims() -> Claims {
        static CLAIMS: std::sync::LazyLock<Claims> = std::sync::LazyLock::new(|| {
            Claims::valid_for("hertz", Duration::from_secs(60))
                .read("broadcast")
                .read("user:hertz")
                .publish_prefix("user:")
        });
        CLAIMS.clone()
    }

    #[test]
    fn a_signed_ticket_verifies_and_is_url_safe() {
        let keys = TicketKeys::new(key(1));
        let ticket = keys.sign(&claims());
        assert!(
            ticket
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "{ticket}"
        );
        assert!(ticket.len() < 120, "{} bytes: {ticket}", ticket.len());
        assert_eq!(keys.verify(&ticket).unwrap(), claims());
    }

    /// Changing any character of a ticket (payload, dot or tag) makes it fail, never panic,
    /// and never verify as something else.
    #[test]
    fn every_altered_character_is_refused() {
        let keys = TicketKeys::new(key(1));
        let ticket = keys.sign(&claims());
        for at in 0..ticket.len() {
            for replacement in ['A', 'z', '0', '-', '_', '.', '=', '%'] {
                let mut altered = ticket.clone();
                altered.replace_range(at..=at, &replacement.to_string());
                if altered == ticket {
                    continue;
                }
                let error = keys.verify(&altered).unwrap_err();
                assert!(
                    matches!(error, TicketError::BadSignature | TicketError::Malformed(_)),
                    "{altered}: {error:?}"
                );
            }
        }
        // Dropping or adding a character is refused too.
        assert!(keys.verify(&ticket[..ticket.len() - 1]).is_err());
        assert!(keys.verify(&format!("{ticket}A")).is_err());
        assert!(keys.verify(&format!("A{ticket}")).is_err());
    }

    #[test]
    fn another_key_or_a_swapped_payload_is_a_bad_signature() {
        let ticket = TicketKeys::new(key(2)).sign(&claims());
        let keys = TicketKeys::new(key(1));
        assert!(matches!(
            keys.verify(&ticket),
            Err(TicketError::BadSignature)
        ));
        // Mallory's genuine tag on hertz's payload.
        let hertz = keys.sign(&claims());
        let mallory = keys.sign(&Claims::valid_for("mallory", Duration::from_secs(60)));
        let (payload, _) = hertz.split_once('.').unwrap();
        let (_, tag) = mallory.split_once('.').unwrap();
        assert!(matches!(
            keys.verify(&format!("{payload}.{tag}")),
            Err(TicketError::BadSignature)
        ));
    }

    #[test]
    fn rotation_signs_with_the_first_key_and_accepts_all() {
        let rotated = TicketKeys::new(key(3))
            .also_accept(key(2))
            .also_accept(key(1));
        assert_eq!(rotated.len(), 3);
        assert!(!rotated.is_empty());
        for old in [1, 2, 3] {
            let ticket = TicketKeys::new(key(old)).sign(&claims());
            assert_eq!(rotated.verify(&ticket).unwrap(), claims(), "key {old}");
        }
        let new_ticket = rotated.sign(&claims());
        assert!(TicketKeys::new(key(3)).verify(&new_ticket).is_ok());
        assert!(TicketKeys::new(key(1)).verify(&new_ticket).is_err());
    }

    #[test]
    fn expiry_is_checked_after_the_signature() {
        let keys = TicketKeys::new(key(1));
        let at = UNIX_EPOCH + Duration::from_secs(1_000);
        let ticket = keys.sign(&Claims::new("a", at).read("t"));
        assert!(
            keys.verify_at(&ticket, at - Duration::from_millis(1))
                .is_ok()
        );
        let error = keys.verify_at(&ticket, at).unwrap_err();
        assert!(matches!(error, TicketError::Expired { expired_at } if expired_at == at));
        assert_eq!(error.to_string(), "ticket has expired");
        assert!(keys.verify(&ticket).is_err(), "long expired by the clock");
        // Renewal: the tag alone.
        assert!(keys.verify_at(&ticket, UNIX_EPOCH).is_ok());
        // A forged expired ticket says bad signature, not expired.
        let forged = TicketKeys::new(key(2)).sign(&Claims::new("a", at));
        assert!(matches!(
            keys.verify(&forged),
            Err(TicketError::BadSignature)
        ));
    }

    #[test]
    fn size_limit_and_malformed_input() {
        let keys = TicketKeys::new(key(1));
        let long = "A".repeat(TicketKeys::MAX_LEN + 1);
        assert!(matches!(
            keys.verify(&long),
            Err(TicketError::TooLong { len, max_len }) if len == TicketKeys::MAX_LEN + 1 && max_len == TicketKeys::MAX_LEN
        ));
        for text in [
            "",
            ".",
            "abc",
            "abc.",
            ".abc",
            "a.b.c",
            "é.é",
            "AAAA.AAAA",
            "AAAA.!!!!",
        ] {
            let error = keys.verify(text).unwrap_err();
            assert!(
                matches!(error, TicketError::Malformed(_) | TicketError::BadSignature),
                "{text:?}: {error:?}"
            );
        }
        let error = keys
            .verify(&format!("AAAA.{}", "!".repeat(TAG_TEXT_LEN)))
            .unwrap_err();
        assert!(
            error.source().and_then(|e| e.source()).is_some(),
            "the base64 error is kept"
        );
        // A tag that matches over a payload that is not ours: malformed, after the tag check.
        let payload = URL_SAFE_NO_PAD.encode(b"\x09junk");
        let mut ticket = payload.clone();
        ticket.push('.');
        URL_SAFE_NO_PAD.encode_string(key(1).tag(payload.as_bytes()), &mut ticket);
        assert!(matches!(
            keys.verify(&ticket),
            Err(TicketError::Malformed(_))
        ));
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        assert_eq!(
            TicketKey::new([0_u8; 31]).unwrap_err().to_string(),
            "ticket key is 31 bytes long, at least 32 are needed"
        );
        let keys = TicketKeys::new(key(1)).also_accept(key(2));
        assert_eq!(format!("{keys:?}"), "TicketKeys { keys: 2 }");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_verifies_or_panics(text in ".{0,300}") {
            let keys = TicketKeys::new(key(1));
            proptest::prop_assert!(keys.verify(&text).is_err());
        }
    }
}
