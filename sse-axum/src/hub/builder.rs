//! [`HubBuilder`]: the hub's limits, policies and hooks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::backend::Backend;
use super::backend::memory::MemoryBackend;
use super::replay::{HistoryLimits, Retention};
use super::subscriber::SubscriberInfo;
use super::{Hub, SlowConsumerPolicy};
use crate::{Event, KeepAlive};

/// A lifecycle hook.
pub(crate) type Hook = Box<dyn Fn(&SubscriberInfo) + Send + Sync>;

/// The settings a built hub runs with.
pub(crate) struct Config {
    pub(crate) retention: Retention,
    pub(crate) queue: usize,
    pub(crate) policy: SlowConsumerPolicy,
    pub(crate) stall_timeout: Option<Duration>,
    /// The reset event, encoded once, without an id.
    pub(crate) reset_frame: Bytes,
    pub(crate) keep_alive: KeepAlive,
    pub(crate) on_subscribe: Option<Hook>,
    pub(crate) on_unsubscribe: Option<Hook>,
}

/// Configures a [`Hub`]; made by [`Hub::builder`].
///
/// ```
/// use std::time::Duration;
/// use sse_axum::hub::{Hub, SlowConsumerPolicy};
/// use sse_axum::{Event, EventType, KeepAlive};
///
/// let hub = Hub::builder()
///     .history_len(500)
///     .history_age(Duration::from_secs(60))
///     .subscriber_queue(32)
///     .slow_consumer(SlowConsumerPolicy::Disconnect)
///     .reset_event(Event::new().event(EventType::from_static("resync")).data("reload"))
///     .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
///     .build();
/// # drop(hub);
/// # Ok::<(), sse_axum::EventError>(())
/// ```
#[must_use]
pub struct HubBuilder {
    limits: HistoryLimits,
    prefixes: Vec<(String, HistoryLimits)>,
    queue: usize,
    policy: SlowConsumerPolicy,
    stall_timeout: Option<Duration>,
    reset_event: Option<Event>,
    keep_alive: KeepAlive,
    on_subscribe: Option<Hook>,
    on_unsubscribe: Option<Hook>,
}

impl HubBuilder {
    /// The default number of events kept per topic.
    pub const DEFAULT_HISTORY_LEN: usize = 1000;
    /// The default age after which an event leaves the history.
    pub const DEFAULT_HISTORY_AGE: Duration = Duration::from_secs(5 * 60);
    /// The default number of events a subscriber may have waiting.
    pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 128;
    /// The default [`stall_timeout`](Self::stall_timeout): 30 seconds.
    pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(30);

    pub(crate) fn new() -> Self {
        Self {
            prefixes: Vec::new(),
            limits: HistoryLimits {
                len: Self::DEFAULT_HISTORY_LEN,
                age: Some(Self::DEFAULT_HISTORY_AGE),
            },
            queue: Self::DEFAULT_SUBSCRIBER_QUEUE,
            policy: SlowConsumerPolicy::default(),
            stall_timeout: Some(Self::DEFAULT_STALL_TIMEOUT),
            reset_event: None,
            keep_alive: KeepAlive::new(),
            on_subscribe: None,
            on_unsubscribe: None,
        }
    }

    /// The number of events kept per topic for replay (default
    /// [`DEFAULT_HISTORY_LEN`](Self::DEFAULT_HISTORY_LEN)). 0 keeps no history: every
    /// resume after an event was published gets the reset event.
    pub fn history_len(mut self, n: usize) -> Self {
        self.limits.len = n;
        self
    }

    /// The age after which an event leaves the history (default
    /// [`DEFAULT_HISTORY_AGE`](Self::DEFAULT_HISTORY_AGE), five minutes). Together with
    /// [`history_len`](Self::history_len) this bounds the memory a topic can hold, and lets a
    /// topic nobody publishes to any more be forgotten. [`Duration::MAX`] keeps events until
    /// the count limit pushes them out.
    pub fn history_age(mut self, d: Duration) -> Self {
        self.limits.age = (d != Duration::MAX).then_some(d);
        self
    }

    /// Keeps the history of topics starting with `prefix` by other limits than the hub-wide
    /// [`history_len`](Self::history_len) and [`history_age`](Self::history_age): at most
    /// `len` events per topic, none older than `age` (`None`: no age limit). For topics whose
    /// histories live differently: generations resumed after a reload for an hour, chat rooms
    /// for minutes. The longest matching prefix wins; a later call for the same prefix
    /// replaces the earlier one.
    ///
    /// With the Redis backend all topics share one stream, trimmed to the largest count of any
    /// rule (the hub-wide one included) in all and to the longest age of any rule; each
    /// topic's own limits then apply when its history is read.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_axum::hub::Hub;
    ///
    /// let hub = Hub::builder()
    ///     .history_len(1000)
    ///     .history_age(Duration::from_secs(5 * 60))
    ///     .retention("gen:", 10_000, Some(Duration::from_secs(3600)))
    ///     .build();
    /// # drop(hub);
    /// ```
    pub fn retention(
        mut self,
        prefix: impl Into<String>,
        len: usize,
        age: Option<Duration>,
    ) -> Self {
        let prefix = prefix.into();
        self.prefixes.retain(|(p, _)| *p != prefix);
        self.prefixes.push((prefix, HistoryLimits { len, age }));
        self
    }

    /// The number of published events a subscriber may have waiting to be written (default
    /// [`DEFAULT_SUBSCRIBER_QUEUE`](Self::DEFAULT_SUBSCRIBER_QUEUE); 0 is treated as 1).
    /// When it is full the [`slow_consumer`](Self::slow_consumer) policy applies. Replayed
    /// history does not count against it.
    pub fn subscriber_queue(mut self, n: usize) -> Self {
        self.queue = n.max(1);
        self
    }

    /// Disconnects a subscriber that has frames waiting and has taken none for longer than
    /// `timeout` (checked when frames are published to it), whatever the
    /// [`slow_consumer`](Self::slow_consumer) policy: under
    /// [`DropOldest`](SlowConsumerPolicy::DropOldest) a reader that stopped reading would
    /// otherwise stay connected for ever, its queue full. `None`: never. Default 30 seconds.
    ///
    /// While it waits, a stalled subscriber holds at most its queue (shared frames, see
    /// [`subscriber_queue`](Self::subscriber_queue)) in the hub; the bytes already handed to
    /// the connection are bounded by the server (hyper's write buffer and the socket's).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_axum::hub::Hub;
    ///
    /// let hub = Hub::builder().stall_timeout(Some(Duration::from_secs(10))).build();
    /// # drop(hub);
    /// ```
    pub fn stall_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// What happens to a subscriber whose queue is full (default
    /// [`SlowConsumerPolicy::DropOldest`]).
    pub fn slow_consumer(mut self, p: SlowConsumerPolicy) -> Self {
        self.policy = p;
        self
    }

    /// The event sent when a subscriber missed events: its `Last-Event-ID` is older than the
    /// history or unknown, or [`SlowConsumerPolicy::DropOldest`] dropped events it had not
    /// read yet. An id set on it is not sent (the client keeps the id of the last event it
    /// really received).
    ///
    /// The default is `event: reset` with empty data, which a browser delivers to
    /// `source.addEventListener("reset", ..)`.
    pub fn reset_event(mut self, e: Event) -> Self {
        self.reset_event = Some(e);
        self
    }

    /// The keep-alive of the [`SseStream`](crate::SseStream) each subscription turns into
    /// (default [`KeepAlive::new`]).
    pub fn keep_alive(mut self, k: KeepAlive) -> Self {
        self.keep_alive = k;
        self
    }

    /// Called after a subscriber is registered, outside the hub's lock (the hook may call the
    /// hub). It runs in the task that subscribed, so it should be quick and must not panic.
    pub fn on_subscribe(mut self, f: impl Fn(&SubscriberInfo) + Send + Sync + 'static) -> Self {
        self.on_subscribe = Some(Box::new(f));
        self
    }

    /// Called once per subscriber when it leaves the hub: its [`Subscription`](super::Subscription)
    /// was dropped (the client went away), it was disconnected as a slow consumer, or the hub
    /// was closed. Called outside the hub's lock; it should be quick and must not panic.
    pub fn on_unsubscribe(mut self, f: impl Fn(&SubscriberInfo) + Send + Sync + 'static) -> Self {
        self.on_unsubscribe = Some(Box::new(f));
        self
    }

    /// Builds the hub.
    #[must_use]
    pub fn build(self) -> Hub {
        let config = self.into_config();
        let backend = Arc::new(MemoryBackend::new(config.retention.clone()));
        Hub::with_backend(config, backend)
    }

    /// Builds a hub over an engine of your own (see [`backend`](super::backend) for what it
    /// must guarantee). The history settings of this builder are the in-memory and Redis
    /// backends'; an engine of your own keeps its own.
    ///
    /// ```
    /// use sse_axum::hub::Hub;
    /// # #[derive(Debug)] struct Mine;
    /// # impl sse_axum::hub::backend::Backend for Mine {
    /// #     fn start(&self, _: sse_axum::hub::backend::Fanout) {}
    /// #     fn publish(&self, _: sse_axum::hub::backend::Publish) -> futures_util::future::BoxFuture<'_, Result<sse_axum::hub::EventId, sse_axum::hub::HubError>> { Box::pin(async { Err(sse_axum::hub::HubError::Closed) }) }
    /// #     fn history<'a>(&'a self, _: &'a [String], _: sse_axum::hub::backend::Start) -> futures_util::future::BoxFuture<'a, Result<sse_axum::hub::backend::History, sse_axum::hub::HubError>> { Box::pin(async { Ok(Default::default()) }) }
    /// #     fn close(&self) {}
    /// # }
    /// let hub = Hub::builder().subscriber_queue(64).build_with(Mine);
    /// # drop(hub);
    /// ```
    #[must_use]
    pub fn build_with(self, backend: impl Backend) -> Hub {
        Hub::with_backend(self.into_config(), Arc::new(backend))
    }

    /// Builds a hub shared through Redis with every other process built with the same
    /// [`RedisBackend`](super::RedisBackend) settings: what one publishes, every one's subscribers receive, and a
    /// `Last-Event-ID` from any of them resumes on any other. See [`RedisBackend`](super::RedisBackend) for how.
    ///
    /// Call it from within a Tokio runtime: it spawns the tasks that read the shared stream.
    ///
    /// ```no_run
    /// use sse_axum::hub::{Hub, RedisBackend};
    ///
    /// # async fn run() -> Result<(), sse_axum::hub::HubError> {
    /// let redis = RedisBackend::new("redis://127.0.0.1:6379")?.prefix("chat");
    /// let hub = Hub::builder().history_len(1000).build_redis(redis).await?;
    /// hub.publish("broadcast", sse_axum::Event::new().data("hello, every instance")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`](super::HubError::Backend) when Redis cannot be reached now (so a misconfigured process
    /// fails at start; later outages are survived) or when there is no Tokio runtime.
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    #[cfg(feature = "redis")]
    pub async fn build_redis(self, redis: super::RedisBackend) -> Result<Hub, super::HubError> {
        let config = self.into_config();
        let backend = super::backend::redis::connect(config.retention.clone(), redis).await?;
        Ok(Hub::with_backend(config, backend))
    }

    fn into_config(self) -> Arc<Config> {
        let reset_event = match self.reset_event {
            Some(event) => event.without_id(),
            None => default_reset_event(),
        };
        Arc::new(Config {
            retention: Retention {
                default: self.limits,
                prefixes: self.prefixes,
            },
            queue: self.queue,
            policy: self.policy,
            stall_timeout: self.stall_timeout,
            reset_frame: reset_event.to_bytes(),
            keep_alive: self.keep_alive,
            on_subscribe: self.on_subscribe,
            on_unsubscribe: self.on_unsubscribe,
        })
    }
}

fn default_reset_event() -> Event {
    Event::new()
        .event(crate::EventType::from_static("reset"))
        .data("")
}

impl Default for HubBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubBuilder")
            .field("history_len", &self.limits.len)
            .field("history_age", &self.limits.age)
            .field("retention", &self.prefixes)
            .field("subscriber_queue", &self.queue)
            .field("slow_consumer", &self.policy)
            .field("stall_timeout", &self.stall_timeout)
            .field("reset_event", &self.reset_event)
            .field("keep_alive", &self.keep_alive)
            .field("on_subscribe", &self.on_subscribe.is_some())
            .field("on_unsubscribe", &self.on_unsubscribe.is_some())
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("retention", &self.retention)
            .field("queue", &self.queue)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
