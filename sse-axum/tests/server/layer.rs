//! `SseLayer`: headers on foreign event streams, graceful shutdown, the stream limit,
//! the `Last-Event-ID` limit.

use std::time::Duration;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{Extension, Router, http::header, routing::get};
use futures_util::stream;
use sse_axum::layer::Refusal;
use sse_axum::{Event, KeepAlive, LastEventId, LastEventIdConfig, SseLayer, SseStream};
use tokio::{net::TcpListener, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::raw_client::{PATIENCE, RawResponse, serve};

async fn never_ending() -> SseStream {
    SseStream::new(stream::pending::<Event>())
}

/// Waits until `condition` holds, polling; panics after [`PATIENCE`].
async fn eventually(mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn layer_adds_missing_headers_to_any_event_stream_and_leaves_others_alone() {
    let app = Router::new()
        .route(
            "/foreign",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "Text/Event-Stream; charset=utf-8")],
                    "data: x\n\n",
                )
            }),
        )
        .route(
            "/cached",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/event-stream"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    "data: x\n\n",
                )
            }),
        )
        .route("/plain", get(|| async { "hello" }))
        .layer(SseLayer::new());
    let addr = serve(app).await;

    let mut foreign = RawResponse::get(addr, "/foreign", &[]).await;
    assert_eq!(foreign.status, 200);
    assert_eq!(
        foreign.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(foreign.header("x-accel-buffering"), Some("no"));
    // Without a shutdown token the body's size is known and passed on.
    assert_eq!(foreign.body().await, "data: x\n\n");

    let cached = RawResponse::get(addr, "/cached", &[]).await;
    assert_eq!(cached.header("cache-control"), Some("no-store"));
    assert_eq!(cached.header("x-accel-buffering"), Some("no"));

    let mut plain = RawResponse::get(addr, "/plain", &[]).await;
    assert_eq!(plain.header("cache-control"), None);
    assert_eq!(plain.header("x-accel-buffering"), None);
    assert_eq!(plain.body().await, "hello");
}

#[tokio::test]
async fn graceful_shutdown_ends_100_open_streams_in_under_a_second() {
    let token = CancellationToken::new();
    let layer = SseLayer::new()
        .graceful_shutdown(token.clone())
        .final_event(
            Event::new()
                .try_event("shutdown")
                .unwrap()
                .retry(Duration::from_secs(5)),
        );
    let app = Router::new()
        .route("/sse", get(never_ending))
        .layer(layer.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(token.clone().cancelled_owned())
            .into_future(),
    );

    let mut clients = Vec::new();
    for _ in 0..100 {
        let client = RawResponse::get(addr, "/sse", &[]).await;
        assert_eq!(client.status, 200);
        clients.push(client);
    }
    eventually(|| layer.open_streams() == 100).await;

    let started = Instant::now();
    token.cancel();
    tokio::time::timeout(Duration::from_secs(1), server)
        .await
        .expect("graceful shutdown took a second or more")
        .unwrap()
        .unwrap();
    let took = started.elapsed();
    eprintln!("graceful shutdown of 100 open streams took {took:?}");
    assert!(took < Duration::from_secs(1));
    assert_eq!(layer.open_streams(), 0);

    for client in &mut clients {
        assert_eq!(
            client.next_text().await.unwrap(),
            "event: shutdown\nretry: 5000\n\n"
        );
        assert_eq!(
            client.next_chunk().await,
            None,
            "the stream did not end cleanly"
        );
    }
}

#[tokio::test]
async fn streams_opened_after_shutdown_end_at_once() {
    let token = CancellationToken::new();
    token.cancel();
    let app = Router::new()
        .route("/sse", get(never_ending))
        .layer(SseLayer::new().graceful_shutdown(token));
    let addr = serve(app).await;
    let mut client = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(client.status, 200);
    assert_eq!(client.next_chunk().await, None);
}

#[tokio::test]
async fn stream_limit_answers_503_with_retry_after() {
    let layer = SseLayer::new()
        .max_streams(2)
        .refusal(Refusal::Unavailable)
        .retry_after(Duration::from_millis(2500));
    let app = Router::new()
        .route(
            "/sse",
            get(|| async {
                SseStream::new(stream::pending::<Event>())
                    .keep_alive(KeepAlive::new().interval(Duration::from_millis(50)))
            }),
        )
        .route("/plain", get(|| async { "not counted" }))
        .layer(layer.clone());
    let addr = serve(app).await;

    let first = RawResponse::get(addr, "/sse", &[]).await;
    let second = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(layer.open_streams(), 2);

    let mut refused = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("3"));
    assert_eq!(
        refused.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        refused.body().await,
        "too many open event streams, retry later"
    );

    // Other responses are not limited.
    let mut plain = RawResponse::get(addr, "/plain", &[]).await;
    assert_eq!(plain.body().await, "not counted");

    // A client leaving frees its slot.
    drop(first);
    eventually(|| layer.open_streams() == 1).await;
    let third = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(third.status, 200);
    assert_eq!(layer.open_streams(), 2);
}

#[tokio::test]
async fn the_last_event_id_limit_is_an_extension_beside_the_layer() {
    let app = Router::new()
        .route(
            "/id",
            get(|id: LastEventId| async move { id.into_string() }),
        )
        .layer(SseLayer::new())
        .layer(Extension(LastEventIdConfig::new().max_len(4)));
    let addr = serve(app).await;

    let mut ok = RawResponse::get(addr, "/id", &[b"Last-Event-ID: 1234"]).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body().await, "1234");

    let mut too_long = RawResponse::get(addr, "/id", &[b"Last-Event-ID: 12345"]).await;
    assert_eq!(too_long.status, 400);
    assert_eq!(
        too_long.body().await,
        "invalid `Last-Event-ID` header: 5 bytes long, the limit is 4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_leaving_free_their_slot_and_connection_task() {
    let layer = SseLayer::new()
        .graceful_shutdown(CancellationToken::new())
        .max_streams(100);
    let app = Router::new()
        .route("/sse", get(never_ending))
        .layer(layer.clone());
    let addr = serve(app).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();

    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(RawResponse::get(addr, "/sse", &[]).await);
    }
    assert_eq!(layer.open_streams(), 5);
    assert_eq!(metrics.num_alive_tasks(), baseline + 5);

    // The clients hang up without a word, and no keep-alive is due for 15 seconds.
    drop(clients);
    eventually(|| layer.open_streams() == 0).await;
    eventually(|| metrics.num_alive_tasks() == baseline).await;
}

/// A request that asks for an event stream (`Accept: text/event-stream`, as `EventSource`
/// sends) is refused before its handler runs, so a refused client costs the handler nothing;
/// one that does not say so is still counted, and refused, by its response.
#[tokio::test]
async fn the_stream_limit_refuses_before_the_handler_runs() {
    let calls = Arc::new(AtomicUsize::new(0));
    let layer = SseLayer::new().max_streams(1).refusal(Refusal::Unavailable);
    let handler_calls = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/sse",
            get(move || {
                handler_calls.fetch_add(1, Ordering::SeqCst);
                never_ending()
            }),
        )
        .layer(layer.clone());
    let addr = serve(app).await;
    let accept: &[&[u8]] = &[b"Accept: text/event-stream"];

    let open = RawResponse::get(addr, "/sse", accept).await;
    assert_eq!(open.status, 200);
    assert_eq!((calls.load(Ordering::SeqCst), layer.open_streams()), (1, 1));

    let refused = RawResponse::get(addr, "/sse", accept).await;
    assert_eq!(refused.status, 503);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler did not run");

    // Without the header the layer can only tell by the response: the handler ran.
    let refused = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(refused.status, 503);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(layer.open_streams(), 1);

    drop(open);
    eventually(|| layer.open_streams() == 0).await;
    let again = RawResponse::get(addr, "/sse", accept).await;
    assert_eq!(again.status, 200);
    assert_eq!(layer.open_streams(), 1);
}

/// The default refusal is one a browser survives: `200 text/event-stream` with a jittered
/// `retry` and an immediate clean end, so `EventSource` comes back later instead of giving up.
#[tokio::test]
async fn the_default_refusal_tells_the_client_when_to_come_back() {
    let layer = SseLayer::new()
        .max_streams(1)
        .retry_after(Duration::from_secs(4));
    let app = Router::new()
        .route("/sse", get(never_ending))
        .layer(layer.clone());
    let addr = serve(app).await;
    let accept: &[&[u8]] = &[b"Accept: text/event-stream"];
    let open = RawResponse::get(addr, "/sse", accept).await;
    assert_eq!(open.status, 200);

    let mut retries = Vec::new();
    for _ in 0..20 {
        let mut refused = RawResponse::get(addr, "/sse", accept).await;
        assert_eq!(refused.status, 200);
        assert_eq!(refused.header("content-type"), Some("text/event-stream"));
        let text = refused.body().await;
        assert!(
            text.contains(": too many open event streams, retry later\nretry: "),
            "{text}"
        );
        let retry: u64 = text
            .split("retry: ")
            .nth(1)
            .and_then(|rest| rest.split('\n').next())
            .and_then(|ms| ms.parse().ok())
            .unwrap();
        assert!((2000..6000).contains(&retry), "retry {retry} ms");
        retries.push(retry);
    }
    retries.sort_unstable();
    retries.dedup();
    assert!(retries.len() > 10, "the retries are jittered: {retries:?}");
    assert_eq!(layer.open_streams(), 1);
}

/// With a drain window, a graceful shutdown ends each stream at its own moment of the window,
/// after its final event and a `retry` of its own, and the server still returns in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_spreads_the_ends_of_100_streams_over_the_window() {
    const STREAMS: usize = 100;
    let window = Duration::from_millis(1500);
    let token = CancellationToken::new();
    let layer = SseLayer::new()
        .graceful_shutdown(token.clone())
        .final_event(Event::new().try_event("shutdown").unwrap().data(""))
        .drain_over(window);
    let app = Router::new()
        .route("/sse", get(never_ending))
        .layer(layer.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = {
        let token = token.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
                .unwrap();
        })
    };
    let mut clients = Vec::new();
    for _ in 0..STREAMS {
        clients.push(RawResponse::get(addr, "/sse", &[]).await);
    }
    eventually(|| layer.open_streams() == STREAMS).await;

    let started = Instant::now();
    token.cancel();
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let mut text = String::new();
                while let Some(chunk) = client.next_text().await {
                    text.push_str(&chunk);
                }
                (started.elapsed(), text)
            })
        })
        .collect();
    let mut ends = Vec::new();
    let mut retries = Vec::new();
    for reader in readers {
        let (ended, text) = reader.await.unwrap();
        let retry: u64 = text
            .strip_prefix("event: shutdown\ndata:\n\nretry: ")
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("not a final event and a retry: {text:?}"));
        // The browsers' default of 3 s, times a factor between 1 and 2.
        assert!((3000..6000).contains(&retry), "retry {retry}");
        retries.push(retry);
        ends.push(ended);
    }
    tokio::time::timeout(window + Duration::from_secs(2), server)
        .await
        .expect("the server did not return within the window and a margin")
        .unwrap();
    let took = started.elapsed();
    ends.sort();
    eprintln!(
        "first end {:?}, median {:?}, last {:?}, server returned after {took:?}",
        ends[0],
        ends[STREAMS / 2],
        ends[STREAMS - 1]
    );
    assert!(*ends.last().unwrap() < window + Duration::from_millis(500));
    assert!(
        ends[STREAMS / 10] < window / 3,
        "the first tenth ends early"
    );
    assert!(
        ends[STREAMS * 9 / 10] > window * 2 / 3,
        "the last tenth ends late"
    );
    let mut buckets: Vec<u128> = ends.iter().map(|end| end.as_millis() / 15).collect();
    buckets.dedup();
    assert!(
        buckets.len() > STREAMS / 2,
        "ends at distinct times: {buckets:?}"
    );
    retries.sort_unstable();
    retries.dedup();
    assert!(
        retries.len() > STREAMS * 9 / 10,
        "retries are jittered per stream"
    );
}

/// `max_streams_per(peer_ip, n)` counts the streams of each client address on its own.
#[tokio::test]
async fn the_per_address_limit_counts_each_address_apart() {
    let layer = SseLayer::new()
        .max_streams_per(sse_axum::layer::peer_ip, 2)
        .refusal(Refusal::Unavailable);
    let app = Router::new()
        .route("/sse", get(never_ending))
        .layer(layer.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let one = RawResponse::get(addr, "/sse", &[]).await;
    let two = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!((one.status, two.status), (200, 200));
    let third = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(third.status, 503, "a third stream from 127.0.0.1");
    // Another address of the loopback network has slots of its own.
    let other = RawResponse::get_from("127.0.0.2".parse().unwrap(), addr, "/sse", &[]).await;
    assert_eq!(other.status, 200);
    assert_eq!(layer.open_streams(), 3);
    drop(one);
    eventually(|| layer.open_streams() == 2).await;
    let again = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(again.status, 200, "a slot of 127.0.0.1 was freed");
}
