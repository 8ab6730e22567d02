//! The response body of an [`SseStream`](super::SseStream): passes ready frames on as they
//! come, joins the events that are ready together into one frame, and writes keep-alive
//! comments during silence.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::BoxError;
use bytes::{Bytes, BytesMut};
use http_body::Frame;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::{FrameSource, KeepAlive, Stop};

pin_project! {
    /// The response body: passes frames on and adds keep-alive comments during silence.
    pub(super) struct SseBody {
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
        // Sent first, in the same frame as whatever events are ready with it: the opening
        // comment, then a large event that did not join the frame before.
        next: Option<Bytes>,
        done: bool,
    }
}

/// The frame being built from the items that are ready: one chunk of encoded bytes passed on
/// without a copy, or a buffer the items are written into.
///
/// A chunk of [`ALONE`] bytes or more is never copied into the buffer: it is a frame of its
/// own, so a large event (or a hub frame shared by many streams) reaches hyper in the buffer it
/// was built in. Small events are joined, so a burst costs one chunk of the body, not one each.
#[derive(Default)]
pub(super) struct Batch {
    /// A lone chunk of encoded bytes (only while `buf` is empty).
    whole: Option<Bytes>,
    buf: BytesMut,
    /// A large chunk that came after others: the first of the next frame.
    carried: Option<Bytes>,
}

/// Encoded bytes of at least this length travel as a frame of their own (see [`Batch`]).
/// Below it, copying into the shared frame costs less than one more chunk through hyper.
pub(super) const ALONE: usize = 2048;

impl SseBody {
    pub(super) fn new(frames: FrameSource, keep_alive: KeepAlive, opening: Option<Bytes>) -> Self {
        Self {
            frames,
            keep_alive_frame: keep_alive.frame,
            interval: keep_alive.interval,
            next_keep_alive: None,
            timer: None,
            ended: None,
            next: opening,
            done: false,
        }
    }
}

impl Batch {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.whole.as_ref().map_or(0, Bytes::len) + self.buf.len()
    }

    /// Whether the frame takes no more items: it holds [`MAX_BATCH`](super::MAX_BATCH) bytes,
    /// or a large chunk (alone), or the next one is waiting.
    #[inline]
    pub(super) fn is_full(&self) -> bool {
        self.carried.is_some()
            || self
                .whole
                .as_ref()
                .is_some_and(|whole| whole.len() >= ALONE)
            || self.len() >= super::MAX_BATCH
    }

    /// The buffer to encode events into.
    #[inline]
    pub(super) fn events_buf(&mut self) -> &mut BytesMut {
        self.buf_with_room(0)
    }

    /// The buffer, holding the lone chunk if there was one, with room for `additional` bytes
    /// more than that chunk.
    #[inline]
    pub(super) fn buf_with_room(&mut self, additional: usize) -> &mut BytesMut {
        if let Some(whole) = self.whole.take() {
            self.buf.reserve(whole.len() + additional);
            self.buf.extend_from_slice(&whole);
        }
        &mut self.buf
    }

    /// Adds encoded bytes to the frame (or, when they are large and the frame holds others
    /// already, to the next one); false if they were empty.
    pub(super) fn push_bytes(&mut self, bytes: Bytes) -> bool {
        if bytes.is_empty() {
            return false;
        }
        if self.whole.is_none() && self.buf.is_empty() {
            self.whole = Some(bytes);
        } else if bytes.len() >= ALONE {
            self.carried = Some(bytes);
        } else {
            self.buf_with_room(bytes.len()).extend_from_slice(&bytes);
        }
        true
    }

    /// The frame, and the chunk that starts the next one.
    pub(super) fn into_frame(self) -> (Option<Bytes>, Option<Bytes>) {
        let frame = match self.whole {
            Some(whole) => Some(whole),
            None if self.buf.is_empty() => None,
            None => Some(self.buf.freeze()),
        };
        (frame, self.carried)
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
        let mut batch = Batch {
            whole: this.next.take(),
            ..Batch::default()
        };
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
        // A chunk is carried only when the source stopped for it (`Stop::Full`), never together
        // with its end, so `next` is always sent before `ended`.
        let (frame, carried) = batch.into_frame();
        *this.next = carried;
        if let Some(frame) = frame {
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
