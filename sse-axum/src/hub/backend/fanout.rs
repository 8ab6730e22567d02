//! [`Fanout`]: the handle through which a backend reaches this process's subscribers.

use std::fmt;
use std::sync::{Arc, Weak};

use bytes::Bytes;

use super::super::EventId;
use super::super::shared::Shared;
use super::super::subscriber::SubscriberQueue;

/// This process's subscribers, as a backend sees them: it delivers published frames here.
///
/// Given to [`Backend::start`](super::Backend::start). It holds the hub weakly: once the hub
/// is closed or every handle to it dropped, [`deliver`](Fanout::deliver) does nothing and
/// [`is_open`](Fanout::is_open) is false, so a backend's tasks know to stop.
#[derive(Clone)]
pub struct Fanout {
    shared: Weak<Shared>,
}

/// What one delivery left to do: the hooks of subscribers it disconnected
/// ([`SlowConsumerPolicy::Disconnect`](crate::hub::SlowConsumerPolicy::Disconnect)). They run when
/// it is dropped, so drop it after releasing your own locks (a hook may publish).
#[must_use = "dropping it runs the hooks; hold it until your locks are released"]
pub struct Delivery {
    shared: Option<Arc<Shared>>,
    disconnected: Vec<Arc<SubscriberQueue>>,
}

impl Fanout {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        Self {
            shared: Arc::downgrade(shared),
        }
    }

    /// Whether the hub is still open.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|shared| !shared.is_closed())
    }

    /// Pushes a published frame to this process's subscribers of `topic`, in the order of
    /// the calls (make them in id order). Never waits: a full queue is handled by the hub's
    /// slow-consumer policy.
    pub fn deliver(&self, topic: &str, id: EventId, frame: Bytes) -> Delivery {
        self.deliver_frame(topic, id, frame, false)
    }

    /// As [`deliver`](Fanout::deliver), for a topic's final frame
    /// ([`Publish::is_final`](super::Publish::is_final)): each subscriber's stream ends after
    /// it once all of its topics have finished.
    pub fn deliver_final(&self, topic: &str, id: EventId, frame: Bytes) -> Delivery {
        self.deliver_frame(topic, id, frame, true)
    }

    fn deliver_frame(&self, topic: &str, id: EventId, frame: Bytes, last: bool) -> Delivery {
        // A closed hub's registry is empty, and `deliver` checks under its lock.
        let Some(shared) = self.shared.upgrade() else {
            return Delivery {
                shared: None,
                disconnected: Vec::new(),
            };
        };
        let disconnected = shared.deliver(topic, id, &frame, last);
        Delivery {
            shared: Some(shared),
            disconnected,
        }
    }

    /// Sends every subscriber of this process the reset event (the backend lost events it
    /// cannot replay, e.g. its data was wiped).
    pub fn reset_all(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.reset_all();
        }
    }

    /// The topics with a subscriber in this process.
    #[must_use]
    pub fn topics(&self) -> Vec<String> {
        self.shared
            .upgrade()
            .map(|shared| shared.topics())
            .unwrap_or_default()
    }

    /// Whether `topic` has a subscriber in this process.
    #[must_use]
    pub fn has_subscribers(&self, topic: &str) -> bool {
        self.shared
            .upgrade()
            .is_some_and(|shared| shared.subscriber_count(topic) > 0)
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            for queue in &self.disconnected {
                shared.unsubscribed(queue);
            }
        }
    }
}

impl fmt::Debug for Fanout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fanout")
            .field("open", &self.is_open())
            .finish()
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("disconnected", &self.disconnected.len())
            .finish()
    }
}
