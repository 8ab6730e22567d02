//! [`serve`]: an axum server on 127.0.0.1:0 that answers each request with a scripted
//! response and logs what it saw, for tests of a client's reconnects: the bytes of each
//! response are hand-made, so connections can be cut, stalled and ended precisely.
//!
//! ```no_run
//! # async fn demo() {
//! use sse_tests::scripted::{Part, serve, sse};
//!
//! let (url, log) = serve(|attempt| match attempt {
//!     0 => sse(vec![Part::Send("id: 1\ndata: a\n\n"), Part::Fail]),
//!     _ => sse(vec![Part::Send("data: b\n\n"), Part::Hang]),
//! })
//! .await;
//! // ... subscribe to `url`, then:
//! assert_eq!(log.lock().unwrap()[1].header("last-event-id"), Some("1"));
//! # }
//! ```

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::{Stream, stream};
use tokio::sync::oneshot;

/// What the server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request method.
    pub method: Method,
    /// The request headers.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
    /// When the request arrived.
    pub at: Instant,
}

impl Seen {
    /// A header as text (`None` when absent); panics when it is not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a visible ASCII header"))
    }
}

/// The requests seen so far, in order.
pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Serves `script(attempt)` for every request to `/sse` (attempt counts from 0); returns the
/// URL and the request log.
pub async fn serve<F>(script: F) -> (String, Log)
where
    F: Fn(usize) -> Response + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let script = Arc::new(script);
    let app = Router::new().route(
        "/sse",
        any({
            let log = Arc::clone(&log);
            move |request: Request| async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .expect("a request body under 1 MiB");
                let attempt = {
                    let mut log = log.lock().expect("log lock");
                    log.push(Seen {
                        method: parts.method,
                        headers: parts.headers,
                        body,
                        at: Instant::now(),
                    });
                    log.len() - 1
                };
                script(attempt)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/sse"), log)
}

/// One step of a scripted response body.
#[derive(Debug)]
pub enum Part {
    /// Send these bytes as one chunk.
    Send(&'static str),
    /// Wait this long.
    Sleep(Duration),
    /// Abort the connection (the body stream fails).
    Fail,
    /// Never send anything again.
    Hang,
}

/// Sends `()` when dropped: tells the test the server side of a connection was closed.
#[derive(Debug)]
pub struct DropSignal(pub Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

fn body_stream(
    parts: Vec<Part>,
    guard: DropSignal,
) -> impl Stream<Item = io::Result<Bytes>> + Send {
    stream::unfold(
        (parts.into_iter(), guard),
        |(mut parts, guard)| async move {
            loop {
                match parts.next()? {
                    Part::Send(text) => {
                        return Some((Ok(Bytes::from_static(text.as_bytes())), (parts, guard)));
                    }
                    Part::Sleep(delay) => tokio::time::sleep(delay).await,
                    Part::Fail => {
                        // Let hyper flush what was sent before: it writes the head with the
                        // first chunks, and an error before that flush loses the whole response.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        return Some((Err(io::Error::other("cut")), (parts, guard)));
                    }
                    Part::Hang => std::future::pending::<()>().await,
                }
            }
        },
    )
}

/// A `text/event-stream` response whose body follows `parts`.
pub fn sse(parts: Vec<Part>) -> Response {
    sse_guarded(parts, DropSignal(None))
}

/// [`sse`], with `guard` dropped when the server side of the connection is closed.
pub fn sse_guarded(parts: Vec<Part>, guard: DropSignal) -> Response {
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(body_stream(parts, guard)),
    )
        .into_response()
}
