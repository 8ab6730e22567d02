//! `reqwest_sse_client::Client` end to end against real axum servers on 127.0.0.1:0 that write
//! hand-made SSE bytes, so connections can be cut, stalled and ended precisely.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt, stream};
use reqwest_sse_client::{Client, DisconnectReason, Error, Event, Item, Reconnect};
use sse_tests::scripted::{DropSignal, Part, serve, sse, sse_guarded};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

fn fast_client() -> reqwest_sse_client::ClientBuilder {
    Client::builder()
        .retry(Duration::from_millis(20))
        .min_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(100))
}

const LIMIT: Duration = Duration::from_secs(20);

/// Takes `n` items, failing the test if that takes longer than [`LIMIT`].
async fn take<S: Stream + Unpin>(stream: &mut S, n: usize) -> Vec<S::Item> {
    tokio::time::timeout(LIMIT, stream.take(n).collect::<Vec<_>>())
        .await
        .expect("timed out waiting for items")
}

fn ok_events(items: Vec<Result<Event, Error>>) -> Vec<(String, String)> {
    items
        .into_iter()
        .map(|item| {
            let event = item.unwrap();
            (event.data().to_owned(), event.last_event_id().to_owned())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn reconnects_after_a_cut_with_the_last_event_id() {
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![
            Part::Send("retry: 10\n\nid: 1\ndata: a\n\n"),
            Part::Send("id: 2\ndata: {\"n\": 2}\n\n"),
            // An unfinished event, then the connection is cut.
            Part::Send("id: 3\ndata: lost"),
            Part::Fail,
        ]),
        _ => sse(vec![Part::Send("data: c\n\n"), Part::Hang]),
    })
    .await;
    let disconnects = Arc::new(Mutex::new(Vec::new()));
    let client = fast_client()
        .on_disconnect({
            let disconnects = Arc::clone(&disconnects);
            move |d| {
                disconnects.lock().unwrap().push((
                    matches!(d.reason(), DisconnectReason::Network(_)),
                    d.reconnect_in(),
                ));
            }
        })
        .build()
        .unwrap();
    let mut events = client.subscribe(&url);
    let items = take(&mut events, 3).await;
    let json: serde_json::Value = items[1].as_ref().unwrap().json().unwrap();
    assert_eq!(json["n"], 2);
    assert_eq!(
        ok_events(items),
        pairs(&[("a", "1"), ("{\"n\": 2}", "2"), ("c", "2")])
    );

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[0].header("last-event-id"),
        None,
        "no id to send on the first attempt"
    );
    assert_eq!(
        log[1].header("last-event-id"),
        Some("2"),
        "the cut event's id 3 was never dispatched"
    );
    for seen in &log {
        assert_eq!(seen.header("accept"), Some("text/event-stream"));
        assert_eq!(seen.header("cache-control"), Some("no-cache"));
    }
    // The server's retry: 10 was the first reconnection delay (plus its bounded jitter, up to
    // a quarter of it).
    match &disconnects.lock().unwrap()[..] {
        [(true, Some(delay))] => assert!(
            *delay >= Duration::from_millis(10) && *delay <= Duration::from_micros(12_500),
            "{delay:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn honours_the_servers_retry_after_a_clean_end() {
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![Part::Send("retry: 400\ndata: first\n\n")]),
        _ => sse(vec![Part::Send("data: second\n\n"), Part::Hang]),
    })
    .await;
    let client = Client::builder()
        .retry(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut items = client.subscribe(&url).with_retry_items();
    let items = take(&mut items, 3).await;
    assert!(
        matches!(items[0], Ok(Item::Retry(d)) if d == Duration::from_millis(400)),
        "{items:?}"
    );
    assert!(
        matches!(&items[2], Ok(Item::Event(e)) if e.data() == "second"),
        "{items:?}"
    );
    let log = log.lock().unwrap().clone();
    let gap = log[1].at - log[0].at;
    assert!(
        gap >= Duration::from_millis(400),
        "reconnected after {gap:?}"
    );
    assert!(
        gap < Duration::from_secs(10),
        "reconnected after {gap:?}, not the server's retry"
    );
}

#[tokio::test]
async fn a_clean_end_is_not_an_error_and_reconnects_each_time() {
    let (url, log) = serve(|_| sse(vec![Part::Send(": hello\n\ndata: x\n\n")])).await;
    let connects = Arc::new(Mutex::new(0));
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let client = fast_client()
        .on_connect({
            let connects = Arc::clone(&connects);
            move |response| {
                assert_eq!(response.status(), StatusCode::OK);
                *connects.lock().unwrap() += 1;
            }
        })
        .on_disconnect({
            let reasons = Arc::clone(&reasons);
            move |d| reasons.lock().unwrap().push(d.reason().to_string())
        })
        .max_retries(Some(3))
        .build()
        .unwrap();
    let items: Vec<_> = tokio::time::timeout(LIMIT, client.subscribe(&url).collect())
        .await
        .unwrap();
    // One event per connection, 1 + 3 connections, then the subscription ends without error.
    assert_eq!(ok_events(items).len(), 4);
    assert_eq!(log.lock().unwrap().len(), 4);
    assert_eq!(*connects.lock().unwrap(), 4);
    assert_eq!(
        *reasons.lock().unwrap(),
        vec!["the server ended the stream"; 4]
    );
}

#[tokio::test]
async fn stops_without_retry_on_a_status_other_than_200() {
    for status in [StatusCode::NOT_FOUND, StatusCode::INTERNAL_SERVER_ERROR] {
        let (url, log) = serve(move |_| status.into_response()).await;
        let client = fast_client().build().unwrap();
        let items: Vec<_> = tokio::time::timeout(LIMIT, client.subscribe(&url).collect())
            .await
            .unwrap();
        assert_eq!(items.len(), 1, "{status}: {items:?}");
        match &items[0] {
            Err(Error::Status(got)) => assert_eq!(got.status(), status),
            other => panic!("{status}: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(log.lock().unwrap().len(), 1, "{status} was retried");
    }
}

#[tokio::test]
async fn stops_without_retry_on_a_wrong_content_type() {
    let (url, log) =
        serve(|_| ([(header::CONTENT_TYPE, "text/plain")], "data: x\n\n").into_response()).await;
    let client = fast_client().build().unwrap();
    let items: Vec<_> = tokio::time::timeout(LIMIT, client.subscribe(&url).collect())
        .await
        .unwrap();
    match &items[..] {
        [
            Err(
                error @ Error::ContentType {
                    content_type: Some(ct),
                },
            ),
        ] => {
            assert_eq!(ct, "text/plain");
            assert_eq!(
                error.to_string(),
                "unexpected content type \"text/plain\", expected text/event-stream"
            );
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn content_type_parameters_and_case_are_accepted() {
    let (url, _log) = serve(|_| {
        (
            [(header::CONTENT_TYPE, "Text/Event-Stream; charset=utf-8")],
            "data: ok\n\n",
        )
            .into_response()
    })
    .await;
    let client = fast_client().build().unwrap();
    let items = take(&mut client.subscribe(&url), 1).await;
    assert_eq!(ok_events(items), pairs(&[("ok", "")]));
}

#[tokio::test]
async fn opt_in_policy_retries_503_honouring_retry_after() {
    let (url, log) = serve(|attempt| match attempt {
        0 => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
        )
            .into_response(),
        _ => sse(vec![Part::Send("data: back\n\n"), Part::Hang]),
    })
    .await;
    let client = fast_client().retry_server_errors(true).build().unwrap();
    let items = take(&mut client.subscribe(&url), 1).await;
    assert_eq!(ok_events(items), pairs(&[("back", "")]));
    let log = log.lock().unwrap().clone();
    let gap = log[1].at - log[0].at;
    assert!(
        gap >= Duration::from_secs(1),
        "Retry-After ignored: {gap:?}"
    );
}

#[tokio::test]
async fn gives_up_after_max_retries_with_the_last_reason() {
    // A port nobody listens on: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = fast_client().max_retries(Some(2)).build().unwrap();
    let items: Vec<_> = tokio::time::timeout(
        LIMIT,
        client
            .subscribe(format!("http://127.0.0.1:{port}/"))
            .collect(),
    )
    .await
    .unwrap();
    match &items[..] {
        [
            Err(
                error @ Error::GaveUp {
                    retries: 2,
                    reason: DisconnectReason::Network(_),
                },
            ),
        ] => {
            assert!(std::error::Error::source(error).is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn detects_an_idle_connection_but_not_one_with_keep_alives() {
    let (url, log) = serve(|attempt| match attempt {
        // Keep-alive comments only, for longer than the idle timeout, then an event.
        0 => sse(vec![
            Part::Send("data: a\n\n"),
            Part::Sleep(Duration::from_millis(150)),
            Part::Send(":\n"),
            Part::Sleep(Duration::from_millis(150)),
            Part::Send(":\n"),
            Part::Sleep(Duration::from_millis(150)),
            Part::Send(":\n"),
            Part::Sleep(Duration::from_millis(150)),
            Part::Send("data: b\n\n"),
            Part::Hang,
        ]),
        _ => sse(vec![Part::Send("data: c\n\n"), Part::Hang]),
    })
    .await;
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let client = fast_client()
        .idle_timeout(Some(Duration::from_millis(400)))
        .on_disconnect({
            let reasons = Arc::clone(&reasons);
            move |d| reasons.lock().unwrap().push(d.reason().to_string())
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let items = take(&mut client.subscribe(&url), 3).await;
    assert_eq!(ok_events(items), pairs(&[("a", ""), ("b", ""), ("c", "")]));
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        log.lock().unwrap().len(),
        2,
        "keep-alives kept the first connection"
    );
    assert_eq!(reasons.lock().unwrap()[0], "no data received for 400ms");
}

#[tokio::test]
async fn sends_the_post_body_and_custom_headers_on_every_attempt() {
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![Part::Send("id: 7\ndata: one\n\n"), Part::Fail]),
        1 => sse(vec![Part::Send("data: two\n\n")]),
        _ => sse(vec![Part::Send("data: three\n\n"), Part::Hang]),
    })
    .await;
    let client = fast_client().build().unwrap();
    let request = client
        .http()
        .post(&url)
        .header("authorization", "Bearer t0k3n")
        .header("content-type", "application/json")
        .body(r#"{"prompt":"hi"}"#);
    // A POST is only sent again after a clean end when the policy says so.
    let subscription = client.subscribe(request).reconnect(Reconnect::Always);
    let items = take(&mut { subscription }, 3).await;
    assert_eq!(
        ok_events(items),
        pairs(&[("one", "7"), ("two", "7"), ("three", "7")])
    );
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 3);
    for (i, seen) in log.iter().enumerate() {
        assert_eq!(seen.method, Method::POST, "attempt {i}");
        assert_eq!(seen.body, r#"{"prompt":"hi"}"#, "attempt {i}");
        assert_eq!(
            seen.header("authorization"),
            Some("Bearer t0k3n"),
            "attempt {i}"
        );
        assert_eq!(
            seen.header("content-type"),
            Some("application/json"),
            "attempt {i}"
        );
        assert_eq!(
            seen.header("accept"),
            Some("text/event-stream"),
            "attempt {i}"
        );
        assert_eq!(
            seen.header("last-event-id"),
            (i > 0).then_some("7"),
            "attempt {i}"
        );
    }
}

#[tokio::test]
async fn a_last_event_id_on_the_request_is_where_it_resumes() {
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![Part::Send("data: a\n\n")]),
        _ => sse(vec![Part::Send("id:\ndata: b\n\n"), Part::Fail]),
    })
    .await;
    let client = fast_client().max_retries(Some(2)).build().unwrap();
    let request = client.http().get(&url).header("last-event-id", "41");
    let items: Vec<_> = tokio::time::timeout(LIMIT, client.subscribe(request).collect())
        .await
        .unwrap();
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(
        matches!(items.last(), Some(Err(Error::GaveUp { .. }))),
        "{items:?}"
    );
    let events = ok_events(items.into_iter().take(3).collect());
    assert_eq!(events, pairs(&[("a", "41"), ("b", ""), ("b", "")]));
    let log = log.lock().unwrap().clone();
    let ids: Vec<_> = log.iter().map(|s| s.header("last-event-id")).collect();
    // An empty id reset the last event ID: the header is then not sent at all.
    assert_eq!(ids, [Some("41"), Some("41"), None]);
}

#[tokio::test]
async fn a_streaming_body_is_a_clear_error() {
    let client = fast_client().build().unwrap();
    let body = reqwest::Body::wrap_stream(stream::iter([Ok::<_, Infallible>("x")]));
    let request = client.http().post("http://127.0.0.1:9/").body(body);
    let items: Vec<_> = client.subscribe(request).collect().await;
    assert!(
        matches!(&items[..], [Err(Error::RequestNotCloneable)]),
        "{items:?}"
    );
    let items: Vec<_> = client.subscribe("not a url").collect().await;
    assert!(
        matches!(&items[..], [Err(Error::InvalidRequest(_))]),
        "{items:?}"
    );
}

async fn assert_closed(closed: &mut mpsc::UnboundedReceiver<()>) {
    tokio::time::timeout(Duration::from_secs(5), closed.recv())
        .await
        .expect("the server did not see the connection close")
        .unwrap();
}

fn guarded_server_parts() -> (
    impl Fn(usize) -> Response + Send + Sync + 'static,
    mpsc::UnboundedReceiver<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let script = move |_| {
        let (guard_tx, guard_rx) = oneshot::channel();
        let tx = tx.clone();
        tokio::spawn(async move {
            if guard_rx.await.is_ok() {
                let _ = tx.send(());
            }
        });
        sse_guarded(
            vec![Part::Send("data: a\n\n"), Part::Hang],
            DropSignal(Some(guard_tx)),
        )
    };
    (script, rx)
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let (script, mut closed) = guarded_server_parts();
    let (url, log) = serve(script).await;
    let cancelled = Arc::new(Mutex::new(0));
    let client = fast_client()
        .on_disconnect({
            let cancelled = Arc::clone(&cancelled);
            move |d| {
                assert!(matches!(d.reason(), DisconnectReason::Cancelled));
                *cancelled.lock().unwrap() += 1;
            }
        })
        .build()
        .unwrap();
    let mut events = client.subscribe(&url);
    assert_eq!(ok_events(take(&mut events, 1).await), pairs(&[("a", "")]));
    drop(events);
    assert_closed(&mut closed).await;
    assert_eq!(*cancelled.lock().unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "nothing reconnected in the background"
    );
}

#[tokio::test]
async fn cancelling_the_token_ends_the_stream_and_closes_the_connection() {
    let (script, mut closed) = guarded_server_parts();
    let (url, _log) = serve(script).await;
    let client = fast_client().build().unwrap();
    let token = CancellationToken::new();
    let mut events = client.subscribe(&url).with_cancellation(token.clone());
    assert_eq!(ok_events(take(&mut events, 1).await), pairs(&[("a", "")]));
    token.cancel();
    assert!(
        tokio::time::timeout(LIMIT, events.next())
            .await
            .unwrap()
            .is_none()
    );
    assert_closed(&mut closed).await;
}

#[tokio::test]
async fn subscribe_with_calls_back_and_resolves_when_the_subscription_ends() {
    let (url, _log) = serve(|_| {
        sse(vec![Part::Send(
            "event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n",
        )])
    })
    .await;
    let client = fast_client().max_retries(Some(0)).build().unwrap();
    let mut seen = Vec::new();
    let result = tokio::time::timeout(
        LIMIT,
        client.subscribe_with(&url, |event| {
            seen.push(format!("{}={}", event.event_type(), event.data()))
        }),
    )
    .await
    .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(seen, ["tick=1", "tick=2"]);

    let (url, _log) = serve(|_| StatusCode::NOT_FOUND.into_response()).await;
    let result = client.subscribe_with(&url, |_| {}).await;
    assert!(
        matches!(&result, Err(Error::Status(e)) if e.status() == StatusCode::NOT_FOUND),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_oversized_event_ends_the_subscription_with_a_typed_error() {
    let (url, _log) = serve(|_| {
        sse(vec![
            Part::Send("data: small\n\ndata: 0123456789abcdef0123456789\n\n"),
            Part::Hang,
        ])
    })
    .await;
    let client = fast_client().max_event_size(16).build().unwrap();
    let items: Vec<_> = tokio::time::timeout(LIMIT, client.subscribe(&url).collect())
        .await
        .unwrap();
    match &items[..] {
        [
            Ok(event),
            Err(Error::EventTooLarge(reqwest_sse_client::ParseError::EventTooLarge { limit: 16 })),
        ] => {
            assert_eq!(event.data(), "small");
        }
        other => panic!("{other:?}"),
    }
}
