//! [`FaultProxy`]: a TCP proxy on 127.0.0.1 that breaks connections on purpose.
//!
//! It sits between a real client and a real server and passes the bytes on, except that, as
//! its [`FaultPlan`] says, it
//!
//! - **cuts** each connection after a random number of bytes from the server (so at any byte
//!   offset: inside the response headers, inside an HTTP chunk header, mid-event, mid-line, in
//!   the middle of a UTF-8 character), closing both sides at once;
//! - **splits** the server's bytes into random small writes;
//! - **delays** some writes by a few milliseconds and **stalls** a few for longer.
//!
//! Every random choice comes from a seeded generator (one stream per connection, derived from
//! the seed and the connection's number), so a failing run can be replayed with its seed; only
//! the timing of the operating system differs. [`ProxyStats`] counts what it did.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sse_tests::proxy::{FaultPlan, FaultProxy};
//!
//! let upstream: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
//! let proxy = FaultProxy::start(upstream, FaultPlan::new(42).cut_after(1_000..8_000)).await?;
//! let url = format!("http://{}/events", proxy.addr());
//! // ... point the client at `url`, then:
//! let stats = proxy.stats();
//! println!("{} connections, {} cuts", stats.connections, stats.cuts);
//! # Ok(()) }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What a [`FaultProxy`] does to the connections it carries. Built with [`FaultPlan::new`] and
/// the builder methods; the default plan cuts nothing and only splits writes.
#[derive(Debug, Clone)]
#[must_use]
pub struct FaultPlan {
    seed: u64,
    cut_after: Option<Range<usize>>,
    max_write: usize,
    delay_per_mille: u32,
    delay: Range<u64>,
    stall_per_mille: u32,
    stall: Range<u64>,
}

impl FaultPlan {
    /// A plan with this seed that cuts nothing, splits the server's bytes into writes of 1 to
    /// 512 bytes, and never delays.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            cut_after: None,
            max_write: 512,
            delay_per_mille: 0,
            delay: 1..5,
            stall_per_mille: 0,
            stall: 50..200,
        }
    }

    /// Cuts every connection after a number of bytes from the server drawn from `range`
    /// (counted from the first byte of the response).
    pub fn cut_after(mut self, range: Range<usize>) -> Self {
        self.cut_after = Some(range);
        self
    }

    /// The largest single write to the client (at least 1).
    pub fn max_write(mut self, bytes: usize) -> Self {
        self.max_write = bytes.max(1);
        self
    }

    /// Before a write, waits `delay` milliseconds (drawn from the range) with probability
    /// `per_mille` / 1000.
    pub fn delays(mut self, per_mille: u32, millis: Range<u64>) -> Self {
        self.delay_per_mille = per_mille;
        self.delay = millis;
        self
    }

    /// Before a write, stalls for `millis` (drawn from the range) with probability
    /// `per_mille` / 1000.
    pub fn stalls(mut self, per_mille: u32, millis: Range<u64>) -> Self {
        self.stall_per_mille = per_mille;
        self.stall = millis;
        self
    }
}

/// What a [`FaultProxy`] did so far; from [`FaultProxy::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Client connections accepted.
    pub connections: u64,
    /// Connections to the server that failed (the client's connection was closed at once).
    pub upstream_failures: u64,
    /// Connections cut on purpose.
    pub cuts: u64,
    /// Cuts where the next byte was a UTF-8 continuation byte (mid-character).
    pub cuts_mid_utf8: u64,
    /// Cuts where the last byte passed on was not a line feed (mid-line).
    pub cuts_mid_line: u64,
    /// Writes delayed by a few milliseconds.
    pub delays: u64,
    /// Writes stalled for longer.
    pub stalls: u64,
    /// Bytes passed from the server to the client.
    pub bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    upstream_failures: AtomicU64,
    cuts: AtomicU64,
    cuts_mid_utf8: AtomicU64,
    cuts_mid_line: AtomicU64,
    delays: AtomicU64,
    stalls: AtomicU64,
    bytes: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A fault-injecting TCP proxy on `127.0.0.1:0` in front of one upstream address; see the
/// [module documentation](self). Stopped (with every connection it carries) on drop.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    counters: Arc<Counters>,
    faults: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and relays every connection to `upstream`.
    ///
    /// # Errors
    /// When the listening socket cannot be bound.
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let faults = Arc::new(AtomicBool::new(true));
        let task = tokio::spawn(accept_loop(
            listener,
            upstream,
            plan,
            Arc::clone(&counters),
            Arc::clone(&faults),
        ));
        Ok(FaultProxy {
            addr,
            counters,
            faults,
            task,
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Turns cuts, delays and stalls on or off for connections accepted from now on (on at
    /// the start); e.g. off to let a test finish on a healthy connection.
    pub fn set_faults(&self, on: bool) {
        self.faults.store(on, Ordering::Relaxed);
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProxyStats {
            connections: get(&c.connections),
            upstream_failures: get(&c.upstream_failures),
            cuts: get(&c.cuts),
            cuts_mid_utf8: get(&c.cuts_mid_utf8),
            cuts_mid_line: get(&c.cuts_mid_line),
            delays: get(&c.delays),
            stalls: get(&c.stalls),
            bytes: get(&c.bytes),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    upstream: SocketAddr,
    plan: FaultPlan,
    counters: Arc<Counters>,
    faults: Arc<AtomicBool>,
) {
    // Dropping the set (when this task is aborted) closes every relayed connection.
    let mut relays = JoinSet::new();
    let mut number = 0_u64;
    loop {
        tokio::select! {
            // axum's accept retries after an error (waiting when out of files) instead of
            // spinning on it.
            (client, _) = axum::serve::Listener::accept(&mut listener) => {
                number += 1;
                add(&counters.connections, 1);
                let rng = Rng::new(plan.seed ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let plan = if faults.load(Ordering::Relaxed) {
                    plan.clone()
                } else {
                    FaultPlan::new(plan.seed).max_write(plan.max_write)
                };
                relays.spawn(relay(client, upstream, plan, rng, Arc::clone(&counters)));
            }
            Some(_) = relays.join_next(), if !relays.is_empty() => {}
        }
    }
}

/// Relays one connection: the request as it is, the response with the plan's faults.
async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    plan: FaultPlan,
    mut rng: Rng,
    counters: Arc<Counters>,
) {
    let _ = client.set_nodelay(true);
    let Ok(server) = TcpStream::connect(upstream).await else {
        add(&counters.upstream_failures, 1);
        return; // dropping `client` closes it
    };
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });

    let mut budget = plan
        .cut_after
        .as_ref()
        .map(|range| rng.in_range(range.start as u64..range.end as u64) as usize);
    let mut buf = vec![0_u8; 16 * 1024];
    let mut last_sent = 0_u8;
    'relay: loop {
        let n = match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut data = &buf[..n];
        while !data.is_empty() {
            let mut len = (rng.in_range(1..plan.max_write as u64 + 1) as usize).min(data.len());
            let cut_here = budget.is_some_and(|left| left < len);
            if let Some(left) = budget.filter(|_| cut_here) {
                len = left;
            }
            if rng.per_mille(plan.stall_per_mille) {
                add(&counters.stalls, 1);
                tokio::time::sleep(Duration::from_millis(rng.in_range(plan.stall.clone()))).await;
            } else if rng.per_mille(plan.delay_per_mille) {
                add(&counters.delays, 1);
                tokio::time::sleep(Duration::from_millis(rng.in_range(plan.delay.clone()))).await;
            }
            if len > 0 {
                if client_write.write_all(&data[..len]).await.is_err() {
                    break 'relay;
                }
                add(&counters.bytes, len as u64);
                last_sent = data[len - 1];
            }
            if cut_here {
                add(&counters.cuts, 1);
                if data[len] & 0b1100_0000 == 0b1000_0000 {
                    add(&counters.cuts_mid_utf8, 1);
                }
                if last_sent != b'\n' {
                    add(&counters.cuts_mid_line, 1);
                }
                break 'relay;
            }
            budget = budget.map(|left| left - len);
            data = &data[len..];
        }
    }
    requests.abort();
    // Dropping both halves of both sockets closes them.
}

/// splitmix64: small, fast, and good enough to pick offsets.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `range` (its start when the range is empty).
    fn in_range(&mut self, range: Range<u64>) -> u64 {
        let span = range.end.saturating_sub(range.start);
        if span == 0 {
            return range.start;
        }
        range.start + self.next() % span
    }

    fn per_mille(&mut self, per_mille: u32) -> bool {
        per_mille > 0 && self.next() % 1000 < u64::from(per_mille)
    }
}
