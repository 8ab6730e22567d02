//! The local fan-out: which of this process's subscribers listen to which topic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::subscriber::{Offer, SubscriberQueue};
use super::{EventId, SlowConsumerPolicy};

/// The subscribers of each topic. A topic is here only while it has subscribers.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    topics: HashMap<String, HashMap<u64, Arc<SubscriberQueue>>>,
    subscribers: usize,
    /// The deliveries counted by subscribers that have left (see [`Registry::delivered`]).
    retired_deliveries: u64,
}

/// How a delivery treats each subscriber's queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    pub(crate) capacity: usize,
    pub(crate) policy: SlowConsumerPolicy,
    /// The stall timeout and the time now.
    pub(crate) stall: Option<(Duration, Instant)>,
}

/// What one delivery did, for the hub's counters and hooks.
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Frames discarded by the slow-consumer policy.
    pub(crate) dropped: u64,
    /// Subscribers disconnected (and removed) by the slow-consumer policy or the stall
    /// timeout.
    pub(crate) disconnected: Vec<Arc<SubscriberQueue>>,
    /// How many of them by the stall timeout.
    pub(crate) stalled: u64,
}

impl Registry {
    /// Adds a subscriber to each of its topics.
    pub(crate) fn insert(&mut self, queue: &Arc<SubscriberQueue>) {
        let id = queue.info().id();
        for topic in queue.info().topics() {
            let subscribers = match self.topics.get_mut(topic.as_str()) {
                Some(subscribers) => subscribers,
                None => self.topics.entry(topic.clone()).or_default(),
            };
            subscribers.insert(id, Arc::clone(queue));
        }
        self.subscribers += 1;
        crate::metrics::subscribed();
    }

    /// Removes a subscriber from all its topics; `false` if it was not registered.
    pub(crate) fn remove(&mut self, queue: &SubscriberQueue) -> bool {
        let id = queue.info().id();
        let mut found = false;
        for topic in queue.info().topics() {
            if let Some(subscribers) = self.topics.get_mut(topic.as_str()) {
                found |= subscribers.remove(&id).is_some();
                if subscribers.is_empty() {
                    self.topics.remove(topic.as_str());
                }
            }
        }
        if found {
            self.subscribers -= 1;
            self.retired_deliveries += queue.retire();
            crate::metrics::unsubscribed();
        }
        found
    }

    /// Removes every subscriber and returns them.
    pub(crate) fn drain(&mut self) -> Vec<Arc<SubscriberQueue>> {
        let mut all: HashMap<u64, Arc<SubscriberQueue>> = HashMap::new();
        for (_, subscribers) in self.topics.drain() {
            all.extend(subscribers);
        }
        self.subscribers = 0;
        for queue in all.values() {
            self.retired_deliveries += queue.retire();
            crate::metrics::unsubscribed();
        }
        all.into_values().collect()
    }

    /// Offers the frame to every subscriber of `topic`; never waits.
    pub(crate) fn deliver(
        &mut self,
        topic: &str,
        id: EventId,
        frame: &Bytes,
        last: bool,
        rules: &Rules,
    ) -> Delivery {
        let Rules {
            capacity,
            policy,
            stall,
        } = *rules;
        let mut delivery = Delivery::default();
        let Some(subscribers) = self.topics.get(topic) else {
            return delivery;
        };
        for queue in subscribers.values() {
            match queue.offer_at(id, frame, last, capacity, policy, stall) {
                Offer::Queued | Offer::Ended => {}
                Offer::DroppedOldest => delivery.dropped += 1,
                Offer::Disconnected(discarded) => {
                    delivery.dropped += u64::try_from(discarded).unwrap_or(u64::MAX);
                    delivery.disconnected.push(Arc::clone(queue));
                }
                Offer::Stalled(discarded) => {
                    delivery.dropped += u64::try_from(discarded).unwrap_or(u64::MAX);
                    delivery.stalled += 1;
                    delivery.disconnected.push(Arc::clone(queue));
                }
            }
        }
        for queue in &delivery.disconnected {
            self.remove(queue);
        }
        delivery
    }

    /// Every subscriber, once per topic it subscribed to.
    pub(crate) fn queues(&self) -> impl Iterator<Item = &Arc<SubscriberQueue>> {
        self.topics.values().flat_map(HashMap::values)
    }

    /// The number of subscribers of `topic`.
    pub(crate) fn count(&self, topic: &str) -> usize {
        self.topics.get(topic).map_or(0, HashMap::len)
    }

    /// The frames handed to subscribers' streams so far, by subscribers registered now and by
    /// those that have left while registered (later deliveries of a subscriber that left are
    /// in the hub's counter). Walks the subscribers: O(n).
    pub(crate) fn delivered(&self) -> u64 {
        let registered: u64 = self
            .topics
            .iter()
            .flat_map(|(topic, subscribers)| {
                subscribers
                    .values()
                    // Each subscriber once, under its first topic.
                    .filter(move |queue| queue.info().topics().first() == Some(topic))
            })
            .map(|queue| queue.delivered())
            .sum();
        self.retired_deliveries + registered
    }

    /// The number of subscribers.
    pub(crate) fn total(&self) -> usize {
        self.subscribers
    }

    /// The topics with at least one subscriber.
    pub(crate) fn topics(&self) -> impl Iterator<Item = &String> {
        self.topics.keys()
    }
}
