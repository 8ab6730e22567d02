//! Telling event streams apart, and the headers every event stream carries.

use http::{HeaderMap, HeaderName, HeaderValue, header};

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Whether the headers say `Content-Type: text/event-stream` (parameters allowed).
pub(super) fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Whether a request asks for an event stream: `Accept: text/event-stream`, which every
/// `EventSource` sends. Such a request takes its stream slot before the handler runs.
pub(super) fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|range| range.split(';').next())
        .any(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// Fills in the headers an event stream needs where its producer did not set them (for
/// streams not made by [`SseStream`](crate::SseStream), which sets them itself): no caching,
/// no rewriting by proxies, no proxy buffering.
pub(super) fn fill_in(headers: &mut HeaderMap) {
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache, no-transform"));
    headers
        .entry(X_ACCEL_BUFFERING)
        .or_insert(HeaderValue::from_static("no"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accept_lists_like_a_browser_sends_them() {
        let accept = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(value));
            wants_event_stream(&headers)
        };
        assert!(accept("text/event-stream"));
        assert!(accept("text/html, Text/Event-Stream;q=0.9"));
        assert!(!accept("*/*"));
        assert!(!accept("text/event-streams"));
        assert!(!wants_event_stream(&HeaderMap::new()));
    }
}
