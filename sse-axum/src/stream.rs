//! [`SseStream`], the `text/event-stream` responder; [`EventSender`], the sending half of
//! [`SseStream::channel`]; and [`KeepAlive`].
//!
//! The response body only passes on ready-made [`Bytes`]: each [`Event`] is encoded exactly once
//! as it leaves the user's stream or the channel, and every frame is handed to hyper as soon as
//! it exists, so it reaches the socket without waiting for more. Events that are ready together
//! are written into one frame (up to [`MAX_BATCH`] bytes): a burst costs one buffer and one
//! chunk of the HTTP body instead of one per event, and nothing ever waits for a batch to fill.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    BoxError,
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use futures_util::stream::Stream;
use http::{HeaderValue, header};
use http_body::Frame;
use pin_project_lite::pin_project;
use tokio::{
    sync::mpsc,
    time::{Instant, Sleep},
};
use tokio_stream::wrappers::ReceiverStream;

use crate::Event;

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
    while batch.len() < MAX_BATCH {
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
            Ok(item.into_event()?.encode_into(batch.events_buf()))
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
/// `Cache-Control: no-cache`, `X-Accel-Buffering: no` (so nginx does not buffer it) and no
/// `Content-Length`, whose body sends each event as soon as it is produced.
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
}

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
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

impl IntoResponse for SseStream {
    fn into_response(self) -> Response {
        let body = SseBody {
            frames: self.frames,
            keep_alive_frame: self.keep_alive.frame,
            interval: self.keep_alive.interval,
            next_keep_alive: None,
            timer: None,
            ended: None,
            done: false,
        };
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/event-stream"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
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

pin_project! {
    /// The response body: passes frames on and adds keep-alive comments during silence.
    struct SseBody {
        frames: FrameSource,
        keep_alive_frame: Bytes,
        interval: Option<Duration>,
        // When the next keep-alive is due; moved forward by every frame without touching the
        // timer, which is only re-armed when it fires.
        next_keep_alive: Option<Instant>,
        #[pin]
        timer: Option<Sleep>,
        // The frame source ended (with an error or not) after the events of the frame just
        // returned: what to return next.
        ended: Option<Option<BoxError>>,
        done: bool,
    }
}

/// The frame being built from the items that are ready: one chunk of encoded bytes passed on
/// without a copy, or a buffer the items are written into.
#[derive(Default)]
struct Batch {
    /// A lone chunk of encoded bytes (only while `buf` is empty).
    whole: Option<Bytes>,
    buf: BytesMut,
}

impl Batch {
    #[inline]
    fn len(&self) -> usize {
        self.whole.as_ref().map_or(0, Bytes::len) + self.buf.len()
    }

    /// The buffer to encode events into.
    #[inline]
    fn events_buf(&mut self) -> &mut BytesMut {
        self.buf_with_room(0)
    }

    /// The buffer, holding the lone chunk if there was one, with room for `additional` bytes
    /// more than that chunk.
    #[inline]
    fn buf_with_room(&mut self, additional: usize) -> &mut BytesMut {
        if let Some(whole) = self.whole.take() {
            self.buf.reserve(whole.len() + additional);
            self.buf.extend_from_slice(&whole);
        }
        &mut self.buf
    }

    /// Adds encoded bytes to the frame; false if they were empty.
    fn push_bytes(&mut self, bytes: Bytes) -> bool {
        if bytes.is_empty() {
            return false;
        }
        if self.whole.is_none() && self.buf.is_empty() {
            self.whole = Some(bytes);
            return true;
        }
        self.buf_with_room(bytes.len()).extend_from_slice(&bytes);
        true
    }

    fn into_frame(self) -> Option<Bytes> {
        match self.whole {
            Some(whole) => Some(whole),
            None if self.buf.is_empty() => None,
            None => Some(self.buf.freeze()),
        }
    }
}

impl http_body::Body for SseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Some(end) = this.ended.take() {
            *this.done = true;
            return Poll::Ready(end.map(Err));
        }
        // Everything that is ready now goes into one frame; nothing waits for more.
        let mut batch = Batch::default();
        let stop = this.frames.as_mut().fill(cx, &mut batch);
        let empty = batch.len() == 0;
        match stop {
            Stop::Full | Stop::Pending => {}
            Stop::Yield if empty => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Stop::Yield => {}
            Stop::End if empty => {
                *this.done = true;
                return Poll::Ready(None);
            }
            Stop::End => *this.ended = Some(None),
            Stop::Error(error) if empty => {
                *this.done = true;
                return Poll::Ready(Some(Err(error)));
            }
            Stop::Error(error) => *this.ended = Some(Some(error)),
        }
        if let Some(frame) = batch.into_frame() {
            if let Some(interval) = *this.interval {
                *this.next_keep_alive = Some(Instant::now() + interval);
            }
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }

        let Some(interval) = *this.interval else {
            return Poll::Pending;
        };
        let due = *this
            .next_keep_alive
            .get_or_insert_with(|| Instant::now() + interval);
        loop {
            let Some(mut timer) = this.timer.as_mut().as_pin_mut() else {
                this.timer.set(Some(tokio::time::sleep_until(due)));
                continue;
            };
            if timer.deadline() != due {
                timer.as_mut().reset(due);
            }
            if timer.poll(cx).is_pending() {
                return Poll::Pending;
            }
            *this.next_keep_alive = Some(Instant::now() + interval);
            return Poll::Ready(Some(Ok(Frame::data(this.keep_alive_frame.clone()))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

/// Keep-alive comments for an [`SseStream`]: after `interval` without any event, the stream
/// writes a comment, which clients ignore but proxies and load balancers see as traffic.
/// Every event sent restarts the interval.
///
/// Writing also tells the server when a client has gone: a write to a closed connection fails,
/// the response is dropped, and [`EventSender::send`] starts failing.
///
/// ```
/// use std::time::Duration;
/// use sse_axum::KeepAlive;
///
/// let default = KeepAlive::new(); // ":\n\n" after 15 s of silence
/// let custom = KeepAlive::new().interval(Duration::from_secs(5)).text("ping");
/// let off = KeepAlive::disabled();
/// # drop((default, custom, off));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use]
pub struct KeepAlive {
    interval: Option<Duration>,
    frame: Bytes,
}

impl KeepAlive {
    /// The default interval between keep-alive comments.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// Keep-alive with an empty comment (`:\n\n`) after 15 seconds of silence.
    pub fn new() -> Self {
        Self {
            interval: Some(Self::DEFAULT_INTERVAL),
            frame: Bytes::from_static(b":\n\n"),
        }
    }

    /// No keep-alive comments at all.
    pub fn disabled() -> Self {
        Self {
            interval: None,
            frame: Bytes::from_static(b":\n\n"),
        }
    }

    /// Sets the time without events after which a comment is sent. [`Duration::ZERO`] disables
    /// keep-alive (rather than flooding the connection).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = (!interval.is_zero()).then_some(interval);
        self
    }

    /// Sets the text of the keep-alive comment (empty by default). Text with line breaks becomes
    /// several comment lines, like [`Event::comment`]. The comment is encoded here, once.
    pub fn text(mut self, text: impl AsRef<str>) -> Self {
        self.frame = Event::new().comment(text).to_bytes();
        self
    }

    /// The interval, or `None` when keep-alive is disabled.
    pub fn interval_duration(&self) -> Option<Duration> {
        self.interval
    }
}

impl Default for KeepAlive {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAlive")
            .field("interval", &self.interval)
            .field("comment", &self.frame)
            .finish()
    }
}

/// The sending half of [`SseStream::channel`]. Cheap to clone; the stream ends when every clone
/// is dropped.
///
/// Each event is encoded when it is sent, so the response body only passes bytes on.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::Sender<Bytes>,
}

impl EventSender {
    /// Sends an event, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] (holding the event) once the response has been dropped, which happens when
    /// the client disconnects.
    pub async fn send(&self, event: Event) -> Result<(), SendError> {
        match self.tx.send(event.to_bytes()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(SendError { event }),
        }
    }

    /// Sends an event if there is room in the channel, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the channel is full (the client reads slower than events are
    /// produced) and [`TrySendError::Closed`] once the response has been dropped. Both hold the
    /// event.
    pub fn try_send(&self, event: Event) -> Result<(), TrySendError> {
        match self.tx.try_send(event.to_bytes()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(TrySendError::Full(event)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(TrySendError::Closed(event)),
        }
    }

    /// Resolves once the response has been dropped (the client disconnected, or the response was
    /// never sent). Useful with `tokio::select!` in a producer that waits for something else.
    ///
    /// An idle connection is noticed at the latest when the next keep-alive comment fails to
    /// be written.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + '_ {
        self.tx.closed()
    }

    /// Whether the response has been dropped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl fmt::Debug for EventSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The error of [`EventSender::send`]: the response is gone. Holds the event that was not sent.
#[derive(Debug)]
pub struct SendError {
    event: Event,
}

impl SendError {
    /// The event that was not sent.
    pub fn into_event(self) -> Event {
        self.event
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event stream is closed")
    }
}

impl std::error::Error for SendError {}

/// The error of [`EventSender::try_send`]. Holds the event that was not sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrySendError {
    /// The channel is full.
    Full(Event),
    /// The response is gone.
    Closed(Event),
}

impl TrySendError {
    /// The event that was not sent.
    pub fn into_event(self) -> Event {
        match self {
            Self::Full(event) | Self::Closed(event) => event,
        }
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the event stream's channel is full"),
            Self::Closed(_) => f.write_str("the event stream is closed"),
        }
    }
}

impl std::error::Error for TrySendError {}

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

    /// The body of `stream` without keep-alive, polled directly as hyper polls it.
    fn body(stream: SseStream) -> Body {
        stream
            .keep_alive(KeepAlive::disabled())
            .into_response()
            .into_body()
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
