//! Hostile and broken clients against a hub server and the chat example, over raw TCP where
//! the request itself is the attack: a client that never reads, thousands of connect-and-drop
//! cycles, bad `Last-Event-ID` headers (1 MiB, NUL, invalid UTF-8), line-break and `data:`
//! injection through every user-facing string of the chat, a flood beyond the connection
//! limit, a huge POST body. Each test checks the status or error seen and that the server still
//! serves a normal client afterwards.
//!
//! The tests of this file run one at a time (they count the process's open file descriptors).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chat_example::Config;
use reqwest::Url;
use sse_axum::hub::{Hub, SlowConsumerPolicy, Subscribe, Subscription};
use sse_axum::{Event, LastEventId, SseLayer};
use sse_tests::{RawSse, SseConnection, TestServer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};

/// One test at a time: the file-descriptor counts are per process.
static SERIAL: Mutex<()> = Mutex::const_new(());

const TOPIC: &str = "news";

async fn events(
    State(hub): State<Hub>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, (StatusCode, String)> {
    hub.subscribe(Subscribe::new([TOPIC]).last_event_id(last_event_id))
        .await
        .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))
}

fn hub_router(hub: Hub, layer: SseLayer) -> Router {
    Router::new()
        .route("/events", get(events))
        .layer(layer)
        .with_state(hub)
}

/// The number of open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// Polls `f` every 10 ms until it holds or 15 s passed; returns whether it held.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        sleep(Duration::from_millis(10)).await;
    }
    f()
}

/// Sends `request` as it is (it should say `Connection: close`) and returns what the server
/// answers until it closes the connection (or 15 s passed).
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = tcp.into_split();
    // Written while the answer is read: the server may answer and close before reading the
    // whole request (write errors are then expected and ignored).
    let request = request.to_vec();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&request).await;
        write
    });
    let mut response = Vec::new();
    let mut buf = [0_u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let Ok(result) = tokio::time::timeout_at(deadline, read.read(&mut buf)).await else {
            break;
        };
        match result {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    writer.abort();
    String::from_utf8_lossy(&response).into_owned()
}

fn status_of(response: &str) -> Option<u16> {
    response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// A normal client still gets a published event from a hub server.
async fn hub_serves_a_normal_client(server: &TestServer, hub: &Hub) {
    let mut conn = SseConnection::open(&server.url("/events"), None)
        .await
        .unwrap();
    assert_eq!(conn.status, StatusCode::OK, "{}", conn.error_body);
    hub.publish(TOPIC, Event::new().data("still here"))
        .await
        .unwrap();
    let event = loop {
        let event = conn.next_event().await.expect("an event");
        if event.data() == "still here" {
            break event;
        }
    };
    assert!(!event.last_event_id().is_empty());
}

// ---------------------------------------------------------------------------------------------
// A client that connects and never reads
// ---------------------------------------------------------------------------------------------

/// Opens an event stream over raw TCP and never reads a byte of the response.
async fn never_reading_client(server: &TestServer) -> TcpStream {
    let mut tcp = TcpStream::connect(server.addr()).await.unwrap();
    tcp.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    tcp
}

async fn a_client_that_never_reads(policy: SlowConsumerPolicy) {
    const EVENTS: usize = 400;
    let hub = Hub::builder()
        .subscriber_queue(16)
        .slow_consumer(policy)
        .history_len(16)
        .build();
    let server = TestServer::spawn(hub_router(hub.clone(), SseLayer::new())).await;
    let stalled = never_reading_client(&server).await;
    let mut reader = SseConnection::open(&server.url("/events"), None)
        .await
        .unwrap();
    assert!(eventually(|| hub.total_subscribers() == 2).await);

    // 400 events of 64 KiB: far more than the socket buffers and the queue of 16 hold. The
    // publisher waits for the reading client (never more than 8 events ahead of it), so only
    // the stalled client can fall behind.
    let big = "x".repeat(64 * 1024);
    let (progress_tx, mut progress) = tokio::sync::watch::channel(0_usize);
    let read_all = tokio::spawn(async move {
        for n in 0..EVENTS {
            let event = reader.next_event().await.expect("an event");
            assert_eq!(event.data().len(), 64 * 1024 + n.to_string().len() + 1);
            assert!(
                event.data().starts_with(&format!("{n} ")),
                "event {n} missing"
            );
            progress_tx.send_replace(n + 1);
        }
        reader
    });
    for n in 0..EVENTS {
        timeout(
            Duration::from_secs(30),
            progress.wait_for(|&read| read + 8 >= n),
        )
        .await
        .expect("the reading client was held up by the stalled one")
        .unwrap();
        hub.publish(TOPIC, Event::new().data(format!("{n} {big}")))
            .await
            .unwrap();
    }
    let reader = timeout(Duration::from_secs(30), read_all)
        .await
        .expect("the reading client was held up by the stalled one")
        .unwrap();
    let stats = hub.stats();
    println!("{policy:?}: {stats:?}");
    match policy {
        SlowConsumerPolicy::Disconnect => {
            assert!(stats.disconnected >= 1, "{stats:?}");
            assert!(eventually(|| hub.total_subscribers() == 1).await);
        }
        _ => {
            assert!(stats.dropped > 0, "{stats:?}");
            assert_eq!(hub.total_subscribers(), 2, "the stream goes on");
        }
    }
    drop((stalled, reader));
    assert!(eventually(|| hub.total_subscribers() == 0).await);
    hub_serves_a_normal_client(&server, &hub).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_and_others_are_unaffected() {
    let _serial = SERIAL.lock().await;
    a_client_that_never_reads(SlowConsumerPolicy::Disconnect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_loses_its_oldest_events_and_others_are_unaffected() {
    let _serial = SERIAL.lock().await;
    a_client_that_never_reads(SlowConsumerPolicy::DropOldest).await;
}

// ---------------------------------------------------------------------------------------------
// Connect and drop
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_connect_and_drop_cycles_leak_nothing() {
    const CYCLES: usize = 3_000;
    const AT_ONCE: usize = 64;
    let _serial = SERIAL.lock().await;
    let hub = Hub::new();
    let layer = SseLayer::new();
    let server = TestServer::spawn(hub_router(hub.clone(), layer.clone())).await;
    let addr = server.addr();
    // Warm up (runtime threads, the first connection) before taking the baseline.
    hub_serves_a_normal_client(&server, &hub).await;
    assert!(eventually(|| hub.total_subscribers() == 0).await);
    let baseline = open_fds();

    let mut tasks = JoinSet::new();
    let mut answered = 0_usize;
    for cycle in 0..CYCLES {
        if tasks.len() >= AT_ONCE {
            answered += tasks.join_next().await.unwrap().unwrap();
        }
        tasks.spawn(async move {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let request = b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n";
            match cycle % 4 {
                // Connect and leave at once.
                0 => 0,
                // Leave in the middle of the request line.
                1 => {
                    let _ = tcp.write_all(&request[..9]).await;
                    0
                }
                // Send the request, leave before the answer.
                2 => {
                    let _ = tcp.write_all(request).await;
                    0
                }
                // Read the response head, then leave with the stream open.
                _ => {
                    tcp.write_all(request).await.unwrap();
                    let mut buf = [0_u8; 512];
                    let n = timeout(Duration::from_secs(15), tcp.read(&mut buf))
                        .await
                        .unwrap()
                        .unwrap();
                    usize::from(buf[..n].starts_with(b"HTTP/1.1 200 OK"))
                }
            }
        });
        if cycle % 500 == 0 {
            // Events while clients come and go.
            hub.publish(TOPIC, Event::new().data("tick")).await.unwrap();
        }
    }
    while let Some(result) = tasks.join_next().await {
        answered += result.unwrap();
    }
    assert_eq!(
        answered,
        CYCLES / 4,
        "every complete request was answered 200"
    );

    let back = eventually(|| {
        hub.total_subscribers() == 0 && layer.open_streams() == 0 && open_fds() <= baseline
    })
    .await;
    println!(
        "{CYCLES} cycles: subscribers {}, open streams {}, fds {} (baseline {baseline})",
        hub.total_subscribers(),
        layer.open_streams(),
        open_fds()
    );
    assert!(back, "not back to the baseline");
    hub_serves_a_normal_client(&server, &hub).await;
}

// ---------------------------------------------------------------------------------------------
// Bad Last-Event-ID headers, over raw TCP
// ---------------------------------------------------------------------------------------------

async fn chat_server(config: Config) -> (TestServer, Hub) {
    let hub = chat_example::build_hub(&config);
    let server = TestServer::spawn(chat_example::app_with_hub(config, hub.clone())).await;
    (server, hub)
}

fn chat_url(server: &TestServer, path: &str, params: &[(&str, &str)]) -> Url {
    let mut url = Url::parse(&server.url(path)).unwrap();
    if !params.is_empty() {
        url.query_pairs_mut().extend_pairs(params);
    }
    url
}

async fn chat_post(server: &TestServer, path: &str, params: &[(&str, &str)]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(chat_url(server, path, params))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A normal chat client still connects and gets a broadcast.
async fn chat_serves_a_normal_client(server: &TestServer) {
    let url = chat_url(server, "/chat/sse", &[("username", "normal")]);
    let mut conn = SseConnection::open(url.as_str(), None).await.unwrap();
    assert_eq!(conn.status, StatusCode::OK, "{}", conn.error_body);
    let (status, body) = chat_post(
        server,
        "/chat/broadcast",
        &[("from", "alice"), ("message", "still here")],
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let event = conn.next_event().await.expect("an event");
    assert_eq!(event.event_type(), "broadcast");
    assert!(event.data().contains("still here"), "{}", event.data());
}

fn sse_request_with_id(id: &[u8]) -> Vec<u8> {
    let mut request =
        b"GET /chat/sse?username=bob HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: ".to_vec();
    request.extend_from_slice(id);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_last_event_ids_get_4xx_and_the_server_goes_on() {
    let _serial = SERIAL.lock().await;
    let (server, hub) = chat_server(Config::default()).await;
    let one_mib = vec![b'7'; 1024 * 1024];
    let two_kib = vec![b'7'; 2048];
    let cases: [(&str, Vec<u8>, &[u16], &str); 6] = [
        // hyper refuses a head this large before any handler runs.
        ("1 MiB", one_mib, &[431], ""),
        (
            "2 KiB",
            two_kib,
            &[400],
            "2048 bytes long, the limit is 1024",
        ),
        (
            "invalid UTF-8",
            b"12\xFF\xFE34".to_vec(),
            &[400],
            "not valid utf-8",
        ),
        // httparse refuses a NUL in a header value: 400 from hyper itself.
        ("NUL", b"12\x0034".to_vec(), &[400], ""),
        (
            "not an id",
            b"abc".to_vec(),
            &[400],
            "invalid Last-Event-ID",
        ),
        (
            "a too large id",
            b"99999999999999999999999".to_vec(),
            &[400],
            "number too large",
        ),
    ];
    for (what, id, statuses, message) in cases {
        let response = raw_exchange(server.addr(), &sse_request_with_id(&id)).await;
        let status = status_of(&response);
        println!("{what}: {status:?}");
        assert!(
            status.is_some_and(|s| statuses.contains(&s)),
            "{what}: {}",
            response.get(..200).unwrap_or(&response)
        );
        assert!(response.contains(message), "{what}: {response}");
        chat_serves_a_normal_client(&server).await;
    }
    // The query parameter of polyfills: NUL and line breaks arrive percent-encoded.
    for (what, query, message) in [
        ("NUL", "lastEventId=12%0034", "contains a nul character"),
        ("LF", "lastEventId=12%0Aid:%203", "contains a line break"),
        ("CR", "lastEventId=12%0D", "contains a line break"),
        ("invalid UTF-8", "lastEventId=%FF", "not valid utf-8"),
    ] {
        let request = format!(
            "GET /chat/sse?username=bob&{query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        );
        let response = raw_exchange(server.addr(), request.as_bytes()).await;
        assert_eq!(status_of(&response), Some(400), "{what}: {response}");
        assert!(response.contains(message), "{what}: {response}");
    }
    assert_eq!(hub.total_subscribers(), 0, "no refused request subscribed");
    chat_serves_a_normal_client(&server).await;
}

// ---------------------------------------------------------------------------------------------
// Injection through every user-facing string of the chat
// ---------------------------------------------------------------------------------------------

const INJECTIONS: &[&str] = &[
    "a\nb",
    "a\rb",
    "a\r\nb",
    "x\n\ndata: evil\n\n",
    "x\r\rdata: evil\r\r",
    "data: evil",
    "id: 1",
    "event: direct",
    "retry: 1",
    ": comment",
    "\u{2028}\u{2029}\u{85}",
    "\u{feff}data: evil",
    "tab\there",
    "nul\0byte",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_through_every_chat_string_is_refused_or_arrives_intact() {
    let _serial = SERIAL.lock().await;
    let (server, _hub) = chat_server(Config::default()).await;
    // "victim" sees broadcasts and direct messages; its raw stream is checked line by line.
    let victim_url = chat_url(&server, "/chat/sse", &[("username", "victim")]);
    let mut victim = SseConnection::open(victim_url.as_str(), None)
        .await
        .unwrap();
    let mut raw = RawSse::open(victim_url.as_str(), None).await.unwrap();
    let mut delivered = 0_usize;

    for &text in INJECTIONS {
        // The chat's name rule refuses control, format and bidi characters (U+FEFF among them).
        let refused = chat_example::normalize_name(text, Config::default().max_name_chars).is_err();
        assert!(refused || !text.chars().any(char::is_control), "{text:?}");
        // username: a user name the rule refuses cannot subscribe.
        let url = chat_url(&server, "/chat/sse", &[("username", text)]);
        let conn = SseConnection::open(url.as_str(), None).await.unwrap();
        if refused {
            assert_eq!(conn.status, StatusCode::BAD_REQUEST, "username {text:?}");
            assert!(conn.error_body.contains("username"), "{}", conn.error_body);
        } else {
            assert_eq!(conn.status, StatusCode::OK, "username {text:?}");
        }
        drop(conn);

        for (field, params) in [
            ("from", vec![("from", text), ("message", "hi")]),
            ("message", vec![("from", "alice"), ("message", text)]),
        ] {
            let (status, body) = chat_post(&server, "/chat/broadcast", &params).await;
            if refused && field != "message" {
                assert_eq!(status, 400, "{field} {text:?}: {body}");
                assert!(body.contains(field), "{body}");
                continue;
            }
            assert_eq!(status, 204, "{field} {text:?}: {body}");
            let event = victim.next_event().await.expect("the broadcast");
            let json: serde_json::Value = serde_json::from_str(event.data()).unwrap();
            assert_eq!(event.event_type(), "broadcast");
            assert_eq!(json["From"], params[0].1, "{field} {text:?}");
            assert_eq!(json["Message"], params[1].1, "{field} {text:?}");
            delivered += 1;
        }
        // to: a direct message to a user name that is itself an injection attempt.
        let (status, body) = chat_post(
            &server,
            "/chat/direct",
            &[("from", "alice"), ("to", text), ("message", "psst")],
        )
        .await;
        if refused {
            assert_eq!(status, 400, "to {text:?}: {body}");
            assert!(body.contains("parameter to"), "{body}");
        } else {
            // Sent to that user's own topic (404 once its connection is gone), never to
            // "victim".
            assert!(
                status == 204 || status == 404,
                "to {text:?}: {status} {body}"
            );
        }
    }
    // On the wire: every event is exactly `event`, `id`, `data` lines, nothing else.
    let text = raw
        .read_until(|t| t.matches("\n\n").count() >= delivered)
        .await;
    let events: Vec<&str> = text.split_terminator("\n\n").collect();
    assert_eq!(events.len(), delivered, "{text:?}");
    for event in events {
        let lines: Vec<&str> = event.split('\n').collect();
        assert_eq!(lines.len(), 3, "{event:?}");
        assert_eq!(lines[0], "event: broadcast");
        assert!(lines[1].starts_with("id: "), "{event:?}");
        assert!(lines[2].starts_with("data: {\"Type\""), "{event:?}");
        assert!(!event.contains('\r'), "{event:?}");
    }
    chat_serves_a_normal_client(&server).await;
}

// ---------------------------------------------------------------------------------------------
// A flood beyond the connection limit
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_the_connection_limit_gets_503_with_retry_after() {
    const LIMIT: usize = 50;
    const FLOOD: usize = 1_000;
    let _serial = SERIAL.lock().await;
    let hub = Hub::new();
    let layer = SseLayer::new()
        .max_streams(LIMIT)
        .refusal(sse_axum::layer::Refusal::Unavailable)
        .retry_after(Duration::from_secs(7));
    let server = TestServer::spawn(hub_router(hub.clone(), layer.clone())).await;
    let addr = server.addr();

    // Fill the limit with streams that stay open.
    let mut open = Vec::new();
    for _ in 0..LIMIT {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0_u8; 256];
        let n = timeout(Duration::from_secs(15), tcp.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
        open.push(tcp);
    }
    assert_eq!(layer.open_streams(), LIMIT);

    // The flood: 1000 requests, 100 at a time.
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..FLOOD {
        if tasks.len() >= 100 {
            tasks.join_next().await.unwrap().unwrap();
        }
        let refused = Arc::clone(&refused);
        tasks.spawn(async move {
            let response = raw_exchange(
                addr,
                b"GET /events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .await;
            assert_eq!(status_of(&response), Some(503), "{response}");
            let lower = response.to_ascii_lowercase();
            assert!(lower.contains("\r\nretry-after: 7\r\n"), "{response}");
            assert!(lower.contains("content-type: text/plain"), "{response}");
            refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    assert_eq!(refused.load(std::sync::atomic::Ordering::Relaxed), FLOOD);
    assert_eq!(
        layer.open_streams(),
        LIMIT,
        "refused streams are not counted"
    );
    assert!(
        eventually(|| hub.total_subscribers() == LIMIT).await,
        "the handlers' subscriptions of refused streams were dropped"
    );

    // Once a stream leaves, a normal client gets in again.
    open.truncate(LIMIT - 1);
    assert!(eventually(|| layer.open_streams() == LIMIT - 1).await);
    hub_serves_a_normal_client(&server, &hub).await;
    drop(open);
    assert!(eventually(|| layer.open_streams() == 0 && hub.total_subscribers() == 0).await);
}

// ---------------------------------------------------------------------------------------------
// A huge POST body
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_post_body_gets_413() {
    let _serial = SERIAL.lock().await;
    let (server, _hub) = chat_server(Config::default()).await;
    let chunk = vec![b'a'; 64 * 1024];

    // Declared up front: 100 MiB of form body, of which the client sends 4 MiB.
    let mut request = format!(
        "POST /chat/broadcast HTTP/1.1\r\nHost: localhost\r\nContent-Type: \
         application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\nfrom=mallory&message=",
        100 * 1024 * 1024
    )
    .into_bytes();
    for _ in 0..64 {
        request.extend_from_slice(&chunk);
    }
    let response = raw_exchange(server.addr(), &request).await;
    assert_eq!(
        status_of(&response),
        Some(413),
        "{}",
        &response[..response.len().min(300)]
    );
    chat_serves_a_normal_client(&server).await;

    // Chunked, without a length: the limit applies while reading.
    let mut request = b"POST /chat/broadcast HTTP/1.1\r\nHost: localhost\r\nContent-Type: \
         application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for _ in 0..64 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    let response = raw_exchange(server.addr(), &request).await;
    assert_eq!(
        status_of(&response),
        Some(413),
        "{}",
        &response[..response.len().min(300)]
    );

    // Within the body limit but over the message limit: 413 from the chat itself.
    let big = "b".repeat(5000);
    let (status, body) = chat_post(
        &server,
        "/chat/broadcast",
        &[("from", "mallory"), ("message", &big)],
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body, "message is larger than 4096 bytes");
    chat_serves_a_normal_client(&server).await;
}
