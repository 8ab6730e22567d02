//! The backend seam: what assigns ids and keeps history, apart from the local fan-out.
//!
//! The [`Hub`](super::Hub) splits publishing in two: the [`Backend`] gives the event its id
//! and records it in the topic's history, then the local registry pushes the same frame to
//! this process's subscribers. [`MemoryBackend`] keeps everything in this process. A shared
//! backend (Redis Streams, where the entry id `<ms>-<seq>` becomes the [`EventId`]) implements
//! the same trait and feeds the local fan-out with what other processes published.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::EventId;
use super::replay::{HistoryLimits, ReplayBuffer};

/// Where a subscriber starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeFrom {
    /// Live events only (no `Last-Event-ID`).
    Live,
    /// The retained history, then live events (no `Last-Event-ID`, history asked for).
    Start,
    /// The events after this id (a `Last-Event-ID`).
    After(EventId),
}

/// What a new subscriber receives before the live events.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// Resuming exactly was impossible: send the reset event first.
    pub(crate) reset: bool,
    /// The history to send, oldest first (shared frames, not copies).
    pub(crate) entries: Vec<(EventId, Bytes)>,
}

/// Assigns ids and keeps the history of every topic.
///
/// Called with the hub's lock held, so ids, history and the registration of subscribers are
/// ordered the same way for everyone; implementations must not block.
pub(crate) trait Backend: Send + fmt::Debug {
    /// The id for the next event; `None` when ids are exhausted.
    fn next_id(&mut self) -> Option<EventId>;

    /// Records the frame published to `topic` under `id` (as returned by `next_id`).
    fn record(&mut self, topic: &str, id: EventId, frame: &Bytes, now: Instant);

    /// What a subscriber of `topics` starting at `from` must receive before the live events.
    fn replay(&mut self, topics: &[String], from: ResumeFrom, now: Instant) -> Replay;

    /// Forgets all history (the hub was closed).
    fn clear(&mut self);
}

/// The in-process backend: ids `<unix ms>-<sequence>` (see [`EventId`]), history in a
/// [`ReplayBuffer`] per topic.
///
/// # Deciding whether a resume is exact
///
/// A `Last-Event-ID` of `L` resumes exactly when, for every subscribed topic, no event newer
/// than `L` has been evicted. Otherwise the subscriber gets the reset event, then the retained
/// events newer than `L`. Two cases always reset:
/// - `L` is from before this hub existed (`L <= origin`): a previous process published events
///   we never saw;
/// - `L` is from the future (`L` newer than the last id assigned): the server restarted with
///   a clock behind the old ids, or the id is made up. The subscriber then gets the whole
///   retained history, all of which is new to it.
///
/// A topic whose history has emptied (every entry aged out, or `history_len(0)`) is forgotten
/// to keep memory bounded; `pruned` remembers the newest id evicted from such topics, so a
/// resume on a forgotten topic is exact only after that id. This can reset a subscriber that
/// missed nothing, never the reverse.
#[derive(Debug)]
pub(crate) struct MemoryBackend {
    limits: HistoryLimits,
    /// Ids at or below this were not assigned by this hub.
    origin: EventId,
    last_id: EventId,
    topics: HashMap<String, ReplayBuffer>,
    pruned: Option<EventId>,
    /// When all topics are next checked for expired entries.
    next_sweep: Instant,
}

/// Topics not published to are checked for expired history at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl MemoryBackend {
    pub(crate) fn new(limits: HistoryLimits, now: Instant) -> Self {
        // Everything up to the end of the current millisecond is from before this hub (a
        // previous process may have published in it); the first id is a later millisecond,
        // written as a plain integer.
        let origin = EventId::new(super::id::unix_millis(), u64::MAX);
        Self {
            limits,
            origin,
            last_id: origin,
            topics: HashMap::new(),
            pruned: None,
            next_sweep: now,
        }
    }

    /// Evicts expired entries everywhere (at most once per [`SWEEP_EVERY`]) and forgets the
    /// topics left empty.
    fn sweep(&mut self, now: Instant) {
        if self.limits.age.is_none() || now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_EVERY;
        let limits = self.limits;
        let mut pruned = self.pruned;
        self.topics.retain(|_, buffer| {
            buffer.evict_expired(now, limits);
            if buffer.is_empty() {
                pruned = pruned.max(buffer.newest_evicted());
            }
            !buffer.is_empty()
        });
        self.pruned = pruned;
    }

    /// Whether the history of `topic` still holds every event after `after`.
    fn covers(&self, topic: &str, after: EventId) -> bool {
        match self.topics.get(topic) {
            Some(buffer) => buffer.covers(after),
            None => self.pruned.is_none_or(|pruned| pruned <= after),
        }
    }

    fn retained(&self, topics: &[String], after: Option<EventId>) -> Vec<(EventId, Bytes)> {
        let mut entries: Vec<(EventId, Bytes)> = topics
            .iter()
            .filter_map(|topic| self.topics.get(topic))
            .flat_map(|buffer| buffer.entries_after(after))
            .map(|(id, frame)| (id, frame.clone()))
            .collect();
        // Each id belongs to exactly one topic, so there is nothing to deduplicate.
        entries.sort_unstable_by_key(|(id, _)| *id);
        entries
    }

    /// The number of topics with retained history.
    #[cfg(test)]
    pub(crate) fn topic_count(&self) -> usize {
        self.topics.len()
    }
}

impl Backend for MemoryBackend {
    fn next_id(&mut self) -> Option<EventId> {
        let id = EventId::next_after(self.last_id)?;
        self.last_id = id;
        Some(id)
    }

    fn record(&mut self, topic: &str, id: EventId, frame: &Bytes, now: Instant) {
        self.sweep(now);
        let limits = self.limits;
        let buffer = match self.topics.get_mut(topic) {
            Some(buffer) => buffer,
            None => self.topics.entry(topic.to_owned()).or_default(),
        };
        buffer.push(id, frame.clone(), now, limits);
        if buffer.is_empty() {
            // `history_len(0)`: nothing to keep, remember only what was let go.
            self.pruned = self.pruned.max(buffer.newest_evicted());
            self.topics.remove(topic);
        }
    }

    fn replay(&mut self, topics: &[String], from: ResumeFrom, now: Instant) -> Replay {
        self.sweep(now);
        let limits = self.limits;
        for topic in topics {
            if let Some(buffer) = self.topics.get_mut(topic) {
                buffer.evict_expired(now, limits);
            }
        }
        match from {
            ResumeFrom::Live => Replay::default(),
            ResumeFrom::Start => Replay {
                reset: false,
                entries: self.retained(topics, None),
            },
            ResumeFrom::After(after) if after > self.last_id => Replay {
                reset: true,
                entries: self.retained(topics, None),
            },
            ResumeFrom::After(after) => Replay {
                reset: after <= self.origin || !topics.iter().all(|t| self.covers(t, after)),
                entries: self.retained(topics, Some(after)),
            },
        }
    }

    fn clear(&mut self) {
        self.topics = HashMap::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(len: usize, age: Option<Duration>) -> MemoryBackend {
        MemoryBackend::new(HistoryLimits { len, age }, Instant::now())
    }

    fn publish(backend: &mut MemoryBackend, topic: &str) -> EventId {
        let id = backend.next_id().unwrap();
        backend.record(topic, id, &Bytes::from(id.to_string()), Instant::now());
        id
    }

    fn ids(replay: &Replay) -> Vec<EventId> {
        replay.entries.iter().map(|(id, _)| *id).collect()
    }

    #[test]
    fn merges_topics_in_id_order() {
        let mut b = backend(10, None);
        let a1 = publish(&mut b, "a");
        let b1 = publish(&mut b, "b");
        let a2 = publish(&mut b, "a");
        let c1 = publish(&mut b, "c");
        let topics = ["a".to_owned(), "b".to_owned()];
        let replay = b.replay(&topics, ResumeFrom::After(a1), Instant::now());
        assert!(!replay.reset);
        assert_eq!(ids(&replay), [b1, a2]);
        let replay = b.replay(&topics, ResumeFrom::Start, Instant::now());
        assert_eq!(ids(&replay), [a1, b1, a2]);
        let replay = b.replay(&topics, ResumeFrom::Live, Instant::now());
        assert!(!replay.reset && replay.entries.is_empty());
        // An id of another topic is a position like any other.
        let replay = b.replay(&topics, ResumeFrom::After(c1), Instant::now());
        assert!(!replay.reset && replay.entries.is_empty());
    }

    #[test]
    fn resets_when_too_old_or_from_the_future() {
        let mut b = backend(2, None);
        let first = publish(&mut b, "a");
        let topics = ["a".to_owned()];
        // From before this hub existed.
        let replay = b.replay(
            &topics,
            ResumeFrom::After(EventId::new(1, 0)),
            Instant::now(),
        );
        assert!(replay.reset);
        assert_eq!(ids(&replay), [first]);
        let second = publish(&mut b, "a");
        let third = publish(&mut b, "a");
        // `first` is evicted: resuming after it is still exact, before it is not.
        let replay = b.replay(&topics, ResumeFrom::After(first), Instant::now());
        assert!(!replay.reset);
        assert_eq!(ids(&replay), [second, third]);
        // From the future: reset, then everything retained.
        let future = EventId::new(third.major() + 1, 0);
        let replay = b.replay(&topics, ResumeFrom::After(future), Instant::now());
        assert!(replay.reset);
        assert_eq!(ids(&replay), [second, third]);
        // A topic nobody published to resumes exactly.
        let other = ["other".to_owned()];
        assert!(
            !b.replay(&other, ResumeFrom::After(first), Instant::now())
                .reset
        );
    }

    #[test]
    fn zero_history_forgets_topics() {
        let mut b = backend(0, None);
        let first = publish(&mut b, "a");
        let second = publish(&mut b, "b");
        assert_eq!(b.topic_count(), 0);
        let topics = ["a".to_owned()];
        assert!(
            b.replay(&topics, ResumeFrom::After(first), Instant::now())
                .reset
        );
        assert!(
            !b.replay(&topics, ResumeFrom::After(second), Instant::now())
                .reset
        );
    }

    #[tokio::test(start_paused = true)]
    async fn forgets_expired_topics_but_not_what_they_held() {
        let mut b = backend(100, Some(Duration::from_secs(60)));
        let first = publish(&mut b, "a");
        tokio::time::advance(Duration::from_secs(30)).await;
        let second = publish(&mut b, "b");
        tokio::time::advance(Duration::from_secs(31)).await;
        let third = publish(&mut b, "c");
        assert_eq!(b.topic_count(), 2, "topic a expired and was forgotten");
        let a = ["a".to_owned()];
        let replay = b.replay(
            &a,
            ResumeFrom::After(EventId::new(first.major() - 1, 0)),
            Instant::now(),
        );
        assert!(replay.reset);
        assert!(!b.replay(&a, ResumeFrom::After(first), Instant::now()).reset);
        let bc = ["b".to_owned(), "c".to_owned()];
        let replay = b.replay(&bc, ResumeFrom::After(first), Instant::now());
        assert!(!replay.reset);
        assert_eq!(ids(&replay), [second, third]);
    }
}
