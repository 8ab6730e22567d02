//! The quickstart server in-process over TCP, with a short period instead of one second.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(20);

async fn start(period: Duration) -> (SocketAddr, CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let app = quickstart_server::app(period, shutdown.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let signal = shutdown.clone().cancelled_owned();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
            .unwrap();
    });
    (addr, shutdown, server)
}

/// `GET /sse` until the server closes the connection; gives the head and the de-chunked body.
async fn fetch(addr: SocketAddr, extra_header: &str) -> (String, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET /sse HTTP/1.1\r\nHost: {addr}\r\n{extra_header}Connection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, mut chunked) = raw.split_once("\r\n\r\n").unwrap();
    let mut body = String::new();
    loop {
        let (size, rest) = chunked.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            break;
        }
        body.push_str(&rest[..size]);
        chunked = rest[size..].strip_prefix("\r\n").unwrap();
    }
    (head.to_owned(), body)
}

fn assert_timestamp(data: &str) {
    let bytes = data.as_bytes();
    assert_eq!(bytes.len(), 20, "{data}");
    for (i, b) in bytes.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*b, b'-'),
            10 => assert_eq!(*b, b'T'),
            13 | 16 => assert_eq!(*b, b':'),
            19 => assert_eq!(*b, b'Z'),
            _ => assert!(b.is_ascii_digit(), "{data}"),
        }
    }
}

/// Checks the body holds the opening comment, timestamp events with ids `first..=10`, then
/// the end event.
fn assert_events(body: &str, first: u32) {
    let body = body
        .strip_prefix(":\n\n")
        .unwrap_or_else(|| panic!("no opening comment: {body:?}"));
    let blocks: Vec<&str> = body.split_terminator("\n\n").collect();
    let expected_timestamps = (first..=10).count();
    assert_eq!(blocks.len(), expected_timestamps + 1, "{body}");
    for (block, id) in blocks[..expected_timestamps].iter().zip(first..) {
        let data = block
            .strip_prefix(&format!("event: timestamp\nid: {id}\ndata: "))
            .unwrap_or_else(|| panic!("unexpected event {block:?}"));
        assert_timestamp(data);
    }
    assert_eq!(blocks.last().unwrap(), &"event: end\ndata: end flag");
}

#[tokio::test]
async fn sends_ten_timestamps_then_the_end_event_and_closes() {
    let (addr, _shutdown, _server) = start(Duration::from_millis(10)).await;
    let (head, body) = fetch(addr, "").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    assert_events(&body, 1);
}

#[tokio::test]
async fn resumes_after_the_last_event_id() {
    let (addr, _shutdown, _server) = start(Duration::from_millis(10)).await;
    let (_, body) = fetch(addr, "Last-Event-ID: 7\r\n").await;
    assert_events(&body, 8);
    let (_, body) = fetch(addr, "Last-Event-ID: 10\r\n").await;
    assert_events(&body, 11);
}

#[tokio::test]
async fn rejects_an_invalid_last_event_id() {
    let (addr, _shutdown, _server) = start(Duration::from_millis(10)).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let long = "9".repeat(2000);
    let request = format!(
        "GET /sse HTTP/1.1\r\nHost: {addr}\r\nLast-Event-ID: {long}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    assert!(raw.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{raw}");
    assert!(raw.ends_with("invalid `Last-Event-ID` header: 2000 bytes long, the limit is 1024"));
}

#[tokio::test]
async fn shutdown_ends_open_streams_with_a_retry_hint() {
    // A long period: the stream is open and idle when the server shuts down.
    let (addr, shutdown, server) = start(Duration::from_secs(3600)).await;
    let client = tokio::spawn(fetch(addr, ""));
    // The first timestamp is sent at once; wait for the stream to be open.
    tokio::time::sleep(Duration::from_millis(200)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    let (_, body) = client.await.unwrap();
    assert!(
        body.starts_with(":\n\nevent: timestamp\nid: 1\ndata: "),
        "{body}"
    );
    assert!(
        body.ends_with("\n\n: server shutting down\nretry: 5000\n\n"),
        "{body}"
    );
}
