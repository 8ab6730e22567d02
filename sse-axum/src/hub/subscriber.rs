//! One subscriber as the hub sees it: [`SubscriberInfo`] and the bounded queue the publisher
//! pushes into ([`SubscriberQueue`]).

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{EventId, SlowConsumerPolicy};

/// Who subscribed: given to the [`on_subscribe`](super::HubBuilder::on_subscribe) and
/// [`on_unsubscribe`](super::HubBuilder::on_unsubscribe) hooks and by
/// [`Subscription::info`](super::Subscription::info).
///
/// ```
/// use sse_axum::hub::{Hub, Subscribe};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sse_axum::hub::HubError> {
/// let hub = Hub::builder()
///     .on_subscribe(|info| println!("subscriber {} joined {:?}", info.id(), info.topics()))
///     .on_unsubscribe(|info| println!("subscriber {} left", info.id()))
///     .build();
/// let subscription = hub.subscribe(Subscribe::new(["broadcast", "user:alice"])).await?;
/// assert_eq!(subscription.info().topics(), ["broadcast", "user:alice"]);
/// assert_eq!(subscription.info().last_event_id(), None);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberInfo {
    id: u64,
    topics: Box<[String]>,
    last_event_id: Option<EventId>,
}

impl SubscriberInfo {
    pub(crate) fn new(id: u64, topics: Box<[String]>, last_event_id: Option<EventId>) -> Self {
        Self {
            id,
            topics,
            last_event_id,
        }
    }

    /// A number that identifies the subscription within its hub (never reused).
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The topics subscribed to, in the order given, without duplicates.
    #[must_use]
    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    /// The id the subscriber resumed after, if it gave one.
    #[must_use]
    pub fn last_event_id(&self) -> Option<EventId> {
        self.last_event_id
    }
}

/// The result of offering a frame to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Queued.
    Queued,
    /// Queued after dropping the oldest queued frame (the count of dropped frames is 1).
    DroppedOldest,
    /// The queue was full and the policy is to disconnect: the subscriber is ended and its
    /// queue discarded; the value is the number of frames discarded, the offered one included.
    Disconnected(usize),
    /// The subscriber had taken nothing for longer than the stall timeout while frames were
    /// waiting: it is ended and its queue discarded; the value is the number of frames
    /// discarded, the offered one included.
    Stalled(usize),
    /// The subscriber had already ended; nothing was queued.
    Ended,
}

/// How a subscriber's stream ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The hub was closed: deliver what is queued, then end.
    Drain,
    /// Disconnected as a slow consumer: end now.
    Now,
}

/// What the subscriber's stream gets from its queue on a poll.
#[derive(Debug)]
pub(crate) enum Next {
    /// Events were dropped before the next queued frame: send the reset event first.
    Gap,
    /// The subscriber may have missed events for another reason (the shared backend lost its
    /// history): send the reset event now.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Reset,
    /// The next live frame.
    Frame(EventId, Bytes),
    /// A topic's final frame ([`Hub::finish`](super::Hub::finish)).
    Final(EventId, Bytes),
    /// The stream is over.
    End,
}

/// The bounded queue between the publisher and one subscriber's stream.
///
/// Shared (in an `Arc`) by the hub's registry, which pushes, and the subscription, which pops.
/// The oldest queued frame is kept inline, next to the lock: a subscriber that keeps up (one
/// frame queued at a time, the common case) never allocates, and a publish touches one piece
/// of the subscriber's memory, not two. The queue gives the memory of a backlog back when
/// drained, so an idle subscriber costs a few dozen bytes here.
pub(crate) struct SubscriberQueue {
    state: Mutex<QueueState>,
    /// Frames handed to the subscriber's stream, counted here rather than in one hub-wide
    /// counter so that deliveries on different threads never write the same memory; the hub
    /// adds the counts up (see [`SubscriberQueue::retire`]). [`RETIRED`] is set once the
    /// count has been moved to the hub.
    delivered: AtomicU64,
    info: SubscriberInfo,
}

/// The bit of [`SubscriberQueue::delivered`] that says the count was moved to the hub.
const RETIRED: u64 = 1 << 63;

#[derive(Default)]
struct QueueState {
    frames: Frames,
    /// Frames were dropped since the subscriber last read: the reset event is due.
    gap: bool,
    /// The reset event is due whatever comes next (see [`SubscriberQueue::force_reset`]).
    reset: bool,
    end: Option<End>,
    waker: Option<Waker>,
    /// Since when frames have waited without the subscriber taking one (as seen by the
    /// offers; see [`SubscriberQueue::offer_at`]).
    waiting_since: Option<Instant>,
    /// The subscriber took a frame since the last offer.
    progress: bool,
}

/// A drained queue that grew past this many slots gives its memory back.
const SHRINK_ABOVE: usize = 16;

/// The queued frames, oldest first: the oldest one inline, the others (a backlog) in a ring
/// that is only allocated when a subscriber falls behind.
#[derive(Default)]
struct Frames {
    /// The oldest frame; `None` only when `rest` is empty too.
    first: Option<Queued>,
    rest: VecDeque<Queued>,
}

/// A queued frame: its id, its bytes, whether it is its topic's final one, and (for the
/// delivery histogram of feature `metrics`) when it was queued.
type Queued = (EventId, Bytes, bool, Stamp);

#[cfg(feature = "metrics")]
type Stamp = Instant;
#[cfg(not(feature = "metrics"))]
type Stamp = ();

#[cfg(feature = "metrics")]
fn stamp() -> Stamp {
    Instant::now()
}

#[cfg(not(feature = "metrics"))]
fn stamp() -> Stamp {}

#[cfg(feature = "metrics")]
fn record_wait(queued: Stamp) {
    crate::metrics::delivery_latency(queued.elapsed());
}

#[cfg(not(feature = "metrics"))]
fn record_wait((): Stamp) {}

impl Frames {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn push_back(&mut self, frame: Queued) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.rest.push_back(frame);
        }
    }

    fn pop_front(&mut self) -> Option<Queued> {
        let first = self.first.take()?;
        if !self.rest.is_empty() {
            self.first = self.rest.pop_front();
            if self.rest.is_empty() && self.rest.capacity() > SHRINK_ABOVE {
                self.rest = VecDeque::new();
            }
        }
        Some(first)
    }

    fn front_id(&self) -> Option<EventId> {
        self.first.as_ref().map(|(id, ..)| *id)
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

impl SubscriberQueue {
    pub(crate) fn new(info: SubscriberInfo) -> Self {
        Self {
            state: Mutex::new(QueueState::default()),
            delivered: AtomicU64::new(0),
            info,
        }
    }

    pub(crate) fn info(&self) -> &SubscriberInfo {
        &self.info
    }

    /// Counts one frame handed to the subscriber's stream; once the queue is retired, into
    /// `hub` instead.
    pub(crate) fn count_delivered(&self, hub: &AtomicU64) {
        if self.delivered.fetch_add(1, Ordering::Relaxed) & RETIRED != 0 {
            hub.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The frames counted so far, while the queue is registered.
    pub(crate) fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed) & !RETIRED
    }

    /// Called when the subscriber leaves the registry: returns its count, for the hub to keep,
    /// and makes later deliveries count in the hub's counter (exactly once each: a delivery
    /// either precedes this and is in the returned count, or sees the mark). Later calls
    /// return 0.
    pub(crate) fn retire(&self) -> u64 {
        let count = self.delivered.fetch_or(RETIRED, Ordering::Relaxed);
        if count & RETIRED == 0 { count } else { 0 }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // Nothing panics while holding this lock; if something ever did, the queue is still
        // consistent (every update is a single push or pop), so carry on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers a frame without ever waiting; `capacity` is at least 1.
    #[cfg(test)]
    pub(crate) fn offer(
        &self,
        id: EventId,
        frame: &Bytes,
        capacity: usize,
        policy: SlowConsumerPolicy,
    ) -> Offer {
        self.offer_at(id, frame, false, capacity, policy, None)
    }

    /// Offers a frame (`last`: its topic's final one) without ever waiting; `capacity` is at
    /// least 1. With `stall`, the
    /// timeout and the time now: a subscriber that has frames waiting and has taken none
    /// since an offer longer ago than the timeout is ended instead, whatever the policy (a
    /// reader that stopped reading must not stay connected forever, even when dropping its
    /// oldest frames keeps its queue bounded). The clock only runs at offers, so the reading
    /// side pays nothing for it.
    pub(crate) fn offer_at(
        &self,
        id: EventId,
        frame: &Bytes,
        last: bool,
        capacity: usize,
        policy: SlowConsumerPolicy,
        stall: Option<(Duration, Instant)>,
    ) -> Offer {
        let mut state = self.lock();
        if state.end.is_some() {
            return Offer::Ended;
        }
        if let Some((timeout, now)) = stall {
            if std::mem::take(&mut state.progress) || state.frames.len() == 0 {
                state.waiting_since = Some(now);
            } else if state
                .waiting_since
                .is_some_and(|since| now.saturating_duration_since(since) > timeout)
            {
                let discarded = state.frames.len() + 1;
                state.frames.clear();
                state.end = Some(End::Now);
                let waker = state.waker.take();
                drop(state);
                if let Some(waker) = waker {
                    waker.wake();
                }
                return Offer::Stalled(discarded);
            }
        }
        let offer = if state.frames.len() < capacity {
            Offer::Queued
        } else {
            match policy {
                SlowConsumerPolicy::DropOldest => {
                    state.frames.pop_front();
                    state.gap = true;
                    Offer::DroppedOldest
                }
                SlowConsumerPolicy::Disconnect => {
                    let discarded = state.frames.len() + 1;
                    state.frames.clear();
                    state.end = Some(End::Now);
                    Offer::Disconnected(discarded)
                }
            }
        };
        if state.end.is_none() {
            state.frames.push_back((id, frame.clone(), last, stamp()));
        }
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        offer
    }

    /// Ends the stream once what is queued has been delivered (the hub was closed).
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.end.get_or_insert(End::Drain);
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Sends the reset event before anything else still queued: the subscriber may have
    /// missed events that were never offered (the shared backend lost its history).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn force_reset(&self) {
        let mut state = self.lock();
        if state.end.is_some() {
            return;
        }
        state.reset = true;
        let waker = state.waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The id of the next queued frame.
    pub(crate) fn front_id(&self) -> Option<EventId> {
        self.lock().frames.front_id()
    }

    /// Takes the next item for the stream, or registers the task to be woken.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Next> {
        let mut state = self.lock();
        // Polled: the stream is being read (a reset event taken is progress too).
        state.progress = true;
        if state.end == Some(End::Now) {
            return Poll::Ready(Next::End);
        }
        if state.reset {
            state.reset = false;
            state.gap = false;
            return Poll::Ready(Next::Reset);
        }
        if state.gap {
            state.gap = false;
            return Poll::Ready(Next::Gap);
        }
        if let Some((id, frame, last, queued)) = state.frames.pop_front() {
            record_wait(queued);
            return Poll::Ready(if last {
                Next::Final(id, frame)
            } else {
                Next::Frame(id, frame)
            });
        }
        if state.end.is_some() {
            return Poll::Ready(Next::End);
        }
        match &mut state.waker {
            Some(waker) => waker.clone_from(cx.waker()),
            None => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The number of frames waiting.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.lock().frames.len()
    }
}

impl fmt::Debug for SubscriberQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriberQueue")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn queue() -> SubscriberQueue {
        SubscriberQueue::new(SubscriberInfo::new(1, Box::new(["t".to_owned()]), None))
    }

    fn next(queue: &SubscriberQueue) -> Poll<Next> {
        queue.poll_next(&mut Context::from_waker(Waker::noop()))
    }

    fn frame(n: u64) -> (EventId, Bytes) {
        (EventId::new(n, 0), Bytes::from(n.to_string()))
    }

    #[test]
    fn drop_oldest_keeps_the_newest_and_marks_the_gap() {
        let q = queue();
        for n in 1..=4 {
            let (id, bytes) = frame(n);
            let offer = q.offer(id, &bytes, 2, SlowConsumerPolicy::DropOldest);
            assert_eq!(
                offer,
                if n <= 2 {
                    Offer::Queued
                } else {
                    Offer::DroppedOldest
                }
            );
        }
        assert_eq!(q.queued(), 2);
        assert!(matches!(next(&q), Poll::Ready(Next::Gap)));
        assert!(matches!(next(&q), Poll::Ready(Next::Frame(id, _)) if id.major() == 3));
        assert!(matches!(next(&q), Poll::Ready(Next::Frame(id, _)) if id.major() == 4));
        assert!(next(&q).is_pending());
    }

    #[test]
    fn disconnect_discards_and_ends_at_once() {
        let q = queue();
        for n in 1..=2 {
            let (id, bytes) = frame(n);
            assert_eq!(
                q.offer(id, &bytes, 2, SlowConsumerPolicy::Disconnect),
                Offer::Queued
            );
        }
        let (id, bytes) = frame(3);
        assert_eq!(
            q.offer(id, &bytes, 2, SlowConsumerPolicy::Disconnect),
            Offer::Disconnected(3)
        );
        assert_eq!(q.queued(), 0);
        assert!(matches!(next(&q), Poll::Ready(Next::End)));
        let (id, bytes) = frame(4);
        assert_eq!(
            q.offer(id, &bytes, 2, SlowConsumerPolicy::Disconnect),
            Offer::Ended
        );
    }

    #[test]
    fn close_drains_then_ends() {
        let q = queue();
        let (id, bytes) = frame(1);
        q.offer(id, &bytes, 4, SlowConsumerPolicy::DropOldest);
        q.close();
        assert!(matches!(next(&q), Poll::Ready(Next::Frame(..))));
        assert!(matches!(next(&q), Poll::Ready(Next::End)));
    }

    #[test]
    fn a_backlog_keeps_its_order_and_gives_its_memory_back() {
        let q = queue();
        let capacity = SHRINK_ABOVE * 4;
        for round in 0..3_u64 {
            // Fill it (the inline slot takes the oldest frame, the backlog the rest), then
            // drain it completely: order kept, backlog freed, three times over.
            let base = round * 1000;
            for n in 0..capacity as u64 {
                let (id, bytes) = frame(base + n + 1);
                assert_eq!(
                    q.offer(id, &bytes, capacity, SlowConsumerPolicy::DropOldest),
                    Offer::Queued
                );
            }
            assert_eq!(q.queued(), capacity);
            for n in 0..capacity as u64 {
                match next(&q) {
                    Poll::Ready(Next::Frame(id, bytes)) => {
                        assert_eq!(id.major(), base + n + 1);
                        assert_eq!(bytes, Bytes::from((base + n + 1).to_string()));
                    }
                    other => panic!("expected frame {}, got {other:?}", base + n + 1),
                }
            }
            assert!(next(&q).is_pending());
            let state = q.lock();
            assert!(state.frames.first.is_none());
            assert_eq!(
                state.frames.rest.capacity(),
                0,
                "a drained backlog is freed"
            );
        }
        // A subscriber that keeps up never allocates a backlog.
        for n in 1..=100 {
            let (id, bytes) = frame(n);
            q.offer(id, &bytes, capacity, SlowConsumerPolicy::DropOldest);
            assert!(matches!(next(&q), Poll::Ready(Next::Frame(id, _)) if id.major() == n));
            assert_eq!(q.lock().frames.rest.capacity(), 0);
        }
    }
}
