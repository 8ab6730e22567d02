//! What is read of a response before its events: whether it is an event stream, the body of
//! a refused one, `Retry-After`, and which send errors a retry cannot fix.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use tokio::time::{Instant, timeout_at};

use crate::error::{Error, STATUS_BODY_LIMIT, StatusError};

/// How long the body of a refused response is read when there is no idle timeout.
const STATUS_BODY_TIME: Duration = Duration::from_secs(30);

/// `Content-Type: text/event-stream`, parameters allowed, case-insensitive.
pub(crate) fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The `Content-Type` header as text, for [`Error::ContentType`].
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// `Retry-After` as a number of seconds or an HTTP date (the time until then from now).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Reads up to [`STATUS_BODY_LIMIT`] bytes of a refused response's body, for at most `time`
/// (the idle timeout): a server that answers 401 with a JSON error gets it shown, one that
/// sends an endless body does not hold the subscription.
pub(crate) async fn refused(mut response: reqwest::Response, time: Option<Duration>) -> Error {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let deadline = Instant::now() + time.unwrap_or(STATUS_BODY_TIME);
    let mut body = BytesMut::new();
    let truncated = loop {
        match timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let room = STATUS_BODY_LIMIT - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    break true;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Ok(None)) => break false,
            // What arrived is kept; the body is shown as cut.
            Ok(Err(_)) | Err(_) => break true,
        }
    };
    Error::Status(StatusError::new(
        status,
        headers,
        Bytes::from(body),
        truncated,
    ))
}

/// A send error that a retry cannot fix: the request could not be built (reqwest's builder
/// errors, e.g. an unsupported scheme after a redirect), or the server's TLS certificate was
/// rejected.
pub(crate) fn fatal_send_error(error: reqwest::Error) -> Result<reqwest::Error, Error> {
    if error.is_builder() {
        return Err(Error::InvalidRequest(error));
    }
    if certificate_rejected(&error) {
        return Err(Error::Tls(error));
    }
    Ok(error)
}

/// Whether `error`'s chain holds a rustls error that says the peer's certificate (or the
/// peer itself) is not acceptable; those do not go away on their own.
#[cfg(any(feature = "rustls", feature = "rustls-ring"))]
fn certificate_rejected(error: &reqwest::Error) -> bool {
    use std::error::Error as StdError;

    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(tls) = rustls_error(cause) {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::UnsupportedNameType
                    | rustls::Error::PeerIncompatible(_)
                    | rustls::Error::InvalidCertRevocationList(_)
            );
        }
        source = cause.source();
    }
    false
}

/// The rustls error `cause` is or wraps: tokio-rustls and hyper-util wrap it in `io::Error`s,
/// whose `source()` skips the wrapped error itself, so they are opened with `get_ref`.
#[cfg(any(feature = "rustls", feature = "rustls-ring"))]
fn rustls_error<'a>(mut cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cause = cause.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// Without rustls the TLS errors are opaque: they are retried like other network errors.
#[cfg(not(any(feature = "rustls", feature = "rustls-ring")))]
fn certificate_rejected(_error: &reqwest::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        headers
    }

    #[test]
    fn retry_after_in_seconds_and_as_an_http_date() {
        assert_eq!(retry_after(&headers("120")), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&headers(" 7 ")), Some(Duration::from_secs(7)));
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(61));
        let wait = retry_after(&headers(&in_a_minute)).unwrap();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(61),
            "{wait:?}"
        );
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-1")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn event_stream_content_type() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            is_event_stream(&headers)
        };
        assert!(with("text/event-stream"));
        assert!(with("Text/Event-Stream; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!is_event_stream(&HeaderMap::new()));
    }
}
