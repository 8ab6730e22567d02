//! [`SseStream`], the `text/event-stream` responder; [`EventSender`], the sending half of
//! [`SseStream::channel`]; and [`KeepAlive`].
//!
//! The response body only passes on ready-made [`Bytes`]: each [`Event`] is encoded exactly once
//! as it leaves the user's stream or the channel, and every frame is handed to hyper as soon as
//! it exists, so it reaches the socket without waiting for more. Small events that are ready
//! together are written into one frame (up to [`MAX_BATCH`] bytes): a burst costs one buffer
//! and one chunk of the HTTP body instead of one per event, and nothing ever waits for a batch
//! to fill. A large event (2 KiB or more) is a frame of its own, in the buffer the event was
//! built in: it is never copied on its way to hyper.

mod body;
mod channel;
mod keep_alive;

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    BoxError,
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::stream::Stream;
use http::{HeaderValue, header};
use pin_project_lite::pin_project;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::Event;

pub use channel::{EventSender, SendError, TrySendError};
pub use keep_alive::KeepAlive;

use body::{Batch, SseBody};

/// How many empty frames (events without any field) the body skips in one poll before it yields
/// to the runtime, so a stream of empty events cannot monopolise a worker thread.
const MAX_EMPTY_FRAMES_PER_POLL: usize = 32;

/// Events ready at the same time are joined into one body frame of at most about this many
/// bytes (a frame is never delayed to fill it).
const MAX_BATCH: usize = 16 * 1024;

/// Where the body's frames come from. A source writes everything that is ready into the frame
/// being built, so the body makes one (dynamic) call per frame, not one per event, and each
/// event is built, encoded and dropped in one monomorphised loop.
trait Source: Send {
    /// Appends ready items to `batch` until it holds [`MAX_BATCH`] bytes or the source has
    /// nothing ready; says why it stopped.
    fn fill(self: Pin<&mut Self>, cx: &mut Context<'_>, batch: &mut Batch) -> Stop;
}

type FrameSource = Pin<Box<dyn Source>>;

/// Why [`Source::fill`] stopped.
enum Stop {
    /// The batch is full.
    Full,
    /// Nothing more is ready; the source will wake the task.
    Pending,
    /// Too many empty events in a row: give the runtime a turn before polling again.
    Yield,
    /// The source ended cleanly.
    End,
    /// The source ended with an error, which ends the response abruptly.
    Error(BoxError),
}

/// The loop every source shares: `push` adds one item to the batch (false if it was empty).
#[inline]
fn fill_from<S: Stream>(
    mut items: Pin<&mut S>,
    cx: &mut Context<'_>,
    batch: &mut Batch,
    mut push: impl FnMut(&mut Batch, S::Item) -> Result<bool, BoxError>,
) -> Stop {
    let mut skipped = 0;
    while !batch.is_full() {
        match items.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => match push(batch, item) {
                Ok(true) => {}
                Ok(false) => {
                    skipped += 1;
                    if skipped >= MAX_EMPTY_FRAMES_PER_POLL {
                        return Stop::Yield;
                    }
                }
                Err(error) => return Stop::Error(error),
            },
            Poll::Ready(None) => return Stop::End,
            Poll::Pending => return Stop::Pending,
        }
    }
    Stop::Full
}

/// An item an [`SseStream`] can be built from: an [`Event`], or a `Result<Event, E>` whose error
/// ends the response.
///
/// This trait is sealed: it is implemented for exactly these two shapes.
pub trait IntoSseItem: sealed::Sealed {
    /// The event, or the error that ends the stream.
    #[doc(hidden)]
    fn into_event(self) -> Result<Event, BoxError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Event {}
    impl<E> Sealed for Result<crate::Event, E> {}
}

impl IntoSseItem for Event {
    #[inline]
    fn into_event(self) -> Result<Event, BoxError> {
        Ok(self)
    }
}

impl<E> IntoSseItem for Result<Event, E>
where
    E: Into<BoxError>,
{
    #[inline]
    fn into_event(self) -> Result<Event, BoxError> {
        self.map_err(Into::into)
    }
}

pin_project! {
    /// A user's stream of events, encoded by the body into the frame being built.
    struct Events<S> {
        #[pin]
        items: S,
    }
}

impl<S> Source for Events<S>
where
    S: Stream + Send,
    S::Item: IntoSseItem,
{
    fn fill(self: Pin<&mut Self>, cx: &mut Context<'_>, batch: &mut Batch) -> Stop {
        fill_from(self.project().items, cx, batch, |batch, item| {
            // A large event leaves in the buffer it was built in; small ones are written into
            // the frame being built.
            match item.into_event()?.into_wire(body::ALONE) {
                Ok(wire) => Ok(batch.push_bytes(wire)),
                Err(event) => Ok(event.encode_into(batch.events_buf())),
            }
        })
    }
}

pin_project! {
    /// A stream of frames encoded already (one or more complete events each): channel, hub.
    struct Encoded<S> {
        #[pin]
        frames: S,
    }
}

impl<S> Source for Encoded<S>
where
    S: Stream<Item = Bytes> + Send,
{
    fn fill(self: Pin<&mut Self>, cx: &mut Context<'_>, batch: &mut Batch) -> Stop {
        fill_from(self.project().frames, cx, batch, |batch, bytes| {
            Ok(batch.push_bytes(bytes))
        })
    }
}

/// A Server-Sent Events response: `200 OK` with `Content-Type: text/event-stream`,
/// `Cache-Control: no-cache, no-transform` (no cache, no proxy that recompresses or rewrites
/// it), `X-Accel-Buffering: no` (so nginx does not buffer it) and no `Content-Length`, whose
/// body sends each event as soon as it is produced.
///
/// The body opens with an empty comment (`:\n\n`, which clients ignore), so the headers and the
/// first bytes leave at once: proxies that hold the headers until the first data (HTTP/2 ones
/// do) pass the stream on before the first event; [`opening`](SseStream::opening) changes it.
///
/// Keep-alive comments are on by default (every 15 seconds of silence, see [`KeepAlive`]); they
/// need the tokio timer, which `axum::serve` always has.
///
/// Build it from any [`Stream`] of [`Event`]s or `Result<Event, E>` with [`SseStream::new`], or
/// get a sender to push events into with [`SseStream::channel`]. An error item ends the response
/// abruptly (the client sees a broken connection, not a clean end, and reconnects); the end of
/// the stream ends the response cleanly.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use futures_util::{StreamExt as _, stream};
/// use sse_axum::{Event, KeepAlive, SseStream};
///
/// async fn handler() -> SseStream {
///     let events = stream::iter(["one", "two"]).map(|text| Event::new().data(text));
///     SseStream::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
/// }
/// let app: Router = Router::new().route("/sse", get(handler));
/// ```
#[must_use]
pub struct SseStream {
    frames: FrameSource,
    keep_alive: KeepAlive,
    opening: Option<Bytes>,
}

/// What a stream opens with unless told otherwise.
const OPENING: Bytes = Bytes::from_static(b":\n\n");

impl SseStream {
    /// Creates a response from a stream of [`Event`]s or of `Result<Event, E>`.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use futures_util::stream;
    /// use sse_axum::{Event, SseStream};
    ///
    /// let plain = SseStream::new(stream::iter([Event::new().data("hi")]));
    /// let fallible = SseStream::new(stream::iter([Ok::<_, Infallible>(Event::new().data("hi"))]));
    /// # drop((plain, fallible));
    /// ```
    pub fn new<S, T>(stream: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
        T: IntoSseItem,
    {
        Self {
            frames: Box::pin(Events { items: stream }),
            keep_alive: KeepAlive::new(),
            opening: Some(OPENING),
        }
    }

    /// Creates a response fed by an [`EventSender`] holding up to `capacity` events that were
    /// sent but not yet written (a `capacity` of 0 is treated as 1).
    ///
    /// The stream ends cleanly when every sender is dropped. When the client goes away the
    /// response is dropped and [`EventSender::send`] fails; [`EventSender::closed`] resolves, at
    /// the latest when the next write (an event or a keep-alive comment) fails.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use sse_axum::{Event, SseStream};
    ///
    /// async fn handler() -> SseStream {
    ///     let (sender, stream) = SseStream::channel(16);
    ///     tokio::spawn(async move {
    ///         for n in 0.. {
    ///             if sender.send(Event::new().data(n.to_string())).await.is_err() {
    ///                 break; // the client is gone
    ///             }
    ///             tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    ///         }
    ///     });
    ///     stream
    /// }
    /// let app: Router = Router::new().route("/sse", get(handler));
    /// ```
    pub fn channel(capacity: usize) -> (EventSender, SseStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            EventSender { tx },
            Self::from_frames(ReceiverStream::new(rx)),
        )
    }

    /// Creates a response from frames that are already encoded (each one or more complete
    /// events, as produced by [`Event::to_bytes`]).
    #[allow(dead_code)] // used by the hub
    pub(crate) fn from_frames<S>(frames: S) -> Self
    where
        S: Stream<Item = Bytes> + Send + 'static,
    {
        Self {
            frames: Box::pin(Encoded { frames }),
            keep_alive: KeepAlive::new(),
            opening: Some(OPENING),
        }
    }

    /// Sets the keep-alive behaviour (the default is [`KeepAlive::new`]: an empty comment after
    /// 15 seconds without an event).
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::stream;
    /// use sse_axum::{Event, KeepAlive, SseStream};
    ///
    /// let events = stream::iter([Event::new().data("hi")]);
    /// let quiet = SseStream::new(events).keep_alive(KeepAlive::disabled());
    /// # drop(quiet);
    /// ```
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// What the body opens with, sent together with the headers before any event: an event
    /// (a comment, or a `retry` for the client), or `None` for nothing (the headers then leave
    /// with the first event). The default is an empty comment.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::stream;
    /// use sse_axum::{Event, SseStream};
    ///
    /// let events = stream::iter([Event::new().data("hi")]);
    /// let stream = SseStream::new(events).opening(Some(Event::new().retry(Duration::from_secs(2))));
    /// # drop(stream);
    /// ```
    pub fn opening(mut self, opening: Option<Event>) -> Self {
        self.opening = opening
            .map(|event| event.to_bytes())
            .filter(|bytes| !bytes.is_empty());
        self
    }
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("keep_alive", &self.keep_alive)
            .field("opening", &self.opening)
            .finish_non_exhaustive()
    }
}

impl IntoResponse for SseStream {
    fn into_response(self) -> Response {
        let body = SseBody::new(self.frames, self.keep_alive, self.opening);
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache, no-transform"),
                ),
                (
                    header::HeaderName::from_static("x-accel-buffering"),
                    HeaderValue::from_static("no"),
                ),
            ],
            Body::new(body),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };
    use std::task::{Wake, Waker};

    use futures_util::stream;
    use http_body::Body as _;

    use super::*;

    /// Counts the wake-ups the body asks for.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The body of `stream` without keep-alive and opening comment, polled directly as hyper
    /// polls it.
    fn body(stream: SseStream) -> Body {
        stream
            .keep_alive(KeepAlive::disabled())
            .opening(None)
            .into_response()
            .into_body()
    }

    #[test]
    fn the_opening_comment_comes_at_once_and_shares_a_frame_with_ready_events() {
        let waker = Waker::from(Arc::new(CountingWaker(AtomicUsize::new(0))));
        let (tx, rx) = mpsc::channel(4);
        let stream =
            SseStream::from_frames(ReceiverStream::new(rx)).keep_alive(KeepAlive::disabled());
        let mut body = stream.into_response().into_body();
        assert_eq!(poll(&mut body, &waker), Poll::Ready(Some(Ok(OPENING))));
        assert_eq!(poll(&mut body, &waker), Poll::Pending);

        let (tx2, rx2) = mpsc::channel(4);
        tx2.try_send(Bytes::from_static(b"data: a\n\n")).unwrap();
        let stream =
            SseStream::from_frames(ReceiverStream::new(rx2)).keep_alive(KeepAlive::disabled());
        let mut body = stream.into_response().into_body();
        assert_eq!(
            poll(&mut body, &waker),
            Poll::Ready(Some(Ok(Bytes::from_static(b":\n\ndata: a\n\n"))))
        );
        drop((tx, tx2));
    }

    /// One poll: a data frame, an error, the end (`None`) or pending.
    fn poll(body: &mut Body, waker: &Waker) -> Poll<Option<Result<Bytes, String>>> {
        let mut cx = Context::from_waker(waker);
        Pin::new(body).poll_frame(&mut cx).map(|frame| {
            frame.map(|frame| match frame {
                Ok(frame) => frame.into_data().map_err(|_| "not data".to_owned()),
                Err(error) => Err(error.to_string()),
            })
        })
    }

    #[test]
    fn ready_events_share_frames_of_at_most_the_batch_size() {
        let events = (0..2000).map(|n| Event::new().data(format!("{n:055}")));
        let mut body = body(SseStream::new(stream::iter(events)));
        let event_len = "data: \n\n".len() + 55;
        let mut frames = Vec::new();
        while let Poll::Ready(Some(frame)) = poll(&mut body, Waker::noop()) {
            frames.push(frame.unwrap());
        }
        let all: Vec<u8> = frames.iter().flat_map(|frame| frame.to_vec()).collect();
        let expected: String = (0..2000).map(|n| format!("data: {n:055}\n\n")).collect();
        assert_eq!(all, expected.as_bytes());
        // A frame takes events until it holds MAX_BATCH bytes.
        let per_frame = MAX_BATCH.div_ceil(event_len);
        assert_eq!(frames.len(), 2000_usize.div_ceil(per_frame));
        for frame in &frames[..frames.len() - 1] {
            assert!((MAX_BATCH..MAX_BATCH + event_len).contains(&frame.len()));
        }
        assert!(body.is_end_stream());
    }

    #[test]
    fn large_events_are_frames_of_their_own_and_small_ones_share_frames() {
        let line = "x".repeat(body::ALONE);
        let lines = format!("{line}\n{line}");
        let items = [
            Event::new().data("a"),
            Event::new().data(&line),
            Event::new().data("b"),
            Event::new().data("c"),
            Event::new().id(7_u64).data(&lines),
            Event::new().data("d"),
        ];
        let expected: Vec<Bytes> = items.iter().map(Event::to_bytes).collect();
        let mut body = body(SseStream::new(stream::iter(items)));
        let mut frames = Vec::new();
        while let Poll::Ready(Some(frame)) = poll(&mut body, Waker::noop()) {
            frames.push(frame.unwrap());
        }
        let joined = |range: std::ops::Range<usize>| expected[range].concat();
        assert_eq!(
            frames,
            [
                expected[0].clone(),
                expected[1].clone(),
                Bytes::from(joined(2..4)),
                expected[4].clone(),
                expected[5].clone(),
            ]
        );
    }

    #[test]
    fn a_large_encoded_frame_is_passed_on_without_a_copy_after_small_ones() {
        let big = Event::new().data("y".repeat(body::ALONE)).to_bytes();
        let (tx, rx) = mpsc::channel(8);
        for frame in [
            Bytes::from("data: a\n\n"),
            Bytes::from("data: b\n\n"),
            big.clone(),
            Bytes::from("data: c\n\n"),
        ] {
            tx.try_send(frame).unwrap();
        }
        drop(tx);
        let mut body = body(SseStream::from_frames(ReceiverStream::new(rx)));
        let waker = Waker::noop();
        assert_eq!(
            poll(&mut body, waker),
            Poll::Ready(Some(Ok(Bytes::from("data: a\n\ndata: b\n\n"))))
        );
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body, waker) else {
            panic!("no frame");
        };
        assert_eq!(frame.as_ptr(), big.as_ptr());
        assert_eq!(
            poll(&mut body, waker),
            Poll::Ready(Some(Ok(Bytes::from("data: c\n\n"))))
        );
        assert_eq!(poll(&mut body, waker), Poll::Ready(None));
    }

    #[test]
    fn an_error_after_ready_events_comes_after_their_frame() {
        let items = stream::iter([
            Ok(Event::new().data("a")),
            Ok(Event::new().data("b")),
            Err(std::io::Error::other("backend failed")),
            Ok(Event::new().data("never sent")),
        ]);
        let mut body = body(SseStream::new(items));
        let waker = Waker::noop();
        assert_eq!(
            poll(&mut body, waker),
            Poll::Ready(Some(Ok(Bytes::from("data: a\n\ndata: b\n\n"))))
        );
        assert_eq!(
            poll(&mut body, waker),
            Poll::Ready(Some(Err("backend failed".to_owned())))
        );
        assert_eq!(poll(&mut body, waker), Poll::Ready(None));
        assert!(body.is_end_stream());
    }

    #[test]
    fn a_run_of_empty_events_yields_to_the_runtime_and_then_goes_on() {
        let events = std::iter::repeat_with(Event::new)
            .take(MAX_EMPTY_FRAMES_PER_POLL * 2 + 1)
            .chain([Event::new().data("x")]);
        let mut body = body(SseStream::new(stream::iter(events)));
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        assert_eq!(poll(&mut body, &waker), Poll::Pending);
        assert_eq!(poll(&mut body, &waker), Poll::Pending);
        // Woken by the body itself each time: nothing else would poll it again.
        assert_eq!(counter.0.load(Ordering::Relaxed), 2);
        assert_eq!(
            poll(&mut body, &waker),
            Poll::Ready(Some(Ok(Bytes::from("data: x\n\n"))))
        );
        assert_eq!(poll(&mut body, &waker), Poll::Ready(None));
    }

    #[test]
    fn encoded_frames_pass_through_alone_and_are_joined_when_ready_together() {
        let first = Event::new().data("one").to_bytes();
        let (tx, rx) = mpsc::channel(8);
        let mut body = body(SseStream::from_frames(ReceiverStream::new(rx)));
        let waker = Waker::noop();
        assert_eq!(poll(&mut body, waker), Poll::Pending);
        tx.try_send(first.clone()).unwrap();
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body, waker) else {
            panic!("no frame");
        };
        // The very same bytes, not a copy.
        assert_eq!(frame.as_ptr(), first.as_ptr());
        tx.try_send(Bytes::new()).unwrap();
        tx.try_send(Bytes::from("data: two\n\n")).unwrap();
        tx.try_send(Bytes::from("data: three\n\n")).unwrap();
        drop(tx);
        assert_eq!(
            poll(&mut body, waker),
            Poll::Ready(Some(Ok(Bytes::from("data: two\n\ndata: three\n\n"))))
        );
        assert_eq!(poll(&mut body, waker), Poll::Ready(None));
    }
}
