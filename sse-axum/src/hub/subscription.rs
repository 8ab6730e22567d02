//! [`Subscription`]: one subscriber's stream, and the [`Frame`]s it yields.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};

use super::EventId;
use super::backend::Replay;
use super::shared::Shared;
use super::subscriber::{Next, SubscriberInfo, SubscriberQueue};
use crate::SseStream;

/// A subscriber of a [`Hub`](super::Hub): first the reset event if it missed events, then
/// the replayed history, then live events, until the client goes away or the hub is closed.
///
/// - In an axum handler, return it: it is an [`IntoResponse`] (through [`SseStream`], with the
///   hub's keep-alive), or convert it with `SseStream::from(subscription)`.
/// - Anywhere else, read it as a [`Stream`] of [`Frame`]s: the encoded bytes, ready to write.
///
/// Dropping it removes the subscriber from the hub at once (counts, memory, the
/// [`on_unsubscribe`](super::HubBuilder::on_unsubscribe) hook). No task runs for it: the
/// publisher pushes into its queue and wakes whoever polls it.
///
/// ```
/// use futures_util::StreamExt as _;
/// use sse_axum::Event;
/// use sse_axum::hub::{FrameKind, Hub, Subscribe};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sse_axum::hub::HubError> {
/// let hub = Hub::new();
/// let mut subscription = hub.subscribe(Subscribe::new(["news"])).await?;
/// let id = hub.publish("news", Event::new().data("hello")).await?;
///
/// let frame = subscription.next().await.unwrap();
/// assert_eq!(frame.kind(), FrameKind::Live);
/// assert_eq!(frame.id(), Some(id));
/// assert_eq!(frame.bytes(), format!("id: {id}\ndata: hello\n\n").as_bytes());
///
/// hub.close();
/// assert!(subscription.next().await.is_none());
/// # Ok(()) }
/// ```
#[must_use = "a subscription receives nothing unless it is polled or returned as a response"]
pub struct Subscription {
    queue: Arc<SubscriberQueue>,
    hub: Arc<Shared>,
    reset_first: bool,
    replay: std::vec::IntoIter<(EventId, Bytes)>,
    /// Live frames up to this id are already covered (replayed, or seen by the client): they
    /// were queued while a shared backend's history was being read. `None` once passed.
    skip_through: Option<EventId>,
    /// The replayed frames that are a topic's final one.
    finals: Vec<EventId>,
    /// How many of its topics have finished: at all of them, the stream ends.
    ended: usize,
    /// The frame just handed out was the last topic's final one.
    end_next: bool,
    done: bool,
}

/// One item of a [`Subscription`]: one or more encoded events, exactly as written to the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    kind: FrameKind,
    id: Option<EventId>,
    bytes: Bytes,
}

/// Where a [`Frame`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameKind {
    /// The hub's reset event: the subscriber missed events.
    Reset,
    /// An event from the history, sent because the subscriber resumed.
    Replayed,
    /// An event published after the subscriber joined.
    Live,
}

impl Frame {
    /// Where the frame comes from.
    #[must_use]
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The id the hub gave the event(s); `None` for the reset event.
    #[must_use]
    pub fn id(&self) -> Option<EventId> {
        self.id
    }

    /// The encoded event(s), shared with every other subscriber.
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The encoded event(s).
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }
}

impl Subscription {
    /// A subscriber that receives live frames only (until [`resume`](Self::resume)).
    pub(crate) fn new(queue: Arc<SubscriberQueue>, hub: Arc<Shared>) -> Self {
        Self {
            queue,
            hub,
            reset_first: false,
            replay: Vec::new().into_iter(),
            skip_through: None,
            finals: Vec::new(),
            ended: 0,
            end_next: false,
            done: false,
        }
    }

    /// Sets what a subscriber registered before its history was read receives first: the
    /// reset event if it could not resume exactly, then the history, then the live frames
    /// newer than the horizon (the newest id the history read could see; older live frames
    /// are dropped as duplicates).
    pub(super) fn resume(&mut self, replay: Replay) {
        self.reset_first = replay.reset;
        self.replay = replay.entries.into_iter();
        self.skip_through = replay.horizon;
        self.finals = replay.finals;
        self.ended = replay.ended;
    }

    /// Whether every topic has finished and nothing is left to replay: the subscriber would
    /// get nothing at all ([`HubError::Finished`](super::HubError::Finished)).
    pub(super) fn is_over(&self) -> bool {
        self.ended >= self.info().topics().len() && self.replay.len() == 0
    }

    /// Counts a final frame just handed out; after the last topic's, the stream ends.
    fn finished_one(&mut self) {
        self.ended += 1;
        if self.ended >= self.info().topics().len() {
            self.end_next = true;
        }
    }

    pub(super) fn queue(&self) -> &Arc<SubscriberQueue> {
        &self.queue
    }

    /// Who subscribed: the id, the topics and the `Last-Event-ID` resumed after.
    #[must_use]
    pub fn info(&self) -> &SubscriberInfo {
        self.queue.info()
    }

    fn frame(&self, kind: FrameKind, id: EventId, bytes: Bytes) -> Frame {
        self.queue.count_delivered(&self.hub.counters.delivered);
        crate::metrics::delivered(kind == FrameKind::Replayed);
        Frame {
            kind,
            id: Some(id),
            bytes,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        // Let go of the history now rather than when the response is dropped.
        self.replay = Vec::new().into_iter();
    }

    fn reset_frame(&self) -> Frame {
        Frame {
            kind: FrameKind::Reset,
            id: None,
            bytes: self.hub.config.reset_frame.clone(),
        }
    }
}

impl Stream for Subscription {
    type Item = Frame;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        if std::mem::take(&mut this.end_next) {
            this.finish();
        }
        if this.done {
            return Poll::Ready(None);
        }
        if std::mem::take(&mut this.reset_first) {
            crate::metrics::reset("resume");
            return Poll::Ready(Some(this.reset_frame()));
        }
        // History first: every live event queued meanwhile is newer than all of it.
        if let Some((id, bytes)) = this.replay.next() {
            if this.finals.contains(&id) {
                this.finished_one();
            }
            return Poll::Ready(Some(this.frame(FrameKind::Replayed, id, bytes)));
        }
        loop {
            match this.queue.poll_next(cx) {
                Poll::Ready(Next::Gap) => {
                    // Frames were dropped before the next queued one. When that one is still
                    // covered by the replay, so were the (older) dropped ones: nothing missed.
                    let covered = this
                        .skip_through
                        .is_some_and(|skip| this.queue.front_id().is_some_and(|id| id <= skip));
                    if !covered {
                        crate::metrics::reset("dropped");
                        return Poll::Ready(Some(this.reset_frame()));
                    }
                }
                Poll::Ready(Next::Reset) => {
                    crate::metrics::reset("backend");
                    return Poll::Ready(Some(this.reset_frame()));
                }
                Poll::Ready(Next::Frame(id, bytes)) => {
                    if let Some(skip) = this.skip_through {
                        if id <= skip {
                            continue;
                        }
                        this.skip_through = None;
                    }
                    return Poll::Ready(Some(this.frame(FrameKind::Live, id, bytes)));
                }
                Poll::Ready(Next::Final(id, bytes)) => {
                    if this.skip_through.is_some_and(|skip| id <= skip) {
                        continue; // replayed already, and counted there
                    }
                    this.skip_through = None;
                    this.finished_one();
                    return Poll::Ready(Some(this.frame(FrameKind::Live, id, bytes)));
                }
                Poll::Ready(Next::End) => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.replay.len() + usize::from(self.reset_first), None)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.queue);
    }
}

impl From<Subscription> for SseStream {
    /// The subscription as a response body, with the hub's keep-alive.
    fn from(subscription: Subscription) -> Self {
        let keep_alive = subscription.hub.config.keep_alive.clone();
        SseStream::from_frames(subscription.map(Frame::into_bytes)).keep_alive(keep_alive)
    }
}

impl IntoResponse for Subscription {
    fn into_response(self) -> Response {
        SseStream::from(self).into_response()
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("info", self.info())
            .field("reset_first", &self.reset_first)
            .field("replay_left", &self.replay.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}
