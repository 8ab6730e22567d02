//! The memory of idle SSE connections served by a hub. Alone in its test binary, so that no
//! other test allocates while the resident memory is measured.

use std::time::{Duration, Instant};

use axum::{Router, extract::State, routing::get};
use sse_axum::KeepAlive;
use sse_axum::hub::{Hub, Subscribe, Subscription};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

async fn events(State(hub): State<Hub>) -> Subscription {
    hub.subscribe(Subscribe::new(["idle"])).await.unwrap()
}

/// The resident memory of this process, in bytes (Linux only; `None` elsewhere).
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Opens idle event streams over real TCP in two rounds (the first warms allocator pools up),
/// measures what the second round added per connection, server and client side together (the
/// client side is a bare socket), and checks that every subscriber goes away with its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_stay_small() {
    const CONNECTIONS: usize = 2_000;
    let hub = Hub::builder().keep_alive(KeepAlive::disabled()).build();
    let app = Router::new()
        .route("/events", get(events))
        .with_state(hub.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut clients = Vec::with_capacity(2 * CONNECTIONS);
    let mut before = None;
    for round in 0..2 {
        if round == 1 {
            before = resident_bytes();
        }
        for _ in 0..CONNECTIONS {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            tcp.write_all(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .unwrap();
            let mut head = [0; 12];
            tcp.read_exact(&mut head).await.unwrap();
            assert_eq!(&head, b"HTTP/1.1 200");
            clients.push(tcp);
        }
    }
    let after = resident_bytes();
    assert_eq!(hub.total_subscribers(), 2 * CONNECTIONS);
    if let (Some(before), Some(after)) = (before, after) {
        let per_connection = after.saturating_sub(before) / CONNECTIONS;
        println!("an idle connection costs {per_connection} bytes (server and client side)");
        // Mostly hyper's connection buffers; the hub's share is a few hundred bytes (see the
        // unit test `an_idle_subscriber_is_small`). A loose bound against a regression.
        assert!(per_connection < 32 * 1024, "{per_connection} bytes");
    }

    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(30);
    while hub.total_subscribers() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} left",
            hub.total_subscribers()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.abort();
}
