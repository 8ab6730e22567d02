//! Fan-out over real loopback connections: one publisher, many subscribers.
//!
//! The server runs in its own process (the `compare` binary started again with `--serve`), so
//! its resident memory can be read from `/proc/<pid>/status` and its CPU is not shared with
//! the clients' bookkeeping. It reads commands on stdin and answers on stdout:
//!
//! - `publish COUNT RATE PAD`: publish `COUNT` events, `RATE` per second (0: back to back),
//!   each with the data `SEQ UNIX_NANOS` followed by `PAD` bytes of padding; answers
//!   `published FIRST LAST` (the sequence numbers) once done;
//! - `quit` (or the end of stdin): exit.
//!
//! The clients are raw tokio `TcpStream`s with a minimal line scanner: a `data: ` line gives
//! the sequence number and the publish timestamp, so the latency is measured per delivery.
//! The CPU time both processes spend in the latency phase, per delivery, is reported next to
//! the latency ([`Outcome::cpu_us_per_delivery`]): with one socket write per subscriber per
//! event on the server and one read on the client, it is what bounds the latency when the
//! two share the machine's cores. [`in_process`] runs the same publishes without sockets or
//! HTTP, to show the hub's own share, and [`ServerKind::RawWrites`] does only the socket writes,
//! to show the machine's floor.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpSocket};

/// How the server side is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Our `Hub`, served with `axum::serve`.
    Hub,
    /// Our `Hub`, served with `sse_axum::serve_http1` (hyper's HTTP/1 connection builder, no
    /// HTTP/2 detection).
    HubHttp1,
    /// The common recipe: `tokio::sync::broadcast` + `BroadcastStream` + axum's `Sse`, served
    /// with `axum::serve`.
    Broadcast,
    /// The floor for any server on this machine: no HTTP stack and no task per connection.
    /// After a fixed response head, each publish is one `write(2)` of a preformatted chunk per
    /// subscriber, from two threads (one per core); a subscriber whose socket is full is
    /// disconnected.
    RawWrites,
}

impl ServerKind {
    /// Every kind, in table order.
    pub const ALL: [Self; 4] = [Self::Hub, Self::HubHttp1, Self::Broadcast, Self::RawWrites];

    /// The name used on the command line (`--serve NAME`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::HubHttp1 => "hub-http1",
            Self::Broadcast => "broadcast",
            Self::RawWrites => "raw-writes",
        }
    }

    /// The kind of a command-line name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// A description for the table.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Hub => "sse-axum Hub (axum::serve)",
            Self::HubHttp1 => "sse-axum Hub (sse_axum::serve_http1)",
            Self::Broadcast => "broadcast + BroadcastStream + axum Sse",
            Self::RawWrites => "floor: one write(2) per subscriber, 2 threads, no HTTP stack",
        }
    }

    /// A note for the table (empty for most).
    #[must_use]
    pub fn note(self) -> &'static str {
        match self {
            Self::RawWrites => {
                "the least a server does per delivery: a floor for latency and CPU, not for the \
                 burst (no batching of queued events)"
            }
            _ => "",
        }
    }
}

/// Nanoseconds since the Unix epoch (shared by the two processes).
#[must_use]
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The topic (hub) the subscribers follow.
const TOPIC: &str = "bench";

type Message = (u64, String);

async fn hub_events(State(hub): State<sse_axum::hub::Hub>) -> axum::response::Response {
    match hub.subscribe(sse_axum::hub::Subscribe::new([TOPIC])).await {
        Ok(subscription) => subscription.into_response(),
        Err(error) => (http_status_500(), error.to_string()).into_response(),
    }
}

fn http_status_500() -> axum::http::StatusCode {
    axum::http::StatusCode::INTERNAL_SERVER_ERROR
}

async fn broadcast_events(
    State(tx): State<tokio::sync::broadcast::Sender<Message>>,
) -> impl IntoResponse {
    let stream = tokio_stream::wrappers::BroadcastStream::new(tx.subscribe()).filter_map(
        |message| async move {
            // Lagged receivers skip what they missed, as the recipe does.
            let (seq, data) = message.ok()?;
            Some(Ok::<_, Infallible>(
                axum::response::sse::Event::default()
                    .id(seq.to_string())
                    .data(data),
            ))
        },
    );
    axum::response::Sse::new(stream)
}

enum Publisher {
    Hub(sse_axum::hub::Hub),
    Broadcast(tokio::sync::broadcast::Sender<Message>),
    Raw(RawSockets),
}

/// The subscribers of [`ServerKind::RawWrites`]: `None` once disconnected.
type RawSockets = Arc<Mutex<Vec<Option<std::net::TcpStream>>>>;

/// The response head of [`ServerKind::RawWrites`]: what hyper sends for an SSE response.
const RAW_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";

/// Accepts subscribers for [`ServerKind::RawWrites`]: reads the request head, answers with
/// [`RAW_HEAD`] and hands the socket to the publisher.
async fn accept_raw(mut listener: TcpListener, sockets: RawSockets) {
    loop {
        // axum's accept: it retries after an error (and waits a second when out of files, as
        // `axum::serve` and `serve_http1` do) instead of spinning on it.
        let (mut tcp, _) = axum::serve::Listener::accept(&mut listener).await;
        let sockets = Arc::clone(&sockets);
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0_u8; 1024];
            while memchr::memmem::find(&head, b"\r\n\r\n").is_none() && head.len() < 8192 {
                match tcp.read(&mut buf).await {
                    Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            if tcp.write_all(RAW_HEAD).await.is_err() {
                return;
            }
            // Still non-blocking: a full socket fails the write instead of stalling the others.
            if let Ok(tcp) = tcp.into_std() {
                sockets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Some(tcp));
            }
        });
    }
}

/// One publish of [`ServerKind::RawWrites`]: the event as one HTTP/1.1 chunk, written to each
/// socket once, half of them from a second thread.
fn publish_raw(sockets: &RawSockets, seq: u64, data: &str) {
    use std::io::Write as _;

    let event = format!("id: {seq}\ndata: {data}\n\n");
    let chunk = format!("{:x}\r\n{event}\r\n", event.len());
    let write_all = |sockets: &mut [Option<std::net::TcpStream>]| {
        for slot in sockets {
            if let Some(tcp) = slot
                && !matches!(tcp.write(chunk.as_bytes()), Ok(n) if n == chunk.len())
            {
                // Full (or failed part way): the framing is lost, so is the subscriber.
                *slot = None;
            }
        }
    };
    let mut sockets = sockets.lock().unwrap_or_else(PoisonError::into_inner);
    let half = sockets.len() / 2;
    let (first, second) = sockets.split_at_mut(half);
    std::thread::scope(|scope| {
        scope.spawn(|| write_all(first));
        write_all(second);
    });
}

impl Publisher {
    async fn publish(&self, seq: u64, data: String) -> bool {
        match self {
            Self::Hub(hub) => hub
                .publish(TOPIC, sse_axum::Event::new().data(data))
                .await
                .is_ok(),
            // No receiver is not an error for a broadcast.
            Self::Broadcast(tx) => {
                let _ = tx.send((seq, data));
                true
            }
            Self::Raw(sockets) => {
                publish_raw(sockets, seq, &data);
                true
            }
        }
    }
}

/// The server role: serves `GET /events` on 127.0.0.1, prints `listening PORT` and follows
/// the commands on stdin (see the [module documentation](self)).
///
/// # Errors
///
/// When the listener cannot be bound or stdin/stdout fail.
pub async fn serve(kind: ServerKind) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let publisher = match kind {
        ServerKind::Hub | ServerKind::HubHttp1 => {
            let hub = sse_axum::hub::Hub::builder()
                .keep_alive(sse_axum::KeepAlive::disabled())
                .build();
            let app = Router::new()
                .route("/events", get(hub_events))
                .with_state(hub.clone());
            if kind == ServerKind::Hub {
                tokio::spawn(async move { axum::serve(listener, app).await });
            } else {
                tokio::spawn(sse_axum::serve_http1(listener, app).into_future());
            }
            Publisher::Hub(hub)
        }
        ServerKind::Broadcast => {
            let (tx, _) = tokio::sync::broadcast::channel(1024);
            let app = Router::new()
                .route("/events", get(broadcast_events))
                .with_state(tx.clone());
            tokio::spawn(async move { axum::serve(listener, app).await });
            Publisher::Broadcast(tx)
        }
        ServerKind::RawWrites => {
            let sockets = RawSockets::default();
            tokio::spawn(accept_raw(listener, Arc::clone(&sockets)));
            Publisher::Raw(sockets)
        }
    };
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("listening {port}\n").as_bytes())
        .await?;
    stdout.flush().await?;
    // Published from this thread (the one `block_on` runs on), not from a runtime worker, so
    // the two workers serve connections while it wakes them (measured in process at 10,000
    // subscribers: a spawned publisher delays p50 by 2-3 ms).
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut seq = 0_u64;
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["publish", count, rate, pad] => {
                let (Ok(count), Ok(rate), Ok(pad)) = (
                    count.parse::<u64>(),
                    rate.parse::<u64>(),
                    pad.parse::<usize>(),
                ) else {
                    break;
                };
                let padding = if pad > 0 {
                    format!(" {}", "x".repeat(pad))
                } else {
                    String::new()
                };
                let first = seq;
                let mut ticks = (rate > 0)
                    .then(|| tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate)));
                for _ in 0..count {
                    if let Some(ticks) = &mut ticks {
                        ticks.tick().await;
                    }
                    let data = format!("{seq} {}{padding}", unix_nanos());
                    if !publisher.publish(seq, data).await {
                        break;
                    }
                    seq += 1;
                }
                stdout
                    .write_all(format!("published {first} {}\n", seq.saturating_sub(1)).as_bytes())
                    .await?;
                stdout.flush().await?;
            }
            _ => break,
        }
    }
    Ok(())
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct ClientState {
    connected: AtomicBool,
    failed: AtomicBool,
    stalled: AtomicBool,
    /// The highest sequence number received plus one (0: none).
    next_seq: AtomicU64,
    /// `(sequence number, latency in nanoseconds)` of every delivery.
    samples: Mutex<Vec<(u64, u64)>>,
}

impl ClientState {
    fn take_samples(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

const REQUEST: &[u8] =
    b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";

/// One subscriber: connects, checks the status line, then scans `data: SEQ NANOS` lines.
async fn client(
    addr: SocketAddr,
    state: Arc<ClientState>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let result = async {
        let socket: TcpSocket = TcpSocket::new_v4()?;
        // Small receive buffers: a stalled client fills up after a few dozen KiB.
        socket.set_recv_buffer_size(16 * 1024)?;
        let mut tcp = socket.connect(addr).await?;
        tcp.write_all(REQUEST).await?;
        let mut buf = vec![0_u8; 16 * 1024];
        let mut len = 0;
        // The response head.
        let body_start = loop {
            let n = tcp.read(&mut buf[len..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            len += n;
            if let Some(at) = memchr::memmem::find(&buf[..len], b"\r\n\r\n") {
                if !buf.starts_with(b"HTTP/1.1 200") {
                    return Err(std::io::ErrorKind::InvalidData.into());
                }
                break at + 4;
            }
            if len == buf.len() {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
        };
        buf.copy_within(body_start..len, 0);
        len -= body_start;
        state.connected.store(true, Ordering::Release);
        drop(permit);
        let mut samples = Vec::new();
        loop {
            let now = unix_nanos();
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', &buf[..len]) {
                if let Some((seq, sent)) = parse_data_line(&buf[start..end]) {
                    samples.push((seq, now.saturating_sub(sent)));
                    state.next_seq.fetch_max(seq + 1, Ordering::AcqRel);
                }
                start = end + 1;
            }
            if !samples.is_empty() {
                state
                    .samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .append(&mut samples);
            }
            buf.copy_within(start..len, 0);
            len -= start;
            while state.stalled.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if len == buf.len() {
                buf.resize(len * 2, 0);
            }
            let n = tcp.read(&mut buf[len..]).await?;
            if n == 0 {
                return Ok(());
            }
            len += n;
        }
    }
    .await;
    let result: std::io::Result<()> = result;
    if result.is_err() {
        state.failed.store(true, Ordering::Release);
    }
}

/// `data: SEQ NANOS[ padding]` → `(SEQ, NANOS)`.
fn parse_data_line(line: &[u8]) -> Option<(u64, u64)> {
    let rest = line.strip_prefix(b"data: ")?;
    let mut numbers = rest.split(|&b| b == b' ');
    let seq = parse_u64(numbers.next()?)?;
    let sent = parse_u64(numbers.next()?)?;
    Some((seq, sent))
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0_u64, |n, &b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

/// The durations and sizes of one fan-out run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Subscribers.
    pub subscribers: usize,
    /// Events in each latency phase, published at [`Plan::rate`] per second.
    pub latency_events: u64,
    /// Publishes per second in the latency phases.
    pub rate: u64,
    /// Events published back to back in the throughput phase (within the hub's queue).
    pub burst_events: u64,
    /// Events of 512 bytes (200 per second) that fill the stalled subscribers' sockets and
    /// queues.
    pub filler_events: u64,
    /// Idle time before the memory is read.
    pub settle: Duration,
}

/// The figures of one fan-out run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Server resident memory added per connected idle subscriber, KiB.
    pub kib_per_connection: f64,
    /// Publish-to-receive latency at [`Plan::rate`]: p50, p99, max in milliseconds.
    pub latency_ms: [f64; 3],
    /// Delivered events per second in the back-to-back burst.
    pub delivered_per_sec: f64,
    /// p99 latency of the others, in milliseconds, with 10 % of subscribers stalled.
    pub stalled_p99_ms: f64,
    /// CPU time per delivery in the latency phase, in microseconds (user + system, every
    /// thread): `[server, clients]`. The clients are this process.
    pub cpu_us_per_delivery: [f64; 2],
    /// Problems found (missing events, failed connections); empty when all is well.
    pub problems: Vec<String>,
}

/// The CPU time a process has used so far, user and system, in clock ticks (every thread).
#[derive(Debug, Clone, Copy, Default)]
struct CpuTicks {
    user: u64,
    system: u64,
}

/// Clock ticks per second (`getconf CLK_TCK`: 100 on Linux for every architecture we run on).
const TICKS_PER_SEC: f64 = 100.0;

impl CpuTicks {
    /// Of `pid`, or of this process for `"self"`; zero where `/proc` cannot be read.
    fn of(pid: &str) -> Self {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The fields after the command name (which may hold spaces) and its `)`; utime and
        // stime are the 14th and 15th fields of the line.
        let mut fields = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .skip(11)
            .map(|n| n.parse().unwrap_or(0));
        Self {
            user: fields.next().unwrap_or(0),
            system: fields.next().unwrap_or(0),
        }
    }

    /// `(total, user, system)` microseconds per delivery since `before`.
    fn per_delivery(self, before: Self, deliveries: usize) -> [f64; 3] {
        let us = |ticks: u64| ticks as f64 / TICKS_PER_SEC * 1e6 / deliveries.max(1) as f64;
        let user = self.user.saturating_sub(before.user);
        let system = self.system.saturating_sub(before.system);
        [us(user + system), us(user), us(system)]
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Server {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    pid: u32,
    addr: SocketAddr,
}

impl Server {
    async fn start(kind: ServerKind) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = tokio::process::Command::new(exe)
            .args(["--serve", kind.name()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().unwrap_or(0);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        };
        let mut stdout = BufReader::new(stdout).lines();
        let line = stdout.next_line().await?.unwrap_or_default();
        let port: u16 = line
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        Ok(Self {
            child,
            stdin,
            stdout,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// Publishes and returns the first and last sequence numbers.
    async fn publish(&mut self, count: u64, rate: u64, pad: usize) -> std::io::Result<(u64, u64)> {
        self.stdin
            .write_all(format!("publish {count} {rate} {pad}\n").as_bytes())
            .await?;
        self.stdin.flush().await?;
        let line = self.stdout.next_line().await?.unwrap_or_default();
        let mut words = line.split_whitespace().skip(1).map(str::parse::<u64>);
        match (words.next(), words.next()) {
            (Some(Ok(first)), Some(Ok(last))) => Ok((first, last)),
            _ => Err(std::io::ErrorKind::InvalidData.into()),
        }
    }

    async fn quit(mut self) {
        let _ = self.stdin.write_all(b"quit\n").await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        let _ = self.child.kill().await;
    }
}

/// Waits until every client in `which` has received up to `last`; false on timeout.
async fn wait_all(
    clients: &[Arc<ClientState>],
    which: &[usize],
    last: u64,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let done = which.iter().all(|&i| {
            clients[i].next_seq.load(Ordering::Acquire) > last
                || clients[i].failed.load(Ordering::Acquire)
        });
        if done {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Takes every client's samples; returns the latencies of the events `first..=last` received
/// by the clients in `which`, sorted, and a problem if one of them missed an event.
fn collect(
    clients: &[Arc<ClientState>],
    which: &[usize],
    first: u64,
    last: u64,
    phase: &str,
    problems: &mut Vec<String>,
) -> Vec<u64> {
    let mut latencies = Vec::new();
    let mut short = 0;
    let expected = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
    let mut counted = vec![false; clients.len()];
    for &i in which {
        if let Some(slot) = counted.get_mut(i) {
            *slot = true;
        }
    }
    for (client, counted) in clients.iter().zip(counted) {
        let samples = client.take_samples();
        if !counted {
            continue;
        }
        let before = latencies.len();
        latencies.extend(
            samples
                .iter()
                .filter(|(seq, _)| (first..=last).contains(seq))
                .map(|&(_, latency)| latency),
        );
        if latencies.len() - before != expected {
            short += 1;
        }
    }
    if short > 0 {
        problems.push(format!("{phase}: {short} subscribers missed events"));
    }
    latencies.sort_unstable();
    latencies
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

/// p50, p99 and max of sorted latencies in nanoseconds, in milliseconds.
fn latency_ms(sorted: &[u64]) -> [f64; 3] {
    [
        ms(crate::report::percentile(sorted, 0.5)),
        ms(crate::report::percentile(sorted, 0.99)),
        ms(sorted.last().copied().unwrap_or(0)),
    ]
}

/// Runs the phases against a server of `kind` (started as a child process): connect, idle
/// memory, latency at the plan's rate, a back-to-back burst, then latency with 10 % stalled.
///
/// # Errors
///
/// When the server cannot be started or stops answering.
pub async fn run(kind: ServerKind, plan: Plan) -> std::io::Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut server = Server::start(kind).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(server.pid).unwrap_or(0);

    let connecting = Arc::new(tokio::sync::Semaphore::new(256));
    let mut clients = Vec::with_capacity(plan.subscribers);
    let mut tasks = Vec::with_capacity(plan.subscribers);
    for _ in 0..plan.subscribers {
        let state = Arc::new(ClientState::default());
        let Ok(permit) = Arc::clone(&connecting).acquire_owned().await else {
            break;
        };
        tasks.push(tokio::spawn(client(
            server.addr,
            Arc::clone(&state),
            permit,
        )));
        clients.push(state);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while clients
        .iter()
        .any(|c| !c.connected.load(Ordering::Acquire) && !c.failed.load(Ordering::Acquire))
    {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let failed = clients
        .iter()
        .filter(|c| !c.connected.load(Ordering::Acquire))
        .count();
    if failed > 0 {
        outcome
            .problems
            .push(format!("{failed} subscribers could not connect"));
    }
    tokio::time::sleep(plan.settle).await;
    let rss_after = rss_kib(server.pid).unwrap_or(0);
    outcome.kib_per_connection =
        rss_after.saturating_sub(rss_before) as f64 / plan.subscribers as f64;

    let everyone: Vec<usize> = (0..clients.len()).collect();
    let wait_limit = Duration::from_secs(30);

    // Latency at the plan's rate.
    let server_pid = server.pid.to_string();
    let cpu_before = [CpuTicks::of(&server_pid), CpuTicks::of("self")];
    let (first, last) = server.publish(plan.latency_events, plan.rate, 0).await?;
    if !wait_all(&clients, &everyone, last, wait_limit).await {
        outcome.problems.push("latency: timed out".to_owned());
    }
    let latencies = collect(
        &clients,
        &everyone,
        first,
        last,
        "latency",
        &mut outcome.problems,
    );
    let cpu_after = [CpuTicks::of(&server_pid), CpuTicks::of("self")];
    let [server_cpu, client_cpu] =
        [0, 1].map(|i| cpu_after[i].per_delivery(cpu_before[i], latencies.len()));
    outcome.cpu_us_per_delivery = [server_cpu[0], client_cpu[0]];
    eprintln!(
        "fanout cpu | {} | {} subscribers | latency phase | server {:.2} µs/delivery \
         (user {:.2}, system {:.2}) | clients {:.2} µs/delivery (user {:.2}, system {:.2})",
        kind.name(),
        plan.subscribers,
        server_cpu[0],
        server_cpu[1],
        server_cpu[2],
        client_cpu[0],
        client_cpu[1],
        client_cpu[2],
    );
    outcome.latency_ms = latency_ms(&latencies);

    // Throughput: a burst published back to back.
    let start = Instant::now();
    let (first, last) = server.publish(plan.burst_events, 0, 0).await?;
    if !wait_all(&clients, &everyone, last, wait_limit).await {
        outcome.problems.push("burst: timed out".to_owned());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let delivered = collect(
        &clients,
        &everyone,
        first,
        last,
        "burst",
        &mut outcome.problems,
    )
    .len();
    outcome.delivered_per_sec = delivered as f64 / elapsed;

    // 10 % of the subscribers stop reading; 512-byte events fill their sockets and queues.
    let others: Vec<usize> = everyone.iter().copied().filter(|i| i % 10 != 0).collect();
    for (i, client) in clients.iter().enumerate() {
        client.stalled.store(i % 10 == 0, Ordering::Release);
    }
    // Not checked: under this load a subscriber may lag past its queue (the hub then drops the
    // oldest events and says so; the recipe skips what it missed).
    let (_, last) = server.publish(plan.filler_events, 200, 512).await?;
    if !wait_all(&clients, &others, last, Duration::from_secs(60)).await {
        outcome.problems.push("filler: timed out".to_owned());
    }
    for client in &clients {
        drop(client.take_samples());
    }
    let (first, last) = server.publish(plan.latency_events, plan.rate, 0).await?;
    if !wait_all(&clients, &others, last, wait_limit).await {
        outcome
            .problems
            .push("stalled latency: timed out".to_owned());
    }
    let latencies = collect(
        &clients,
        &others,
        first,
        last,
        "stalled latency",
        &mut outcome.problems,
    );
    outcome.stalled_p99_ms = ms(crate::report::percentile(&latencies, 0.99));

    // The server goes first, so its sockets (not the clients' ports) keep the TIME_WAIT.
    server.quit().await;
    for task in tasks {
        task.abort();
    }
    Ok(outcome)
}

/// The figures of [`in_process`].
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess {
    /// Publish-to-receive latency: p50, p99, max in milliseconds.
    pub latency_ms: [f64; 3],
    /// CPU time (user + system, every thread of this process) per delivery, microseconds.
    pub cpu_us_per_delivery: f64,
}

/// The hub's own share of the fan-out: `subscribers` response bodies of [`sse_axum::hub::Hub`]
/// subscriptions polled in this process, without sockets or HTTP; `events` published at `rate`
/// per second, the latency taken from the same timestamps as [`run`].
pub async fn in_process(subscribers: usize, events: u64, rate: u64) -> InProcess {
    use http_body_util::BodyExt as _;

    let hub = sse_axum::hub::Hub::builder()
        .keep_alive(sse_axum::KeepAlive::disabled())
        .build();
    let mut tasks = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let Ok(subscription) = hub.subscribe(sse_axum::hub::Subscribe::new([TOPIC])).await else {
            break;
        };
        let mut body = subscription.into_response().into_body();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                let now = unix_nanos();
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                for line in data.split(|&b| b == b'\n') {
                    if let Some((_, sent)) = parse_data_line(line) {
                        samples.push(now.saturating_sub(sent));
                    }
                }
            }
            samples
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = CpuTicks::of("self");
    // Published from the caller's thread, as `serve` does.
    let mut ticks = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate.max(1)));
    for seq in 0..events {
        ticks.tick().await;
        let data = format!("{seq} {}", unix_nanos());
        if hub
            .publish(TOPIC, sse_axum::Event::new().data(data))
            .await
            .is_err()
        {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = CpuTicks::of("self");
    hub.close();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    latencies.sort_unstable();
    InProcess {
        latency_ms: latency_ms(&latencies),
        cpu_us_per_delivery: after.per_delivery(before, latencies.len())[0],
    }
}
