//! Compression of event streams that flushes every frame: the encodings the client accepts
//! (`Accept-Encoding`), each frame of the stream compressed and flushed as it is written, so a
//! client decodes every event as soon as it is produced (a general compression layer waits
//! for a block to fill, which holds events back).
//!
//! # Security: BREACH
//!
//! Compression shows an observer the length of what it compresses. A stream that mixes a
//! secret (a token, another user's data) with text an attacker can choose (a chat message)
//! lets the attacker guess the secret byte by byte from the sizes of the compressed frames.
//! Do not compress streams that carry both; compress public feeds and streams that carry only
//! one user's data chosen by no one else.

use std::io;
#[cfg(any(
    feature = "compression-gzip",
    feature = "compression-br",
    feature = "compression-zstd"
))]
use std::io::Write as _;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};

/// A content encoding an event stream can be compressed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// `gzip` (feature `compression-gzip`).
    Gzip,
    /// `br` (feature `compression-br`).
    Brotli,
    /// `zstd` (feature `compression-zstd`).
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` token.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }

    /// Whether this build can compress with it (its feature is on).
    #[must_use]
    pub fn is_available(self) -> bool {
        match self {
            Self::Gzip => cfg!(feature = "compression-gzip"),
            Self::Brotli => cfg!(feature = "compression-br"),
            Self::Zstd => cfg!(feature = "compression-zstd"),
        }
    }

    /// Every encoding, best first (the one picked when a client accepts several equally).
    pub(super) const PREFERENCE: [Encoding; 3] = [Self::Zstd, Self::Brotli, Self::Gzip];
}

/// The encoding to use for a request: the client's most preferred (by `q`, then ours) among
/// `allowed` ones this build has, or none (`identity`).
pub(super) fn negotiate(headers: &HeaderMap, allowed: &[Encoding]) -> Option<Encoding> {
    let mut best: Option<(Encoding, u16)> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(parse_q)
                .unwrap_or(1000);
            let Some(encoding) = Encoding::PREFERENCE
                .into_iter()
                .find(|e| e.as_str().eq_ignore_ascii_case(name))
            else {
                continue;
            };
            if q == 0 || !allowed.contains(&encoding) || !encoding.is_available() {
                continue;
            }
            let rank = |e: Encoding| Encoding::PREFERENCE.iter().position(|x| *x == e);
            let better = match best {
                None => true,
                Some((current, current_q)) => {
                    q > current_q || (q == current_q && rank(encoding) < rank(current))
                }
            };
            if better {
                best = Some((encoding, q));
            }
        }
    }
    best.map(|(encoding, _)| encoding)
}

/// A `q` value in thousandths.
fn parse_q(text: &str) -> Option<u16> {
    let q: f32 = text.trim().parse().ok()?;
    (0.0..=1.0).contains(&q).then(|| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "0..=1000"
        )]
        let thousandths = (q * 1000.0).round() as u16;
        thousandths
    })
}

/// Marks the response as compressed with `encoding`.
pub(super) fn set_headers(headers: &mut HeaderMap, encoding: Encoding) {
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(encoding.as_str()),
    );
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.remove(header::CONTENT_LENGTH);
}

/// A streaming compressor that writes each frame out in full (a flush point after every frame).
pub(super) enum Compressor {
    #[cfg(feature = "compression-gzip")]
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    #[cfg(feature = "compression-br")]
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    #[cfg(feature = "compression-zstd")]
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
    /// The encoding's feature is off (never made: `negotiate` does not pick it).
    #[allow(dead_code)]
    Unavailable,
}

impl Compressor {
    pub(super) fn new(encoding: Encoding) -> io::Result<Self> {
        Ok(match encoding {
            #[cfg(feature = "compression-gzip")]
            Encoding::Gzip => Self::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::fast(),
            )),
            #[cfg(feature = "compression-br")]
            Encoding::Brotli => {
                // Quality 4, window 2^22: fast enough to keep up with a busy stream.
                Self::Brotli(Box::new(brotli::CompressorWriter::new(
                    Vec::new(),
                    4096,
                    4,
                    22,
                )))
            }
            #[cfg(feature = "compression-zstd")]
            Encoding::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3)?),
            #[allow(unreachable_patterns)]
            _ => Self::Unavailable,
        })
    }

    /// `frame`, compressed up to a flush point: what the client needs to decode all of it.
    pub(super) fn compress(&mut self, frame: &[u8]) -> io::Result<Bytes> {
        match self {
            #[cfg(feature = "compression-gzip")]
            Self::Gzip(encoder) => {
                encoder.write_all(frame)?;
                encoder.flush()?;
                Ok(Bytes::from(std::mem::take(encoder.get_mut())))
            }
            #[cfg(feature = "compression-br")]
            Self::Brotli(encoder) => {
                encoder.write_all(frame)?;
                encoder.flush()?;
                Ok(Bytes::from(std::mem::take(encoder.get_mut())))
            }
            #[cfg(feature = "compression-zstd")]
            Self::Zstd(encoder) => {
                encoder.write_all(frame)?;
                encoder.flush()?;
                Ok(Bytes::from(std::mem::take(encoder.get_mut())))
            }
            Self::Unavailable => {
                let _ = frame;
                Err(io::Error::other("compression is not built in"))
            }
        }
    }

    /// The end of the compressed stream (its trailer).
    pub(super) fn finish(self) -> io::Result<Bytes> {
        match self {
            #[cfg(feature = "compression-gzip")]
            Self::Gzip(encoder) => encoder.finish().map(Bytes::from),
            #[cfg(feature = "compression-br")]
            Self::Brotli(encoder) => Ok(Bytes::from(encoder.into_inner())),
            #[cfg(feature = "compression-zstd")]
            Self::Zstd(encoder) => encoder.finish().map(Bytes::from),
            Self::Unavailable => Ok(Bytes::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn picks_the_clients_best_among_the_allowed_and_built_ones() {
        let all = Encoding::PREFERENCE;
        let built = |e: Encoding| e.is_available().then_some(e);
        assert_eq!(negotiate(&accept("gzip"), &all), built(Encoding::Gzip));
        assert_eq!(negotiate(&accept("gzip;q=0"), &all), None);
        assert_eq!(negotiate(&accept("identity"), &all), None);
        assert_eq!(negotiate(&HeaderMap::new(), &all), None);
        assert_eq!(
            negotiate(&accept("gzip;q=0.5, br;q=0.9"), &all),
            built(Encoding::Brotli).or(built(Encoding::Gzip))
        );
        assert_eq!(
            negotiate(&accept("gzip, br, zstd"), &[Encoding::Gzip]),
            built(Encoding::Gzip)
        );
        assert_eq!(
            negotiate(&accept("gzip;q=abc"), &all),
            built(Encoding::Gzip)
        );
    }
}
