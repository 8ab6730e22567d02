//! [`SseLayer`]: middleware for Server-Sent Events responses, in the tower-http shape
//! ([`SseLayer`] the configuration, [`SseService`] the service, [`ResponseFuture`] and
//! [`ResponseBody`] what it returns).
//!
//! It acts on responses whose `Content-Type` is `text/event-stream` (whatever produced them,
//! [`SseStream`](crate::SseStream) or anything else) and passes every other response through
//! untouched:
//!
//! - **headers**: sets `Cache-Control: no-cache` and `X-Accel-Buffering: no` where the handler
//!   did not set them;
//! - **graceful shutdown**: when the [`CancellationToken`] given to
//!   [`graceful_shutdown`](SseLayer::graceful_shutdown) is cancelled, every open event stream
//!   passes on the events that are ready at once (up to 64), sends the optional
//!   [`final_event`](SseLayer::final_event) and ends cleanly, so
//!   `axum::serve(..).with_graceful_shutdown(..)` returns instead of waiting for clients that
//!   never hang up;
//! - **connection limit**: with [`max_streams`](SseLayer::max_streams), an event stream beyond
//!   the limit is answered `503 Service Unavailable` with `Retry-After`. Open streams are counted
//!   from the response until its body is dropped (see [`SseLayer::open_streams`]);
//! - **`Last-Event-ID` limit**: [`last_event_id_config`](SseLayer::last_event_id_config) puts a
//!   [`LastEventIdConfig`] into the request extensions for the
//!   [`LastEventId`](crate::LastEventId) extractor.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower_layer::Layer;
use tower_service::Service;

use crate::{Event, LastEventIdConfig};

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
/// After the shutdown signal, how many frames that are ready at once an event stream still
/// passes on before its final event.
const MAX_FRAMES_AFTER_SHUTDOWN: usize = 64;
const TOO_MANY_STREAMS: &str = "too many open event streams, retry later";

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
    open: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Config {
    shutdown: Option<CancellationToken>,
    final_event: Option<Bytes>,
    max_streams: Option<usize>,
    retry_after: HeaderValue,
    last_event_id: Option<LastEventIdConfig>,
}

impl SseLayer {
    /// The default `Retry-After` of a `503` answer: 5 seconds.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

    /// A layer that only sets the headers: no shutdown signal, no limit.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                shutdown: None,
                final_event: None,
                max_streams: None,
                retry_after: retry_after_value(Self::DEFAULT_RETRY_AFTER),
                last_event_id: None,
            }),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// Ends every open event stream cleanly once `token` is cancelled: events the stream has
    /// ready at that moment are still sent (up to 64), then the
    /// [`final_event`](Self::final_event), if any, then the body ends. Streams that start after
    /// the cancellation end at once in the same way.
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

    /// Allows at most `max` event streams open at once through this layer (and its clones);
    /// beyond that, the response is replaced by `503 Service Unavailable` with `Retry-After`
    /// and a plain-text message. The handler still runs (the layer can only tell an event
    /// stream by its response); its stream is dropped at once.
    pub fn max_streams(self, max: usize) -> Self {
        self.with(|config| config.max_streams = Some(max))
    }

    /// The `Retry-After` of a `503` answer, in whole seconds (rounded up); default 5 seconds.
    pub fn retry_after(self, retry_after: Duration) -> Self {
        self.with(|config| config.retry_after = retry_after_value(retry_after))
    }

    /// Puts `config` into the extensions of every request (unless one is already there), for
    /// the [`LastEventId`](crate::LastEventId) extractor.
    pub fn last_event_id_config(self, last_event_id: LastEventIdConfig) -> Self {
        self.with(|config| config.last_event_id = Some(last_event_id))
    }

    /// How many event streams are open through this layer (and its clones) right now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

fn retry_after_value(retry_after: Duration) -> HeaderValue {
    let secs = retry_after
        .as_secs()
        .saturating_add(u64::from(retry_after.subsec_nanos() > 0));
    HeaderValue::from(secs)
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
            .field("max_streams", &self.config.max_streams)
            .field("retry_after", &self.config.retry_after)
            .field("last_event_id", &self.config.last_event_id)
            .field("open_streams", &self.open_streams())
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
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        if let Some(config) = self.layer.config.last_event_id
            && request.extensions().get::<LastEventIdConfig>().is_none()
        {
            request.extensions_mut().insert(config);
        }
        ResponseFuture {
            inner: self.inner.call(request),
            layer: Some(self.layer.clone()),
        }
    }
}

pin_project! {
    /// The response future of [`SseService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        layer: Option<SseLayer>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let Some(layer) = this.layer.take() else {
            // Polled after completion: a contract violation by the caller; answer, don't panic.
            return Poll::Ready(Ok(response.map(|body| ResponseBody {
                kind: Kind::Passthrough { inner: body },
            })));
        };
        Poll::Ready(Ok(layer.wrap(response)))
    }
}

impl SseLayer {
    fn wrap<B: Body<Data = Bytes>>(self, response: Response<B>) -> Response<ResponseBody<B>> {
        if !is_event_stream(response.headers()) {
            return response.map(|body| ResponseBody {
                kind: Kind::Passthrough { inner: body },
            });
        }
        let Some(guard) = StreamGuard::acquire(&self.open, self.config.max_streams) else {
            tracing::debug!(
                max_streams = ?self.config.max_streams,
                "event stream refused: too many open streams"
            );
            drop(response);
            let mut rejected = Response::new(ResponseBody {
                kind: Kind::Rejected {
                    body: Some(Bytes::from_static(TOO_MANY_STREAMS.as_bytes())),
                },
            });
            *rejected.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            let headers = rejected.headers_mut();
            headers.insert(header::RETRY_AFTER, self.config.retry_after.clone());
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return rejected;
        };
        let (mut parts, body) = response.into_parts();
        parts
            .headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
        parts
            .headers
            .entry(X_ACCEL_BUFFERING)
            .or_insert(HeaderValue::from_static("no"));
        let body = ResponseBody {
            kind: Kind::EventStream {
                inner: Some(body),
                shutdown: self.config.shutdown.clone().map(|t| t.cancelled_owned()),
                shutting_down: false,
                drained: 0,
                final_event: self.config.final_event.clone(),
                guard: Some(guard),
                has_shutdown: self.config.shutdown.is_some(),
            },
        };
        Response::from_parts(parts, body)
    }
}

/// Whether the headers say `Content-Type: text/event-stream` (parameters allowed).
fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// One open event stream, counted until dropped.
struct StreamGuard {
    open: Arc<AtomicUsize>,
}

impl StreamGuard {
    fn acquire(open: &Arc<AtomicUsize>, max: Option<usize>) -> Option<Self> {
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

pin_project! {
    /// The response body of [`SseService`]: the handler's body, for event streams wrapped to
    /// end on shutdown, or the `503` message.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Passthrough {
            #[pin]
            inner: B,
        },
        EventStream {
            // `None` once ended (dropped at once, so its producer learns of it).
            #[pin]
            inner: Option<B>,
            #[pin]
            shutdown: Option<WaitForCancellationFutureOwned>,
            shutting_down: bool,
            drained: usize,
            final_event: Option<Bytes>,
            guard: Option<StreamGuard>,
            has_shutdown: bool,
        },
        Rejected {
            body: Option<Bytes>,
        },
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Passthrough { .. } => "passthrough",
            Kind::EventStream { .. } => "event stream",
            Kind::Rejected { .. } => "rejected",
        };
        f.debug_struct("ResponseBody").field("kind", &kind).finish()
    }
}

impl<B: Body<Data = Bytes>> Body for ResponseBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Passthrough { inner } => inner.poll_frame(cx),
            KindProj::Rejected { body } => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
            KindProj::EventStream {
                mut inner,
                mut shutdown,
                shutting_down,
                drained,
                final_event,
                guard,
                ..
            } => {
                let Some(body) = inner.as_mut().as_pin_mut() else {
                    return Poll::Ready(None);
                };
                if !*shutting_down {
                    let signalled = shutdown
                        .as_mut()
                        .as_pin_mut()
                        .is_some_and(|signal| signal.poll(cx).is_ready());
                    if signalled {
                        *shutting_down = true;
                        shutdown.set(None);
                    }
                }
                let end = if *shutting_down {
                    // Pass on what is ready at once (events already produced), within a bound
                    // so an ever-ready stream still ends; then the final event.
                    if *drained < MAX_FRAMES_AFTER_SHUTDOWN
                        && let Poll::Ready(Some(frame)) = body.poll_frame(cx)
                    {
                        *drained += 1;
                        return Poll::Ready(Some(frame));
                    }
                    final_event.take().map(|frame| Ok(Frame::data(frame)))
                } else {
                    match ready!(body.poll_frame(cx)) {
                        Some(frame) => return Poll::Ready(Some(frame)),
                        None => None,
                    }
                };
                inner.set(None);
                guard.take();
                Poll::Ready(end)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Passthrough { inner } => inner.is_end_stream(),
            Kind::Rejected { body } => body.is_none(),
            Kind::EventStream { inner, .. } => inner.as_ref().is_none_or(Body::is_end_stream),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Passthrough { inner } => inner.size_hint(),
            Kind::Rejected { body } => {
                SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
            // A shutdown may end the body early or add the final event: the size is unknown.
            Kind::EventStream {
                inner: Some(inner),
                has_shutdown: false,
                ..
            } => inner.size_hint(),
            Kind::EventStream { .. } => SizeHint::default(),
        }
    }
}
