//! [`ReplayBuffer`]: the bounded history of one topic.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::EventId;

/// How much history a topic keeps: at most `len` entries, none older than `age`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryLimits {
    pub(crate) len: usize,
    pub(crate) age: Option<Duration>,
}

/// History limits for every topic: the hub-wide ones, and those of topic prefixes
/// ([`HubBuilder::retention`](super::HubBuilder::retention)); the longest matching prefix wins.
#[derive(Debug, Clone)]
pub(crate) struct Retention {
    pub(crate) default: HistoryLimits,
    pub(crate) prefixes: Vec<(String, HistoryLimits)>,
}

impl Retention {
    /// The limits of `topic`.
    pub(crate) fn of(&self, topic: &str) -> HistoryLimits {
        self.prefixes
            .iter()
            .filter(|(prefix, _)| topic.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default, |(_, limits)| *limits)
    }

    /// Whether any topic's history ages out.
    pub(crate) fn ages(&self) -> bool {
        self.all().any(|limits| limits.age.is_some())
    }

    /// The longest any history is kept, `None` for as long as its count allows.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn longest_age(&self) -> Option<Duration> {
        let ages: Option<Vec<Duration>> = self.all().map(|limits| limits.age).collect();
        ages.and_then(|ages| ages.into_iter().max())
    }

    /// The largest count any topic keeps.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn largest_len(&self) -> usize {
        self.all().map(|limits| limits.len).max().unwrap_or(0)
    }

    fn all(&self) -> impl Iterator<Item = HistoryLimits> + '_ {
        std::iter::once(self.default).chain(self.prefixes.iter().map(|(_, limits)| *limits))
    }
}

/// One published entry: its id, its encoded frame (shared with every subscriber) and when it
/// was published.
#[derive(Debug, Clone)]
struct Entry {
    id: EventId,
    frame: Bytes,
    at: Instant,
}

/// The history of one topic, oldest first, bounded by count and by age.
///
/// Besides the entries it remembers the id of the newest entry it has let go, so it can tell
/// whether a subscriber resuming after an id would miss something: resuming after `id` is
/// exact when nothing newer than `id` was evicted ([`ReplayBuffer::covers`]).
///
/// Entries hold the same [`Bytes`] that was sent to the live subscribers: keeping history
/// costs a reference count, not a copy.
#[derive(Debug, Default)]
pub(crate) struct ReplayBuffer {
    entries: VecDeque<Entry>,
    newest_evicted: Option<EventId>,
    /// The id of the topic's final event, once it finished.
    finished: Option<EventId>,
}

impl ReplayBuffer {
    /// Appends an entry (ids must be pushed in increasing order) and evicts what the limits
    /// no longer allow.
    pub(crate) fn push(&mut self, id: EventId, frame: Bytes, now: Instant, limits: HistoryLimits) {
        debug_assert!(self.entries.back().is_none_or(|last| last.id < id));
        self.entries.push_back(Entry { id, frame, at: now });
        while self.entries.len() > limits.len {
            self.evict_front();
        }
        self.evict_expired(now, limits);
    }

    /// Evicts the entries older than the age limit.
    pub(crate) fn evict_expired(&mut self, now: Instant, limits: HistoryLimits) {
        let Some(age) = limits.age else { return };
        while self
            .entries
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.at) > age)
        {
            self.evict_front();
        }
    }

    fn evict_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.newest_evicted = Some(entry.id);
        }
        if self.entries.is_empty() {
            // Give the memory back: an empty topic should cost next to nothing.
            self.entries = VecDeque::new();
        }
    }

    /// Whether every entry newer than `after` is still here.
    pub(crate) fn covers(&self, after: EventId) -> bool {
        self.newest_evicted.is_none_or(|evicted| evicted <= after)
    }

    /// The id of the newest entry evicted so far.
    pub(crate) fn newest_evicted(&self) -> Option<EventId> {
        self.newest_evicted
    }

    /// Records that the topic finished with the entry `id`.
    pub(crate) fn finish(&mut self, id: EventId) {
        self.finished = Some(id);
    }

    /// The id of the topic's final event, if it finished.
    pub(crate) fn finished(&self) -> Option<EventId> {
        self.finished
    }

    /// Whether no entry is retained.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of retained entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The retained entries newer than `after` (all of them for `None`), oldest first.
    pub(crate) fn entries_after(
        &self,
        after: Option<EventId>,
    ) -> impl Iterator<Item = (EventId, &Bytes)> + '_ {
        let start = after.map_or(0, |after| self.entries.partition_point(|e| e.id <= after));
        self.entries.range(start..).map(|e| (e.id, &e.frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> EventId {
        EventId::new(n, 0)
    }

    fn ids(buffer: &ReplayBuffer, after: Option<u64>) -> Vec<u64> {
        buffer
            .entries_after(after.map(id))
            .map(|(i, _)| i.major())
            .collect()
    }

    #[test]
    fn bounded_by_count_and_remembers_what_it_let_go() {
        let limits = HistoryLimits { len: 3, age: None };
        let mut buffer = ReplayBuffer::default();
        let now = Instant::now();
        for n in [10, 20, 30] {
            buffer.push(id(n), Bytes::from_static(b"x"), now, limits);
        }
        assert!(buffer.covers(EventId::ZERO));
        assert_eq!(ids(&buffer, None), [10, 20, 30]);
        buffer.push(id(40), Bytes::from_static(b"x"), now, limits);
        assert_eq!(buffer.len(), 3);
        assert_eq!(buffer.newest_evicted(), Some(id(10)));
        assert!(!buffer.covers(id(5)));
        assert!(buffer.covers(id(10)));
        assert!(buffer.covers(id(15)));
        assert_eq!(ids(&buffer, Some(10)), [20, 30, 40]);
        assert_eq!(ids(&buffer, Some(25)), [30, 40]);
        assert_eq!(ids(&buffer, Some(40)), Vec::<u64>::new());
        assert_eq!(ids(&buffer, Some(99)), Vec::<u64>::new());
    }

    #[test]
    fn zero_length_keeps_nothing() {
        let limits = HistoryLimits { len: 0, age: None };
        let mut buffer = ReplayBuffer::default();
        buffer.push(id(1), Bytes::from_static(b"x"), Instant::now(), limits);
        assert!(buffer.is_empty());
        assert!(!buffer.covers(EventId::ZERO));
        assert!(buffer.covers(id(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_by_age() {
        let limits = HistoryLimits {
            len: 100,
            age: Some(Duration::from_secs(10)),
        };
        let mut buffer = ReplayBuffer::default();
        buffer.push(id(1), Bytes::from_static(b"a"), Instant::now(), limits);
        tokio::time::advance(Duration::from_secs(6)).await;
        buffer.push(id(2), Bytes::from_static(b"b"), Instant::now(), limits);
        tokio::time::advance(Duration::from_secs(5)).await;
        buffer.evict_expired(Instant::now(), limits);
        assert_eq!(ids(&buffer, None), [2]);
        assert!(!buffer.covers(EventId::ZERO));
        tokio::time::advance(Duration::from_secs(6)).await;
        buffer.evict_expired(Instant::now(), limits);
        assert!(buffer.is_empty());
        assert_eq!(buffer.newest_evicted(), Some(id(2)));
    }
}
