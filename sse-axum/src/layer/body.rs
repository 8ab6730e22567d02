//! The body of an event stream through [`SseLayer`](super::SseLayer): the handler's body,
//! ended cleanly when its time comes (the shutdown signal, at a random moment of the drain
//! window if there is one, or the end of its lifetime), holding its stream slot until dropped.
//!
//! Ending, whatever the reason, is one rule: pass on what the handler's body has ready at once
//! (at most [`MAX_FRAMES_WHEN_ENDING`] frames, so an ever-ready stream still ends), then the
//! closing frames (the final event and, with a drain window, a jittered `retry`), then the end.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::compress::Compressor;
use super::limit::StreamGuard;

/// When a stream ends, how many frames that are ready at once it still passes on before its
/// closing frames.
const MAX_FRAMES_WHEN_ENDING: usize = 64;

pin_project! {
    /// The response body of [`SseService`](super::SseService): the handler's body, for event
    /// streams wrapped to end on shutdown or at the end of their lifetime, or a refusal.
    pub struct ResponseBody<B> {
        #[pin]
        pub(super) kind: Kind<B>,
    }
}

/// Why an event stream ends before its handler's body does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// The shutdown signal (at this stream's moment of the drain window).
    Shutdown,
    /// The stream's lifetime is over.
    Lifetime,
}

/// What an event stream through the layer does besides passing its body on.
pub(super) struct Plan {
    /// The shutdown signal, while it has not fired.
    pub(super) shutdown: Option<WaitForCancellationFutureOwned>,
    /// The stream's moment within the drain window, once the signal fired.
    pub(super) drain: Option<std::time::Duration>,
    /// When the lifetime ends.
    pub(super) lifetime_ends: Option<Instant>,
    /// Sent when the stream ends on shutdown: the final event, then a jittered `retry`.
    pub(super) closing: Vec<Bytes>,
    /// The slot, given back when the body ends or is dropped.
    pub(super) guard: StreamGuard,
    /// Compresses every frame, flushed.
    pub(super) compressor: Option<Compressor>,
}

/// A compressor on its way through a stream: `None` once finished.
pub(super) struct Compressing(Option<Compressor>);

impl Compressing {
    /// The frame compressed; at the end of the stream, the compressor's trailer first.
    fn compressed<E>(
        &mut self,
        frame: Option<Result<Frame<Bytes>, E>>,
    ) -> Option<Result<Frame<Bytes>, E>> {
        let compressor = self.0.as_mut()?;
        match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => match compressor.compress(&data) {
                    Ok(bytes) => Some(Ok(Frame::data(bytes))),
                    Err(error) => {
                        let _ = &error; // only logged (feature `tracing`)
                        // A compressor writing into memory does not fail; should it, end the
                        // stream (the client reconnects) rather than send garbage.
                        crate::log::log!(error, %error, "cannot compress an event stream; ending it");
                        self.0 = None;
                        None
                    }
                },
                // Trailers pass as they are.
                Err(frame) => Some(Ok(frame)),
            },
            Some(Err(error)) => Some(Err(error)),
            None => {
                let trailer = self.0.take()?.finish().ok().filter(|b| !b.is_empty());
                trailer.map(|bytes| Ok(Frame::data(bytes)))
            }
        }
    }
}

pin_project! {
    #[project = KindProj]
    pub(super) enum Kind<B> {
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
            // The lifetime's end, then (once the signal fired) this stream's drain moment.
            #[pin]
            timer: Option<Sleep>,
            timer_ends: Option<Ending>,
            drain: Option<std::time::Duration>,
            ending: Option<Ending>,
            drained: usize,
            closing: Vec<Bytes>,
            guard: Option<StreamGuard>,
            compressor: Option<Compressing>,
            // The body ends early, gets more frames or is compressed: its size is not the
            // handler's.
            reshaped: bool,
        },
        Rejected {
            body: Option<Bytes>,
        },
    }
}

impl<B> Kind<B> {
    pub(super) fn event_stream(inner: B, plan: Plan) -> Self {
        let reshaped =
            plan.shutdown.is_some() || plan.lifetime_ends.is_some() || plan.compressor.is_some();
        Kind::EventStream {
            inner: Some(inner),
            shutdown: plan.shutdown,
            timer: plan.lifetime_ends.map(tokio::time::sleep_until),
            timer_ends: plan.lifetime_ends.map(|_| Ending::Lifetime),
            drain: plan.drain,
            ending: None,
            drained: 0,
            closing: plan.closing,
            guard: Some(plan.guard),
            compressor: plan.compressor.map(|c| Compressing(Some(c))),
            reshaped,
        }
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
                mut timer,
                timer_ends,
                drain,
                ending,
                drained,
                closing,
                guard,
                compressor,
                ..
            } => {
                let frame = 'frame: {
                    let Some(body) = inner.as_mut().as_pin_mut() else {
                        // Ended: the closing frames, one per poll, then the end.
                        break 'frame Poll::Ready(
                            (!closing.is_empty()).then(|| Ok(Frame::data(closing.remove(0)))),
                        );
                    };
                    if ending.is_none() {
                        let signalled = shutdown
                            .as_mut()
                            .as_pin_mut()
                            .is_some_and(|signal| signal.poll(cx).is_ready());
                        if signalled {
                            shutdown.set(None);
                            match drain {
                                // This stream's own moment of the window (unless its lifetime
                                // ends first).
                                Some(delay) => {
                                    let at = Instant::now() + *delay;
                                    let sooner = timer
                                        .as_ref()
                                        .as_pin_ref()
                                        .is_none_or(|timer| at < timer.deadline());
                                    if sooner {
                                        timer.set(Some(tokio::time::sleep_until(at)));
                                        *timer_ends = Some(Ending::Shutdown);
                                    }
                                }
                                None => *ending = Some(Ending::Shutdown),
                            }
                        }
                    }
                    if ending.is_none()
                        && let Some(sleep) = timer.as_mut().as_pin_mut()
                        && sleep.poll(cx).is_ready()
                    {
                        *ending = *timer_ends;
                        timer.set(None);
                    }
                    if ending.is_none() {
                        match ready!(body.poll_frame(cx)) {
                            Some(frame) => break 'frame Poll::Ready(Some(frame)),
                            None => closing.clear(), // the handler's own end: nothing to add
                        }
                    } else {
                        // Pass on what is ready at once, within a bound; then the closing
                        // frames.
                        if *drained < MAX_FRAMES_WHEN_ENDING
                            && let Poll::Ready(Some(frame)) = body.poll_frame(cx)
                        {
                            *drained += 1;
                            break 'frame Poll::Ready(Some(frame));
                        }
                        if *ending == Some(Ending::Lifetime) {
                            // A lifetime's end is routine, not a shutdown: no final event.
                            closing.clear();
                        }
                    }
                    inner.set(None);
                    guard.take();
                    Poll::Ready((!closing.is_empty()).then(|| Ok(Frame::data(closing.remove(0)))))
                };
                match compressor {
                    None => frame,
                    Some(compressor) => Poll::Ready(compressor.compressed(ready!(frame))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Passthrough { inner } => inner.is_end_stream(),
            Kind::Rejected { body } => body.is_none(),
            Kind::EventStream {
                inner,
                closing,
                compressor,
                ..
            } => {
                closing.is_empty()
                    && compressor.as_ref().is_none_or(|c| c.0.is_none())
                    && inner.as_ref().is_none_or(Body::is_end_stream)
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Passthrough { inner } => inner.size_hint(),
            Kind::Rejected { body } => {
                SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::EventStream {
                inner: Some(inner),
                reshaped: false,
                ..
            } => inner.size_hint(),
            // Ending early or adding closing frames: the size is unknown.
            Kind::EventStream { .. } => SizeHint::default(),
        }
    }
}
