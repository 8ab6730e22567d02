//! The hub's lifecycle: counts, hooks, clients leaving over real HTTP, `close()`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::{Router, extract::State, routing::get};
use futures_util::{Stream as _, StreamExt as _};
use sse_axum::hub::{FrameKind, Hub, HubError, Subscribe, Subscription};
use sse_axum::{Event, LastEventId, SseLayer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Waits (in real time, generously) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn counts_and_hooks_follow_subscribers() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let hub = Hub::builder()
        .on_subscribe({
            let log = Arc::clone(&log);
            move |info| {
                log.lock()
                    .unwrap()
                    .push(format!("+{}", info.topics().join(",")))
            }
        })
        .on_unsubscribe({
            let log = Arc::clone(&log);
            move |info| {
                log.lock()
                    .unwrap()
                    .push(format!("-{}", info.topics().join(",")))
            }
        })
        .build();
    let a = hub.subscribe(Subscribe::new(["room"])).await.unwrap();
    let b = hub
        .subscribe(Subscribe::new(["room", "user:bob", "room"]))
        .await
        .unwrap();
    let c = hub.subscribe(Subscribe::new(["user:bob"])).await.unwrap();
    assert_eq!(
        b.info().topics(),
        ["room", "user:bob"],
        "duplicates ignored"
    );
    assert_eq!(hub.subscriber_count("room"), 2);
    assert_eq!(hub.subscriber_count("user:bob"), 2);
    assert_eq!(hub.subscriber_count("nobody"), 0);
    assert_eq!(hub.total_subscribers(), 3);
    let mut topics = hub.topics();
    topics.sort();
    assert_eq!(topics, ["room", "user:bob"]);

    hub.publish("room", Event::new().data("hi")).await.unwrap();
    let stats = hub.stats();
    assert_eq!(
        (stats.published, stats.subscribers, stats.topics),
        (1, 3, 2)
    );

    drop(b);
    assert_eq!(
        (hub.subscriber_count("room"), hub.total_subscribers()),
        (1, 2)
    );
    drop((a, c));
    assert_eq!(hub.total_subscribers(), 0);
    assert!(hub.topics().is_empty());
    assert_eq!(
        *log.lock().unwrap(),
        [
            "+room",
            "+room,user:bob",
            "+user:bob",
            "-room,user:bob",
            "-room",
            "-user:bob"
        ]
    );
}

#[tokio::test]
async fn hooks_may_call_the_hub() {
    let hub_slot: Arc<OnceLock<Hub>> = Arc::default();
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let hub = Hub::builder()
        .on_subscribe({
            let (hub_slot, seen) = (Arc::clone(&hub_slot), Arc::clone(&seen));
            move |_| {
                seen.lock()
                    .unwrap()
                    .push(hub_slot.get().unwrap().total_subscribers())
            }
        })
        .on_unsubscribe({
            let (hub_slot, seen) = (Arc::clone(&hub_slot), Arc::clone(&seen));
            move |_| {
                seen.lock()
                    .unwrap()
                    .push(hub_slot.get().unwrap().total_subscribers())
            }
        })
        .build();
    hub_slot.set(hub.clone()).unwrap();
    let s = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    drop(s);
    assert_eq!(
        *seen.lock().unwrap(),
        [1, 0],
        "hooks run after the change, outside the lock"
    );
}

#[tokio::test]
async fn close_ends_every_stream_after_what_is_queued() {
    let hub = Hub::new();
    let mut s = hub.subscribe(Subscribe::new(["t"])).await.unwrap();
    let id = hub
        .publish("t", Event::new().data("last words"))
        .await
        .unwrap();
    hub.close();
    assert!(hub.is_closed());
    assert_eq!(hub.total_subscribers(), 0);
    assert_eq!(s.next().await.unwrap().id(), Some(id));
    assert!(s.next().await.is_none());
    assert!(s.next().await.is_none(), "stays ended");
    assert!(matches!(
        hub.publish("t", Event::new().data("late")).await,
        Err(HubError::Closed)
    ));
    assert!(matches!(
        hub.subscribe(Subscribe::new(["t"])).await,
        Err(HubError::Closed)
    ));
}

/// The chat's handler: a user's connection follows the broadcast topic and its direct
/// messages, resuming both from one `Last-Event-ID`; a bad id is a 400.
async fn events(
    State(hub): State<Hub>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, (StatusCode, String)> {
    let request = Subscribe::new(["broadcast", "user:alice"]).last_event_id(last_event_id);
    hub.subscribe(request)
        .await
        .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))
}

async fn serve(
    hub: &Hub,
    shutdown: CancellationToken,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .route("/events", get(events))
        .layer(SseLayer::new().graceful_shutdown(shutdown.clone()))
        .with_state(hub.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .unwrap();
    });
    (addr, server)
}

/// Sends a GET with optional extra header lines, returns the stream and the response head.
async fn get_events(addr: SocketAddr, headers: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /events HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    (tcp, String::from_utf8(head).unwrap())
}

/// Reads until `needle` has arrived; returns everything read.
async fn read_until(tcp: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n > 0,
            "connection closed before {needle:?}: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_return_to_zero_when_http_clients_leave() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let hub = Hub::new();
    let shutdown = CancellationToken::new();
    let (addr, server) = serve(&hub, shutdown.clone()).await;

    let mut clients = Vec::new();
    for _ in 0..5 {
        let (mut tcp, head) = get_events(addr, "").await;
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        let id = hub
            .publish("broadcast", Event::new().data("hello"))
            .await
            .unwrap();
        read_until(&mut tcp, &format!("id: {id}\ndata: hello\n\n")).await;
        clients.push(tcp);
    }
    assert_eq!(hub.total_subscribers(), 5);
    assert_eq!(hub.subscriber_count("user:alice"), 5);

    // The clients hang up without a word; no event is published meanwhile.
    drop(clients);
    eventually("every subscriber is gone", || hub.total_subscribers() == 0).await;
    assert!(hub.topics().is_empty());
    assert_eq!(hub.stats().subscribers, 0);

    // Nothing of the hub or the connections is left running once the server stops.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    eventually("no task is left", || metrics.num_alive_tasks() == baseline).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_clients_resume_from_last_event_id() {
    let hub = Hub::new();
    let (addr, server) = serve(&hub, CancellationToken::new()).await;
    let seen = hub
        .publish("broadcast", Event::new().data("one"))
        .await
        .unwrap();
    let dm = hub
        .publish("user:alice", Event::new().data("psst"))
        .await
        .unwrap();
    let _bob = hub
        .publish("user:bob", Event::new().data("not for alice"))
        .await
        .unwrap();

    let (mut tcp, head) = get_events(addr, &format!("Last-Event-ID: {seen}\r\n")).await;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let live = hub
        .publish("broadcast", Event::new().data("two"))
        .await
        .unwrap();
    let body = read_until(&mut tcp, &format!("id: {live}\ndata: two\n\n")).await;
    assert!(
        body.contains(&format!("id: {dm}\ndata: psst\n\n")),
        "{body}"
    );
    assert!(
        !body.contains("not for alice") && !body.contains("data: one"),
        "{body}"
    );
    assert!(!body.contains("event: reset"), "{body}");

    let (mut tcp, head) =
        get_events(addr, "Last-Event-ID: yesterday\r\nConnection: close\r\n").await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let mut body = String::new();
    tcp.read_to_string(&mut body).await.unwrap();
    assert!(body.contains("invalid last event id"), "{body}");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_http_streams_and_lets_graceful_shutdown_finish() {
    let hub = Hub::new();
    let shutdown = CancellationToken::new();
    let (addr, server) = serve(&hub, shutdown.clone()).await;
    let (mut tcp, _) = get_events(addr, "").await;
    eventually("the client is subscribed", || hub.total_subscribers() == 1).await;
    let id = hub
        .publish("broadcast", Event::new().data("bye"))
        .await
        .unwrap();
    read_until(&mut tcp, &format!("id: {id}\ndata: bye\n\n")).await;

    // The hub ends the response: the chunked body gets its terminator.
    hub.close();
    read_until(&mut tcp, "0\r\n\r\n").await;
    assert_eq!(hub.total_subscribers(), 0);

    // Nothing holds the graceful shutdown back.
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty(), "{rest:?}");
}

#[tokio::test]
async fn subscribers_read_as_streams_without_http() {
    let hub = Hub::new();
    let first = hub.publish("t", Event::new().data("1")).await.unwrap();
    let mut s = hub
        .subscribe(Subscribe::new(["t"]).last_event_id("1"))
        .await
        .unwrap();
    assert_eq!(
        s.size_hint().0,
        2,
        "the reset event and one replayed event are ready"
    );
    assert_eq!(s.next().await.unwrap().kind(), FrameKind::Reset);
    assert_eq!(s.next().await.unwrap().id(), Some(first));
    assert!(format!("{s:?}").contains("Subscription"));
    assert_eq!(
        hub.stats().delivered,
        1,
        "the reset event is not counted as delivered"
    );
}
