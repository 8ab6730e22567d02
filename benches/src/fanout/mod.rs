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
//! The parts:
//! - `server`: the kinds of server ([`ServerKind`]) and the server role ([`serve`]);
//! - `control`: the server process as the clients see it (start, publish, quit);
//! - `client`: the subscribers, raw tokio `TcpStream`s with a minimal line scanner: a
//!   `data: ` line gives the sequence number and the publish timestamp, so the latency is
//!   measured per delivery;
//! - `measure`: CPU ticks, resident memory, percentiles and the delivery checks;
//! - `in_process`: the hub with its readers in this process ([`in_process`]);
//! - this file: the phases of one run ([`run`]).
//!
//! The CPU time both processes spend in the latency phase, per delivery, is reported next to
//! the latency ([`Outcome::cpu_us_per_delivery`]): with one socket write per subscriber per
//! event on the server and one read on the client, it is what bounds the latency when the
//! two share the machine's cores. [`in_process`] runs the same publishes without sockets or
//! HTTP, to show the hub's own share, and [`ServerKind::RawWrites`] does only the socket writes,
//! to show the machine's floor.

mod client;
mod control;
mod in_process;
mod measure;
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use in_process::{InProcess, in_process};
pub use server::{ServerKind, serve};

use client::ClientState;
use control::Server;
use measure::{CpuTicks, collect, latency_ms, ms, rss_kib, wait_all};

/// Nanoseconds since the Unix epoch (shared by the two processes).
#[must_use]
pub fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The topic (hub) the subscribers follow.
const TOPIC: &str = "bench";

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

/// How long a phase may take to reach every subscriber.
const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// One run under way: the server process, its subscribers and what was found so far.
struct Run {
    kind: ServerKind,
    plan: Plan,
    server: Server,
    clients: Vec<Arc<ClientState>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Every subscriber's index.
    everyone: Vec<usize>,
    outcome: Outcome,
}

/// Runs the phases against a server of `kind` (started as a child process): connect, idle
/// memory, latency at the plan's rate, a back-to-back burst, then latency with 10 % stalled.
///
/// # Errors
///
/// When the server cannot be started or stops answering.
pub async fn run(kind: ServerKind, plan: Plan) -> std::io::Result<Outcome> {
    let server = Server::start(kind).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(server.pid).unwrap_or(0);
    let mut run = Run {
        kind,
        plan,
        server,
        clients: Vec::new(),
        tasks: Vec::new(),
        everyone: Vec::new(),
        outcome: Outcome::default(),
    };
    run.connect().await;
    run.idle_memory(rss_before).await;
    run.latency().await?;
    run.burst().await?;
    run.stalled().await?;
    Ok(run.finish().await)
}

impl Run {
    /// Connects the subscribers, at most 256 at a time, and waits (up to two minutes) until
    /// each is connected or failed.
    async fn connect(&mut self) {
        let connecting = Arc::new(tokio::sync::Semaphore::new(256));
        for _ in 0..self.plan.subscribers {
            let state = Arc::new(ClientState::default());
            let Ok(permit) = Arc::clone(&connecting).acquire_owned().await else {
                break;
            };
            self.tasks.push(tokio::spawn(client::client(
                self.server.addr,
                Arc::clone(&state),
                permit,
            )));
            self.clients.push(state);
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.clients.iter().all(|c| c.settled()) && Instant::now() <= deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let failed = self
            .clients
            .iter()
            .filter(|c| !c.connected.load(std::sync::atomic::Ordering::Acquire))
            .count();
        if failed > 0 {
            self.outcome
                .problems
                .push(format!("{failed} subscribers could not connect"));
        }
        self.everyone = (0..self.clients.len()).collect();
    }

    /// The server's memory per idle subscriber, after the plan's settling time.
    async fn idle_memory(&mut self, rss_before: u64) {
        tokio::time::sleep(self.plan.settle).await;
        let rss_after = rss_kib(self.server.pid).unwrap_or(0);
        self.outcome.kib_per_connection =
            rss_after.saturating_sub(rss_before) as f64 / self.plan.subscribers as f64;
    }

    /// Latency at the plan's rate, and the CPU both processes spend on it.
    async fn latency(&mut self) -> std::io::Result<()> {
        let server_pid = self.server.pid.to_string();
        let cpu_before = [CpuTicks::of(&server_pid), CpuTicks::of("self")];
        let published = self
            .server
            .publish(self.plan.latency_events, self.plan.rate, 0)
            .await?;
        let latencies = self.wait_and_collect(published, false, "latency").await;
        let cpu_after = [CpuTicks::of(&server_pid), CpuTicks::of("self")];
        let [server_cpu, client_cpu] =
            [0, 1].map(|i| cpu_after[i].per_delivery(cpu_before[i], latencies.len()));
        self.outcome.cpu_us_per_delivery = [server_cpu[0], client_cpu[0]];
        eprintln!(
            "fanout cpu | {} | {} subscribers, {}/s | latency phase | server {:.2} µs/delivery \
             (user {:.2}, system {:.2}) | clients {:.2} µs/delivery (user {:.2}, system {:.2})",
            self.kind.name(),
            self.plan.subscribers,
            self.plan.rate,
            server_cpu[0],
            server_cpu[1],
            server_cpu[2],
            client_cpu[0],
            client_cpu[1],
            client_cpu[2],
        );
        self.outcome.latency_ms = latency_ms(&latencies);
        Ok(())
    }

    /// Throughput: a burst published back to back.
    async fn burst(&mut self) -> std::io::Result<()> {
        let start = Instant::now();
        let published = self.server.publish(self.plan.burst_events, 0, 0).await?;
        self.wait(published, false, "burst").await;
        let elapsed = start.elapsed().as_secs_f64();
        let delivered = self.collect(published, false, "burst").len();
        self.outcome.delivered_per_sec = delivered as f64 / elapsed;
        Ok(())
    }

    /// 10 % of the subscribers stop reading; 512-byte events fill their sockets and queues;
    /// then the latency of the others.
    async fn stalled(&mut self) -> std::io::Result<()> {
        for (i, client) in self.clients.iter().enumerate() {
            client
                .stalled
                .store(i % 10 == 0, std::sync::atomic::Ordering::Release);
        }
        // Not checked: under this load a subscriber may lag past its queue (the hub then drops
        // the oldest events and says so; the recipe skips what it missed).
        let (_, last) = self
            .server
            .publish(self.plan.filler_events, 200, 512)
            .await?;
        let others = self.others();
        if !wait_all(&self.clients, &others, last, Duration::from_secs(60)).await {
            self.outcome.problems.push("filler: timed out".to_owned());
        }
        for client in &self.clients {
            drop(client.take_samples());
        }
        let published = self
            .server
            .publish(self.plan.latency_events, self.plan.rate, 0)
            .await?;
        let latencies = self
            .wait_and_collect(published, true, "stalled latency")
            .await;
        self.outcome.stalled_p99_ms = ms(crate::report::percentile(&latencies, 0.99));
        Ok(())
    }

    /// The subscribers that keep reading in [`Run::stalled`].
    fn others(&self) -> Vec<usize> {
        self.everyone
            .iter()
            .copied()
            .filter(|i| i % 10 != 0)
            .collect()
    }

    /// The subscribers expected to read: all, or the others while some are stalled.
    fn readers(&self, stalled: bool) -> Vec<usize> {
        if stalled {
            self.others()
        } else {
            self.everyone.clone()
        }
    }

    /// Waits until the readers received `published`, noting a timeout as a problem of `phase`.
    async fn wait(&mut self, published: (u64, u64), stalled: bool, phase: &str) {
        let which = self.readers(stalled);
        if !wait_all(&self.clients, &which, published.1, WAIT_LIMIT).await {
            self.outcome.problems.push(format!("{phase}: timed out"));
        }
    }

    /// The readers' latencies of `published`, sorted, noting missed events as a problem.
    fn collect(&mut self, published: (u64, u64), stalled: bool, phase: &str) -> Vec<u64> {
        let which = self.readers(stalled);
        collect(
            &self.clients,
            &which,
            published,
            phase,
            &mut self.outcome.problems,
        )
    }

    /// [`Run::wait`], then [`Run::collect`].
    async fn wait_and_collect(
        &mut self,
        published: (u64, u64),
        stalled: bool,
        phase: &str,
    ) -> Vec<u64> {
        self.wait(published, stalled, phase).await;
        self.collect(published, stalled, phase)
    }

    /// Stops the server, then the clients.
    async fn finish(self) -> Outcome {
        // The server goes first, so its sockets (not the clients' ports) keep the TIME_WAIT.
        self.server.quit().await;
        for task in self.tasks {
            task.abort();
        }
        self.outcome
    }
}
