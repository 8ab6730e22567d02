//! The server role of the fan-out (`compare --serve KIND`): the kinds of server measured, and the
//! command loop that publishes on request (see the [module documentation](super)).

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use futures_util::StreamExt as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

use super::{TOPIC, unix_nanos};

/// How the server side is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Our `Hub`, served with `axum::serve` as it comes (Nagle's algorithm on).
    Hub,
    /// Our `Hub`, served with `axum::serve` on a listener that sets `TCP_NODELAY` on every
    /// accepted connection (`ListenerExt::tap_io`), as `benches/README.md` advises.
    HubNoDelay,
    /// Our `Hub`, served with `sse_axum::serve_http1` (hyper's HTTP/1 connection builder, no
    /// HTTP/2 detection; `TCP_NODELAY` on, its default).
    HubHttp1,
    /// [`ServerKind::HubHttp1`] with `TCP_NODELAY` turned off: the effect of the default. In
    /// [`ServerKind::EXTRA`]; run it with `--fanout-kinds hub-http1-nagle`.
    HubHttp1Nagle,
    /// The common recipe: `tokio::sync::broadcast` + `BroadcastStream` + axum's `Sse`, served
    /// with `axum::serve` as it comes.
    Broadcast,
    /// The recipe on a listener that sets `TCP_NODELAY` (`ListenerExt::tap_io`).
    BroadcastNoDelay,
    /// The floor for any server on this machine: no HTTP stack and no task per connection.
    /// After a fixed response head, each publish is one `write(2)` of a preformatted chunk per
    /// subscriber (`TCP_NODELAY` on), from two threads (one per core); a subscriber whose socket
    /// is full is disconnected.
    RawWrites,
}

impl ServerKind {
    /// The kinds measured by default, in table order.
    pub const ALL: [Self; 6] = [
        Self::Hub,
        Self::HubNoDelay,
        Self::HubHttp1,
        Self::Broadcast,
        Self::BroadcastNoDelay,
        Self::RawWrites,
    ];

    /// The kinds measured only when asked for by name.
    pub const EXTRA: [Self; 1] = [Self::HubHttp1Nagle];

    /// The name used on the command line (`--serve NAME`, `--fanout-kinds`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::HubNoDelay => "hub-nodelay",
            Self::HubHttp1 => "hub-http1",
            Self::HubHttp1Nagle => "hub-http1-nagle",
            Self::Broadcast => "broadcast",
            Self::BroadcastNoDelay => "broadcast-nodelay",
            Self::RawWrites => "raw-writes",
        }
    }

    /// The kind of a command-line name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain(Self::EXTRA)
            .find(|kind| kind.name() == name)
    }

    /// A description for the table.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Hub => "sse-axum Hub (axum::serve)",
            Self::HubNoDelay => "sse-axum Hub (axum::serve, TCP_NODELAY)",
            Self::HubHttp1 => "sse-axum Hub (sse_axum::serve_http1)",
            Self::HubHttp1Nagle => "sse-axum Hub (sse_axum::serve_http1, TCP_NODELAY off)",
            Self::Broadcast => "broadcast + BroadcastStream + axum Sse",
            Self::BroadcastNoDelay => "broadcast + BroadcastStream + axum Sse, TCP_NODELAY",
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

    /// Whether the row is one of the broadcast recipe's set-ups (the peer of the hub rows).
    #[must_use]
    pub fn is_recipe(self) -> bool {
        matches!(self, Self::Broadcast | Self::BroadcastNoDelay)
    }
}

type Message = (u64, String);

async fn hub_events(State(hub): State<sse_axum::hub::Hub>) -> axum::response::Response {
    match hub.subscribe(sse_axum::hub::Subscribe::new([TOPIC])).await {
        Ok(subscription) => subscription.into_response(),
        Err(error) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        )
            .into_response(),
    }
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

/// Serves `app` with `axum::serve`, setting `TCP_NODELAY` on each connection if `nodelay`.
fn spawn_axum_serve(listener: TcpListener, app: Router, nodelay: bool) {
    if nodelay {
        let listener = listener.tap_io(|tcp| {
            // A socket that refuses the option still works, with Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
    } else {
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
}

enum Publisher {
    Hub(sse_axum::hub::Hub),
    Broadcast(tokio::sync::broadcast::Sender<Message>),
    Raw(RawSockets),
}

impl Publisher {
    /// Starts the server of `kind` on `listener`; returns what publishes to it.
    fn start(kind: ServerKind, listener: TcpListener) -> Self {
        match kind {
            ServerKind::Hub
            | ServerKind::HubNoDelay
            | ServerKind::HubHttp1
            | ServerKind::HubHttp1Nagle => {
                let hub = sse_axum::hub::Hub::builder()
                    .keep_alive(sse_axum::KeepAlive::disabled())
                    .build();
                let app = Router::new()
                    .route("/events", get(hub_events))
                    .with_state(hub.clone());
                match kind {
                    ServerKind::HubHttp1 => {
                        tokio::spawn(sse_axum::serve_http1(listener, app).into_future());
                    }
                    ServerKind::HubHttp1Nagle => {
                        tokio::spawn(
                            sse_axum::serve_http1(listener, app)
                                .tcp_nodelay(false)
                                .into_future(),
                        );
                    }
                    _ => spawn_axum_serve(listener, app, kind == ServerKind::HubNoDelay),
                }
                Self::Hub(hub)
            }
            ServerKind::Broadcast | ServerKind::BroadcastNoDelay => {
                let (tx, _) = tokio::sync::broadcast::channel(1024);
                let app = Router::new()
                    .route("/events", get(broadcast_events))
                    .with_state(tx.clone());
                spawn_axum_serve(listener, app, kind == ServerKind::BroadcastNoDelay);
                Self::Broadcast(tx)
            }
            ServerKind::RawWrites => {
                let sockets = RawSockets::default();
                tokio::spawn(accept_raw(listener, Arc::clone(&sockets)));
                Self::Raw(sockets)
            }
        }
    }

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
        let _ = tcp.set_nodelay(true);
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

/// A `publish COUNT RATE PAD` command.
struct PublishCommand {
    count: u64,
    rate: u64,
    pad: usize,
}

impl PublishCommand {
    /// The command on `line`; `None` for `quit` or anything else.
    fn parse(line: &str) -> Option<Self> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["publish", count, rate, pad] = words.as_slice() else {
            return None;
        };
        Some(Self {
            count: count.parse().ok()?,
            rate: rate.parse().ok()?,
            pad: pad.parse().ok()?,
        })
    }

    /// Publishes the events, numbered from `*seq` on; returns the first and last numbers.
    async fn run(&self, publisher: &Publisher, seq: &mut u64) -> (u64, u64) {
        let padding = if self.pad > 0 {
            format!(" {}", "x".repeat(self.pad))
        } else {
            String::new()
        };
        let first = *seq;
        let mut ticks = (self.rate > 0)
            .then(|| tokio::time::interval(Duration::from_nanos(1_000_000_000 / self.rate)));
        for _ in 0..self.count {
            if let Some(ticks) = &mut ticks {
                ticks.tick().await;
            }
            let data = format!("{seq} {}{padding}", unix_nanos());
            if !publisher.publish(*seq, data).await {
                break;
            }
            *seq += 1;
        }
        (first, seq.saturating_sub(1))
    }
}

/// The server role: serves `GET /events` on 127.0.0.1, prints `listening PORT` and follows
/// the commands on stdin (see the [module documentation](super)).
///
/// # Errors
///
/// When the listener cannot be bound or stdin/stdout fail.
pub async fn serve(kind: ServerKind) -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let publisher = Publisher::start(kind, listener);
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
        let Some(command) = PublishCommand::parse(&line) else {
            break;
        };
        let (first, last) = command.run(&publisher, &mut seq).await;
        stdout
            .write_all(format!("published {first} {last}\n").as_bytes())
            .await?;
        stdout.flush().await?;
    }
    Ok(())
}
