//! [`serve_http1`]: [`axum::serve()`] for servers that hold many open streams (feature `serve`).
//!
//! `axum::serve` answers HTTP/1 and HTTP/2 on every connection, so each connection carries the
//! machinery to detect and speak both. An event stream is a long-lived HTTP/1.1 response (what
//! browsers' `EventSource` and most clients use over plain TCP), and a server with thousands of
//! them open pays that on each. [`serve_http1`] uses hyper's HTTP/1 connection builder directly,
//! so an idle subscriber of a [`Hub`](crate::hub::Hub) costs markedly less server memory (the
//! fan-out rows of `benches/README.md` measure both).

use std::fmt;
use std::future::{Future, IntoFuture, Pending, pending};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::watch;
use tower_service::Service as _;

pub use crate::stall::{StallGuard, StallIo};

/// Serves `router` on `listener` over HTTP/1.1 only, like [`axum::serve()`] with less memory per
/// open connection (see the [module documentation](self)).
///
/// What it does, so that it can stand in for `axum::serve(listener, router)`:
/// - any [`axum::serve::Listener`]: a `tokio::net::TcpListener`, a `UnixListener`, or one
///   adapted with [`ListenerExt`](axum::serve::ListenerExt); accept errors are handled by the
///   listener, as with `axum::serve`;
/// - `TCP_NODELAY` on every TCP connection a `tokio::net::TcpListener` accepts (see
///   [`ServeHttp1::tcp_nodelay`]), so an event is sent when it is written, not held back by
///   Nagle's algorithm until the previous one is acknowledged;
/// - HTTP/1.1 upgrades (`hyper::upgrade::on`, axum's WebSocket extractor), so other routes
///   of the router keep working;
/// - [`ConnectInfo`] of the listener's address type in every request's extensions, so the
///   `ConnectInfo<SocketAddr>` extractor works without `into_make_service_with_connect_info`;
/// - a request head must arrive within 30 seconds (hyper's default, see
///   [`ServeHttp1::header_read_timeout`]), so a client that connects and sends nothing, or
///   trickles a head byte by byte, does not hold a connection forever (`axum::serve` has no
///   such limit);
/// - a client that takes no bytes for 30 seconds while there are bytes for it (it stopped
///   reading) is disconnected at the socket (see [`ServeHttp1::stall_timeout`] and
///   [`StallIo`]), so a stalled reader never holds a connection, its memory and its
///   subscription forever;
/// - [`ServeHttp1::with_graceful_shutdown`]: stop accepting when a signal fires, then wait for
///   the open connections to finish. Open event streams only finish when they end, so give
///   the same signal to [`SseLayer::graceful_shutdown`](crate::SseLayer::graceful_shutdown)
///   (or close the [`Hub`](crate::hub::Hub)).
///
/// HTTP/2 requests are not answered: use `axum::serve` where clients need HTTP/2 without TLS
/// termination in front.
///
/// ```
/// use axum::{Router, routing::get};
/// use futures_util::stream;
/// use sse_axum::{Event, SseLayer, SseStream};
/// use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
/// use tokio_util::sync::CancellationToken;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let shutdown = CancellationToken::new();
/// let app = Router::new()
///     .route("/sse", get(|| async {
///         SseStream::new(stream::iter([Ok::<_, std::convert::Infallible>(Event::new().data("hi"))]))
///     }))
///     .layer(SseLayer::new().graceful_shutdown(shutdown.clone()));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let server = tokio::spawn(
///     sse_axum::serve_http1(listener, app)
///         .with_graceful_shutdown(shutdown.clone().cancelled_owned())
///         .into_future(),
/// );
///
/// let mut tcp = tokio::net::TcpStream::connect(addr).await?;
/// tcp.write_all(b"GET /sse HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await?;
/// let mut response = String::new();
/// tcp.read_to_string(&mut response).await?;
/// assert!(response.starts_with("HTTP/1.1 200 OK"));
/// assert!(response.contains("data: hi\n\n"));
///
/// shutdown.cancel();
/// server.await??;
/// # Ok(())
/// # }
/// ```
pub fn serve_http1<L>(listener: L, router: Router) -> ServeHttp1<L, Pending<()>>
where
    L: Listener,
{
    ServeHttp1 {
        listener,
        router,
        header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
        tcp_nodelay: true,
        stall_timeout: Some(DEFAULT_STALL_TIMEOUT),
        signal: pending(),
    }
}

/// How long [`serve_http1`] waits for a request head by default (hyper's default).
const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`serve_http1`] lets a blocked write wait for the client by default.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The server [`serve_http1`] returns: `.await` it (or call
/// [`into_future`](IntoFuture::into_future) to spawn it) to run it.
#[must_use = "a server does nothing until it is awaited"]
pub struct ServeHttp1<L, F> {
    listener: L,
    router: Router,
    header_read_timeout: Option<Duration>,
    tcp_nodelay: bool,
    stall_timeout: Option<Duration>,
    signal: F,
}

impl<L, F> ServeHttp1<L, F> {
    /// How long a connection may take to send a request head before it is closed (default
    /// 30 seconds; `None`: no limit). It also bounds the wait for the next request on an idle
    /// keep-alive connection; an event stream under way is not affected.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Whether accepted TCP connections get `TCP_NODELAY` (default `true`).
    ///
    /// With Nagle's algorithm (`false`), a small write waits while an earlier one is not yet
    /// acknowledged, and the receiver delays its acknowledgements: events published a few
    /// milliseconds apart are held back by up to tens of milliseconds. An event stream writes
    /// whole events (the body joins the events that are ready into one write), so the option
    /// costs no extra packets for a burst. It applies when the listener yields
    /// `tokio::net::TcpStream`s (a `tokio::net::TcpListener`); for other listeners set it in
    /// [`tap_io`](axum::serve::ListenerExt::tap_io).
    pub fn tcp_nodelay(mut self, nodelay: bool) -> Self {
        self.tcp_nodelay = nodelay;
        self
    }

    /// How long a connection's write may stay blocked (the client takes no bytes while there
    /// are bytes for it) before the connection is closed (default 30 seconds; `None`: no
    /// limit). Until then a stalled client holds at most hyper's write buffer (about 400 KiB)
    /// and the socket's buffers, plus, for a hub subscriber, its bounded queue.
    pub fn stall_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.stall_timeout = timeout;
        self
    }
}

impl<L, F> fmt::Debug for ServeHttp1<L, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeHttp1").finish_non_exhaustive()
    }
}

impl<L> ServeHttp1<L, Pending<()>> {
    /// Stops accepting connections once `signal` completes, then waits until every open
    /// connection has finished: idle ones close at once, a response under way (an event
    /// stream) when it ends.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> ServeHttp1<L, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        ServeHttp1 {
            listener: self.listener,
            router: self.router,
            header_read_timeout: self.header_read_timeout,
            tcp_nodelay: self.tcp_nodelay,
            stall_timeout: self.stall_timeout,
            signal,
        }
    }
}

impl<L, F> IntoFuture for ServeHttp1<L, F>
where
    L: Listener,
    L::Addr: Clone + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    /// Never an error today; `io::Result` as `axum::serve`, so that the two swap.
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut builder = hyper::server::conn::http1::Builder::new();
        // Without a timer hyper applies no header read timeout.
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        Box::pin(run(
            self.listener,
            self.router,
            builder,
            Accepted {
                tcp_nodelay: self.tcp_nodelay,
                stall_timeout: self.stall_timeout,
            },
            self.signal,
        ))
    }
}

/// Sets `TCP_NODELAY` on `io` if it is a tokio `TcpStream` (the io of a `TcpListener`).
fn set_nodelay<Io: 'static>(io: &Io) {
    if let Some(tcp) = (io as &dyn std::any::Any).downcast_ref::<tokio::net::TcpStream>() {
        // A socket that refuses the option still works, with Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
    }
}

/// What is done to each accepted connection.
struct Accepted {
    tcp_nodelay: bool,
    stall_timeout: Option<Duration>,
}

async fn run<L, F>(
    mut listener: L,
    router: Router,
    builder: hyper::server::conn::http1::Builder,
    accepted: Accepted,
    signal: F,
) -> io::Result<()>
where
    L: Listener,
    L::Addr: Clone + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let builder = Arc::new(builder);
    // Fires (a new value, or the sender dropped with this future) to start the connections'
    // graceful shutdown.
    let (shutdown_tx, shutdown_rx) = watch::channel(());
    // Each connection task holds a receiver: `closed()` resolves when all have ended.
    let (open_tx, open_rx) = watch::channel(());
    let mut signal = std::pin::pin!(signal);
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        if accepted.tcp_nodelay {
            set_nodelay(&io);
        }
        let io = StallIo::optional(io, accepted.stall_timeout);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<_>| {
            request.extensions_mut().insert(ConnectInfo(addr.clone()));
            // A `Router` is always ready: no `poll_ready` needed before `call`.
            router.clone().call(request.map(axum::body::Body::new))
        });
        let builder = Arc::clone(&builder);
        let mut shutdown_rx = shutdown_rx.clone();
        let open_rx = open_rx.clone();
        // The connection is built inside the task: a future captured by an `async` block and
        // awaited there is stored twice in the task (measured: 0.8 KiB more server memory per
        // connection).
        tokio::spawn(async move {
            // With upgrades, as `axum::serve`: WebSocket routes keep working.
            let connection = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            // A connection error (the client went away, a malformed request) ends only that
            // connection; hyper has answered what it could.
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown_rx.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open_rx);
        });
    }
    drop(listener);
    drop(shutdown_rx);
    let _ = shutdown_tx.send(());
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}
