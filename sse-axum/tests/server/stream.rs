//! `SseStream` and `EventSender`: response headers, events arriving one by one, keep-alive,
//! disconnect detection.

use std::{convert::Infallible, time::Duration};

use axum::{Router, body::Body, response::IntoResponse as _, routing::get};
use futures_util::{StreamExt as _, stream};
use http_body_util::BodyExt as _;
use sse_axum::{Event, EventSender, KeepAlive, SseStream, TrySendError};
use tokio::{
    sync::mpsc,
    time::{Instant, advance},
};

use crate::raw_client::{OPENING, PATIENCE, RawResponse, serve};

/// An app whose `GET /sse` hands the `EventSender` of each new stream to the test.
fn channel_app(keep_alive: KeepAlive) -> (Router, mpsc::UnboundedReceiver<EventSender>) {
    let (senders_tx, senders_rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/sse",
        get(move || {
            let senders_tx = senders_tx.clone();
            let keep_alive = keep_alive.clone();
            async move {
                let (sender, stream) = SseStream::channel(8);
                senders_tx.send(sender).unwrap();
                stream.keep_alive(keep_alive)
            }
        }),
    );
    (app, senders_rx)
}

#[tokio::test]
async fn response_headers_are_exactly_those_of_an_event_stream() {
    let (app, _senders) = channel_app(KeepAlive::new());
    let addr = serve(app).await;
    let response = RawResponse::get(addr, "/sse", &[]).await;

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        response.header("cache-control"),
        Some("no-cache, no-transform")
    );
    assert_eq!(response.header("x-accel-buffering"), Some("no"));
    assert_eq!(response.header("content-length"), None);
    let mut names: Vec<_> = response
        .headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "cache-control",
            "content-type",
            "date",
            "transfer-encoding",
            "x-accel-buffering"
        ]
    );
}

#[tokio::test]
async fn events_arrive_one_by_one_while_the_stream_stays_open() {
    let (app, mut senders) = channel_app(KeepAlive::disabled());
    let addr = serve(app).await;
    let mut response = RawResponse::get(addr, "/sse", &[]).await;
    let sender = senders.recv().await.unwrap();

    // The second event is only produced after the first one was read by the client.
    sender
        .send(Event::new().try_id("1").unwrap().data("first"))
        .await
        .unwrap();
    assert_eq!(
        response.next_text().await.unwrap(),
        "id: 1\ndata: first\n\n"
    );
    sender
        .send(Event::new().try_event("second").unwrap().data("two\nlines"))
        .await
        .unwrap();
    assert_eq!(
        response.next_text().await.unwrap(),
        "event: second\ndata: two\ndata: lines\n\n"
    );
    sender.try_send(Event::new().comment("third")).unwrap();
    assert_eq!(response.next_text().await.unwrap(), ": third\n\n");

    // Dropping the last sender ends the stream cleanly (the terminating zero-size chunk).
    drop(sender);
    assert_eq!(response.next_chunk().await, None);
}

#[tokio::test]
async fn empty_events_write_nothing() {
    let app = Router::new().route(
        "/sse",
        get(|| async {
            SseStream::new(stream::iter([
                Event::new(),
                Event::new().data("a"),
                Event::new(),
                Event::new(),
                Event::new().data("b"),
            ]))
        }),
    );
    let addr = serve(app).await;
    let mut response = RawResponse::get(addr, "/sse", &[]).await;
    // Events ready together may share one chunk: the bytes are what counts.
    let mut text = String::new();
    while let Some(chunk) = response.next_chunk().await {
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert_eq!(text, "data: a\n\ndata: b\n\n");
}

#[tokio::test]
async fn an_error_item_breaks_the_connection_instead_of_ending_cleanly() {
    let app = Router::new().route(
        "/sse",
        get(|| async {
            let before = stream::iter([Ok(Event::new().data("before"))]);
            // The error comes a little later, after the first event was flushed.
            let failure = stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other("backend failed"))
            });
            SseStream::new(before.chain(failure))
        }),
    );
    let addr = serve(app).await;
    let mut response = RawResponse::get(addr, "/sse", &[]).await;
    assert_eq!(response.next_text().await.unwrap(), "data: before\n\n");
    // No terminating chunk: the connection is closed mid-body, so the client reconnects.
    let rest = response.rest().await;
    assert!(
        !rest.starts_with(b"0\r\n"),
        "unexpected clean end: {rest:?}"
    );
}

#[tokio::test]
async fn keep_alive_comments_appear_on_the_wire() {
    let keep_alive = KeepAlive::new()
        .interval(Duration::from_millis(50))
        .text("ping");
    let (app, mut senders) = channel_app(keep_alive);
    let addr = serve(app).await;
    let mut response = RawResponse::get(addr, "/sse", &[]).await;
    let sender = senders.recv().await.unwrap();

    assert_eq!(response.next_text().await.unwrap(), ": ping\n\n");
    assert_eq!(response.next_text().await.unwrap(), ": ping\n\n");
    sender.send(Event::new().data("real")).await.unwrap();
    // Comments may be in flight; the event follows them.
    loop {
        let chunk = response.next_text().await.unwrap();
        if chunk != ": ping\n\n" {
            assert_eq!(chunk, "data: real\n\n");
            break;
        }
    }
}

#[tokio::test]
async fn send_fails_soon_after_the_client_disconnects() {
    let interval = Duration::from_millis(100);
    let (app, mut senders) = channel_app(KeepAlive::new().interval(interval));
    let addr = serve(app).await;
    let mut response = RawResponse::get(addr, "/sse", &[]).await;
    let sender = senders.recv().await.unwrap();
    sender.send(Event::new().data("hello")).await.unwrap();
    assert_eq!(response.next_text().await.unwrap(), "data: hello\n\n");
    assert!(!sender.is_closed());

    let disconnected = Instant::now();
    drop(response);
    tokio::time::timeout(PATIENCE, sender.closed())
        .await
        .expect("the sender did not learn of the disconnect");
    let took = disconnected.elapsed();
    eprintln!("disconnect noticed after {took:?} (keep-alive interval {interval:?})");
    assert!(sender.is_closed());
    let error = sender.send(Event::new().data("lost")).await.unwrap_err();
    assert_eq!(error.into_event(), Event::new().data("lost"));
    assert!(matches!(
        sender.try_send(Event::new().data("lost")),
        Err(TrySendError::Closed(_))
    ));
}

#[tokio::test]
async fn try_send_reports_a_full_channel() {
    let (sender, stream) = SseStream::channel(1);
    sender.try_send(Event::new().data("1")).unwrap();
    let error = sender.try_send(Event::new().data("2")).unwrap_err();
    assert!(matches!(error, TrySendError::Full(_)));
    assert_eq!(error.to_string(), "the event stream's channel is full");
    assert_eq!(error.into_event().data_str(), Some("2"));
    drop(stream);
    assert!(sender.is_closed());
}

/// Collects the frames of a response body in a task, so the test can move paused time.
fn spawn_reader(body: Body) -> mpsc::UnboundedReceiver<Option<Vec<u8>>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut body = body;
        let mut opened = false;
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            // Every stream opens with the comment; the tests read what follows it.
            let data = if opened {
                &data[..]
            } else {
                opened = true;
                data.strip_prefix(OPENING).expect("the opening comment")
            };
            if !data.is_empty() {
                tx.send(Some(data.to_vec())).unwrap();
            }
        }
        tx.send(None).unwrap();
    });
    rx
}

/// Lets the reader task run after time was moved.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn keep_alive_fires_after_the_interval_and_resets_on_a_real_event() {
    let (sender, stream) = SseStream::channel(4);
    let body = stream
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
        .into_body();
    let mut frames = spawn_reader(body);
    settle().await;

    advance(Duration::from_millis(9_999)).await;
    settle().await;
    assert!(frames.try_recv().is_err(), "keep-alive before the interval");
    advance(Duration::from_millis(1)).await; // t = 10 s
    settle().await;
    assert_eq!(frames.try_recv().unwrap().unwrap(), b":\n\n");

    advance(Duration::from_secs(5)).await; // t = 15 s: a real event restarts the interval
    sender.send(Event::new().data("real")).await.unwrap();
    settle().await;
    assert_eq!(frames.try_recv().unwrap().unwrap(), b"data: real\n\n");

    advance(Duration::from_millis(9_999)).await; // t = 24.999 s: t = 20 s was skipped
    settle().await;
    assert!(
        frames.try_recv().is_err(),
        "keep-alive not reset by the event"
    );
    advance(Duration::from_millis(1)).await; // t = 25 s
    settle().await;
    assert_eq!(frames.try_recv().unwrap().unwrap(), b":\n\n");

    advance(Duration::from_secs(10)).await; // t = 35 s: silence keeps producing comments
    settle().await;
    assert_eq!(frames.try_recv().unwrap().unwrap(), b":\n\n");

    drop(sender);
    settle().await;
    assert_eq!(frames.try_recv().unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn keep_alive_defaults_to_an_empty_comment_every_15_seconds() {
    let (_sender, stream) = SseStream::channel(1);
    let mut frames = spawn_reader(stream.into_response().into_body());
    settle().await;
    advance(Duration::from_millis(14_999)).await;
    settle().await;
    assert!(frames.try_recv().is_err());
    advance(Duration::from_millis(1)).await;
    settle().await;
    assert_eq!(frames.try_recv().unwrap().unwrap(), b":\n\n");
}

#[tokio::test(start_paused = true)]
async fn keep_alive_can_be_disabled() {
    for keep_alive in [
        KeepAlive::disabled(),
        KeepAlive::new().interval(Duration::ZERO),
    ] {
        let (sender, stream) = SseStream::channel(1);
        let mut frames = spawn_reader(stream.keep_alive(keep_alive).into_response().into_body());
        advance(Duration::from_secs(3600)).await;
        settle().await;
        assert!(frames.try_recv().is_err());
        drop(sender);
        settle().await;
        assert_eq!(frames.try_recv().unwrap(), None);
    }
}

#[tokio::test(start_paused = true)]
async fn keep_alive_text_with_line_breaks_stays_a_comment() {
    let stream = SseStream::new(stream::pending::<Result<Event, Infallible>>()).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(1))
            .text("a\r\nb"),
    );
    let mut frames = spawn_reader(stream.into_response().into_body());
    settle().await;
    advance(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(frames.try_recv().unwrap().unwrap(), b": a\n: b\n\n");
}
