//! The hub's one backend seam: what assigns ids and keeps history, apart from the local
//! fan-out.
//!
//! A [`Hub`](super::Hub) is the local fan-out (this process's subscribers, their bounded
//! queues, the slow-consumer policy, the hooks) over one [`Backend`]. The backend gives each
//! publish its id, keeps the history and delivers every published frame, in id order, to the
//! [`Fanout`] of each process that shares it. Two backends come with the crate: the in-memory
//! one ([`Hub::new`](super::Hub::new), [`HubBuilder::build`](super::HubBuilder::build)) and,
//! with feature `redis`, one Redis Stream shared by several processes
//! (`HubBuilder::build_redis`). Another engine plugs in through
//! [`HubBuilder::build_with`](super::HubBuilder::build_with).
//!
//! # One trip down the layers
//!
//! - **Publish**: [`Hub::publish`](super::Hub::publish) hands the backend a [`Publish`]; the
//!   backend picks the id, stores the frame and delivers it ([`Fanout::deliver`]) to every
//!   process, this one included, then returns the id.
//! - **Subscribe**: the hub registers the subscriber first (so its queue collects live
//!   frames from then on), tells the backend which topics became local
//!   ([`Backend::topics_added`]), then reads the history ([`Backend::history`]). The hub alone
//!   decides from what the [`History`] says whether the resume is exact or needs the reset
//!   event, and drops the live frames the history already holds (ids up to
//!   [`History::last`]). So nothing is lost or sent twice at the seam between history and live
//!   events, whichever backend runs.
//!
//! # What a backend must guarantee
//!
//! 1. **Ids strictly increase** across all topics, and are delivered to each [`Fanout`] in
//!    that order (a subscriber of several topics resumes all of them from one id).
//! 2. **A frame is in the history before it is delivered**, and a [`History`] read reports as
//!    [`last`](History::last) an id at least as new as every frame it could see: live frames
//!    up to `last` are dropped as duplicates, so one missing from the history would be lost.
//! 3. **[`History::complete`]** is true only when the entries hold every event of the topics
//!    after the resume point; in doubt, false (the subscriber gets the reset event, never a
//!    silent gap).
//! 4. Nothing blocks the thread: calls may wait (they are futures), but no call may hold a
//!    lock that [`Fanout::deliver`] or a hook could need (drop [`Delivery`] after your locks).
//!
//! ```
//! use std::sync::Mutex;
//!
//! use bytes::Bytes;
//! use futures_util::future::{self, BoxFuture, FutureExt as _};
//! use futures_util::StreamExt as _;
//! use sse_axum::hub::backend::{Backend, Fanout, History, Publish, Start};
//! use sse_axum::hub::{EventId, Hub, HubError, Subscribe};
//! use sse_axum::Event;
//!
//! /// Numbers publishes 1, 2, 3, ... and keeps no history.
//! #[derive(Debug, Default)]
//! struct Counter {
//!     state: Mutex<(u64, Option<Fanout>)>,
//! }
//!
//! impl Backend for Counter {
//!     fn start(&self, fanout: Fanout) {
//!         self.state.lock().unwrap().1 = Some(fanout);
//!     }
//!
//!     fn publish(&self, publish: Publish) -> BoxFuture<'_, Result<EventId, HubError>> {
//!         let delivery = {
//!             let mut state = self.state.lock().unwrap();
//!             state.0 += 1;
//!             let id = EventId::new(state.0, 0);
//!             let (topic, frame) = publish.into_frame(id);
//!             state.1.as_ref().map(|fanout| (id, fanout.deliver(&topic, id, frame)))
//!         };
//!         // The hooks a delivery may run are run when it is dropped: after the lock.
//!         let result = delivery.map(|(id, _)| id).ok_or(HubError::Closed);
//!         future::ready(result).boxed()
//!     }
//!
//!     fn history<'a>(&'a self, _: &'a [String], _: Start) -> BoxFuture<'a, Result<History, HubError>> {
//!         let last = self.state.lock().unwrap().0;
//!         let history = History::new(Vec::new()).last((last > 0).then(|| EventId::new(last, 0)));
//!         future::ready(Ok(history)).boxed()
//!     }
//!
//!     fn close(&self) {}
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), HubError> {
//! let hub = Hub::builder().build_with(Counter::default());
//! let mut subscription = hub.subscribe(Subscribe::new(["news"])).await?;
//! assert_eq!(hub.publish("news", Event::new().data("hi")).await?, EventId::new(1, 0));
//! let frame = subscription.next().await.unwrap();
//! assert_eq!(frame.bytes(), &Bytes::from("id: 1\ndata: hi\n\n"));
//! # Ok(()) }
//! ```

mod fanout;
pub(crate) mod memory;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use std::fmt;

use bytes::Bytes;
use futures_util::future::{self, BoxFuture, FutureExt as _};

pub use fanout::{Delivery, Fanout};

use super::{EventId, HubError};
use crate::Event;
use crate::event::frame;

/// An engine behind a [`Hub`](super::Hub): assigns ids, keeps history, delivers frames. See
/// the [module documentation](self) for the guarantees an implementation must give.
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// Called once, when the hub is built: where this process's frames go. Keep it, and
    /// deliver every published frame (from any process sharing the backend) through it.
    fn start(&self, fanout: Fanout);

    /// Gives the publish the next id, stores its frame in the topic's history and delivers it
    /// to every process's [`Fanout`]; returns the id.
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] when the engine cannot store it (nothing was published),
    /// [`HubError::IdsExhausted`] when no greater id is left.
    fn publish(&self, publish: Publish) -> BoxFuture<'_, Result<EventId, HubError>>;

    /// The retained frames of `topics` from `from` on (never called for live-only
    /// subscribers), and what the hub needs to judge the resume (see [`History`]).
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] when the engine cannot answer; the subscription then fails.
    fn history<'a>(
        &'a self,
        topics: &'a [String],
        from: Start,
    ) -> BoxFuture<'a, Result<History, HubError>>;

    /// These topics got their first subscriber in this process: awaited before the
    /// subscription is returned (a shared engine announces them, so that
    /// [`Hub::is_subscribed_anywhere`](super::Hub::is_subscribed_anywhere) in another process
    /// sees the subscriber at once). Nothing to do by default.
    fn topics_added<'a>(&'a self, topics: &'a [String]) -> BoxFuture<'a, ()> {
        let _ = topics;
        future::ready(()).boxed()
    }

    /// These topics may have lost their last subscriber in this process (check with
    /// [`Fanout::has_subscribers`]). Must not wait. Nothing to do by default.
    fn topics_removed(&self, topics: &[String]) {
        let _ = topics;
    }

    /// Whether another process sharing the engine has a subscriber of `topic` (the hub has
    /// checked its own). `false` by default.
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] when the engine cannot answer.
    fn is_subscribed_anywhere<'a>(
        &'a self,
        topic: &'a str,
    ) -> BoxFuture<'a, Result<bool, HubError>> {
        let _ = topic;
        future::ready(Ok(false)).boxed()
    }

    /// The topics other processes sharing the engine have subscribers of. None by default.
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] when the engine cannot answer.
    fn topics_anywhere(&self) -> BoxFuture<'_, Result<Vec<String>, HubError>> {
        future::ready(Ok(Vec::new())).boxed()
    }

    /// The hub was closed, or its last handle dropped: stop tasks, free the history.
    fn close(&self);
}

/// Where a subscriber's history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// Everything retained (a new client that asked for the history).
    Oldest,
    /// The events after this id (a `Last-Event-ID`).
    After(EventId),
}

/// What a backend read for a subscriber: the frames, and what the hub needs to decide whether
/// they are exactly what the subscriber missed.
///
/// ```
/// use bytes::Bytes;
/// use sse_axum::hub::EventId;
/// use sse_axum::hub::backend::History;
///
/// let id = EventId::new(1_700_000_000_000, 0);
/// let history = History::new(vec![(id, Bytes::from("id: 1700000000000\ndata: x\n\n"))])
///     .origin(Some(id))
///     .last(Some(id))
///     .complete(true);
/// assert_eq!(history.entries().len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct History {
    entries: Vec<(EventId, Bytes)>,
    origin: Option<EventId>,
    last: Option<EventId>,
    complete: bool,
    finished: Vec<(String, EventId)>,
}

impl History {
    /// The retained frames after the start point, oldest first, each with its id; no origin,
    /// no last id, not complete.
    #[must_use]
    pub fn new(entries: Vec<(EventId, Bytes)>) -> Self {
        Self {
            entries,
            ..Self::default()
        }
    }

    /// The oldest id this engine (this incarnation of it: not before a restart that lost its
    /// data) can have given. A `Last-Event-ID` older than it comes from elsewhere and resets.
    /// `None`: unknown, every resume resets.
    #[must_use]
    pub fn origin(self, origin: Option<EventId>) -> Self {
        Self { origin, ..self }
    }

    /// The newest id given out (on any topic) when the history was read: the horizon up to
    /// which live frames are duplicates of the history. `None`: none was ever given.
    #[must_use]
    pub fn last(self, last: Option<EventId>) -> Self {
        Self { last, ..self }
    }

    /// Whether the entries hold every event of the topics after the start point: nothing newer
    /// than it was evicted or left out.
    #[must_use]
    pub fn complete(self, complete: bool) -> Self {
        Self { complete, ..self }
    }

    /// Which of the topics have finished ([`Hub::finish`](super::Hub::finish)), each with the
    /// id of its final frame (whether that frame is among the entries or not).
    #[must_use]
    pub fn finished(self, finished: Vec<(String, EventId)>) -> Self {
        Self { finished, ..self }
    }

    /// The frames, oldest first.
    #[must_use]
    pub fn entries(&self) -> &[(EventId, Bytes)] {
        &self.entries
    }

    /// Whether a subscriber starting at `from` resumes exactly with these entries: the one
    /// place this rule is written, for every backend.
    ///
    /// An id resumes exactly when it belongs to this incarnation of the engine, is not from
    /// the future, and nothing newer than it is missing. A future id (newer than anything
    /// given out: the engine lost its data, or the id is made up) gets the reset event and
    /// then everything retained, all of which is new to it.
    pub(super) fn decide(&self, from: Start) -> Resume {
        let after = match from {
            Start::Oldest => return Resume::Exact,
            Start::After(after) => after,
        };
        let Some(last) = self.last else {
            // Nothing was ever published here: the id comes from elsewhere.
            return Resume::Reset;
        };
        if after > last {
            return Resume::Future;
        }
        if self.origin.is_none_or(|origin| after < origin) {
            return Resume::Reset;
        }
        if after == last || self.complete {
            Resume::Exact
        } else {
            Resume::Reset
        }
    }
}

/// What a new subscriber receives before the live frames.
#[derive(Debug, Default)]
pub(super) struct Replay {
    /// Resuming exactly was impossible: the reset event first.
    pub(super) reset: bool,
    /// The history to send, oldest first (shared frames, not copies).
    pub(super) entries: Vec<(EventId, Bytes)>,
    /// Live frames up to this id are in `entries` already, or were seen by the client.
    pub(super) horizon: Option<EventId>,
    /// The ids among `entries` that are a topic's final frame.
    pub(super) finals: Vec<EventId>,
    /// The finished topics whose final frame is not among `entries` (the client saw it, or
    /// it was let go): they will send nothing more.
    pub(super) ended: usize,
}

/// Reads what a subscriber starting at `from` receives before live frames, and judges it.
pub(super) async fn replay(
    backend: &dyn Backend,
    topics: &[String],
    from: Start,
) -> Result<Replay, HubError> {
    let mut history = backend.history(topics, from).await?;
    let resume = history.decide(from);
    if resume == Resume::Future {
        history = backend.history(topics, Start::Oldest).await?;
    }
    let History {
        entries,
        last: horizon,
        mut finished,
        ..
    } = history;
    finished.sort_unstable();
    finished.dedup_by(|a, b| a.0 == b.0);
    let (finals, ended): (Vec<EventId>, Vec<EventId>) = finished
        .into_iter()
        .map(|(_, id)| id)
        .partition(|id| entries.binary_search_by_key(id, |(e, _)| *e).is_ok());
    Ok(Replay {
        reset: resume != Resume::Exact,
        entries,
        horizon,
        finals,
        ended: ended.len(),
    })
}

/// The hub's judgement of a [`History`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resume {
    /// The entries are exactly what the subscriber missed.
    Exact,
    /// The subscriber missed events no longer held: the reset event, then the entries.
    Reset,
    /// The id is from the future: the reset event, then every retained entry.
    Future,
}

/// One publish on its way to a backend: the topic and the events, which the backend turns
/// into the frame once it knows the id.
#[derive(Debug)]
pub struct Publish {
    topic: String,
    events: Vec<Event>,
    last: bool,
}

impl Publish {
    /// `events` is never empty (the hub refuses an empty publish).
    pub(super) fn new(topic: String, events: Vec<Event>, last: bool) -> Self {
        Self {
            topic,
            events,
            last,
        }
    }

    /// The topic published to.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Whether this is the topic's final publish ([`Hub::finish`](super::Hub::finish)): the
    /// backend records that the topic finished at this id (reported by
    /// [`History::finished`] for as long as the topic's history is kept), refuses later
    /// publishes to it with [`HubError::Finished`], and delivers it with
    /// [`Fanout::deliver_final`].
    #[must_use]
    pub fn is_final(&self) -> bool {
        self.last
    }

    /// The topic and the frame: every event written with `id` (replacing any id it had).
    #[must_use]
    pub fn into_frame(self, id: EventId) -> (String, Bytes) {
        let frame = frame::encode(self.events, &id.into()).unwrap_or_default();
        (self.topic, frame)
    }

    /// The topic and the frame with the id left blank, for an engine that learns the id only
    /// when it stores the frame (as Redis does); [`fill_template`] makes the frame from it.
    #[must_use]
    pub fn into_template(self) -> (String, Bytes) {
        let template = frame::template(self.events).unwrap_or_default();
        (self.topic, template)
    }
}

/// The frame for `id` from a template of [`Publish::into_template`]: byte for byte what
/// [`Publish::into_frame`] writes for the same events and id.
///
/// ```
/// use sse_axum::hub::EventId;
/// use sse_axum::hub::backend::fill_template;
///
/// let frame = fill_template(b"id:\ndata: hi\n\n", EventId::new(7, 0));
/// assert_eq!(frame, "id: 7\ndata: hi\n\n");
/// ```
#[must_use]
pub fn fill_template(template: &[u8], id: EventId) -> Bytes {
    frame::fill(template, &id.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(major: u64) -> EventId {
        EventId::new(major, 0)
    }

    #[test]
    fn decides_one_rule_for_every_backend() {
        use Resume::*;
        let history = History::new(Vec::new())
            .origin(Some(id(100)))
            .last(Some(id(200)));
        let after = |n| Start::After(id(n));
        assert_eq!(history.decide(Start::Oldest), Exact);
        assert_eq!(history.decide(after(200)), Exact, "the newest id");
        assert_eq!(history.decide(after(150)), Reset, "something newer missing");
        assert_eq!(history.clone().complete(true).decide(after(150)), Exact);
        assert_eq!(history.clone().complete(true).decide(after(100)), Exact);
        assert_eq!(
            history.clone().complete(true).decide(after(99)),
            Reset,
            "from before this engine"
        );
        assert_eq!(history.decide(after(201)), Future);
        let nothing = History::new(Vec::new());
        assert_eq!(nothing.decide(after(1)), Reset);
        assert_eq!(nothing.decide(Start::Oldest), Exact);
        let no_origin = History::new(Vec::new()).last(Some(id(200))).complete(true);
        assert_eq!(no_origin.decide(after(150)), Reset);
    }
}
