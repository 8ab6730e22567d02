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
//! - **headers**: sets `Cache-Control: no-cache` and `X-Accel-Buffering: no` where the handler
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

mod headers;
mod limit;
mod shutdown;

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
use http::{HeaderValue, Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio_util::sync::CancellationToken;
use tower_layer::Layer;
use tower_service::Service;

pub use shutdown::ResponseBody;

use crate::Event;
use limit::{StreamGuard, retry_after_value};
use shutdown::Kind;

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
            }),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// Ends every open event stream cleanly once `token` is cancelled: events the stream has
    /// ready at that moment are still sent (up to 64 body frames), then the
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
    /// beyond that, the answer is `503 Service Unavailable` with `Retry-After` and a
    /// plain-text message. A request with `Accept: text/event-stream` is refused before the
    /// handler runs; an event stream answering any other request is refused when it arrives
    /// (its stream is dropped at once).
    pub fn max_streams(self, max: usize) -> Self {
        self.with(|config| config.max_streams = Some(max))
    }

    /// The `Retry-After` of a `503` answer, in whole seconds (rounded up); default 5 seconds.
    pub fn retry_after(self, retry_after: Duration) -> Self {
        self.with(|config| config.retry_after = retry_after_value(retry_after))
    }

    /// How many event streams are open through this layer (and its clones) right now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Acquire)
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
            .field("max_streams", &self.config.max_streams)
            .field("retry_after", &self.config.retry_after)
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
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let guard = if headers::wants_event_stream(request.headers()) {
            let Some(guard) = StreamGuard::acquire(&layer.open, layer.config.max_streams) else {
                // Refused before the handler runs: no subscription, no hook, no round trip.
                return ResponseFuture {
                    state: State::Refused {
                        response: Some(layer.refusal()),
                    },
                };
            };
            Some(guard)
        } else {
            None
        };
        ResponseFuture {
            state: State::Called {
                inner: self.inner.call(request),
                layer: Some(layer.clone()),
                guard,
            },
        }
    }
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
            // The slot taken before the handler ran, for a request that asked for a stream.
            guard: Option<StreamGuard>,
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
                None => Poll::Ready(Ok(SseLayer::new().refusal())),
            },
            StateProj::Called {
                inner,
                layer,
                guard,
            } => {
                let response = ready!(inner.poll(cx))?;
                let Some(layer) = layer.take() else {
                    return Poll::Ready(Ok(response.map(|body| ResponseBody {
                        kind: Kind::Passthrough { inner: body },
                    })));
                };
                Poll::Ready(Ok(layer.wrap(response, guard.take())))
            }
        }
    }
}

impl SseLayer {
    fn refusal<B>(&self) -> Response<ResponseBody<B>> {
        tracing::debug!(
            max_streams = ?self.config.max_streams,
            "event stream refused: too many open streams"
        );
        limit::refusal(&self.config.retry_after, |body| ResponseBody {
            kind: Kind::Rejected { body: Some(body) },
        })
    }

    /// Wraps an event-stream response (with the slot taken before the handler, if any);
    /// passes any other response through, freeing that slot.
    fn wrap<B: Body<Data = Bytes>>(
        self,
        response: Response<B>,
        guard: Option<StreamGuard>,
    ) -> Response<ResponseBody<B>> {
        if !headers::is_event_stream(response.headers()) {
            return response.map(|body| ResponseBody {
                kind: Kind::Passthrough { inner: body },
            });
        }
        let guard = match guard {
            Some(guard) => guard,
            None => match StreamGuard::acquire(&self.open, self.config.max_streams) {
                Some(guard) => guard,
                None => return self.refusal(),
            },
        };
        let (mut parts, body) = response.into_parts();
        headers::fill_in(&mut parts.headers);
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
