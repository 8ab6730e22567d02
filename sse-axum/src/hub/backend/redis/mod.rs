//! A hub shared by several processes through one Redis Stream: see [`RedisBackend`].
//!
//! - this file: the settings, and [`Backplane`], the [`Backend`] over Redis: the connection
//!   used for commands, and the publish, history and presence steps, each one Lua script
//!   ([`scripts`]).
//! - [`reader`]: the one task per process that reads the stream and feeds the local fan-out,
//!   and the task that keeps this process's presence announced.
//! - [`wire`]: the entry format and the rule for exact resumption.

mod reader;
mod scripts;
mod wire;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt as _};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Script, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::super::replay::Retention;
use super::super::{BackendError, BackendErrorKind, EventId, HubError};
use super::{Backend, Fanout, History, Publish, Start, fill_template};
use wire::StreamInfo;

/// Settings of a hub shared through Redis, given to
/// [`HubBuilder::build_redis`](crate::hub::HubBuilder::build_redis).
///
/// # How it works
///
/// - **One stream per hub** (`<prefix>:stream`) holds every topic's events, so there is one
///   ordered id space: the Redis entry id (`<ms>-<seq>`) is the SSE event id, and a
///   `Last-Event-ID` from any process resumes on any other, whatever topics it names.
/// - **Publishing** appends one entry (a Lua script, one round trip) holding the topic and the
///   encoded events, and trims the stream to the hub's
///   [`history_len`](crate::hub::HubBuilder::history_len) (exactly below 1000 entries,
///   approximately (`MAXLEN ~`) above; the length counts every topic together) and
///   [`history_age`](crate::hub::HubBuilder::history_age) (`MINID ~`). It returns once Redis has
///   the entry, or fails with [`HubError::Backend`]: an event is never dropped silently.
/// - **Each process runs one reader task** (`XREAD BLOCK` from the last id it delivered) that
///   feeds the same local fan-out the in-memory hub uses, in stream order. A slow subscriber
///   only fills its own bounded queue; the reader never waits for it.
/// - **Subscribing with a `Last-Event-ID`** registers the subscriber first, then reads the
///   history after the id (one atomic script), then drops the live events that arrived
///   meanwhile and the history already holds: no gap, no duplicate at the seam. The reset
///   event is sent when the id is older than the history, from before the stream's current
///   incarnation (Redis restarted empty), or newer than anything Redis gave out.
/// - **Presence**: each process announces, per topic, that it has subscribers, in a sorted
///   set scored by expiry (refreshed every [`PRESENCE_TTL`](Self::PRESENCE_TTL) / 3, withdrawn
///   when its last local subscriber leaves; a crashed process expires after the TTL), which
///   [`Hub::is_subscribed_anywhere`](crate::hub::Hub::is_subscribed_anywhere) and [`Hub::topics_anywhere`](crate::hub::Hub::topics_anywhere) read.
/// - **Two connections per process**, whatever the number of subscribers: one multiplexed
///   for commands, one for the blocking read.
///
/// # When Redis goes away
///
/// Publishing fails at once with [`HubError::Backend`]; subscribing with a `Last-Event-ID`
/// (which needs the history) fails the same way, live-only subscribing still works.
/// Subscribers stay connected. The reader reconnects with exponential backoff and jitter,
/// logging once when Redis is lost and once when it is back. If Redis came back without its
/// data (the stream's origin changed), every subscriber of this process gets the reset event
/// and the reader starts from the new stream's beginning, so nothing published after the
/// restart is missed.
///
/// ```no_run
/// use std::time::Duration;
/// use sse_axum::hub::{Hub, RedisBackend};
///
/// # async fn run() -> Result<(), sse_axum::hub::HubError> {
/// let redis = RedisBackend::new("redis://127.0.0.1:6379")?
///     .prefix("chat")
///     .response_timeout(Duration::from_secs(2));
/// let hub = Hub::builder().history_len(1000).build_redis(redis).await?;
/// # drop(hub); Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RedisBackend {
    client: redis::Client,
    prefix: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
}

impl RedisBackend {
    /// The default prefix of the hub's keys.
    pub const DEFAULT_PREFIX: &'static str = "sse-axum";
    /// How long a process's announcement that it has subscribers of a topic lasts unless
    /// renewed (it is renewed every third of it).
    pub const PRESENCE_TTL: Duration = Duration::from_secs(30);
    /// The most topics [`Hub::topics_anywhere`](crate::hub::Hub::topics_anywhere) lists.
    pub const MAX_LISTED_TOPICS: usize = 10_000;

    /// Redis at `url` (`redis://[user:password@]host[:port][/db]`), with the default
    /// settings: prefix [`DEFAULT_PREFIX`](Self::DEFAULT_PREFIX), 2 s to connect, 5 s for a
    /// reply, reconnection backoff from 100 ms to 5 s.
    ///
    /// ```
    /// use sse_axum::hub::{BackendErrorKind, HubError, RedisBackend};
    ///
    /// assert!(RedisBackend::new("redis://127.0.0.1:6379").is_ok());
    /// let error = RedisBackend::new("http://example").unwrap_err();
    /// assert!(matches!(error, HubError::Backend(e) if e.kind() == BackendErrorKind::Config));
    /// ```
    ///
    /// # Errors
    ///
    /// [`HubError::Backend`] (of kind [`Config`](BackendErrorKind::Config)) when the URL is
    /// not a Redis URL. Nothing is connected yet.
    pub fn new(url: &str) -> Result<Self, HubError> {
        let client =
            redis::Client::open(url).map_err(|e| BackendError::new(BackendErrorKind::Config, e))?;
        Ok(Self {
            client,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        })
    }

    /// The prefix of the hub's keys (`<prefix>:stream`, `<prefix>:origin`,
    /// `<prefix>:presence`, `<prefix>:presence:<topic>`): processes with the same prefix
    /// share one hub; other prefixes are other hubs on the same Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long connecting may take before the attempt fails (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a command may wait for its reply before it fails with
    /// [`HubError::Backend`] (default 5 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The delays between reconnection attempts: from `min`, doubling up to `max`, each
    /// with random jitter (default 100 ms to 5 s).
    pub fn reconnect_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }
}

impl fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection info may hold a password: show where, not how.
        f.debug_struct("RedisBackend")
            .field(
                "addr",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("prefix", &self.prefix)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("min_backoff", &self.min_backoff)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

/// The most entries one blocking read returns.
const READ_BATCH: usize = 512;
/// How long one blocking read waits for entries before the reader checks the stream's origin.
const READ_BLOCK: Duration = Duration::from_secs(1);
/// Below this history length the stream is trimmed exactly; above, approximately.
const EXACT_TRIM_BELOW: usize = 1000;
/// The most presence changes sent in one script call.
const PRESENCE_BATCH: usize = 256;

/// The hub's key names.
#[derive(Debug)]
struct Keys {
    stream: String,
    origin: String,
    index: String,
    finished: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            stream: format!("{prefix}:stream"),
            origin: format!("{prefix}:origin"),
            index: format!("{prefix}:presence"),
            finished: format!("{prefix}:finished"),
        }
    }

    fn presence(&self, topic: &str) -> String {
        format!("{}:{topic}", self.index)
    }

    /// The marker of a finished topic (its final id).
    fn finished(&self, topic: &str) -> String {
        format!("{}:{topic}", self.finished)
    }
}

struct Scripts {
    publish: Script,
    snapshot: Script,
    presence: Script,
    presence_count: Script,
    presence_list: Script,
}

/// One process's side of the shared hub: what the [`Hub`](crate::hub::Hub) calls for publishing and
/// subscribing, and what its reader and presence tasks share.
pub(crate) struct Backplane {
    settings: RedisBackend,
    keys: Keys,
    /// `MAXLEN` of the stream and whether trimming is exact (`=`) or approximate (`~`).
    max_len: usize,
    /// Each topic's history limits, applied when it is read.
    retention: Retention,
    trim: &'static str,
    /// The maximum age of entries in ms; 0: none.
    max_age_ms: u64,
    /// The connection for commands; `None` while Redis is unreachable (the reader task
    /// re-establishes it).
    command: Mutex<Option<MultiplexedConnection>>,
    /// This process's name in the presence sets.
    member: String,
    /// Topics whose local subscriber count went to or from zero since the presence task ran.
    dirty: Mutex<HashSet<String>>,
    /// Wakes the presence task.
    wake: Notify,
    /// Set when Redis came back: announce every local topic again.
    refresh_all: AtomicBool,
    /// Stops both tasks (the hub was closed or dropped).
    cancel: CancellationToken,
    scripts: Scripts,
    /// This backplane, for the tasks `start` spawns.
    me: Weak<Backplane>,
    /// Taken by `start`.
    pending: Mutex<Option<Pending>>,
}

/// What `start` needs to spawn the reader: where the stream stood at connection, its
/// connection, and the runtime to run on.
struct Pending {
    position: reader::Position,
    connection: MultiplexedConnection,
    runtime: tokio::runtime::Handle,
}

/// Connects and reads where the stream stands; [`Backend::start`] starts the reader and
/// presence tasks.
pub(crate) async fn connect(
    retention: Retention,
    settings: RedisBackend,
) -> Result<Arc<Backplane>, HubError> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Err(BackendError::new(
            BackendErrorKind::Config,
            "the redis backend needs a tokio runtime",
        )
        .into());
    };
    // One stream holds every topic: trimmed by the largest count and the longest age of any
    // rule; each topic's own limits apply when its history is read.
    let max_len = retention.largest_len();
    let max_age_ms = retention
        .longest_age()
        .map_or(0, |age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
    let plane = Arc::new_cyclic(|me| Backplane {
        me: me.clone(),
        keys: Keys::new(&settings.prefix),
        max_len,
        retention,
        trim: if max_len < EXACT_TRIM_BELOW { "=" } else { "~" },
        max_age_ms,
        command: Mutex::new(None),
        member: format!("{:016x}", std::hash::RandomState::new().hash_one(0_u8)),
        dirty: Mutex::new(HashSet::new()),
        wake: Notify::new(),
        refresh_all: AtomicBool::new(false),
        cancel: CancellationToken::new(),
        scripts: Scripts {
            publish: Script::new(scripts::PUBLISH),
            snapshot: Script::new(scripts::SNAPSHOT),
            presence: Script::new(scripts::PRESENCE),
            presence_count: Script::new(scripts::PRESENCE_COUNT),
            presence_list: Script::new(scripts::PRESENCE_LIST),
        },
        pending: Mutex::new(None),
        settings,
    });
    let command = plane.connect_command().await.map_err(unavailable)?;
    plane.set_command(Some(command));
    let connection = plane.connect_reader().await.map_err(unavailable)?;
    let (info, _, _) = plane.read_snapshot("-", 0, &[]).await?;
    crate::log::log!(
        info,
        stream = plane.keys.stream,
        last_id = info.last.map(|id| id.to_string()),
        "redis backplane connected"
    );
    let position = reader::Position {
        last: info.last.unwrap_or(EventId::ZERO),
        origin: info.origin,
    };
    *lock(&plane.pending) = Some(Pending {
        position,
        connection,
        runtime,
    });
    Ok(plane)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(error: RedisError) -> HubError {
    BackendError::new(BackendErrorKind::Unavailable, error).into()
}

fn protocol(what: &'static str) -> HubError {
    BackendError::new(BackendErrorKind::Protocol, what).into()
}

impl Backplane {
    async fn connect_command(&self) -> Result<MultiplexedConnection, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(Some(self.settings.response_timeout));
        self.settings
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    /// The reader's own connection: its blocking reads must not hold up commands.
    async fn connect_reader(&self) -> Result<MultiplexedConnection, RedisError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(Some(READ_BLOCK + self.settings.response_timeout));
        self.settings
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }

    fn command_slot(&self) -> MutexGuard<'_, Option<MultiplexedConnection>> {
        self.command.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_command(&self, connection: Option<MultiplexedConnection>) {
        *self.command_slot() = connection;
    }

    fn has_command(&self) -> bool {
        self.command_slot().is_some()
    }

    fn command(&self) -> Result<MultiplexedConnection, HubError> {
        self.command_slot().clone().ok_or_else(|| {
            BackendError::new(BackendErrorKind::Unavailable, "not connected to redis").into()
        })
    }

    /// Turns a failed command into the error to report; a broken connection is dropped so
    /// the reader task reconnects.
    fn failed(&self, error: RedisError) -> HubError {
        let broken = error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_timeout()
            || error.is_unrecoverable_error();
        if broken {
            self.set_command(None);
            BackendError::new(BackendErrorKind::Unavailable, error).into()
        } else {
            BackendError::new(BackendErrorKind::Protocol, error).into()
        }
    }

    /// Appends one entry to the stream; the reader tasks deliver it everywhere, this
    /// process included.
    async fn append(&self, publish: Publish) -> Result<EventId, HubError> {
        let last = publish.is_final();
        // A finished topic is remembered as long as its history may be kept.
        let finished_ttl_ms = self
            .retention
            .of(publish.topic())
            .age
            .map_or(0, |age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX));
        let (topic, template) = publish.into_template();
        let mut connection = self.command()?;
        let reply: Value = self
            .scripts
            .publish
            .key(&self.keys.stream)
            .key(&self.keys.origin)
            .key(self.keys.finished(&topic))
            .arg(self.max_len)
            .arg(self.trim)
            .arg(self.max_age_ms)
            .arg(&topic)
            .arg(template.as_ref())
            .arg(if last { "1" } else { "0" })
            .arg(finished_ttl_ms)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.failed(e))?;
        if wire::bytes(&reply) == Some(b"finished".as_slice()) {
            return Err(HubError::Finished);
        }
        wire::parse_id(&reply).ok_or_else(|| protocol("publish gave no entry id"))
    }

    /// The history of `topics` from `from`, and what Redis knows about the stream.
    async fn history_of(&self, topics: &[String], from: Start) -> Result<History, HubError> {
        let start = match from {
            Start::After(after) => format!("({}", wire::stream_id(after)),
            Start::Oldest => "-".to_owned(),
        };
        let (info, entries, finished) = self.read_snapshot(&start, self.max_len, topics).await?;
        let (entries, all_kept) = self.apply_retention(entries, topics);
        let finished = topics
            .iter()
            .zip(finished)
            .filter_map(|(topic, id)| Some((topic.clone(), id?)))
            .collect();
        Ok(History::new(entries)
            .origin(info.origin)
            .last(info.last)
            .complete(all_kept && wire::complete(from, &info))
            .finished(finished))
    }

    /// Applies each topic's own limits to what the shared stream returned (newest entries
    /// first kept); whether nothing was let go.
    fn apply_retention(
        &self,
        entries: Vec<(EventId, Bytes, String)>,
        topics: &[String],
    ) -> (Vec<(EventId, Bytes)>, bool) {
        let now_ms = super::super::id::unix_millis();
        let mut kept_per_topic: HashMap<&str, usize> = HashMap::with_capacity(topics.len());
        let mut kept = Vec::with_capacity(entries.len());
        let mut all_kept = true;
        // Newest first, so the count keeps the newest.
        for (id, frame, topic) in entries.into_iter().rev() {
            let limits = self.retention.of(&topic);
            let Some(topic) = topics.iter().find(|t| **t == topic) else {
                continue; // the script returns only the topics asked for
            };
            let count = kept_per_topic.entry(topic.as_str()).or_insert(0);
            let too_old = limits.age.is_some_and(|age| {
                let age_ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
                id.major().saturating_add(age_ms) < now_ms
            });
            if *count >= limits.len || too_old {
                all_kept = false;
                continue;
            }
            *count += 1;
            kept.push((id, frame));
        }
        kept.reverse();
        (kept, all_kept)
    }

    /// Announces topics that got their first local subscriber before the subscription is
    /// returned, so a direct message sent through another process right after the client
    /// connected finds it.
    async fn announce(&self, topics: &[String]) {
        let changes: Vec<(&str, bool)> = topics.iter().map(|t| (t.as_str(), true)).collect();
        if let Err(error) = self.presence(&changes).await {
            let _ = &error; // only logged (feature `tracing`)
            crate::log::log!(debug, %error, "cannot announce topics now; the presence task retries");
            self.presence_changed(topics);
        }
    }

    /// Runs the snapshot script: where the stream stands, and up to `limit` entries of
    /// `topics` after `start`, oldest first.
    async fn read_snapshot(
        &self,
        start: &str,
        limit: usize,
        topics: &[String],
    ) -> Result<Snapshot, HubError> {
        let mut connection = self.command()?;
        let mut invocation = self.scripts.snapshot.prepare_invoke();
        invocation
            .key(&self.keys.stream)
            .key(&self.keys.origin)
            .arg(start)
            .arg(limit);
        for topic in topics {
            invocation.key(self.keys.finished(topic)).arg(topic);
        }
        let reply: Value = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.failed(e))?;
        parse_snapshot(&reply).ok_or_else(|| protocol("unexpected reply to the snapshot script"))
    }

    /// Announces (`true`) or withdraws (`false`) this process's subscribers of topics.
    async fn presence(&self, changes: &[(&str, bool)]) -> Result<(), HubError> {
        let mut connection = self.command()?;
        let ttl_ms = u64::try_from(RedisBackend::PRESENCE_TTL.as_millis()).unwrap_or(u64::MAX);
        for batch in changes.chunks(PRESENCE_BATCH) {
            let mut invocation = self.scripts.presence.prepare_invoke();
            invocation.key(&self.keys.index);
            for (topic, _) in batch {
                invocation.key(self.keys.presence(topic));
            }
            invocation.arg(&self.member).arg(ttl_ms);
            for (_, present) in batch {
                invocation.arg(if *present { "1" } else { "0" });
            }
            for (topic, _) in batch {
                invocation.arg(*topic);
            }
            let _: Value = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// Notes that the local subscriber count of these topics may have gone to zero or from
    /// zero: the presence task announces or withdraws them.
    fn presence_changed(&self, topics: &[String]) {
        {
            let mut dirty = self.dirty.lock().unwrap_or_else(PoisonError::into_inner);
            dirty.extend(topics.iter().cloned());
        }
        self.wake.notify_one();
    }

    async fn subscribed_anywhere(&self, topic: &str) -> Result<bool, HubError> {
        let mut connection = self.command()?;
        let count: i64 = self
            .scripts
            .presence_count
            .key(self.keys.presence(topic))
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(count > 0)
    }

    async fn announced_topics(&self) -> Result<Vec<String>, HubError> {
        let mut connection = self.command()?;
        self.scripts
            .presence_list
            .key(&self.keys.index)
            .arg(RedisBackend::MAX_LISTED_TOPICS)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| self.failed(e))
    }
}

/// Reads `{origin, last, deleted, first, overflow, {id, template, ...}}`; the entries come
/// newest first and are returned oldest first, with their ids filled in.
fn parse_snapshot(reply: &Value) -> Option<Snapshot> {
    let Value::Array(parts) = reply else {
        return None;
    };
    let [
        origin,
        last,
        trimmed,
        first,
        overflow,
        Value::Array(entries),
        Value::Array(finished),
    ] = parts.as_slice()
    else {
        return None;
    };
    let info = StreamInfo {
        origin: wire::parse_id(origin),
        last: wire::parse_id(last),
        trimmed: !matches!(trimmed, Value::Int(0)),
        first: wire::parse_id(first),
        overflow: matches!(overflow, Value::Int(1)),
    };
    let mut out = Vec::with_capacity(entries.len() / 3);
    for entry in entries.chunks_exact(3).rev() {
        let id = wire::parse_id(&entry[0])?;
        let template = wire::bytes(&entry[1])?;
        let topic = String::from_utf8(wire::bytes(&entry[2])?.to_vec()).ok()?;
        out.push((id, fill_template(template, id), topic));
    }
    let finished = finished.iter().map(wire::parse_id).collect();
    Some((info, out, finished))
}

/// What the snapshot script read: where the stream stands, the entries of the topics (oldest
/// first, with their topic), and each topic's final id if it finished.
type Snapshot = (
    StreamInfo,
    Vec<(EventId, Bytes, String)>,
    Vec<Option<EventId>>,
);

impl Backend for Backplane {
    fn start(&self, fanout: Fanout) {
        let (Some(plane), Some(pending)) = (self.me.upgrade(), lock(&self.pending).take()) else {
            return;
        };
        let Pending {
            position,
            connection,
            runtime,
        } = pending;
        runtime.spawn(reader::read(
            Arc::clone(&plane),
            fanout.clone(),
            position,
            connection,
        ));
        runtime.spawn(reader::keep_presence(plane, fanout));
    }

    fn publish(&self, publish: Publish) -> BoxFuture<'_, Result<EventId, HubError>> {
        self.append(publish).boxed()
    }

    fn history<'a>(
        &'a self,
        topics: &'a [String],
        from: Start,
    ) -> BoxFuture<'a, Result<History, HubError>> {
        self.history_of(topics, from).boxed()
    }

    fn topics_added<'a>(&'a self, topics: &'a [String]) -> BoxFuture<'a, ()> {
        self.announce(topics).boxed()
    }

    fn topics_removed(&self, topics: &[String]) {
        self.presence_changed(topics);
    }

    fn is_subscribed_anywhere<'a>(
        &'a self,
        topic: &'a str,
    ) -> BoxFuture<'a, Result<bool, HubError>> {
        self.subscribed_anywhere(topic).boxed()
    }

    fn topics_anywhere(&self) -> BoxFuture<'_, Result<Vec<String>, HubError>> {
        self.announced_topics().boxed()
    }

    fn close(&self) {
        self.cancel.cancel();
    }
}

impl fmt::Debug for Backplane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backplane")
            .field("settings", &self.settings)
            .field("member", &self.member)
            .field("connected", &self.has_command())
            .finish_non_exhaustive()
    }
}
