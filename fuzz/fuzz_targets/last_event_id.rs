//! `LastEventId` from arbitrary `Last-Event-ID` header bytes and query strings, and the hub's
//! parsing of what it accepts: a typed rejection (400) or an id that obeys every rule, never a
//! panic.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use arbitrary::Arbitrary;
use axum::extract::OptionalFromRequestParts;
use axum::response::IntoResponse;
use http::{HeaderValue, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use sse_axum::hub::EventId;
use sse_axum::{LastEventId, LastEventIdConfig};

#[derive(Debug, Arbitrary)]
struct Input {
    header: Option<Vec<u8>>,
    query: Option<String>,
    max_len: Option<u16>,
    value: String,
}

/// Polls a future that never waits (the extractor reads only the request parts).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the extractor waited"),
    }
}

fn check_id(id: &LastEventId, max_len: usize) {
    let text = id.as_str();
    assert!(!text.is_empty());
    assert!(text.len() <= max_len, "{} > {max_len}", text.len());
    assert!(!text.contains(['\0', '\r', '\n']), "{text:?}");
    // What the hub does with it: an EventId, or a typed error; a valid id prints back the
    // same id.
    if let Ok(parsed) = text.parse::<EventId>() {
        assert_eq!(parsed.to_string().parse::<EventId>(), Ok(parsed));
    }
}

fuzz_target!(|input: Input| {
    // LastEventId::new: refuses exactly NUL, CR and LF.
    match LastEventId::new(input.value.clone()) {
        Ok(id) => assert_eq!(id.as_str(), input.value),
        Err(rejection) => {
            assert!(input.value.contains(['\0', '\r', '\n']));
            assert!(!rejection.to_string().is_empty());
        }
    }
    if let Ok(parsed) = input.value.parse::<EventId>() {
        assert_eq!(parsed.to_string().parse::<EventId>(), Ok(parsed));
    }

    let mut uri = String::from("/sse");
    if let Some(query) = &input.query {
        uri.push('?');
        uri.push_str(query);
    }
    let Ok(mut request) = Request::builder().uri(uri).body(()) else {
        return;
    };
    if let Some(header) = &input.header {
        let Ok(value) = HeaderValue::from_bytes(header) else {
            return;
        };
        request.headers_mut().insert("last-event-id", value);
    }
    let max_len = input
        .max_len
        .map_or(LastEventIdConfig::DEFAULT_MAX_LEN, usize::from);
    if input.max_len.is_some() {
        request
            .extensions_mut()
            .insert(LastEventIdConfig::new().max_len(max_len));
    }
    let (mut parts, ()) = request.into_parts();
    let result =
        ready(<LastEventId as OptionalFromRequestParts<()>>::from_request_parts(&mut parts, &()));
    match result {
        Ok(Some(id)) => {
            check_id(&id, max_len);
            let header = parts
                .headers
                .get("last-event-id")
                .map(HeaderValue::as_bytes);
            if let Some(header) = header.filter(|h| !h.is_empty()) {
                assert_eq!(
                    id.as_str().as_bytes(),
                    header,
                    "the header wins over the query"
                );
            }
        }
        Ok(None) => {
            let header = parts
                .headers
                .get("last-event-id")
                .map(HeaderValue::as_bytes);
            assert!(header.is_none_or(<[u8]>::is_empty));
        }
        Err(rejection) => {
            let message = rejection.to_string();
            assert!(message.starts_with("invalid ") || message.starts_with("missing "));
            assert!(!message.ends_with('.'));
            let response = rejection.into_response();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        }
    }
});
