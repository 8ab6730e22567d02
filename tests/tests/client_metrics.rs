//! The client's reconnects counted by reason through the `metrics` facade (sse-client feature
//! `metrics`), read back from a Prometheus recorder installed in this test process (its own
//! binary, so the global recorder is this test's alone).

use std::time::Duration;

use axum::{Router, routing::get};
use futures_util::StreamExt as _;
use futures_util::stream;
use sse_axum::{Event, SseStream};
use sse_tests::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_are_counted_by_reason() {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .unwrap();
    // Each response: one event with a short retry, then a clean end: the client reconnects.
    let app = Router::new().route(
        "/sse",
        get(|| async {
            SseStream::new(stream::iter([Event::new()
                .retry(Duration::from_millis(10))
                .data("x")]))
        }),
    );
    let server = TestServer::spawn(app).await;
    let client = reqwest_sse_client::Client::builder().build().unwrap();
    let mut events = client.subscribe(server.url("/sse"));
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    drop(events);
    let text = handle.render();
    let count: u64 = text
        .lines()
        .find(|line| line.starts_with("sse_client_reconnects_total{reason=\"end_of_stream\"}"))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no reconnect count in\n{text}"));
    assert!(count >= 2, "{count} reconnects after three streams\n{text}");
}
