//! Fan-out with replay: [`Hub`] publishes events to topics, and every subscriber of a topic
//! receives them, resuming after its `Last-Event-ID` from a bounded history.
//!
//! ```
//! use axum::{Router, extract::State, routing::get};
//! use sse_axum::hub::{Hub, HubError, Subscribe, Subscription};
//! use sse_axum::{Event, LastEventId};
//!
//! // A `HubError` answers HTTP itself: 400 for a bad `Last-Event-ID`, 503 when closed.
//! async fn events(
//!     State(hub): State<Hub>,
//!     last_event_id: Option<LastEventId>,
//! ) -> Result<Subscription, HubError> {
//!     let request = Subscribe::new(["broadcast", "user:alice"]).last_event_id(last_event_id);
//!     hub.subscribe(request).await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sse_axum::hub::HubError> {
//! let hub = Hub::new();
//! let app: Router = Router::new().route("/events", get(events)).with_state(hub.clone());
//! // Elsewhere: every subscriber of "broadcast" receives it, with an id to resume from.
//! let id = hub.publish("broadcast", Event::new().data("hello")).await?;
//! # drop((app, id));
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! Publishing encodes the event once, with the id the hub gives it, into one [`Bytes`](bytes::Bytes) frame.
//! That frame (a reference count, never a copy) goes into the topic's history and into the
//! bounded queue of each of this process's subscribers of the topic. No task runs per
//! subscriber: the queue wakes the task serving the subscriber's response.
//!
//! Ids and history live behind one seam, the [`backend::Backend`] trait: in this
//! process by default, in a Redis Stream shared by several processes with feature `redis`,
//! or in an engine of your own ([`HubBuilder::build_with`]). The local fan-out is the same
//! for all of them; [`backend`] describes the one trip a publish and a subscribe make.
//!
//! # The seam between replay and live events
//!
//! A subscriber is registered before its history is read, so its queue collects every live
//! frame from then on; the history read reports the newest id it could see, and the live
//! frames up to that id (already in the history) are dropped. An event published before the
//! read is replayed once, one published after is delivered live once: no gap, no duplicate,
//! whichever backend runs. Publishing only pushes into bounded queues (it never waits for a
//! subscriber); lifecycle hooks run outside every lock.
//!
//! # What a subscriber receives
//!
//! - **No `Last-Event-ID`**: live events only. [`Subscribe::with_history`] asks for the
//!   retained history first.
//! - **A `Last-Event-ID` still covered by the history** of every subscribed topic: exactly the
//!   events after it, oldest first, then live events. An id from any topic works: ids are
//!   positions in one sequence across all the hub's topics, so a subscriber of several topics
//!   resumes all of them from the last id it saw.
//! - **An id older than the history**, or from before this hub started, or **from the future**
//!   (the server restarted): the reset event (see [`HubBuilder::reset_event`]), then the
//!   retained events it has not seen (the whole retained history for a future id), then live
//!   events.
//! - **Text that is not an [`EventId`]**: [`HubError::InvalidLastEventId`] (answer 400).
//!
//! # Slow consumers and memory
//!
//! Each subscriber has a bounded queue; when it is full the [`SlowConsumerPolicy`] drops the
//! oldest queued event (and sends the reset event) or disconnects the subscriber. History is
//! bounded per topic by count and age, and a topic without history or subscribers is
//! forgotten. An idle subscriber holds no buffer.

pub mod backend;
mod builder;
mod error;
mod id;
mod policy;
mod registry;
mod replay;
mod shared;
mod subscribe;
mod subscriber;
mod subscription;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
#[cfg(feature = "redis")]
pub use backend::redis::RedisBackend;
pub use builder::HubBuilder;
pub use error::{BackendError, BackendErrorKind, HubError};
pub use id::{EventId, ParseEventIdError, ParseEventIdErrorKind};
pub use policy::SlowConsumerPolicy;
pub use subscribe::{ResumePoint, Subscribe};
pub use subscriber::SubscriberInfo;
pub use subscription::{Frame, FrameKind, Subscription};

use backend::{Backend, Fanout, Publish};
use builder::Config;
use shared::{Registered, Shared};

use crate::Event;

/// Publishes events to topics and serves subscribers, with replay from a bounded history.
///
/// Cheap to clone (an [`Arc`] inside): keep one in the application state. See the
/// [module documentation](self) for what subscribers receive and why nothing is lost at the
/// seam between history and live events.
///
/// ```
/// use futures_util::StreamExt as _;
/// use sse_axum::Event;
/// use sse_axum::hub::{FrameKind, Hub, Subscribe};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sse_axum::hub::HubError> {
/// let hub = Hub::new();
/// let first = hub.publish("room", Event::new().data("one")).await?;
/// let second = hub.publish("room", Event::new().data("two")).await?;
/// assert!(second > first);
///
/// // A client that saw `first` reconnects: it gets `second` from the history, then live events.
/// let mut subscription = hub
///     .subscribe(Subscribe::new(["room"]).last_event_id(&first.to_string()))
///     .await?;
/// let third = hub.publish("room", Event::new().data("three")).await?;
///
/// let replayed = subscription.next().await.unwrap();
/// assert_eq!((replayed.kind(), replayed.id()), (FrameKind::Replayed, Some(second)));
/// let live = subscription.next().await.unwrap();
/// assert_eq!((live.kind(), live.id()), (FrameKind::Live, Some(third)));
/// assert_eq!(hub.subscriber_count("room"), 1);
/// drop(subscription);
/// assert_eq!(hub.subscriber_count("room"), 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
}

/// A snapshot of a hub's counters, from [`Hub::stats`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sse_axum::hub::HubError> {
/// let hub = sse_axum::hub::Hub::new();
/// hub.publish("news", sse_axum::Event::new().data("hi")).await?;
/// let stats = hub.stats();
/// assert_eq!((stats.published, stats.delivered, stats.subscribers), (1, 0, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct HubStats {
    /// Successful calls of [`Hub::publish`] and [`Hub::publish_all`] (ids assigned).
    pub published: u64,
    /// Frames handed to subscribers' streams (replayed and live; reset events not counted).
    pub delivered: u64,
    /// Frames discarded by the [`SlowConsumerPolicy`] before a subscriber read them.
    pub dropped: u64,
    /// Subscribers disconnected by [`SlowConsumerPolicy::Disconnect`] or, whatever the
    /// policy, by the [stall timeout](HubBuilder::stall_timeout).
    pub disconnected: u64,
    /// Of those, the ones disconnected by the stall timeout.
    pub stalled: u64,
    /// Subscribers now registered in this process.
    pub subscribers: usize,
    /// Topics with at least one subscriber in this process.
    pub topics: usize,
}

impl Hub {
    /// A hub with the default settings (see [`HubBuilder`]).
    #[must_use]
    pub fn new() -> Hub {
        HubBuilder::new().build()
    }

    /// Configures a hub.
    pub fn builder() -> HubBuilder {
        HubBuilder::new()
    }

    /// The local fan-out over `backend`, which starts delivering to it.
    pub(crate) fn with_backend(config: Arc<Config>, backend: Arc<dyn Backend>) -> Hub {
        let shared = Arc::new(Shared::new(config, Arc::clone(&backend)));
        backend.start(Fanout::new(&shared));
        Hub { shared }
    }

    /// Publishes an event to every subscriber of `topic` and to its history, and returns the
    /// id the hub gave it (written as the event's `id:` field, replacing any id it had).
    ///
    /// Never waits for a subscriber: a subscriber whose queue is full is handled by the
    /// [`SlowConsumerPolicy`].
    ///
    /// # Errors
    ///
    /// [`HubError::Closed`] after [`close`](Hub::close); [`HubError::IdsExhausted`] when no
    /// greater id is left.
    pub async fn publish(
        &self,
        topic: impl Into<String>,
        event: Event,
    ) -> Result<EventId, HubError> {
        self.publish_events(topic.into(), vec![event], false).await
    }

    /// Publishes the final event of `topic` (a generation that is done, a job that ended) and
    /// records that the topic finished: a live subscriber gets the event and then a clean end
    /// (once all of its topics have finished); a subscriber resuming with an id before it
    /// gets the rest of the history and then the event and the end; one resuming after it
    /// gets [`HubError::Finished`], which answers `204 No Content` (the status that tells an
    /// `EventSource` to stop reconnecting) instead of waiting for ever. The record lasts as
    /// long as the topic's history (see [`HubBuilder::retention`]).
    ///
    /// ```
    /// use futures_util::StreamExt as _;
    /// use sse_axum::Event;
    /// use sse_axum::hub::{Hub, HubError, Subscribe};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), HubError> {
    /// let hub = Hub::new();
    /// let mut live = hub.subscribe(Subscribe::new(["gen:7"])).await?;
    /// let token = hub.publish("gen:7", Event::new().data("Hello")).await?;
    /// let end = hub.finish("gen:7", Event::new().data("[DONE]")).await?;
    /// assert_eq!(live.next().await.unwrap().id(), Some(token));
    /// assert_eq!(live.next().await.unwrap().id(), Some(end));
    /// assert!(live.next().await.is_none(), "a clean end");
    ///
    /// // A reload in the middle gets the rest and the end; after the end, nothing to wait for.
    /// let mut resumed = hub.subscribe(Subscribe::new(["gen:7"]).last_event_id(token)).await?;
    /// assert_eq!(resumed.next().await.unwrap().id(), Some(end));
    /// assert!(resumed.next().await.is_none());
    /// let after = hub.subscribe(Subscribe::new(["gen:7"]).last_event_id(end)).await;
    /// assert!(matches!(after, Err(HubError::Finished)));
    /// assert!(matches!(hub.publish("gen:7", Event::new().data("more")).await, Err(HubError::Finished)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](Hub::publish), and [`HubError::Finished`] when the topic already
    /// finished.
    pub async fn finish(
        &self,
        topic: impl Into<String>,
        final_event: Event,
    ) -> Result<EventId, HubError> {
        self.publish_events(topic.into(), vec![final_event], true)
            .await
    }

    /// Publishes several events under one id, as one history entry, delivered together (a
    /// stock ticker's tick: one event per stock, one id per tick).
    ///
    /// Every event carries the hub's id (replacing any id it had), so a client reads the same
    /// id on each event of the batch. The batch is one frame, written in one piece; only a
    /// connection that breaks in the middle of that write can leave a client with part of a
    /// batch and its id, and so without the rest of it on resumption.
    ///
    /// ```
    /// use futures_util::StreamExt as _;
    /// use sse_axum::{Event, EventType};
    /// use sse_axum::hub::{Hub, Subscribe};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hub = Hub::new();
    /// let mut subscription = hub.subscribe(Subscribe::new(["ticker"])).await?;
    /// let tick = hub
    ///     .publish_all("ticker", [
    ///         Event::new().event(EventType::from_static("AAPL")).data("189.5"),
    ///         Event::new().event(EventType::from_static("MSFT")).data("411.2"),
    ///     ])
    ///     .await?;
    /// let frame = subscription.next().await.unwrap();
    /// assert_eq!(
    ///     frame.bytes(),
    ///     format!("event: AAPL\nid: {tick}\ndata: 189.5\n\nevent: MSFT\nid: {tick}\ndata: 411.2\n\n")
    ///         .as_bytes()
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](Hub::publish), and [`HubError::NoEvents`] when `events` is empty.
    pub async fn publish_all(
        &self,
        topic: impl Into<String>,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<EventId, HubError> {
        self.publish_events(topic.into(), events.into_iter().collect(), false)
            .await
    }

    async fn publish_events(
        &self,
        topic: String,
        events: Vec<Event>,
        last: bool,
    ) -> Result<EventId, HubError> {
        if events.is_empty() {
            return Err(HubError::NoEvents);
        }
        if self.shared.is_closed() {
            return Err(HubError::Closed);
        }
        let id = self
            .shared
            .backend
            .publish(Publish::new(topic, events, last))
            .await?;
        self.shared
            .counters
            .published
            .fetch_add(1, Ordering::Relaxed);
        crate::metrics::published();
        Ok(id)
    }

    /// Subscribes to topics, resuming after the request's `Last-Event-ID` if it has one (see
    /// the [module documentation](self) for what the subscriber receives).
    ///
    /// # Errors
    ///
    /// [`HubError::InvalidLastEventId`] when the `Last-Event-ID` is not an [`EventId`] (an
    /// HTTP handler answers 400), [`HubError::NoTopics`] for an empty topic list and
    /// [`HubError::Closed`] after [`close`](Hub::close).
    pub async fn subscribe(&self, request: Subscribe) -> Result<Subscription, HubError> {
        if request.topics.is_empty() {
            return Err(HubError::NoTopics);
        }
        let (last_event_id, start) = request.start()?;
        let Registered { queue, new_topics } =
            self.shared.register(request.topics, last_event_id)?;
        // From here on the queue collects live frames; dropping the subscription unregisters.
        let mut subscription = Subscription::new(queue, Arc::clone(&self.shared));
        let backend = &*self.shared.backend;
        if !new_topics.is_empty() {
            backend.topics_added(&new_topics).await;
        }
        if let Some(start) = start {
            let replay = backend::replay(backend, subscription.info().topics(), start).await;
            let error = match replay {
                Ok(replay) => {
                    subscription.resume(replay);
                    subscription.is_over().then_some(HubError::Finished)
                }
                Err(error) => Some(error),
            };
            if let Some(error) = error {
                // Never announced to the hooks: take it out without calling them.
                self.shared.withdraw(subscription.queue());
                return Err(error);
            }
        }
        if let Some(hook) = &self.shared.config.on_subscribe {
            hook(subscription.info());
        }
        Ok(subscription)
    }

    /// The number of this process's subscribers of `topic`.
    #[must_use]
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.shared.subscriber_count(topic)
    }

    /// The number of this process's subscribers (a subscriber of several topics counts once).
    #[must_use]
    pub fn total_subscribers(&self) -> usize {
        self.shared.total_subscribers()
    }

    /// The topics with at least one subscriber in this process, in no particular order.
    #[must_use]
    pub fn topics(&self) -> Vec<String> {
        self.shared.topics()
    }

    /// Whether `topic` has a subscriber anywhere: in this process, or, with a shared backend
    /// (`HubBuilder::build_redis`, feature `redis`), in any process sharing it. The chat example answers a
    /// direct message to a user nobody is subscribed for with 404.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sse_axum::hub::HubError> {
    /// let hub = sse_axum::hub::Hub::new();
    /// assert!(!hub.is_subscribed_anywhere("user:alice").await?);
    /// let subscription = hub.subscribe(sse_axum::hub::Subscribe::new(["user:alice"])).await?;
    /// assert!(hub.is_subscribed_anywhere("user:alice").await?);
    /// # drop(subscription); Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] when the shared backend must be asked and cannot answer.
    pub async fn is_subscribed_anywhere(&self, topic: &str) -> Result<bool, HubError> {
        if self.subscriber_count(topic) > 0 {
            return Ok(true);
        }
        self.shared.backend.is_subscribed_anywhere(topic).await
    }

    /// The topics with a subscriber anywhere, sorted: [`topics`](Hub::topics) for an
    /// in-memory hub; with a shared backend (`HubBuilder::build_redis`, feature `redis`), also the topics
    /// the other processes sharing it have announced (see `RedisBackend` for how long a
    /// crashed process stays listed, and the cap on the list).
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] when the shared backend cannot answer.
    pub async fn topics_anywhere(&self) -> Result<Vec<String>, HubError> {
        let mut topics = self.topics();
        topics.extend(self.shared.backend.topics_anywhere().await?);
        topics.sort_unstable();
        topics.dedup();
        Ok(topics)
    }

    /// The hub's counters and current counts.
    ///
    /// Deliveries are counted per subscriber (so that threads serving different subscribers
    /// never write the same counter) and added up here: the cost of a call grows with the
    /// number of subscribers (about a millisecond for 10,000), not the cost of a delivery.
    #[must_use]
    pub fn stats(&self) -> HubStats {
        let counts = self.shared.counts();
        let counters = &self.shared.counters;
        HubStats {
            published: counters.published.load(Ordering::Relaxed),
            delivered: counts.delivered + counters.delivered.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
            disconnected: counters.disconnected.load(Ordering::Relaxed),
            stalled: counters.stalled.load(Ordering::Relaxed),
            subscribers: counts.subscribers,
            topics: counts.topics,
        }
    }

    /// Ends every subscription cleanly: each stream delivers what it has queued, then ends
    /// (so each response finishes, which lets a graceful shutdown complete). Later calls of
    /// [`publish`](Hub::publish) and [`subscribe`](Hub::subscribe) fail with
    /// [`HubError::Closed`], and the history is freed.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Whether [`close`](Hub::close) was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::subscriber::SubscriberQueue;
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn hub_subscriptions_and_futures_cross_threads() {
        let hub = Hub::new();
        assert_send_sync(&hub);
        let publish = hub.publish("t", Event::new().data("x"));
        assert_send(&publish);
        publish.await.unwrap();
        let subscribe = hub.subscribe(Subscribe::new(["t"]));
        assert_send(&subscribe);
        let subscription = subscribe.await.unwrap();
        assert_send_sync(&subscription);
    }

    /// Deliveries are counted per subscriber and added up by `stats`: exactly once each,
    /// whether the subscriber is still registered, gone, or still draining after `close`.
    #[tokio::test]
    async fn delivered_counts_every_frame_once() {
        use futures_util::StreamExt as _;

        let hub = Hub::new();
        let mut both = hub.subscribe(Subscribe::new(["a", "b"])).await.unwrap();
        let mut one = hub.subscribe(Subscribe::new(["a"])).await.unwrap();
        for _ in 0..3 {
            hub.publish("a", Event::new().data("x")).await.unwrap();
        }
        for _ in 0..2 {
            hub.publish("b", Event::new().data("y")).await.unwrap();
        }
        for _ in 0..5 {
            both.next().await.unwrap();
        }
        for _ in 0..3 {
            one.next().await.unwrap();
        }
        assert_eq!(hub.stats().delivered, 8);
        drop(one);
        assert_eq!(
            hub.stats().delivered,
            8,
            "a subscriber that left keeps its count"
        );

        // Replayed frames count too.
        let mut late = hub
            .subscribe(Subscribe::new(["a"]).with_history())
            .await
            .unwrap();
        for _ in 0..3 {
            late.next().await.unwrap();
        }
        assert_eq!(hub.stats().delivered, 11);

        // Queued when the hub closes: delivered after the subscriber left the registry.
        hub.publish("a", Event::new().data("z")).await.unwrap();
        hub.close();
        assert_eq!(hub.stats().delivered, 11);
        assert!(both.next().await.is_some());
        assert!(late.next().await.is_some());
        assert!(both.next().await.is_none());
        assert!(late.next().await.is_none());
        assert_eq!(hub.stats().delivered, 13);
        drop((both, late));
        assert_eq!(hub.stats().delivered, 13);
    }

    /// A subscriber disconnected as a slow consumer keeps the count of what it received.
    #[tokio::test]
    async fn delivered_survives_a_disconnect() {
        use futures_util::StreamExt as _;

        let hub = Hub::builder()
            .subscriber_queue(1)
            .slow_consumer(SlowConsumerPolicy::Disconnect)
            .build();
        let mut slow = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
        hub.publish("t", Event::new().data("1")).await.unwrap();
        slow.next().await.unwrap();
        hub.publish("t", Event::new().data("2")).await.unwrap();
        hub.publish("t", Event::new().data("3")).await.unwrap();
        assert!(slow.next().await.is_none());
        let stats = hub.stats();
        assert_eq!((stats.delivered, stats.disconnected), (1, 1));
    }

    /// What an idle subscriber costs the hub, besides its topic names: its queue (shared with
    /// the registry, one map slot per topic) and the `Subscription` in the response body.
    #[test]
    fn an_idle_subscriber_is_small() {
        let queue = size_of::<SubscriberQueue>() + 2 * size_of::<usize>(); // + Arc counts
        let subscription = size_of::<Subscription>();
        let slot = size_of::<(u64, Arc<SubscriberQueue>)>();
        println!("queue {queue} B, subscription {subscription} B, registry slot {slot} B");
        assert!(
            queue + subscription + slot < 512,
            "{queue} + {subscription} + {slot}"
        );
    }
}
