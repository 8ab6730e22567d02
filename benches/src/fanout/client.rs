//! The subscribers of the fan-out: raw tokio `TcpStream`s with a minimal line scanner; a
//! `data: SEQ NANOS` line gives the sequence number and the publish timestamp, so the latency
//! is measured per delivery.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use super::unix_nanos;

/// What one client saw.
#[derive(Debug, Default)]
pub(super) struct ClientState {
    pub(super) connected: AtomicBool,
    pub(super) failed: AtomicBool,
    pub(super) stalled: AtomicBool,
    /// The highest sequence number received plus one (0: none).
    pub(super) next_seq: AtomicU64,
    /// `(sequence number, latency in nanoseconds)` of every delivery.
    samples: Mutex<Vec<(u64, u64)>>,
}

impl ClientState {
    pub(super) fn take_samples(&self) -> Vec<(u64, u64)> {
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether the client is connected or gave up.
    pub(super) fn settled(&self) -> bool {
        self.connected.load(Ordering::Acquire) || self.failed.load(Ordering::Acquire)
    }

    /// Whether the client received event `last` (or gave up).
    pub(super) fn reached(&self, last: u64) -> bool {
        self.next_seq.load(Ordering::Acquire) > last || self.failed.load(Ordering::Acquire)
    }
}

const REQUEST: &[u8] =
    b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";

/// One subscriber: connects, checks the status line, then scans `data: SEQ NANOS` lines until
/// the server closes the connection; marks the state failed on an error.
pub(super) async fn client(
    addr: SocketAddr,
    state: Arc<ClientState>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let result = async {
        let (tcp, buf, len) = connect(addr).await?;
        state.connected.store(true, Ordering::Release);
        drop(permit);
        read_events(tcp, buf, len, &state).await
    }
    .await;
    if result.is_err() {
        state.failed.store(true, Ordering::Release);
    }
}

/// Connects with a small receive buffer, sends the request and reads the response head;
/// returns the socket and a buffer holding the first `len` bytes of the body.
async fn connect(addr: SocketAddr) -> std::io::Result<(TcpStream, Vec<u8>, usize)> {
    let socket: TcpSocket = TcpSocket::new_v4()?;
    // Small receive buffers: a stalled client fills up after a few dozen KiB.
    socket.set_recv_buffer_size(16 * 1024)?;
    let mut tcp = socket.connect(addr).await?;
    tcp.write_all(REQUEST).await?;
    let mut buf = vec![0_u8; 16 * 1024];
    let mut len = 0;
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
    Ok((tcp, buf, len - body_start))
}

/// Reads the body, recording a sample per `data:` line, pausing while the state is stalled.
async fn read_events(
    mut tcp: TcpStream,
    mut buf: Vec<u8>,
    mut len: usize,
    state: &ClientState,
) -> std::io::Result<()> {
    let mut samples = Vec::new();
    loop {
        let now = unix_nanos();
        let mut start = 0;
        let mut next_seq = 0;
        for end in memchr::memchr_iter(b'\n', &buf[..len]) {
            if let Some((seq, sent)) = parse_data_line(&buf[start..end]) {
                samples.push((seq, now.saturating_sub(sent)));
                next_seq = next_seq.max(seq + 1);
            }
            start = end + 1;
        }
        if !samples.is_empty() {
            state
                .samples
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .append(&mut samples);
            // Only once the samples are stored: a waiter that sees the event reached then
            // finds its sample (raising it per line let `collect` run in between and count
            // a delivered event as missed).
            state.next_seq.fetch_max(next_seq, Ordering::AcqRel);
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

/// `data: SEQ NANOS[ padding]` → `(SEQ, NANOS)`.
pub(super) fn parse_data_line(line: &[u8]) -> Option<(u64, u64)> {
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
