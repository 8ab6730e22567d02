//! Slow consumers: a stalled subscriber never blocks the publisher or the other subscribers,
//! and each `SlowConsumerPolicy` does what it says.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::{Router, extract::State, routing::get};
use futures_util::StreamExt as _;
use sse_axum::hub::{EventId, FrameKind, Hub, SlowConsumerPolicy, Subscribe, Subscription};
use sse_axum::{Event, KeepAlive};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// How long a publish may take, and how late an event may reach a subscriber that keeps up,
/// while other subscribers are stalled. Typical figures are microseconds; the bounds are
/// generous for a loaded two-core machine running a debug build.
const PUBLISH_BOUND: Duration = Duration::from_millis(250);
const DELIVERY_BOUND: Duration = Duration::from_millis(250);

fn event(n: usize) -> Event {
    Event::new().data(n.to_string())
}

#[tokio::test]
async fn drop_oldest_sends_the_reset_event_and_keeps_the_newest() {
    let hub = Hub::builder()
        .subscriber_queue(4)
        .slow_consumer(SlowConsumerPolicy::DropOldest)
        .build();
    let mut stalled = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut fast = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(hub.publish("t", event(n)).await.unwrap());
        assert_eq!(fast.next().await.unwrap().id(), Some(ids[n]));
    }
    assert_eq!(hub.stats().dropped, 16);
    assert_eq!(
        hub.subscriber_count("t"),
        2,
        "DropOldest keeps the subscriber"
    );

    let reset = stalled.next().await.unwrap();
    assert_eq!(reset.kind(), FrameKind::Reset);
    assert_eq!(reset.bytes().as_ref(), b"event: reset\ndata:\n\n");
    for id in &ids[16..] {
        assert_eq!(stalled.next().await.unwrap().id(), Some(*id));
    }
    // The stream goes on.
    let next = hub.publish("t", event(20)).await.unwrap();
    let frame = stalled.next().await.unwrap();
    assert_eq!((frame.kind(), frame.id()), (FrameKind::Live, Some(next)));
}

#[tokio::test]
async fn disconnect_ends_the_stalled_stream_which_resumes_from_history() {
    let left = Arc::new(AtomicUsize::new(0));
    let hub = Hub::builder()
        .subscriber_queue(4)
        .slow_consumer(SlowConsumerPolicy::Disconnect)
        .on_unsubscribe({
            let left = Arc::clone(&left);
            move |_| {
                left.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build();
    let mut stalled = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut fast = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..2 {
        ids.push(hub.publish("t", event(n)).await.unwrap());
        assert_eq!(fast.next().await.unwrap().id(), Some(ids[n]));
    }
    let mut seen = None;
    for _ in 0..2 {
        seen = stalled.next().await.unwrap().id();
    }
    // Now it stalls: the 5th event it does not read overflows its queue.
    for n in 2..12 {
        ids.push(hub.publish("t", event(n)).await.unwrap());
        assert_eq!(
            fast.next().await.unwrap().id(),
            ids.last().copied(),
            "the other keeps up"
        );
        if n == 6 {
            assert_eq!(hub.subscriber_count("t"), 1, "removed at once");
            assert_eq!(left.load(Ordering::SeqCst), 1, "on_unsubscribe ran");
        }
    }
    assert!(stalled.next().await.is_none(), "the stalled stream ends");
    assert_eq!(hub.stats().disconnected, 1);
    assert_eq!(
        hub.stats().dropped,
        5,
        "the 4 queued events and the one that overflowed"
    );

    // The client comes back with the last id it saw and misses nothing.
    drop(stalled);
    assert_eq!(
        left.load(Ordering::SeqCst),
        1,
        "the hook runs once per subscriber"
    );
    let mut back = hub
        .subscribe(Subscribe::new(["t"]).last_event_id(seen.unwrap()))
        .await
        .unwrap();
    for id in &ids[2..] {
        let frame = back.next().await.unwrap();
        assert_eq!((frame.kind(), frame.id()), (FrameKind::Replayed, Some(*id)));
    }
}

/// With many stalled subscribers (their queues full), publishing stays fast and a subscriber
/// that keeps up gets every event within `DELIVERY_BOUND`.
async fn stalled_subscribers_do_not_delay_the_others(policy: SlowConsumerPolicy) {
    let hub = Hub::builder()
        .subscriber_queue(8)
        .slow_consumer(policy)
        .build();
    let mut stalled: Vec<Subscription> = Vec::new();
    for _ in 0..200 {
        stalled.push(hub.subscribe(Subscribe::new(["t"])).await.unwrap());
    }
    let mut fast = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let (count_tx, mut count_rx) = tokio::sync::watch::channel(0_usize);
    let reader = tokio::spawn(async move {
        let mut received: Vec<(EventId, Instant)> = Vec::new();
        while let Some(frame) = fast.next().await {
            received.push((frame.id().unwrap(), Instant::now()));
            count_tx.send_replace(received.len());
        }
        received
    });
    let mut published: Vec<(EventId, Instant)> = Vec::new();
    let mut slowest_publish = Duration::ZERO;
    for n in 0..200 {
        let start = Instant::now();
        let id = hub.publish("t", event(n)).await.unwrap();
        slowest_publish = slowest_publish.max(start.elapsed());
        published.push((id, start));
        // The fast subscriber keeps up: the next publish waits until it has this event, so
        // its queue (8) never fills however the test threads are scheduled. The stalled
        // ones never read.
        tokio::time::timeout(DELIVERY_BOUND, count_rx.wait_for(|&count| count > n))
            .await
            .expect("the fast subscriber got the event within the bound")
            .unwrap();
    }
    hub.close();
    let received = reader.await.unwrap();
    assert_eq!(
        received.len(),
        published.len(),
        "the fast subscriber lost nothing"
    );
    let mut slowest_delivery = Duration::ZERO;
    for ((id, sent), (got, at)) in published.iter().zip(&received) {
        assert_eq!(id, got);
        slowest_delivery = slowest_delivery.max(at.duration_since(*sent));
    }
    println!(
        "{policy:?}: slowest publish {slowest_publish:?}, slowest delivery {slowest_delivery:?}"
    );
    assert!(slowest_publish < PUBLISH_BOUND, "{slowest_publish:?}");
    assert!(slowest_delivery < DELIVERY_BOUND, "{slowest_delivery:?}");
    let stats = hub.stats();
    match policy {
        // Each stalled subscriber keeps the newest 8 and drops the rest.
        SlowConsumerPolicy::DropOldest => assert_eq!(stats.dropped, 200 * (200 - 8)),
        // Each stalled subscriber is cut at the 9th event, its queue discarded.
        _ => assert_eq!((stats.disconnected, stats.dropped), (200, 200 * 9)),
    }
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscribers_do_not_delay_the_others_with_drop_oldest() {
    stalled_subscribers_do_not_delay_the_others(SlowConsumerPolicy::DropOldest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscribers_do_not_delay_the_others_with_disconnect() {
    stalled_subscribers_do_not_delay_the_others(SlowConsumerPolicy::Disconnect).await;
}

async fn events(State(hub): State<Hub>) -> Subscription {
    hub.subscribe(Subscribe::new(["t"])).await.unwrap()
}

/// Sends a GET and reads up to the end of the response head.
async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200 OK"));
    tcp
}

/// Over real TCP: a client that stops reading fills its socket buffers, then its queue, and
/// is disconnected, while a client that reads gets every event in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_over_http() {
    let hub = Hub::builder()
        .subscriber_queue(16)
        .slow_consumer(SlowConsumerPolicy::Disconnect)
        .keep_alive(KeepAlive::disabled())
        .build();
    let app = Router::new()
        .route("/events", get(events))
        .with_state(hub.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let _stalled = connect(addr).await; // never read again
    let mut reader = connect(addr).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while hub.subscriber_count("t") < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let payload = "x".repeat(64 * 1024);
    let total = 200; // 12.8 MiB: far more than two socket buffers
    let received = Arc::new(AtomicUsize::new(0));
    let drain = tokio::spawn({
        let received = Arc::clone(&received);
        async move {
            let mut buf = vec![0; 256 * 1024];
            let mut events = 0;
            let mut tail = Vec::new();
            while events < total {
                let n = reader.read(&mut buf).await.unwrap();
                assert!(n > 0, "the reading client must not be cut off");
                tail.extend_from_slice(&buf[..n]);
                // The chunked body's last chunk: the hub ended this stream.
                assert!(
                    !tail.ends_with(b"\r\n0\r\n\r\n"),
                    "the reading client was disconnected after {events} events"
                );
                // Count event ends ("\n\n") without keeping the whole stream; the opening
                // comment is not an event.
                while let Some(at) = tail.windows(2).position(|w| w == b"\n\n") {
                    let segment = &tail[..at];
                    let last_line = segment
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    if !segment[last_line..].starts_with(b":") {
                        events += 1;
                    }
                    tail.drain(..at + 2);
                }
                received.store(events, Ordering::Release);
            }
            (events, reader)
        }
    });
    for n in 0..total {
        // The reading client is kept within half its queue of the publisher, whatever else
        // the machine is doing; the stalled one falls behind without bound.
        let deadline = Instant::now() + Duration::from_secs(10);
        while n > received.load(Ordering::Acquire) + 8 {
            assert!(
                Instant::now() < deadline,
                "the reading client stopped at {n}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let start = Instant::now();
        hub.publish("t", Event::new().data(format!("{n} {payload}")))
            .await
            .unwrap();
        assert!(
            start.elapsed() < PUBLISH_BOUND,
            "publish waited {:?}",
            start.elapsed()
        );
    }
    let (events, _reader) = tokio::time::timeout(Duration::from_secs(30), drain)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events, total);
    assert_eq!(
        hub.subscriber_count("t"),
        1,
        "the stalled client was disconnected"
    );
    assert_eq!(hub.stats().disconnected, 1);
    server.abort();
}
