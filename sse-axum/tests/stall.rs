//! Stalled readers: a client with a 4 KiB receive buffer that never reads is cut within the
//! stall timeout (plus the time its buffers take to fill), at the socket with `serve_http1`
//! and with `StallGuard` under `axum::serve`, while a reading subscriber keeps its latency;
//! and the hub's own stall timeout under `DropOldest`.
#![cfg(feature = "serve")]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{Router, extract::State, routing::get};
use futures_util::StreamExt as _;
use sse_axum::Event;
use sse_axum::hub::{Hub, HubError, SlowConsumerPolicy, Subscribe, Subscription};
use sse_axum::serve::StallGuard;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::Instant;

const STALL: Duration = Duration::from_secs(1);

async fn events(State(hub): State<Hub>) -> Result<Subscription, HubError> {
    hub.subscribe(Subscribe::new(["t"])).await
}

/// A hub that never cuts anyone itself, so the socket's guard is what is tested.
fn hub() -> Hub {
    Hub::builder()
        .slow_consumer(SlowConsumerPolicy::DropOldest)
        .subscriber_queue(64)
        .stall_timeout(None)
        .build()
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

const REQUEST: &[u8] = b"GET /sse HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n";

/// A client that asks for the stream with a 4 KiB receive buffer and never reads.
async fn stalled_client(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    tcp.write_all(REQUEST).await.unwrap();
    tcp
}

/// Publishes 16 KiB events every 10 ms, each stamped with its time, while a reading client
/// measures how late each arrives; returns once the stalled subscriber is gone (and how long
/// that took) with the reader's worst latency.
async fn publish_until_the_stalled_one_is_cut(hub: &Hub, addr: SocketAddr) -> (Duration, Duration) {
    let mut reader = TcpStream::connect(addr).await.unwrap();
    reader.write_all(REQUEST).await.unwrap();
    let _stalled = stalled_client(addr).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.subscriber_count("t") < 2 {
        assert!(Instant::now() < deadline, "the clients did not subscribe");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let worst = tokio::spawn(async move {
        let mut buf = vec![0; 256 * 1024];
        let mut text = Vec::new();
        let mut worst = Duration::ZERO;
        loop {
            let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buf)).await
            else {
                return worst;
            };
            if n == 0 {
                return worst;
            }
            text.extend_from_slice(&buf[..n]);
            while let Some(at) = text.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = text.drain(..at + 2).collect();
                let event = String::from_utf8_lossy(&event);
                if let Some(stamp) = event
                    .split("data: ")
                    .nth(1)
                    .and_then(|d| d.split(' ').next())
                    && let Ok(sent) = stamp.parse::<u128>()
                {
                    let late =
                        Duration::from_micros(u64::try_from(now_micros() - sent).unwrap_or(0));
                    worst = worst.max(late);
                }
            }
        }
    });
    let payload = "x".repeat(16 * 1024);
    let started = Instant::now();
    while hub.subscriber_count("t") == 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the stalled client was not cut"
        );
        hub.publish(
            "t",
            Event::new().data(format!("{} {payload}", now_micros())),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cut_after = started.elapsed();
    // A few more events for the reader after the cut, then it stops waiting.
    for _ in 0..20 {
        hub.publish(
            "t",
            Event::new().data(format!("{} {payload}", now_micros())),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hub.close();
    (cut_after, worst.await.unwrap())
}

fn check(cut_after: Duration, worst: Duration) {
    eprintln!("stalled client cut after {cut_after:?}; the reader's worst latency {worst:?}");
    // The timeout, after the stalled client's socket buffers and hyper's write buffer (about
    // 400 KiB) filled at 1.6 MB/s.
    assert!(cut_after >= STALL, "cut before the stall timeout");
    assert!(cut_after < STALL + Duration::from_secs(6), "cut too late");
    assert!(
        worst < Duration::from_millis(500),
        "the reading subscriber was held up: {worst:?}"
    );
}

/// Runs the stalled-reader scenario against a server started by `serve` on a listener of
/// 127.0.0.1, and checks the cut and the reader's latency.
async fn stalled_reader_is_cut<F>(serve: impl FnOnce(TcpListener, Router) -> F)
where
    F: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let hub = hub();
    let app = Router::new()
        .route("/sse", get(events))
        .with_state(hub.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app));
    let (cut_after, worst) = publish_until_the_stalled_one_is_cut(&hub, addr).await;
    check(cut_after, worst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_http1_cuts_a_client_that_never_reads() {
    stalled_reader_is_cut(|listener, app| {
        sse_axum::serve_http1(listener, app)
            .stall_timeout(Some(STALL))
            .into_future()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_guard_cuts_it_under_axum_serve() {
    stalled_reader_is_cut(|listener, app| async move {
        axum::serve(StallGuard::new(listener, STALL), app).await
    })
    .await;
}

/// Under `DropOldest` a subscriber that stopped reading keeps a full queue for ever; the hub's
/// stall timeout ends it at the next publish after the timeout, and counts it.
#[tokio::test(start_paused = true)]
async fn the_hub_ends_a_subscriber_that_took_nothing_for_the_stall_timeout() {
    let hub = Hub::builder()
        .slow_consumer(SlowConsumerPolicy::DropOldest)
        .subscriber_queue(4)
        .stall_timeout(Some(Duration::from_secs(30)))
        .build();
    let mut reading = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut stalled = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    for n in 0..50 {
        hub.publish("t", Event::new().data(n.to_string()))
            .await
            .unwrap();
        assert!(reading.next().await.is_some());
        // It took its last frame at 10 s; the clock restarts at the next publish, at 11 s.
        let expected = if n <= 41 { 2 } else { 1 };
        assert_eq!(hub.subscriber_count("t"), expected, "at {n} s");
        // A reader that takes a frame now and then is not stalled.
        if n == 10 {
            assert!(stalled.next().await.is_some());
        }
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(hub.stats().stalled, 1);
    assert!(stalled.next().await.is_none(), "the stalled stream ended");
    assert_eq!(hub.stats().disconnected, 1);
}
