//! The limits on open event streams (in all, and per key such as the peer's address): a slot
//! per stream, held until its body is dropped, and the answer given when none is free.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};

use crate::jitter;

const TOO_MANY_STREAMS: &str = "too many open event streams, retry later";

/// How a stream beyond a limit is refused.
///
/// `EventSource` gives up for good on any answer other than `200 text/event-stream`, so a
/// browser refused with a 503 never comes back; [`Reconnect`](Refusal::Reconnect), the
/// default, keeps it: the answer is a stream that tells it when to come back and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Refusal {
    /// `200 OK`, `text/event-stream`: a comment saying why, a `retry` of
    /// [`retry_after`](super::SseLayer::retry_after) jittered by ±50% per client (so the
    /// refused ones do not all come back at once), and an immediate clean end. The client
    /// reconnects after the `retry`, with its `Last-Event-ID`.
    #[default]
    Reconnect,
    /// `503 Service Unavailable` with `Retry-After` and a plain-text message, for clients
    /// that honour it (an `EventSource` does not: it stops for good).
    Unavailable,
}

/// A key function for [`max_streams_per`](super::SseLayer::max_streams_per): the peer's IP
/// address, from axum's `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`, which `serve_http1` always does).
/// `None` (no limit for the request) when the connection info is missing.
#[must_use]
pub fn peer_ip(request: &Parts) -> Option<String> {
    request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

type KeyFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// Open streams per key.
type KeyCounts = Arc<Mutex<HashMap<String, usize>>>;

/// The open streams, counted in all and per key; shared by a layer and its clones.
#[derive(Clone, Default)]
pub(super) struct Slots {
    open: Arc<AtomicUsize>,
    max: Option<usize>,
    per_key: Option<PerKey>,
}

#[derive(Clone)]
struct PerKey {
    key: Arc<KeyFn>,
    max: usize,
    /// Open streams per key; a key leaves the map with its last stream, so it holds at most
    /// as many keys as there are open streams.
    open: KeyCounts,
}

/// One open event stream, counted until dropped.
pub(super) struct StreamGuard {
    open: Arc<AtomicUsize>,
    key: Option<(KeyCounts, String)>,
}

impl Slots {
    pub(super) fn set_max(&mut self, max: usize) {
        self.max = Some(max);
    }

    pub(super) fn set_max_per(&mut self, key: Arc<KeyFn>, max: usize) {
        self.per_key = Some(PerKey {
            key,
            max,
            open: Arc::default(),
        });
    }

    pub(super) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// The key of a request, when there is a per-key limit.
    pub(super) fn key_of(&self, request: &Parts) -> Option<String> {
        self.per_key
            .as_ref()
            .and_then(|per_key| (per_key.key)(request))
    }

    /// A slot for a stream of `key`, if one is free in all and for that key.
    pub(super) fn acquire(&self, key: Option<String>) -> Option<StreamGuard> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| match self.max {
                Some(max) if n >= max => None,
                _ => Some(n.saturating_add(1)),
            })
            .ok()?;
        let mut guard = StreamGuard {
            open: Arc::clone(&self.open),
            key: None,
        };
        crate::metrics::stream_opened();
        if let (Some(per_key), Some(key)) = (&self.per_key, key) {
            let mut open = per_key.open.lock().unwrap_or_else(PoisonError::into_inner);
            let count = open.entry(key.clone()).or_insert(0);
            if *count >= per_key.max {
                if *count == 0 {
                    open.remove(&key);
                }
                return None; // dropping `guard` gives the global slot back
            }
            *count += 1;
            drop(open);
            guard.key = Some((Arc::clone(&per_key.open), key));
        }
        Some(guard)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::stream_closed();
        if let Some((open, key)) = &self.key {
            let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = open.get_mut(key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.remove(key);
                }
            }
        }
    }
}

impl fmt::Debug for Slots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slots")
            .field("open", &self.open())
            .field("max", &self.max)
            .field(
                "max_per_key",
                &self.per_key.as_ref().map(|per_key| per_key.max),
            )
            .finish()
    }
}

/// The answer to a refused stream, its body made from bytes by `body`.
pub(super) fn refusal<B>(
    refusal: Refusal,
    retry_after: Duration,
    body: impl FnOnce(Bytes) -> B,
) -> Response<B> {
    crate::metrics::refused();
    match refusal {
        Refusal::Reconnect => {
            let retry = jitter::between(retry_after, 0.5, 1.5).as_millis();
            let text = format!(": {TOO_MANY_STREAMS}\nretry: {retry}\n\n");
            let mut response = Response::new(body(Bytes::from(text)));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-transform"),
            );
            response
        }
        Refusal::Unavailable => {
            let mut refused = Response::new(body(Bytes::from_static(TOO_MANY_STREAMS.as_bytes())));
            *refused.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            let headers = refused.headers_mut();
            headers.insert(header::RETRY_AFTER, retry_after_value(retry_after));
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            refused
        }
    }
}

/// A `Retry-After` value in whole seconds, rounded up.
fn retry_after_value(retry_after: Duration) -> HeaderValue {
    let secs = retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0));
    HeaderValue::from(secs)
}
