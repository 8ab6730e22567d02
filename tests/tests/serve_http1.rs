//! `sse_axum::serve_http1` in place of `axum::serve`: events reach a real client, `ConnectInfo`
//! works, and graceful shutdown stops accepting, ends the open streams (through `SseLayer`) and
//! then returns.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum::routing::get;
use futures_util::StreamExt as _;
use sse_axum::SseLayer;
use sse_axum::hub::{Hub, Subscribe};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    hub: Hub,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// `/events` (hub topic `t`) and `/peer` (the `ConnectInfo` address), behind an `SseLayer`
/// that ends open streams on `shutdown`, served by `serve_http1` with the same signal and the
/// given request-head timeout.
async fn start(header_read_timeout: Duration) -> Server {
    let hub = Hub::builder().build();
    let shutdown = CancellationToken::new();
    let app = Router::new()
        .route(
            "/events",
            get(
                |axum::extract::State(hub): axum::extract::State<Hub>| async move {
                    match hub.subscribe(Subscribe::new(["t"])).await {
                        Ok(subscription) => subscription.into_response(),
                        Err(error) => {
                            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
                        }
                    }
                },
            ),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
        .with_state(hub.clone())
        .layer(SseLayer::new().graceful_shutdown(shutdown.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(
        sse_axum::serve_http1(listener, app)
            .header_read_timeout(Some(header_read_timeout))
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .into_future(),
    );
    Server {
        addr,
        hub,
        shutdown,
        task,
    }
}

/// Publishes `data` until a subscriber has it (the subscription may not be registered yet).
async fn publish_until_received(
    hub: &Hub,
    events: &mut (
             impl futures_util::Stream<
        Item = Result<reqwest_sse_client::Event, reqwest_sse_client::Error>,
    > + Unpin
         ),
    data: &str,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        hub.publish("t", sse_axum::Event::new().data(data))
            .await
            .expect("publish");
        match tokio::time::timeout(Duration::from_millis(200), events.next()).await {
            Ok(Some(Ok(event))) if event.data() == data => return,
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(other) => panic!("stream ended before {data:?}: {other:?}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{data:?} never arrived"
        );
    }
}

/// Publishes `data` once, to a subscriber known to be registered: the next event is it.
async fn publish_and_receive(
    hub: &Hub,
    events: &mut (
             impl futures_util::Stream<
        Item = Result<reqwest_sse_client::Event, reqwest_sse_client::Error>,
    > + Unpin
         ),
    data: &str,
) {
    hub.publish("t", sse_axum::Event::new().data(data))
        .await
        .expect("publish");
    let event = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("in time")
        .expect("an item")
        .expect("an event");
    assert_eq!(event.data(), data);
}

#[tokio::test]
async fn streams_events_and_gives_connect_info() {
    let server = start(Duration::from_secs(30)).await;
    let base = format!("http://{}", server.addr);

    // ConnectInfo: the peer address the server saw is the client's local address.
    let mut tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let local = tcp.local_addr().expect("local addr");
    tcp.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.expect("read");
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with(&local.to_string()), "{response}");

    // Events through the hub reach a real client, with the layer's headers.
    let head = reqwest::get(format!("{base}/events")).await.expect("get");
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );
    assert_eq!(
        head.headers()["cache-control"].to_str().ok(),
        Some("no-cache, no-transform")
    );
    drop(head);
    let client = reqwest_sse_client::Client::builder()
        .build()
        .expect("client");
    let mut events = Box::pin(client.subscribe(format!("{base}/events")));
    publish_until_received(&server.hub, &mut events, "one").await;
    publish_and_receive(&server.hub, &mut events, "two").await;

    server.shutdown.cancel();
    tokio::time::timeout(WAIT, server.task)
        .await
        .expect("the server returns after shutdown")
        .expect("no panic")
        .expect("no error");
}

#[tokio::test]
async fn graceful_shutdown_ends_streams_then_returns_and_stops_accepting() {
    let server = start(Duration::from_secs(30)).await;
    let base = format!("http://{}", server.addr);

    // An open stream, and an idle keep-alive connection that has finished a request.
    let client = reqwest_sse_client::Client::builder()
        .max_retries(Some(0))
        .build()
        .expect("client");
    let mut events = Box::pin(client.subscribe(format!("{base}/events")));
    publish_until_received(&server.hub, &mut events, "before").await;
    let mut idle = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0_u8; 1024];
    let n = idle.read(&mut buf).await.expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
    assert!(!server.task.is_finished());

    server.shutdown.cancel();
    // The stream ends (the layer ends it), the idle connection is closed, the server returns.
    let end = tokio::time::timeout(WAIT, events.next())
        .await
        .expect("the stream ends in time");
    assert!(
        !matches!(end, Some(Ok(_))),
        "no event after shutdown: {end:?}"
    );
    let n = tokio::time::timeout(WAIT, idle.read(&mut buf))
        .await
        .expect("the idle connection closes in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "idle connection closed without a response");
    tokio::time::timeout(WAIT, server.task)
        .await
        .expect("the server returns after shutdown")
        .expect("no panic")
        .expect("no error");

    // The listener is gone.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_but_an_open_stream_is_not() {
    let timeout = Duration::from_millis(500);
    let server = start(timeout).await;

    // A stream opened before the timeout still gets events after it.
    let client = reqwest_sse_client::Client::builder()
        .build()
        .expect("client");
    let mut events = Box::pin(client.subscribe(format!("http://{}/events", server.addr)));
    publish_until_received(&server.hub, &mut events, "early").await;

    // A client that sends half a request head and then nothing.
    let mut slow = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let started = tokio::time::Instant::now();
    slow.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let mut buf = [0_u8; 256];
    let n = tokio::time::timeout(WAIT, slow.read(&mut buf))
        .await
        .expect("the server gives up in time")
        .unwrap_or(0);
    assert_eq!(n, 0, "closed without a response");
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));

    tokio::time::sleep(timeout).await;
    publish_and_receive(&server.hub, &mut events, "late").await;
    server.shutdown.cancel();
}

#[tokio::test]
async fn an_upgrade_route_keeps_working() {
    // What axum's WebSocket extractor relies on: hyper hands the connection over after 101.
    async fn echo(mut request: axum::extract::Request) -> axum::response::Response {
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut io = hyper_util::rt::TokioIo::new(upgraded);
            let mut buf = [0_u8; 64];
            while let Ok(n) = io.read(&mut buf).await {
                if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        axum::response::Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "upgrade")
            .header("upgrade", "echo")
            .body(axum::body::Body::empty())
            .expect("a valid response")
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let app = Router::new().route("/echo", get(echo));
    tokio::spawn(sse_axum::serve_http1(listener, app).into_future());

    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .expect("write");
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut byte))
            .await
            .expect("a response head in time")
            .expect("read");
        assert_eq!(n, 1, "closed before the response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp.write_all(b"ping").await.expect("write");
    let mut echoed = [0_u8; 4];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut echoed))
        .await
        .expect("the echo in time")
        .expect("read");
    assert_eq!(&echoed, b"ping");
}
