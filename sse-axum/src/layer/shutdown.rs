//! The body of an event stream through [`SseLayer`](super::SseLayer): the handler's body,
//! ended cleanly when the shutdown signal fires (what is ready at once, then the final event),
//! holding its stream slot until dropped.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::limit::StreamGuard;

/// After the shutdown signal, how many frames that are ready at once an event stream still
/// passes on before its final event.
const MAX_FRAMES_AFTER_SHUTDOWN: usize = 64;

pin_project! {
    /// The response body of [`SseService`]: the handler's body, for event streams wrapped to
    /// end on shutdown, or the `503` message.
    pub struct ResponseBody<B> {
        #[pin]
        pub(super) kind: Kind<B>,
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
