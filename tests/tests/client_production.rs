//! `reqwest_sse_client::Client` as production use needs it, against real axum servers on
//! 127.0.0.1:0: the reconnect policy that never buys an LLM answer twice, 204 and end markers
//! as clean ends, a request built per attempt (token refresh, streaming bodies), refused
//! responses that keep their body, comments on request, and errors a retry cannot fix ending
//! at once.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use futures_util::{Stream, StreamExt, stream};
use reqwest_sse_client::{Client, DisconnectReason, Error, Event, Item, Reconnect};
use sse_tests::scripted::{Log, Part, serve, sse};

const LIMIT: Duration = Duration::from_secs(20);

fn fast_client() -> reqwest_sse_client::ClientBuilder {
    Client::builder()
        .retry(Duration::from_millis(20))
        .min_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(100))
}

/// Every item until the stream ends, failing the test after [`LIMIT`].
async fn all<S: Stream + Unpin>(stream: S) -> Vec<S::Item> {
    tokio::time::timeout(LIMIT, stream.collect::<Vec<_>>())
        .await
        .expect("the subscription did not end")
}

/// The data of the leading `Ok` events, and the items after them.
fn split(items: Vec<Result<Event, Error>>) -> (Vec<String>, Vec<Error>) {
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        match item {
            Ok(event) if errors.is_empty() => data.push(event.data().to_owned()),
            Ok(event) => panic!("an event after an error: {event:?}"),
            Err(error) => errors.push(error),
        }
    }
    (data, errors)
}

/// The number of requests the server saw, after a moment for a wrong reconnection to show.
async fn requests_after_a_moment(log: &Log) -> usize {
    tokio::time::sleep(Duration::from_millis(300)).await;
    log.lock().unwrap().len()
}

fn llm_request(client: &Client, url: &str) -> reqwest::RequestBuilder {
    client
        .http()
        .post(url)
        .header("authorization", "Bearer sk-test")
        .header("content-type", "application/json")
        .body(r#"{"prompt":"write a poem"}"#)
}

#[tokio::test]
async fn a_post_that_ends_cleanly_is_sent_exactly_once() {
    let (url, log) = serve(|_| sse(vec![Part::Send("id: 1\ndata: the answer\n\n")])).await;
    let client = fast_client().build().unwrap();
    let items = all(client.subscribe(llm_request(&client, &url))).await;
    let (data, errors) = split(items);
    assert_eq!(data, ["the answer"]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(requests_after_a_moment(&log).await, 1);
}

#[tokio::test]
async fn a_post_cut_after_an_id_is_sent_again_with_its_body_headers_and_last_event_id() {
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![Part::Send("id: 5\ndata: first half\n\n"), Part::Fail]),
        _ => sse(vec![Part::Send("id: 6\ndata: second half\n\n")]),
    })
    .await;
    let client = fast_client().build().unwrap();
    let items = all(client.subscribe(llm_request(&client, &url))).await;
    let (data, errors) = split(items);
    assert_eq!(data, ["first half", "second half"]);
    assert!(
        errors.is_empty(),
        "the clean end after the resume: {errors:?}"
    );
    assert_eq!(requests_after_a_moment(&log).await, 2);
    let log = log.lock().unwrap().clone();
    let (first, second) = (&log[0], &log[1]);
    assert_eq!(second.method, Method::POST);
    assert_eq!(second.body, first.body);
    assert_eq!(second.body, r#"{"prompt":"write a poem"}"#);
    assert_eq!(second.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(second.header("content-type"), Some("application/json"));
    assert_eq!(first.header("last-event-id"), None);
    assert_eq!(second.header("last-event-id"), Some("5"));
}

#[tokio::test]
async fn a_post_cut_before_any_id_is_one_request_and_a_cannot_resume_error() {
    let (url, log) =
        serve(|_| sse(vec![Part::Send("data: a partial answer\n\n"), Part::Fail])).await;
    let client = fast_client().build().unwrap();
    let items = all(client.subscribe(llm_request(&client, &url))).await;
    let (data, errors) = split(items);
    assert_eq!(data, ["a partial answer"]);
    match &errors[..] {
        [
            error @ Error::CannotResume {
                reason: DisconnectReason::Network(_),
            },
        ] => {
            let message = error.to_string();
            assert!(message.contains("cannot resume"), "{message}");
            assert!(std::error::Error::source(error).is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        requests_after_a_moment(&log).await,
        1,
        "the POST was sent again"
    );
}

#[tokio::test]
async fn no_content_ends_a_get_and_a_post_cleanly() {
    for method in [Method::GET, Method::POST] {
        let (url, log) = serve(|_| StatusCode::NO_CONTENT.into_response()).await;
        let client = fast_client().build().unwrap();
        let request = client.http().request(method.clone(), &url);
        let items = all(client.subscribe(request)).await;
        assert!(items.is_empty(), "{method}: {items:?}");
        assert_eq!(
            requests_after_a_moment(&log).await,
            1,
            "{method} was retried"
        );
    }
}

#[tokio::test]
async fn the_done_marker_ends_the_subscription_cleanly_without_waiting_or_reconnecting() {
    // The server keeps the stream open after [DONE]: the marker, not the end of the body,
    // ends the subscription.
    let (url, log) = serve(|_| {
        sse(vec![
            Part::Send("data: Hel\n\ndata: lo\n\n"),
            Part::Send("data: [DONE]\n\n"),
            Part::Hang,
        ])
    })
    .await;
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let client = fast_client()
        .on_disconnect({
            let reasons = Arc::clone(&reasons);
            move |d| {
                let end = matches!(d.reason(), DisconnectReason::EndMarker);
                reasons.lock().unwrap().push((end, d.reconnect_in()));
            }
        })
        .build()
        .unwrap();
    // A GET, whose default policy reconnects after a clean end: the marker still ends it.
    let items = all(client.subscribe(&url).until_data("[DONE]")).await;
    let (data, errors) = split(items);
    assert_eq!(data, ["Hel", "lo"]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(*reasons.lock().unwrap(), [(true, None)]);
    assert_eq!(requests_after_a_moment(&log).await, 1);

    // The predicate form, on the event type.
    let (url, _log) = serve(|_| {
        sse(vec![
            Part::Send("data: a\n\nevent: end\ndata: bye\n\ndata: never seen\n\n"),
            Part::Hang,
        ])
    })
    .await;
    let items = all(client.subscribe(&url).until(|e| e.event_type() == "end")).await;
    let (data, errors) = split(items);
    assert_eq!(data, ["a"]);
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn the_request_function_sees_each_attempt_and_its_fresh_token_arrives() {
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![Part::Send("id: 1\ndata: a\n\n"), Part::Fail]),
        1 => sse(vec![Part::Send("id: 2\ndata: b\n\n"), Part::Fail]),
        _ => sse(vec![Part::Send("id: 3\ndata: c\n\n")]),
    })
    .await;
    let client = fast_client().build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let subscription = client.subscribe_fn({
        let seen = Arc::clone(&seen);
        let url = url.clone();
        move |attempt| {
            seen.lock().unwrap().push((
                attempt.number(),
                attempt.last_event_id().to_owned(),
                attempt.previous().map(ToString::to_string),
            ));
            // A streaming body: built anew for each attempt, so it need not be cloned.
            let chunks = ["{\"prompt\":", "\"hi\"}"].map(Ok::<_, Infallible>);
            attempt
                .http()
                .post(&url)
                .bearer_auth(format!("token-{}", attempt.number()))
                .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        }
    });
    let (data, errors) = split(all(subscription).await);
    assert_eq!(data, ["a", "b", "c"]);
    assert!(errors.is_empty(), "{errors:?}");
    let seen = seen.lock().unwrap().clone();
    let numbers: Vec<_> = seen.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(numbers, [1, 2, 3]);
    let ids: Vec<_> = seen.iter().map(|(_, id, _)| id.as_str()).collect();
    assert_eq!(ids, ["", "1", "2"]);
    assert_eq!(seen[0].2, None);
    assert!(seen[1..].iter().all(|(_, _, previous)| previous.is_some()));

    let log = log.lock().unwrap().clone();
    let tokens: Vec<_> = log.iter().map(|s| s.header("authorization")).collect();
    assert_eq!(
        tokens,
        [
            Some("Bearer token-1"),
            Some("Bearer token-2"),
            Some("Bearer token-3")
        ]
    );
    let resumed: Vec<_> = log.iter().map(|s| s.header("last-event-id")).collect();
    assert_eq!(resumed, [None, Some("1"), Some("2")]);
    assert!(log.iter().all(|s| s.body == r#"{"prompt":"hi"}"#));
}

#[tokio::test]
async fn a_refused_response_keeps_its_status_headers_and_json_body() {
    let (url, _log) = serve(|_| {
        (
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::WWW_AUTHENTICATE, "Bearer realm=\"api\""),
            ],
            r#"{"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}"#,
        )
            .into_response()
    })
    .await;
    let client = fast_client().build().unwrap();
    let items = all(client.subscribe(llm_request(&client, &url))).await;
    let [Err(Error::Status(response))] = &items[..] else {
        panic!("{items:?}");
    };
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer realm=\"api\""
    );
    assert!(!response.body_truncated());
    let json: serde_json::Value = response.json().unwrap();
    assert_eq!(json["error"]["code"], "invalid_api_key");
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        "unexpected response status 401 Unauthorized: {\"error\": {\"message\": \"Incorrect API \
         key provided\", \"code\": \"invalid_api_key\"}}"
    );
}

#[tokio::test]
async fn a_refused_body_is_capped() {
    let (url, _log) =
        serve(|_| (StatusCode::BAD_REQUEST, "x".repeat(200 * 1024)).into_response()).await;
    let client = fast_client().build().unwrap();
    let items = all(client.subscribe(&url)).await;
    let [Err(Error::Status(response))] = &items[..] else {
        panic!("{items:?}");
    };
    assert_eq!(response.body().len(), 64 * 1024);
    assert!(response.body_truncated());
}

#[tokio::test]
async fn errors_a_retry_cannot_fix_end_the_subscription_at_once() {
    let client = fast_client().build().unwrap();
    let items = all(client.subscribe("ftp://127.0.0.1/feed")).await;
    match &items[..] {
        [Err(error @ Error::UnsupportedScheme { scheme })] => {
            assert_eq!(scheme, "ftp");
            assert!(
                error.to_string().contains("only http:// and https://"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let items = all(client.subscribe("http://exa mple.com/")).await;
    assert!(
        matches!(&items[..], [Err(Error::InvalidRequest(_))]),
        "{items:?}"
    );
    // A request function that cannot build its request.
    let items = all(client.subscribe_fn(|attempt| {
        attempt
            .http()
            .get("http://127.0.0.1:9/")
            .header("bad header name", "x")
    }))
    .await;
    assert!(
        matches!(&items[..], [Err(Error::InvalidRequest(_))]),
        "{items:?}"
    );
}

#[tokio::test]
async fn reconnect_never_ends_a_failed_get_with_the_reason() {
    let (url, log) = serve(|_| sse(vec![Part::Send("id: 1\ndata: a\n\n"), Part::Fail])).await;
    let client = fast_client().reconnect(Reconnect::Never).build().unwrap();
    let (data, errors) = split(all(client.subscribe(&url)).await);
    assert_eq!(data, ["a"]);
    assert!(
        matches!(
            &errors[..],
            [Error::Disconnected {
                reason: DisconnectReason::Network(_)
            }]
        ),
        "{errors:?}"
    );
    assert_eq!(requests_after_a_moment(&log).await, 1);
    // The subscription's policy wins over the client's.
    let (url, log) = serve(|attempt| match attempt {
        0 => sse(vec![Part::Send("data: a\n\n")]),
        _ => sse(vec![Part::Send("data: b\n\n"), Part::Hang]),
    })
    .await;
    let mut events = client.subscribe(&url).reconnect(Reconnect::Always);
    let items = tokio::time::timeout(LIMIT, (&mut events).take(2).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(split(items).0, ["a", "b"]);
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn comments_are_yielded_only_when_asked_for() {
    let (url, _log) = serve(|_| sse(vec![Part::Send(": hello\n\ndata: x\n\n:bye\n\n")])).await;
    let client = fast_client()
        .reconnect(Reconnect::OnFailure)
        .build()
        .unwrap();
    let items = all(client.subscribe(&url).with_comments()).await;
    let items: Vec<_> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        items,
        [
            Item::Comment("hello".to_owned()),
            Item::Event(Event::new("x")),
            Item::Comment("bye".to_owned()),
        ]
    );
    let (data, errors) = split(all(client.subscribe(&url)).await);
    assert_eq!(data, ["x"]);
    assert!(errors.is_empty());
}
