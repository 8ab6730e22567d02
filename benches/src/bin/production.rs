//! Two rows for the server's production features, measured apart from `compare`:
//!
//! - **compression**: the token corpus sent one event per frame (a frame per event is what a
//!   live stream writes) through `SseLayer::compression`, each frame flushed: bytes on the
//!   wire per event and CPU time per event (the single-threaded encode loop's time), for
//!   plain, gzip, brotli and zstd;
//! - **stalled readers**: N clients with a 4 KiB receive buffer that never read, while the
//!   hub publishes 1 KiB events to them through `serve_http1`: the server's memory growth per
//!   stalled reader before the stall timeout cuts them (the bound the docs state: its queue of
//!   shared frames plus hyper's write buffer), and that every one of them is cut.
//!
//! `cargo run -p sse-benches --release --bin production [-- --quick]`

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::{Router, extract::State, routing::get};
use http_body_util::BodyExt as _;
use sse_axum::hub::{Hub, HubError, SlowConsumerPolicy, Subscribe, Subscription};
use sse_axum::layer::Encoding;
use sse_axum::{Event, EventSender, KeepAlive, SseLayer, SseStream};
use tokio::io::AsyncWriteExt as _;
use tower::ServiceExt as _;

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    compression(if quick { 2_000 } else { 50_000 }).await;
    stalled(if quick { 20 } else { 200 }).await;
}

/// The token corpus as events: `(id, data)` pairs.
fn token_events(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let id = (1_700_000_000_000_u64 + i as u64).to_string();
            let data = format!(r#"{{"token":"word{}","index":{i},"done":false}}"#, i % 97);
            (id, data)
        })
        .collect()
}

async fn compression(n: usize) {
    let events = token_events(n);
    println!(
        "| encoding | bytes on the wire per event | µs CPU per event | ratio to plain (bytes) |"
    );
    println!("|---|---:|---:|---:|");
    let mut plain_bytes = 0.0;
    for (name, accept) in [
        ("plain", None),
        ("gzip", Some(Encoding::Gzip)),
        ("br", Some(Encoding::Brotli)),
        ("zstd", Some(Encoding::Zstd)),
    ] {
        let (tx, rx) = tokio::sync::mpsc::channel::<EventSender>(1);
        let app = Router::new()
            .route(
                "/sse",
                get(move || {
                    let tx = tx.clone();
                    async move {
                        let (sender, stream) = SseStream::channel(1);
                        let _ = tx.send(sender).await;
                        stream.keep_alive(KeepAlive::disabled()).opening(None)
                    }
                }),
            )
            .layer(SseLayer::new().compression([Encoding::Zstd, Encoding::Brotli, Encoding::Gzip]));
        let mut request = Request::get("/sse");
        if let Some(encoding) = accept {
            request = request.header("accept-encoding", encoding.as_str());
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let mut body = response.into_body();
        let mut rx = rx;
        let sender = rx.recv().await.unwrap();
        let started = Instant::now();
        let mut bytes = 0usize;
        for (id, data) in &events {
            sender
                .send(Event::new().try_id(id).unwrap().data(data))
                .await
                .unwrap();
            let frame = body.frame().await.unwrap().unwrap();
            bytes += frame.into_data().map_or(0, |d| d.len());
        }
        drop(sender);
        while let Some(frame) = body.frame().await {
            bytes += frame.unwrap().into_data().map_or(0, |d| d.len());
        }
        let per_event = bytes as f64 / n as f64;
        let cpu = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        if name == "plain" {
            plain_bytes = per_event;
        }
        println!(
            "| {name} | {per_event:.1} | {cpu:.2} | {:.2} |",
            per_event / plain_bytes
        );
    }
}

async fn events(State(hub): State<Hub>) -> Result<Subscription, HubError> {
    hub.subscribe(Subscribe::new(["t"])).await
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn stalled(readers: usize) {
    let stall = Duration::from_secs(2);
    let hub = Hub::builder()
        .slow_consumer(SlowConsumerPolicy::DropOldest)
        .subscriber_queue(128)
        .stall_timeout(None)
        .build();
    let app = Router::new()
        .route("/sse", get(events))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        sse_axum::serve_http1(listener, app)
            .stall_timeout(Some(stall))
            .into_future(),
    );
    let before = rss_bytes();
    let mut clients = Vec::new();
    for _ in 0..readers {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut tcp = socket.connect(addr).await.unwrap();
        tcp.write_all(b"GET /sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .unwrap();
        clients.push(tcp);
    }
    while hub.subscriber_count("t") < readers {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let payload = "x".repeat(1024);
    let started = Instant::now();
    let mut peak = 0;
    while hub.subscriber_count("t") > 0 && started.elapsed() < Duration::from_secs(60) {
        hub.publish("t", Event::new().data(payload.as_str()))
            .await
            .unwrap();
        peak = peak.max(rss_bytes());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let cut = hub.subscriber_count("t") == 0;
    let per_reader = peak.saturating_sub(before) as f64 / readers as f64 / 1024.0;
    println!();
    println!(
        "| stalled readers | server memory growth per stalled reader (peak) | all cut | time to cut all |"
    );
    println!("|---:|---:|---|---:|");
    println!(
        "| {readers} | {per_reader:.0} KiB | {cut} | {:.1} s (stall timeout {} s) |",
        started.elapsed().as_secs_f64(),
        stall.as_secs()
    );
    drop(clients);
}
