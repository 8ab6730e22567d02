//! Soak: many concurrent event streams to one server process on loopback, fed through a
//! [`Hub`] for a while, then everyone leaves; the run checks delivery, memory and leaks.
//!
//! ```text
//! soak [--connections N] [--seconds S] [--rate EVENTS_PER_SECOND] [--rss-growth-mib M]
//! ```
//!
//! Defaults are the full form: 10,000 connections, 60 seconds, 10 events per second. CI runs
//! a short form through the `soak_short` test (1,000 connections for 10 seconds). Full form:
//!
//! ```text
//! cargo run --release -p sse-tests --bin soak
//! ```
//!
//! The process is the server; it runs itself again as the client (`soak client ADDR N`),
//! because one process may have only 20,000 open files and each connection costs one on each
//! side. The client opens the streams over raw TCP (HTTP/1.1, chunked bodies decoded here, the
//! events parsed by `reqwest_sse_client::EventParser`) and checks that each stream gets every event
//! exactly once, in order.
//!
//! The server reports and checks:
//! - every subscriber got every event (the client's count);
//! - server RSS per connection;
//! - no growth of RSS between the first and the last third of the publishing phase beyond
//!   `--rss-growth-mib` (default 16 MiB);
//! - after everyone left: subscriber count, open streams, open file descriptors
//!   (`/proc/self/fd`) and alive tokio tasks (`num_alive_tasks`) back to their starting values.
//!
//! It exits with status 1 and says why when a check fails.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sse_axum::hub::{Hub, HubStats, Subscribe, Subscription};
use sse_axum::{Event, SseLayer};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

const TOPIC: &str = "soak";
/// The type of the last event: each client stream closes its connection when it sees it.
const END: &str = "end";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("client") {
        client_main(&args[1..])
    } else {
        server_main(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("soak: FAILED: {message}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

struct Options {
    connections: usize,
    seconds: u64,
    rate: u64,
    rss_growth_mib: f64,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        connections: 10_000,
        seconds: 60,
        rate: 10,
        rss_growth_mib: 16.0,
    };
    let mut args = args.iter();
    while let Some(name) = args.next() {
        let value = args.next().ok_or(format!("{name} needs a value"))?;
        let bad = || format!("{name}: {value:?} is not a number");
        match name.as_str() {
            "--connections" => options.connections = value.parse().map_err(|_| bad())?,
            "--seconds" => options.seconds = value.parse().map_err(|_| bad())?,
            "--rate" => options.rate = value.parse().map_err(|_| bad())?,
            "--rss-growth-mib" => options.rss_growth_mib = value.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown option {name}")),
        }
    }
    if options.rate == 0 || options.seconds == 0 {
        return Err("--rate and --seconds must be positive".to_owned());
    }
    Ok(options)
}

/// Resident set size of this process in bytes.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn events(State(hub): State<Hub>) -> Result<Subscription, (StatusCode, String)> {
    hub.subscribe(Subscribe::new([TOPIC]))
        .await
        .map_err(|error| (StatusCode::SERVICE_UNAVAILABLE, error.to_string()))
}

fn server_main(args: &[String]) -> Result<(), String> {
    let options = parse_options(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(serve_and_measure(options))
}

/// Waits (up to `limit`) until `done` holds, checking every 50 ms.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// The server under test: the hub, the layer whose open streams are counted, and where it
/// listens.
struct Server {
    hub: Hub,
    layer: SseLayer,
    addr: SocketAddr,
}

/// Starts the hub behind `serve_http1` on a loopback port.
fn start_server() -> Result<Server, String> {
    let hub = Hub::builder().history_len(100).build();
    let layer = SseLayer::new();
    let router = Router::new()
        .route("/events", get(events))
        .layer(layer.clone())
        .with_state(hub.clone());
    let listener = tokio::net::TcpSocket::new_v4()
        .and_then(|socket| {
            socket.set_reuseaddr(true)?;
            socket.bind((Ipv4Addr::LOCALHOST, 0).into())?;
            socket.listen(4096)
        })
        .map_err(|e| format!("listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| format!("{e}"))?;
    // The HTTP/1.1-only server, for less memory per open stream than `axum::serve`.
    tokio::spawn(sse_axum::serve_http1(listener, router).into_future());
    Ok(Server { hub, layer, addr })
}

/// The process's resources before any client came: what must be back after they left.
struct Baseline {
    fds: usize,
    tasks: usize,
    rss: u64,
}

impl Baseline {
    fn now(metrics: &tokio::runtime::RuntimeMetrics) -> Self {
        Self {
            fds: open_fds(),
            tasks: metrics.num_alive_tasks(),
            rss: rss_bytes(),
        }
    }
}

/// The client process and the task that relays its output and keeps its `RESULT` line.
struct ClientProcess {
    child: tokio::process::Child,
    report: tokio::task::JoinHandle<Option<String>>,
}

/// Runs this binary again as the client (`soak client ADDR N`).
fn start_client(addr: SocketAddr, connections: usize) -> Result<ClientProcess, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .args(["client", &addr.to_string(), &connections.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the client: {e}"))?;
    let stdout = child.stdout.take().ok_or("no client stdout")?;
    let report = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut report = None;
        while let Ok(Some(line)) = lines.next_line().await {
            println!("  client: {line}");
            if line.starts_with("RESULT ") {
                report = Some(line);
            }
        }
        report
    });
    Ok(ClientProcess { child, report })
}

impl ClientProcess {
    /// Waits (up to 120 s) for the client to exit; its status and its `RESULT` line.
    async fn finish(mut self) -> Result<(std::process::ExitStatus, String), String> {
        let status = tokio::time::timeout(Duration::from_secs(120), self.child.wait())
            .await
            .map_err(|_| "the client did not finish within 120 s".to_owned())?
            .map_err(|e| format!("client: {e}"))?;
        let report = self
            .report
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the client printed no RESULT line")?;
        Ok((status, report))
    }
}

/// Waits (up to 120 s) until every client is subscribed and reports the memory per connection.
async fn wait_connected(server: &Server, connections: usize, start_rss: u64) -> Result<(), String> {
    let connect_started = Instant::now();
    let all_connected = wait_until(Duration::from_secs(120), || {
        server.hub.total_subscribers() >= connections
    })
    .await;
    if !all_connected {
        return Err(format!(
            "only {} of {connections} connected",
            server.hub.total_subscribers()
        ));
    }
    let connected_rss = rss_bytes();
    let per_connection = connected_rss.saturating_sub(start_rss) / connections as u64;
    println!(
        "soak: {connections} connected in {:.1} s; rss {:.1} MiB, {:.1} KiB per connection; fds {}",
        connect_started.elapsed().as_secs_f64(),
        mib(connected_rss),
        per_connection as f64 / 1024.0,
        open_fds()
    );
    Ok(())
}

/// Publishes `seconds * rate` events, sampling RSS once per second, then the `end` event;
/// returns the RSS samples and the hub's counters.
async fn publish(hub: &Hub, seconds: u64, rate: u64) -> Result<(Vec<u64>, HubStats), String> {
    let total = seconds * rate;
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    let publish_started = Instant::now();
    let mut next_sample = publish_started;
    for n in 0..total {
        tick.tick().await;
        let event = Event::new()
            .try_event("tick")
            .map_err(|e| e.to_string())?
            .data(format!("{n} {}", "x".repeat(64)));
        hub.publish(TOPIC, event)
            .await
            .map_err(|e| format!("publish: {e}"))?;
        if Instant::now() >= next_sample {
            samples.push(rss_bytes());
            next_sample += Duration::from_secs(1);
        }
    }
    samples.push(rss_bytes());
    let end = Event::new()
        .try_event(END)
        .map_err(|e| e.to_string())?
        .data("");
    hub.publish(TOPIC, end)
        .await
        .map_err(|e| format!("publish: {e}"))?;
    let stats = hub.stats();
    println!(
        "soak: published {total} events in {:.1} s; hub: delivered {}, dropped {}, disconnected {}",
        publish_started.elapsed().as_secs_f64(),
        stats.delivered,
        stats.dropped,
        stats.disconnected
    );
    Ok((samples, stats))
}

/// The growth of RSS between the first and the last third of the samples, in MiB.
fn rss_growth_mib(samples: &[u64]) -> (f64, f64, f64) {
    let third = samples.len() / 3;
    let average = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len().max(1) as f64;
    let first_third = average(&samples[..third.max(1)]);
    let last_third = average(&samples[samples.len() - third.max(1)..]);
    let growth = (last_third - first_third) / (1024.0 * 1024.0);
    (first_third, last_third, growth)
}

/// Waits (up to 30 s) until subscribers, streams, fds and tasks are back to the start and
/// reports the state after everyone left; whether they came back.
async fn wait_released(
    server: &Server,
    start: &Baseline,
    metrics: &tokio::runtime::RuntimeMetrics,
) -> bool {
    let back = wait_until(Duration::from_secs(30), || {
        server.hub.total_subscribers() == 0
            && server.layer.open_streams() == 0
            && open_fds() <= start.fds
            && metrics.num_alive_tasks() <= start.tasks
    })
    .await;
    println!(
        "soak: after everyone left: rss {:.1} MiB, subscribers {}, open streams {}, fds {} \
         (start {}), tasks {} (start {})",
        mib(rss_bytes()),
        server.hub.total_subscribers(),
        server.layer.open_streams(),
        open_fds(),
        start.fds,
        metrics.num_alive_tasks(),
        start.tasks,
    );
    back
}

/// What the run found, for [`Findings::check`].
struct Findings {
    connections: usize,
    total: u64,
    status: std::process::ExitStatus,
    report: String,
    growth: f64,
    rss_growth_mib: f64,
    back: bool,
    stats: HubStats,
}

impl Findings {
    /// The checks: `Ok` when all hold, otherwise every failure.
    fn check(&self) -> Result<(), String> {
        let Self {
            connections,
            total,
            status,
            report,
            growth,
            rss_growth_mib,
            back,
            stats,
        } = self;
        let mut failures = Vec::new();
        if !status.success() {
            failures.push(format!("the client failed ({status})"));
        }
        let expected = format!("RESULT connections={connections} complete={connections} ");
        if !report.starts_with(&expected) {
            failures.push(format!("not every stream got every event: {report}"));
        }
        if !report.contains(&format!(" events={total} ")) {
            failures.push(format!("the client did not count {total} events: {report}"));
        }
        if growth > rss_growth_mib {
            failures.push(format!("rss grew by {growth:.2} MiB"));
        }
        if !back {
            failures.push("subscribers, streams, fds or tasks not back to the start".to_owned());
        }
        if stats.dropped != 0 || stats.disconnected != 0 {
            failures.push(format!("the hub dropped events: {stats:?}"));
        }
        if failures.is_empty() {
            println!("soak: ok");
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}

/// The whole server side: start, let the client connect, publish, let everyone leave, check.
async fn serve_and_measure(options: Options) -> Result<(), String> {
    let Options {
        connections,
        seconds,
        rate,
        rss_growth_mib,
    } = options;
    let server = start_server()?;
    let metrics = tokio::runtime::Handle::current().metrics();

    // Starting values, once the server runs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Baseline::now(&metrics);
    println!(
        "soak: {connections} connections, {seconds} s at {rate} events/s; server on {}; \
         start: rss {:.1} MiB, fds {}, tasks {}",
        server.addr,
        mib(start.rss),
        start.fds,
        start.tasks
    );

    // The client, in a second process.
    let client = start_client(server.addr, connections)?;
    wait_connected(&server, connections, start.rss).await?;
    let (samples, stats) = publish(&server.hub, seconds, rate).await?;

    // Everyone leaves: the client closes each stream at the `end` event, then exits.
    let (status, report) = client.finish().await?;
    let back = wait_released(&server, &start, &metrics).await;
    let (first_third, last_third, growth) = crate::rss_growth_mib(&samples);
    println!(
        "soak: rss first third {:.1} MiB, last third {:.1} MiB, growth {growth:.2} MiB \
         (bound {rss_growth_mib} MiB)",
        first_third / (1024.0 * 1024.0),
        last_third / (1024.0 * 1024.0),
    );
    Findings {
        connections,
        total: seconds * rate,
        status,
        report,
        growth,
        rss_growth_mib,
        back,
        stats,
    }
    .check()
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

fn client_main(args: &[String]) -> Result<(), String> {
    let [addr, connections] = args else {
        return Err("usage: soak client ADDR CONNECTIONS".to_owned());
    };
    let addr: SocketAddr = addr.parse().map_err(|_| format!("bad address {addr}"))?;
    let connections: usize = connections
        .parse()
        .map_err(|_| format!("bad count {connections}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(run_clients(addr, connections))
}

/// What one stream saw.
#[derive(Debug, Default, Clone, Copy)]
struct StreamResult {
    events: u64,
    out_of_order: u64,
    ended: bool,
}

async fn run_clients(addr: SocketAddr, connections: usize) -> Result<(), String> {
    // Connect at most 200 at a time so the listen backlog does not overflow.
    let connecting = Arc::new(Semaphore::new(200));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let connecting = Arc::clone(&connecting);
        tasks.spawn(async move { one_stream(addr, &connecting).await });
    }
    let mut complete = 0_usize;
    let mut failed = Vec::new();
    let mut counts = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(result)) if result.ended && result.out_of_order == 0 => {
                complete += 1;
                counts.push(result.events);
            }
            Ok(Ok(result)) => failed.push(format!("{result:?}")),
            Ok(Err(error)) => failed.push(error),
            Err(error) => failed.push(error.to_string()),
        }
    }
    let min = counts.iter().min().copied().unwrap_or(0);
    let max = counts.iter().max().copied().unwrap_or(0);
    if min == max {
        println!("RESULT connections={connections} complete={complete} events={min} ");
    } else {
        println!(
            "RESULT connections={connections} complete={complete} events_min={min} events_max={max} "
        );
    }
    for failure in failed.iter().take(5) {
        println!("failure: {failure}");
    }
    if failed.is_empty() && min == max {
        Ok(())
    } else {
        Err(format!("{} streams failed", failed.len()))
    }
}

/// Opens one stream, reads events until the `end` event, then closes the connection.
async fn one_stream(addr: SocketAddr, connecting: &Semaphore) -> Result<StreamResult, String> {
    let mut tcp = {
        let _permit = connecting.acquire().await.map_err(|e| e.to_string())?;
        let mut attempt = 0;
        let mut tcp = loop {
            match TcpStream::connect(addr).await {
                Ok(tcp) => break tcp,
                Err(error) if attempt < 20 => {
                    attempt += 1;
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(format!("connect: {error}")),
            }
        };
        tcp.write_all(b"GET /events HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .map_err(|e| format!("request: {e}"))?;
        tcp
    };
    let mut buf = vec![0_u8; 4096];
    let mut head = Vec::new();
    // The response head.
    let body_start = loop {
        let n = tcp.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("closed before the response head".to_owned());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    if !head.starts_with(b"HTTP/1.1 200 ") {
        return Err(format!(
            "status: {}",
            String::from_utf8_lossy(&head[..head.len().min(40)])
        ));
    }
    let mut chunked = Dechunker::default();
    let mut parser = reqwest_sse_client::EventParser::new();
    let mut result = StreamResult::default();
    let mut pending = head.split_off(body_start);
    loop {
        let mut body = Vec::new();
        chunked.decode(&pending, &mut body);
        let mut input = &body[..];
        while let Some(item) = parser.next_item(&mut input) {
            let Ok(reqwest_sse_client::Item::Event(event)) = item else {
                continue;
            };
            if event.event_type() == END {
                result.ended = true;
                // Leave: dropping the socket closes the connection.
                return Ok(result);
            }
            let n = event.data().split(' ').next().and_then(|n| n.parse().ok());
            if n != Some(result.events) {
                result.out_of_order += 1;
            }
            result.events += 1;
        }
        let n = tcp.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 || chunked.done {
            return Ok(result);
        }
        pending.clear();
        pending.extend_from_slice(&buf[..n]);
    }
}

/// An incremental decoder of the HTTP/1.1 chunked transfer coding (extensions and trailers
/// ignored).
#[derive(Debug, Default)]
struct Dechunker {
    state: ChunkState,
    size: usize,
    done: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hexadecimal size.
    #[default]
    Size,
    /// After the size (extensions), up to the LF.
    SizeLine,
    /// `size` bytes of data left.
    Data,
    /// The CRLF after the data, up to the LF.
    DataEnd,
}

impl Dechunker {
    fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                ChunkState::Size => match (byte as char).to_digit(16) {
                    Some(digit) => {
                        self.size = self.size * 16 + digit as usize;
                        input = rest;
                    }
                    None => self.state = ChunkState::SizeLine,
                },
                ChunkState::SizeLine => {
                    input = rest;
                    if byte == b'\n' {
                        if self.size == 0 {
                            self.done = true;
                            return;
                        }
                        self.state = ChunkState::Data;
                    }
                }
                ChunkState::Data => {
                    let take = self.size.min(input.len());
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    self.size -= take;
                    if self.size == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                }
                ChunkState::DataEnd => {
                    input = rest;
                    if byte == b'\n' {
                        self.state = ChunkState::Size;
                    }
                }
            }
        }
    }
}
