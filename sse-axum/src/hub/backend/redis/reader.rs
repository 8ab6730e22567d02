//! The two tasks each process runs for a shared hub: the reader, which feeds the local fan-out
//! from the stream and reconnects to Redis, and the presence task.
//!
//! Both reach the hub through its [`Fanout`] and end when it is closed or dropped.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use redis::Value;
use redis::aio::MultiplexedConnection;
use tokio::time::Instant;

use super::super::super::EventId;
use super::super::{Fanout, fill_template};
use super::{Backplane, READ_BATCH, READ_BLOCK, RedisBackend, wire};

/// Where the reader is in the stream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Position {
    /// The last id delivered (or skipped); the next read starts after it.
    pub(super) last: EventId,
    /// The origin of the stream incarnation being read; `None` before the first entry.
    pub(super) origin: Option<EventId>,
}

/// Reads the stream from `position` and hands each entry to the local fan-out, in order,
/// reconnecting with backoff whenever Redis is lost.
pub(super) async fn read(
    plane: Arc<Backplane>,
    fanout: Fanout,
    mut position: Position,
    connection: MultiplexedConnection,
) {
    let settings = &plane.settings;
    let mut backoff = Backoff::new(settings.min_backoff, settings.max_backoff);
    let mut connection = Some(connection);
    let mut connected = true;
    loop {
        if plane.cancel.is_cancelled() || !fanout.is_open() {
            return;
        }
        let attempt = async {
            let mut reader = match connection.take() {
                Some(reader) => reader,
                None => plane.connect_reader().await?,
            };
            if !plane.has_command() {
                plane.set_command(Some(plane.connect_command().await?));
            }
            let reply = read_once(&plane, &mut reader, position.last).await?;
            Ok::<_, redis::RedisError>((reader, reply))
        };
        let result = tokio::select! {
            () = plane.cancel.cancelled() => return,
            result = attempt => result,
        };
        match result {
            Ok((reader, (origin, entries))) => {
                connection = Some(reader);
                if !connected {
                    connected = true;
                    backoff.reset();
                    crate::log::log!(
                        info,
                        stream = plane.keys.stream,
                        "redis backplane reconnected"
                    );
                    plane.refresh_all.store(true, Ordering::Relaxed);
                    plane.wake.notify_one();
                }
                if origin != position.origin {
                    // An origin appearing where there was none is the stream being read (from
                    // its beginning, or from a point before it got an origin) getting its
                    // first entry. Any other change means the stream was lost (Redis restarted
                    // without persistence, or the key was deleted), with what was not yet read.
                    let continues = position.origin.is_none();
                    position.origin = origin;
                    if !continues {
                        crate::log::log!(
                            warn,
                            stream = plane.keys.stream,
                            "redis stream was lost; subscribers get the reset event"
                        );
                        position.last = EventId::ZERO;
                        fanout.reset_all();
                        // What was read came from the old position: read the new stream
                        // from its beginning instead.
                        continue;
                    }
                }
                for entry in entries {
                    position.last = entry.id;
                    if let Some((topic, template)) = entry.content {
                        let frame = fill_template(&template, entry.id);
                        drop(match entry.last {
                            true => fanout.deliver_final(&topic, entry.id, frame),
                            false => fanout.deliver(&topic, entry.id, frame),
                        });
                    }
                }
            }
            Err(error) => {
                let _ = &error; // only logged (feature `tracing`)
                connection = None;
                plane.set_command(None);
                if connected {
                    connected = false;
                    crate::log::log!(warn,
                        stream = plane.keys.stream,
                        %error,
                        "redis backplane lost; publishing fails until it is back, reconnecting"
                    );
                } else {
                    crate::log::log!(debug, %error, "redis reconnection attempt failed");
                }
                let delay = backoff.next_delay();
                tokio::select! {
                    () = plane.cancel.cancelled() => return,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// One round trip: the stream's origin, then the entries after `last` (waiting up to
/// [`READ_BLOCK`] for some).
async fn read_once(
    plane: &Backplane,
    connection: &mut MultiplexedConnection,
    last: EventId,
) -> Result<(Option<EventId>, Vec<wire::Entry>), redis::RedisError> {
    let block_ms = u64::try_from(READ_BLOCK.as_millis()).unwrap_or(u64::MAX);
    let (origin, entries): (Value, Value) = redis::pipe()
        .cmd("GET")
        .arg(&plane.keys.origin)
        .cmd("XREAD")
        .arg("COUNT")
        .arg(READ_BATCH)
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(&plane.keys.stream)
        .arg(wire::stream_id(last))
        .query_async(connection)
        .await?;
    Ok((wire::parse_id(&origin), wire::xread_entries(&entries)))
}

/// Keeps this process's presence in Redis: announces topics that gained their first local
/// subscriber, withdraws those that lost their last, and renews all of them every third of
/// [`RedisBackend::PRESENCE_TTL`] (and at once when Redis comes back).
pub(super) async fn keep_presence(plane: Arc<Backplane>, fanout: Fanout) {
    let every = RedisBackend::PRESENCE_TTL / 3;
    let mut next_refresh = Instant::now() + every;
    loop {
        tokio::select! {
            () = plane.cancel.cancelled() => return,
            () = plane.wake.notified() => {}
            () = tokio::time::sleep_until(next_refresh) => {}
        }
        if !fanout.is_open() {
            return;
        }
        let mut topics =
            std::mem::take(&mut *plane.dirty.lock().unwrap_or_else(PoisonError::into_inner));
        let refresh =
            plane.refresh_all.swap(false, Ordering::Relaxed) || Instant::now() >= next_refresh;
        if refresh {
            topics.extend(fanout.topics());
        }
        let changes: Vec<(String, bool)> = topics
            .into_iter()
            .map(|topic| {
                let present = fanout.has_subscribers(&topic);
                (topic, present)
            })
            .collect();
        if refresh {
            next_refresh = Instant::now() + every;
        }
        if changes.is_empty() {
            continue;
        }
        let borrowed: Vec<(&str, bool)> = changes.iter().map(|(t, p)| (t.as_str(), *p)).collect();
        if let Err(error) = plane.presence(&borrowed).await {
            let _ = &error; // only logged (feature `tracing`)
            crate::log::log!(debug, %error, "cannot update presence now; retrying later");
            // Retried at the next renewal or change; bounded by the number of topics.
            let mut dirty = plane.dirty.lock().unwrap_or_else(PoisonError::into_inner);
            dirty.extend(changes.into_iter().map(|(topic, _)| topic));
        }
    }
}

/// Exponential backoff with jitter (`crate::jitter`): each delay is drawn from the upper half of a window that
/// doubles from `min` up to `max`.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    window: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            window: min,
        }
    }

    fn reset(&mut self) {
        self.window = self.min;
    }

    fn next_delay(&mut self) -> Duration {
        let window = self.window;
        self.window = (self.window * 2).min(self.max);
        crate::jitter::between(window, 0.5, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_resets() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let mut backoff = Backoff::new(min, max);
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        let mut window = min;
        for delay in &delays {
            assert!(
                *delay >= window / 2 && *delay <= window,
                "{delay:?} in {window:?}"
            );
            window = (window * 2).min(max);
        }
        assert!(delays[7] >= max / 2);
        backoff.reset();
        assert!(backoff.next_delay() <= min);
    }
}
