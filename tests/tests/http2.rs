//! Event streams over HTTP/2 without TLS (h2c, which `axum::serve` speaks with axum's `http2`
//! feature): fifty streams of a `Hub` on ONE connection of a real client (reqwest with prior
//! knowledge), with the opening comment, keep-alive, a lifetime's clean end and a graceful
//! shutdown that ends all fifty cleanly. (Over TLS with ALPN: `https.rs` and the chat in
//! Chromium.)

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::{Router, routing::get};
use futures_util::StreamExt as _;
use sse_axum::hub::{Hub, HubError, Subscribe, Subscription};
use sse_axum::{Event, KeepAlive, LastEventId, SseLayer};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const STREAMS: usize = 50;
const PATIENCE: Duration = Duration::from_secs(15);

#[derive(Clone)]
struct App {
    hub: Hub,
    peers: Arc<Mutex<HashSet<SocketAddr>>>,
}

async fn events(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    last_event_id: Option<LastEventId>,
) -> Result<Subscription, HubError> {
    app.peers.lock().unwrap().insert(peer);
    app.hub
        .subscribe(Subscribe::new(["t"]).last_event_id(last_event_id))
        .await
}

struct Server {
    addr: SocketAddr,
    app: App,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(layer: SseLayer, shutdown: CancellationToken) -> Server {
    let hub = Hub::builder()
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(200)))
        .build();
    let app = App {
        hub,
        peers: Arc::default(),
    };
    let router = Router::new()
        .route("/sse", get(events))
        .with_state(app.clone())
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signal = shutdown.clone();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { signal.cancelled().await })
        .await
        .unwrap();
    });
    Server {
        addr,
        app,
        shutdown,
        task,
    }
}

/// A client that speaks HTTP/2 from the first byte (h2c has no upgrade in reqwest).
fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

/// `GET /sse` over HTTP/2; the raw body as a stream of chunks.
async fn open(
    client: &reqwest::Client,
    addr: SocketAddr,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Unpin {
    let response = client
        .get(format!("http://{addr}/sse"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    response.bytes_stream()
}

/// Reads until `wanted` is in the text, or fails after [`PATIENCE`]; returns everything read.
async fn read_until(
    body: &mut (impl futures_util::Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Unpin),
    text: &mut String,
    wanted: &str,
) {
    let deadline = Instant::now() + PATIENCE;
    while !text.contains(wanted) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} in {text:?}"))
            .expect("the stream ended")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_hub_streams_share_one_http2_connection_and_end_cleanly_on_shutdown() {
    let shutdown = CancellationToken::new();
    let layer = SseLayer::new()
        .graceful_shutdown(shutdown.clone())
        .final_event(Event::new().try_event("bye").unwrap().data(""));
    let server = serve(layer, shutdown).await;
    let client = h2c_client();
    let mut bodies = Vec::new();
    for _ in 0..STREAMS {
        bodies.push(open(&client, server.addr).await);
    }
    wait_for(|| server.app.hub.subscriber_count("t") == STREAMS).await;
    assert_eq!(
        server.app.peers.lock().unwrap().len(),
        1,
        "all fifty streams came over one connection"
    );

    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            server
                .app
                .hub
                .publish("t", Event::new().data(format!("event {n}")))
                .await
                .unwrap(),
        );
    }
    let mut texts = Vec::new();
    for body in &mut bodies {
        let mut text = String::new();
        read_until(body, &mut text, "data: event 2\n\n").await;
        assert!(text.starts_with(":\n\n"), "the opening comment comes first");
        for (n, id) in ids.iter().enumerate() {
            assert!(
                text.contains(&format!("id: {id}\ndata: event {n}\n\n")),
                "{text}"
            );
        }
        texts.push(text);
    }
    // Keep-alive comments every 200 ms on every stream.
    read_until(&mut bodies[0], &mut texts[0], "\n\n:\n\n").await;

    let started = Instant::now();
    server.shutdown.cancel();
    for (body, mut text) in bodies.iter_mut().zip(texts) {
        read_until(body, &mut text, "event: bye\ndata:\n\n").await;
        let end = tokio::time::timeout(PATIENCE, body.next()).await.unwrap();
        assert!(end.is_none(), "the stream did not end cleanly: {end:?}");
    }
    tokio::time::timeout(PATIENCE, server.task)
        .await
        .expect("the server did not shut down")
        .unwrap();
    eprintln!(
        "fifty HTTP/2 streams ended and the server returned in {:?}",
        started.elapsed()
    );
}

/// A lifetime ends a stream cleanly over HTTP/2, and the client resumes with its
/// `Last-Event-ID` on the same connection without missing an event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lifetime_ends_an_http2_stream_and_the_client_resumes() {
    let layer = SseLayer::new().max_lifetime(Duration::from_millis(300));
    let server = serve(layer, CancellationToken::new()).await;
    let client = h2c_client();
    let mut body = open(&client, server.addr).await;
    wait_for(|| server.app.hub.subscriber_count("t") == 1).await;
    let first = server
        .app
        .hub
        .publish("t", Event::new().data("one"))
        .await
        .unwrap();
    let mut text = String::new();
    read_until(&mut body, &mut text, "data: one\n\n").await;
    let end = tokio::time::timeout(PATIENCE, async {
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "the lifetime did not end the stream");
    // Published while the client is away, replayed when it resumes.
    let second = server
        .app
        .hub
        .publish("t", Event::new().data("two"))
        .await
        .unwrap();
    let response = client
        .get(format!("http://{}/sse", server.addr))
        .header("last-event-id", first.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let mut body = response.bytes_stream();
    let mut text = String::new();
    read_until(&mut body, &mut text, "data: two\n\n").await;
    assert!(text.contains(&format!("id: {second}\ndata: two\n\n")));
    assert!(!text.contains("data: one"), "no duplicate");
    assert_eq!(server.app.peers.lock().unwrap().len(), 1, "one connection");
}
