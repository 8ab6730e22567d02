//! [`Shared`]: what every clone of a hub, every subscription and the backend's [`Fanout`]
//! share: the registry of this process's subscribers, the settings, the counters and the
//! backend.
//!
//! [`Fanout`]: super::backend::Fanout

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::time::Instant;

use super::backend::Backend;
use super::builder::Config;
use super::registry::{Registry, Rules};
use super::subscriber::{SubscriberInfo, SubscriberQueue};
use super::{EventId, HubError};

pub(crate) struct Shared {
    state: Mutex<State>,
    pub(super) config: Arc<Config>,
    pub(super) counters: Counters,
    pub(super) backend: Arc<dyn Backend>,
}

/// Everything behind the hub's lock: only this process's subscribers. The backend keeps its
/// own state behind its own locks.
struct State {
    registry: Registry,
    closed: bool,
    next_subscriber: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) published: AtomicU64,
    /// Deliveries to subscribers after they left the registry (the others are counted per
    /// subscriber: see `Registry::delivered`).
    pub(super) delivered: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) disconnected: AtomicU64,
    pub(super) stalled: AtomicU64,
}

/// A subscriber just registered.
pub(super) struct Registered {
    pub(super) queue: Arc<SubscriberQueue>,
    /// Its topics that had no other subscriber in this process.
    pub(super) new_topics: Vec<String>,
}

/// The registry's counts, for [`Hub::stats`](super::Hub::stats).
pub(super) struct Counts {
    pub(super) subscribers: usize,
    pub(super) topics: usize,
    pub(super) delivered: u64,
}

impl Shared {
    pub(super) fn new(config: Arc<Config>, backend: Arc<dyn Backend>) -> Self {
        Self {
            state: Mutex::new(State {
                registry: Registry::default(),
                closed: false,
                next_subscriber: 0,
            }),
            config,
            counters: Counters::default(),
            backend,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code panics while holding the lock (hooks run outside it); should one ever do,
        // the state is still consistent, so keep serving rather than propagate the panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Adds a subscriber to the registry: from now on its queue collects live frames.
    pub(super) fn register(
        &self,
        topics: Vec<String>,
        last_event_id: Option<EventId>,
    ) -> Result<Registered, HubError> {
        let mut state = self.lock();
        if state.closed {
            return Err(HubError::Closed);
        }
        let id = state.next_subscriber;
        state.next_subscriber += 1;
        let info = SubscriberInfo::new(id, topics.into_boxed_slice(), last_event_id);
        let queue = Arc::new(SubscriberQueue::new(info));
        state.registry.insert(&queue);
        let new_topics = queue
            .info()
            .topics()
            .iter()
            .filter(|topic| state.registry.count(topic) == 1)
            .cloned()
            .collect();
        Ok(Registered { queue, new_topics })
    }

    /// Takes out a subscriber whose subscription failed before it was announced to the hooks.
    pub(super) fn withdraw(&self, queue: &SubscriberQueue) {
        if self.lock().registry.remove(queue) {
            self.backend.topics_removed(queue.info().topics());
        }
    }

    /// Removes a subscriber whose subscription was dropped.
    pub(super) fn unsubscribe(&self, queue: &SubscriberQueue) {
        let removed = self.lock().registry.remove(queue);
        if removed {
            self.unsubscribed(queue);
        }
    }

    /// Tells the backend and the hook about a subscriber that was just removed.
    pub(super) fn unsubscribed(&self, queue: &SubscriberQueue) {
        self.backend.topics_removed(queue.info().topics());
        if let Some(hook) = &self.config.on_unsubscribe {
            hook(queue.info());
        }
    }

    /// Marks the hub closed and ends every subscription after what it has queued.
    pub(super) fn close(&self) {
        let subscribers = {
            let mut state = self.lock();
            state.closed = true;
            state.registry.drain()
        };
        self.backend.close();
        for queue in &subscribers {
            queue.close();
            self.unsubscribed(queue);
        }
    }

    /// Pushes a published frame (`last`: the topic's final one) to this process's subscribers
    /// of `topic` and counts what the
    /// slow-consumer policy did; returns the subscribers it disconnected, whose hooks the
    /// caller runs (outside its locks).
    pub(super) fn deliver(
        &self,
        topic: &str,
        id: EventId,
        frame: &Bytes,
        last: bool,
    ) -> Vec<Arc<SubscriberQueue>> {
        let config = &self.config;
        let delivery = {
            let mut state = self.lock();
            if state.closed {
                return Vec::new();
            }
            let rules = Rules {
                capacity: config.queue,
                policy: config.policy,
                stall: config
                    .stall_timeout
                    .map(|timeout| (timeout, Instant::now())),
            };
            state.registry.deliver(topic, id, frame, last, &rules)
        };
        let counters = &self.counters;
        crate::metrics::dropped(delivery.dropped);
        crate::metrics::stalled("hub", delivery.stalled);
        if delivery.dropped > 0 {
            counters
                .dropped
                .fetch_add(delivery.dropped, Ordering::Relaxed);
        }
        if !delivery.disconnected.is_empty() {
            let n = u64::try_from(delivery.disconnected.len()).unwrap_or(u64::MAX);
            counters.disconnected.fetch_add(n, Ordering::Relaxed);
            counters
                .stalled
                .fetch_add(delivery.stalled, Ordering::Relaxed);
            crate::log::log!(
                debug,
                topic,
                disconnected = n,
                stalled = delivery.stalled,
                "disconnected slow subscribers"
            );
        }
        delivery.disconnected
    }

    /// Sends the reset event to every subscriber of this process.
    pub(super) fn reset_all(&self) {
        let state = self.lock();
        for queue in state.registry.queues() {
            queue.force_reset();
        }
    }

    pub(super) fn subscriber_count(&self, topic: &str) -> usize {
        self.lock().registry.count(topic)
    }

    pub(super) fn total_subscribers(&self) -> usize {
        self.lock().registry.total()
    }

    pub(super) fn topics(&self) -> Vec<String> {
        self.lock().registry.topics().cloned().collect()
    }

    pub(super) fn counts(&self) -> Counts {
        let state = self.lock();
        Counts {
            subscribers: state.registry.total(),
            topics: state.registry.topics().count(),
            delivered: state.registry.delivered(),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: stop the backend's tasks (they hold only a weak reference).
        self.backend.close();
    }
}
