//! [`SseLayer`]: middleware for Server-Sent Events responses, in the tower-http shape
//! ([`SseLayer`] the configuration, [`SseService`] the service, [`ResponseFuture`] and
//! [`ResponseBody`] what it returns), one module per concern: `headers` (which requests and
//! responses are event streams, and their headers), `limit` (the stream slots) and `shutdown`
//! (the body that ends on the signal).
//!
//! It acts on responses whose `Content-Type` is `text/event-stream` (whatever produced them,
//! [`SseStream`](crate::SseStream) or anything else) and passes every other response through
//! untouched:
//!
//! - **headers**: sets `Cache-Control: no-cache, no-transform` and `X-Accel-Buffering: no` where the handler
//!   did not set them;
//! - **graceful shutdown**: when the [`CancellationToken`] given to
//!   [`graceful_shutdown`](SseLayer::graceful_shutdown) is cancelled, every open event stream
//!   passes on what is ready at once (up to 64 body frames, each holding the events that
//!   were ready together), sends the optional
//!   [`final_event`](SseLayer::final_event) and ends cleanly, so
//!   `axum::serve(..).with_graceful_shutdown(..)` returns instead of waiting for clients that
//!   never hang up;
//! - **connection limit**: with [`max_streams`](SseLayer::max_streams), an event stream beyond
//!   the limit is answered `503 Service Unavailable` with `Retry-After`. A request that asks for
//!   an event stream (`Accept: text/event-stream`, as every `EventSource` sends) takes its slot
//!   before the handler runs, so a refused one costs no hub subscription, no hook and no
//!   backend round trip; other event-stream responses take theirs when they arrive. A slot is
//!   held until the body is dropped (see [`SseLayer::open_streams`]).
//!
//! The `Last-Event-ID` extractor's limits are set as axum sets any extractor's configuration:
//! `.layer(Extension(LastEventIdConfig::new().max_len(64)))` (see
//! [`LastEventIdConfig`](crate::LastEventIdConfig)).

mod body;
mod compress;
mod headers;
mod limit;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_layer::Layer;
use tower_service::Service;

pub use body::ResponseBody;
pub use compress::Encoding;
pub use limit::{Refusal, peer_ip};

use crate::{Event, jitter};
use body::{Kind, Plan};
use limit::{Slots, StreamGuard};

/// Middleware for Server-Sent Events responses: cache headers, graceful shutdown, a limit on
/// open streams. See the [module docs](self).
///
/// Clones share the count of open streams, so one layer applied to several routers enforces one
/// limit.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use futures_util::stream;
/// use sse_axum::{Event, SseLayer, SseStream};
/// use tokio_util::sync::CancellationToken;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let shutdown = CancellationToken::new();
/// let layer = SseLayer::new()
///     .graceful_shutdown(shutdown.clone())
///     .final_event(Event::new().try_event("shutdown")?.data("server restarting"))
///     .max_streams(10_000)
///     .retry_after(Duration::from_secs(10));
///
/// let app = Router::new()
///     .route("/sse", get(|| async { SseStream::new(stream::pending::<Event>()) }))
///     .layer(layer);
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// // e.g. from a ctrl-c handler: `shutdown.cancel()`
/// # shutdown.cancel();
/// axum::serve(listener, app)
///     .with_graceful_shutdown(async move { shutdown.cancelled().await })
///     .await?;
/// # Ok(())
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Clone)]
#[must_use]
pub struct SseLayer {
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    shutdown: Option<CancellationToken>,
    final_event: Option<Bytes>,
    drain: Option<Duration>,
    max_lifetime: Option<Duration>,
    slots: Slots,
    refusal: Refusal,
    retry_after: Duration,
    /// The encodings offered, best first; empty: no compression.
    compression: Vec<Encoding>,
}

impl SseLayer {
    /// The default `retry_after`: 5 seconds.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

    /// A layer that only sets the headers: no shutdown signal, no limit.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                shutdown: None,
                final_event: None,
                drain: None,
                max_lifetime: None,
                slots: Slots::default(),
                refusal: Refusal::default(),
                retry_after: Self::DEFAULT_RETRY_AFTER,
                compression: Vec::new(),
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// Ends every open event stream cleanly once `token` is cancelled: events the stream has
    /// ready at that moment are still sent (up to 64 body frames), then the
    /// [`final_event`](Self::final_event), if any, then the body ends. Streams that start after
    /// the cancellation end at once in the same way. With [`drain_over`](Self::drain_over),
    /// each stream ends at its own moment of that window instead.
    pub fn graceful_shutdown(self, token: CancellationToken) -> Self {
        self.with(|config| config.shutdown = Some(token))
    }

    /// An event sent to every open stream when the shutdown token is cancelled, just before the
    /// stream ends; for example one with a `retry` telling clients when to come back. It is
    /// encoded here, once.
    pub fn final_event(self, event: Event) -> Self {
        let frame = event.to_bytes();
        self.with(|config| config.final_event = (!frame.is_empty()).then_some(frame))
    }

    /// Spreads the ends of a graceful shutdown over `window`: when the token is cancelled,
    /// each open stream goes on for a random part of `window`, then ends as above, and is
    /// told a `retry` of its own (the final event's `retry`, or 3 seconds, the browsers'
    /// default, times a random factor between 1 and 2). So ten thousand browsers do not all
    /// reconnect in the same second to the instance that replaces this one.
    ///
    /// A server that waits for its connections (`with_graceful_shutdown`) then exits within
    /// `window` plus the time its clients take to read the last bytes (bounded by
    /// `serve_http1`'s stall timeout, or `StallGuard`'s for `axum::serve`, both with feature
    /// `serve`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_axum::SseLayer;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let shutdown = CancellationToken::new();
    /// let layer = SseLayer::new()
    ///     .graceful_shutdown(shutdown.clone())
    ///     .drain_over(Duration::from_secs(20));
    /// # drop(layer);
    /// ```
    pub fn drain_over(self, window: Duration) -> Self {
        self.with(|config| config.drain = Some(window))
    }

    /// Ends each event stream cleanly after about `lifetime` (between 90% and 100% of it, at
    /// random, so streams opened together do not all end together): for load balancers to
    /// rebalance long-lived connections, and for credentials that expire. The client
    /// reconnects after its `retry` with its `Last-Event-ID` and, from a [`Hub`](crate::hub::Hub),
    /// resumes without a gap.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_axum::SseLayer;
    ///
    /// let layer = SseLayer::new().max_lifetime(Duration::from_secs(15 * 60));
    /// # drop(layer);
    /// ```
    pub fn max_lifetime(self, lifetime: Duration) -> Self {
        self.with(|config| config.max_lifetime = Some(lifetime))
    }

    /// Allows at most `max` event streams open at once through this layer (and its clones);
    /// beyond that, a stream is refused as [`refusal`](Self::refusal) says. A request with
    /// `Accept: text/event-stream` is refused before the handler runs; an event stream
    /// answering any other request is refused when it arrives (its stream is dropped at once).
    pub fn max_streams(self, max: usize) -> Self {
        self.with(|config| config.slots.set_max(max))
    }

    /// Allows at most `max` open event streams per key, beside [`max_streams`](Self::max_streams):
    /// `key` reads it from the request (`None`: no per-key limit for that request), e.g.
    /// [`peer_ip`] or an authenticated user from the extensions.
    ///
    /// ```
    /// use sse_axum::SseLayer;
    /// use sse_axum::layer::peer_ip;
    ///
    /// let per_ip = SseLayer::new().max_streams(10_000).max_streams_per(peer_ip, 8);
    /// let per_user = SseLayer::new().max_streams_per(
    ///     |request: &http::request::Parts| {
    ///         request.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned)
    ///     },
    ///     4,
    /// );
    /// # drop((per_ip, per_user));
    /// ```
    pub fn max_streams_per<K>(self, key: K, max: usize) -> Self
    where
        K: Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.with(|config| config.slots.set_max_per(Arc::new(key), max))
    }

    /// How a stream beyond a limit is refused: [`Refusal::Reconnect`] by default (a `200`
    /// that tells the client when to come back, which a browser survives), or
    /// [`Refusal::Unavailable`] (`503` with `Retry-After`).
    pub fn refusal(self, refusal: Refusal) -> Self {
        self.with(|config| config.refusal = refusal)
    }

    /// When a refused client should come back: the `retry` of a [`Refusal::Reconnect`]
    /// (jittered by ±50%) and the `Retry-After` of a [`Refusal::Unavailable`] (whole
    /// seconds, rounded up); default 5 seconds.
    pub fn retry_after(self, retry_after: Duration) -> Self {
        self.with(|config| config.retry_after = retry_after)
    }

    /// Compresses event streams with the best of `encodings` the client accepts
    /// (`Accept-Encoding`), flushing after every frame, so each event reaches the client, and
    /// can be decoded, as soon as it is produced. Only encodings whose feature is on are used
    /// (`compression-gzip`, `compression-br`, `compression-zstd`, or `compression-full`);
    /// other responses are not touched. Off by default.
    ///
    /// **Security:** do not compress a stream that carries a secret together with text an
    /// attacker can choose: the sizes of the compressed frames reveal the secret (the BREACH
    /// attack). Public feeds, and streams of one user's own data, are safe.
    ///
    /// ```
    /// use sse_axum::SseLayer;
    /// use sse_axum::layer::Encoding;
    ///
    /// let layer = SseLayer::new().compression([Encoding::Zstd, Encoding::Brotli, Encoding::Gzip]);
    /// # drop(layer);
    /// ```
    pub fn compression(self, encodings: impl IntoIterator<Item = Encoding>) -> Self {
        let encodings: Vec<Encoding> = encodings.into_iter().collect();
        self.with(|config| config.compression = encodings)
    }

    /// How many event streams are open through this layer (and its clones) right now.
    pub fn open_streams(&self) -> usize {
        self.config.slots.open()
    }
}

impl Default for SseLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SseLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseLayer")
            .field("graceful_shutdown", &self.config.shutdown.is_some())
            .field("final_event", &self.config.final_event)
            .field("drain", &self.config.drain)
            .field("max_lifetime", &self.config.max_lifetime)
            .field("slots", &self.config.slots)
            .field("refusal", &self.config.refusal)
            .field("retry_after", &self.config.retry_after)
            .field("compression", &self.config.compression)
            .finish()
    }
}

impl<S> Layer<S> for SseLayer {
    type Service = SseService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SseService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`SseLayer`].
#[derive(Clone, Debug)]
pub struct SseService<S> {
    inner: S,
    layer: SseLayer,
}

impl<S> SseService<S> {
    /// Wraps `inner` with the settings of `layer`.
    pub fn new(inner: S, layer: SseLayer) -> Self {
        Self { inner, layer }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Consumes the middleware, giving the wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SseService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let slots = &layer.config.slots;
        let (parts, body) = request.into_parts();
        let key = slots.key_of(&parts);
        let wants_stream = headers::wants_event_stream(&parts.headers);
        let encoding = compress::negotiate(&parts.headers, &layer.config.compression);
        let request = Request::from_parts(parts, body);
        let slot = if wants_stream {
            match slots.acquire(key) {
                Some(guard) => Slot::Taken(guard),
                // Refused before the handler runs: no subscription, no hook, no round trip.
                None => {
                    return ResponseFuture {
                        state: State::Refused {
                            response: Some(layer.refuse()),
                        },
                    };
                }
            }
        } else {
            Slot::Later(key)
        };
        ResponseFuture {
            state: State::Called {
                inner: self.inner.call(request),
                layer: Some(layer.clone()),
                slot: Some((slot, encoding)),
            },
        }
    }
}

/// A request's stream slot: taken before the handler ran (the request asked for a stream), or
/// to take if the response is one.
enum Slot {
    Taken(StreamGuard),
    Later(Option<String>),
}

pin_project! {
    /// The response future of [`SseService`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Called {
            #[pin]
            inner: F,
            layer: Option<SseLayer>,
            // With the encoding negotiated for the response, if it is an event stream.
            slot: Option<(Slot, Option<Encoding>)>,
        },
        Refused {
            response: Option<Response<ResponseBody<B>>>,
        },
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // Polled after completion: a contract violation by the caller; answer, don't
                // panic.
                None => Poll::Ready(Ok(SseLayer::new().refuse())),
            },
            StateProj::Called { inner, layer, slot } => {
                let response = ready!(inner.poll(cx))?;
                let (Some(layer), Some((slot, encoding))) = (layer.take(), slot.take()) else {
                    return Poll::Ready(Ok(response.map(|body| ResponseBody {
                        kind: Kind::Passthrough { inner: body },
                    })));
                };
                Poll::Ready(Ok(layer.wrap(response, slot, encoding)))
            }
        }
    }
}

impl SseLayer {
    fn refuse<B>(&self) -> Response<ResponseBody<B>> {
        let config = &self.config;
        crate::log::log!(debug, slots = ?config.slots, "event stream refused: no free stream slot");
        limit::refusal(config.refusal, config.retry_after, |body| ResponseBody {
            kind: Kind::Rejected { body: Some(body) },
        })
    }

    /// Wraps an event-stream response in its slot; passes any other response through,
    /// freeing a slot taken for it.
    fn wrap<B: Body<Data = Bytes>>(
        self,
        response: Response<B>,
        slot: Slot,
        encoding: Option<Encoding>,
    ) -> Response<ResponseBody<B>> {
        if !headers::is_event_stream(response.headers()) {
            return response.map(|body| ResponseBody {
                kind: Kind::Passthrough { inner: body },
            });
        }
        let guard = match slot {
            Slot::Taken(guard) => guard,
            Slot::Later(key) => match self.config.slots.acquire(key) {
                Some(guard) => guard,
                None => return self.refuse(),
            },
        };
        let (mut parts, body) = response.into_parts();
        headers::fill_in(&mut parts.headers);
        let mut plan = self.plan(guard);
        // A handler that compressed the stream itself is left alone.
        if let Some(encoding) = encoding
            && !parts.headers.contains_key(http::header::CONTENT_ENCODING)
        {
            match compress::Compressor::new(encoding) {
                Ok(compressor) => {
                    compress::set_headers(&mut parts.headers, encoding);
                    plan.compressor = Some(compressor);
                }
                Err(error) => {
                    let _ = &error; // only logged (feature `tracing`)
                    crate::log::log!(warn, %error, "cannot compress; sending the stream plain");
                }
            }
        }
        let body = ResponseBody {
            kind: Kind::event_stream(body, plan),
        };
        Response::from_parts(parts, body)
    }

    /// What a new event stream does besides passing its body on.
    fn plan(&self, guard: StreamGuard) -> Plan {
        let config = &self.config;
        let mut closing: Vec<Bytes> = config.final_event.iter().cloned().collect();
        if config.drain.is_some() {
            let base = config
                .final_event
                .as_deref()
                .and_then(retry_of)
                .unwrap_or(BROWSER_RETRY);
            let retry = jitter::between(base, 1.0, 2.0).as_millis();
            closing.push(Bytes::from(format!("retry: {retry}\n\n")));
        }
        Plan {
            shutdown: config
                .shutdown
                .clone()
                .map(CancellationToken::cancelled_owned),
            drain: config.drain.map(|window| jitter::between(window, 0.0, 1.0)),
            lifetime_ends: config
                .max_lifetime
                .map(|lifetime| Instant::now() + jitter::between(lifetime, 0.9, 1.0)),
            closing,
            guard,
            compressor: None,
        }
    }
}

/// What browsers wait before reconnecting when the server never said.
const BROWSER_RETRY: Duration = Duration::from_secs(3);

/// The `retry` an encoded event sets, if it sets one.
fn retry_of(frame: &[u8]) -> Option<Duration> {
    frame
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"retry: "))
        .and_then(|ms| std::str::from_utf8(ms).ok()?.parse().ok())
        .map(Duration::from_millis)
}
