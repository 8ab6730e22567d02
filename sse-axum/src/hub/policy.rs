//! [`SlowConsumerPolicy`]: what happens when a subscriber's queue is full.

/// What the hub does when a subscriber does not keep up and its queue is full.
///
/// Whatever the policy, publishing never waits for a subscriber and one slow subscriber never
/// delays the others: a publish only pushes the shared encoded frame into each subscriber's
/// bounded queue (see [`HubBuilder::subscriber_queue`](super::HubBuilder::subscriber_queue)).
///
/// ```
/// use sse_axum::hub::{Hub, SlowConsumerPolicy};
///
/// let hub = Hub::builder()
///     .subscriber_queue(64)
///     .slow_consumer(SlowConsumerPolicy::Disconnect)
///     .build();
/// # drop(hub);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SlowConsumerPolicy {
    /// Drop the oldest queued event to make room for the new one, and send the hub's reset
    /// event (see [`HubBuilder::reset_event`](super::HubBuilder::reset_event)) just before the
    /// first event after the gap, so the client knows it missed something. The stream goes
    /// on. The default.
    #[default]
    DropOldest,
    /// End the subscriber's stream at once and discard its queue. A browser's `EventSource`
    /// reconnects by itself with the last id it saw and resumes from the topic's history, so
    /// nothing is lost as long as the history still holds the missed events.
    Disconnect,
}
