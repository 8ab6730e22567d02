//! The in-memory backend: ids and history in this process (the default).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{self, BoxFuture, FutureExt as _};
use tokio::time::Instant;

use super::super::replay::{ReplayBuffer, Retention};
use super::super::{EventId, HubError};
use super::{Backend, Fanout, History, Publish, Start};

/// The in-process backend: ids and history behind one lock, which also covers delivering
/// each frame to the [`Fanout`], so frames reach it in id order.
#[derive(Debug)]
pub(crate) struct MemoryBackend {
    state: Mutex<(Histories, Option<Fanout>)>,
}

impl MemoryBackend {
    pub(crate) fn new(retention: Retention) -> Self {
        Self {
            state: Mutex::new((Histories::new(retention, Instant::now()), None)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (Histories, Option<Fanout>)> {
        // Nothing panics while it is held (hooks run after it is released).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backend for MemoryBackend {
    fn start(&self, fanout: Fanout) {
        self.lock().1 = Some(fanout);
    }

    fn publish(&self, publish: Publish) -> BoxFuture<'_, Result<EventId, HubError>> {
        let now = Instant::now();
        let published = {
            let mut state = self.lock();
            let (histories, fanout) = &mut *state;
            let last = publish.is_final();
            if histories.is_finished(publish.topic()) {
                Err(HubError::Finished)
            } else if let Some(id) = histories.next_id() {
                let (topic, frame) = publish.into_frame(id);
                histories.record(&topic, id, &frame, now, last);
                let delivery = fanout.as_ref().map(|f| match last {
                    true => f.deliver_final(&topic, id, frame),
                    false => f.deliver(&topic, id, frame),
                });
                Ok((id, delivery))
            } else {
                Err(HubError::IdsExhausted)
            }
        };
        // The delivery's hooks run here, after the lock is released.
        future::ready(published.map(|(id, _delivery)| id)).boxed()
    }

    fn history<'a>(
        &'a self,
        topics: &'a [String],
        from: Start,
    ) -> BoxFuture<'a, Result<History, HubError>> {
        let history = self.lock().0.history(topics, from, Instant::now());
        future::ready(Ok(history)).boxed()
    }

    fn close(&self) {
        let mut state = self.lock();
        state.0.clear();
        state.1 = None;
    }
}

/// Ids `<unix ms>-<sequence>` (see [`EventId`]), history in a [`ReplayBuffer`] per topic.
///
/// # Whether a history is complete
///
/// A history after `L` is complete when, for every subscribed topic, no event newer than `L`
/// has been evicted. A topic whose history has emptied (every entry aged out, or
/// `history_len(0)`) is forgotten to keep memory bounded; `pruned` remembers the newest id
/// evicted from such topics, so a resume on a forgotten topic is complete only after that
/// id. This can reset a subscriber that missed nothing, never the reverse. Ids up to the end
/// of the millisecond the hub started in are not ours (the origin is after them).
#[derive(Debug)]
struct Histories {
    retention: Retention,
    /// Ids at or below this were not assigned by this hub.
    before_origin: EventId,
    /// The newest id assigned; `None` before the first.
    last_id: Option<EventId>,
    topics: HashMap<String, ReplayBuffer>,
    pruned: Option<EventId>,
    /// When all topics are next checked for expired entries.
    next_sweep: Instant,
}
/// Topics not published to are checked for expired history at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Histories {
    fn new(retention: Retention, now: Instant) -> Self {
        // Everything up to the end of the current millisecond is from before this hub (a
        // previous process may have published in it); the first id is a later millisecond,
        // written as a plain integer.
        let before_origin = EventId::new(super::super::id::unix_millis(), u64::MAX);
        Self {
            retention,
            before_origin,
            last_id: None,
            topics: HashMap::new(),
            pruned: None,
            next_sweep: now,
        }
    }

    /// Evicts expired entries everywhere (at most once per [`SWEEP_EVERY`]) and forgets the
    /// topics left empty.
    fn sweep(&mut self, now: Instant) {
        if !self.retention.ages() || now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_EVERY;
        let retention = &self.retention;
        let mut pruned = self.pruned;
        self.topics.retain(|topic, buffer| {
            buffer.evict_expired(now, retention.of(topic));
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

    fn next_id(&mut self) -> Option<EventId> {
        let id = EventId::next_after(self.last_id.unwrap_or(self.before_origin))?;
        self.last_id = Some(id);
        Some(id)
    }

    fn is_finished(&self, topic: &str) -> bool {
        self.topics
            .get(topic)
            .is_some_and(|buffer| buffer.finished().is_some())
    }

    fn record(&mut self, topic: &str, id: EventId, frame: &Bytes, now: Instant, last: bool) {
        self.sweep(now);
        let limits = self.retention.of(topic);
        let buffer = match self.topics.get_mut(topic) {
            Some(buffer) => buffer,
            None => self.topics.entry(topic.to_owned()).or_default(),
        };
        buffer.push(id, frame.clone(), now, limits);
        if last {
            buffer.finish(id);
        }
        if buffer.is_empty() {
            // `history_len(0)`: nothing to keep, remember only what was let go.
            self.pruned = self.pruned.max(buffer.newest_evicted());
            self.topics.remove(topic);
        }
    }

    fn history(&mut self, topics: &[String], from: Start, now: Instant) -> History {
        self.sweep(now);
        for topic in topics {
            let limits = self.retention.of(topic);
            if let Some(buffer) = self.topics.get_mut(topic) {
                buffer.evict_expired(now, limits);
            }
        }
        let after = match from {
            Start::Oldest => None,
            Start::After(after) => Some(after),
        };
        let complete = after.is_none_or(|after| topics.iter().all(|t| self.covers(t, after)));
        // The least id after `before_origin` (whose sequence part is the largest there is).
        let origin = EventId::new(self.before_origin.major().saturating_add(1), 0);
        let finished = topics
            .iter()
            .filter_map(|topic| Some((topic.clone(), self.topics.get(topic)?.finished()?)))
            .collect();
        History::new(self.retained(topics, after))
            .origin(Some(origin))
            .last(self.last_id)
            .complete(complete)
            .finished(finished)
    }

    fn clear(&mut self) {
        self.topics = HashMap::new();
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::super::{Replay, replay};
    use super::*;

    fn backend(len: usize, age: Option<Duration>) -> MemoryBackend {
        MemoryBackend::new(Retention {
            default: super::super::super::replay::HistoryLimits { len, age },
            prefixes: Vec::new(),
        })
    }

    fn publish(backend: &mut MemoryBackend, topic: &str) -> EventId {
        let histories = &mut backend.lock().0;
        let id = histories.next_id().unwrap();
        histories.record(
            topic,
            id,
            &Bytes::from(id.to_string()),
            Instant::now(),
            false,
        );
        id
    }

    fn ids(replay: &Replay) -> Vec<EventId> {
        replay.entries.iter().map(|(id, _)| *id).collect()
    }

    /// What the hub reads for a subscriber (the memory backend answers at once).
    fn read(backend: &MemoryBackend, topics: &[String], from: Option<EventId>) -> Replay {
        let from = from.map_or(Start::Oldest, Start::After);
        replay(backend, topics, from)
            .now_or_never()
            .unwrap()
            .unwrap()
    }

    fn topic_count(backend: &MemoryBackend) -> usize {
        backend.lock().0.topic_count()
    }

    #[test]
    fn merges_topics_in_id_order() {
        let mut b = backend(10, None);
        let a1 = publish(&mut b, "a");
        let b1 = publish(&mut b, "b");
        let a2 = publish(&mut b, "a");
        let c1 = publish(&mut b, "c");
        let topics = ["a".to_owned(), "b".to_owned()];
        let replay = read(&b, &topics, Some(a1));
        assert!(!replay.reset);
        assert_eq!(ids(&replay), [b1, a2]);
        let replay = read(&b, &topics, None);
        assert_eq!(ids(&replay), [a1, b1, a2]);
        // An id of another topic is a position like any other.
        let replay = read(&b, &topics, Some(c1));
        assert!(!replay.reset && replay.entries.is_empty());
    }

    #[test]
    fn resets_when_too_old_or_from_the_future() {
        let mut b = backend(2, None);
        let first = publish(&mut b, "a");
        let topics = ["a".to_owned()];
        // From before this hub existed.
        let replay = read(&b, &topics, Some(EventId::new(1, 0)));
        assert!(replay.reset);
        assert_eq!(ids(&replay), [first]);
        let second = publish(&mut b, "a");
        let third = publish(&mut b, "a");
        // `first` is evicted: resuming after it is still exact, before it is not.
        let replay = read(&b, &topics, Some(first));
        assert!(!replay.reset);
        assert_eq!(ids(&replay), [second, third]);
        // From the future: reset, then everything retained.
        let future = EventId::new(third.major() + 1, 0);
        let replay = read(&b, &topics, Some(future));
        assert!(replay.reset);
        assert_eq!(ids(&replay), [second, third]);
        // A topic nobody published to resumes exactly.
        let other = ["other".to_owned()];
        assert!(!read(&b, &other, Some(first)).reset);
    }

    #[test]
    fn zero_history_forgets_topics() {
        let mut b = backend(0, None);
        let first = publish(&mut b, "a");
        let second = publish(&mut b, "b");
        assert_eq!(topic_count(&b), 0);
        let topics = ["a".to_owned()];
        assert!(read(&b, &topics, Some(first)).reset);
        assert!(!read(&b, &topics, Some(second)).reset);
    }

    #[tokio::test(start_paused = true)]
    async fn forgets_expired_topics_but_not_what_they_held() {
        let mut b = backend(100, Some(Duration::from_secs(60)));
        let first = publish(&mut b, "a");
        tokio::time::advance(Duration::from_secs(30)).await;
        let second = publish(&mut b, "b");
        tokio::time::advance(Duration::from_secs(31)).await;
        let third = publish(&mut b, "c");
        assert_eq!(topic_count(&b), 2, "topic a expired and was forgotten");
        let a = ["a".to_owned()];
        let replay = read(&b, &a, Some(EventId::new(first.major() - 1, 0)));
        assert!(replay.reset);
        assert!(!read(&b, &a, Some(first)).reset);
        let bc = ["b".to_owned(), "c".to_owned()];
        let replay = read(&b, &bc, Some(first));
        assert!(!replay.reset);
        assert_eq!(ids(&replay), [second, third]);
    }
}
