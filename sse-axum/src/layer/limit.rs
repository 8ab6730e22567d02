//! The limit on open event streams: a slot per stream, held until its body is dropped, and the
//! answer given when none is free.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

const TOO_MANY_STREAMS: &str = "too many open event streams, retry later";

/// One open event stream, counted until dropped.
pub(super) struct StreamGuard {
    open: Arc<AtomicUsize>,
}

impl StreamGuard {
    /// A slot, if fewer than `max` are taken.
    pub(super) fn acquire(open: &Arc<AtomicUsize>, max: Option<usize>) -> Option<Self> {
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match max {
            Some(max) if n >= max => None,
            _ => Some(n.saturating_add(1)),
        })
        .ok()?;
        Some(Self { open: open.clone() })
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `503 Service Unavailable` with `Retry-After` and a plain message, made from `body`.
pub(super) fn refusal<B>(retry_after: &HeaderValue, body: impl FnOnce(Bytes) -> B) -> Response<B> {
    let mut refused = Response::new(body(Bytes::from_static(TOO_MANY_STREAMS.as_bytes())));
    *refused.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = refused.headers_mut();
    headers.insert(header::RETRY_AFTER, retry_after.clone());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    refused
}

/// A `Retry-After` value in whole seconds, rounded up.
pub(super) fn retry_after_value(retry_after: Duration) -> HeaderValue {
    let secs = retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0));
    HeaderValue::from(secs)
}
