//! The server's production behaviour as headless Chromium meets it: a stream refused by the
//! stream limit is one `EventSource` survives (it comes back and gets events once a slot is
//! free), and the chat page works over HTTPS with HTTP/2 (a certificate made for the test).
//!
//! Skipped (with a printed reason) when chromium or chromedriver is missing; failed instead when
//! `SSE_TEST_REQUIRE_ALL=1`.

use std::time::Duration;

use axum::extract::State;
use axum::response::Html;
use axum::{Router, routing::get};
use sse_axum::hub::{Hub, HubError, Subscribe, Subscription};
use sse_axum::{Event, KeepAlive, SseLayer};
use sse_tests::tls::TlsServer;
use sse_tests::{ChromeDriver, TestServer};

const WAIT: Duration = Duration::from_secs(45);

const PAGE: &str = r#"<!doctype html><title>soft refusal</title><script>
window.got = []; window.errors = 0;
const source = new EventSource('/sse');
source.onmessage = (e) => window.got.push(e.data);
source.onerror = () => { window.errors += 1; window.state = source.readyState; };
</script>"#;

async fn events(State(hub): State<Hub>) -> Result<Subscription, HubError> {
    hub.subscribe(Subscribe::new(["t"])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softly_refused_event_source_comes_back_and_gets_events() {
    let Some(driver) = ChromeDriver::start().await.unwrap() else {
        return;
    };
    // Keep-alive comments every 200 ms: the server notices a client that left at the next one.
    let left = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hub = {
        let left = std::sync::Arc::clone(&left);
        Hub::builder()
            .keep_alive(KeepAlive::new().interval(Duration::from_millis(200)))
            .on_unsubscribe(move |_| {
                left.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .build()
    };
    let layer = SseLayer::new()
        .max_streams(1)
        .retry_after(Duration::from_millis(600));
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/sse", get(events).layer(layer.clone()))
        .with_state(hub.clone());
    let server = TestServer::spawn(app).await;
    // Another client holds the only slot.
    let holder = sse_tests::SseConnection::open(&server.url("/sse"), None)
        .await
        .unwrap();
    assert_eq!(holder.status, 200);

    let page = driver.new_session().await.unwrap();
    page.goto(&server.url("/")).await.unwrap();
    // Refused: the browser sees an end and stays CONNECTING (0), not CLOSED (2).
    page.wait_for_script(
        "the page to be refused at least twice and keep reconnecting",
        "return window.errors >= 2 && window.state === 0",
        WAIT,
    )
    .await
    .unwrap();
    // The slot frees; the page's next attempt gets in and receives events.
    drop(holder);
    let deadline = tokio::time::Instant::now() + WAIT;
    while left.load(std::sync::atomic::Ordering::SeqCst) == 0 || hub.subscriber_count("t") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page did not come back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.publish("t", Event::new().data("welcome back"))
        .await
        .unwrap();
    page.wait_for_script(
        "the page to receive the event after the slot freed",
        "return window.got.includes('welcome back')",
        WAIT,
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_page_works_over_https_and_http2() {
    let Some(driver) = ChromeDriver::start().await.unwrap() else {
        return;
    };
    let server = TlsServer::spawn(chat_example::app(chat_example::Config::default())).await;
    let page = driver.new_session().await.unwrap();
    page.goto(&server.url("/")).await.unwrap();
    let input = page.find("#username").await.unwrap();
    page.send_keys(&input, "hertz").await.unwrap();
    page.click(&page.find("#join").await.unwrap())
        .await
        .unwrap();
    page.wait_for_text("#status", "connected", WAIT)
        .await
        .unwrap();
    let protocol = page
        .execute(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(protocol.as_str(), Some("h2"), "the page came over HTTP/2");
    let input = page.find("#message").await.unwrap();
    page.send_keys(&input, "over h2").await.unwrap();
    page.click(&page.find("#send").await.unwrap())
        .await
        .unwrap();
    page.wait_for_script(
        "the message to come back over the HTTP/2 event stream",
        "return Array.from(document.querySelectorAll('#messages li.message .text'))
             .some(t => t.textContent === 'over h2')",
        WAIT,
    )
    .await
    .unwrap();
    assert!(
        server.protocols().iter().all(|p| p == "h2"),
        "{:?}",
        server.protocols()
    );
}
