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
        // Sent first, in the same frame as whatever events are ready at once.
        opening: Option<Bytes>,
        done: bool,
    }
}

/// The frame being built from the items that are ready: one chunk of encoded bytes passed on
/// without a copy, or a buffer the items are written into.
#[derive(Default)]
pub(super) struct Batch {
    /// A lone chunk of encoded bytes (only while `buf` is empty).
    whole: Option<Bytes>,
    buf: BytesMut,
}

impl SseBody {
    pub(super) fn new(frames: FrameSource, keep_alive: KeepAlive, opening: Option<Bytes>) -> Self {
        Self {
            frames,
            keep_alive_frame: keep_alive.frame,
            interval: keep_alive.interval,
            next_keep_alive: None,
            timer: None,
            ended: None,
            opening,
            done: false,
        }
    }
}

impl Batch {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.whole.as_ref().map_or(0, Bytes::len) + self.buf.len()
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

    /// Adds encoded bytes to the frame; false if they were empty.
    pub(super) fn push_bytes(&mut self, bytes: Bytes) -> bool {
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

    pub(super) fn into_frame(self) -> Option<Bytes> {
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
        let mut batch = Batch {
            whole: this.opening.take(),
            buf: BytesMut::new(),
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
