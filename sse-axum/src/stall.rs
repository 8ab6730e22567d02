//! Stalled readers cut at the socket: [`StallIo`] fails a connection whose writes have made no
//! progress for a while, and [`StallGuard`] gives every connection of a listener that guard,
//! for `axum::serve` (`serve_http1` applies it itself).
//!
//! Why at the socket: a client that stops reading fills the socket's buffers, then hyper's
//! write buffer, and from then on hyper no longer polls the response body at all, so nothing
//! in the body (or a tower layer) can notice or end it. The write that cannot proceed is the
//! one place that sees the stall; failing it makes hyper close the connection, which drops
//! the body and so the stream's subscription.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

pin_project! {
    /// A connection whose writes fail with [`io::ErrorKind::TimedOut`] once they have made
    /// no progress for `timeout`: the peer stopped reading while there were bytes for it.
    ///
    /// The clock runs only while a write is blocked, so an idle connection (nothing to send)
    /// is never cut, and a blocked write costs one timer, allocated then.
    #[derive(Debug)]
    pub struct StallIo<T> {
        #[pin]
        inner: T,
        // `None`: no guard (`serve_http1` with the stall timeout off).
        timeout: Option<Duration>,
        blocked: Option<Pin<Box<Sleep>>>,
    }
}

impl<T> StallIo<T> {
    /// Guards `inner` with `timeout`.
    pub fn new(inner: T, timeout: Duration) -> Self {
        Self::optional(inner, Some(timeout))
    }

    /// Guards `inner` with `timeout`, or not at all for `None` (one type for both).
    pub fn optional(inner: T, timeout: Option<Duration>) -> Self {
        Self {
            inner,
            timeout,
            blocked: None,
        }
    }

    /// The guarded connection.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

/// What a write returned, seen by the stall clock: progress stops it, a blocked write starts it
/// (or fails once it ran out).
fn watch<R>(
    blocked: &mut Option<Pin<Box<Sleep>>>,
    timeout: Option<Duration>,
    cx: &mut Context<'_>,
    result: Poll<io::Result<R>>,
) -> Poll<io::Result<R>> {
    let Some(timeout) = timeout else {
        return result;
    };
    match result {
        Poll::Pending => {
            let sleep = blocked.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
            if sleep.as_mut().poll(cx).is_ready() {
                crate::metrics::stalled("socket", 1);
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer took no bytes within the stall timeout",
                )));
            }
            Poll::Pending
        }
        ready => {
            *blocked = None;
            ready
        }
    }
}

impl<T: AsyncRead> AsyncRead for StallIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for StallIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write(cx, buf);
        watch(this.blocked, *this.timeout, cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let result = this.inner.poll_write_vectored(cx, bufs);
        watch(this.blocked, *this.timeout, cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let result = this.inner.poll_flush(cx);
        watch(this.blocked, *this.timeout, cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// A listener whose connections are [`StallIo`]s: `axum::serve(StallGuard::new(listener,
/// timeout), app)` closes a connection whose client took no bytes for `timeout` while there
/// were bytes for it.
///
/// ```no_run
/// use std::time::Duration;
/// use axum::Router;
/// use sse_axum::serve::StallGuard;
///
/// # async fn run(app: Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8888").await?;
/// axum::serve(StallGuard::new(listener, Duration::from_secs(30)), app).await
/// # }
/// ```
#[derive(Debug)]
pub struct StallGuard<L> {
    listener: L,
    timeout: Duration,
}

impl<L> StallGuard<L> {
    /// Guards every connection `listener` accepts with `timeout`.
    pub fn new(listener: L, timeout: Duration) -> Self {
        Self { listener, timeout }
    }
}

impl<L: Listener> Listener for StallGuard<L> {
    type Io = StallIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.listener.accept().await;
        (StallIo::new(io, self.timeout), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
